"""The numpy mel spectrogram and deltas equal librosa's on the same signal."""

from __future__ import annotations

import librosa
import numpy as np
import pytest

from canapy.spectral import delta, mel_filterbank, mel_power_spectrogram

pytestmark = pytest.mark.slow  # compared with librosa, whose import costs seconds of CPU


@pytest.mark.parametrize(
    ("sr", "n_fft", "hop", "win"), [(32000, 512, 64, 384), (16000, 256, 32, 192)]
)
def test_mel_power_spectrogram_equals_librosa(sr, n_fft, hop, win):
    rng = np.random.default_rng(0)
    t = np.arange(sr) / sr
    y = (0.3 * np.sin(2 * np.pi * 3000 * t) + 0.05 * rng.normal(size=sr)).astype(np.float32)
    ref = librosa.feature.melspectrogram(
        y=y,
        sr=sr,
        n_fft=n_fft,
        hop_length=hop,
        win_length=win,
        n_mels=40,
        fmin=500.0,
        fmax=sr / 2,
        power=2.0,
    )
    ours = mel_power_spectrogram(y, sr, n_fft, hop, win, 40, 500.0, sr / 2)
    assert ours.shape == ref.shape
    np.testing.assert_allclose(np.log(ours + 1e-10), np.log(ref + 1e-10), atol=1e-4)


def test_mel_filterbank_equals_librosa():
    ref = librosa.filters.mel(sr=44100, n_fft=1024, n_mels=64, fmin=300.0, fmax=20000.0)
    np.testing.assert_allclose(mel_filterbank(44100, 1024, 64, 300.0, 20000.0), ref, atol=1e-7)


@pytest.mark.parametrize("order", [1, 2])
def test_delta_equals_librosa(order):
    data = np.random.default_rng(1).normal(size=(5, 50)).astype(np.float32)
    ref = librosa.feature.delta(data, width=5, order=order, mode="nearest")
    np.testing.assert_allclose(delta(data, order), ref, atol=1e-5)


def test_delta_rejects_other_orders():
    with pytest.raises(ValueError, match="order"):
        delta(np.zeros((2, 5)), 3)


def test_uncentred_frames_equal_librosa():
    y = np.random.default_rng(2).normal(size=4000).astype(np.float32)
    ref = librosa.feature.melspectrogram(
        y=y,
        sr=16000,
        n_fft=256,
        hop_length=32,
        win_length=192,
        n_mels=20,
        fmin=500.0,
        fmax=8000.0,
        center=False,
    )
    ours = mel_power_spectrogram(y, 16000, 256, 32, 192, 20, 500.0, 8000.0, center=False)
    assert ours.shape == ref.shape
    np.testing.assert_allclose(np.log(ours + 1e-10), np.log(ref + 1e-10), atol=1e-4)
