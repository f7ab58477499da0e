"""Pure table builders of the dashboard state (metrics, suspects, rankings, comparisons)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "METRIC_COLUMNS",
    "SUSPECT_SHOWN",
    "compare_summaries",
    "metrics_frame",
    "rank_by_confidence",
    "suspect_status",
]

METRIC_COLUMNS = ["frame_accuracy", "syllable_error_rate", "onset_f1", "offset_f1", "n_files"]
SUSPECT_SHOWN = ["wave", "start", "end", "syll", "suggested", "score", "status"]
"""Columns of the suspects table shown to the user."""


def metrics_frame(results: Mapping[str, Any]) -> pd.DataFrame:
    """Headline metrics, one row per model, from ``{kind: EvaluationResult}``.

    Examples
    --------
    >>> metrics_frame({}).columns.tolist()
    ['model', 'frame_accuracy', 'syllable_error_rate', 'onset_f1', 'offset_f1', 'n_files']
    """
    rows = [
        {"model": kind, **{c: res.summary()[c] for c in METRIC_COLUMNS}}
        for kind, res in results.items()
    ]
    return pd.DataFrame(rows, columns=["model", *METRIC_COLUMNS])


def suspect_status(
    suspects: pd.DataFrame, table: pd.DataFrame, kept: Sequence[str] = ()
) -> pd.Series:
    """Review status of each suspect against the current segment table.

    ``accepted`` (its label is now the suggestion), ``edited`` (changed otherwise),
    ``removed`` (no longer in the table), ``kept`` (marked "keep original"), or ``""``
    (not reviewed yet). Derived from the table, so undoing an accepted suggestion makes it
    unreviewed again.

    Examples
    --------
    >>> sus = pd.DataFrame({"segment_id": ["a", "b", "c", "d"], "syll": list("AAAA"),
    ...                     "suggested": list("BBBB")})
    >>> table = pd.DataFrame({"segment_id": ["a", "b", "c"], "label": ["B", "C", "A"]})
    >>> suspect_status(sus, table, kept=["c"]).tolist()
    ['accepted', 'edited', 'kept', 'removed']
    """
    now = suspects["segment_id"].map(table.set_index("segment_id")["label"])
    syll, suggested = suspects["syll"].astype(str), suspects["suggested"].astype(str)
    status = np.select(
        [
            now.isna().to_numpy(),
            ((now == suggested) & (suggested != syll)).to_numpy(),
            (now != syll).to_numpy(),
            suspects["segment_id"].isin(list(kept)).to_numpy(),
        ],
        ["removed", "accepted", "edited", "kept"],
        default="",
    )
    return pd.Series(status, index=suspects.index, name="status", dtype=object)


def rank_by_confidence(predictions: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Files annotated by a model, least certain first.

    Parameters
    ----------
    predictions : mapping of str to DataFrame
        ``{audio_path: segments}`` with a ``confidence`` column (as from
        :func:`canapy.workflow.predict_files`).

    Returns
    -------
    DataFrame
        ``file, segments, mean_confidence, audio_path``; files without any segment
        (NaN confidence) first.

    Examples
    --------
    >>> segs = lambda *c: pd.DataFrame({"label": ["A"] * len(c), "confidence": c})
    >>> rank_by_confidence({"/x/a.wav": segs(0.9, 0.8), "/x/b.wav": segs(0.5)})["file"].tolist()
    ['b.wav', 'a.wav']
    """
    rows = [
        {
            "file": Path(path).name,
            "segments": len(segs),
            "mean_confidence": float(segs["confidence"].mean()) if len(segs) else np.nan,
            "audio_path": str(path),
        }
        for path, segs in predictions.items()
    ]
    table = pd.DataFrame(rows, columns=["file", "segments", "mean_confidence", "audio_path"])
    return table.sort_values("mean_confidence", na_position="first", kind="stable").reset_index(
        drop=True
    )


def compare_summaries(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> pd.DataFrame:
    """Held-out metrics of two runs side by side: ``metric, before, after, change``.

    Examples
    --------
    >>> row = compare_summaries({"frame_accuracy": 0.9}, {"frame_accuracy": 0.95}).iloc[0]
    >>> row["metric"], float(row["before"]), float(row["after"]), float(row["change"])
    ('frame_accuracy', 0.9, 0.95, 0.05)
    """
    before, after = dict(before or {}), dict(after or {})
    rows = []
    for metric in METRIC_COLUMNS:
        a, b = before.get(metric), after.get(metric)
        change = b - a if a is not None and b is not None else None
        rows.append({"metric": metric, "before": a, "after": b, "change": change})
    out = pd.DataFrame(rows, columns=["metric", "before", "after", "change"])
    for col in ("before", "after", "change"):
        out[col] = pd.to_numeric(out[col], errors="coerce").round(4)
    return out
