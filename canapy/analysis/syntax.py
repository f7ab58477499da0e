"""Song syntax: transitions, entropy, linearity and consistency of label sequences.

Definitions (all plug-in estimates from counts, logarithms in base 2):

- Transition counts of order ``k`` count each symbol after its ``k`` predecessors in a bout;
  the tables pad every bout with ``k`` start symbols :data:`START` and one end symbol
  :data:`END`, so they also show how bouts begin and end.
- ``H(Xₙ | k previous)`` is ``Σ_c p(c) H(Xₙ | c)`` over the contexts ``c`` of ``k`` symbols
  seen inside bouts (no start/end padding: a deterministic song has entropy 0 whatever its
  length); ``k = 0`` is the entropy of the label frequencies. It falls with ``k`` as long as
  the song has structure of order ``k``; with few data it is biased low for large ``k``.
- The entropy rate is ``Σᵢ πᵢ H(Pᵢ·)``, ``πᵢ`` being the frequency of label ``i`` as a
  predecessor and ``Pᵢ·`` its row of first-order transition probabilities, i.e.
  ``H(Xₙ | 1 previous)``; normalised, it is divided by ``log2`` of the number of labels
  (1 = every label equally likely after every label).
- Linearity and consistency as defined by Scharff & Nottebohm (1991, J. Neurosci. 11:2896):
  linearity = number of labels / number of distinct transitions (1 for a song sung always
  in the same order), consistency = Σ over labels of the count of their most frequent
  transition / number of transitions (1 when each label is always followed by the same
  one). Both are computed here on transitions inside bouts, start and end left out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from canapy.analysis.sequences import DEFAULT_GAP_S, bout_sequences, phrase_table
from canapy.exceptions import AnalysisError

__all__ = [
    "END",
    "START",
    "SyntaxSummary",
    "analyze_syntax",
    "conditional_entropy",
    "duration_stats",
    "linearity_consistency",
    "repeat_distribution",
    "transition_matrix",
    "transition_table",
]

START = "<start>"
"""Symbol before the first label of a bout in transition tables."""
END = "<end>"
"""Symbol after the last label of a bout in transition tables."""


def _ngrams(sequences: Iterable[Sequence[str]], k: int, pad: bool) -> Counter:
    """Counts of ``(context of k symbols, next symbol)``."""
    counts: Counter = Counter()
    for seq in sequences:
        seq = [*([START] * k), *seq, END] if pad else list(seq)
        for n in range(k, len(seq)):
            counts[(tuple(seq[n - k : n]), seq[n])] += 1
    return counts


def transition_table(sequences: Iterable[Sequence[str]], order: int = 1) -> pd.DataFrame:
    """Transition counts and probabilities of order ``order``, with start/end symbols.

    Parameters
    ----------
    sequences : iterable of sequences of str
        One label sequence per bout.
    order : int
        Number of preceding symbols in the context (1 or 2 typically).

    Returns
    -------
    DataFrame
        Columns ``context`` (tuple of ``order`` symbols), ``next``, ``count``,
        ``probability`` (``count`` over the context's total), sorted by context then count.

    Examples
    --------
    >>> t = transition_table([list("ab"), list("ac")])
    >>> t[["context", "next", "count"]].values[:3].tolist()
    [[('<start>',), 'a', 2], [('a',), 'b', 1], [('a',), 'c', 1]]
    """
    if order < 1:
        raise AnalysisError(f"transition order must be at least 1, got {order}")
    counts = _ngrams(sequences, order, pad=True)
    table = pd.DataFrame(
        [(c, nxt, n) for (c, nxt), n in counts.items()], columns=["context", "next", "count"]
    )
    if table.empty:
        return table.assign(probability=pd.Series(dtype=float))
    totals = table.groupby("context")["count"].transform("sum")
    table["probability"] = table["count"] / totals
    order_key = table["context"].map(lambda c: tuple((s != START, s) for s in c))
    table = table.assign(_key=order_key).sort_values(
        ["_key", "count", "next"], ascending=[True, False, True], kind="stable"
    )
    return table.drop(columns="_key").reset_index(drop=True)


def transition_matrix(sequences: Iterable[Sequence[str]], normalise: bool = False) -> pd.DataFrame:
    """First-order transition counts (or probabilities) as a square table.

    Rows are the current symbol (:data:`START` first), columns the next one (:data:`END`
    last); labels in sorted order.

    Examples
    --------
    >>> transition_matrix([list("aab")]).values.tolist()
    [[1, 0, 0], [1, 1, 0], [0, 0, 1]]
    """
    counts = _ngrams(sequences, 1, pad=True)
    labels = sorted(({c[0] for c, _ in counts} | {n for _, n in counts}) - {START, END})
    rows, cols = [START, *labels], [*labels, END]
    mat = pd.DataFrame(0, index=pd.Index(rows, name="from"), columns=pd.Index(cols, name="to"))
    for (c, nxt), n in counts.items():
        mat.loc[c[0], nxt] = n
    if normalise:
        totals = mat.sum(axis=1).replace(0, 1)
        return mat.div(totals, axis=0)
    return mat


def _entropy_bits(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum()) + 0.0


def conditional_entropy(sequences: Iterable[Sequence[str]], k: int) -> float | None:
    """``H(Xₙ | k previous)`` in bits over transitions inside bouts; None without data.

    Examples
    --------
    >>> conditional_entropy([list("abababab")], 1)
    0.0
    >>> conditional_entropy([list("ab")], 0)
    1.0
    """
    counts = _ngrams(sequences, k, pad=False)
    if not counts:
        return None
    by_context: dict[tuple, list[int]] = {}
    for (c, _), n in counts.items():
        by_context.setdefault(c, []).append(n)
    total = sum(counts.values())
    h = sum(sum(ns) / total * _entropy_bits(np.asarray(ns, float)) for ns in by_context.values())
    return round(float(h), 12) + 0.0


def linearity_consistency(
    sequences: Iterable[Sequence[str]],
) -> tuple[float | None, float | None]:
    """Linearity and consistency (Scharff & Nottebohm 1991) of transitions inside bouts.

    Returns ``(None, None)`` when no bout has two symbols.

    Examples
    --------
    >>> linearity_consistency([list("abcabc")])
    (1.0, 1.0)
    >>> linearity_consistency([list("abacab")])
    (0.75, 0.8)
    """
    counts = _ngrams(sequences, 1, pad=False)
    if not counts:
        return None, None
    labels = {c[0] for c, _ in counts} | {n for _, n in counts}
    best: dict[str, int] = {}
    for (c, _), n in counts.items():
        best[c[0]] = max(best.get(c[0], 0), n)
    return len(labels) / len(counts), sum(best.values()) / sum(counts.values())


def repeat_distribution(phrases: pd.DataFrame) -> pd.DataFrame:
    """Number of phrases of each label with each repeat count.

    Parameters
    ----------
    phrases : DataFrame
        :func:`canapy.analysis.sequences.phrase_table`.

    Returns
    -------
    DataFrame
        Columns ``label, repeats, n_phrases``.
    """
    if phrases.empty:
        return pd.DataFrame(columns=["label", "repeats", "n_phrases"])
    out = phrases.groupby(["label", "repeats"]).size().rename("n_phrases").reset_index()
    return out.sort_values(["label", "repeats"], kind="stable").reset_index(drop=True)


def duration_stats(phrases: pd.DataFrame) -> pd.DataFrame:
    """Per label: phrase count, repeats (mean, max) and duration (mean, std, median, min, max).

    ``duration_std_s`` is 0 for a label seen once (not NaN).
    """
    cols = ["n_phrases", "mean_repeats", "max_repeats"]
    cols += [f"duration_{s}_s" for s in ("mean", "std", "median", "min", "max")]
    if phrases.empty:
        return pd.DataFrame(columns=["label", *cols])
    g = phrases.groupby("label", sort=True)
    out = pd.DataFrame(
        {
            "n_phrases": g.size(),
            "mean_repeats": g["repeats"].mean(),
            "max_repeats": g["repeats"].max(),
            "duration_mean_s": g["duration_s"].mean(),
            "duration_std_s": g["duration_s"].std(ddof=1).fillna(0.0),
            "duration_median_s": g["duration_s"].median(),
            "duration_min_s": g["duration_s"].min(),
            "duration_max_s": g["duration_s"].max(),
        }
    )
    return out.reset_index()


@dataclass
class SyntaxSummary:
    """Syntax figures of one annotation set (see the module docstring for definitions).

    Attributes
    ----------
    unit : str
        ``"syllable"`` or ``"phrase"``: what one symbol of the sequences is.
    gap_s : float
        Bout-splitting silence.
    sequences : list of list of str
        Symbol sequence of each bout.
    phrases : DataFrame
        :func:`canapy.analysis.sequences.phrase_table`.
    transitions : dict of int -> DataFrame
        :func:`transition_table` of orders 1 and 2.
    conditional_entropy_bits : dict of int -> float or None
        ``H(Xₙ | k previous)`` for ``k = 0 ... max_order``.
    entropy_rate_bits, normalised_entropy_rate, linearity, consistency : float or None
        None when undefined; :attr:`notes` says why.
    notes : list of str
        Warnings about the data (one label, labels seen once, no transition...).
    """

    unit: str
    gap_s: float
    sequences: list[list[str]]
    phrases: pd.DataFrame
    transitions: dict[int, pd.DataFrame]
    conditional_entropy_bits: dict[int, float | None]
    entropy_rate_bits: float | None
    normalised_entropy_rate: float | None
    linearity: float | None
    consistency: float | None
    label_counts: dict[str, int]
    n_files: int
    notes: list[str] = field(default_factory=list)

    @property
    def repeats(self) -> pd.DataFrame:
        """:func:`repeat_distribution` of the phrases."""
        return repeat_distribution(self.phrases)

    @property
    def durations(self) -> pd.DataFrame:
        """:func:`duration_stats` of the phrases."""
        return duration_stats(self.phrases)

    def matrix(self, normalise: bool = False) -> pd.DataFrame:
        """:func:`transition_matrix` of the sequences."""
        return transition_matrix(self.sequences, normalise)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures and transition counts (no NaN: undefined values are None)."""

        def records(table: pd.DataFrame) -> list[dict[str, Any]]:
            return [
                {"context": list(c), "next": n, "count": int(k), "probability": round(p, 6)}
                for c, n, k, p in table[["context", "next", "count", "probability"]].itertuples(
                    index=False
                )
            ]

        def rnd(x: float | None) -> float | None:
            return None if x is None else round(float(x), 6)

        return {
            "unit": self.unit,
            "gap_s": self.gap_s,
            "n_files": self.n_files,
            "n_bouts": len(self.sequences),
            "n_symbols": int(sum(len(s) for s in self.sequences)),
            "n_phrases": len(self.phrases),
            "labels": self.label_counts,
            "entropy_rate_bits": rnd(self.entropy_rate_bits),
            "normalised_entropy_rate": rnd(self.normalised_entropy_rate),
            "conditional_entropy_bits": {
                str(k): rnd(v) for k, v in self.conditional_entropy_bits.items()
            },
            "linearity": rnd(self.linearity),
            "consistency": rnd(self.consistency),
            "transitions": {f"order_{k}": records(t) for k, t in self.transitions.items()},
            "notes": list(self.notes),
        }


def analyze_syntax(
    segments: pd.DataFrame,
    gap_s: float = DEFAULT_GAP_S,
    unit: str = "syllable",
    ignore: Iterable[str] = ("SIL",),
    max_order: int = 3,
) -> SyntaxSummary:
    """Every syntax figure of a segment table.

    Parameters
    ----------
    segments : DataFrame
        Hand labels, a model's output or a saved version, in any layout
        :func:`canapy.analysis.sequences.as_sequence_table` reads.
    gap_s : float
        Silences longer than this split bouts.
    unit : {"syllable", "phrase"}
        Symbols of the sequences: segments, or phrases (runs of one label).
    ignore : iterable of str
        Labels removed first (silence tags).
    max_order : int
        Largest ``k`` of ``H(Xₙ | k previous)``.

    Raises
    ------
    AnalysisError
        No segment left to analyse.

    Examples
    --------
    >>> seg = pd.DataFrame({"wave": "a.wav", "start": np.arange(9) * 0.1,
    ...                     "end": np.arange(9) * 0.1 + 0.05, "syll": list("abcabcabc")})
    >>> s = analyze_syntax(seg)
    >>> s.entropy_rate_bits, s.linearity, s.consistency
    (0.0, 1.0, 1.0)
    """
    if gap_s < 0:
        raise AnalysisError(f"gap_s must be >= 0, got {gap_s}")
    ignore = tuple(ignore)
    sequences = bout_sequences(segments, gap_s, unit, ignore)
    phrases = phrase_table(segments, gap_s, ignore)
    if not sequences:
        hidden = f" (labels {', '.join(ignore)} are ignored)" if ignore else ""
        raise AnalysisError(f"no segment to analyse: the annotations are empty{hidden}")
    label_counts = Counter(s for seq in sequences for s in seq)
    notes = []
    if len(label_counts) == 1:
        notes.append(
            f"only one label ({next(iter(label_counts))!r}): every transition is certain, the "
            "entropy is 0 and the normalised entropy is undefined"
        )
    once = sorted(lab for lab, n in label_counts.items() if n == 1)
    if once:
        notes.append(
            f"label(s) seen once: {', '.join(map(repr, once))}; their transitions rest on a "
            "single example"
        )
    cond = {k: conditional_entropy(sequences, k) for k in range(max_order + 1)}
    rate = cond.get(1)
    if rate is None:
        notes.append(
            f"no transition inside a bout (every bout has one {unit}): entropy rate, "
            f"linearity and consistency are undefined; try a larger gap_s than {gap_s}"
        )
    missing = [k for k, v in cond.items() if v is None and k > 1 and rate is not None]
    if missing:
        notes.append(f"no bout is longer than {missing[0]} {unit}s: H(Xn | k previous) undefined")
    normalised = (
        rate / np.log2(len(label_counts)) if rate is not None and len(label_counts) > 1 else None
    )
    linearity, consistency = linearity_consistency(sequences)
    return SyntaxSummary(
        unit=unit,
        gap_s=gap_s,
        sequences=sequences,
        phrases=phrases,
        transitions={k: transition_table(sequences, k) for k in (1, 2)},
        conditional_entropy_bits=cond,
        entropy_rate_bits=rate,
        normalised_entropy_rate=None if normalised is None else float(normalised),
        linearity=linearity,
        consistency=consistency,
        label_counts=dict(sorted(label_counts.items())),
        n_files=int(phrases["file"].nunique()),
        notes=notes,
    )
