"""Echo State Network reservoirs (reservoirpy 0.4) run over batches of sequences.

The weights come from :class:`reservoirpy.nodes.Reservoir` (its initialisers, spectral
radius scaling and seeding). The update rule is reservoirpy's own,
``x[t+1] = (1 - lr) x[t] + lr tanh(W x[t] + Win u[t+1] + b)``, but it is evaluated here for
many sequences at once: reservoirpy steps one sequence at a time in a Python loop, which is
4-7x slower on a 2-core laptop. :func:`tests.unit.test_reservoir` checks both agree.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import partial

import numpy as np
import scipy.sparse

from canapy.config import ReservoirConfig
from canapy.threads import run_concurrently

__all__ = ["BidirectionalReservoir", "ReservoirWeights", "make_reservoir_node"]

try:  # The C kernel behind ``csr_array @ dense`` (``y += A @ x``), called directly: the
    # Python layer of ``@`` (checks, dispatch, a new array) costs more per step than the
    # product itself at these sizes, about a fifth of annotation time. The test suite checks
    # the result against reservoirpy; without the kernel, ``@`` is used.
    from scipy.sparse._sparsetools import csr_matvecs as _csr_matvecs
except ImportError:  # pragma: no cover - depends on scipy's internals
    _csr_matvecs = None

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


class ReservoirWeights:
    """float32 copies of one reservoir's weights (recurrent matrix kept sparse), and its update.

    This is the block-wise API for streaming: :meth:`run_from` advances the reservoir over a
    block of input frames from a given state and returns the states and the last state, to
    be passed as ``x0`` of the next block. Running a sequence in consecutive blocks gives
    the same states as running it at once.

    Parameters
    ----------
    node : reservoirpy.nodes.Reservoir
        An initialised reservoir (see :func:`make_reservoir_node`).

    Examples
    --------
    >>> w = ReservoirWeights(make_reservoir_node(ReservoirConfig(units=20), 3, seed=0))
    >>> u = np.ones((10, 3), np.float32)
    >>> first, last = w.run_from(u[:4])
    >>> rest, _ = w.run_from(u[4:], last)
    >>> bool(np.allclose(np.concatenate([first, rest]), w.run_from(u)[0], atol=1e-6))
    True
    """

    def __init__(self, node) -> None:
        self.W = scipy.sparse.csr_array(node.W, dtype=np.float32)
        self.Win = _dense(node.Win)
        bias = node.bias
        units = self.W.shape[0]
        self.bias = np.zeros(units, np.float32) if np.isscalar(bias) else _dense(bias).reshape(-1)
        self.lr = np.float32(node.lr)

    @property
    def units(self) -> int:
        """Number of reservoir units (size of a state vector)."""
        return self.W.shape[0]

    def run_from(
        self, seq: np.ndarray, x0: np.ndarray | None = None, block: int = 512
    ) -> tuple[np.ndarray, np.ndarray]:
        """States of one block of input frames started from state ``x0``, and the last state.

        Parameters
        ----------
        seq : ndarray, shape (T, input_dim)
            Input frames (already standardised).
        x0 : ndarray, shape (units,), optional
            State before the first frame; zeros if ``None``.
        block : int
            Frames whose input drive is computed in one matrix product.

        Returns
        -------
        states : ndarray, shape (T, units), float32
        last : ndarray, shape (units,), float32
            The state after the last frame, to pass as ``x0`` of the next block.
        """
        init = None if x0 is None else np.asarray(x0)[None, :]
        states = self.run_batch([seq], init, block)[0]
        if len(states):
            return states, states[-1].copy()
        return states, np.zeros(self.units, np.float32) if x0 is None else np.array(x0, np.float32)

    def run_batch(
        self,
        seqs: Sequence[np.ndarray],
        initial_states: np.ndarray | None = None,
        block: int = 512,
    ) -> list[np.ndarray]:
        """States of several sequences at once, each from its own initial state.

        Parameters
        ----------
        seqs : list of ndarray, shapes (T_i, input_dim)
            Input sequences.
        initial_states : ndarray, shape (len(seqs), units), optional
            Starting states; zeros if ``None``.
        block : int
            Frames whose input drive is computed in one matrix product.

        Returns
        -------
        list of ndarray, shapes (T_i, units), float32
        """
        units, n = self.units, len(seqs)
        lengths = [len(s) for s in seqs]
        t_max = max(lengths)
        inputs = np.zeros((t_max, n, self.Win.shape[1]), np.float32)
        for j, s in enumerate(seqs):
            inputs[: len(s), j] = s
        states = np.empty((t_max, n, units), np.float32)
        x = np.zeros((units, n), np.float32)  # one column per sequence
        if initial_states is not None:
            x[:] = np.asarray(initial_states, np.float32).reshape(n, units).T
        # The input matrix is as sparse as its connectivity (10 % by default): the drive of
        # a block of steps is one sparse product, about half the time of the dense one.
        Win, W = scipy.sparse.csr_array(self.Win), self.W
        bias = self.bias[:, None, None]
        lr, keep = self.lr, np.float32(1.0) - self.lr
        kernel = _csr_matvecs if W.indptr.dtype == W.indices.dtype else None
        z = np.empty((units, n), np.float32)
        x_flat, z_flat = x.reshape(-1), z.reshape(-1)  # views: the kernel writes into z
        for t0 in range(0, t_max, block):  # input drive computed a block of steps at a time
            steps = inputs[t0 : t0 + block]
            drive = (Win @ steps.reshape(-1, steps.shape[2]).T).reshape(units, len(steps), n)
            drive += bias
            # The sparse product is single-threaded: the per-step work is too small to gain
            # from threads, and spinning BLAS threads crawl when other processes share the CPU.
            for k in range(len(steps)):
                if kernel is not None:
                    np.copyto(z, drive[:, k])
                    kernel(units, units, n, W.indptr, W.indices, W.data, x_flat, z_flat)
                else:
                    np.add(W @ x, drive[:, k], out=z)
                np.tanh(z, out=z)
                z *= lr
                x *= keep
                x += z
                states[t0 + k] = x.T
        return [states[:m, j] for j, m in enumerate(lengths)]


_Weights = ReservoirWeights  # model files written before the rename refer to this name


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
        self.forward = ReservoirWeights(make_reservoir_node(cfg, input_dim, cfg.seed))
        self.backward = (
            ReservoirWeights(make_reservoir_node(cfg, input_dim, cfg.seed + 1))
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
            if self.backward is None:
                yield from zip(batch, self.forward.run_batch(items), strict=True)
                continue
            fwd, bwd = run_concurrently(  # two independent passes: one per core
                partial(self.forward.run_batch, items),
                partial(self.backward.run_batch, [s[::-1] for s in items]),
            )
            for i, f, b in zip(batch, fwd, bwd, strict=True):  # one concatenation at a time
                yield i, np.concatenate([f, b[::-1]], axis=1)

    def transform(self, seqs: Sequence[np.ndarray]) -> list[np.ndarray]:
        """States of every sequence, shape ``(T_i, output_dim)`` each."""
        result: list[np.ndarray] = [np.empty(0)] * len(seqs)
        for i, states in self.iter_transform(seqs):
            result[i] = states
        return result
