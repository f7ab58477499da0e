"""Edits of single segments: relabel, move, split, merge, delete, add.

Every edit returns a **new**, validated table (:func:`canapy.segments.validate_segments`);
a bad edit raises :class:`canapy.exceptions.AnnotationError` naming the segment. A new
segment gets the id ``"<audio file name>#<k>"``, ``k`` one more than the largest number
used in that file.

Examples
--------
>>> table = pd.DataFrame({"segment_id": ["a.wav#0000", "a.wav#0001"],
...                       "audio_path": ["/d/a.wav"] * 2, "onset_s": [0.1, 0.3],
...                       "offset_s": [0.2, 0.4], "label": ["A", "B"]})
>>> move(table, "a.wav#0001", 0.25, 0.45)["onset_s"].tolist()
[0.1, 0.25]
"""

from __future__ import annotations

import re
from collections.abc import Iterable
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
    "add",
    "add_segments",
    "check_label",
    "delete",
    "merge",
    "merge_with_next",
    "move",
    "relabel",
    "split",
]

_ID_NUMBER = re.compile(r"#(\d+)$")


def _rows_of(segments: pd.DataFrame, ids: Iterable[str]) -> np.ndarray:
    """Boolean mask of the rows of ``ids``; AnnotationError naming unknown ids."""
    ids = [str(i) for i in ids]
    known = set(segments["segment_id"])
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise AnnotationError(f"unknown segment id(s) {unknown[:5]}")
    return segments["segment_id"].isin(ids).to_numpy()


def check_label(label: str) -> str:
    """The label stripped; :class:`AnnotationError` if it is empty."""
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
    out.loc[_rows_of(out, ids), "label"] = check_label(label)
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
        out.loc[first, "label"] = check_label(label)
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
        [[_new_id(out, path), path, float(onset_s), float(offset_s), check_label(label)]],
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
            "label": [check_label(x) for x in new["label"]],
        },
        columns=SEGMENT_COLUMNS,
    )
    return validate_segments(pd.concat([out, rows], ignore_index=True))
