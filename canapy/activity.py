"""A cheap activity gate: find the sound-bearing stretches of a long recording.

Long recordings are mostly silence and background noise. The gate scores every feature
frame by its mean log-power above each band's noise floor (the same floor the features
subtract, see :mod:`canapy.features`), keeps the frames whose score passes a threshold, and
widens each kept stretch by a margin on both sides (the margin also warms the reservoirs
up). Only those stretches go through the reservoirs; the rest is annotated as silence.

The threshold is calibrated on the training corpus (:func:`calibrate_gate`): it is set so
that a chosen fraction of the hand-labelled segments have at least one frame above it, and
saved in the run folder (``gate.json``) by :func:`canapy.workflow.train`.

Examples
--------
>>> score = np.array([0.0, 0.1, 3.0, 2.5, 0.2, 0.0, 0.0, 0.0, 4.0, 0.0])
>>> gate = ActivityGate(threshold=1.0, margin_s=0.01)
>>> tracker = RegionTracker(gate.threshold)
>>> tracker.add(score, start_frame=0)
>>> tracker.regions(n_frames=10, margin_frames=1)
[(1, 5), (7, 10)]
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from canapy.config import FeaturesConfig
from canapy.exceptions import ModelError
from canapy.io_utils import atomic_write_json

__all__ = [
    "GATE_FILE",
    "ActivityGate",
    "RegionTracker",
    "activity_score",
    "calibrate_gate",
    "calibrate_on_corpus",
    "load_gate",
    "region_recall",
    "save_gate",
]

logger = logging.getLogger(__name__)

GATE_FILE = "gate.json"
"""Name of the calibrated gate in a run folder."""


@dataclass(frozen=True)
class ActivityGate:
    """Threshold and margin of the activity gate.

    Attributes
    ----------
    threshold : float
        Mean log-power above the noise floor (natural log units, i.e. nepers of power;
        1.0 is about 4.3 dB) that a frame must exceed to be kept.
    margin_s : float
        Kept stretches are widened by this much on both sides; stretches closer than
        twice the margin are joined.
    recall : float
        Fraction of hand-labelled training segments the threshold was set to detect.
    """

    threshold: float
    margin_s: float = 0.5
    recall: float = 0.995


def activity_score(logmel_floored: np.ndarray) -> np.ndarray:
    """Per-frame score: mean over bands of the log-mel power above the noise floor.

    Parameters
    ----------
    logmel_floored : ndarray, shape (n_mels, T)
        Log-mel power minus each band's noise floor.

    Returns
    -------
    ndarray, shape (T,), float32

    >>> activity_score(np.array([[0.0, 2.0], [1.0, 4.0]])).tolist()
    [0.5, 3.0]
    """
    return np.asarray(logmel_floored, np.float32).mean(axis=0)


class RegionTracker:
    """Collect the runs of frames above a threshold, block after block.

    Memory holds one ``(start, stop)`` pair per run of active frames, not the scores.

    Parameters
    ----------
    threshold : float
        Score a frame must exceed.
    """

    def __init__(self, threshold: float) -> None:
        self.threshold = float(threshold)
        self._runs: list[list[int]] = []

    def add(self, score: np.ndarray, start_frame: int) -> None:
        """Scores of frames ``start_frame ...``; blocks must come in order."""
        active = np.asarray(score) > self.threshold
        if not active.any():
            return
        edges = np.flatnonzero(np.diff(np.concatenate([[0], active.view(np.int8), [0]])))
        for a, b in zip(edges[::2], edges[1::2], strict=True):
            a, b = int(a) + start_frame, int(b) + start_frame
            if self._runs and self._runs[-1][1] == a:  # continues across the block edge
                self._runs[-1][1] = b
            else:
                self._runs.append([a, b])

    def regions(self, n_frames: int, margin_frames: int) -> list[tuple[int, int]]:
        """Active runs widened by ``margin_frames``, joined when they overlap, clipped."""
        out: list[tuple[int, int]] = []
        for a, b in self._runs:
            a, b = max(0, a - margin_frames), min(n_frames, b + margin_frames)
            if out and a <= out[-1][1]:
                out[-1] = (out[-1][0], max(out[-1][1], b))
            else:
                out.append((a, b))
        return out


def region_recall(
    regions: Sequence[tuple[int, int]],
    onsets_s: Sequence[float],
    offsets_s: Sequence[float],
    hop_s: float,
) -> float:
    """Fraction of segments lying entirely inside one kept region.

    >>> region_recall([(0, 10)], [0.01, 0.2], [0.05, 0.3], 0.01)
    0.5
    """
    if len(onsets_s) == 0:
        return 1.0
    starts = np.array([a for a, _ in regions], float) * hop_s
    stops = np.array([b for _, b in regions], float) * hop_s
    kept = 0
    for on, off in zip(onsets_s, offsets_s, strict=True):
        i = np.searchsorted(starts, on, side="right") - 1
        kept += bool(i >= 0 and off <= stops[i])
    return kept / len(onsets_s)


def calibrate_gate(
    scores: Sequence[np.ndarray],
    targets: Sequence[np.ndarray],
    recall: float = 0.995,
    margin_s: float = 0.5,
) -> ActivityGate:
    """Threshold that detects ``recall`` of the labelled segments of a training corpus.

    A segment is detected when one of its frames scores above the threshold (the margin
    then covers its quiet edges), so the threshold is the ``1 - recall`` quantile of the
    segments' peak scores, lowered by 10 % of its distance to the non-song median for
    safety.

    Parameters
    ----------
    scores : list of ndarray, shapes (T_i,)
        :func:`activity_score` of each training file.
    targets : list of int ndarray, shapes (T_i,)
        Frame classes (0 = silence) of each file.
    recall : float
        Fraction of segments to detect.
    margin_s : float
        Margin stored in the gate.

    Returns
    -------
    ActivityGate

    >>> s = [np.array([0.0, 0.1, 5.0, 4.0, 0.0, 3.0, 0.2])]
    >>> t = [np.array([0, 0, 1, 1, 0, 2, 0])]
    >>> round(calibrate_gate(s, t, recall=1.0).threshold, 3)
    2.705
    """
    peaks, quiet = [], []
    for score, target in zip(scores, targets, strict=True):
        score, target = np.asarray(score), np.asarray(target)
        song = target != 0
        quiet.append(score[~song])
        edges = np.flatnonzero(np.diff(np.concatenate([[0], song.view(np.int8), [0]])))
        peaks.extend(float(score[a:b].max()) for a, b in zip(edges[::2], edges[1::2], strict=True))
    if not peaks:
        raise ModelError("cannot calibrate the activity gate: no labelled segment")
    peak_q = float(np.quantile(peaks, 1.0 - recall))
    quiet_all = np.concatenate(quiet) if quiet else np.zeros(1)
    quiet_median = float(np.median(quiet_all)) if len(quiet_all) else 0.0
    threshold = peak_q - 0.1 * max(0.0, peak_q - quiet_median)
    logger.info(
        "activity gate: threshold %.3f, %.1f %% of non-song frames above it",
        threshold,
        100 * float((quiet_all > threshold).mean()) if len(quiet_all) else 0.0,
    )
    return ActivityGate(threshold=threshold, margin_s=margin_s, recall=recall)


def calibrate_on_corpus(
    corpus,
    paths: Sequence[Path],
    cfg: FeaturesConfig,
    sample_rate: int,
    recall: float = 0.995,
    margin_s: float = 0.5,
) -> ActivityGate:
    """:func:`calibrate_gate` on the annotated files ``paths`` of a :class:`~canapy.corpus.Corpus`.

    Each file is read once; only one file's scores are in memory at a time besides the
    per-segment peaks and the non-song scores kept for the median.
    """
    from canapy.audio import load_audio
    from canapy.features import NOISE_FLOOR_PERCENTILE, hop_length, log_mel

    hop_s = hop_length(sample_rate, cfg) / sample_rate
    scores, targets = [], []
    for path in paths:
        y, _ = load_audio(path, sample_rate)
        logmel = log_mel(y, sample_rate, cfg)
        logmel -= np.percentile(logmel, NOISE_FLOOR_PERCENTILE, axis=1, keepdims=True)
        score = activity_score(logmel)
        song = np.zeros(len(score), np.int8)
        segs = corpus.segments_of(path)
        for on, off in zip(segs["onset_s"], segs["offset_s"], strict=True):
            song[round(on / hop_s) : round(off / hop_s) + 1] = 1
        scores.append(score)
        targets.append(song)
    return calibrate_gate(scores, targets, recall, margin_s)


def save_gate(gate: ActivityGate, path: str | Path) -> None:
    """Write a gate as JSON, atomically."""
    atomic_write_json(path, asdict(gate))


def load_gate(path: str | Path) -> ActivityGate:
    """Read a gate written by :func:`save_gate` (ModelError naming the file if invalid)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return ActivityGate(
            threshold=float(data["threshold"]),
            margin_s=float(data.get("margin_s", 0.5)),
            recall=float(data.get("recall", 0.995)),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{path}: unreadable activity gate: {exc}") from exc
