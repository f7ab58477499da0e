"""The syllable map's outlier evidence as extra columns of a review (``canapy review --map``).

:func:`map_signal` maps the corpus' segments (label-free vectors: log-mel patches, or a
model's untrained reservoir) and returns, per segment, the kNN label disagreement, the
neighbours' majority label and the within-class outlier score
(:mod:`canapy.analysis.evidence`). :func:`add_map_signal` joins them to a
:class:`canapy.review.ReviewResult` by segment id.

Whether the map should also change the review's *score* was measured on Koumura Bird0 with
5 % planted label errors (``benchmarks/bench_analysis.py``, figures in docs/analysis.md):
see :data:`MAP_WEIGHT`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from canapy.analysis.evidence import EVIDENCE_COLUMNS
from canapy.analysis.mapping import map_segments
from canapy.annotator import Annotator
from canapy.corpus import Corpus
from canapy.review import ReviewResult

__all__ = ["MAP_WEIGHT", "add_map_signal", "map_signal"]

MAP_WEIGHT = 0.0
"""Weight of ``knn_disagreement`` in the review score: 0, separate columns only.

Measured on Koumura Bird0 with 5 % random relabelling: the review score alone ranks all 99
planted errors first (precision@N 1.0); averaging in the kNN disagreement gives 0.99.
"""


def map_signal(
    corpus: Corpus,
    *,
    annotator: Annotator | None = None,
    representation: str = "auto",
    map_params: dict[str, Any] | None = None,
    cache_dir: Path | None = None,
    k: int = 10,
    progress: Any = None,
) -> pd.DataFrame:
    """``segment_id`` and :data:`~canapy.analysis.evidence.EVIDENCE_COLUMNS` of every segment."""
    mapped = map_segments(
        corpus.segments,
        annotator=annotator,
        representation=representation,
        map_params=map_params,
        k=k,
        cache_dir=cache_dir,
        progress=progress,
    )
    return mapped.evidence.assign(segment_id=corpus.segments["segment_id"].to_numpy())


def add_map_signal(
    result: ReviewResult, signal: pd.DataFrame, weight: float = MAP_WEIGHT
) -> ReviewResult:
    """A new review with the map's columns added (and, with ``weight > 0``, in the score).

    With ``weight = w``, ``score = (1 - w) score + w knn_disagreement`` and the segments are
    ranked again.

    Examples
    --------
    >>> seg = pd.DataFrame({"segment_id": ["a", "b"], "score": [0.2, 0.1],
    ...                     "wave": "x.wav", "start": [0.0, 1.0]})
    >>> sig = pd.DataFrame({"segment_id": ["b", "a"], "knn_disagreement": [1.0, 0.0],
    ...                     "knn_label": ["p", "q"], "class_outlier": [0.0, 0.0]})
    >>> empty = pd.DataFrame()
    >>> out = add_map_signal(ReviewResult(seg, empty, empty), sig, weight=0.5)
    >>> out.segments[["segment_id", "score"]].values.tolist()
    [['b', 0.55], ['a', 0.1]]
    """
    seg = result.segments.drop(columns=[c for c in EVIDENCE_COLUMNS if c in result.segments])
    seg = seg.merge(signal[["segment_id", *EVIDENCE_COLUMNS]], on="segment_id", how="left")
    if weight > 0:
        knn = seg["knn_disagreement"].fillna(0.0)
        seg["score"] = (1.0 - weight) * seg["score"] + weight * knn
        seg = seg.sort_values(
            ["score", "wave", "start"], ascending=[False, True, True], kind="stable"
        ).reset_index(drop=True)
    return replace(result, segments=seg)
