"""Echo State Network annotators, scikit-learn style, over lists of sequences.

- :class:`EsnClassifier` — a (bidirectional) reservoir and a ridge readout mapping
  ``[1, features, states]`` to one-hot frame classes. Training accumulates the ridge normal
  equations ``XᵀX`` and ``XᵀY`` file by file (:meth:`EsnClassifier.partial_fit`), so memory
  does not grow with the corpus and partial sums from several processes or machines can be
  added (:meth:`EsnClassifier.merge`) before :meth:`EsnClassifier.finalize` solves.
- The *syntactic* model is trained on whole songs; the *non-syntactic* one on class-balanced,
  shuffled, noise-augmented single segments (:func:`nonsyntactic_sequences`), so that it
  cannot rely on the song's syntax. :class:`EnsembleClassifier` averages both.

We solve the ridge system ourselves rather than with ``reservoirpy.nodes.Ridge`` because we
need the accumulated normal equations as a first-class, mergeable object.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Sequence
from functools import partial
from typing import Any

import numpy as np

from canapy.config import ReadoutConfig, ReservoirConfig
from canapy.reservoir import BidirectionalReservoir
from canapy.threads import run_concurrently

__all__ = [
    "EnsembleClassifier",
    "EsnClassifier",
    "nonsyntactic_sequences",
    "predict_proba_many",
    "scaling_from_sums",
    "scores_to_proba",
]


def _gram(rows: np.ndarray) -> np.ndarray:
    """``rowsᵀ rows`` (a symmetric product: BLAS ``syrk``)."""
    return rows.T @ rows


def scores_to_proba(scores: np.ndarray) -> np.ndarray:
    """Ridge scores -> probabilities by clipping at a small floor and normalising rows.

    >>> scores_to_proba(np.array([[2.0, -1.0], [0.5, 0.5]])).round(4).tolist()
    [[0.9995, 0.0005], [0.5, 0.5]]
    """
    p = np.clip(scores, 1e-3, None)
    return p / p.sum(axis=1, keepdims=True)


class EsnClassifier:
    """Frame classifier: fixed random reservoir + trained ridge readout.

    Parameters
    ----------
    reservoir : ReservoirConfig
        Reservoir hyper-parameters.
    readout : ReadoutConfig
        Readout hyper-parameters.

    Attributes
    ----------
    classes_ : list of str
        Class names; column ``k`` of :meth:`predict_proba` is ``classes_[k]``.
    mean_, scale_ : ndarray, shape (d,)
        Feature standardisation learnt from the training data.
    Wout_ : ndarray, shape (1 + d + units, n_classes)
        Readout weights (first row: bias).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = [rng.normal(size=(50, 4)) for _ in range(3)]
    >>> y = [(x[:, 0] > 0).astype(int) for x in X]
    >>> clf = EsnClassifier(ReservoirConfig(units=30), ReadoutConfig()).fit(X, y, ["n", "p"])
    >>> clf.predict_proba(X)[0].shape
    (50, 2)
    """

    def __init__(self, reservoir: ReservoirConfig, readout: ReadoutConfig) -> None:
        self.reservoir = reservoir
        self.readout = readout

    # -- training -------------------------------------------------------------------
    def begin(self, classes: Sequence[str], mean: np.ndarray, scale: np.ndarray) -> EsnClassifier:
        """Start a training pass: set classes and feature standardisation, zero sums."""
        self.classes_ = list(classes)
        self.mean_ = np.asarray(mean, np.float32)
        self.scale_ = np.asarray(scale, np.float32)
        self.reservoir_ = BidirectionalReservoir(self.reservoir, len(self.mean_))
        dim = self._design_dim()
        self.xtx_ = np.zeros((dim, dim), np.float64)
        self.xty_ = np.zeros((dim, len(self.classes_)), np.float64)
        self.n_frames_seen_ = 0
        return self

    def _input_columns(self) -> int:
        """Columns of standardised features in the design (after the bias column)."""
        return len(self.mean_) if self.readout.include_input else 0

    def _design_dim(self) -> int:
        return 1 + self._input_columns() + self.reservoir_.output_dim

    def _standardise(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x, np.float32) - self.mean_) / self.scale_

    def iter_designs(
        self, X: Sequence[np.ndarray], standardised: bool = False, target_columns: int = 0
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(index, design matrix (T_i, 1 + d + units))`` per sequence of ``X``.

        The design (bias, standardised features, reservoir states) does not depend on the
        readout: classifiers that :meth:`shares_design` can reuse one computation. The
        reservoir writes its states straight into the design matrix.

        Parameters
        ----------
        X : list of ndarray, shapes (T_i, d)
            Feature sequences.
        standardised : bool
            ``X`` is already standardised.
        target_columns : int
            Extra columns at the end, left for :meth:`add_design` to put the targets in
            (pass ``len(classes_)``): it then needs no copy of the design.
        """
        d = self._input_columns()
        xs = [x if standardised else self._standardise(x) for x in X]
        for i, design in self.reservoir_.iter_transform(xs, before=1 + d, after=target_columns):
            design[:, 0] = 1.0
            if d:
                design[:, 1 : 1 + d] = xs[i]
            yield i, design

    def shares_design(self, other: EsnClassifier) -> bool:
        """Whether ``other`` computes the same design matrices (same reservoir and scaling)."""
        return (
            self.reservoir == other.reservoir
            and self.readout.include_input == other.readout.include_input
            and np.array_equal(self.mean_, other.mean_)
            and np.array_equal(self.scale_, other.scale_)
        )

    def add_design(self, design: np.ndarray, y: np.ndarray) -> None:
        """Add one sequence's design matrix and class indices ``(T,)`` to the sums.

        ``XᵀX`` and ``XᵀY`` come from one Gram matrix of the design with the one-hot
        targets as extra columns: a product with a dozen columns for ``XᵀY`` alone runs
        far below the speed of the symmetric product. A design from :meth:`iter_designs`
        with ``target_columns=len(classes_)`` has room for them (overwritten here);
        otherwise the design is copied.
        """
        dim, n_classes, frames = self._design_dim(), len(self.classes_), len(design)
        if design.shape[1] == dim + n_classes:
            full = design
        else:
            full = np.empty((frames, dim + n_classes), np.float32)
            full[:, :dim] = design
        full[:, dim:] = 0.0
        full[np.arange(frames), dim + np.asarray(y, np.intp)] = 1.0
        half = frames // 2  # the two halves' products run on two cores
        for gram in run_concurrently(partial(_gram, full[:half]), partial(_gram, full[half:])):
            self.xtx_ += gram[:dim, :dim]
            self.xty_ += gram[:dim, dim:]
        self.n_frames_seen_ += frames

    def partial_fit(
        self, X: Sequence[np.ndarray], y: Sequence[np.ndarray], standardised: bool = False
    ) -> EsnClassifier:
        """Add sequences to the normal equations.

        Parameters
        ----------
        X : list of ndarray, shapes (T_i, d)
            Feature sequences.
        y : list of int ndarray, shapes (T_i,)
            Class index per frame.
        standardised : bool
            ``X`` is already standardised (skip the scaling).
        """
        for i, design in self.iter_designs(X, standardised, len(self.classes_)):
            self.add_design(design, y[i])
        return self

    def merge(self, other: EsnClassifier) -> EsnClassifier:
        """Add another worker's normal equations (same config, classes and scaling)."""
        self.xtx_ += other.xtx_
        self.xty_ += other.xty_
        self.n_frames_seen_ += other.n_frames_seen_
        return self

    def _solve(self) -> np.ndarray:
        dim = self.xtx_.shape[0]
        lam = self.readout.ridge * np.trace(self.xtx_) / dim
        reg = lam * np.eye(dim)
        reg[0, 0] = 0.0  # never penalise the bias
        import scipy.linalg  # training only: annotation does not pay for its import

        return scipy.linalg.solve(self.xtx_ + reg, self.xty_, assume_a="pos").astype(np.float32)

    def finalize(self) -> EsnClassifier:
        """Solve the ridge system and free the normal equations."""
        self.Wout_ = self._solve()
        del self.xtx_, self.xty_
        return self

    def solved_copy(self) -> EsnClassifier:
        """A fitted classifier solved from the sums so far; ``self`` keeps accumulating.

        Used to measure a model on held-out files and then add those files to the same
        sums, instead of running the reservoir over the training files twice.
        """
        fitted = copy.copy(self)
        del fitted.xtx_, fitted.xty_
        fitted.Wout_ = self._solve()
        return fitted

    def fit(
        self, X: Sequence[np.ndarray], y: Sequence[np.ndarray], classes: Sequence[str]
    ) -> EsnClassifier:
        """Standardise on ``X``, accumulate every sequence and solve; returns ``self``."""
        mean, scale = feature_scaling(X)
        return self.begin(classes, mean, scale).partial_fit(X, y).finalize()

    # -- inference ------------------------------------------------------------------
    def proba_from_design(self, design: np.ndarray) -> np.ndarray:
        """Class probabilities ``(T, n_classes)`` from a design matrix of :meth:`iter_designs`.

        Columns past the design's (room left for :meth:`add_design`'s targets) are ignored.
        """
        d = self._input_columns()
        states = design[:, 1 + d : 1 + d + self.reservoir_.output_dim]
        return self._proba_from_state_scores(states @ self.Wout_[1 + d :], design[:, 1 : 1 + d])

    def _proba_from_state_scores(self, scores: np.ndarray, x_std: np.ndarray) -> np.ndarray:
        """Probabilities from the states' part of the readout, ``states @ Wout_[1 + d:]``.

        Adds the features' part and then the bias to ``scores`` (in place): the one order of
        the readout's sums, whether the states' part comes from a design matrix or from
        states projected as they are computed (:func:`_iter_shared_proba`).
        """
        w, d = self.Wout_, self._input_columns()
        if d:
            scores += x_std @ w[1 : 1 + d]
        scores += w[0]
        return scores_to_proba(scores)

    def predict_proba(self, X: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Class probabilities per frame of each sequence, shapes ``(T_i, n_classes)``."""
        return predict_proba_many([self], X)[0]

    def predict(self, X: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Most probable class index per frame."""
        return [np.argmax(p, axis=1) for p in self.predict_proba(X)]


class EnsembleClassifier:
    """Average of the probabilities of several fitted classifiers sharing their classes."""

    def __init__(self, members: Sequence[EsnClassifier]) -> None:
        self.members = list(members)
        self.classes_ = self.members[0].classes_

    def predict_proba(self, X: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Mean of the members' probabilities, shapes ``(T_i, n_classes)``.

        Members sharing their reservoir and scaling (the default: the syntactic and the
        non-syntactic models use the same seeded reservoir) run it once per sequence.
        """
        return predict_proba_many([self], X)[0]

    def predict(self, X: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Most probable class index per frame."""
        return [np.argmax(p, axis=1) for p in self.predict_proba(X)]


def _leaves(estimator: EsnClassifier | EnsembleClassifier) -> list[EsnClassifier]:
    return list(estimator.members) if isinstance(estimator, EnsembleClassifier) else [estimator]


def _iter_shared_proba(
    first: EsnClassifier, leaves: Sequence[EsnClassifier], X: Sequence[np.ndarray]
) -> Iterator[tuple[int, list[np.ndarray]]]:
    """Yield ``(index, [probabilities of each leaf])`` per sequence, one reservoir run.

    The leaves share ``first``'s reservoir and scaling. Their state weights are joined
    into one matrix, applied to each block of reservoir states as it is computed
    (:meth:`~canapy.reservoir.BidirectionalReservoir.iter_project`): the states themselves
    are never kept.
    """
    d = first._input_columns()
    joined = np.concatenate([leaf.Wout_[1 + d :] for leaf in leaves], axis=1)
    ends = np.cumsum([leaf.Wout_.shape[1] for leaf in leaves])
    starts = ends - [leaf.Wout_.shape[1] for leaf in leaves]
    xs = [first._standardise(x) for x in X]
    for i, projected in first.reservoir_.iter_project(xs, joined):
        yield (
            i,
            [
                leaf._proba_from_state_scores(projected[:, a:b].copy(), xs[i])
                for leaf, a, b in zip(leaves, starts, ends, strict=True)
            ],
        )


def predict_proba_many(
    estimators: Sequence[EsnClassifier | EnsembleClassifier], X: Sequence[np.ndarray]
) -> list[list[np.ndarray]]:
    """Probabilities of several estimators on the same sequences, sharing reservoir runs.

    The reservoir states of a sequence do not depend on the readout: when every classifier
    involved :meth:`~EsnClassifier.shares_design` with the first, the states are computed
    once and each readout applied to them. Returns ``out[e][i]``, shape ``(T_i,
    n_classes)``, for estimator ``e`` and sequence ``i``.
    """
    leaves: dict[int, Any] = {}
    for est in estimators:
        for leaf in _leaves(est):
            leaves.setdefault(id(leaf), leaf)
    proba: dict[int, list[np.ndarray]] = {k: [np.empty(0)] * len(X) for k in leaves}
    esns = {k: leaf for k, leaf in leaves.items() if isinstance(leaf, EsnClassifier)}
    for k, leaf in leaves.items():  # any other FrameClassifier (e.g. the logreg model)
        if k not in esns:
            proba[k] = list(leaf.predict_proba(X))
    first = next(iter(esns.values()), None)
    if first is not None and all(first.shares_design(leaf) for leaf in esns.values()):
        keys = list(esns)
        for i, probas in _iter_shared_proba(first, list(esns.values()), X):
            for k, p in zip(keys, probas, strict=True):
                proba[k][i] = p
    else:
        for k, leaf in esns.items():
            for i, (p,) in _iter_shared_proba(leaf, [leaf], X):
                proba[k][i] = p
    out = []
    for est in estimators:
        members = [proba[id(leaf)] for leaf in _leaves(est)]
        out.append([sum(m[i] for m in members) / len(members) for i in range(len(X))])
    return out


def feature_scaling(X: Iterable[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension mean and standard deviation over all frames of all sequences.

    One pass over ``X`` (any iterable, e.g. a generator reading files one at a time), so
    only one sequence is in memory at once.

    >>> mean, scale = feature_scaling(iter([np.array([[0.0], [2.0]]), np.array([[4.0]])]))
    >>> mean.tolist(), scale.tolist()
    ([2.0], [2.0])
    """
    n, total, sq = 0, 0.0, 0.0
    for x in X:
        x = np.asarray(x, np.float64)
        n += len(x)
        total = total + x.sum(axis=0)
        sq = sq + (x**2).sum(axis=0)
    return scaling_from_sums(n, total, sq)


def scaling_from_sums(n: int, total: np.ndarray, sq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`feature_scaling` from the frame count, sum and sum of squares per dimension.

    Lets workers each sum their own files (the sums are added in file order, so the
    result is the same as one pass over every file).
    """
    if n == 0:
        raise ValueError("feature_scaling needs at least one frame")
    mean = np.atleast_1d(total / n)
    var = np.maximum(sq / n - mean**2, 0.0) * n / max(1, n - 1)
    scale = np.sqrt(var)
    scale[scale < 1e-8] = 1.0
    return mean.astype(np.float32), scale.astype(np.float32)


def nonsyntactic_sequences(
    X: Sequence[np.ndarray],
    y: Sequence[np.ndarray],
    n_classes: int,
    per_class: int | Sequence[int],
    context_frames: int,
    noise_std: float,
    rng: np.random.Generator,
    segments_per_sequence: int = 40,
    max_frames: int = 150,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Class-balanced, shuffled, noise-augmented excerpts, chained into pseudo-songs.

    Every run of one class in ``y`` (a syllable, or a silence) is a candidate excerpt,
    taken with ``context_frames`` of its surroundings (those frames keep their own
    targets). ``per_class`` excerpts (one count for every class, or one per class) are
    drawn per class with replacement, shuffled, given
    Gaussian noise and concatenated ``segments_per_sequence`` at a time, so the reservoir
    sees syllables in random order: the readout cannot learn the song's syntax. Runs longer
    than ``max_frames`` (long silences) are cut to a random window of that length.

    Parameters
    ----------
    X : list of ndarray, shapes (T_i, d)
        Standardised features.
    y : list of int ndarray, shapes (T_i,)
        Class index per frame.

    Returns
    -------
    (list of ndarray, list of ndarray)
        Pseudo-song features and targets.
    """
    by_class: list[list[tuple[int, int, int]]] = [[] for _ in range(n_classes)]
    for i, lab in enumerate(y):
        lab = np.asarray(lab)
        change = np.flatnonzero(np.diff(lab)) + 1
        starts = np.concatenate([[0], change])
        stops = np.concatenate([change, [len(lab)]])
        for a, b in zip(starts, stops, strict=True):
            by_class[int(lab[a])].append((i, int(a), int(b)))
    counts = [per_class] * n_classes if isinstance(per_class, int) else list(per_class)
    picks: list[tuple[int, int, int]] = []
    for runs, count in zip(by_class, counts, strict=True):
        if runs and count > 0:
            idx = rng.integers(0, len(runs), size=count)
            picks.extend(runs[k] for k in idx)
    picks.sort()  # read each (possibly lazily loaded) file once
    excerpts_x: list[np.ndarray] = []
    excerpts_y: list[np.ndarray] = []
    current, feats = -1, np.empty(0)
    for i, a, b in picks:
        if i != current:
            current, feats = i, np.asarray(X[i], np.float32)
        if b - a > max_frames:  # long silences: a random window is enough
            a = int(rng.integers(a, b - max_frames + 1))
            b = a + max_frames
        lo, hi = max(0, a - context_frames), min(len(y[i]), b + context_frames)
        excerpt = feats[lo:hi]
        excerpts_x.append(excerpt + rng.normal(0.0, noise_std, excerpt.shape).astype(np.float32))
        excerpts_y.append(np.asarray(y[i][lo:hi]))
    order = rng.permutation(len(picks))
    seq_x: list[np.ndarray] = []
    seq_y: list[np.ndarray] = []
    for start in range(0, len(order), segments_per_sequence):
        chunk = order[start : start + segments_per_sequence]
        seq_x.append(np.concatenate([excerpts_x[k] for k in chunk]))
        seq_y.append(np.concatenate([excerpts_y[k] for k in chunk]))
    return seq_x, seq_y
