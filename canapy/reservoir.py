"""Echo State Network reservoirs (reservoirpy 0.4) run over batches of sequences.

The weights come from :class:`reservoirpy.nodes.Reservoir` (its initialisers, spectral
radius scaling and seeding). The update rule is reservoirpy's own,
``x[t+1] = (1 - lr) x[t] + lr tanh(W x[t] + Win u[t+1] + b)``, but it is evaluated here for
many sequences at once: reservoirpy steps one sequence at a time in a Python loop, which is
4-7x slower on a 2-core laptop. :func:`tests.unit.test_reservoir` checks both agree.

Each sequence is also cut into warmed-up pieces that run side by side (:mod:`canapy.pieces`,
checked against the one-pass recursion by :mod:`tests.unit.test_pieces`), and at inference
the states of each block of steps are projected on the readouts and dropped
(:meth:`BidirectionalReservoir.iter_project`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import partial

import numpy as np
import scipy.sparse

from canapy.config import ReservoirConfig
from canapy.pieces import MAX_COLUMNS, context_frames, plan_pieces
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

    Parameters
    ----------
    node : reservoirpy.nodes.Reservoir
        An initialised reservoir (see :func:`make_reservoir_node`).

    Examples
    --------
    >>> w = ReservoirWeights(make_reservoir_node(ReservoirConfig(units=20), 3, seed=0))
    >>> u = np.ones((10, 3), np.float32)
    >>> [s.shape for s in w.run_batch([u, u[:4]])]
    [(10, 20), (4, 20)]
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

    def run_batch(self, seqs: Sequence[np.ndarray], block: int = 512) -> list[np.ndarray]:
        """States of several whole sequences at once, each from a zero state.

        Parameters
        ----------
        seqs : list of ndarray, shapes (T_i, input_dim)
            Input sequences.
        block : int
            Frames whose input drive is computed in one matrix product.

        Returns
        -------
        list of ndarray, shapes (T_i, units), float32
        """
        lengths = [len(s) for s in seqs]
        states = np.empty((max(lengths), len(seqs), self.units), np.float32)
        for t0, part in self.iter_blocks(seqs, block):
            states[t0 : t0 + len(part)] = part
        return [states[:m, j] for j, m in enumerate(lengths)]

    def iter_blocks(
        self, seqs: Sequence[np.ndarray], block: int = 128
    ) -> Iterator[tuple[int, np.ndarray]]:
        """States of several sequences run side by side, a block of steps at a time.

        Parameters
        ----------
        seqs : list of ndarray, shapes (T_i, input_dim)
            Input sequences; shorter ones are padded with zeros (their states past their
            end are meaningless). Each starts from a zero state.
        block : int
            Steps per block: the input drive of a block is one matrix product.

        Yields
        ------
        t0 : int
            Step of the block's first row.
        states : ndarray, shape (steps, len(seqs), units), float32
            The state of every sequence after each step of the block. The array is
            reused for the next block: copy what must outlive the iteration.
        """
        units, n = self.units, len(seqs)
        t_max = max(len(s) for s in seqs)
        x = np.zeros((units, n), np.float32)  # one column per sequence
        # The input matrix is as sparse as its connectivity (10 % by default): the drive of
        # a block of steps is one sparse product, about half the time of the dense one.
        Win, W = scipy.sparse.csr_array(self.Win), self.W
        bias = self.bias[:, None, None]
        lr, keep = self.lr, np.float32(1.0) - self.lr
        kernel = _csr_matvecs if W.indptr.dtype == W.indices.dtype else None
        z = np.empty((units, n), np.float32)
        x_flat, z_flat = x.reshape(-1), z.reshape(-1)  # views: the kernel writes into z
        inputs = np.zeros((block, n, self.Win.shape[1]), np.float32)
        buffer = np.empty((block, n, units), np.float32)  # reused: no page faults per block
        for t0 in range(0, t_max, block):
            steps = min(block, t_max - t0)
            inputs[:] = 0.0
            for j, s in enumerate(seqs):
                part = s[t0 : t0 + steps]
                inputs[: len(part), j] = part
            drive = (Win @ inputs[:steps].reshape(-1, inputs.shape[2]).T).reshape(units, steps, n)
            drive += bias
            states = buffer[:steps]
            # The sparse product is single-threaded: the per-step work is too small to gain
            # from threads, and spinning BLAS threads crawl when other processes share the CPU.
            for k in range(steps):
                if kernel is not None:
                    np.copyto(z, drive[:, k])
                    kernel(units, units, n, W.indptr, W.indices, W.data, x_flat, z_flat)
                else:
                    np.add(W @ x, drive[:, k], out=z)
                np.tanh(z, out=z)
                z *= lr
                x *= keep
                x += z
                states[k] = x.T
            yield t0, states


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


def _run_pieces(
    weights: ReservoirWeights,
    seqs: Sequence[np.ndarray],
    context: int | None,
    out: Sequence[np.ndarray],
    project: np.ndarray | None = None,
) -> None:
    """Write each sequence's states (or ``states @ project``) into ``out``, run in pieces.

    See :mod:`canapy.pieces`: each sequence is cut into pieces that run as columns of one
    batch, each warmed up on the ``context`` frames before it. ``out[i]`` has shape
    ``(T_i, units)`` (or ``(T_i, project.shape[1])``) and may be a view (e.g. the
    columns of a design matrix, or rows in reversed order).
    """
    pieces = plan_pieces([len(s) for s in seqs], context)
    for g in range(0, len(pieces), MAX_COLUMNS):
        group = pieces[g : g + MAX_COLUMNS]
        for t0, states in weights.iter_blocks([seqs[p.seq][p.first : p.stop] for p in group]):
            steps, n, units = states.shape
            rows = states
            if project is not None:
                rows = (states.reshape(-1, units) @ project).reshape(steps, n, -1)
            for j, p in enumerate(group):
                lo, hi = max(t0, p.warm), min(t0 + steps, p.run_length)
                if lo < hi:
                    out[p.seq][p.first + lo : p.first + hi] = rows[lo - t0 : hi - t0, j]


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

    def _fill(
        self, items: list[np.ndarray], outs: list[np.ndarray], project: np.ndarray | None
    ) -> None:
        """Write the states of ``items`` (or ``states @ project``) into ``outs``.

        ``outs[i]`` has ``T_i`` rows and ``output_dim`` columns (or ``2 * k`` for a
        projection on ``k`` columns: forward part, then backward part). The forward and
        backward passes are independent and run one per core.
        """
        context = context_frames(self.cfg)
        half = self.cfg.units if project is None else project.shape[1]
        fwd_w = None if project is None else project[: self.cfg.units]
        fwd = partial(_run_pieces, self.forward, items, context, [o[:, :half] for o in outs], fwd_w)
        if self.backward is None:
            fwd()
            return
        bwd_w = None if project is None else project[self.cfg.units :]
        bwd = partial(
            _run_pieces,
            self.backward,
            [s[::-1] for s in items],
            context,
            [o[::-1, half : 2 * half] for o in outs],  # reversed views: states in file order
            bwd_w,
        )
        run_concurrently(fwd, bwd)

    def iter_transform(
        self,
        seqs: Sequence[np.ndarray],
        max_frames: int = _MAX_BATCH_FRAMES,
        before: int = 0,
        after: int = 0,
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(index, states)`` for each sequence, in batches bounded in memory.

        Parameters
        ----------
        seqs : list of ndarray, shapes (T_i, input_dim)
            Input sequences.
        max_frames : int
            Frames run in one batch (memory).
        before, after : int
            Extra columns left uninitialised before and after the states, for the caller
            to fill (e.g. a design matrix's bias and input columns): the states are written
            in place, without a copy.

        Yields
        ------
        index : int
        states : ndarray, shape (T_i, before + output_dim + after), float32
        """
        width = before + self.output_dim + after
        for batch in _batches([len(s) for s in seqs], max_frames):
            items = [np.asarray(seqs[i], np.float32) for i in batch]
            outs = [np.empty((len(s), width), np.float32) for s in items]
            self._fill(items, [o[:, before : before + self.output_dim] for o in outs], None)
            yield from zip(batch, outs, strict=True)

    def iter_project(
        self,
        seqs: Sequence[np.ndarray],
        weights: np.ndarray,
        max_frames: int = _MAX_BATCH_FRAMES,
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(index, states @ weights)`` per sequence without keeping the states.

        What a readout needs at inference: the states of a block of steps are multiplied
        by ``weights`` (shape ``(output_dim, k)``) and dropped, so memory is ``T x k`` per
        sequence instead of ``T x output_dim``.
        """
        weights = np.asarray(weights, np.float32)
        k = weights.shape[1]
        parts = 2 if self.backward is not None else 1
        for batch in _batches([len(s) for s in seqs], max_frames):
            items = [np.asarray(seqs[i], np.float32) for i in batch]
            outs = [np.empty((len(s), parts * k), np.float32) for s in items]
            self._fill(items, outs, weights)
            for i, o in zip(batch, outs, strict=True):
                yield i, (o[:, :k] + o[:, k:]) if parts == 2 else o

    def transform(self, seqs: Sequence[np.ndarray]) -> list[np.ndarray]:
        """States of every sequence, shape ``(T_i, output_dim)`` each."""
        result: list[np.ndarray] = [np.empty(0)] * len(seqs)
        for i, states in self.iter_transform(seqs):
            result[i] = states
        return result
