"""Evaluation of annotations: frame accuracy, syllable error rate, boundary scores.

Two views of the same annotation are compared:

* **sequences of labels** per file, with the standard syllable error rate
  ``SER = sum(edit distance) / sum(len(reference))`` (Levenshtein distance: insertions,
  deletions and substitutions all cost 1), pooled over files;
* **frames** on a common time grid (frame ``i`` centred at ``(i + 0.5) * hop_s``), giving
  frame accuracy, a per-class report and a confusion matrix (silence included);
* **boundaries** (onsets, offsets), matched one-to-one within a tolerance, giving
  precision, recall and F1.

Segment tables are :class:`pandas.DataFrame` objects with at least the columns
``audio_path`` (str), ``onset_s``, ``offset_s`` (float, seconds) and ``label`` (str).

Conventions for empty inputs (chosen so that "nothing to find, nothing found" is perfect):

* syllable error rate with an empty reference: ``0.0`` when every hypothesis is empty too,
  ``inf`` otherwise;
* boundary scores with neither reference nor hypothesis boundaries: precision, recall and
  F1 are ``1.0``; otherwise a zero denominator gives ``0.0``;
* frame accuracy of zero frames: ``nan``.

Non-finite numbers become ``None`` in :meth:`EvaluationResult.summary` and
:meth:`EvaluationResult.to_dict`, so that their output is strict JSON.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from rapidfuzz.distance import Levenshtein
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from canapy.exceptions import AnnotationError

__all__ = [
    "SEGMENT_COLUMNS",
    "EvaluationResult",
    "boundary_scores",
    "class_report",
    "confusion",
    "evaluate_segments",
    "evaluation_from_dict",
    "frame_accuracy",
    "frames_from_segments",
    "segment_error_counts",
    "syllable_error_rate",
]

SEGMENT_COLUMNS = ("audio_path", "onset_s", "offset_s", "label")

# Slack added to the boundary tolerance so that e.g. |0.31 - 0.30| <= 0.01 holds despite
# floating-point rounding (0.31 - 0.30 == 0.010000000000000009).
_TIME_EPS = 1e-9


# --------------------------------------------------------------------------- frames


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


def _frame_codes(
    onsets_s: np.ndarray, offsets_s: np.ndarray, codes: np.ndarray, n: int, hop_s: float
) -> np.ndarray:
    """Integer code of each of ``n`` frames; 0 where no segment covers the frame centre."""
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


def _n_frames(duration_s: float, hop_s: float) -> int:
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
    n = _n_frames(float(duration_s), float(hop_s))
    seg = _sorted(segments)
    labels = seg["label"].astype(str).to_numpy()
    classes = np.array([silence_label, *labels], dtype=str)
    codes = _frame_codes(
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
    cm = confusion_matrix(
        np.asarray(y_true), np.asarray(y_pred), labels=labels, normalize=normalize
    )
    return pd.DataFrame(
        cm, index=pd.Index(labels, name="true"), columns=pd.Index(labels, name="predicted")
    )


# --------------------------------------------------------------------------- sequences


def segment_error_counts(ref: Sequence[str], hyp: Sequence[str]) -> int:
    """Edit (Levenshtein) distance between two label sequences of one file.

    Insertions, deletions and substitutions of whole labels each cost 1.

    Examples
    --------
    >>> segment_error_counts(["a", "b", "c"], ["a", "c"])
    1
    >>> segment_error_counts(["ab", "c"], ["a", "bc"])  # labels are atoms, not characters
    2
    """
    # rapidfuzz: C++ Levenshtein on sequences of hashable items (here whole labels).
    return int(Levenshtein.distance([str(x) for x in ref], [str(x) for x in hyp]))


def syllable_error_rate(
    references: Sequence[Sequence[str]], hypotheses: Sequence[Sequence[str]]
) -> float:
    """Standard syllable error rate, pooled over files.

    ``SER = sum_f edit_distance(ref_f, hyp_f) / sum_f len(ref_f)``. It can exceed 1 when
    the hypotheses contain many insertions.

    Parameters
    ----------
    references, hypotheses : sequence of sequences of str
        One label sequence per file, in the same file order.

    Returns
    -------
    float
        When all references are empty: ``0.0`` if all hypotheses are empty too, else
        ``inf``.

    Examples
    --------
    >>> round(syllable_error_rate([["a", "b", "c"]], [["a", "c"]]), 4)
    0.3333
    >>> syllable_error_rate([["a", "b"], ["c", "c"]], [["a", "b"], ["c"]])
    0.25
    """
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} reference sequences but {len(hypotheses)} hypotheses")
    edits = sum(segment_error_counts(r, h) for r, h in zip(references, hypotheses, strict=True))
    total = sum(len(r) for r in references)
    return _ratio(edits, total)


def _ratio(edits: int, total: int) -> float:
    if total == 0:
        return 0.0 if edits == 0 else float("inf")
    return edits / total


# --------------------------------------------------------------------------- boundaries


def boundary_scores(
    ref_times: Sequence[float] | np.ndarray,
    hyp_times: Sequence[float] | np.ndarray,
    tolerance_s: float = 0.01,
) -> dict[str, float | int]:
    """Precision, recall and F1 of boundaries matched one-to-one within a tolerance.

    A reference and a hypothesis boundary may be matched when ``|t_ref - t_hyp| <=
    tolerance_s`` (inclusive, with 1 ns of slack for floating-point rounding); each
    boundary is matched at most once, and the number of matches is the maximum possible.

    Parameters
    ----------
    ref_times, hyp_times : array-like of float, shape (n_ref,), (n_hyp,)
        Boundary times in seconds (any order) of **one** file.
    tolerance_s : float
        Largest allowed distance between matched boundaries, in seconds.

    Returns
    -------
    dict
        ``precision``, ``recall``, ``f1`` (floats; all 1.0 when both inputs are empty,
        0.0 for any other zero denominator) and ``n_ref``, ``n_hyp``, ``n_match`` (ints).

    Examples
    --------
    >>> s = boundary_scores([0.10, 0.20, 0.30], [0.105, 0.50], tolerance_s=0.01)
    >>> s["n_match"], s["precision"], round(s["recall"], 3)
    (1, 0.5, 0.333)
    """
    if tolerance_s < 0:
        raise ValueError(f"tolerance_s must be >= 0, got {tolerance_s}")
    r = np.sort(np.asarray(ref_times, dtype=float).ravel())
    h = np.sort(np.asarray(hyp_times, dtype=float).ravel())
    n_match = _count_matches(r, h, tolerance_s + _TIME_EPS)
    return _scores(len(r), len(h), n_match)


def _count_matches(r: np.ndarray, h: np.ndarray, tol: float) -> int:
    """Size of a maximum one-to-one matching of sorted points within ``tol``.

    Greedy sweep over both sorted lists; it is optimal on the line: the leftmost remaining
    point that cannot reach the other list's leftmost remaining point can reach no later
    point either, and when both leftmost points are within ``tol``, matching them
    together can replace any other pairing of them (an exchange argument). O(n + m)
    after sorting, so exact even for dense boundaries, unlike an O(n^3) assignment.
    """
    i = j = n = 0
    while i < len(r) and j < len(h):
        d = h[j] - r[i]
        if abs(d) <= tol:
            n += 1
            i += 1
            j += 1
        elif d > 0:
            i += 1
        else:
            j += 1
    return n


def _scores(n_ref: int, n_hyp: int, n_match: int) -> dict[str, float | int]:
    if n_ref == 0 and n_hyp == 0:
        precision = recall = f1 = 1.0
    else:
        precision = n_match / n_hyp if n_hyp else 0.0
        recall = n_match / n_ref if n_ref else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "n_ref": int(n_ref),
        "n_hyp": int(n_hyp),
        "n_match": int(n_match),
    }


# --------------------------------------------------------------------------- evaluation


def _json_scalar(x: Any) -> Any:
    """Plain Python scalar, with nan/inf replaced by None (strict JSON)."""
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _records(df: pd.DataFrame, index_name: str | None = None) -> list[dict[str, Any]]:
    if index_name is not None:
        df = df.reset_index(names=index_name)
    return [{str(k): _json_scalar(v) for k, v in row.items()} for row in df.to_dict("records")]


@dataclass
class EvaluationResult:
    """Scores of predicted segments against reference segments.

    Attributes
    ----------
    frame_accuracy : float
        Pooled over all frames of all files (silence included).
    syllable_error_rate : float
        Standard SER, pooled over files (see :func:`syllable_error_rate`).
    onset, offset : dict
        Pooled :func:`boundary_scores` (boundaries are matched within each file only).
    per_class : pandas.DataFrame
        Frame-level :func:`class_report`, silence first then labels sorted.
    confusion : pandas.DataFrame
        Frame-level confusion matrix normalised over true classes (rows).
    confusion_counts : pandas.DataFrame
        The same matrix in raw frame counts.
    per_file : pandas.DataFrame
        Columns ``audio_path, n_ref, n_hyp, edit_distance, ser, frame_accuracy,
        onset_f1``, worst SER first.
    """

    frame_accuracy: float
    syllable_error_rate: float
    onset: dict[str, float | int]
    offset: dict[str, float | int]
    per_class: pd.DataFrame
    confusion: pd.DataFrame
    confusion_counts: pd.DataFrame
    per_file: pd.DataFrame

    def summary(self) -> dict[str, float | int | None]:
        """Headline scores as JSON-safe scalars (non-finite numbers become ``None``)."""
        out = {
            "frame_accuracy": self.frame_accuracy,
            "syllable_error_rate": self.syllable_error_rate,
            "onset_f1": self.onset["f1"],
            "offset_f1": self.offset["f1"],
            "onset_precision": self.onset["precision"],
            "onset_recall": self.onset["recall"],
            "n_files": len(self.per_file),
            "n_ref_segments": self.onset["n_ref"],
            "n_hyp_segments": self.onset["n_hyp"],
        }
        return {k: _json_scalar(v) for k, v in out.items()}

    def to_dict(self) -> dict[str, Any]:
        """Summary plus per-class, confusion-count and per-file tables, JSON-safe.

        ``confusion_counts`` is ``{"labels": [...], "counts": [[...], ...]}`` with rows
        as true classes; the tables are lists of records.
        """
        return {
            **self.summary(),
            "onset": {k: _json_scalar(v) for k, v in self.onset.items()},
            "offset": {k: _json_scalar(v) for k, v in self.offset.items()},
            "per_class": _records(self.per_class, "label"),
            "confusion_counts": {
                "labels": [str(x) for x in self.confusion_counts.index],
                "counts": [[int(v) for v in row] for row in self.confusion_counts.to_numpy()],
            },
            "per_file": _records(self.per_file),
        }


def evaluation_from_dict(data: Mapping[str, Any]) -> EvaluationResult:
    """Rebuild an :class:`EvaluationResult` from :meth:`EvaluationResult.to_dict` output.

    Examples
    --------
    >>> ref = pd.DataFrame({"audio_path": ["f"], "onset_s": [0.1], "offset_s": [0.2],
    ...                     "label": ["a"]})
    >>> res = evaluate_segments(ref, ref, {"f": 0.3})
    >>> back = evaluation_from_dict(res.to_dict())
    >>> back.summary() == res.summary(), float(back.confusion.loc["a", "a"])
    (True, 1.0)
    """
    labels = list(data["confusion_counts"]["labels"])
    counts = pd.DataFrame(data["confusion_counts"]["counts"], index=labels, columns=labels)
    counts.index.name, counts.columns.name = "true", "predicted"
    totals = counts.sum(axis=1).replace(0, 1)
    per_class = pd.DataFrame(data["per_class"]).set_index("label")
    return EvaluationResult(
        frame_accuracy=float(data["frame_accuracy"]),
        syllable_error_rate=float(data["syllable_error_rate"]),
        onset=dict(data["onset"]),
        offset=dict(data["offset"]),
        per_class=per_class,
        confusion=counts.div(totals, axis=0),
        confusion_counts=counts,
        per_file=pd.DataFrame(data["per_file"]),
    )


def _check_table(df: pd.DataFrame, name: str) -> None:
    missing = [c for c in SEGMENT_COLUMNS if c not in df.columns]
    if missing:
        raise AnnotationError(
            f"{name} segment table lacks column(s) {missing}; it needs {list(SEGMENT_COLUMNS)}"
        )


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(["onset_s", "offset_s"], kind="stable")


def evaluate_segments(
    reference: pd.DataFrame,
    predicted: pd.DataFrame,
    durations: Mapping[str, float],
    silence_label: str = "SIL",
    hop_s: float = 0.001,
    tolerance_s: float = 0.01,
) -> EvaluationResult:
    """Score predicted segments against reference segments, file by file and pooled.

    Parameters
    ----------
    reference, predicted : pandas.DataFrame
        Segment tables (columns ``audio_path, onset_s, offset_s, label``).
    durations : mapping of str to float
        Duration in seconds of every evaluated file, keyed by ``audio_path``. These keys
        are the evaluated files: a file without predicted segments counts as all
        deletions, one without reference segments as all insertions.
    silence_label : str
        Label of frames outside every segment (must not be used by any segment).
    hop_s : float
        Step of the common frame grid, in seconds.
    tolerance_s : float
        Onset/offset matching tolerance, in seconds.

    Returns
    -------
    EvaluationResult

    Raises
    ------
    AnnotationError
        If a table lacks a column, or has segments in a file missing from ``durations``.

    Examples
    --------
    >>> ref = pd.DataFrame({"audio_path": ["x.wav"] * 3, "onset_s": [0.1, 0.3, 0.5],
    ...                     "offset_s": [0.2, 0.4, 0.6], "label": ["a", "b", "c"]})
    >>> res = evaluate_segments(ref, ref.drop(index=1), {"x.wav": 1.0}, hop_s=0.01)
    >>> round(res.syllable_error_rate, 4), res.frame_accuracy
    (0.3333, 0.9)
    """
    _check_table(reference, "reference")
    _check_table(predicted, "predicted")
    files = sorted(str(f) for f in durations)
    ref = reference.assign(
        audio_path=reference["audio_path"].astype(str), label=reference["label"].astype(str)
    )
    hyp = predicted.assign(
        audio_path=predicted["audio_path"].astype(str), label=predicted["label"].astype(str)
    )
    for name, df in (("reference", ref), ("predicted", hyp)):
        unknown = sorted(set(df["audio_path"]) - set(files))
        if unknown:
            raise AnnotationError(
                f"{name} segments refer to {len(unknown)} file(s) missing from durations, "
                f"e.g. {unknown[0]!r}; pass the duration of every annotated file"
            )
        if (df["label"] == silence_label).any():
            raise AnnotationError(
                f"{name} segments use the silence label {silence_label!r} as a label; "
                "drop those rows or choose another silence_label"
            )

    classes = [silence_label, *sorted(set(ref["label"]) | set(hyp["label"]))]
    code_of = {c: i for i, c in enumerate(classes)}
    ref_groups = dict(tuple(ref.groupby("audio_path", sort=False)))
    hyp_groups = dict(tuple(hyp.groupby("audio_path", sort=False)))
    empty = ref.iloc[:0]

    true_frames, pred_frames, rows = [], [], []
    ref_seqs, hyp_seqs = [], []
    onset_counts = np.zeros(3, dtype=np.int64)  # n_ref, n_hyp, n_match
    offset_counts = np.zeros(3, dtype=np.int64)
    tol = tolerance_s + _TIME_EPS
    for f in files:
        r = _sorted(ref_groups.get(f, empty))
        h = _sorted(hyp_groups.get(f, empty))
        n = _n_frames(float(durations[f]), hop_s)
        t_codes, p_codes = (
            _frame_codes(
                d["onset_s"].to_numpy(float),
                d["offset_s"].to_numpy(float),
                d["label"].map(code_of).to_numpy(np.int64),
                n,
                hop_s,
            )
            for d in (r, h)
        )
        true_frames.append(t_codes)
        pred_frames.append(p_codes)
        r_labels, h_labels = r["label"].tolist(), h["label"].tolist()
        ref_seqs.append(r_labels)
        hyp_seqs.append(h_labels)
        edits = segment_error_counts(r_labels, h_labels)
        on = [np.sort(r["onset_s"].to_numpy(float)), np.sort(h["onset_s"].to_numpy(float))]
        off = [np.sort(r["offset_s"].to_numpy(float)), np.sort(h["offset_s"].to_numpy(float))]
        on_counts = np.array([len(on[0]), len(on[1]), _count_matches(on[0], on[1], tol)])
        onset_counts += on_counts
        offset_counts += [len(off[0]), len(off[1]), _count_matches(off[0], off[1], tol)]
        rows.append(
            {
                "audio_path": f,
                "n_ref": len(r_labels),
                "n_hyp": len(h_labels),
                "edit_distance": edits,
                "ser": _ratio(edits, len(r_labels)),
                "frame_accuracy": frame_accuracy(t_codes, p_codes),
                "onset_f1": _scores(*(int(x) for x in on_counts))["f1"],
            }
        )

    y_true = np.concatenate(true_frames) if true_frames else np.zeros(0, np.int64)
    y_pred = np.concatenate(pred_frames) if pred_frames else np.zeros(0, np.int64)
    # Integer codes keep sklearn fast on millions of frames; names are put back after.
    idx = list(range(len(classes)))
    per_class = class_report(y_true, y_pred, labels=idx)
    per_class.index = pd.Index(classes, name="label")
    conf, counts = (
        confusion(y_true, y_pred, labels=idx, normalize=norm) for norm in ("true", None)
    )
    for m in (conf, counts):
        m.index = pd.Index(classes, name="true")
        m.columns = pd.Index(classes, name="predicted")

    per_file = pd.DataFrame(
        rows,
        columns=[
            "audio_path",
            "n_ref",
            "n_hyp",
            "edit_distance",
            "ser",
            "frame_accuracy",
            "onset_f1",
        ],
    )
    per_file = per_file.sort_values(
        ["ser", "audio_path"], ascending=[False, True], kind="stable"
    ).reset_index(drop=True)
    return EvaluationResult(
        frame_accuracy=frame_accuracy(y_true, y_pred),
        syllable_error_rate=syllable_error_rate(ref_seqs, hyp_seqs),
        onset=_scores(*(int(x) for x in onset_counts)),
        offset=_scores(*(int(x) for x in offset_counts)),
        per_class=per_class,
        confusion=conf,
        confusion_counts=counts,
        per_file=per_file,
    )
