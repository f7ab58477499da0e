"""Class-level (label) edits: rename, merge or delete a label everywhere.

Examples
--------
>>> table = pd.DataFrame({"segment_id": ["a.wav#0000", "a.wav#0001"],
...                       "audio_path": ["/d/a.wav"] * 2, "onset_s": [0.1, 0.3],
...                       "offset_s": [0.2, 0.4], "label": ["A", "B"]})
>>> rename_label(table, "B", "A")["label"].tolist()
['A', 'A']
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

from canapy.edits.diffs import diff_tables
from canapy.edits.segment_edits import check_label
from canapy.exceptions import AnnotationError
from canapy.segments import normalise_segments, validate_segments

__all__ = [
    "CLASS_OPERATIONS",
    "ClassEdit",
    "class_edit",
    "delete_label",
    "merge_labels",
    "rename_label",
]


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
    out.loc[out["label"].isin(labels).to_numpy(), "label"] = check_label(into)
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
