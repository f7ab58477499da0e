"""The active run's predictions on the files a session looks at, and their confidence.

A mixin of :class:`~dashboards.state.session.AppState`: it reads and sets the session's
``annotators``, ``active_run``, ``eval_model``, ``predictions``, ``frame_proba``,
``cache_path`` and ``tasks``. Every computation is a call into :mod:`canapy`.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path

import pandas as pd

__all__ = ["PredictionsMixin"]


class PredictionsMixin:
    """Predict files with every model of the active run; a segment table's confidence."""

    def request_predictions(self, paths: Sequence[str | Path]) -> Future | None:
        """Predict ``paths`` with every model of the active run (kept in :attr:`predictions`)."""
        return self._ensure_predictions([str(p) for p in paths])

    def _ensure_predictions(self, paths: Sequence[str]) -> Future | None:
        from canapy.workflow import predict_files

        missing = {
            k: [p for p in paths if p not in self.predictions.get(k, {})] for k in self.annotators
        }
        missing = {k: v for k, v in missing.items() if v}
        if not missing:
            return None
        annotators, cache, run = dict(self.annotators), self.cache_path, self.active_run

        def job() -> dict[str, dict[str, tuple]]:
            return {
                k: predict_files(annotators[k], v, cache, keep_proba=True)
                for k, v in missing.items()
            }

        def apply(new: dict[str, dict[str, tuple]]) -> None:
            if run != self.active_run:
                return  # the user switched runs meanwhile
            merged = {k: dict(v) for k, v in self.predictions.items()}
            proba = {k: dict(v) for k, v in self.frame_proba.items()}
            for k, preds in new.items():
                merged.setdefault(k, {}).update({p: segs for p, (segs, _) in preds.items()})
                proba.setdefault(k, {}).update({p: f.astype("f4") for p, (_, f) in preds.items()})
            self.param.update(frame_proba=proba, predictions=merged)

        n = len({p for v in missing.values() for p in v})
        return self.tasks.submit_view(f"annotating {n} file(s)", job, apply)

    def with_confidence(self, path: str | Path, segments: pd.DataFrame) -> pd.DataFrame:
        """``segments`` of ``path`` with the active model's ``confidence`` in each label.

        The confidence is the model's mean probability of the segment's label over its
        frames (:func:`canapy.review_scores.label_confidence`; NaN for a label it does not
        know). ``segments`` come back unchanged until the model has predicted that file.
        """
        from canapy.review_scores import label_confidence

        kind = self._eval_kind()
        proba = self.frame_proba.get(kind, {}).get(str(path))
        if proba is None:
            return segments
        ann = self.annotators[kind]
        return segments.assign(confidence=label_confidence(proba, ann.classes, segments, ann.hop_s))
