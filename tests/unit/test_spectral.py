"""The numpy spectrograms, deltas and the soxr resampler equal librosa's on the same signal."""

from __future__ import annotations

import librosa
import numpy as np
import pytest

from canapy.audio import resample
from canapy.spectral import delta, mel_filterbank, mel_power_spectrogram, power_spectrogram

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


@pytest.mark.parametrize(("n_fft", "hop", "n"), [(512, 64, 16000), (256, 100, 4001)])
def test_power_spectrogram_equals_librosa_stft(n_fft, hop, n):
    y = np.random.default_rng(3).normal(size=n).astype(np.float32)
    ref = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop, center=True)) ** 2
    ours = power_spectrogram(y, n_fft, hop)
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=1e-3, atol=1e-4 * float(ref.max()))


@pytest.mark.parametrize(
    ("orig", "target", "n"),
    # soxr rounds the output length, librosa takes the ceiling: the last two differ
    [(44100, 32000, 44101), (16000, 22050, 999), (44100, 32000, 44102), (16000, 22050, 44100)],
)
def test_resample_equals_librosa(orig, target, n):
    y = np.random.default_rng(4).normal(size=n).astype(np.float32)
    ref = librosa.resample(y, orig_sr=orig, target_sr=target, res_type="soxr_hq")
    ours = resample(y, orig, target)
    assert ours.dtype == np.float32 and ours.shape == ref.shape
    np.testing.assert_array_equal(ours, ref)
