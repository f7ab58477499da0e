"""A validated table of annotated segments and the audio files it refers to.

Annotations are read in Canapy's own ``marron1csv`` layout (one CSV per audio file, columns
``wave,start,end,syll``) or in any format crowsetta knows. Every file is checked (times,
order, overlaps, audio present and long enough); an error names the file and the row.

The segment table has the columns :data:`SEGMENT_COLUMNS` (see :mod:`canapy.segments`).
Labels are always strings (``"0"`` stays ``"0"``). A segment id ``"<audio file name>#<k>"``
numbers the segments of a file in time order; it is stable as long as the annotation of
that file does not change.

The package's modules, one job each:

- :mod:`~canapy.corpus.discovery`: finding audio and annotation files;
- :mod:`~canapy.corpus.format_base`, :mod:`~canapy.corpus.marron1csv`,
  :mod:`~canapy.corpus.crowsetta_formats`: one class per annotation format;
- :mod:`~canapy.corpus.registry`: the formats by name (:data:`FORMATS`);
- :mod:`~canapy.corpus.validation`: checking what a format read;
- :mod:`~canapy.corpus.loading`: :func:`load_corpus`;
- :mod:`~canapy.corpus.table`: the :class:`Corpus` and its fingerprint;
- :mod:`~canapy.corpus.writing`: :func:`write_annotation`.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> import pandas as pd
>>> folder = Path(tempfile.mkdtemp())
>>> _ = (folder / "a.wav").write_bytes(b"")  # the audio is only checked when loading
>>> seg = pd.DataFrame({"onset_s": [0.1], "offset_s": [0.2], "label": ["0"]})
>>> write_annotation(seg, folder / "a.wav", folder / "out").name
'a.csv'
>>> get_format("marron1csv").extensions, "textgrid" in writable_formats()
(('.csv',), False)
"""

from canapy.corpus.discovery import find_audio_files
from canapy.corpus.format_base import MARRON1CSV, AnnotationFormat
from canapy.corpus.loading import load_corpus
from canapy.corpus.registry import (
    FORMATS,
    FormatRegistry,
    get_format,
    readable_formats,
    writable_formats,
)
from canapy.corpus.table import Corpus, corpus_fingerprint
from canapy.corpus.writing import write_annotation
from canapy.segments import SEGMENT_COLUMNS

__all__ = [
    "FORMATS",
    "MARRON1CSV",
    "SEGMENT_COLUMNS",
    "AnnotationFormat",
    "Corpus",
    "FormatRegistry",
    "corpus_fingerprint",
    "find_audio_files",
    "get_format",
    "load_corpus",
    "readable_formats",
    "writable_formats",
    "write_annotation",
]
