"""Frame-wise class probabilities -> labelled segments (pure functions).

Steps, each configurable in :class:`canapy.config.PostprocessConfig`:

1. probabilities are smoothed by a moving average ``smoothing_ms`` wide;
2. each frame takes its most probable class; runs of equal class are formed;
3. (only with ``min_gap_ms`` > 0) silence shorter than ``min_gap_ms`` between two runs of
   the same class is filled first, so that the syllables of a phrase form one run; runs
   shorter than ``min_duration_ms`` are then absorbed, shortest first, by the neighbouring
   run whose class is most probable over the short run's frames (a duration-weighted vote:
   what matters is how long and how confidently, not how many runs), or turned into
   silence when both neighbours are silence;
4. silence shorter than ``min_gap_ms`` between two runs of the same class is filled;
5. each segment's label is the class with the largest summed probability over its frames,
   its confidence the mean probability of that class; consecutive segments that now share
   a label and are less than ``min_gap_ms`` apart are merged (phrase-level output, see
   :mod:`canapy.granularity`; nothing is merged with the default ``min_gap_ms = 0``);
   then (phrase level again) segments still shorter than ``min_duration_ms`` are folded
   into their most probable neighbour less than ``min_gap_ms`` away;
6. segments are widened by ``widen_s`` on both sides (undoing the boundary shrinking used in
   training), never past the middle of the gap to a neighbour.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from canapy.config import PostprocessConfig

__all__ = [
    "SEGMENT_PRED_COLUMNS",
    "absorb_short_segments",
    "frames_to_segments",
    "merge_same_label",
    "moving_mean",
    "runs_of",
    "vote_label",
]

SEGMENT_PRED_COLUMNS = ["onset_s", "offset_s", "label", "confidence"]


def moving_mean(values: np.ndarray, width: int) -> np.ndarray:
    """Mean over a window of ``width`` rows centred on each row, edges repeated.

    The same as ``scipy.ndimage.uniform_filter1d(values, width, axis=0, mode="nearest")``
    (the window of row ``i`` is rows ``i - width // 2`` to ``i + (width - 1) // 2``), in
    numpy: annotating does not pay for importing scipy.ndimage.

    >>> moving_mean(np.array([[0.0], [3.0], [6.0], [9.0]]), 3).ravel().tolist()
    [1.0, 3.0, 6.0, 8.0]
    """
    values = np.asarray(values)
    left, right = width // 2, width - 1 - width // 2
    padded = np.concatenate(
        [np.repeat(values[:1], left, axis=0), values, np.repeat(values[-1:], right, axis=0)]
    )
    sums = np.zeros((len(padded) + 1, *values.shape[1:]), np.float64)
    np.cumsum(padded, axis=0, dtype=np.float64, out=sums[1:])
    return ((sums[width:] - sums[:-width]) / width).astype(values.dtype, copy=False)


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


def vote_label(proba: np.ndarray, start: int, stop: int) -> int:
    """Class (never silence) with the largest summed probability over frames ``start:stop``.

    >>> vote_label(np.array([[0.9, 0.1, 0.0], [0.2, 0.3, 0.5], [0.2, 0.2, 0.6]]), 0, 3)
    2
    """
    return 1 + int(np.argmax(proba[start:stop, 1:].sum(axis=0)))


def merge_same_label(
    segments: list[list[int]], proba: np.ndarray, max_gap_frames: int
) -> list[list[int]]:
    """Merge consecutive ``[class, start, stop]`` segments of one class less than
    ``max_gap_frames`` apart (silence between them included), then re-vote each merged
    segment's class over its whole span with :func:`vote_label`.

    With ``max_gap_frames = 0`` nothing is merged. Used for phrase-level output, where a
    phrase's label comes back after the silent gaps between its syllables.

    >>> p = np.zeros((10, 3)); p[:, 1] = 1.0
    >>> merge_same_label([[1, 0, 3], [1, 5, 8], [2, 8, 9]], p, 3)
    [[1, 0, 8], [2, 8, 9]]
    """
    if max_gap_frames <= 0:
        return [list(s) for s in segments]
    out: list[list[int]] = []
    for cls, a, b in segments:
        if out and out[-1][0] == cls and a - out[-1][2] < max_gap_frames:
            out[-1][2] = b
            out[-1][0] = vote_label(proba, out[-1][1], b)
        else:
            out.append([cls, a, b])
    if len(out) < len(segments):  # a re-vote can make new neighbours equal
        return merge_same_label(out, proba, max_gap_frames)
    return out


def absorb_short_segments(
    segments: list[list[int]], proba: np.ndarray, min_frames: int, max_gap_frames: int
) -> list[list[int]]:
    """Phrase level: fold ``[class, start, stop]`` segments shorter than ``min_frames`` into
    a neighbouring segment less than ``max_gap_frames`` away, shortest first.

    The neighbour whose class is most probable over the short segment's frames takes it
    (and the gap between them); a short segment without a close neighbour is kept (a
    rare call stands alone). Same-label neighbours are then merged
    (:func:`merge_same_label`). Nothing changes when ``max_gap_frames`` is 0.

    >>> p = np.zeros((12, 3)); p[:, 2] = 1.0; p[4:6, 1] = 2.0
    >>> absorb_short_segments([[2, 0, 4], [1, 4, 6], [2, 6, 12]], p, 3, 2)
    [[2, 0, 12]]
    """
    segs = [list(s) for s in segments]
    if max_gap_frames <= 0:
        return segs
    while True:
        short = [
            i
            for i, (_, a, b) in enumerate(segs)
            if b - a < min_frames and _close_neighbours(segs, i, max_gap_frames)
        ]
        if not short:
            return segs
        i = min(short, key=lambda k: segs[k][2] - segs[k][1])
        _, a, b = segs[i]
        near = _close_neighbours(segs, i, max_gap_frames)
        j = max(near, key=lambda k: float(proba[a:b, segs[k][0]].sum()))
        segs[j][1], segs[j][2] = min(segs[j][1], a), max(segs[j][2], b)
        del segs[i]
        segs = merge_same_label(segs, proba, max_gap_frames)


def _close_neighbours(segs: list[list[int]], i: int, max_gap: int) -> list[int]:
    out = []
    if i > 0 and segs[i][1] - segs[i - 1][2] < max_gap:
        out.append(i - 1)
    if i + 1 < len(segs) and segs[i + 1][1] - segs[i][2] < max_gap:
        out.append(i + 1)
    return out


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
    smooth = moving_mean(proba, width) if width > 1 else proba
    max_gap = round(cfg.min_gap_ms / 1000.0 / hop_s)
    runs = _fill_short_gaps(runs_of(np.argmax(smooth, axis=1)), max_gap)
    runs = _absorb_short_runs(runs, smooth, round(cfg.min_duration_ms / 1000.0 / hop_s))
    runs = _fill_short_gaps(runs, max_gap)
    voted = [[vote_label(smooth, a, b), a, b] for c, a, b in runs if c != 0]
    voted = merge_same_label(voted, smooth, max_gap)
    voted = absorb_short_segments(
        voted, smooth, round(cfg.min_duration_ms / 1000.0 / hop_s), max_gap
    )
    segs = [(a, b) for _, a, b in voted]
    rows = []
    end_s = duration_s if duration_s is not None else (frame_offset + len(proba) - 0.5) * hop_s
    segs = [(a + frame_offset, b + frame_offset) for a, b in segs]
    for k, ((a, b), (cls, _, _)) in enumerate(zip(segs, voted, strict=True)):
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
