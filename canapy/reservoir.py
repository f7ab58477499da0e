"""Echo State Network reservoirs (reservoirpy 0.4) run over batches of sequences.

The weights come from :class:`reservoirpy.nodes.Reservoir` (its initialisers, spectral
radius scaling and seeding). The update rule is reservoirpy's own,
``x[t+1] = (1 - lr) x[t] + lr tanh(W x[t] + Win u[t+1] + b)``, but it is evaluated here for
many sequences at once: reservoirpy steps one sequence at a time in a Python loop, which is
4-7x slower on a 2-core laptop. :func:`tests.unit.test_reservoir` checks both agree.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import scipy.sparse

from canapy.config import ReservoirConfig

__all__ = ["BidirectionalReservoir", "make_reservoir_node"]

_MAX_BATCH_FRAMES = 80_000


def make_reservoir_node(cfg: ReservoirConfig, input_dim: int, seed: int):
    """An initialised :class:`reservoirpy.nodes.Reservoir` for ``input_dim`` inputs."""
    from reservoirpy.nodes import Reservoir

    node = Reservoir(
        cfg.units,
        lr=cfg.leak_rate,
        sr=cfg.spectral_radius,
        input_scaling=cfg.input_scaling,
        input_connectivity=cfg.input_connectivity,
        rc_connectivity=cfg.rc_connectivity,
        seed=seed,
        input_dim=input_dim,
    )
    node.initialize(np.zeros((1, input_dim)))
    return node


def _dense(a) -> np.ndarray:
    return np.asarray(a.toarray() if hasattr(a, "toarray") else a, dtype=np.float32)


class _Weights:
    """float32 copies of one reservoir's weights (recurrent matrix kept sparse)."""

    def __init__(self, node) -> None:
        self.W = scipy.sparse.csr_array(node.W, dtype=np.float32)
        self.Win = _dense(node.Win)
        bias = node.bias
        units = self.W.shape[0]
        self.bias = np.zeros(units, np.float32) if np.isscalar(bias) else _dense(bias).reshape(-1)
        self.lr = np.float32(node.lr)

    def run_batch(self, seqs: Sequence[np.ndarray], block: int = 512) -> list[np.ndarray]:
        """States of each sequence (each starts from a zero state)."""
        units = self.W.shape[0]
        lengths = [len(s) for s in seqs]
        t_max = max(lengths)
        inputs = np.zeros((t_max, len(seqs), self.Win.shape[1]), np.float32)
        for j, s in enumerate(seqs):
            inputs[: len(s), j] = s
        states = np.empty((t_max, len(seqs), units), np.float32)
        x = np.zeros((units, len(seqs)), np.float32)  # one column per sequence
        self._run(inputs, x, states, block)
        return [states[:n, j] for j, n in enumerate(lengths)]

    def run_from(
        self, seq: np.ndarray, x0: np.ndarray | None = None, block: int = 512
    ) -> tuple[np.ndarray, np.ndarray]:
        """States of one sequence ``(T, d)`` started from state ``x0`` (zeros if None).

        Returns the states ``(T, units)`` and the last state ``(units,)``, so a long
        sequence can be run a block of frames at a time: ``run_from(b2, run_from(b1)[1])``
        gives the same states as running ``b1`` and ``b2`` joined.
        """
        units = self.W.shape[0]
        inputs = np.asarray(seq, np.float32)[:, None, :]
        x = np.zeros((units, 1), np.float32) if x0 is None else np.array(x0, np.float32)[:, None]
        states = np.empty((len(seq), 1, units), np.float32)
        x = self._run(inputs, x, states, block)
        return states[:, 0], x[:, 0]

    def _run(self, inputs: np.ndarray, x: np.ndarray, states: np.ndarray, block: int) -> np.ndarray:
        """Fill ``states (T, n, units)`` from ``inputs (T, n, d)`` and start ``x``; last state."""
        t_max = len(inputs)
        WinT, W = self.Win.T.copy(), self.W
        lr, keep = self.lr, np.float32(1.0) - self.lr
        for t0 in range(0, t_max, block):  # input drive computed a block of steps at a time
            drive = inputs[t0 : t0 + block] @ WinT + self.bias
            # The sparse product is single-threaded: the per-step work is too small to gain
            # from threads, and spinning BLAS threads crawl when other processes share the CPU.
            for k in range(len(drive)):
                x = keep * x + lr * np.tanh(W @ x + drive[k].T)
                states[t0 + k] = x.T
        return x


def _batches(lengths: Sequence[int], max_frames: int) -> Iterator[list[int]]:
    """Indices grouped by similar length so that padding and memory stay small."""
    order = np.argsort(lengths)[::-1]
    batch: list[int] = []
    for i in order:
        if batch and (len(batch) + 1) * lengths[batch[0]] > max_frames:
            yield batch
            batch = []
        batch.append(int(i))
    if batch:
        yield batch


class BidirectionalReservoir:
    """One reservoir reading sequences forwards and, optionally, a second one backwards.

    Parameters
    ----------
    cfg : ReservoirConfig
        Hyper-parameters (units, spectral radius, leak rate, ...).
    input_dim : int
        Number of input features.

    Examples
    --------
    >>> res = BidirectionalReservoir(ReservoirConfig(units=20), input_dim=3)
    >>> [s.shape for s in res.transform([np.ones((5, 3)), np.ones((2, 3))])]
    [(5, 40), (2, 40)]
    """

    def __init__(self, cfg: ReservoirConfig, input_dim: int) -> None:
        self.cfg = cfg
        self.input_dim = input_dim
        self.forward = _Weights(make_reservoir_node(cfg, input_dim, cfg.seed))
        self.backward = (
            _Weights(make_reservoir_node(cfg, input_dim, cfg.seed + 1))
            if cfg.bidirectional
            else None
        )

    @property
    def output_dim(self) -> int:
        """Size of the state vector of one frame."""
        return self.cfg.units * (2 if self.cfg.bidirectional else 1)

    def iter_transform(
        self, seqs: Sequence[np.ndarray], max_frames: int = _MAX_BATCH_FRAMES
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(index, states)`` for each sequence, in batches bounded in memory."""
        for batch in _batches([len(s) for s in seqs], max_frames):
            items = [np.asarray(seqs[i], np.float32) for i in batch]
            fwd = self.forward.run_batch(items)
            if self.backward is None:
                yield from zip(batch, fwd, strict=True)
                continue
            bwd = self.backward.run_batch([s[::-1] for s in items])
            for i, f, b in zip(batch, fwd, bwd, strict=True):  # one concatenation at a time
                yield i, np.concatenate([f, b[::-1]], axis=1)

    def transform(self, seqs: Sequence[np.ndarray]) -> list[np.ndarray]:
        """States of every sequence, shape ``(T_i, output_dim)`` each."""
        result: list[np.ndarray] = [np.empty(0)] * len(seqs)
        for i, states in self.iter_transform(seqs):
            result[i] = states
        return result
