"""The pure scoring functions of the review: segment votes, suspicion scores, folds, merges.

:func:`canapy.review.find_suspects` combines them; they are re-exported there.

Examples
--------
>>> assign_folds(5, 2, seed=0).tolist().count(0)
3
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from canapy.labels import frame_targets

__all__ = [
    "MERGE_RATE",
    "assign_folds",
    "label_confidence",
    "merge_candidates",
    "segment_votes",
    "suspicion_scores",
]

MERGE_RATE = 0.25
"""Two labels are flagged ``merge?`` when each is heard as the other this often."""


def segment_votes(
    proba: np.ndarray,
    onsets_s: Sequence[float],
    offsets_s: Sequence[float],
    hop_s: float,
    boundary_s: float = 0.0,
) -> np.ndarray:
    """Syllable-class probabilities summed over the frames of each segment.

    Frames are given to segments exactly as training targets are
    (:func:`canapy.labels.frame_targets`, frame ``i`` centred at ``i * hop_s``, each
    segment shrunk by ``boundary_s`` on both sides); a segment left without a frame takes
    the frame nearest its middle.

    Parameters
    ----------
    proba : ndarray, shape (n_frames, n_classes)
        Frame probabilities; column 0 is silence.
    onsets_s, offsets_s : sequence of float, length n_segments
        Segment times in seconds.
    hop_s : float
        Time between frames.
    boundary_s : float
        Frames this close to a segment edge are left out (as in training).

    Returns
    -------
    ndarray, shape (n_segments, n_classes - 1)
        Column ``j`` is the vote for class ``j + 1``.

    Examples
    --------
    >>> p = np.array([[1, 0, 0], [0, 0.9, 0.1], [0, 0.8, 0.2], [0, 0.1, 0.9]])
    >>> segment_votes(p, [0.005, 0.025], [0.025, 0.035], hop_s=0.01).round(2).tolist()
    [[1.7, 0.3], [0.1, 0.9]]
    """
    return _segment_sums(proba, onsets_s, offsets_s, hop_s, boundary_s)[0][:, 1:]


def _segment_sums(
    proba: np.ndarray,
    onsets_s: Sequence[float],
    offsets_s: Sequence[float],
    hop_s: float,
    boundary_s: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities of every class summed over each segment's frames, and frame counts.

    Returns ``(sums, counts)`` of shapes ``(n_segments, n_classes)`` and ``(n_segments,)``;
    a segment left without a frame takes the frame nearest its middle (count 1).
    """
    proba = np.asarray(proba, dtype=np.float64)
    n, n_classes = proba.shape
    k = len(onsets_s)
    if k == 0 or n == 0:
        return np.zeros((k, n_classes)), np.zeros(k, dtype=np.int64)
    ids = [str(i) for i in range(1, k + 1)]
    owner = frame_targets(onsets_s, offsets_s, ids, n, hop_s, ["0", *ids], boundary_s)
    sums = np.stack(
        [np.bincount(owner, weights=proba[:, c], minlength=k + 1) for c in range(n_classes)],
        axis=1,
    )[1:]
    counts = np.bincount(owner, minlength=k + 1)[1:]
    for i in np.flatnonzero(counts == 0):  # very short segment overwritten by a neighbour
        mid = (float(onsets_s[i]) + float(offsets_s[i])) / 2.0
        sums[i] = proba[min(n - 1, round(mid / hop_s))]
        counts[i] = 1
    return sums, counts


def label_confidence(
    proba: np.ndarray,
    classes: Sequence[str],
    segments: pd.DataFrame,
    hop_s: float,
) -> np.ndarray:
    """A model's confidence in each segment's label: its mean probability over the segment.

    What the dashboard shows when the mouse is over a hand-labelled segment: close to 1,
    the model hears that label there; close to 0, it hears something else (a label worth
    checking, see :func:`canapy.review.find_suspects`).

    Parameters
    ----------
    proba : ndarray, shape (n_frames, n_classes)
        The model's frame probabilities for the segments' recording (frame ``i`` centred at
        ``i * hop_s``).
    classes : sequence of str, length n_classes
        The model's classes (column order of ``proba``).
    segments : DataFrame
        Columns ``onset_s, offset_s, label`` (seconds), one recording.
    hop_s : float
        Time between frames.

    Returns
    -------
    ndarray of float, shape (n_segments,)
        Mean probability of the segment's label over its frames; NaN for a label the model
        does not know.

    Examples
    --------
    >>> p = np.array([[1, 0, 0], [0, 0.9, 0.1], [0, 0.7, 0.3], [0, 0.2, 0.8]])
    >>> segs = pd.DataFrame({"onset_s": [0.005, 0.025], "offset_s": [0.025, 0.035],
    ...                      "label": ["a", "x"]})
    >>> label_confidence(p, ["SIL", "a", "b"], segs, hop_s=0.01).round(2).tolist()
    [0.8, nan]
    """
    index = {str(c): j for j, c in enumerate(classes)}
    col = np.array([index.get(str(lab), -1) for lab in segments["label"]], dtype=np.int64)
    sums, counts = _segment_sums(
        proba, segments["onset_s"].to_numpy(float), segments["offset_s"].to_numpy(float), hop_s
    )
    if not len(col):
        return np.zeros(0)
    mean = sums[np.arange(len(col)), np.maximum(col, 0)] / np.maximum(counts, 1)
    return np.where(col >= 0, mean, np.nan)


def suspicion_scores(
    p_label: np.ndarray,
    unanimous_other: np.ndarray,
    unknown: np.ndarray,
    confirmed: np.ndarray | None = None,
) -> np.ndarray:
    """Suspicion in [0, 1] from the hand label's probability and the models' agreement.

    ``1 - p_label``, boosted to ``0.5 + 0.5 (1 - p_label)`` when every model suggests the
    same other label, halved (so below 0.5) when the ensemble's suggestion *is* the hand
    label (an uncertain but confirmed label ranks after every disagreement); 1 for labels
    the models do not know.

    Examples
    --------
    >>> p_label = np.array([0.9, 0.3, 0.3, np.nan, 0.3])
    >>> unanimous_other = np.array([False, False, True, False, False])
    >>> unknown = np.array([False, False, False, True, False])
    >>> confirmed = np.array([True, False, False, False, True])
    >>> suspicion_scores(p_label, unanimous_other, unknown, confirmed).round(2).tolist()
    [0.05, 0.7, 0.85, 1.0, 0.35]
    """
    base = 1.0 - np.clip(np.nan_to_num(np.asarray(p_label, float), nan=0.0), 0.0, 1.0)
    score = np.where(unanimous_other, 0.5 + 0.5 * base, base)
    if confirmed is not None:
        score = np.where(confirmed, 0.5 * base, score)
    return np.where(unknown, 1.0, score)


def assign_folds(n_files: int, n_folds: int, seed: int = 0) -> np.ndarray:
    """Fold number of each file: a seeded shuffle dealt round-robin into ``n_folds``.

    Examples
    --------
    >>> assign_folds(5, 2, seed=0).tolist()
    [1, 0, 0, 0, 1]
    """
    order = np.random.default_rng(seed).permutation(n_files)
    folds = np.empty(n_files, dtype=int)
    folds[order] = np.arange(n_files) % n_folds
    return folds


def merge_candidates(segments: pd.DataFrame, rate: float = MERGE_RATE) -> pd.DataFrame:
    """Pairs of labels the models confuse, from a review's segment table.

    Parameters
    ----------
    segments : DataFrame
        :attr:`ReviewResult.segments` (columns ``syll``, ``suggested``).
    rate : float
        Both directions at least this rate: ``suggestion = "merge?"``.

    Returns
    -------
    DataFrame
        One row per unordered pair seen confused at least once, ``label_a`` being the
        label more often heard as the other: ``label_a, label_b, n_segments`` (segments
        labelled a heard as b), ``rate`` (their share of the a segments), ``n_reverse``,
        ``rate_reverse`` (b heard as a), ``suggestion``. Sorted by decreasing rate.

    Examples
    --------
    >>> seg = pd.DataFrame({"syll": list("aaaabbbc"), "suggested": list("abbbaabc")})
    >>> merge_candidates(seg)[["label_a", "label_b", "n_segments", "suggestion"]].values.tolist()
    [['a', 'b', 3, 'merge?']]
    """
    judged = segments[segments["suggested"] != ""]
    totals = judged["syll"].value_counts()
    pairs = judged[judged["syll"] != judged["suggested"]]
    counts = pairs.groupby(["syll", "suggested"]).size().to_dict()
    rows = []
    for a, b in sorted({tuple(sorted(k)) for k in counts}):
        ab, ba = counts.get((a, b), 0), counts.get((b, a), 0)
        r_ab, r_ba = ab / totals.get(a, 1), ba / totals.get(b, 1)
        if (r_ba, ba) > (r_ab, ab):
            a, b, ab, ba, r_ab, r_ba = b, a, ba, ab, r_ba, r_ab
        both = r_ab >= rate and r_ba >= rate
        rows.append((a, b, ab, r_ab, ba, r_ba, "merge?" if both else ""))
    cols = ["label_a", "label_b", "n_segments", "rate", "n_reverse", "rate_reverse", "suggestion"]
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values(["rate", "n_segments"], ascending=False, kind="stable").reset_index(
        drop=True
    )
