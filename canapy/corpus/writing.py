"""Writing the annotation of one audio file, in any writable format.

Examples
--------
>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> seg = pd.DataFrame({"onset_s": [0.3, 0.1], "offset_s": [0.4, 0.2], "label": ["B", "A"]})
>>> write_annotation(seg, folder / "x.wav", folder, "simple-seq").name
'x.csv'
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from canapy.corpus.format_base import MARRON1CSV, AnnotationFormat
from canapy.corpus.registry import get_format
from canapy.corpus.validation import RawAnnotation, validate_rows
from canapy.exceptions import AnnotationError

__all__ = ["write_annotation"]


def _segments_for(segments: pd.DataFrame, audio_path: Path) -> pd.DataFrame:
    missing = {"onset_s", "offset_s", "label"} - set(segments.columns)
    if missing:
        raise AnnotationError(f"segments lack column(s) {sorted(missing)}")
    if "audio_path" in segments.columns and len(segments):
        same = segments["audio_path"].map(lambda s: Path(str(s)).name == audio_path.name)
        segments = segments[same.to_numpy(dtype=bool)]
    raw = RawAnnotation(
        audio_path,
        audio_path.name,
        tuple(segments["onset_s"]),
        tuple(segments["offset_s"]),
        tuple(segments["label"]),
        tuple(range(1, len(segments) + 1)),
    )
    onsets, offsets, labels, _ = validate_rows(raw, audio_path.parent)
    return pd.DataFrame({"onset_s": onsets, "offset_s": offsets, "label": labels})


def write_annotation(
    segments: pd.DataFrame,
    audio_path: str | Path,
    out_dir: str | Path,
    annot_format: str | AnnotationFormat = MARRON1CSV,
) -> Path:
    """Write the annotation of one audio file, atomically.

    Parameters
    ----------
    segments : pd.DataFrame
        Columns ``onset_s``, ``offset_s``, ``label``; if it has an ``audio_path`` column,
        only the rows of ``audio_path`` (matched by file name) are written.
    audio_path : str or Path
        The annotated audio file.
    out_dir : str or Path
        Folder of the annotation file (created if missing).
    annot_format : str
        One of :func:`~canapy.corpus.registry.writable_formats` (or a format object).
        File names: marron1csv, simple-seq and generic-seq ``<stem>.csv``; aud-seq
        ``<stem>.audacity.txt``; raven ``<stem>.Table.1.selections.txt``; notmat
        ``<audio name>.not.mat``.

    Returns
    -------
    Path
        The file written. An existing file is replaced in one rename, never half-written.

    Raises
    ------
    AnnotationError
        Unwritable format, or invalid segments.
    """
    fmt = get_format(annot_format, writable=True)
    audio = Path(audio_path).absolute()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return fmt.write(_segments_for(segments, audio), audio, out)
