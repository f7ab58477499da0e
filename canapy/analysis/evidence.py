"""Per-segment outlier evidence from the syllable map.

- ``knn_disagreement`` in [0, 1]: the share of a segment's ``k`` nearest neighbours in the
  map (itself excluded) whose label differs from its own; ``knn_label`` is their most
  common label. A mislabelled syllable sits among syllables of its true type, so its
  disagreement is high and ``knn_label`` is a suggestion.
- ``class_outlier`` in [0, 1): how far a segment lies from the others of its own label,
  ``1 - 1/LOF`` with LOF the local outlier factor (Breunig et al. 2000, scikit-learn's
  :class:`~sklearn.neighbors.LocalOutlierFactor`) computed among the points of that label
  only; 0 for LOF <= 1 (as dense as its neighbours) and for labels with fewer than 3 points.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from canapy.exceptions import AnalysisError

__all__ = ["EVIDENCE_COLUMNS", "class_outlier_scores", "knn_disagreement", "map_evidence"]

EVIDENCE_COLUMNS = ["knn_disagreement", "knn_label", "class_outlier"]


def knn_disagreement(
    points: np.ndarray, labels: Sequence[str], k: int = 10
) -> tuple[np.ndarray, np.ndarray]:
    """Share of the ``k`` nearest neighbours with another label, and their majority label.

    Parameters
    ----------
    points : ndarray, shape (n, d)
        Map coordinates (or any vectors).
    labels : sequence of str, length n
    k : int
        Neighbours considered (capped at ``n - 1``).

    Returns
    -------
    disagreement : ndarray, shape (n,)
    majority : ndarray of object, shape (n,)

    Examples
    --------
    >>> pts = np.array([[0.0], [0.1], [0.2], [0.15], [5.0], [5.1], [5.2]])
    >>> d, m = knn_disagreement(pts, list("aaabbbb"), k=2)
    >>> d.round(2).tolist(), m[3]
    ([0.5, 0.5, 0.5, 1.0, 0.0, 0.0, 0.0], 'a')
    """
    from sklearn.neighbors import NearestNeighbors

    points = np.asarray(points, np.float64)
    labels = np.asarray([str(x) for x in labels], dtype=object)
    n = len(points)
    if n < 2:
        return np.zeros(n), labels.copy()
    k = max(1, min(k, n - 1))
    _, idx = NearestNeighbors(n_neighbors=k + 1).fit(points).kneighbors(points)
    # drop each point itself (the first neighbour, or wherever duplicates put it; when
    # duplicates push it out of the k + 1, the last neighbour goes), vectorised for 10^5 rows
    is_self = idx == np.arange(n)[:, None]
    drop = np.where(is_self.any(axis=1), is_self.argmax(axis=1), k)
    keep = np.ones(idx.shape, bool)
    keep[np.arange(n), drop] = False
    neigh = idx[keep].reshape(n, k)
    neigh_labels = labels[neigh]
    disagreement = (neigh_labels != labels[:, None]).mean(axis=1)
    codes, uniques = pd.factorize(pd.Series(neigh_labels.ravel()), sort=True)
    counts = np.zeros((n, len(uniques)), int)
    np.add.at(counts, (np.repeat(np.arange(n), k), codes), 1)
    majority = np.asarray(uniques, dtype=object)[np.argmax(counts, axis=1)]
    return disagreement, majority


def class_outlier_scores(
    points: np.ndarray, labels: Sequence[str], n_neighbors: int = 20
) -> np.ndarray:
    """``1 - 1/LOF`` of each point among the points of its own label (0 when not an outlier).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> pts = np.concatenate([rng.normal(0, 0.1, (30, 2)), [[3.0, 3.0]]])
    >>> s = class_outlier_scores(pts, ["a"] * 31)
    >>> bool(s[-1] > 0.5), bool(np.median(s[:-1]) < 0.2)
    (True, True)
    """
    from sklearn.neighbors import LocalOutlierFactor

    points = np.asarray(points, np.float64)
    labels = np.asarray([str(x) for x in labels], dtype=object)
    out = np.zeros(len(points))
    for lab in np.unique(labels):
        rows = np.flatnonzero(labels == lab)
        if len(rows) < 3:
            continue
        lof = LocalOutlierFactor(n_neighbors=min(n_neighbors, len(rows) - 1))
        lof.fit(points[rows])
        factor = -lof.negative_outlier_factor_
        out[rows] = np.clip(1.0 - 1.0 / np.maximum(factor, 1e-12), 0.0, 1.0)
    return out


def map_evidence(points: np.ndarray, labels: Sequence[str], k: int = 10) -> pd.DataFrame:
    """Columns :data:`EVIDENCE_COLUMNS` for each point of the map.

    Raises
    ------
    AnalysisError
        ``points`` and ``labels`` differ in length.
    """
    if len(points) != len(labels):
        raise AnalysisError(f"{len(points)} map points but {len(labels)} labels")
    disagreement, majority = knn_disagreement(points, labels, k)
    return pd.DataFrame(
        {
            "knn_disagreement": disagreement,
            "knn_label": majority,
            "class_outlier": class_outlier_scores(points, labels),
        }
    )
