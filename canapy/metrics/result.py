"""The result of an evaluation, :class:`EvaluationResult`, and its JSON round trip."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["EvaluationResult", "evaluation_from_dict", "json_scalar"]


def json_scalar(x: Any) -> Any:
    """Plain Python scalar, with nan/inf replaced by None (strict JSON)."""
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _records(df: pd.DataFrame, index_name: str | None = None) -> list[dict[str, Any]]:
    if index_name is not None:
        df = df.reset_index(names=index_name)
    return [{str(k): json_scalar(v) for k, v in row.items()} for row in df.to_dict("records")]


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
        return {k: json_scalar(v) for k, v in out.items()}

    def to_dict(self) -> dict[str, Any]:
        """Summary plus per-class, confusion-count and per-file tables, JSON-safe.

        ``confusion_counts`` is ``{"labels": [...], "counts": [[...], ...]}`` with rows
        as true classes; the tables are lists of records.
        """
        return {
            **self.summary(),
            "onset": {k: json_scalar(v) for k, v in self.onset.items()},
            "offset": {k: json_scalar(v) for k, v in self.offset.items()},
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
    >>> from canapy.metrics import evaluate_segments
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
