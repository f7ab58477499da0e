"""Segments of a table -> map points, clusters and outlier evidence, in one call.

The step shared by the analysis report, the review's map signal and the dashboard:
compute one vector per segment (:mod:`canapy.analysis.embedding`), fit a
:class:`SyllableMap` or place the segments into a saved one, and compute the per-segment
evidence (:mod:`canapy.analysis.evidence`).

Between correction rounds the map stays put: :func:`place_segments` keeps the points of
segments that did not change (same id, file and edges; a new label does not move a
point, the vectors do not depend on labels) and transforms only new or changed segments
into the earlier map. :func:`save_mapped` / :func:`load_mapped` keep a map and its points
in one folder, written atomically, so a later session starts from the same map.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from canapy.analysis.embedding import REPRESENTATIONS, corpus_representation
from canapy.analysis.evidence import map_evidence
from canapy.analysis.syllable_map import SyllableMap, load_map, save_map
from canapy.annotator import Annotator
from canapy.exceptions import AnalysisError
from canapy.io_utils import atomic_directory, atomic_write_text

__all__ = [
    "MAPS_SUBDIR",
    "MAP_POINT_COLUMNS",
    "MIN_KEPT_SHARE",
    "POINTS_FILE",
    "MappedSegments",
    "load_mapped",
    "map_key",
    "map_segments",
    "place_segments",
    "points_table",
    "remap_segments",
    "resolve_representation",
    "save_mapped",
    "save_points",
    "unchanged_segments",
]

MAP_POINT_COLUMNS = ["segment_id", "audio_path", "onset_s", "offset_s", "x", "y", "cluster"]
"""Columns of :func:`points_table`: where each segment (and its edges) sits on the map."""
POINTS_FILE = "points.csv"
"""The points of a saved map, beside its ``model.joblib`` (:func:`save_mapped`)."""
MAPS_SUBDIR = ".maps"
"""Saved maps of a run root (``RUN_ROOT/.maps/<map_key>``); hidden, so that the run and
model listings do not take a map for a model."""
MIN_KEPT_SHARE = 0.5
""":func:`remap_segments` fits a new map when fewer segments than this share are unchanged
(another corpus, or most of it re-segmented): the old map would not describe them."""
EDGE_TOLERANCE_S = 1e-6
"""Edges closer than this (CSV round trips) count as unchanged."""


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
    extra = {"reused_map": str(reuse_map) if reuse_map is not None else None}
    return _mapped(segments, points, clusters, smap, rep, k, extra)


def _mapped(
    segments: pd.DataFrame,
    points: np.ndarray,
    clusters: np.ndarray,
    smap: SyllableMap,
    rep: str,
    k: int,
    extra: dict[str, Any],
) -> MappedSegments:
    """Evidence and info of mapped segments (shared by fitting and placing)."""
    labels = segments["label"].astype(str).to_numpy()
    info = {
        "representation": rep,
        **extra,
        "n_segments": len(segments),
        "n_clusters": len(set(clusters.tolist()) - {-1}),
        "noise_share": round(float(np.mean(clusters == -1)), 4),
        "agreement_with_labels": _agreement(labels, clusters),
        "params": smap.get_params(),
    }
    return MappedSegments(points, clusters, map_evidence(points, labels, k), smap, info)


def map_key(representation: str, model_id: str | None = None) -> str:
    """Name of a saved map: its representation, and the model for reservoir states.

    >>> map_key("logmel"), map_key("reservoir", "run-1/syntactic")
    ('logmel', 'reservoir-run-1-syntactic')
    """
    if representation != "reservoir":
        return representation
    safe = "".join(c if c.isalnum() or c in "._-" else "-" for c in str(model_id or "model"))
    return f"reservoir-{safe}"


def points_table(segments: pd.DataFrame, mapped: MappedSegments) -> pd.DataFrame:
    """:data:`MAP_POINT_COLUMNS` of mapped segments (rows in the order of ``segments``).

    Examples
    --------
    >>> seg = pd.DataFrame({"segment_id": ["a#0"], "audio_path": ["a.wav"],
    ...                     "onset_s": [0.1], "offset_s": [0.2], "label": ["A"]})
    >>> m = MappedSegments(np.array([[1.0, 2.0]]), np.array([0]), pd.DataFrame(), None, {})
    >>> points_table(seg, m).values.tolist()
    [['a#0', 'a.wav', 0.1, 0.2, 1.0, 2.0, 0]]
    """
    return pd.DataFrame(
        {
            "segment_id": segments["segment_id"].astype(str).to_numpy(),
            "audio_path": segments["audio_path"].astype(str).to_numpy(),
            "onset_s": segments["onset_s"].to_numpy(float),
            "offset_s": segments["offset_s"].to_numpy(float),
            "x": np.asarray(mapped.points, float)[:, 0],
            "y": np.asarray(mapped.points, float)[:, 1],
            "cluster": np.asarray(mapped.clusters, int),
        }
    )


def unchanged_segments(segments: pd.DataFrame, previous: pd.DataFrame) -> np.ndarray:
    """Which rows of ``segments`` sit in ``previous`` (a :func:`points_table`) unchanged.

    Unchanged: same ``segment_id``, same file, both edges within :data:`EDGE_TOLERANCE_S`.
    The label does not count (the map's vectors do not depend on it).

    Returns
    -------
    ndarray of bool, shape (len(segments),)

    Examples
    --------
    >>> prev = pd.DataFrame({"segment_id": ["a#0", "a#1"], "audio_path": ["a.wav"] * 2,
    ...                      "onset_s": [0.1, 0.5], "offset_s": [0.2, 0.6]})
    >>> now = pd.DataFrame({"segment_id": ["a#1", "a#0", "a#2"], "audio_path": ["a.wav"] * 3,
    ...                     "onset_s": [0.5, 0.12, 0.8], "offset_s": [0.6, 0.2, 0.9]})
    >>> unchanged_segments(now, prev).tolist()
    [True, False, False]
    """
    cols = ["segment_id", "audio_path", "onset_s", "offset_s"]
    prev = previous[cols].drop_duplicates("segment_id").astype({"segment_id": str})
    now = segments[cols].astype({"segment_id": str}).reset_index(drop=True)
    both = now.merge(prev, on="segment_id", how="left", suffixes=("", "_prev"), sort=False)
    same = (
        (both["audio_path"].astype(str) == both["audio_path_prev"].astype(str))
        & ((both["onset_s"] - both["onset_s_prev"]).abs() <= EDGE_TOLERANCE_S)
        & ((both["offset_s"] - both["offset_s_prev"]).abs() <= EDGE_TOLERANCE_S)
    )
    return same.fillna(False).to_numpy(bool)


def place_segments(
    segments: pd.DataFrame,
    smap: SyllableMap,
    previous: pd.DataFrame,
    *,
    annotator: Annotator | None = None,
    representation: str = "auto",
    k: int = 10,
    cache_dir: Path | None = None,
    progress: Any = None,
) -> MappedSegments:
    """Map a later round's segments into an earlier round's map, moving nothing.

    Segments unchanged since ``previous`` keep their point and cluster; new or changed
    ones (:func:`unchanged_segments`) are computed and :meth:`SyllableMap.transform`-ed
    into ``smap``, their cluster that of their nearest fitted points. The evidence is
    recomputed on every point with the current labels.

    Parameters
    ----------
    segments : DataFrame
        The segments to map (audio needed for the new or changed ones).
    smap : SyllableMap
        The fitted map of the earlier round.
    previous : DataFrame
        :func:`points_table` of the earlier round.
    annotator, representation, k, cache_dir, progress
        As :func:`map_segments`; the representation must be the one ``smap`` was fitted on.

    Returns
    -------
    MappedSegments
        ``info`` adds ``n_kept`` and ``n_placed``.
    """
    rep = resolve_representation(representation, annotator)
    keep = unchanged_segments(segments, previous)
    points = np.zeros((len(segments), 2), np.float32)
    clusters = np.full(len(segments), -1, int)
    prev = (
        previous.assign(segment_id=previous["segment_id"].astype(str))
        .drop_duplicates("segment_id")
        .set_index("segment_id")
    )
    kept_ids = segments["segment_id"].astype(str).to_numpy()[keep]
    points[keep] = prev.loc[kept_ids, ["x", "y"]].to_numpy(np.float32)
    clusters[keep] = prev.loc[kept_ids, "cluster"].to_numpy(int)
    if (~keep).any():
        X = corpus_representation(
            segments[~keep], rep, annotator=annotator, cache_dir=cache_dir, progress=progress
        )
        placed = smap.transform(X)
        points[~keep] = placed
        clusters[~keep] = smap.assign_clusters(placed)
    extra = {"reused_map": "previous round", "n_kept": int(keep.sum())}
    extra["n_placed"] = int((~keep).sum())
    return _mapped(segments, points, clusters, smap, rep, k, extra)


def remap_segments(
    segments: pd.DataFrame,
    prior: tuple[SyllableMap, pd.DataFrame] | None,
    *,
    annotator: Annotator | None = None,
    representation: str = "auto",
    map_params: dict[str, Any] | None = None,
    k: int = 10,
    cache_dir: Path | None = None,
    progress: Any = None,
) -> MappedSegments:
    """A correction round's map: placed into ``prior`` when it still fits, else fitted anew.

    ``prior`` is the earlier round's map and :func:`points_table`; it is used when at
    least :data:`MIN_KEPT_SHARE` of ``segments`` are unchanged since
    (:func:`place_segments`), else (or without ``prior``) a new map is fitted
    (:func:`map_segments`). ``info["n_kept"]`` is present only when the map was reused.
    """
    if prior is not None and unchanged_segments(segments, prior[1]).mean() >= MIN_KEPT_SHARE:
        return place_segments(
            segments,
            prior[0],
            prior[1],
            annotator=annotator,
            representation=representation,
            k=k,
            cache_dir=cache_dir,
            progress=progress,
        )
    return map_segments(
        segments,
        annotator=annotator,
        representation=representation,
        map_params=map_params,
        k=k,
        cache_dir=cache_dir,
        progress=progress,
    )


def save_mapped(
    folder: str | Path, smap: SyllableMap, points: pd.DataFrame, metadata: dict[str, Any]
) -> Path:
    """Save a fitted map and its points (:func:`points_table`) into ``folder``, atomically.

    The folder is built beside ``folder`` and renamed onto it
    (:func:`canapy.io_utils.atomic_directory`): a crash leaves the previous map whole.
    """
    folder = Path(folder)
    with atomic_directory(folder, "syllable map") as tmp:
        save_map(smap, tmp, metadata)
        atomic_write_text(tmp / POINTS_FILE, points[MAP_POINT_COLUMNS].to_csv(index=False))
    return folder


def save_points(folder: str | Path, points: pd.DataFrame) -> None:
    """Replace the points of a saved map (a later round placed into it), atomically."""
    atomic_write_text(Path(folder) / POINTS_FILE, points[MAP_POINT_COLUMNS].to_csv(index=False))


def load_mapped(folder: str | Path) -> tuple[SyllableMap, pd.DataFrame, dict[str, Any]]:
    """The map, its points and its metadata saved by :func:`save_mapped`.

    Raises
    ------
    AnalysisError
        The folder has no points file (a map saved by ``canapy analyze`` has none).
    """
    folder = Path(folder)
    path = folder / POINTS_FILE
    if not path.is_file():
        raise AnalysisError(f"{path}: no points file; refit the map (it will be saved again)")
    smap, meta = load_map(folder)
    points = pd.read_csv(path, dtype={"segment_id": str, "audio_path": str})
    missing = [c for c in MAP_POINT_COLUMNS if c not in points]
    if missing:
        raise AnalysisError(f"{path}: missing column(s) {', '.join(missing)}; refit the map")
    return smap, points, meta
