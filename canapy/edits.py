"""Pure edits of a segment table, their validation, diffs and an undo/redo history.

A *segment table* is a :class:`pandas.DataFrame` with the columns
:data:`canapy.corpus.SEGMENT_COLUMNS` (``segment_id, audio_path, onset_s, offset_s,
label``), as in :attr:`canapy.corpus.Corpus.segments`. Every edit returns a **new** table,
sorted by audio file name then onset, and validated: no empty label, no negative time, no
segment of zero or negative length, no two segments of one file overlapping (touching is
fine). A bad edit raises :class:`canapy.exceptions.AnnotationError` naming the segment.

Segment ids are stable: an edited segment keeps its id, so :func:`diff_tables` can tell a
relabelled or moved segment from a removed and an added one. A new segment (``add``, the
second half of a ``split``) gets ``"<audio file name>#<k>"`` with ``k`` one more than the
largest number used in that file.

Examples
--------
>>> table = pd.DataFrame({"segment_id": ["a.wav#0000", "a.wav#0001"],
...                       "audio_path": ["/d/a.wav"] * 2, "onset_s": [0.1, 0.3],
...                       "offset_s": [0.2, 0.4], "label": ["A", "B"]})
>>> relabel(table, ["a.wav#0001"], "A")["label"].tolist()
['A', 'A']
>>> split(table, "a.wav#0000", 0.15)["segment_id"].tolist()
['a.wav#0000', 'a.wav#0002', 'a.wav#0001']
>>> diff_tables(table, delete(table, ["a.wav#0000"]))[["segment_id", "change"]].values.tolist()
[['a.wav#0000', 'removed']]
>>> preview(table, rename_label, "A", "Z")
1
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from canapy.exceptions import AnnotationError
from canapy.segments import (
    SEGMENT_COLUMNS,
    TIME_EPS,
    describe_segment,
    normalise_segments,
    validate_segments,
)

__all__ = [
    "CLASS_OPERATIONS",
    "DIFF_COLUMNS",
    "ClassEdit",
    "EditHistory",
    "add",
    "add_segments",
    "class_edit",
    "delete",
    "delete_label",
    "diff_tables",
    "merge",
    "merge_labels",
    "merge_with_next",
    "move",
    "normalise_segments",
    "preview",
    "relabel",
    "rename_label",
    "split",
    "validate_segments",
]

DIFF_COLUMNS = [
    "segment_id",
    "wave",
    "change",
    "old_label",
    "new_label",
    "old_onset_s",
    "old_offset_s",
    "new_onset_s",
    "new_offset_s",
]
_ID_NUMBER = re.compile(r"#(\d+)$")


# --------------------------------------------------------------------------------------
# segment edits
# --------------------------------------------------------------------------------------
def _rows_of(segments: pd.DataFrame, ids: Iterable[str]) -> np.ndarray:
    """Boolean mask of the rows of ``ids``; AnnotationError naming unknown ids."""
    ids = [str(i) for i in ids]
    known = set(segments["segment_id"])
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise AnnotationError(f"unknown segment id(s) {unknown[:5]}")
    return segments["segment_id"].isin(ids).to_numpy()


def _check_label(label: str) -> str:
    label = str(label).strip()
    if not label:
        raise AnnotationError("empty label: give the segment a name")
    return label


def _new_id(segments: pd.DataFrame, audio_path: str) -> str:
    name = Path(audio_path).name
    numbers = [
        int(m.group(1))
        for sid in segments["segment_id"]
        if sid.startswith(f"{name}#") and (m := _ID_NUMBER.search(sid))
    ]
    return f"{name}#{max(numbers, default=-1) + 1:04d}"


def relabel(segments: pd.DataFrame, ids: Iterable[str], label: str) -> pd.DataFrame:
    """Give the segments ``ids`` the label ``label``."""
    out = normalise_segments(segments)
    out.loc[_rows_of(out, ids), "label"] = _check_label(label)
    return validate_segments(out)


def move(segments: pd.DataFrame, segment_id: str, onset_s: float, offset_s: float) -> pd.DataFrame:
    """Set the start and end (seconds) of one segment."""
    out = normalise_segments(segments)
    rows = _rows_of(out, [segment_id])
    out.loc[rows, "onset_s"] = float(onset_s)
    out.loc[rows, "offset_s"] = float(offset_s)
    return validate_segments(out)


def split(segments: pd.DataFrame, segment_id: str, t: float) -> pd.DataFrame:
    """Cut a segment in two at time ``t``; the second half gets a new id, same label."""
    out = normalise_segments(segments)
    row = out[_rows_of(out, [segment_id])].iloc[0]
    if not row.onset_s + TIME_EPS < t < row.offset_s - TIME_EPS:
        raise AnnotationError(
            f"cannot split {describe_segment(row)} at {t:.6g} s: "
            "the time must be strictly inside it"
        )
    out.loc[out["segment_id"] == segment_id, "offset_s"] = float(t)
    second = pd.DataFrame(
        [[_new_id(out, row.audio_path), row.audio_path, float(t), row.offset_s, row.label]],
        columns=SEGMENT_COLUMNS,
    )
    return validate_segments(pd.concat([out, second], ignore_index=True))


def merge(segments: pd.DataFrame, ids: Iterable[str], label: str | None = None) -> pd.DataFrame:
    """Merge consecutive segments of one file into the first one.

    The merged segment keeps the first segment's id and (unless ``label`` is given) its
    label, and spans from the first start to the last end. Segments not listed must not
    lie in between.
    """
    out = normalise_segments(segments)
    ids = [str(i) for i in ids]
    rows = _rows_of(out, ids)
    chosen = out[rows]
    if len(chosen) < 2:
        raise AnnotationError("merge needs at least two segments")
    if chosen["audio_path"].nunique() > 1:
        raise AnnotationError("cannot merge segments of different audio files")
    first = chosen.index[0]
    span = (chosen["onset_s"].min(), chosen["offset_s"].max())
    inside = (
        (out["audio_path"] == chosen["audio_path"].iloc[0])
        & (out["onset_s"] < span[1] - TIME_EPS)
        & (out["offset_s"] > span[0] + TIME_EPS)
        & ~rows
    )
    if inside.any():
        raise AnnotationError(
            f"cannot merge {ids}: {describe_segment(next(out[inside].itertuples(index=False)))}"
            " lies between them; include it or delete it first"
        )
    out.loc[first, ["onset_s", "offset_s"]] = span
    if label is not None:
        out.loc[first, "label"] = _check_label(label)
    keep = ~rows
    keep[out.index.get_loc(first)] = True
    return validate_segments(out[keep])


def merge_with_next(
    segments: pd.DataFrame, segment_id: str, label: str | None = None
) -> pd.DataFrame:
    """Merge a segment with the next one of its recording.

    The merged segment keeps the first segment's id and (unless ``label`` is given) its
    label (see :func:`merge`).

    Raises
    ------
    AnnotationError
        If the segment is unknown or is the last of its recording.

    Examples
    --------
    >>> table = pd.DataFrame({"segment_id": ["a.wav#0000", "a.wav#0001"],
    ...                       "audio_path": ["/d/a.wav"] * 2, "onset_s": [0.1, 0.3],
    ...                       "offset_s": [0.2, 0.4], "label": ["A", "B"]})
    >>> merge_with_next(table, "a.wav#0000")[["segment_id", "offset_s", "label"]].values.tolist()
    [['a.wav#0000', 0.4, 'A']]
    """
    out = normalise_segments(segments)
    sid = str(segment_id)
    row = out[_rows_of(out, [sid])]
    same = out[out["audio_path"] == row["audio_path"].iloc[0]]
    k = int(np.flatnonzero(same["segment_id"].to_numpy() == sid)[0])
    if k + 1 >= len(same):
        raise AnnotationError(f"{sid} is the last segment of its recording: nothing to merge with")
    return merge(out, [sid, str(same["segment_id"].iloc[k + 1])], label)


def delete(segments: pd.DataFrame, ids: Iterable[str]) -> pd.DataFrame:
    """Remove the segments ``ids``."""
    out = normalise_segments(segments)
    return validate_segments(out[~_rows_of(out, ids)])


def add(
    segments: pd.DataFrame, audio_path: str | Path, onset_s: float, offset_s: float, label: str
) -> pd.DataFrame:
    """Add a segment to the audio file ``audio_path`` (matched as an absolute path)."""
    out = normalise_segments(segments)
    path = str(Path(audio_path).absolute())
    new = pd.DataFrame(
        [[_new_id(out, path), path, float(onset_s), float(offset_s), _check_label(label)]],
        columns=SEGMENT_COLUMNS,
    )
    return validate_segments(pd.concat([out, new], ignore_index=True))


def add_segments(segments: pd.DataFrame, audio_path: str | Path, new: pd.DataFrame) -> pd.DataFrame:
    """Add several segments to one audio file at once (e.g. a model's proofread output).

    Parameters
    ----------
    segments : DataFrame
        The segment table.
    audio_path : str or Path
        The audio file of the new segments (matched as an absolute path).
    new : DataFrame
        Columns ``onset_s, offset_s, label`` (others, e.g. ``confidence``, are ignored).

    Returns
    -------
    DataFrame
        The table with the new segments, numbered after the largest id of that file.

    Examples
    --------
    >>> table = pd.DataFrame({"segment_id": ["a.wav#0003"], "audio_path": ["/d/a.wav"],
    ...                       "onset_s": [0.1], "offset_s": [0.2], "label": ["A"]})
    >>> new = pd.DataFrame({"onset_s": [0.3, 0.5], "offset_s": [0.4, 0.6], "label": ["B", "C"]})
    >>> add_segments(table, "/d/a.wav", new)["segment_id"].tolist()
    ['a.wav#0003', 'a.wav#0004', 'a.wav#0005']
    """
    out = normalise_segments(segments)
    path = str(Path(audio_path).absolute())
    match = _ID_NUMBER.search(_new_id(out, path))
    first = int(match.group(1)) if match else 0
    name = Path(path).name
    rows = pd.DataFrame(
        {
            "segment_id": [f"{name}#{first + k:04d}" for k in range(len(new))],
            "audio_path": [path] * len(new),
            "onset_s": new["onset_s"].to_numpy(dtype=float),
            "offset_s": new["offset_s"].to_numpy(dtype=float),
            "label": [_check_label(x) for x in new["label"]],
        },
        columns=SEGMENT_COLUMNS,
    )
    return validate_segments(pd.concat([out, rows], ignore_index=True))


# --------------------------------------------------------------------------------------
# label (class-level) edits
# --------------------------------------------------------------------------------------
def _check_labels_exist(segments: pd.DataFrame, labels: Iterable[str]) -> list[str]:
    labels = [str(x) for x in labels]
    present = set(segments["label"])
    missing = [x for x in labels if x not in present]
    if missing:
        raise AnnotationError(
            f"no segment has the label(s) {missing}; labels in use: {sorted(present)}"
        )
    return labels


def rename_label(segments: pd.DataFrame, old: str, new: str) -> pd.DataFrame:
    """Rename the label ``old`` to ``new`` everywhere (``new`` may already exist)."""
    return merge_labels(segments, [old], new)


def merge_labels(segments: pd.DataFrame, labels: Iterable[str], into: str) -> pd.DataFrame:
    """Give every segment labelled one of ``labels`` the label ``into``."""
    out = normalise_segments(segments)
    labels = _check_labels_exist(out, labels)
    out.loc[out["label"].isin(labels).to_numpy(), "label"] = _check_label(into)
    return validate_segments(out)


def delete_label(segments: pd.DataFrame, label: str) -> pd.DataFrame:
    """Remove every segment labelled ``label``."""
    out = normalise_segments(segments)
    _check_labels_exist(out, [label])
    return validate_segments(out[(out["label"] != str(label)).to_numpy()])


CLASS_OPERATIONS = ("merge", "rename", "delete")
"""The class-level edits :func:`class_edit` knows."""


@dataclass(frozen=True)
class ClassEdit:
    """A class-level edit of a segment table, checked but not yet applied.

    Made by :func:`class_edit`. ``merge``: every label of ``labels`` becomes ``into``;
    ``rename``: the one label becomes ``into``; ``delete``: the segments of the one label
    are removed.
    """

    operation: str
    labels: tuple[str, ...]
    into: str = ""

    @property
    def description(self) -> str:
        """A one-line description, e.g. ``"rename 'B' to 'C'"`` (for the undo history)."""
        if self.operation == "merge":
            return f"merge {', '.join(self.labels)} into {self.into!r}"
        if self.operation == "rename":
            return f"rename {self.labels[0]!r} to {self.into!r}"
        return f"delete label {self.labels[0]!r}"

    def apply(self, segments: pd.DataFrame) -> pd.DataFrame:
        """The edited table (a new, validated table; ``segments`` is not modified)."""
        if self.operation == "merge":
            return merge_labels(segments, self.labels, self.into)
        if self.operation == "rename":
            return rename_label(segments, self.labels[0], self.into)
        return delete_label(segments, self.labels[0])

    def preview(self, segments: pd.DataFrame) -> int:
        """Number of segments the edit would change (nothing is modified)."""
        return len(diff_tables(segments, self.apply(segments)))


def class_edit(operation: str, labels: Sequence[str], into: str = "") -> ClassEdit:
    """Check a class-level edit and return it (see :class:`ClassEdit`).

    Parameters
    ----------
    operation : str
        One of :data:`CLASS_OPERATIONS`.
    labels : sequence of str
        The labels to merge (one or more), or the one label to rename or delete.
    into : str
        The new label (``merge`` and ``rename``).

    Raises
    ------
    AnnotationError
        On an unknown operation, no label, or several labels to rename or delete.

    Examples
    --------
    >>> table = pd.DataFrame({"segment_id": ["a.wav#0000", "a.wav#0001"],
    ...                       "audio_path": ["/d/a.wav"] * 2, "onset_s": [0.1, 0.3],
    ...                       "offset_s": [0.2, 0.4], "label": ["A", "B"]})
    >>> edit = class_edit("merge", ["A", "B"], "C")
    >>> edit.description, edit.preview(table), edit.apply(table)["label"].tolist()
    ("merge A, B into 'C'", 2, ['C', 'C'])
    """
    names = tuple(str(x) for x in labels)
    if operation not in CLASS_OPERATIONS:
        raise AnnotationError(f"unknown class operation {operation!r}; use {CLASS_OPERATIONS}")
    if not names:
        raise AnnotationError(f"choose the label(s) to {operation}")
    if operation in ("rename", "delete") and len(names) != 1:
        raise AnnotationError(f"{operation} works on one label at a time, got {list(names)}")
    return ClassEdit(operation, names, str(into))


# --------------------------------------------------------------------------------------
# diffs and previews
# --------------------------------------------------------------------------------------
def diff_tables(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Segment-by-segment differences, matched by segment id.

    Returns
    -------
    DataFrame
        Columns :data:`DIFF_COLUMNS`; ``change`` is ``added``, ``removed``, ``relabelled``,
        ``moved`` or ``relabelled+moved``. Unchanged segments are left out. Sorted by file
        name then time.
    """
    a = normalise_segments(old).set_index("segment_id")
    b = normalise_segments(new).set_index("segment_id")
    both = a.join(b, how="outer", lsuffix="_a", rsuffix="_b", sort=False)
    in_a, in_b = both["label_a"].notna(), both["label_b"].notna()
    moved = (
        (both["onset_s_a"] - both["onset_s_b"]).abs().gt(TIME_EPS)
        | (both["offset_s_a"] - both["offset_s_b"]).abs().gt(TIME_EPS)
        | (both["audio_path_a"] != both["audio_path_b"])
    )
    relabelled = both["label_a"] != both["label_b"]
    change = np.select(
        [~in_a, ~in_b, relabelled & moved, relabelled, moved],
        ["added", "removed", "relabelled+moved", "relabelled", "moved"],
        default="",
    )
    path = both["audio_path_b"].where(in_b, both["audio_path_a"])
    out = pd.DataFrame(
        {
            "segment_id": both.index.astype(str),
            "wave": path.map(lambda s: Path(str(s)).name).to_numpy(),
            "change": change,
            "old_label": both["label_a"].to_numpy(),
            "new_label": both["label_b"].to_numpy(),
            "old_onset_s": both["onset_s_a"].to_numpy(),
            "old_offset_s": both["offset_s_a"].to_numpy(),
            "new_onset_s": both["onset_s_b"].to_numpy(),
            "new_offset_s": both["offset_s_b"].to_numpy(),
        },
        columns=DIFF_COLUMNS,
    )
    out = out[out["change"] != ""]
    time = out["new_onset_s"].fillna(out["old_onset_s"])
    order = np.lexsort((out["segment_id"].to_numpy(), time.to_numpy(), out["wave"].to_numpy()))
    return out.iloc[order].reset_index(drop=True)


def preview(segments: pd.DataFrame, edit: Callable[..., pd.DataFrame], *args, **kwargs) -> int:
    """Number of segments ``edit(segments, *args, **kwargs)`` would add, remove or change.

    The table is not modified. Useful before a class-level edit ("rename 'B' to 'C': 42
    segments will change").
    """
    return len(diff_tables(segments, edit(segments, *args, **kwargs)))


# --------------------------------------------------------------------------------------
# undo / redo
# --------------------------------------------------------------------------------------
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
