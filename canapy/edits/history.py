"""Undo/redo history of a segment table being edited (no I/O)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from canapy.edits.diffs import diff_tables
from canapy.exceptions import AnnotationError
from canapy.segments import validate_segments

__all__ = ["EditHistory"]


@dataclass(eq=False)
class EditHistory:
    """Undo/redo stacks of segment tables, without any I/O.

    Parameters
    ----------
    current : DataFrame
        The table being edited (validated and normalised on entry).
    base_version : int, optional
        The store version the table was loaded from, to pass to
        :meth:`canapy.store.AnnotationStore.save` as ``base_version``.
    max_depth : int
        Oldest undo steps beyond this number are forgotten.

    Examples
    --------
    >>> from canapy.edits import relabel
    >>> t = pd.DataFrame({"segment_id": ["a#0"], "audio_path": ["a.wav"], "onset_s": [0.1],
    ...                   "offset_s": [0.2], "label": ["A"]})
    >>> h = EditHistory(t)
    >>> h.apply(relabel, ["a#0"], "B", description="relabel a#0")["label"].tolist()
    ['B']
    >>> h.undo()["label"].tolist(), h.can_redo, h.redo()["label"].tolist()
    (['A'], True, ['B'])
    """

    current: pd.DataFrame
    base_version: int | None = None
    max_depth: int = 200
    _undo: list[tuple[pd.DataFrame, str]] = field(default_factory=list, repr=False)
    _redo: list[tuple[pd.DataFrame, str]] = field(default_factory=list, repr=False)
    _saved: pd.DataFrame | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.current = validate_segments(self.current)
        self._saved = self.current

    def apply(
        self, edit: Callable[..., pd.DataFrame], *args, description: str = "", **kwargs
    ) -> pd.DataFrame:
        """Apply ``edit(current, *args, **kwargs)``, push the old table, clear redo.

        A failing edit (AnnotationError) leaves the history unchanged.
        """
        new = edit(self.current, *args, **kwargs)
        return self.push(new, description or getattr(edit, "__name__", "edit"))

    def push(self, table: pd.DataFrame, description: str = "edit") -> pd.DataFrame:
        """Make ``table`` (validated) the current table, keeping the old one for undo."""
        table = validate_segments(table)
        self._undo.append((self.current, description))
        del self._undo[: max(0, len(self._undo) - self.max_depth)]
        self._redo.clear()
        self.current = table
        return table

    @property
    def can_undo(self) -> bool:
        """Whether there is an edit to undo."""
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        """Whether there is an undone edit to redo."""
        return bool(self._redo)

    @property
    def undo_description(self) -> str:
        """What :meth:`undo` would undo ("" if nothing)."""
        return self._undo[-1][1] if self._undo else ""

    @property
    def redo_description(self) -> str:
        """What :meth:`redo` would redo ("" if nothing)."""
        return self._redo[-1][1] if self._redo else ""

    def undo(self) -> pd.DataFrame:
        """Go back one edit; AnnotationError if there is none."""
        if not self._undo:
            raise AnnotationError("nothing to undo")
        table, description = self._undo.pop()
        self._redo.append((self.current, description))
        self.current = table
        return table

    def redo(self) -> pd.DataFrame:
        """Re-apply the last undone edit; AnnotationError if there is none."""
        if not self._redo:
            raise AnnotationError("nothing to redo")
        table, description = self._redo.pop()
        self._undo.append((self.current, description))
        self.current = table
        return table

    @property
    def dirty(self) -> bool:
        """Whether the current table differs from the last one marked saved."""
        return len(diff_tables(self._saved, self.current)) > 0

    def changes(self) -> pd.DataFrame:
        """:func:`diff_tables` from the last saved table to the current one."""
        return diff_tables(self._saved, self.current)

    def mark_saved(self, version: int) -> None:
        """Record that the current table was saved as store version ``version``."""
        self.base_version = int(version)
        self._saved = self.current
