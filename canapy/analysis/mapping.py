"""Segments of a table -> map points, clusters and outlier evidence, in one call.

The step shared by the analysis report and the review's map signal: compute one vector
per segment (:mod:`canapy.analysis.embedding`), fit a :class:`SyllableMap` or place the
segments into a saved one, and compute the per-segment evidence
(:mod:`canapy.analysis.evidence`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from canapy.analysis.embedding import REPRESENTATIONS, corpus_representation
from canapy.analysis.evidence import map_evidence
from canapy.analysis.syllable_map import SyllableMap, load_map
from canapy.annotator import Annotator
from canapy.exceptions import AnalysisError

__all__ = ["MappedSegments", "map_segments", "resolve_representation"]


def resolve_representation(representation: str, annotator: Annotator | None) -> str:
    """``"auto"`` -> ``"reservoir"`` with a model, else ``"logmel"``; checks the name.

    >>> resolve_representation("auto", None)
    'logmel'
    """
    rep = representation
    if rep == "auto":
        rep = "reservoir" if annotator is not None else "logmel"
    if rep not in REPRESENTATIONS:
        raise AnalysisError(
            f"unknown representation {representation!r}; use auto, {', '.join(REPRESENTATIONS)}"
        )
    return rep


@dataclass
class MappedSegments:
    """What :func:`map_segments` returns (rows in the order of the segments given).

    Attributes
    ----------
    points : ndarray, shape (n, 2)
    clusters : ndarray, shape (n,)
        -1 marks HDBSCAN noise.
    evidence : DataFrame
        :func:`canapy.analysis.evidence.map_evidence` columns.
    smap : SyllableMap
    info : dict
        Representation, settings, cluster count, agreement with the labels.
    """

    points: np.ndarray
    clusters: np.ndarray
    evidence: pd.DataFrame
    smap: SyllableMap
    info: dict[str, Any]


def _agreement(labels: np.ndarray, clusters: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import homogeneity_completeness_v_measure

    h, c, v = homogeneity_completeness_v_measure(labels, clusters)
    return {"v_measure": round(v, 4), "homogeneity": round(h, 4), "completeness": round(c, 4)}


def map_segments(
    segments: pd.DataFrame,
    *,
    annotator: Annotator | None = None,
    representation: str = "auto",
    map_params: dict[str, Any] | None = None,
    reuse_map: str | Path | None = None,
    k: int = 10,
    cache_dir: Path | None = None,
    progress: Any = None,
) -> MappedSegments:
    """Map a Canapy segment table (``audio_path, onset_s, offset_s, label``; audio needed).

    Parameters
    ----------
    segments : DataFrame
        The segments to map.
    annotator : Annotator, optional
        Trained model, for the ``"reservoir"`` representation.
    representation : {"auto", "logmel", "reservoir"}
    map_params : dict, optional
        Keyword arguments of :class:`SyllableMap`.
    reuse_map : path, optional
        A saved map folder: transform into it instead of fitting a new map.
    k : int
        Neighbours of the kNN label disagreement.
    cache_dir : Path, optional
        Feature cache.
    progress : callable, optional
        ``progress(fraction, message)``.
    """
    rep = resolve_representation(representation, annotator)
    smap = None
    if reuse_map is not None:
        smap, meta = load_map(reuse_map)
        if meta.get("representation") != rep:
            raise AnalysisError(
                f"{reuse_map}: this map was fitted on {meta.get('representation')!r} vectors, "
                f"not {rep!r}; pass the same --representation (and --model)"
            )
    X = corpus_representation(
        segments, rep, annotator=annotator, cache_dir=cache_dir, progress=progress
    )
    if smap is not None:
        points = smap.transform(X)
        clusters = smap.assign_clusters(points)
    else:
        smap = SyllableMap(**(map_params or {})).fit(X)
        points, clusters = smap.embedding_, smap.clusters_
    labels = segments["label"].astype(str).to_numpy()
    info = {
        "representation": rep,
        "reused_map": str(reuse_map) if reuse_map is not None else None,
        "n_segments": len(segments),
        "n_clusters": len(set(clusters.tolist()) - {-1}),
        "noise_share": round(float(np.mean(clusters == -1)), 4),
        "agreement_with_labels": _agreement(labels, clusters),
        "params": smap.get_params(),
    }
    return MappedSegments(points, clusters, map_evidence(points, labels, k), smap, info)
