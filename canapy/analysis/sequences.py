"""Segment tables -> song bouts and phrases (pure functions over DataFrames).

A *bout* is a run of segments of one file whose gaps are all at most ``gap_s``; a
*phrase* is a run of one label inside a bout (``aaabbbccc`` is three phrases of three).
Labels listed in ``ignore`` (by default the silence tag ``SIL``) are removed first, so an
explicit silence segment counts as a gap.

Any segment table works: Canapy's own (``audio_path, onset_s, offset_s, label``), the
``marron1csv`` layout (``wave, start, end, syll``) or a model's output.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from canapy.exceptions import AnalysisError

__all__ = [
    "DEFAULT_GAP_S",
    "PHRASE_COLUMNS",
    "as_sequence_table",
    "bout_sequences",
    "phrase_table",
]

DEFAULT_GAP_S = 0.5
"""Bouts are split at silences longer than this (seconds)."""

PHRASE_COLUMNS = ["file", "bout", "label", "onset_s", "offset_s", "duration_s", "repeats"]
"""Columns of :func:`phrase_table`."""

_ALIASES = {
    "file": ("audio_path", "wave", "file", "notated_path"),
    "onset_s": ("onset_s", "start", "onset"),
    "offset_s": ("offset_s", "end", "offset"),
    "label": ("label", "syll"),
}


def as_sequence_table(segments: pd.DataFrame, ignore: Iterable[str] = ("SIL",)) -> pd.DataFrame:
    """A segment table in any known layout -> ``file, onset_s, offset_s, label``.

    Labels become strings, rows with a label in ``ignore`` are dropped, and rows are
    sorted by file then onset.

    Raises
    ------
    AnalysisError
        A needed column is missing.

    Examples
    --------
    >>> seg = pd.DataFrame({"wave": ["a.wav"] * 3, "start": [0.2, 0.0, 0.1],
    ...                     "end": [0.3, 0.05, 0.15], "syll": [1, "SIL", 2]})
    >>> as_sequence_table(seg)["label"].tolist()
    ['2', '1']
    """
    out = {}
    for name, candidates in _ALIASES.items():
        col = next((c for c in candidates if c in segments.columns), None)
        if col is None:
            raise AnalysisError(
                f"the segment table has no {name!r} column (looked for "
                f"{', '.join(candidates)}; found {', '.join(map(str, segments.columns))})"
            )
        out[name] = segments[col].to_numpy()
    table = pd.DataFrame(out)
    table["file"] = table["file"].astype(str)
    table["label"] = table["label"].astype(str).str.strip()
    table["onset_s"] = table["onset_s"].astype(float)
    table["offset_s"] = table["offset_s"].astype(float)
    table = table[~table["label"].isin(set(ignore))]
    return table.sort_values(["file", "onset_s"], kind="stable").reset_index(drop=True)


def _bout_ids(table: pd.DataFrame, gap_s: float) -> np.ndarray:
    """Bout number (0, 1, ...) of each row of a sorted sequence table, over all files."""
    if table.empty:
        return np.zeros(0, dtype=int)
    new_file = table["file"].ne(table["file"].shift()).to_numpy()
    gap = table["onset_s"].to_numpy() - table["offset_s"].shift().to_numpy()
    starts = new_file | (np.nan_to_num(gap, nan=np.inf) > gap_s)
    return np.cumsum(starts) - 1


def phrase_table(
    segments: pd.DataFrame, gap_s: float = DEFAULT_GAP_S, ignore: Iterable[str] = ("SIL",)
) -> pd.DataFrame:
    """One row per phrase: a run of one label inside a bout.

    Parameters
    ----------
    segments : DataFrame
        Any segment table (see :func:`as_sequence_table`).
    gap_s : float
        Silences longer than this end a bout (and so a phrase).
    ignore : iterable of str
        Labels removed before the analysis (silence tags).

    Returns
    -------
    DataFrame
        Columns :data:`PHRASE_COLUMNS`: ``bout`` numbers bouts over the whole table,
        ``repeats`` is the number of segments in the phrase.

    Examples
    --------
    >>> seg = pd.DataFrame({"wave": "a.wav", "start": np.arange(9) * 0.1,
    ...                     "end": np.arange(9) * 0.1 + 0.05, "syll": list("aaabbbccc")})
    >>> phrase_table(seg)[["label", "repeats"]].values.tolist()
    [['a', 3], ['b', 3], ['c', 3]]
    """
    table = as_sequence_table(segments, ignore)
    if table.empty:
        return pd.DataFrame(columns=PHRASE_COLUMNS)
    bout = _bout_ids(table, gap_s)
    labels = table["label"].to_numpy()
    new_phrase = np.ones(len(table), dtype=bool)
    new_phrase[1:] = (bout[1:] != bout[:-1]) | (labels[1:] != labels[:-1])
    phrase = np.cumsum(new_phrase) - 1
    grouped = table.assign(bout=bout, phrase=phrase).groupby("phrase", sort=True)
    out = pd.DataFrame(
        {
            "file": grouped["file"].first(),
            "bout": grouped["bout"].first(),
            "label": grouped["label"].first(),
            "onset_s": grouped["onset_s"].first(),
            "offset_s": grouped["offset_s"].max(),
            "repeats": grouped.size(),
        }
    )
    out["duration_s"] = out["offset_s"] - out["onset_s"]
    return out[PHRASE_COLUMNS].reset_index(drop=True)


def bout_sequences(
    segments: pd.DataFrame,
    gap_s: float = DEFAULT_GAP_S,
    unit: str = "syllable",
    ignore: Iterable[str] = ("SIL",),
) -> list[list[str]]:
    """Label sequence of every bout, of syllables or of phrases.

    Parameters
    ----------
    segments : DataFrame
        Any segment table.
    gap_s : float
        Silences longer than this split bouts.
    unit : {"syllable", "phrase"}
        ``"syllable"``: one symbol per segment; ``"phrase"``: runs of one label collapsed
        into one symbol (for phrase-level song such as canary's, and to study phrase
        syntax of syllable-level annotations).
    ignore : iterable of str
        Labels removed first.

    Examples
    --------
    >>> seg = pd.DataFrame({"wave": "a.wav", "start": [0, 0.1, 0.2, 5.0],
    ...                     "end": [0.05, 0.15, 0.25, 5.1], "syll": list("aabc")})
    >>> bout_sequences(seg), bout_sequences(seg, unit="phrase")
    ([['a', 'a', 'b'], ['c']], [['a', 'b'], ['c']])
    """
    if unit not in ("syllable", "phrase"):
        raise AnalysisError(f"unit must be 'syllable' or 'phrase', got {unit!r}")
    if unit == "phrase":
        table = phrase_table(segments, gap_s, ignore)
        bout = table["bout"].to_numpy()
    else:
        table = as_sequence_table(segments, ignore)
        bout = _bout_ids(table, gap_s)
    labels = table["label"].to_numpy()
    if len(labels) == 0:
        return []
    cuts = np.flatnonzero(np.diff(bout)) + 1
    return [list(part) for part in np.split(labels, cuts)]
