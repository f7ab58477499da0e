"""Frame-wise class probabilities -> labelled segments (pure functions).

Steps, each configurable in :class:`canapy.config.PostprocessConfig`:

1. probabilities are smoothed by a moving average ``smoothing_ms`` wide;
2. each frame takes its most probable class; runs of equal class are formed;
3. runs shorter than ``min_duration_ms`` are absorbed, shortest first, by the neighbouring
   run whose class is most probable over the short run's frames (a duration-weighted vote:
   what matters is how long and how confidently, not how many runs), or turned into silence
   when both neighbours are silence;
4. silence shorter than ``min_gap_ms`` between two runs of the same class is filled;
5. each segment's label is the class with the largest summed probability over its frames,
   its confidence the mean probability of that class;
6. segments are widened by ``widen_s`` on both sides (undoing the boundary shrinking used in
   training), never past the middle of the gap to a neighbour.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.ndimage import uniform_filter1d

from canapy.config import PostprocessConfig

__all__ = ["SEGMENT_PRED_COLUMNS", "frames_to_segments", "runs_of"]

SEGMENT_PRED_COLUMNS = ["onset_s", "offset_s", "label", "confidence"]


def runs_of(labels: np.ndarray) -> list[list[int]]:
    """Runs of equal values as ``[value, start, stop]`` (stop exclusive).

    >>> runs_of(np.array([0, 0, 1, 1, 1, 0]))
    [[0, 0, 2], [1, 2, 5], [0, 5, 6]]
    """
    if len(labels) == 0:
        return []
    change = np.flatnonzero(np.diff(labels)) + 1
    starts = np.concatenate([[0], change])
    stops = np.concatenate([change, [len(labels)]])
    return [[int(labels[a]), int(a), int(b)] for a, b in zip(starts, stops, strict=True)]


def _merge_equal(runs: list[list[int]]) -> list[list[int]]:
    merged: list[list[int]] = []
    for run in runs:
        if merged and merged[-1][0] == run[0]:
            merged[-1][2] = run[2]
        else:
            merged.append(list(run))
    return merged


def _absorb_short_runs(
    runs: list[list[int]], proba: np.ndarray, min_frames: int
) -> list[list[int]]:
    runs = _merge_equal(runs)
    while True:
        short = [i for i, (c, a, b) in enumerate(runs) if c != 0 and b - a < min_frames]
        if not short:
            return runs
        i = min(short, key=lambda k: runs[k][2] - runs[k][1])
        _, a, b = runs[i]
        neighbours = [j for j in (i - 1, i + 1) if 0 <= j < len(runs) and runs[j][0] != 0]
        if neighbours:
            scores = [proba[a:b, runs[j][0]].sum() for j in neighbours]
            runs[i][0] = runs[neighbours[int(np.argmax(scores))]][0]
        else:
            runs[i][0] = 0
        runs = _merge_equal(runs)


def _fill_short_gaps(runs: list[list[int]], max_gap_frames: int) -> list[list[int]]:
    if max_gap_frames <= 0:
        return runs
    for i in range(1, len(runs) - 1):
        c, a, b = runs[i]
        if c == 0 and b - a < max_gap_frames and runs[i - 1][0] == runs[i + 1][0] != 0:
            runs[i][0] = runs[i - 1][0]
    return _merge_equal(runs)


def frames_to_segments(
    proba: np.ndarray,
    classes: Sequence[str],
    hop_s: float,
    cfg: PostprocessConfig,
    widen_s: float = 0.0,
    duration_s: float | None = None,
    frame_offset: int = 0,
) -> pd.DataFrame:
    """Decode frame probabilities into segments.

    Parameters
    ----------
    proba : ndarray, shape (n_frames, n_classes)
        Class probabilities (or scores) per frame; class 0 is silence.
    classes : sequence of str
        Class names, ``classes[0]`` being the silence tag.
    hop_s : float
        Time between frames; frame ``i`` is centred at ``i * hop_s``.
    cfg : PostprocessConfig
        Smoothing, minimum duration and gap parameters.
    widen_s : float
        Widen each segment by this much on both sides.
    duration_s : float, optional
        Length of the recording; segments are clipped to it.
    frame_offset : int
        Index in the recording of the first row of ``proba`` (a block decoded on its own,
        see :mod:`canapy.streaming`); times are computed from ``frame_offset + row``.

    Returns
    -------
    DataFrame
        Columns ``onset_s, offset_s, label, confidence``, sorted by onset.

    Examples
    --------
    >>> p = np.zeros((10, 2)); p[:, 0] = 1; p[3:7] = [0, 1]
    >>> frames_to_segments(p, ["SIL", "a"], 0.01, PostprocessConfig(smoothing_ms=0,
    ...     min_duration_ms=0))[["onset_s", "offset_s", "label"]].round(3).values.tolist()
    [[0.025, 0.065, 'a']]
    """
    proba = np.asarray(proba, dtype=np.float32)
    if proba.ndim != 2 or proba.shape[1] != len(classes):
        raise ValueError(f"proba must be (n_frames, {len(classes)}), got {proba.shape}")
    width = round(cfg.smoothing_ms / 1000.0 / hop_s)
    smooth = uniform_filter1d(proba, size=width, axis=0, mode="nearest") if width > 1 else proba
    runs = runs_of(np.argmax(smooth, axis=1))
    runs = _absorb_short_runs(runs, smooth, round(cfg.min_duration_ms / 1000.0 / hop_s))
    runs = _fill_short_gaps(runs, round(cfg.min_gap_ms / 1000.0 / hop_s))
    segs = [(a, b) for c, a, b in runs if c != 0]
    rows = []
    end_s = duration_s if duration_s is not None else (frame_offset + len(proba) - 0.5) * hop_s
    segs = [(a + frame_offset, b + frame_offset) for a, b in segs]
    for k, (a, b) in enumerate(segs):
        votes = smooth[a - frame_offset : b - frame_offset, 1:].sum(axis=0)
        cls = 1 + int(np.argmax(votes))
        on = max(0.0, (a - 0.5) * hop_s)
        off = min(end_s, (b - 0.5) * hop_s)
        if widen_s > 0:
            prev_off = (segs[k - 1][1] - 0.5) * hop_s if k > 0 else 0.0
            next_on = (segs[k + 1][0] - 0.5) * hop_s if k + 1 < len(segs) else end_s
            on = max(on - widen_s, (prev_off + on) / 2.0, 0.0)
            off = min(off + widen_s, (off + next_on) / 2.0, end_s)
        conf = float(smooth[a - frame_offset : b - frame_offset, cls].mean())
        rows.append((on, off, classes[cls], conf))
    return pd.DataFrame(rows, columns=SEGMENT_PRED_COLUMNS).astype(
        {"onset_s": float, "offset_s": float, "label": str, "confidence": float}
    )
