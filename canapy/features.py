"""Spectral features of audio (log-mel or MFCC, with deltas), cached on disk.

Frame ``i`` of a feature matrix is centred at ``i * hop`` seconds (librosa's
``center=True`` convention), so a file of ``n`` samples has ``1 + n // hop`` frames.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict
from pathlib import Path

import numpy as np

from canapy.config import FeaturesConfig
from canapy.spectral import delta, mel_power_spectrogram

__all__ = [
    "NOISE_FLOOR_PERCENTILE",
    "FeatureExtractor",
    "compute_features",
    "feature_dim",
    "features_from_logmel",
    "fft_sizes",
    "file_digest",
    "frame_times",
    "hop_length",
    "log_mel",
    "n_frames",
]

logger = logging.getLogger(__name__)

NOISE_FLOOR_PERCENTILE = 20.0
"""Percentile (over a file's frames) of each mel band taken as its noise floor."""
_FEATURES_VERSION = 2
"""Part of the cache key: bump it when :func:`compute_features` changes its output."""


def hop_length(sample_rate: int, cfg: FeaturesConfig) -> int:
    """Hop between frames in samples.

    >>> hop_length(32000, FeaturesConfig(hop_ms=2.0))
    64
    """
    return max(1, round(cfg.hop_ms * sample_rate / 1000.0))


def fft_sizes(sample_rate: int, cfg: FeaturesConfig) -> tuple[int, int]:
    """FFT size (a power of two) and window length in samples.

    >>> fft_sizes(32000, FeaturesConfig(win_ms=12.0))
    (512, 384)
    """
    win = max(8, round(cfg.win_ms * sample_rate / 1000.0))
    n_fft = 1 << int(np.ceil(np.log2(win)))
    return n_fft, win


def n_frames(n_samples: int, sample_rate: int, cfg: FeaturesConfig) -> int:
    """Number of feature frames for ``n_samples`` of audio.

    >>> n_frames(32000, 32000, FeaturesConfig(hop_ms=2.0))
    501
    """
    return 1 + n_samples // hop_length(sample_rate, cfg)


def frame_times(n: int, sample_rate: int, cfg: FeaturesConfig) -> np.ndarray:
    """Centre time in seconds of each of ``n`` frames, shape ``(n,)``."""
    return np.arange(n) * hop_length(sample_rate, cfg) / sample_rate


def feature_dim(cfg: FeaturesConfig) -> int:
    """Number of feature dimensions ``d`` produced by :func:`compute_features`.

    >>> feature_dim(FeaturesConfig(kind="logmel", n_mels=40, deltas=2))
    120
    """
    base = cfg.n_mels if cfg.kind == "logmel" else cfg.n_mfcc
    return base * (1 + cfg.deltas)


def compute_features(y: np.ndarray, sample_rate: int, cfg: FeaturesConfig) -> np.ndarray:
    """Log-mel or MFCC features of a mono signal, with deltas.

    Each band has its noise floor (a low percentile over the file) subtracted, which makes
    the features robust to recording gain and background level.

    Parameters
    ----------
    y : ndarray, shape (n_samples,)
        Mono audio.
    sample_rate : int
        Sample rate of ``y`` in Hz.
    cfg : FeaturesConfig
        Feature parameters.

    Returns
    -------
    ndarray, shape (n_frames, feature_dim(cfg)), float32

    Examples
    --------
    >>> y = np.sin(2 * np.pi * 2000 * np.arange(16000) / 16000).astype(np.float32)
    >>> compute_features(y, 16000, FeaturesConfig()).shape
    (501, 120)
    """
    y = np.asarray(y, dtype=np.float32)
    expected = n_frames(len(y), sample_rate, cfg)
    n_fft, _ = fft_sizes(sample_rate, cfg)
    if len(y) < n_fft:
        y = np.pad(y, (0, n_fft - len(y)))
    logmel = log_mel(y, sample_rate, cfg)
    logmel -= np.percentile(logmel, NOISE_FLOOR_PERCENTILE, axis=1, keepdims=True)
    return features_from_logmel(logmel, cfg)[:expected]


def log_mel(
    y: np.ndarray, sample_rate: int, cfg: FeaturesConfig, center: bool = True
) -> np.ndarray:
    """Log mel-band power, shape ``(n_mels, n_frames)`` float32, before noise-floor removal.

    With ``center=False``, frame ``j`` covers samples ``j * hop : j * hop + n_fft`` of
    ``y`` (to compute a stretch of a long file from its samples alone).
    """
    n_fft, win = fft_sizes(sample_rate, cfg)
    fmax = cfg.fmax if cfg.fmax > 0 else sample_rate / 2.0
    fmax = min(fmax, sample_rate / 2.0)
    fmin = min(cfg.fmin, fmax / 2.0)
    hop = hop_length(sample_rate, cfg)
    mel = mel_power_spectrogram(y, sample_rate, n_fft, hop, win, cfg.n_mels, fmin, fmax, center)
    return np.log(mel + 1e-10)


def features_from_logmel(logmel: np.ndarray, cfg: FeaturesConfig) -> np.ndarray:
    """Noise-floored log-mel ``(n_mels, T)`` -> features ``(T, feature_dim(cfg))`` float32.

    MFCCs are computed frame by frame; deltas use two frames on each side (edge frames
    repeated).
    """
    if cfg.kind == "logmel":
        static = logmel
    else:
        import scipy.fft  # only MFCCs need it

        static = scipy.fft.dct(logmel, axis=0, type=2, norm="ortho")[: cfg.n_mfcc]
    parts = [static] + [delta(static, order) for order in range(1, cfg.deltas + 1)]
    return np.concatenate(parts, axis=0).T.astype(np.float32)


def file_digest(path: str | Path, chunk: int = 1 << 20) -> str:
    """sha256 of a file's content (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def _features_of_file(
    digest: str, path: str, sample_rate: int, params: dict, version: int = _FEATURES_VERSION
) -> np.ndarray:
    """Cached worker: ``digest``, ``params`` and ``version`` form the cache key, not ``path``."""
    from canapy.audio import load_audio

    y, sr = load_audio(path, sample_rate)
    return compute_features(y, sr, FeaturesConfig(**params))


class FeatureExtractor:
    """Compute features of audio files, cached on disk by file content and parameters.

    Parameters
    ----------
    cfg : FeaturesConfig
        Feature parameters.
    sample_rate : int
        Rate every file is resampled to before computing features.
    cache_dir : path, optional
        Folder of the joblib cache; no caching if ``None``.
    """

    def __init__(self, cfg: FeaturesConfig, sample_rate: int, cache_dir: str | Path | None = None):
        self.cfg = cfg
        self.sample_rate = int(sample_rate)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        if self.cache_dir is not None:
            import joblib

            memory = joblib.Memory(self.cache_dir, verbose=0)
            self._compute = memory.cache(_features_of_file, ignore=["path"])
        else:
            self._compute = _features_of_file

    @property
    def hop_s(self) -> float:
        """Time between frames in seconds."""
        return hop_length(self.sample_rate, self.cfg) / self.sample_rate

    def __call__(self, path: str | Path) -> np.ndarray:
        """Features of one file, shape ``(n_frames, d)``."""
        digest = file_digest(path) if self.cache_dir is not None else ""
        return self._compute(
            digest, str(path), self.sample_rate, asdict(self.cfg), _FEATURES_VERSION
        )

    def signal(self, y: np.ndarray) -> np.ndarray:
        """Features of a signal already at :attr:`sample_rate` (not cached)."""
        return compute_features(y, self.sample_rate, self.cfg)
