"""A second frame classifier: logistic regression over stacked context frames.

It proves that everything downstream of a model (post-processing, workflow, persistence,
registry, service) takes any classifier that follows :class:`canapy.interface.FrameClassifier`
— frames in, class probabilities out — and gives a simple, non-recurrent baseline next
to the Echo State Networks. Each frame is described by the standardised features of
``2 * context_frames + 1`` frames around it, ``stride_frames`` apart (edges repeat the
first/last frame); scikit-learn's multinomial :class:`~sklearn.linear_model.LogisticRegression`
is trained on a class-balanced random sample of frames, so memory does not grow with the
corpus.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from canapy.config import LogregConfig

__all__ = ["ContextClassifier", "stack_context"]

_PREDICT_CHUNK = 20_000


def stack_context(x: np.ndarray, frames: np.ndarray, context: int, stride: int) -> np.ndarray:
    """Features of ``frames`` with their context: shape ``(len(frames), (2 * context + 1) * d)``.

    Parameters
    ----------
    x : ndarray, shape (T, d)
        One file's (standardised) features.
    frames : int ndarray, shape (n,)
        Frame indices to describe.
    context, stride : int
        Frames taken on each side, and their spacing.

    Examples
    --------
    >>> x = np.arange(5.0).reshape(5, 1)
    >>> stack_context(x, np.array([0, 2]), context=1, stride=2).tolist()
    [[0.0, 0.0, 2.0], [0.0, 2.0, 4.0]]
    """
    offsets = stride * np.arange(-context, context + 1)
    idx = np.clip(np.asarray(frames)[:, None] + offsets[None, :], 0, len(x) - 1)
    return x[idx].reshape(len(idx), -1)


class ContextClassifier:
    """Logistic regression over a window of frames; a :class:`FrameClassifier`.

    Parameters
    ----------
    cfg : LogregConfig
        Window and regularisation.
    seed : int
        Seed of the frame sampling and of the solver.

    Attributes
    ----------
    classes_ : list of str
        Class names; column ``k`` of :meth:`predict_proba` is ``classes_[k]``.
    mean_, scale_ : ndarray, shape (d,)
        Feature standardisation.
    model_ : sklearn.linear_model.LogisticRegression
        Fitted on integer class indices ``0..n_classes-1``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = [rng.normal(size=(300, 2)) for _ in range(2)]
    >>> y = [(x[:, 0] > 0).astype(int) for x in X]
    >>> clf = ContextClassifier(LogregConfig(context_frames=0, frames_per_class=100))
    >>> clf = clf.fit(X, y, ["n", "p"])
    >>> [p.shape for p in clf.predict_proba(X)], bool((clf.predict(X)[0] == y[0]).mean() > 0.9)
    ([(300, 2), (300, 2)], True)
    """

    def __init__(self, cfg: LogregConfig, seed: int = 0) -> None:
        self.cfg = cfg
        self.seed = seed

    def fit(
        self,
        X: Iterable[np.ndarray],
        y: Sequence[np.ndarray],
        classes: Sequence[str],
        mean: np.ndarray | None = None,
        scale: np.ndarray | None = None,
    ) -> ContextClassifier:
        """Fit on sequences ``X`` (read once, in order) with class indices ``y``.

        Parameters
        ----------
        X : iterable of ndarray, shapes (T_i, d)
            Feature sequences (a lazy sequence is read one file at a time).
        y : list of int ndarray, shapes (T_i,)
            Class index per frame.
        classes : list of str
        mean, scale : ndarray, shape (d,), optional
            Standardisation; computed from ``X`` if omitted (``X`` is then read twice).
        """
        if mean is None or scale is None:
            from canapy.models import feature_scaling

            X = list(X)
            mean, scale = feature_scaling(X)
        self.classes_ = list(classes)
        self.mean_ = np.asarray(mean, np.float32)
        self.scale_ = np.asarray(scale, np.float32)
        counts = np.bincount(np.concatenate([np.asarray(t) for t in y]), minlength=len(classes))
        keep_p = np.minimum(1.0, self.cfg.frames_per_class / np.maximum(counts, 1))
        rng = np.random.default_rng(self.seed)
        rows, targets = [], []
        for x, t in zip(X, y, strict=True):
            t = np.asarray(t)
            picked = np.flatnonzero(rng.random(len(t)) < keep_p[t])
            rows.append(self._design(x, picked))
            targets.append(t[picked])
        design, target = np.concatenate(rows), np.concatenate(targets)
        # Imported here: annotating with an ESN model does not pay for loading sklearn.
        from sklearn.linear_model import LogisticRegression

        self.model_ = LogisticRegression(
            C=self.cfg.C, max_iter=self.cfg.max_iter, random_state=self.seed
        ).fit(design, target)
        return self

    def _design(self, x: np.ndarray, frames: np.ndarray) -> np.ndarray:
        std = (np.asarray(x, np.float32) - self.mean_) / self.scale_
        return stack_context(std, frames, self.cfg.context_frames, self.cfg.stride_frames)

    def predict_proba(self, X: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Class probabilities per frame of each sequence, shapes ``(T_i, n_classes)``."""
        out = []
        for x in X:
            proba = np.zeros((len(x), len(self.classes_)), np.float32)
            for start in range(0, len(x), _PREDICT_CHUNK):  # bounded memory on long files
                frames = np.arange(start, min(len(x), start + _PREDICT_CHUNK))
                p = self.model_.predict_proba(self._design(x, frames))
                proba[frames[:, None], self.model_.classes_[None, :]] = p
            out.append(proba)
        return out

    def predict(self, X: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Most probable class index per frame."""
        return [np.argmax(p, axis=1) for p in self.predict_proba(X)]
