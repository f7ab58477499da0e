"""The correction state: the working segment table, its undo history and its versions.

:class:`CorrectionState` is what the Re-annotate tab edits: a table of segments (with
stable ``segment_id``) behind a :class:`canapy.edits.EditHistory`, saved as versions of
the data folder's :class:`canapy.store.AnnotationStore`. Every edit is a
:mod:`canapy.edits` function; nothing here re-implements them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import param

from canapy.edits import CLASS_OPERATIONS
from canapy.exceptions import CanapyError

__all__ = ["CLASS_OPERATIONS", "TRASH_LABEL", "CorrectionState", "StoredTable", "read_store"]

TRASH_LABEL = "TRASH"
"""Label offered for noise and calls that are not syllables."""
VERSION_COLUMNS = ["id", "parent", "author", "created_at", "message", "n_segments", "is_head"]


@dataclass(frozen=True)
class StoredTable:
    """Where editing starts: the store, its table, the version (None: original files)."""

    store: Any
    table: pd.DataFrame
    base_version: int | None
    annotated: tuple[str, ...]


def read_store(folder: str | Path, corpus: Any) -> StoredTable:
    """The store's head when the data folder has one, else the original annotations."""
    from canapy.store import AnnotationStore

    store = AnnotationStore.for_data_dir(folder)
    if store.exists:
        head = store.head
        return StoredTable(store, store.load(head), head, tuple(map(str, store.annotated(head))))
    return StoredTable(store, corpus.segments, None, tuple(map(str, corpus.annotated)))


class CorrectionState(param.Parameterized):
    """The working table being corrected, its undo history and saved versions.

    No widgets: the Re-annotate components watch :attr:`working`, :attr:`history_info`,
    :attr:`versions`... and call the methods. Segment edits act on
    :attr:`selected_segment` by default.
    """

    corpus = param.Parameter(default=None, doc="The loaded canapy.corpus.Corpus.")
    working = param.DataFrame(
        default=None, allow_None=True, doc="The segment table being edited (the undo history's)."
    )
    base_version = param.Integer(
        default=None, allow_None=True, doc="Store version the edits started from (None: none)."
    )
    history_info = param.Dict(default={}, doc="undo, redo (descriptions), n_changes.")
    versions = param.DataFrame(default=None, allow_None=True, doc="store.versions().")
    save_conflict = param.String(default="", doc="ConflictError message of the last save.")
    author = param.String(default="", doc="Author of saved versions (default: login name).")
    selected_segment = param.String(default=None, allow_None=True)
    review_path = param.String(default=None, allow_None=True, doc="The recording shown.")
    review_window = param.NumericTuple(default=None, allow_None=True, length=2)
    show_model = param.Boolean(default=False, doc="Show the active model's annotation too.")
    play_requests = param.Integer(default=0, doc="Bumped to play the selected segment.")
    retrain_comparison = param.DataFrame(default=None, allow_None=True)
    retrain_label = param.String(default="")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._history: Any = None  # canapy.edits.EditHistory of the working table
        self._store: Any = None  # canapy.store.AnnotationStore of the data folder
        self._annotated: list[str] = []  # annotated files of the loaded version
        self.missing = "no corpus loaded: nothing to edit"
        if not self.author:
            from canapy.store import default_author

            self.author = default_author()

    # -- the table and its history ------------------------------------------------------
    def start(self, corpus: Any, stored: StoredTable) -> None:
        """Edit ``stored.table`` of ``corpus`` (a store version, or the original files)."""
        from canapy.edits import EditHistory

        self._store = stored.store
        self._annotated = list(stored.annotated)
        self._history = EditHistory(stored.table, base_version=stored.base_version)
        self.param.update(
            corpus=corpus,
            base_version=stored.base_version,
            save_conflict="",
            selected_segment=None,
            review_path=str(corpus.audio_paths[0]) if corpus.audio_paths else None,
        )
        self.refresh_versions()
        self.sync()

    @property
    def history(self) -> Any:
        """The :class:`canapy.edits.EditHistory` (CanapyError before a corpus is loaded)."""
        if self._history is None:
            raise CanapyError(self.missing)
        return self._history

    @property
    def is_ready(self) -> bool:
        """A table is loaded."""
        return self._history is not None

    def sync(self) -> None:
        """Publish the history's table and undo/redo state."""
        h = self._history
        if h is None:
            return
        table = h.current
        info = {
            "undo": h.undo_description,
            "redo": h.redo_description,
            "n_changes": len(h.changes()),
        }
        updates: dict[str, Any] = {"working": table, "history_info": info}
        if self.selected_segment is not None and self.selected_segment not in set(
            table["segment_id"]
        ):
            updates["selected_segment"] = None
        self.param.update(updates)

    def edit(self, description: str, edit: Callable[..., pd.DataFrame], *args: Any) -> None:
        """Apply a :mod:`canapy.edits` function through the undo history."""
        self.history.apply(edit, *args, description=description)
        self.sync()

    def push(self, table: pd.DataFrame, description: str) -> None:
        """Make ``table`` the working table (undoable)."""
        self.history.push(table, description)
        self.sync()

    def working_corpus(self) -> Any:
        """The loaded corpus with the working table's segments (what training would see).

        Annotated files: those of the loaded version plus every file with a segment (e.g.
        a promoted recording); see :meth:`canapy.corpus.Corpus.with_segments`.
        """
        if self.corpus is None or self._history is None:
            raise CanapyError(self.missing)
        table = self._history.current
        return self.corpus.with_segments(table, [*self._annotated, *table["audio_path"]])

    def segments_of(self, path: str | Path | None) -> pd.DataFrame:
        """Working segments of one file (with ``segment_id``), in time order."""
        if self._history is None or path is None:
            return pd.DataFrame(columns=["segment_id", "onset_s", "offset_s", "label"])
        table = self._history.current
        target = str(Path(path).absolute())
        return table[table["audio_path"] == target].reset_index(drop=True)

    def undo(self) -> None:
        """Undo the last edit (segment, suggestion, class, promotion, restore...)."""
        self.history.undo()
        self.sync()

    def redo(self) -> None:
        """Redo the last undone edit."""
        self.history.redo()
        self.sync()

    def training_source(self) -> str:
        """What training on :meth:`working_corpus` trains on, in words."""
        h = self.history
        if h.dirty:
            return "the working table (unsaved edits)"
        if h.base_version is not None:
            return f"version {h.base_version}"
        return "the original annotations"

    # -- segment edits (the selected segment by default) --------------------------------
    def _segment(self, segment_id: str | None) -> str:
        sid = segment_id or self.selected_segment
        if not sid:
            raise CanapyError("select a segment first (click it in the table or the viewer)")
        return str(sid)

    def select_segment(self, segment_id: str | None) -> None:
        """Select a segment of the working table (and show its recording)."""
        if segment_id is None:
            self.selected_segment = None
            return
        rows = self.history.current
        row = rows[rows["segment_id"] == str(segment_id)]
        if not len(row):
            raise CanapyError(f"no segment {segment_id} in the working table")
        path = str(row["audio_path"].iloc[0])
        self.param.update(selected_segment=str(segment_id), review_path=path)

    def relabel_segment(self, label: str, segment_id: str | None = None) -> None:
        from canapy.edits import relabel

        sid = self._segment(segment_id)
        self.edit(f"relabel {sid} as {label!r}", relabel, [sid], label)

    def move_segment(self, onset_s: float, offset_s: float, segment_id: str | None = None) -> None:
        from canapy.edits import move

        sid = self._segment(segment_id)
        self.edit(f"move {sid} to {onset_s:.3f}-{offset_s:.3f} s", move, sid, onset_s, offset_s)

    def split_segment(self, t: float, segment_id: str | None = None) -> None:
        from canapy.edits import split

        sid = self._segment(segment_id)
        self.edit(f"split {sid} at {t:.3f} s", split, sid, t)

    def merge_with_next(self, segment_id: str | None = None) -> None:
        """Merge a segment with the next one of its recording (keeps the first's label)."""
        from canapy.edits import merge_with_next

        sid = self._segment(segment_id)
        self.edit(f"merge {sid} with the next segment", merge_with_next, sid)

    def delete_segment(self, segment_id: str | None = None) -> None:
        from canapy.edits import delete

        sid = self._segment(segment_id)
        self.edit(f"delete {sid}", delete, [sid])

    def add_segment(
        self, onset_s: float, offset_s: float, label: str, path: str | Path | None = None
    ) -> str:
        """Add a segment to ``path`` (default: the recording shown); return its id."""
        from canapy.edits import add

        path = path or self.review_path
        if path is None:
            raise CanapyError("select a recording first")
        before = set(self.history.current["segment_id"])
        self.edit(
            f"add {label!r} at {onset_s:.3f} s in {Path(path).name}",
            add,
            path,
            onset_s,
            offset_s,
            label,
        )
        new = sorted(set(self.history.current["segment_id"]) - before)
        self.selected_segment = new[0] if new else None
        return self.selected_segment or ""

    # -- class edits (canapy.edits.class_edit) ----------------------------------------
    def preview_class_edit(self, operation: str, labels: Sequence[str], into: str = "") -> int:
        """Number of segments the class edit would change (nothing is modified)."""
        from canapy.edits import class_edit

        return class_edit(operation, labels, into).preview(self.history.current)

    def apply_class_edit(self, operation: str, labels: Sequence[str], into: str = "") -> int:
        """Apply a class edit (undoable); return the number of segments changed."""
        from canapy.edits import class_edit, diff_tables

        edit = class_edit(operation, labels, into)
        before = self.history.current
        self.edit(edit.description, edit.apply)
        return len(diff_tables(before, self.history.current))

    # -- versions -------------------------------------------------------------------------
    def _require_store(self) -> Any:
        if self._store is None:
            raise CanapyError("no data folder: nowhere to keep versions")
        return self._store

    def refresh_versions(self) -> None:
        """Re-read the store's versions (empty before the first save)."""
        store = self._store
        if store is None or not store.exists:
            self.versions = pd.DataFrame(columns=VERSION_COLUMNS)
            return
        self.versions = store.versions()

    def save_version(self, message: str, author: str | None = None) -> int:
        """Save the working table as a new store version; return its id.

        The first save creates the store (version 1 = the original annotation files).
        When another session saved since this one loaded its version, nothing is saved:
        :attr:`save_conflict` holds who saved what and when (see :meth:`reload_latest`),
        and the ConflictError is raised.
        """
        from canapy.exceptions import ConflictError, StoreError

        history, store = self.history, self._require_store()
        author = author or self.author or None
        base = history.base_version
        if base is None:
            try:
                base = store.init_from(self.corpus, author=author)
            except StoreError:
                if not store.exists:
                    raise
                base = 1  # another session created it meanwhile: we edited version 1
        try:
            version = store.save(history.current, author, message or "edits", base_version=base)
        except ConflictError as exc:
            self.save_conflict = str(exc)
            self.refresh_versions()
            raise
        history.mark_saved(version)
        self.param.update(base_version=version, save_conflict="")
        self.refresh_versions()
        self.sync()
        return version

    def _edit_version(self, version: int, description: str) -> int:
        """Load a saved version into the editor (undoable) and start from it."""
        store, history = self._require_store(), self.history
        history.push(store.load(version), description)
        history.mark_saved(version)
        self._annotated = [str(p) for p in store.annotated(version)]
        self.param.update(base_version=version, save_conflict="")
        self.refresh_versions()
        self.sync()
        return version

    def reload_latest(self) -> int:
        """Load the store's head into the editor (undoable: Undo gives your table back)."""
        head = self._require_store().head
        return self._edit_version(head, f"reload version {head}")

    def restore_version(self, version: int, author: str | None = None) -> int:
        """Make ``version`` the new head (:meth:`AnnotationStore.restore`) and edit it."""
        self.history  # noqa: B018 - fail before writing to the store when nothing is loaded
        new = self._require_store().restore(version, author=author or self.author or None)
        return self._edit_version(new, f"restore version {version}")

    def version_table(self, version: int) -> pd.DataFrame:
        """The segment table of a saved version (the working table is left alone)."""
        store = self._require_store()
        if not store.exists:
            raise CanapyError("nothing saved yet: save a version first")
        return store.load(int(version))

    def version_diff(self, version: int) -> pd.DataFrame:
        """:func:`canapy.edits.diff_tables` from a saved version to the working table."""
        from canapy.edits import diff_tables

        return diff_tables(self._require_store().load(version), self.history.current)

    def export_version(
        self, out_dir: str | Path, annot_format: str = "marron1csv", version: int | None = None
    ) -> list[Path]:
        """Write a saved version (default: the head) as annotation files into ``out_dir``."""
        store = self._require_store()
        if not store.exists:
            raise CanapyError("nothing saved yet: save a version first")
        return store.export(version, out_dir, annot_format)
