"""Segments -> per-frame class targets (pure functions)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["frame_targets", "make_classes"]


def make_classes(labels: Sequence[str], silence_label: str) -> list[str]:
    """Class list used by the models: the silence tag first, then sorted labels.

    >>> make_classes(["b", "a", "b"], "SIL")
    ['SIL', 'a', 'b']
    """
    uniq = sorted({str(lab) for lab in labels} - {silence_label})
    return [silence_label, *uniq]


def frame_targets(
    onsets_s: Sequence[float],
    offsets_s: Sequence[float],
    labels: Sequence[str],
    n: int,
    hop_s: float,
    classes: Sequence[str],
    boundary_s: float = 0.0,
) -> np.ndarray:
    """Class index of each of ``n`` frames (frame ``i`` centred at ``i * hop_s``).

    Frames outside every segment get class 0 (silence). With ``boundary_s > 0`` each
    segment is shrunk by that much on both sides (never below a third of its length), so
    that touching syllables are separated by a few silence frames in the targets.

    Examples
    --------
    >>> frame_targets([0.01], [0.03], ["a"], 5, 0.01, ["SIL", "a"]).tolist()
    [0, 1, 1, 0, 0]
    """
    index = {c: i for i, c in enumerate(classes)}
    out = np.zeros(n, dtype=np.int64)
    times = np.arange(n) * hop_s
    for on, off, lab in zip(onsets_s, offsets_s, labels, strict=True):
        shrink = min(boundary_s, (off - on) / 3.0)
        lo = np.searchsorted(times, on + shrink - 1e-9, side="left")
        hi = np.searchsorted(times, off - shrink - 1e-9, side="left")
        if hi <= lo:  # segment shorter than a frame: keep its nearest frame
            lo = min(n - 1, round((on + off) / 2 / hop_s))
            hi = lo + 1
        out[lo:hi] = index[str(lab)]
    return out
