"""Loading a data folder for the dashboard: the corpus, its warnings and its store."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from canapy.audio import audio_info
from canapy.exceptions import CanapyError

from .correction import StoredTable, read_store
from .tasks import Progress

__all__ = ["LoadedCorpus", "load_data_folder"]


@dataclass(frozen=True)
class LoadedCorpus:
    """What loading a data folder found (``corpus`` is None when it failed)."""

    corpus: Any
    error: str = ""
    warnings: tuple[str, ...] = ()
    audio_seconds: float = 0.0
    stored: StoredTable | None = None


def load_data_folder(folder: str, annot_format: str, progress: Progress) -> LoadedCorpus:
    """Load ``folder`` (bad files skipped and listed) and where its editing starts.

    Parameters
    ----------
    folder : str
        The annotated data folder.
    annot_format : str
        Its annotation format (see :func:`canapy.corpus.load_corpus`).
    progress : callable
        ``progress(fraction, message)`` while the audio headers are read.

    Returns
    -------
    LoadedCorpus
        The corpus and its warnings, or the error (``corpus`` None) that stopped it.
    """
    from canapy.corpus import load_corpus

    try:
        corpus = load_corpus(folder, annot_format=annot_format, skip_bad=True)
    except CanapyError as exc:
        return LoadedCorpus(None, str(exc))
    warnings = [f"skipped: {p}" for p in corpus.problems] + corpus.check()
    total = 0.0
    for k, path in enumerate(corpus.audio_paths):
        progress(k / max(1, len(corpus.audio_paths)), f"reading {path.name}")
        with contextlib.suppress(CanapyError):
            total += audio_info(path)[1]
    try:
        stored = read_store(folder, corpus)
    except CanapyError as exc:
        warnings.append(f"annotation store not used: {exc}")
        stored = StoredTable(None, corpus.segments, None, tuple(map(str, corpus.annotated)))
    return LoadedCorpus(corpus, "", tuple(warnings), total, stored)
