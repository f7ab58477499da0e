"""Features: shapes, frame convention, disk cache keyed by content and parameters."""

from __future__ import annotations

import numpy as np
import soundfile as sf

from canapy.config import FeaturesConfig
from canapy.features import FeatureExtractor, compute_features, feature_dim, n_frames


def _tone(freq, sr=16000, dur=0.5):
    """A tone in the middle half of ``dur`` seconds of silence."""
    t = np.arange(int(sr * dur)) / sr
    gate = (t > dur / 4) & (t < 3 * dur / 4)
    return (0.3 * np.sin(2 * np.pi * freq * t) * gate).astype(np.float32)


def test_shapes_for_every_kind():
    y = _tone(2000)
    for cfg in (FeaturesConfig(), FeaturesConfig(kind="mfcc", deltas=1), FeaturesConfig(deltas=0)):
        feats = compute_features(y, 16000, cfg)
        assert feats.shape == (n_frames(len(y), 16000, cfg), feature_dim(cfg))
        assert feats.dtype == np.float32
        assert np.isfinite(feats).all()


def test_tones_of_different_pitch_give_different_features():
    cfg = FeaturesConfig(deltas=0)
    low = compute_features(_tone(1500), 16000, cfg)[125]
    high = compute_features(_tone(5000), 16000, cfg)[125]
    assert np.argmax(low) < np.argmax(high)


def test_very_short_signal_still_gives_frames():
    feats = compute_features(np.zeros(10, np.float32), 16000, FeaturesConfig())
    assert feats.shape[0] == 1


def test_cache_is_keyed_by_content_and_parameters(tmp_path):
    wav = tmp_path / "a.wav"
    sf.write(wav, _tone(2000), 16000)
    cache = tmp_path / "cache"
    ext = FeatureExtractor(FeaturesConfig(), 16000, cache)
    first = ext(wav)
    assert any(cache.rglob("*.pkl")) or any(cache.rglob("output.pkl"))
    np.testing.assert_array_equal(ext(wav), first)
    # New content under the same name must not hit the old cache entry.
    sf.write(wav, _tone(5000), 16000)
    assert not np.allclose(ext(wav), first)
    # New parameters neither.
    other = FeatureExtractor(FeaturesConfig(n_mels=20), 16000, cache)
    assert other(wav).shape[1] == 60
