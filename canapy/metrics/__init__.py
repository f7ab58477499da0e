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
:data:`canapy.segments.SCORED_COLUMNS`: ``audio_path`` (str), ``onset_s``, ``offset_s``
(float, seconds) and ``label`` (str).

Conventions for empty inputs (chosen so that "nothing to find, nothing found" is perfect):

* syllable error rate with an empty reference: ``0.0`` when every hypothesis is empty too,
  ``inf`` otherwise;
* boundary scores with neither reference nor hypothesis boundaries: precision, recall and
  F1 are ``1.0``; otherwise a zero denominator gives ``0.0``;
* frame accuracy of zero frames: ``nan``.

Modules: :mod:`~canapy.metrics.frames`, :mod:`~canapy.metrics.sequences` (sequences and
boundaries), :mod:`~canapy.metrics.result` (:class:`EvaluationResult`) and
:mod:`~canapy.metrics.evaluate` (:func:`evaluate_segments`).

Non-finite numbers become ``None`` in :meth:`EvaluationResult.summary` and
:meth:`EvaluationResult.to_dict`, so that their output is strict JSON.
"""

from canapy.metrics.evaluate import evaluate_segments
from canapy.metrics.frames import class_report, confusion, frame_accuracy, frames_from_segments
from canapy.metrics.result import EvaluationResult, evaluation_from_dict
from canapy.metrics.sequences import boundary_scores, segment_error_counts, syllable_error_rate
from canapy.segments import SCORED_COLUMNS

__all__ = [
    "SCORED_COLUMNS",
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
