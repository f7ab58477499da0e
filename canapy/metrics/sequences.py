"""Sequence and boundary scores: syllable error rate, onset/offset precision and recall.

Examples
--------
>>> round(syllable_error_rate([["a", "b", "c"]], [["a", "c"]]), 4)
0.3333
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rapidfuzz.distance import Levenshtein

from canapy.segments import TIME_EPS

__all__ = [
    "boundary_scores",
    "count_matches",
    "error_ratio",
    "scores_from_counts",
    "segment_error_counts",
    "syllable_error_rate",
]


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
    return error_ratio(edits, total)


def error_ratio(edits: int, total: int) -> float:
    """``edits / total``; with ``total == 0``: 0.0 without edits, else ``inf``."""
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
    n_match = count_matches(r, h, tolerance_s + TIME_EPS)
    return scores_from_counts(len(r), len(h), n_match)


def count_matches(r: np.ndarray, h: np.ndarray, tol: float) -> int:
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


def scores_from_counts(n_ref: int, n_hyp: int, n_match: int) -> dict[str, float | int]:
    """Precision, recall, F1 and the counts, as :func:`boundary_scores` returns them.

    Examples
    --------
    >>> scores_from_counts(4, 2, 2)["recall"]
    0.5
    """
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
