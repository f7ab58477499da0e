"""The interface a model must follow to be trained, saved, registered and served by Canapy.

Two levels:

- :class:`FrameClassifier` — *frames in, class probabilities out*. Anything with a
  ``classes_`` list and ``predict_proba(list of (T_i, d) feature arrays) -> list of
  (T_i, n_classes) arrays`` (rows summing to 1, column ``k`` is ``classes_[k]``, column 0
  the silence class). The Echo State Networks (:class:`canapy.models.EsnClassifier`,
  :class:`canapy.models.EnsembleClassifier`) and the logistic regression over context
  frames (:class:`canapy.context_model.ContextClassifier`) implement it.
- :class:`SongAnnotator` — a frame classifier bundled with the features it expects and the
  post-processing that turns probabilities into segments. :class:`canapy.annotator.Annotator`
  wraps any :class:`FrameClassifier` this way; the workflow, the registry and the service
  only use this interface.

Saving, loading and sharing are the same for every conforming model:
:func:`canapy.persistence.save_model` writes a joblib file signed with the user's key,
:func:`canapy.persistence.load_model` checks the signature before unpickling, and
:func:`canapy.portable.write_portable` exports a pickle-free ``.npz``. The portable export
walks the model's attributes; a model whose state is not made of arrays, plain values and
Canapy/scikit-learn objects (a PyTorch module, say) provides ``portable_state(self) ->
dict`` and a classmethod ``from_portable_state(state)`` (see ``docs/models.md``).

Examples
--------
>>> import numpy as np
>>> class Constant:
...     classes_ = ["SIL", "a"]
...     def predict_proba(self, X):
...         return [np.tile([0.2, 0.8], (len(x), 1)) for x in X]
>>> isinstance(Constant(), FrameClassifier)
True
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

__all__ = ["FrameClassifier", "SongAnnotator", "check_annotator"]


@runtime_checkable
class FrameClassifier(Protocol):
    """Frames in, class probabilities out."""

    classes_: list[str]

    def predict_proba(self, X: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Probabilities per frame, one ``(T_i, len(classes_))`` array per input sequence."""
        ...


@runtime_checkable
class SongAnnotator(Protocol):
    """Audio features -> frame probabilities -> segments; what Canapy saves and serves."""

    kind: str
    """Short model kind, e.g. ``"ensemble"`` or ``"logreg"``."""
    sample_rate: int
    """Audio is resampled to this rate before features are computed."""
    config: Any
    """The resolved :class:`canapy.config.Config` the model was trained with."""

    @property
    def classes(self) -> list[str]:
        """Class names; the first is the silence tag."""
        ...

    @property
    def labels(self) -> list[str]:
        """Syllable labels the model can produce."""
        ...

    @property
    def hop_s(self) -> float:
        """Time between feature frames in seconds."""
        ...

    def extractor(self, cache_dir: Path | None = None) -> Any:
        """A callable ``path -> (T, d)`` features, with this model's parameters."""
        ...

    def frame_proba(self, features: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Class probabilities per frame for each feature matrix."""
        ...

    def decode(self, proba: np.ndarray, duration_s: float | None = None) -> pd.DataFrame:
        """One file's probabilities -> segments ``onset_s, offset_s, label, confidence``."""
        ...


def check_annotator(obj: Any, where: str) -> SongAnnotator:
    """``obj`` if it follows :class:`SongAnnotator`, else a :class:`ModelError` naming ``where``.

    >>> check_annotator(3, "run/ensemble")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    canapy.exceptions.ModelError: run/ensemble: a int is not a Canapy annotator ...
    """
    from canapy.exceptions import ModelError

    if not isinstance(obj, SongAnnotator):
        raise ModelError(
            f"{where}: a {type(obj).__name__} is not a Canapy annotator (it lacks the "
            "SongAnnotator interface of canapy.interface)"
        )
    return obj
