"""The song syntax of annotation sets: hand labels, a model's predictions, saved versions.

:class:`SyntaxState` computes :func:`canapy.analysis.syntax.analyze_syntax` of the hand
labels and of the active model's output on the same files, compares them
(:func:`canapy.analysis.compare.compare_sequences`), and analyses any annotation set the
user opens (the working table or a saved version of the store).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import param

from canapy.exceptions import CanapyError

from .correction import CorrectionState
from .tasks import TaskRunner

__all__ = ["WORKING_SET", "SyntaxState", "predictions_table"]

WORKING_SET = "working table"
"""Name of the working table among the sets that can be opened."""


def predictions_table(predictions: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """``{audio_path: segments}`` (a model's output per file) -> one segment table.

    Examples
    --------
    >>> seg = pd.DataFrame({"onset_s": [0.1], "offset_s": [0.2], "label": ["A"]})
    >>> predictions_table({"b.wav": seg, "a.wav": seg})["audio_path"].tolist()
    ['a.wav', 'b.wav']
    """
    parts = [seg.assign(audio_path=str(path)) for path, seg in sorted(predictions.items())]
    if not parts:
        return pd.DataFrame(columns=["audio_path", "onset_s", "offset_s", "label"])
    return pd.concat(parts, ignore_index=True)


class SyntaxState(param.Parameterized):
    """Syntax summaries of the hand labels, the model's output and an opened set.

    ``tasks`` runs the background work; ``correction`` gives the working table and the
    store's versions.
    """

    tasks = param.ClassSelector(class_=TaskRunner)
    correction = param.ClassSelector(class_=CorrectionState)

    unit = param.Selector(
        default="syllable",
        objects=["syllable", "phrase"],
        doc="Symbols: segments, or phrases (runs of one label; canary-like songs).",
    )
    gap_s = param.Number(default=0.5, bounds=(0.0, None), doc="Silences longer split bouts.")
    hand = param.Parameter(default=None, doc="SyntaxSummary of the hand labels.")
    predicted = param.Parameter(default=None, doc="SyntaxSummary of the model's output.")
    comparison = param.Parameter(default=None, doc="SyntaxComparison hand -> predicted.")
    compared = param.String(default="", doc="What the comparison covers, in words.")
    opened = param.Parameter(default=None, doc="SyntaxSummary of the set opened.")
    opened_label = param.String(default="")

    def _analyze(self, segments: pd.DataFrame) -> Any:
        from canapy.analysis.syntax import analyze_syntax

        return analyze_syntax(segments, gap_s=self.gap_s, unit=self.unit)

    def compare_model(
        self,
        annotator: Any,
        kind: str,
        paths: Sequence[str | Path],
        reference: pd.DataFrame,
        cache_dir: Path | None = None,
    ) -> Any:
        """Annotate ``paths`` with ``annotator`` (background), then compare the syntax.

        ``reference`` holds the hand labels of ``paths``.
        """
        from canapy.analysis.compare import compare_sequences
        from canapy.workflow import predict_files

        paths = [str(p) for p in paths]
        if not paths:
            raise CanapyError("no file to compare on: evaluate a run first")
        analyze = self._analyze

        def job(progress: Callable[[float, str], None]) -> tuple:
            hand = analyze(reference)
            preds = predict_files(annotator, paths, cache_dir, progress)
            predicted = analyze(predictions_table(preds))
            return hand, predicted, compare_sequences(hand.sequences, predicted.sequences)

        def apply(result: tuple) -> None:
            hand, predicted, comparison = result
            self.param.update(
                hand=hand,
                predicted=predicted,
                comparison=comparison,
                compared=f"hand labels vs the {kind} model, on {len(paths)} file(s)",
            )

        return self.tasks.submit(
            f"syntax of the {kind} model's output", job, apply, done="syntax compared"
        )

    def open_set(self, name: str | int) -> None:
        """Analyse the working table (:data:`WORKING_SET`) or a saved version (its id)."""
        correction = self.correction
        if name == WORKING_SET:
            table, label = correction.history.current, "the working table"
        else:
            table, label = correction.version_table(int(name)), f"version {name}"
        self.param.update(opened=self._analyze(table), opened_label=label)

    def set_names(self) -> list[str]:
        """What :meth:`open_set` accepts: the working table, then the saved versions."""
        versions = self.correction.versions
        ids = [] if versions is None or not len(versions) else list(versions["id"])
        return [WORKING_SET, *(str(int(v)) for v in ids)]
