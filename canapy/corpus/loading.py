"""Loading a data folder into a :class:`~canapy.corpus.table.Corpus`.

Examples
--------
>>> import tempfile
>>> from canapy.synthetic import make_example_corpus
>>> folder = make_example_corpus(tempfile.mkdtemp(), n_files=2, n_unlabelled=1)
>>> corpus = load_corpus(folder)
>>> len(corpus.audio_paths), len(corpus.annotated), corpus.unannotated_paths[0].name
(3, 2, 'song_002.wav')
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from canapy.corpus.discovery import AudioIndex, find_annotation_files, find_audio_files
from canapy.corpus.format_base import MARRON1CSV, AnnotationFormat
from canapy.corpus.registry import get_format
from canapy.corpus.table import Corpus
from canapy.corpus.validation import (
    RawAnnotation,
    check_duration,
    display_path,
    resolve_audio,
    validate_rows,
)
from canapy.exceptions import AnnotationError
from canapy.segments import empty_segments, segment_table

__all__ = ["load_corpus"]

logger = logging.getLogger(__name__)


def load_corpus(
    data_dir: str | Path,
    audio_dir: str | Path | None = None,
    annot_format: str | AnnotationFormat = MARRON1CSV,
    *,
    skip_bad: bool = False,
    require_audio: bool = True,
    format_options: Mapping[str, Any] | None = None,
    overlap_tolerance_s: float = 0.0,
    drop_bad_rows: bool = False,
) -> Corpus:
    """Find audio and annotation files and build a validated :class:`Corpus`.

    Parameters
    ----------
    data_dir : str or Path
        Folder searched (recursively, skipping hidden folders and ``.canapy``) for
        annotation files.
    audio_dir : str or Path, optional
        Folder searched for audio files; defaults to ``data_dir``.
    annot_format : str
        ``marron1csv`` or a crowsetta format name (see
        :func:`~canapy.corpus.registry.readable_formats`), or a format object.
    skip_bad : bool
        Skip a bad annotation file with a warning (kept in ``Corpus.problems``) instead of
        raising.
    require_audio : bool
        If False, annotations whose audio is missing are kept; their ``audio_path`` is
        the path the annotation names (or derives from its own name).
    format_options : mapping, optional
        Extra keyword arguments of the crowsetta reader (``from_file`` or ``to_annot``),
        e.g. ``{"columns_map": {...}}`` for simple-seq, ``{"annot_col": "Species"}`` for
        raven, ``{"tier": "words"}`` for textgrid, ``{"samplerate": 32000}`` for
        birdsong-recognition-dataset.
    overlap_tolerance_s : float
        Overlaps between consecutive segments up to this duration are trimmed (both
        boundaries moved to the middle of the overlap); longer ones raise. Hand-made
        Audacity annotations of canary phrases often overlap by 10-60 ms.
    drop_bad_rows : bool
        Drop a bad row (empty or whitespace label, time not a number, end <= start) with
        a warning (kept in ``Corpus.problems``) instead of refusing its whole file.

    Returns
    -------
    Corpus

    Raises
    ------
    AnnotationError
        Unknown format, no annotation file, or a bad file (unless ``skip_bad``).
    """
    fmt = get_format(annot_format)
    data_dir = Path(data_dir).absolute()
    audio_root = Path(audio_dir).absolute() if audio_dir is not None else data_dir
    for folder in {data_dir, audio_root}:
        if not folder.is_dir():
            raise AnnotationError(f"{folder}: folder not found")
    options = dict(format_options or {})
    fmt.check_options(options)
    audio_paths = find_audio_files(audio_root)
    index = AudioIndex.build(audio_paths, audio_root)
    annot_files = find_annotation_files(data_dir, fmt.extensions)
    if not annot_files:
        raise AnnotationError(
            f"{data_dir}: no annotation file found for format {fmt.name!r} "
            f"(files ending in {', '.join(fmt.extensions)})"
        )

    tables: dict[Path, pd.DataFrame] = {}
    owner: dict[Path, Path] = {}
    problems: list[str] = []
    for path in annot_files:
        dropped: list[str] | None = [] if drop_bad_rows else None
        try:
            raws = fmt.read(path, index, options)
            new = _validate_file(
                raws, index, require_audio, data_dir, owner, overlap_tolerance_s, dropped
            )
        except AnnotationError as exc:
            if not skip_bad:
                raise
            logger.warning("skipped %s", exc)
            problems.append(str(exc))
            continue
        for message in dropped or ():
            logger.warning("%s", message)
            problems.append(message)
        for audio, table in new.items():
            tables[audio] = table
            owner[audio] = path
    annotated = tuple(sorted(tables, key=lambda p: (p.name, str(p))))
    frames = [tables[p] for p in annotated if len(tables[p])]
    segments = pd.concat(frames, ignore_index=True) if frames else empty_segments()
    logger.info(
        "loaded %d segments of %d annotated files (%d audio files) from %s",
        len(segments),
        len(annotated),
        len(audio_paths),
        data_dir,
    )
    return Corpus(segments, audio_paths, annotated, fmt.name, tuple(problems))


def _validate_file(
    raws: list[RawAnnotation],
    index: AudioIndex,
    require_audio: bool,
    root: Path,
    owner: Mapping[Path, Path],
    overlap_tolerance_s: float = 0.0,
    dropped: list[str] | None = None,
) -> dict[Path, pd.DataFrame]:
    """Validated segment tables of one annotation file, keyed by audio path."""
    out: dict[Path, pd.DataFrame] = {}
    for raw in raws:
        onsets, offsets, labels, rows = validate_rows(raw, root, overlap_tolerance_s, dropped)
        audio, exists = resolve_audio(raw, index, require_audio, root)
        if audio in owner or audio in out:
            other = owner.get(audio, raw.annot_path)
            raise AnnotationError(
                f"{display_path(raw.annot_path, root)}: {audio.name} is annotated twice "
                f"(also in {display_path(other, root)})"
            )
        if exists:
            offsets = check_duration(onsets, offsets, rows, raw, audio, root)
        out[audio] = segment_table(audio, onsets, offsets, labels)
    return out
