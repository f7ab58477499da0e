"""Cut sequences into overlapping pieces that a reservoir runs side by side.

A reservoir steps through a sequence one frame at a time, and each step is a sparse product
with one column per sequence run at once. Few columns (a handful of files) leave the sparse
kernel and the element-wise updates mostly overhead; many columns use them well (about
three times fewer CPU seconds per frame at 64 columns than at 8). So each sequence is cut
into pieces that run as columns of the same batch.

A piece other than a sequence's first starts from a zero state ``context`` frames before
its first kept frame. An Echo State Network forgets its initial state (the echo state
property): with leak rate ``a`` and spectral radius ``r < 1`` a difference between two
states shrinks by about ``1 - a (1 - r)`` per frame, so after :func:`context_frames` frames
the piece's states agree with the whole sequence's to float32 precision.
:mod:`tests.unit.test_pieces` checks that bound on song-like input.

Pieces depend only on a sequence's own length, never on which other sequences share the
batch, so a file's states are the same whatever it is annotated with.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from canapy.config import ReservoirConfig

__all__ = ["MAX_COLUMNS", "Piece", "context_frames", "piece_frames", "plan_pieces"]

MAX_COLUMNS = 128
"""Pieces run at once: wider batches gain little and need more memory per block."""

_TOLERANCE = 1e-6
_SAFETY = 1.5
_MAX_CONTEXT = 4000


@dataclass(frozen=True)
class Piece:
    """Frames ``start:stop`` of sequence ``seq``, run from a zero state at ``start - warm``."""

    seq: int
    start: int
    stop: int
    warm: int

    @property
    def first(self) -> int:
        """First frame run through the reservoir."""
        return self.start - self.warm

    @property
    def run_length(self) -> int:
        """Frames run through the reservoir (warm-up included)."""
        return self.stop - self.first


def context_frames(cfg: ReservoirConfig) -> int | None:
    """Warm-up frames after which a piece's states match the whole sequence's.

    ``None`` when the reservoir does not forget fast enough to cut sequences safely
    (spectral radius of 1 or more, or very slow leak): sequences then run whole.

    Examples
    --------
    >>> context_frames(ReservoirConfig(leak_rate=0.2, spectral_radius=0.5))
    197
    >>> context_frames(ReservoirConfig(spectral_radius=1.0)) is None
    True
    """
    if cfg.spectral_radius >= 1.0:
        return None
    contraction = 1.0 - cfg.leak_rate * (1.0 - cfg.spectral_radius)
    frames = math.ceil(_SAFETY * math.log(_TOLERANCE) / math.log(contraction))
    return frames if frames <= _MAX_CONTEXT else None


def piece_frames(context: int) -> int:
    """Kept frames per piece: four warm-ups, so warming up costs at most a quarter more.

    >>> piece_frames(197)
    788
    """
    return max(256, 4 * context)


def plan_pieces(lengths: Sequence[int], context: int | None) -> list[Piece]:
    """Pieces covering every frame of sequences of ``lengths`` once, longest runs first.

    Parameters
    ----------
    lengths : list of int
        Frames of each sequence.
    context : int or None
        Warm-up frames (:func:`context_frames`); ``None`` keeps every sequence whole.

    Returns
    -------
    list of Piece
        Sorted by decreasing run length, so that a batch of consecutive pieces needs
        little padding.

    Examples
    --------
    >>> [(p.seq, p.start, p.stop, p.warm) for p in plan_pieces([1000, 100], context=100)]
    [(0, 333, 667, 100), (0, 667, 1000, 100), (0, 0, 333, 0), (1, 0, 100, 0)]
    """
    pieces: list[Piece] = []
    for seq, total in enumerate(lengths):
        if context is None or total <= piece_frames(context) + context:
            pieces.append(Piece(seq, 0, total, 0))
            continue
        count = math.ceil(total / piece_frames(context))  # equal pieces: little padding
        bounds = [round(k * total / count) for k in range(count + 1)]
        for start, stop in itertools.pairwise(bounds):
            pieces.append(Piece(seq, start, stop, min(context, start)))
    return sorted(pieces, key=lambda p: (-p.run_length, p.seq, p.start))
