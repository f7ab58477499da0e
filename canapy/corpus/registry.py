"""The annotation formats Canapy knows, by name: one registry, one class per format.

To add a format, write one :class:`~canapy.corpus.format_base.AnnotationFormat` subclass
(a crowsetta format: a :class:`~canapy.corpus.crowsetta_formats.CrowsettaFormat`
subclass naming it) and list it in :data:`FORMATS`. A format of your own can also be
passed directly, as an instance, wherever a format name is accepted
(:func:`canapy.corpus.load_corpus`, :func:`canapy.corpus.write_annotation`).

Examples
--------
>>> readable_formats()[:3]
['marron1csv', 'aud-bbox', 'aud-seq']
>>> writable_formats()
['marron1csv', 'aud-seq', 'generic-seq', 'notmat', 'raven', 'simple-seq']
>>> get_format("raven")
<annotation format 'raven'>
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from canapy.corpus.crowsetta_formats import (
    AudBbox,
    AudSeq,
    BirdsongRecognition,
    GenericSeq,
    Notmat,
    Raven,
    SimpleSeq,
    TextGrid,
    Timit,
    Yarden,
)
from canapy.corpus.format_base import AnnotationFormat
from canapy.corpus.marron1csv import Marron1Csv
from canapy.exceptions import AnnotationError

__all__ = ["FORMATS", "FormatRegistry", "get_format", "readable_formats", "writable_formats"]


@dataclass(frozen=True)
class FormatRegistry(Mapping[str, AnnotationFormat]):
    """An immutable mapping from format name to format, in listing order.

    Canapy's own formats come first, then crowsetta's, alphabetically.
    """

    formats: tuple[AnnotationFormat, ...]

    def __post_init__(self) -> None:
        names = [f.name for f in self.formats]
        if len(set(names)) != len(names) or not all(names):
            raise ValueError(f"format names must be unique and non-empty: {names}")

    def __getitem__(self, name: str) -> AnnotationFormat:
        for fmt in self.formats:
            if fmt.name == name:
                return fmt
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return (f.name for f in self.formats)

    def __len__(self) -> int:
        return len(self.formats)

    def with_formats(self, extra: Iterable[AnnotationFormat]) -> FormatRegistry:
        """A new registry with more formats (listed last)."""
        return FormatRegistry((*self.formats, *extra))

    def readable(self) -> list[str]:
        """Names of every format."""
        return list(self)

    def writable(self) -> list[str]:
        """Names of the formats that can be written."""
        return [f.name for f in self.formats if f.writable]

    def get(self, name: str | AnnotationFormat, writable: bool = False) -> AnnotationFormat:  # type: ignore[override]
        """The format of that name (a format instance is returned as is).

        Raises
        ------
        AnnotationError
            On an unknown format (or one that cannot be written, with ``writable``),
            listing the allowed names.
        """
        if isinstance(name, AnnotationFormat):
            fmt: AnnotationFormat | None = name
        else:
            fmt = next((f for f in self.formats if f.name == name), None)
        allowed = self.writable() if writable else self.readable()
        if fmt is None or (writable and not fmt.writable):
            raise AnnotationError(
                f"unknown annotation format {name!r}; allowed: {', '.join(allowed)}"
            )
        return fmt


FORMATS = FormatRegistry(
    (
        Marron1Csv(),
        AudBbox(),
        AudSeq(),
        BirdsongRecognition(),
        GenericSeq(),
        Notmat(),
        Raven(),
        SimpleSeq(),
        TextGrid(),
        Timit(),
        Yarden(),
    )
)
"""Every annotation format Canapy reads (immutable)."""


def get_format(name: str | AnnotationFormat, writable: bool = False) -> AnnotationFormat:
    """The format of that name in :data:`FORMATS` (see :meth:`FormatRegistry.get`)."""
    return FORMATS.get(name, writable=writable)


def readable_formats() -> list[str]:
    """Annotation formats :func:`canapy.corpus.load_corpus` reads: ``marron1csv`` first.

    Examples
    --------
    >>> readable_formats()[0]
    'marron1csv'
    """
    return FORMATS.readable()


def writable_formats() -> list[str]:
    """Annotation formats :func:`canapy.corpus.write_annotation` writes.

    Examples
    --------
    >>> "simple-seq" in writable_formats()
    True
    """
    return FORMATS.writable()
