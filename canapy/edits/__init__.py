"""Pure edits of a segment table, their validation, diffs and an undo/redo history.

A *segment table* is a :class:`pandas.DataFrame` with the columns
:data:`canapy.segments.SEGMENT_COLUMNS` (``segment_id, audio_path, onset_s, offset_s,
label``), as in :attr:`canapy.corpus.Corpus.segments`. Every edit returns a **new** table,
sorted by audio file name then onset, and validated: no empty label, no negative time, no
segment of zero or negative length, no two segments of one file overlapping (touching is
fine). A bad edit raises :class:`canapy.exceptions.AnnotationError` naming the segment.

Segment ids are stable: an edited segment keeps its id, so :func:`diff_tables` can tell a
relabelled or moved segment from a removed and an added one. A new segment (``add``, the
second half of a ``split``) gets ``"<audio file name>#<k>"`` with ``k`` one more than the
largest number used in that file.

Modules: :mod:`~canapy.edits.segment_edits`, :mod:`~canapy.edits.class_edits`,
:mod:`~canapy.edits.diffs` and :mod:`~canapy.edits.history`; the table's validation is
:mod:`canapy.segments`.

Examples
--------
>>> import pandas as pd
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

from canapy.edits.class_edits import (
    CLASS_OPERATIONS,
    ClassEdit,
    class_edit,
    delete_label,
    merge_labels,
    rename_label,
)
from canapy.edits.diffs import DIFF_COLUMNS, diff_tables, preview
from canapy.edits.history import EditHistory
from canapy.edits.segment_edits import (
    add,
    add_segments,
    delete,
    merge,
    merge_with_next,
    move,
    relabel,
    split,
)
from canapy.segments import normalise_segments, validate_segments

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
