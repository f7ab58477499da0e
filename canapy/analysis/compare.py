"""Compare the syntax of two annotation sets (hand vs predicted, day 1 vs day 2...).

The divergence is the Jensen–Shannon divergence in bits (in [0, 1]): it is finite when a
transition occurs in one set only (where the Kullback–Leibler divergence is infinite),
symmetric, and 0 only for equal distributions. Two forms are reported:

- ``js_joint_bits``: between the joint distributions of first-order transitions
  ``P(current, next)`` (start and end symbols included), one number for the whole syntax;
- per context: between the two rows ``P(next | context)``; ``js_mean_bits`` weighs them by
  the context's mean frequency in both sets. A context seen in one set only has no
  row in the other: it counts as divergence 1 (the two sets share nothing there).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.spatial.distance import jensenshannon

from canapy.analysis.syntax import transition_matrix

__all__ = ["SyntaxComparison", "compare_sequences", "js_divergence_bits"]


def js_divergence_bits(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen–Shannon divergence (bits) between two count or probability vectors.

    Examples
    --------
    >>> js_divergence_bits(np.array([1, 0]), np.array([0, 1]))
    1.0
    >>> js_divergence_bits(np.array([2, 2]), np.array([1, 1]))
    0.0
    """
    p, q = np.asarray(p, float), np.asarray(q, float)
    if p.sum() == 0 or q.sum() == 0:
        return 1.0 if p.sum() != q.sum() else 0.0
    return round(float(jensenshannon(p, q, base=2) ** 2), 12) + 0.0


@dataclass
class SyntaxComparison:
    """Result of :func:`compare_sequences`.

    Attributes
    ----------
    transitions : DataFrame
        One row per first-order transition seen in either set: ``from, to, count_a,
        count_b, p_a, p_b, difference`` (``p_b - p_a``), largest absolute difference first.
    contexts : DataFrame
        Per context: ``from, n_a, n_b, js_bits``.
    js_joint_bits, js_mean_bits : float
        See the module docstring.
    """

    transitions: pd.DataFrame
    contexts: pd.DataFrame
    js_joint_bits: float
    js_mean_bits: float

    def to_dict(self) -> dict:
        """JSON-ready figures."""
        return {
            "divergence": "Jensen-Shannon, bits",
            "js_joint_bits": round(self.js_joint_bits, 6),
            "js_mean_bits": round(self.js_mean_bits, 6),
            "transitions": self.transitions.round(6).to_dict("records"),
        }


def compare_sequences(a: Iterable[Sequence[str]], b: Iterable[Sequence[str]]) -> SyntaxComparison:
    """Per-transition difference and divergence between two sets of bout sequences.

    Examples
    --------
    >>> same = compare_sequences([list("abab")], [list("abab")])
    >>> same.js_joint_bits, same.js_mean_bits
    (0.0, 0.0)
    >>> other = compare_sequences([list("abab")], [list("baba")])
    >>> other.transitions[["from", "to", "difference"]].values[0].tolist()
    ['<start>', 'a', -1.0]
    """
    ma, mb = transition_matrix(list(a)), transition_matrix(list(b))
    rows = ma.index.union(mb.index, sort=False)
    cols = ma.columns.union(mb.columns, sort=False)
    ma = ma.reindex(index=rows, columns=cols, fill_value=0)
    mb = mb.reindex(index=rows, columns=cols, fill_value=0)
    pa = ma.div(ma.sum(axis=1).replace(0, 1), axis=0)
    pb = mb.div(mb.sum(axis=1).replace(0, 1), axis=0)
    long = pd.DataFrame(
        {
            "count_a": ma.stack(),
            "count_b": mb.stack(),
            "p_a": pa.stack(),
            "p_b": pb.stack(),
        }
    )
    long.index.names = ["from", "to"]
    long = long[(long["count_a"] > 0) | (long["count_b"] > 0)].reset_index()
    long["difference"] = long["p_b"] - long["p_a"]
    long = long.iloc[np.argsort(-long["difference"].abs().to_numpy(), kind="stable")]
    n_a, n_b = ma.sum(axis=1), mb.sum(axis=1)
    js_rows = [js_divergence_bits(ma.loc[r].to_numpy(), mb.loc[r].to_numpy()) for r in rows]
    contexts = pd.DataFrame({"from": rows, "n_a": n_a.to_numpy(), "n_b": n_b.to_numpy()})
    contexts["js_bits"] = js_rows
    weight = n_a / max(1, n_a.sum()) + n_b / max(1, n_b.sum())
    js_mean = float((weight.to_numpy() * np.asarray(js_rows)).sum() / max(weight.sum(), 1e-12))
    joint = js_divergence_bits(ma.to_numpy().ravel(), mb.to_numpy().ravel())
    return SyntaxComparison(long.reset_index(drop=True), contexts, joint, round(js_mean, 12) + 0.0)
