"""Fixed-size representations of segments, for the syllable map.

Two representations, both one vector per segment:

- ``"logmel"``: the segment's log-mel spectrogram (static bands of
  :func:`canapy.features.compute_features`, read from the same disk cache as training),
  resized in time to a fixed number of frames by linear interpolation, so syllables of
  different lengths compare band by band; the log-duration is appended (resizing hides it).
  A segment shorter than two frames is padded by repeating its nearest frame.
- ``"reservoir"``: the trained annotator's reservoir states (its own feature
  standardisation and reservoir weights; no new model) averaged over the segment's frames.
  The reservoir is not trained (only the readout is), so these states do not depend on the
  labels the model learnt: they are safe to use to judge those labels.

Frames belong to a segment when their centre (frame ``i`` at ``i * hop_s``) lies inside it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from canapy.annotator import Annotator
from canapy.config import Config, FeaturesConfig
from canapy.exceptions import AnalysisError
from canapy.features import FeatureExtractor
from canapy.models import EnsembleClassifier, EsnClassifier

__all__ = [
    "PATCH_FRAMES",
    "REPRESENTATIONS",
    "corpus_representation",
    "logmel_extractor",
    "pool_states",
    "resize_patches",
    "segment_frames",
]

logger = logging.getLogger(__name__)

REPRESENTATIONS = ("logmel", "reservoir")
PATCH_FRAMES = 24
"""Frames of a resized log-mel patch."""

ProgressFn = Callable[[float, str], None]


def segment_frames(
    onsets_s: np.ndarray, offsets_s: np.ndarray, hop_s: float, n_frames: int
) -> tuple[np.ndarray, np.ndarray]:
    """First and one-past-last frame of each segment, at least one frame each.

    Examples
    --------
    >>> segment_frames(np.array([0.0, 0.031]), np.array([0.025, 0.032]), 0.01, 10)
    (array([0, 3]), array([3, 4]))
    """
    onsets_s, offsets_s = np.asarray(onsets_s, float), np.asarray(offsets_s, float)
    lo = np.clip(np.ceil(onsets_s / hop_s - 1e-9).astype(int), 0, max(0, n_frames - 1))
    hi = np.clip(np.floor(offsets_s / hop_s + 1e-9).astype(int) + 1, 0, n_frames)
    empty = hi <= lo
    mid = np.clip(np.round((onsets_s + offsets_s) / 2 / hop_s).astype(int), 0, n_frames - 1)
    lo = np.where(empty, mid, lo)
    hi = np.where(empty, mid + 1, hi)
    return lo, hi


def resize_patches(
    spec: np.ndarray, lo: np.ndarray, hi: np.ndarray, frames: int = PATCH_FRAMES
) -> np.ndarray:
    """Each segment's rows of ``spec`` resized to ``frames`` rows, flattened.

    Parameters
    ----------
    spec : ndarray, shape (T, d)
        Spectrogram of one file (frames × bands).
    lo, hi : int ndarray, shape (n,)
        Frame range of each segment (:func:`segment_frames`).
    frames : int
        Rows of every patch.

    Returns
    -------
    ndarray, shape (n, frames * d), float32

    Examples
    --------
    >>> spec = np.arange(10, dtype=float)[:, None]
    >>> resize_patches(spec, np.array([0]), np.array([5]), frames=3).tolist()
    [[0.0, 2.0, 4.0]]
    """
    lo, hi = np.asarray(lo), np.asarray(hi)
    pos = lo[:, None] + (hi - lo - 1)[:, None] * np.linspace(0.0, 1.0, frames)[None, :]
    left = np.floor(pos).astype(int)
    right = np.minimum(left + 1, (hi - 1)[:, None])
    w = (pos - left)[..., None]
    patches = (1.0 - w) * spec[left] + w * spec[right]
    return patches.reshape(len(lo), -1).astype(np.float32)


def pool_states(states: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Mean of ``states`` over each segment's frames, shape ``(n, units)``.

    Examples
    --------
    >>> pool_states(np.arange(6.0).reshape(3, 2), np.array([0, 2]), np.array([2, 3])).tolist()
    [[1.0, 2.0], [4.0, 5.0]]
    """
    csum = np.concatenate([np.zeros((1, states.shape[1])), np.cumsum(states, axis=0)])
    return ((csum[hi] - csum[lo]) / (hi - lo)[:, None]).astype(np.float32)


def _syntactic_member(annotator: Annotator) -> EsnClassifier:
    est = annotator.estimator
    if isinstance(est, EnsembleClassifier):
        return est.members[0]
    return est


def _logmel_config(cfg: FeaturesConfig) -> FeaturesConfig:
    """The training features when they are log-mel (shared cache), else log-mel ones."""
    return cfg if cfg.kind == "logmel" else replace(cfg, kind="logmel")


def logmel_extractor(
    config: Config | None = None,
    sample_rate: int | None = None,
    annotator: Annotator | None = None,
    cache_dir: Path | None = None,
) -> FeatureExtractor:
    """The log-mel feature extractor of the map (and of its thumbnails).

    The training features when they are log-mel (same disk cache), else log-mel ones with
    the same settings; the annotator's config and rate by default, else the defaults at
    32 kHz. Its first ``extractor.cfg.n_mels`` columns are the static log-mel bands.
    """
    cfg, rate = _settings(config, sample_rate, annotator)
    return FeatureExtractor(_logmel_config(cfg.features), rate, cache_dir)


def _settings(
    config: Config | None, sample_rate: int | None, annotator: Annotator | None
) -> tuple[Config, int]:
    if annotator is not None:
        return config or annotator.config, sample_rate or annotator.sample_rate
    from canapy.config import default_config

    cfg = config or default_config()
    return cfg, sample_rate or (cfg.audio.sample_rate or 32000)


def corpus_representation(
    segments: pd.DataFrame,
    representation: str,
    *,
    config: Config | None = None,
    sample_rate: int | None = None,
    annotator: Annotator | None = None,
    cache_dir: Path | None = None,
    frames: int = PATCH_FRAMES,
    progress: ProgressFn | None = None,
) -> np.ndarray:
    """One vector per row of a segment table, read file by file.

    Parameters
    ----------
    segments : DataFrame
        Canapy segment table (``audio_path, onset_s, offset_s``); the audio must exist.
    representation : {"logmel", "reservoir"}
        See the module docstring.
    config, sample_rate : optional
        Feature settings of ``"logmel"`` (default: the annotator's, else the defaults
        at 32 kHz).
    annotator : Annotator, optional
        Trained annotator; required for ``"reservoir"``.
    cache_dir : Path, optional
        Feature cache (shared with training).
    frames : int
        Frames of a log-mel patch.
    progress : callable, optional
        ``progress(fraction, message)``.

    Returns
    -------
    ndarray, shape (n_segments, dim), float32
        Rows in the order of ``segments``.

    Raises
    ------
    AnalysisError
        Unknown representation, no annotator for ``"reservoir"``, or missing audio.
    """
    if representation not in REPRESENTATIONS:
        raise AnalysisError(
            f"unknown representation {representation!r}; use one of {', '.join(REPRESENTATIONS)}"
        )
    if representation == "reservoir" and annotator is None:
        raise AnalysisError("the 'reservoir' representation needs a trained model (--model)")
    cfg, rate = _settings(config, sample_rate, annotator)
    feats_cfg = cfg.features if representation == "reservoir" else _logmel_config(cfg.features)
    extractor = FeatureExtractor(feats_cfg, rate, cache_dir)
    paths = list(dict.fromkeys(segments["audio_path"].astype(str)))
    missing = [p for p in paths if not Path(p).is_file()]
    if missing:
        raise AnalysisError(
            f"{missing[0]}: audio not found ({len(missing)} file(s) missing); the syllable "
            "map needs the recordings"
        )
    member = _syntactic_member(annotator) if representation == "reservoir" else None
    out: np.ndarray | None = None
    rows_of = segments.groupby(segments["audio_path"].astype(str), sort=False).indices
    for k, path in enumerate(paths):
        rows = rows_of[path]
        feats = extractor(path)
        sub = segments.iloc[rows]
        lo, hi = segment_frames(
            sub["onset_s"].to_numpy(), sub["offset_s"].to_numpy(), extractor.hop_s, len(feats)
        )
        if member is not None:
            states = member.reservoir_.transform([(feats - member.mean_) / member.scale_])[0]
            vec = pool_states(states, lo, hi)
        else:
            patches = resize_patches(feats[:, : feats_cfg.n_mels], lo, hi, frames)
            dur = np.log(np.maximum(sub["offset_s"] - sub["onset_s"], 1e-3).to_numpy())
            vec = np.concatenate([patches, dur[:, None].astype(np.float32)], axis=1)
        if out is None:
            out = np.empty((len(segments), vec.shape[1]), np.float32)
        out[rows] = vec
        if progress is not None:
            progress((k + 1) / len(paths), f"{representation} vectors of {Path(path).name}")
    if out is None:
        raise AnalysisError("no segment to map")
    return out
