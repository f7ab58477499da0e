"""What an annotation format is: :class:`AnnotationFormat`, one small class per format.

A format has a ``name``, the file ``extensions`` its files end in, a ``read`` method that
turns one annotation file into :class:`~canapy.corpus.validation.RawAnnotation` objects
(validation is shared, see :mod:`canapy.corpus.validation`), and, where the format is
writable, a ``write`` method. Formats are listed in :mod:`canapy.corpus.registry`.

Examples
--------
A format of tab-separated ``start end label`` lines, one file per audio file:

>>> import numpy as np
>>> class TabSeparated(AnnotationFormat):
...     name = "tsv-example"
...     extensions = (".tsv",)
...     def read(self, path, index, options):
...         rows = [line.split("\\t") for line in path.read_text().splitlines()]
...         on, off, lab = zip(*rows, strict=True) if rows else ((), (), ())
...         return [RawAnnotation(path, "", on, off, lab, tuple(range(1, len(rows) + 1)),
...                               tuple(candidate_stems(path.name, self.extensions)))]
>>> TabSeparated().name, TabSeparated().writable
('tsv-example', False)
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from canapy.corpus.discovery import AudioIndex, candidate_stems
from canapy.corpus.validation import RawAnnotation
from canapy.exceptions import AnnotationError

__all__ = ["MARRON1CSV", "AnnotationFormat", "RawAnnotation", "candidate_stems"]

MARRON1CSV = "marron1csv"
"""Name of Canapy's own format: one CSV per audio file, columns ``wave,start,end,syll``."""


class AnnotationFormat:
    """One annotation file format (subclass it; instances hold no state).

    Attributes
    ----------
    name : str
        The name users pass as ``annot_format``.
    extensions : tuple of str
        File name endings of its files (matched case-insensitively).
    """

    name: ClassVar[str] = ""
    extensions: ClassVar[tuple[str, ...]] = ()

    @property
    def writable(self) -> bool:
        """Whether :meth:`write` is implemented."""
        return type(self).write is not AnnotationFormat.write

    def check_options(self, options: Mapping[str, Any]) -> None:
        """Raise :class:`AnnotationError` on options this format does not take."""
        if options:
            raise AnnotationError(f"{self.name} takes no format options, got {sorted(options)}")

    def read(
        self, path: Path, index: AudioIndex, options: Mapping[str, Any]
    ) -> list[RawAnnotation]:
        """The annotations of one file, unvalidated (times and labels as found).

        Parameters
        ----------
        path : Path
            The annotation file.
        index : AudioIndex
            The audio files found, to resolve names or read sample rates.
        options : mapping
            Format options (checked by :meth:`check_options`).

        Raises
        ------
        AnnotationError
            If the file cannot be read as this format.
        """
        raise NotImplementedError

    def write(self, segments: pd.DataFrame, audio: Path, out_dir: Path) -> Path:
        """Write the annotation of one audio file into ``out_dir``, atomically.

        ``segments`` has the columns ``onset_s, offset_s, label``, already validated and
        sorted. Returns the file written.
        """
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<annotation format {self.name!r}>"
