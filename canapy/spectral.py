"""Power and mel spectrograms and delta features in numpy and scipy, equal to librosa's.

Why not librosa here: importing ``librosa.feature`` pulls in ``scipy.signal`` and compiles
(or loads) numba kernels, about 4 s of CPU per process, more than annotating 30 recordings
takes. The few operations Canapy needs — a centred short-time Fourier transform with a
Hann window, a Slaney mel filter bank and Savitzky-Golay deltas — are written below
following librosa's definitions (``librosa.stft(center=True, pad_mode="constant")``,
``librosa.filters.mel(htk=False, norm="slaney")``, ``librosa.feature.delta(width=5,
mode="nearest")``); ``tests/unit/test_spectral.py`` checks them against librosa.

The FFTs are ``scipy.fft``'s, which transforms float32 frames in single precision and
several times faster than ``numpy.fft`` (``benchmarks/bench_speed.py`` times the whole
commands).
"""

from __future__ import annotations

import numpy as np
import scipy.fft

__all__ = ["delta", "mel_filterbank", "mel_power_spectrogram", "power_spectrogram"]

_F_SP = 200.0 / 3  # Slaney mel scale: linear below 1 kHz ...
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = np.log(6.4) / 27.0  # ... logarithmic above
_BLOCK_FRAMES = 4096  # STFT frames transformed at once (bounds memory on long files)


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    hz = np.asarray(hz, np.float64)
    mel = hz / _F_SP
    high = hz >= _MIN_LOG_HZ
    mel[high] = _MIN_LOG_MEL + np.log(hz[high] / _MIN_LOG_HZ) / _LOGSTEP
    return mel


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, np.float64)
    hz = _F_SP * mel
    high = mel >= _MIN_LOG_MEL
    hz[high] = _MIN_LOG_HZ * np.exp(_LOGSTEP * (mel[high] - _MIN_LOG_MEL))
    return hz


def mel_filterbank(
    sample_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float
) -> np.ndarray:
    """Slaney-normalised triangular mel filters, shape ``(n_mels, 1 + n_fft // 2)``.

    >>> mel_filterbank(16000, 512, 40, 0.0, 8000.0).shape
    (40, 257)
    """
    fft_freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    mel_f = _mel_to_hz(
        np.linspace(_hz_to_mel(np.array([fmin]))[0], _hz_to_mel(np.array([fmax]))[0], n_mels + 2)
    )
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2:] - mel_f[:-2]))[:, None]
    return weights.astype(np.float32)


def _hann_frames(
    y: np.ndarray, n_fft: int, hop: int, win: int, center: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Frames of ``y`` (a strided view, one row per frame) and the Hann window they take."""
    y = np.asarray(y, np.float32)
    n = np.arange(win)
    window = np.zeros(n_fft, np.float32)  # periodic Hann, centred in the FFT frame
    left = (n_fft - win) // 2
    window[left : left + win] = 0.5 - 0.5 * np.cos(2.0 * np.pi * n / win)
    padded = np.pad(y, n_fft // 2) if center else y
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop]
    return frames, window


def _frame_power(frames: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Power spectrum of each windowed frame, shape ``(len(frames), 1 + n_fft // 2)``."""
    spec = scipy.fft.rfft(frames * window, axis=1)
    return spec.real**2 + spec.imag**2


def power_spectrogram(
    y: np.ndarray, n_fft: int, hop: int, win: int | None = None, center: bool = True
) -> np.ndarray:
    """Power of a Hann-windowed STFT, shape ``(1 + n_fft // 2, 1 + len(y) // hop)``.

    ``np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop, win_length=win,
    center=center)) ** 2``, without importing librosa; ``win`` defaults to ``n_fft``.
    Frames are as in :func:`mel_power_spectrogram`.

    >>> sr = 16000
    >>> y = np.sin(2 * np.pi * 2000 * np.arange(sr) / sr).astype(np.float32)
    >>> power = power_spectrogram(y, 512, 128)
    >>> power.shape, int(power[:, 10].argmax())  # 2 kHz: bin 2000 / (16000 / 512)
    ((257, 126), 64)
    """
    frames, window = _hann_frames(y, n_fft, hop, n_fft if win is None else win, center)
    out = np.empty((1 + n_fft // 2, len(frames)), np.float32)
    for start in range(0, len(frames), _BLOCK_FRAMES):
        power = _frame_power(frames[start : start + _BLOCK_FRAMES], window)
        out[:, start : start + len(power)] = power.T
    return out


def mel_power_spectrogram(
    y: np.ndarray,
    sample_rate: int,
    n_fft: int,
    hop: int,
    win: int,
    n_mels: int,
    fmin: float,
    fmax: float,
    center: bool = True,
) -> np.ndarray:
    """Mel-band power of a Hann-windowed STFT, shape ``(n_mels, 1 + len(y) // hop)``.

    With ``center=True`` frame ``t`` is centred on sample ``t * hop`` (the signal is
    zero-padded by ``n_fft // 2`` on both sides); with ``center=False`` it covers samples
    ``t * hop : t * hop + n_fft`` (``1 + (len(y) - n_fft) // hop`` frames). The window of
    ``win`` samples is centred in the ``n_fft`` FFT frame.

    >>> y = np.zeros(1600, np.float32)
    >>> mel_power_spectrogram(y, 16000, 512, 32, 192, 40, 500.0, 8000.0).shape
    (40, 51)
    """
    frames, window = _hann_frames(y, n_fft, hop, win, center)
    basis = mel_filterbank(sample_rate, n_fft, n_mels, fmin, fmax)
    out = np.empty((n_mels, len(frames)), np.float32)
    for start in range(0, len(frames), _BLOCK_FRAMES):
        power = _frame_power(frames[start : start + _BLOCK_FRAMES], window)
        out[:, start : start + len(power)] = basis @ power.T.astype(np.float32)
    return out


def delta(data: np.ndarray, order: int) -> np.ndarray:
    """First or second derivative along the last axis (5-point Savitzky-Golay, edges repeated).

    >>> delta(np.arange(6.0), 1).round(6).tolist()
    [0.5, 0.8, 1.0, 1.0, 0.8, 0.5]
    """
    if order == 1:
        weights = np.array([-2.0, -1.0, 0.0, 1.0, 2.0]) / 10.0
    elif order == 2:
        weights = np.array([2.0, -1.0, -2.0, -1.0, 2.0]) / 7.0
    else:
        raise ValueError(f"delta order must be 1 or 2, not {order}")
    pad = [(0, 0)] * (data.ndim - 1) + [(2, 2)]
    padded = np.pad(data, pad, mode="edge")
    length = data.shape[-1]
    out = np.zeros(data.shape, np.result_type(data, np.float32))
    for k, w in enumerate(weights):
        if w:
            out += w * padded[..., k : k + length]
    return out.astype(data.dtype, copy=False)
