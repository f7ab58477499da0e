"""The syllable map: segments -> 2-D points (UMAP) and clusters (HDBSCAN).

:class:`SyllableMap` is fitted once (standardise, PCA, UMAP, HDBSCAN, all seeded); later
correction rounds :meth:`SyllableMap.transform` their segments into the same map, so
points do not move between rounds. New points take the cluster of their nearest fitted
neighbours (HDBSCAN itself cannot label new points). A fitted map is saved as a signed
model folder (:func:`canapy.persistence.save_model`).
"""

from __future__ import annotations

import logging
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from canapy.exceptions import AnalysisError, ModelError
from canapy.persistence import load_model, save_model

__all__ = ["MAX_DEFAULT_MIN_SAMPLES", "SyllableMap", "load_map", "save_map"]

logger = logging.getLogger(__name__)

_KIND = "syllable-map"

MAX_DEFAULT_MIN_SAMPLES = 50
"""Largest default HDBSCAN ``min_samples`` (1,988 Bird0 syllables use 39: unchanged)."""


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _since(start: tuple[float, float]) -> dict[str, float]:
    wall, cpu = _clock()
    return {"wall_s": round(wall - start[0], 3), "cpu_s": round(cpu - start[1], 3)}


class SyllableMap:
    """Standardise -> PCA -> UMAP (2-D) -> HDBSCAN, scikit-learn style.

    Parameters
    ----------
    n_neighbors : int
        UMAP neighbourhood size (larger: more global structure).
    min_dist : float
        UMAP minimum distance between points (0 packs clusters tightly, good for HDBSCAN).
    pca_components : int
        Dimensions kept before UMAP (speed and noise); capped by the data.
    min_cluster_size : int, optional
        HDBSCAN smallest cluster; default ``max(10, n / 50)`` (2 % of the segments).
    min_samples : int, optional
        HDBSCAN density parameter; default ``min(min_cluster_size, MAX_DEFAULT_MIN_SAMPLES)``.
        It sets the neighbours HDBSCAN queries per point (time and memory grow with it,
        1.7 GB at 50,000 points and 1,000 neighbours), while the cluster size may grow
        with the data.
    seed : int
        Seed of PCA and UMAP; the same data and seed give the same map.

    Attributes
    ----------
    embedding_ : ndarray, shape (n, 2)
        Map coordinates of the fitted points.
    clusters_ : ndarray, shape (n,)
        HDBSCAN cluster of each fitted point (-1: noise).
    min_cluster_size_, min_samples_ : int
        The HDBSCAN settings used.
    fit_seconds_ : dict
        Wall and CPU seconds of the fit's stages (``"umap"``: standardise, PCA and UMAP;
        ``"hdbscan"``), for logs and benchmarks.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.normal(c, 0.1, size=(40, 5)) for c in (0, 3, 6)])
    >>> m = SyllableMap(n_neighbors=10, min_cluster_size=10).fit(X)
    >>> m.embedding_.shape, len(set(m.clusters_) - {-1})
    ((120, 2), 3)
    """

    def __init__(
        self,
        n_neighbors: int = 15,
        min_dist: float = 0.0,
        pca_components: int = 50,
        min_cluster_size: int | None = None,
        min_samples: int | None = None,
        seed: int = 0,
    ) -> None:
        self.n_neighbors = n_neighbors
        self.min_dist = min_dist
        self.pca_components = pca_components
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.seed = seed

    def get_params(self) -> dict[str, Any]:
        """Constructor parameters."""
        keys = ("n_neighbors", "min_dist", "pca_components", "min_cluster_size")
        return {k: getattr(self, k) for k in (*keys, "min_samples", "seed")}

    def _reduce(self, X: np.ndarray) -> np.ndarray:
        Z = (np.asarray(X, np.float32) - self.mean_) / self.scale_
        return self.pca_.transform(Z) if self.pca_ is not None else Z

    def fit(self, X: np.ndarray) -> SyllableMap:
        """Fit the map on ``X`` (n, d); returns ``self``.

        Raises
        ------
        AnalysisError
            Fewer than 10 segments (too few to draw a map).
        """
        import umap
        from sklearn.cluster import HDBSCAN
        from sklearn.decomposition import PCA

        X = np.asarray(X, np.float32)
        if X.ndim != 2 or len(X) < 10:
            raise AnalysisError(f"the syllable map needs at least 10 segments, got {len(X)}")
        start = _clock()
        self.mean_ = X.mean(axis=0)
        scale = X.std(axis=0)
        self.scale_ = np.where(scale > 1e-8, scale, 1.0).astype(np.float32)
        n_comp = min(self.pca_components, X.shape[1], len(X) - 1)
        Z = (X - self.mean_) / self.scale_
        self.pca_ = None
        if n_comp < X.shape[1]:
            self.pca_ = PCA(n_comp, random_state=self.seed).fit(Z)
            Z = self.pca_.transform(Z)
        self.umap_ = umap.UMAP(
            n_neighbors=min(self.n_neighbors, len(X) - 1),
            min_dist=self.min_dist,
            n_components=2,
            random_state=self.seed,
            n_jobs=1,  # a seeded UMAP is single-threaded anyway; say so rather than warn
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.embedding_ = self.umap_.fit_transform(Z).astype(np.float32)
        self.fit_seconds_ = {"umap": _since(start)}
        start = _clock()
        size = self.min_cluster_size or max(10, len(X) // 50)
        self.min_cluster_size_ = int(min(size, max(2, len(X) // 2)))
        self.min_samples_ = int(
            self.min_samples or min(self.min_cluster_size_, MAX_DEFAULT_MIN_SAMPLES)
        )
        hdb = HDBSCAN(
            min_cluster_size=self.min_cluster_size_, min_samples=self.min_samples_, copy=True
        )
        self.clusters_ = hdb.fit_predict(self.embedding_.astype(np.float64)).astype(int)
        self.fit_seconds_["hdbscan"] = _since(start)
        self.n_features_in_ = X.shape[1]
        logger.info(
            "syllable map: %d points, %d clusters, %.1f %% noise (UMAP %.1f s, HDBSCAN %.1f s CPU)",
            len(X),
            len(set(self.clusters_) - {-1}),
            100 * float(np.mean(self.clusters_ == -1)),
            self.fit_seconds_["umap"]["cpu_s"],
            self.fit_seconds_["hdbscan"]["cpu_s"],
        )
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Coordinates of new segments in the fitted map, shape ``(n, 2)``."""
        X = np.asarray(X, np.float32)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise AnalysisError(
                f"these vectors have {X.shape[-1]} dimensions, the map was fitted on "
                f"{self.n_features_in_}: use the same representation and settings"
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self.umap_.transform(self._reduce(X)).astype(np.float32)

    def assign_clusters(self, points: np.ndarray, k: int = 5) -> np.ndarray:
        """Cluster of new map points: the majority cluster of their ``k`` nearest fitted points."""
        from sklearn.neighbors import KNeighborsClassifier

        knn = KNeighborsClassifier(n_neighbors=min(k, len(self.embedding_)))
        knn.fit(self.embedding_, self.clusters_)
        return knn.predict(np.asarray(points, np.float32)).astype(int)


def save_map(smap: SyllableMap, folder: str | Path, metadata: dict[str, Any]) -> Path:
    """Save a fitted map as a signed model folder (``model.joblib`` + ``metadata.json``)."""
    return save_model(smap, folder, {**metadata, "kind": _KIND, "params": smap.get_params()})


def load_map(folder: str | Path) -> tuple[SyllableMap, dict[str, Any]]:
    """Load a map saved by :func:`save_map` (its sha256 is checked before unpickling)."""
    obj, meta = load_model(folder)
    if not isinstance(obj, SyllableMap) or meta.get("kind") != _KIND:
        raise ModelError(f"{folder}: not a syllable map folder")
    return obj, meta
