"""The review state: suspicious labels to check, and unlabelled recordings to proofread.

:class:`ReviewState` runs :func:`canapy.review.find_suspects` on the working table of a
:class:`~.correction.CorrectionState`, follows the review status of each suspect as the
table changes, and ranks the recordings without annotation by the active model's
confidence so they can be proofread and promoted into the working table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pandas as pd
import param

from canapy.exceptions import CanapyError

from .correction import CorrectionState
from .form import ConfigForm
from .tables import SUSPECT_SHOWN, rank_by_confidence, suspect_status
from .tasks import TaskRunner

__all__ = ["ReviewState"]


class ReviewState(param.Parameterized):
    """Suspects of the last review (with their status) and unlabelled predictions.

    ``tasks`` runs the background work, ``form`` gives the config, ``correction`` is the
    table under review (accepting a suggestion or promoting a recording edits it).
    """

    tasks = param.ClassSelector(class_=TaskRunner)
    form = param.ClassSelector(class_=ConfigForm)
    correction = param.ClassSelector(class_=CorrectionState)

    review_folds = param.Integer(default=5, bounds=(2, 20), doc="Folds of find_suspects.")
    result = param.Parameter(default=None, doc="The last canapy.review.ReviewResult.")
    suspects = param.DataFrame(default=None, allow_None=True, doc="Review rows + status.")
    suspect_label = param.String(default="", doc="Show suspects of this hand label ('' all).")
    kept = param.List(default=[], doc="Suspects marked 'keep original'.")
    current_suspect = param.String(default=None, allow_None=True)
    unlabelled = param.DataFrame(default=None, allow_None=True, doc="rank_by_confidence().")
    unlabelled_predictions = param.Dict(default={}, doc="{audio_path: predicted segments}.")

    def reset(self) -> None:
        """Forget the review marks and predictions (a new table was loaded)."""
        self.param.update(kept=[], current_suspect=None, unlabelled=None, unlabelled_predictions={})

    @param.depends("correction.working", "kept", "result", watch=True)
    def refresh(self) -> None:
        """Recompute each suspect's status against the working table."""
        table = self.correction.working
        if self.result is None or table is None:
            return
        segs = self.result.segments
        self.suspects = segs.assign(status=suspect_status(segs, table, self.kept))

    # -- suspects ----------------------------------------------------------------------
    def find_suspects(self, cache_dir: Path | None = None) -> Future:
        """Run :func:`canapy.review.find_suspects` on the working table (background)."""
        from canapy.review import find_suspects

        cfg = self.form.config
        if cfg is None:
            raise CanapyError(f"invalid configuration: {self.form.error}")
        corpus, folds = self.correction.working_corpus(), self.review_folds

        def job(progress: Callable[[float, str], None]) -> Any:
            return find_suspects(corpus, cfg, n_folds=folds, cache_dir=cache_dir, progress=progress)

        def apply(result: Any) -> None:
            self.param.update(result=result, kept=[], current_suspect=None)

        return self.tasks.submit(
            "finding suspicious labels", job, apply, done=f"review done ({folds} folds)"
        )

    def _suspect_row(self, segment_id: str | None) -> pd.Series:
        sid = segment_id or self.current_suspect
        if self.suspects is None:
            raise CanapyError("no review yet: click Find suspects")
        rows = self.suspects[self.suspects["segment_id"] == sid]
        if sid is None or not len(rows):
            raise CanapyError("select a suspect first")
        return rows.iloc[0]

    def select_suspect(self, segment_id: str | None) -> None:
        """Show a suspect: its recording, zoomed on it, the segment selected."""
        if segment_id is None:
            self.current_suspect = None
            return
        row = self._suspect_row(segment_id)
        start, end = float(row["start"]), float(row["end"])
        present = segment_id in set(self.correction.history.current["segment_id"])
        self.current_suspect = str(segment_id)
        self.correction.param.update(
            review_path=str(row["audio_path"]),
            review_window=(max(0.0, start - 0.6), end + 0.6),
            selected_segment=str(segment_id) if present else None,
        )

    def visible_suspects(self) -> pd.DataFrame:
        """Suspects shown: all, or those whose hand label is :attr:`suspect_label`."""
        if self.suspects is None:
            return pd.DataFrame(columns=["segment_id", "audio_path", *SUSPECT_SHOWN])
        if not self.suspect_label:
            return self.suspects
        return self.suspects[self.suspects["syll"] == self.suspect_label]

    def next_suspect(self, step: int = 1) -> str | None:
        """Go to the next (``step=-1``: previous) unreviewed suspect, most suspicious first."""
        shown = self.visible_suspects()
        if not len(shown):
            return None
        ids = list(shown["segment_id"])
        status = list(shown["status"])
        k = ids.index(self.current_suspect) if self.current_suspect in ids else -1
        order = range(k + 1, len(ids)) if step > 0 else range(k - 1, -1, -1)
        if k < 0 and step < 0:
            order = range(len(ids) - 1, -1, -1)
        for i in order:
            if not status[i]:
                self.select_suspect(ids[i])
                return ids[i]
        return None

    def accept_suggestion(self, segment_id: str | None = None, advance: bool = True) -> None:
        """Give a suspect its suggested label (:func:`canapy.review.apply_suggestions`)."""
        from canapy.review import apply_suggestions

        row = self._suspect_row(segment_id)
        sid, table = str(row["segment_id"]), self.correction.history.current
        corpus = self.correction.corpus.with_segments(table)
        fixed = apply_suggestions(corpus, self.result.segments, segment_ids=[sid], strict=True)
        description = f"accept {row['suggested']!r} for {sid} (was {row['syll']!r})"
        self.correction.push(fixed.segments, description)
        if advance:
            self.next_suspect()

    def keep_original(self, segment_id: str | None = None, advance: bool = True) -> None:
        """Mark a suspect reviewed without changing it."""
        sid = str(self._suspect_row(segment_id)["segment_id"])
        if sid not in self.kept:
            self.kept = [*self.kept, sid]
        if advance:
            self.next_suspect()

    # -- unlabelled recordings -----------------------------------------------------------
    def annotate_unlabelled(
        self,
        annotator: Any,
        cache_dir: Path | None = None,
        still_current: Callable[[], bool] = lambda: True,
    ) -> Future:
        """Annotate the corpus' files without annotation with ``annotator``; rank them.

        ``still_current()`` is asked before the result is shown (False: the user switched
        to another model meanwhile, the result is dropped).
        """
        from canapy.evaluation import predict_files

        paths = list(self.correction.working_corpus().unannotated_paths)
        if not paths:
            raise CanapyError("every recording of the corpus is annotated")

        def job(progress: Callable[[float, str], None]) -> dict:
            with self.tasks.distributed(progress, annotator) as extra:  # Dask workers if asked
                return predict_files(annotator, paths, cache_dir, progress, **extra)

        def apply(preds: Mapping[str, pd.DataFrame]) -> None:
            if still_current():
                self.param.update(
                    unlabelled_predictions=dict(preds), unlabelled=rank_by_confidence(preds)
                )

        return self.tasks.submit(f"annotating {len(paths)} recording(s)", job, apply)

    def promote(self, path: str | Path | None = None) -> int:
        """Add a predicted recording's segments to the working table (undoable).

        The recording then counts as annotated: it is edited, saved and trained on like
        the others. Returns the number of segments added.
        """
        from canapy.edits import add_segments

        path = str(path or self.correction.review_path)
        segs = self.unlabelled_predictions.get(path)
        if segs is None:
            raise CanapyError(f"{Path(path).name}: no prediction to promote; annotate it first")
        if len(self.correction.segments_of(path)):
            raise CanapyError(f"{Path(path).name} already has segments in the working table")
        self.correction.edit(
            f"promote {Path(path).name} ({len(segs)} segments)", add_segments, path, segs
        )
        self.correction.review_path = path
        return len(segs)
