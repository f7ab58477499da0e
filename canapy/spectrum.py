"""The frequency band a recording's sounds occupy (for display defaults).

A pure function of the samples: the spectrum of the loud frames minus that of the quiet
ones (the background), and the band holding most of that excess energy. Finch song at
32–44.1 kHz gives roughly 0.5–10 kHz, so a spectrogram drawn over that band is not half
empty.

Examples
--------
>>> sr = 32000
>>> t = np.arange(2 * sr) / sr
>>> rng = np.random.default_rng(0)
>>> song = np.where((t % 0.2) < 0.1, np.sin(2 * np.pi * 4000 * t), 0.0)
>>> y = (song + 0.01 * rng.standard_normal(len(t))).astype(np.float32)
>>> energy_band(y, sr)
(3500.0, 4500.0)
"""

from __future__ import annotations

import numpy as np

__all__ = ["energy_band"]


def energy_band(
    y: np.ndarray,
    sample_rate: int,
    coverage: float = 0.995,
    min_snr_db: float = 10.0,
    n_fft: int = 512,
    step_hz: float = 500.0,
) -> tuple[float, float]:
    """Lowest and highest frequency (Hz) of the band holding the signal's energy.

    Frames are ranked by energy; the mean power spectrum of the loudest fifth minus that
    of the quietest half is the signal's excess over the background. The band starts at
    the first frequency ``min_snr_db`` above the background and ends where ``coverage`` of
    the excess energy lies below; both edges are widened to multiples of ``step_hz``.

    Parameters
    ----------
    y : numpy.ndarray, shape (n_samples,)
        Mono audio.
    sample_rate : int
        Rate of ``y`` in Hz.
    coverage : float
        Fraction of the excess energy below the high edge (0 < coverage <= 1).
    min_snr_db : float
        How far above the background (dB) the low edge's frequency must be.
    n_fft : int
        FFT size of the frames (hop ``n_fft // 2``).
    step_hz : float
        The band's edges are rounded outwards to multiples of this.

    Returns
    -------
    tuple of float
        ``(low_hz, high_hz)``, with ``0 <= low_hz < high_hz <= sample_rate / 2``. The whole
        range when the recording is silent or shorter than one frame.
    """
    nyquist = sample_rate / 2.0
    y = np.asarray(y, dtype=np.float64)
    hop = n_fft // 2
    if len(y) < n_fft or not np.any(y):
        return 0.0, float(nyquist)
    n_frames = 1 + (len(y) - n_fft) // hop
    step = max(1, n_frames // 4000)  # at most ~4000 frames: bounded time and memory
    starts = np.arange(0, n_frames, step) * hop
    frames = y[starts[:, None] + np.arange(n_fft)] * np.hanning(n_fft)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2  # (n_frames, n_fft // 2 + 1)
    order = np.argsort(power.sum(axis=1))
    quiet = power[order[: max(1, len(order) // 2)]].mean(axis=0)
    loud = power[order[-max(1, len(order) // 5) :]].mean(axis=0)
    excess = np.maximum(loud - quiet, 0.0)
    total = excess.sum()
    if total <= 0:
        return 0.0, float(nyquist)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    # low edge: the first bin clearly above the background (low-frequency noise is loud
    # in every frame, so it has energy but no excess); high edge: most excess energy
    snr_db = 10.0 * np.log10(np.maximum(loud, 1e-30) / np.maximum(quiet, 1e-30))
    above = np.flatnonzero(snr_db >= min_snr_db)
    cum = np.cumsum(excess) / total
    low = freqs[above[0]] if len(above) else 0.0
    high = freqs[min(len(freqs) - 1, int(np.searchsorted(cum, coverage)))]
    low = float(np.floor(low / step_hz) * step_hz)
    high = float(min(nyquist, np.ceil(high / step_hz) * step_hz))
    if high <= low:
        high = min(nyquist, low + step_hz)
    return low, high
