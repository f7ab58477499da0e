"""One label → colour map for the whole app (pure functions, no plotting library).

:func:`label_colors` colours a label set; :func:`extend_colors` adds labels to a map
without changing the colours already given, so ``AppState.label_colors`` keeps a label's
colour in every tab and plot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["PALETTE", "extend_colors", "label_colors"]

# Category20 without its pale half, then the pale half: distinct colours for ~20 labels.
PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#aec7e8",
    "#ffbb78",
    "#98df8a",
    "#ff9896",
    "#c5b0d5",
    "#c49c94",
    "#f7b6d2",
    "#c7c7c7",
    "#dbdb8d",
    "#9edae5",
)


def label_colors(labels: Sequence[str]) -> dict[str, str]:
    """A colour per label, stable for a given sorted label set.

    Examples
    --------
    >>> label_colors(["b", "a"])
    {'a': '#1f77b4', 'b': '#ff7f0e'}
    """
    ordered = sorted({str(x) for x in labels})
    return {lab: PALETTE[i % len(PALETTE)] for i, lab in enumerate(ordered)}


def extend_colors(colors: Mapping[str, str], labels: Sequence[str]) -> dict[str, str]:
    """``colors`` plus a colour for each new label; known labels keep theirs.

    The app keeps one such map (``AppState.label_colors``) so a label has the same colour
    in every tab and plot, even when a model brings a label the corpus lacks.

    Examples
    --------
    >>> extend_colors(label_colors(["a", "b"]), ["c", "a"])
    {'a': '#1f77b4', 'b': '#ff7f0e', 'c': '#2ca02c'}
    """
    out = dict(colors)
    for lab in sorted({str(x) for x in labels} - set(out)):
        out[lab] = PALETTE[len(out) % len(PALETTE)]
    return out
