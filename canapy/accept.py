"""Accept the suggestions a user marked in a suspects CSV, as a new store version.

``canapy review`` writes the ranked suspects (:meth:`canapy.review.ReviewResult.to_csv`);
the user opens it in a spreadsheet and marks the rows to accept in an ``accept`` column
(``1``, ``x``, ``yes``, ``true``, ``y`` or ``accept``; anything else, or empty, is not
accepted). :func:`accept_marked` applies exactly those rows through
:func:`canapy.review.apply_suggestions` (``strict=True``: a row that cannot take its
suggestion is an error naming it) and saves the result in the
:class:`canapy.store.AnnotationStore`, so the original annotation files are untouched and
the step can be undone with ``canapy history restore``.

Examples
--------
>>> table = pd.DataFrame({"segment_id": ["a#0", "a#1", "a#2"], "accept": ["x", "", "no"]})
>>> marked_ids(table)
['a#0']
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from canapy.exceptions import CanapyError

__all__ = ["ACCEPT_COLUMN", "AcceptResult", "accept_marked", "marked_ids", "read_suspects"]

logger = logging.getLogger(__name__)

ACCEPT_COLUMN = "accept"
"""Column of the suspects CSV in which the user marks the rows to accept."""
_YES = {"1", "1.0", "x", "yes", "y", "true", "accept", "accepted"}
_NEEDED = ("segment_id", "audio_path", "syll", "suggested")


def read_suspects(path: str | Path) -> pd.DataFrame:
    """Read a suspects CSV written by ``canapy review`` (and marked by the user).

    Raises
    ------
    CanapyError
        If the file is missing, unreadable or lacks a column of the review or the
        ``accept`` column.
    """
    path = Path(path)
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise CanapyError(f"{path}: no such file (the CSV written by `canapy review`)") from None
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise CanapyError(f"{path}: not a readable CSV file ({exc})") from None
    missing = [c for c in _NEEDED if c not in table.columns]
    if missing:
        raise CanapyError(
            f"{path}: missing column(s) {missing}; use the CSV written by `canapy review`"
        )
    if ACCEPT_COLUMN not in table.columns:
        raise CanapyError(
            f"{path}: no {ACCEPT_COLUMN!r} column; add one and put x (or 1, yes) in the "
            "rows whose suggestion you accept"
        )
    return table


def marked_ids(table: pd.DataFrame, column: str = ACCEPT_COLUMN) -> list[str]:
    """Segment ids of the rows marked in ``column`` (x, 1, yes, y, true, accept)."""
    marks = table[column].astype(str).str.strip().str.lower()
    return [str(s) for s in table.loc[marks.isin(_YES), "segment_id"]]


@dataclass(frozen=True)
class AcceptResult:
    """What :func:`accept_marked` did.

    Attributes
    ----------
    version : int
        The store's new head (the base version when nothing changed).
    base_version : int
        The version the suggestions were applied to.
    accepted : tuple of str
        Segment ids whose suggestion was accepted.
    """

    version: int
    base_version: int
    accepted: tuple[str, ...]


def accept_marked(
    store: Any,
    suspects: pd.DataFrame,
    corpus: Any = None,
    author: str | None = None,
    message: str | None = None,
    base_version: int | None = None,
) -> AcceptResult:
    """Accept the marked suggestions of ``suspects`` into a new version of ``store``.

    Parameters
    ----------
    store : canapy.store.AnnotationStore
        The store of the data folder. Created from ``corpus`` (version 1 = the original
        files) if it does not exist yet.
    suspects : DataFrame
        :func:`read_suspects` of the marked CSV.
    corpus : canapy.corpus.Corpus, optional
        The original annotations; needed only when the store does not exist yet.
    author, message : str, optional
        Recorded with the new version.
    base_version : int, optional
        Version the review was made on (default: the head). It must still be the head.

    Raises
    ------
    CanapyError
        If no row is marked, or the store is missing and no corpus is given.
    AnnotationError
        If a marked row cannot take its suggestion (no suggestion, equal to the label,
        segment removed or relabelled since the review).
    ConflictError
        If ``base_version`` is no longer the head.
    """
    from canapy.review import apply_suggestions

    ids = marked_ids(suspects)
    if not ids:
        raise CanapyError(
            f"no row is marked in the {ACCEPT_COLUMN!r} column: put x (or 1, yes) in the "
            "rows whose suggestion you accept"
        )
    if not store.exists:
        if corpus is None:
            raise CanapyError(f"{store.root}: no annotation store yet and no corpus to start it")
        store.init_from(corpus, author=author)
    base = store.head if base_version is None else int(base_version)
    table = suspects.assign(suggested=suspects["suggested"].fillna(""))
    table = table.assign(audio_path=[str(Path(p).absolute()) for p in table["audio_path"]])
    accepted = apply_suggestions(store.as_corpus(base), table, segment_ids=ids, strict=True)
    text = message or f"accept {len(ids)} suggestion(s) of canapy review"
    version = store.save(accepted.segments, author, text, base_version=base)
    logger.info("accepted %d suggestions into version %d", len(ids), version)
    return AcceptResult(version, base, tuple(ids))
