"""What a score cannot tell: warnings that go with an evaluation.

A syllable error rate of 0.0 on two held-out files, or a per-class row of 0.000 for a label
the model never saw, reads like a measurement and is not one. :func:`score_caveats` says
so in words; :func:`evaluation_caveats` applies it to an evaluation result, for the
dashboard's Evaluate tab and ``canapy evaluate`` alike (one wording, one rule).

Examples
--------
>>> few, unknown = score_caveats(2, ["A", "B", "X"], ["A", "B"])
>>> few[:24], unknown[:11]
('scored on only 2 file(s)', 'label(s) X ')
>>> score_caveats(12, ["A", "B"], ["A", "B"])
[]
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from canapy.metrics import EvaluationResult

__all__ = ["MIN_TEST_FILES", "evaluation_caveats", "score_caveats"]

MIN_TEST_FILES = 5
"""Fewer scored files than this earns a warning."""
_SILENCE = {"SIL", "sil", ""}


def score_caveats(
    n_files: int,
    test_labels: Iterable[str],
    model_labels: Iterable[str],
    min_files: int = MIN_TEST_FILES,
) -> list[str]:
    """Warnings about an evaluation: too few files, test labels the model cannot produce.

    Parameters
    ----------
    n_files : int
        Number of audio files scored.
    test_labels : iterable of str
        Labels of the reference annotations scored (silence is ignored).
    model_labels : iterable of str
        Labels the model can produce (its vocabulary).
    min_files : int
        Fewer files than this earns a warning.

    Returns
    -------
    list of str
        One sentence per problem (empty when there is none).
    """
    out = []
    if n_files < min_files:
        out.append(
            f"scored on only {n_files} file(s): one error more or less changes these numbers "
            "a lot; score more files (a larger training.validation_fraction, or Evaluate on "
            "more annotated files) before trusting them"
        )
    unknown = sorted({str(x) for x in test_labels} - {str(x) for x in model_labels} - _SILENCE)
    if unknown:
        out.append(
            f"label(s) {', '.join(unknown)} of the scored files are unknown to the model (not "
            "in its training data): it cannot produce them, so their rows are 0 by "
            "construction, not a measurement; retrain with examples of them"
        )
    return out


def evaluation_caveats(
    result: EvaluationResult,
    model_labels: Iterable[str] | None = None,
    n_files: int | None = None,
) -> list[str]:
    """:func:`score_caveats` of an evaluation result.

    Parameters
    ----------
    result : EvaluationResult
        The scores (its per-class rows name the labels scored, its per-file rows the files).
    model_labels : iterable of str, optional
        Labels the model can produce (``Annotator.labels``); unknown: no label warning.
    n_files : int, optional
        Number of files scored; default: the rows of ``result.per_file``.

    Returns
    -------
    list of str
        One sentence per problem (empty when there is none).
    """
    test_labels = [str(x) for x in result.per_class.index]
    n = len(result.per_file) if n_files is None else int(n_files)
    return score_caveats(n, test_labels, test_labels if model_labels is None else model_labels)
