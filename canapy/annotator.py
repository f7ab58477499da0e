"""A trained annotator: features -> frame probabilities -> segments, with its config.

:class:`Annotator` bundles everything needed to annotate a new recording (resolved config,
sample rate, class list and the fitted estimator), so a model folder is self-contained.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from canapy.config import Config
from canapy.features import FeatureExtractor, hop_length
from canapy.interface import FrameClassifier
from canapy.postprocess import frames_to_segments

__all__ = ["ALL_MODEL_KINDS", "MODEL_KINDS", "Annotator"]

MODEL_KINDS = ("syntactic", "nonsyntactic", "ensemble")
"""The Echo State Network kinds (trained by default)."""
ALL_MODEL_KINDS = (*MODEL_KINDS, "logreg")
"""Every built-in kind: the ESNs and the logistic regression over context frames."""


@dataclass
class Annotator:
    """A fitted frame classifier and the settings to turn audio into segments.

    The built-in :class:`canapy.interface.SongAnnotator`: it wraps any
    :class:`canapy.interface.FrameClassifier`.

    Attributes
    ----------
    kind : str
        One of :data:`ALL_MODEL_KINDS` (or a custom kind).
    config : Config
        The resolved configuration it was trained with.
    sample_rate : int
        Audio is resampled to this rate before computing features.
    estimator : FrameClassifier
        The fitted frame classifier (an ESN, the ensemble, a ContextClassifier...).
    """

    kind: str
    config: Config
    sample_rate: int
    estimator: FrameClassifier

    @property
    def classes(self) -> list[str]:
        """Class names; the first is the silence tag."""
        return list(self.estimator.classes_)

    @property
    def labels(self) -> list[str]:
        """Syllable labels the model can produce (classes without silence)."""
        return self.classes[1:]

    @property
    def hop_s(self) -> float:
        """Time between feature frames in seconds."""
        return hop_length(self.sample_rate, self.config.features) / self.sample_rate

    def extractor(self, cache_dir=None) -> FeatureExtractor:
        """A feature extractor with this model's parameters."""
        return FeatureExtractor(self.config.features, self.sample_rate, cache_dir)

    def frame_proba(self, features: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Class probabilities per frame for each feature matrix."""
        return self.estimator.predict_proba(features)

    def decode(self, proba: np.ndarray, duration_s: float | None = None) -> pd.DataFrame:
        """Frame probabilities of one file -> segments (onset_s, offset_s, label, confidence)."""
        widen = self.config.training.boundary_ms / 1000.0
        return frames_to_segments(
            proba,
            self.classes,
            self.hop_s,
            self.config.postprocess,
            widen_s=widen,
            duration_s=duration_s,
        )
