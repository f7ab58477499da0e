"""The segment-table contract shared by the corpus, edits, metrics, review and store.

A *segment table* is a :class:`pandas.DataFrame` with the columns :data:`SEGMENT_COLUMNS`:

``segment_id``
    A stable id, ``"<audio file name>#<k>"`` (string).
``audio_path``
    The absolute path of the audio file (string).
``onset_s``, ``offset_s``
    Start and end in seconds (float), ``0 <= onset_s < offset_s``.
``label``
    A non-empty string (``"0"`` stays ``"0"``).

A *normalised* table has exactly these columns, in this order, with these dtypes, sorted by
audio file name, path, onset then offset (:func:`normalise_segments`). A *valid* table also
has unique ids, finite non-negative times, positive lengths, non-empty labels and no two
overlapping segments of one file; touching is fine, within :data:`TIME_EPS`
(:func:`validate_segments`).

Scoring needs only :data:`SCORED_COLUMNS` (no id). Canapy's own ``marron1csv`` files name
the columns differently (:data:`CSV_COLUMNS`); the renaming happens only where a CSV is
read or written (:func:`to_csv_columns`, :func:`from_csv_columns`).

Examples
--------
>>> table = pd.DataFrame({"segment_id": ["a.wav#0001", "a.wav#0000"],
...                       "audio_path": ["/d/a.wav"] * 2, "onset_s": [0.3, 0.1],
...                       "offset_s": [0.4, 0.2], "label": ["B", "A"]})
>>> validate_segments(table)["segment_id"].tolist()
['a.wav#0000', 'a.wav#0001']
>>> list(to_csv_columns(table).columns)
['segment_id', 'wave', 'start', 'end', 'syll']
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from canapy.exceptions import AnnotationError

__all__ = [
    "CSV_COLUMNS",
    "SCORED_COLUMNS",
    "SEGMENT_COLUMNS",
    "TIME_EPS",
    "describe_segment",
    "empty_segments",
    "from_csv_columns",
    "normalise_segments",
    "require_columns",
    "segment_table",
    "to_csv_columns",
    "validate_segments",
]

SEGMENT_COLUMNS = ["segment_id", "audio_path", "onset_s", "offset_s", "label"]
"""Columns of a segment table, in order."""

SCORED_COLUMNS = ("audio_path", "onset_s", "offset_s", "label")
"""The columns scoring needs (a segment table without its ids, e.g. a model's output)."""

CSV_COLUMNS = {"audio_path": "wave", "onset_s": "start", "offset_s": "end", "label": "syll"}
"""Segment-table column -> column of Canapy's ``marron1csv`` CSV files."""

TIME_EPS = 1e-9
"""Slack for floating-point rounding when comparing times (seconds).

E.g. ``0.31 - 0.30 == 0.010000000000000009``, so a 10 ms tolerance is checked as
``<= 0.01 + TIME_EPS``; two segments overlap only if one ends more than ``TIME_EPS``
after the next starts.
"""


def require_columns(table: pd.DataFrame, columns: Any = SEGMENT_COLUMNS, name: str = "") -> None:
    """Raise :class:`AnnotationError` if ``table`` lacks one of ``columns``.

    Examples
    --------
    >>> require_columns(pd.DataFrame({"onset_s": []}), SCORED_COLUMNS, "reference")
    Traceback (most recent call last):
    ...
    canapy.exceptions.AnnotationError: reference segment table lacks column(s) \
['audio_path', 'offset_s', 'label']; it needs ['audio_path', 'onset_s', 'offset_s', 'label']
    """
    missing = [c for c in columns if c not in table.columns]
    if missing:
        what = f"{name} segment table" if name else "segment table"
        raise AnnotationError(f"{what} lacks column(s) {missing}; it needs {list(columns)}")


def segment_table(
    audio: Path, onsets: np.ndarray, offsets: np.ndarray, labels: list[str]
) -> pd.DataFrame:
    """The segment table of one audio file, ids numbered in the given order.

    Examples
    --------
    >>> segment_table(Path("/d/a.wav"), np.array([0.1]), np.array([0.2]), ["A"]).iloc[0, 0]
    'a.wav#0000'
    """
    ids = [f"{audio.name}#{k:04d}" for k in range(len(onsets))]
    return pd.DataFrame(
        {
            "segment_id": pd.Series(ids, dtype=object),
            "audio_path": pd.Series([str(audio)] * len(onsets), dtype=object),
            "onset_s": np.asarray(onsets).astype(float),
            "offset_s": np.asarray(offsets).astype(float),
            "label": pd.Series(labels, dtype=object),
        },
        columns=SEGMENT_COLUMNS,
    )


def empty_segments() -> pd.DataFrame:
    """A segment table with no row (the right columns and dtypes).

    Examples
    --------
    >>> len(empty_segments()), list(empty_segments().columns) == SEGMENT_COLUMNS
    (0, True)
    """
    return segment_table(Path("x"), np.zeros(0), np.zeros(0), [])


def normalise_segments(segments: pd.DataFrame) -> pd.DataFrame:
    """A copy with the segment columns only, string labels, sorted by file name and onset.

    Raises
    ------
    AnnotationError
        If a column is missing.
    """
    require_columns(segments)
    out = pd.DataFrame(
        {
            "segment_id": segments["segment_id"].astype(str).to_numpy(dtype=object),
            "audio_path": segments["audio_path"].astype(str).to_numpy(dtype=object),
            "onset_s": segments["onset_s"].to_numpy(dtype=float),
            "offset_s": segments["offset_s"].to_numpy(dtype=float),
            "label": segments["label"].astype(str).str.strip().to_numpy(dtype=object),
        },
        columns=SEGMENT_COLUMNS,
    )
    names = out["audio_path"].map(lambda s: Path(s).name)
    order = np.lexsort(
        (out["offset_s"].to_numpy(), out["onset_s"].to_numpy(), out["audio_path"], names)
    )
    return out.iloc[order].reset_index(drop=True)


def describe_segment(row: Any) -> str:
    """``"segment <id> ('<label>', <onset>-<offset> s in <file name>)"`` for a table row.

    Examples
    --------
    >>> row = segment_table(Path("/d/a.wav"), np.array([0.1]), np.array([0.2]), ["A"]).iloc[0]
    >>> describe_segment(row)
    "segment a.wav#0000 ('A', 0.1-0.2 s in a.wav)"
    """
    return (
        f"segment {row.segment_id} ({row.label!r}, {row.onset_s:.6g}-{row.offset_s:.6g} s "
        f"in {Path(row.audio_path).name})"
    )


def validate_segments(segments: pd.DataFrame) -> pd.DataFrame:
    """Check a segment table; return it normalised (see :func:`normalise_segments`).

    Raises
    ------
    AnnotationError
        On a duplicate segment id, a non-finite or negative time, an empty label, a
        segment whose end is not after its start, or two overlapping segments of a file.
        The message names the segment(s) and the fix.

    Examples
    --------
    >>> bad = pd.DataFrame({"segment_id": ["x#0"], "audio_path": ["x.wav"],
    ...                     "onset_s": [0.3], "offset_s": [0.2], "label": ["A"]})
    >>> validate_segments(bad)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    canapy.exceptions.AnnotationError: segment x#0 ('A', 0.3-0.2 s in x.wav): end is not ...
    """
    seg = normalise_segments(segments)
    dup = seg["segment_id"].duplicated(keep=False)
    if dup.any():
        ids = sorted(set(seg.loc[dup, "segment_id"]))
        raise AnnotationError(f"duplicate segment id(s) {ids[:5]}: every segment needs its own id")
    on, off = seg["onset_s"].to_numpy(), seg["offset_s"].to_numpy()
    problems = [
        (~(np.isfinite(on) & np.isfinite(off)), "start or end is not a number"),
        ((on < 0) | (off < 0), "negative time"),
        (off <= on, "end is not after start; give it a positive length or delete it"),
        (seg["label"].str.len().to_numpy() == 0, "empty label"),
    ]
    for mask, what in problems:
        if mask.any():
            row = next(seg[mask].itertuples(index=False))
            raise AnnotationError(f"{describe_segment(row)}: {what}")
    same_file = seg["audio_path"].to_numpy()[1:] == seg["audio_path"].to_numpy()[:-1]
    overlap = same_file & (off[:-1] > on[1:] + TIME_EPS)
    if overlap.any():
        k = int(np.flatnonzero(overlap)[0])
        first, second = seg.iloc[k], seg.iloc[k + 1]
        raise AnnotationError(
            f"{describe_segment(second)} overlaps {describe_segment(first)}; "
            "move a boundary so that one ends before the other starts"
        )
    return seg


def to_csv_columns(table: pd.DataFrame) -> pd.DataFrame:
    """A copy with the segment columns renamed to the CSV ones (:data:`CSV_COLUMNS`)."""
    return table.rename(columns=CSV_COLUMNS)


def from_csv_columns(table: pd.DataFrame) -> pd.DataFrame:
    """A copy with the CSV columns (``wave, start, end, syll``) renamed to segment columns.

    Examples
    --------
    >>> list(from_csv_columns(pd.DataFrame(columns=["wave", "start", "end", "syll"])).columns)
    ['audio_path', 'onset_s', 'offset_s', 'label']
    """
    return table.rename(columns={v: k for k, v in CSV_COLUMNS.items()})
