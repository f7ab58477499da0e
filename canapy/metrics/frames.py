"""Frame-level scores: segments laid on a time grid, accuracy, per-class report, confusion.

Examples
--------
>>> frame_accuracy(["SIL", "a", "a", "b"], ["SIL", "a", "b", "b"])
0.75
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "class_report",
    "confusion",
    "frame_accuracy",
    "frame_codes",
    "frames_from_segments",
    "n_frames",
    "sort_by_onset",
]


def frame_accuracy(y_true: Sequence[Any] | np.ndarray, y_pred: Sequence[Any] | np.ndarray) -> float:
    """Fraction of frames whose predicted label equals the true label.

    Parameters
    ----------
    y_true, y_pred : array-like, shape (n_frames,)
        Labels (strings or integers) of each frame.

    Returns
    -------
    float
        Accuracy in [0, 1]; ``nan`` when there are no frames.

    Raises
    ------
    ValueError
        If the two arrays do not have the same length.

    Examples
    --------
    >>> frame_accuracy(["a", "a", "SIL", "b"], ["a", "b", "SIL", "b"])
    0.75
    """
    t = np.asarray(y_true)
    p = np.asarray(y_pred)
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred differ in shape: {t.shape} vs {p.shape}")
    if t.size == 0:
        return float("nan")
    return float(np.mean(t == p))


def frame_codes(
    onsets_s: np.ndarray, offsets_s: np.ndarray, codes: np.ndarray, n: int, hop_s: float
) -> np.ndarray:
    """Integer code of each of ``n`` frames; 0 where no segment covers the frame centre.

    Frame ``i`` is centred at ``(i + 0.5) * hop_s``.
    """
    out = np.zeros(n, dtype=np.int64)
    if n == 0:
        return out
    centres = (np.arange(n) + 0.5) * hop_s
    lo = np.searchsorted(centres, onsets_s, side="left")
    hi = np.searchsorted(centres, offsets_s, side="left")
    # Segments are expected sorted by onset: where they overlap, the later one wins.
    for a, b, c in zip(lo, hi, codes, strict=True):
        out[a:b] = c
    return out


def sort_by_onset(segments: pd.DataFrame) -> pd.DataFrame:
    """Segments sorted by onset then offset (stable)."""
    return segments.sort_values(["onset_s", "offset_s"], kind="stable")


def n_frames(duration_s: float, hop_s: float) -> int:
    """Number of whole frames of step ``hop_s`` in ``duration_s`` seconds.

    Examples
    --------
    >>> n_frames(0.5, 0.1)
    5
    """
    if hop_s <= 0:
        raise ValueError(f"hop_s must be > 0, got {hop_s}")
    if duration_s < 0 or not math.isfinite(duration_s):
        raise ValueError(f"duration_s must be finite and >= 0, got {duration_s}")
    return math.floor(duration_s / hop_s + 1e-6)


def frames_from_segments(
    segments: pd.DataFrame, duration_s: float, hop_s: float, silence_label: str = "SIL"
) -> np.ndarray:
    """Label of each frame of a file, on the grid ``t_i = (i + 0.5) * hop_s``.

    Frame ``i`` takes the label of the segment with ``onset_s <= t_i < offset_s``, and
    ``silence_label`` when no segment covers it. There are ``floor(duration_s / hop_s)``
    frames (whole frames only). Where segments overlap, the one with the later onset wins.

    Parameters
    ----------
    segments : pandas.DataFrame
        Segments of **one** file, with columns ``onset_s``, ``offset_s`` and ``label``.
    duration_s : float
        Duration of the file in seconds.
    hop_s : float
        Frame step in seconds.
    silence_label : str
        Label of frames outside every segment.

    Returns
    -------
    numpy.ndarray of str, shape (n_frames,)

    Examples
    --------
    >>> seg = pd.DataFrame({"onset_s": [0.1], "offset_s": [0.3], "label": ["a"]})
    >>> frames_from_segments(seg, duration_s=0.5, hop_s=0.1).tolist()
    ['SIL', 'a', 'a', 'SIL', 'SIL']
    """
    n = n_frames(float(duration_s), float(hop_s))
    seg = sort_by_onset(segments)
    labels = seg["label"].astype(str).to_numpy()
    classes = np.array([silence_label, *labels], dtype=str)
    codes = frame_codes(
        seg["onset_s"].to_numpy(float),
        seg["offset_s"].to_numpy(float),
        np.arange(1, len(labels) + 1),
        n,
        float(hop_s),
    )
    return classes[codes]


def _default_labels(y_true: Any, y_pred: Any) -> list[Any]:
    return sorted(set(np.asarray(y_true).tolist()) | set(np.asarray(y_pred).tolist()))


def class_report(
    y_true: Sequence[Any] | np.ndarray,
    y_pred: Sequence[Any] | np.ndarray,
    labels: Sequence[Any] | None = None,
) -> pd.DataFrame:
    """Precision, recall, F1 and support of each class.

    Parameters
    ----------
    y_true, y_pred : array-like, shape (n_frames,)
    labels : sequence, optional
        Classes to report, in this order; by default the sorted union of both arrays.

    Returns
    -------
    pandas.DataFrame
        Index ``label``; columns ``precision``, ``recall``, ``f1`` (floats, 0 where
        undefined) and ``support`` (number of true occurrences).

    Examples
    --------
    >>> class_report(["a", "a", "b"], ["a", "b", "b"])  # doctest: +NORMALIZE_WHITESPACE
           precision  recall        f1  support
    label
    a            1.0     0.5  0.666667        2
    b            0.5     1.0  0.666667        1
    """
    labels = _default_labels(y_true, y_pred) if labels is None else list(labels)
    from sklearn.metrics import precision_recall_fscore_support  # loaded when scoring

    p, r, f, s = precision_recall_fscore_support(
        np.asarray(y_true), np.asarray(y_pred), labels=labels, zero_division=0
    )
    out = pd.DataFrame(
        {
            "precision": p.astype(float),
            "recall": r.astype(float),
            "f1": f.astype(float),
            "support": s.astype(np.int64),
        },
        index=pd.Index(labels, name="label"),
    )
    return out


def confusion(
    y_true: Sequence[Any] | np.ndarray,
    y_pred: Sequence[Any] | np.ndarray,
    labels: Sequence[Any] | None = None,
    normalize: str | None = "true",
) -> pd.DataFrame:
    """Confusion matrix; rows are true classes, columns predicted classes.

    Parameters
    ----------
    y_true, y_pred : array-like, shape (n_frames,)
    labels : sequence, optional
        Classes, in this order; by default the sorted union of both arrays.
    normalize : {"true", "pred", "all"} or None
        As in :func:`sklearn.metrics.confusion_matrix`: ``"true"`` makes each row sum to 1
        (rows without support stay 0); ``None`` gives raw counts.

    Returns
    -------
    pandas.DataFrame, shape (n_classes, n_classes)
        Index named ``true``, columns named ``predicted``.

    Examples
    --------
    >>> cm = confusion(["a", "a", "b"], ["a", "b", "b"], normalize=None)
    >>> cm  # doctest: +NORMALIZE_WHITESPACE
    predicted  a  b
    true
    a          1  1
    b          0  1
    """
    if normalize not in (None, "true", "pred", "all"):
        raise ValueError(f'normalize must be None, "true", "pred" or "all", got {normalize!r}')
    labels = _default_labels(y_true, y_pred) if labels is None else list(labels)
    from sklearn.metrics import confusion_matrix  # loaded when scoring

    cm = confusion_matrix(
        np.asarray(y_true), np.asarray(y_pred), labels=labels, normalize=normalize
    )
    return pd.DataFrame(
        cm, index=pd.Index(labels, name="true"), columns=pd.Index(labels, name="predicted")
    )
