"""The batched reservoir runner computes exactly reservoirpy's update rule."""

from __future__ import annotations

import numpy as np

from canapy.config import ReservoirConfig
from canapy.reservoir import BidirectionalReservoir, make_reservoir_node


def test_batched_states_match_reservoirpy_run():
    cfg = ReservoirConfig(units=50, bidirectional=False, seed=3)
    rng = np.random.default_rng(0)
    seqs = [rng.normal(size=(n, 4)) for n in (30, 7, 19)]
    ours = BidirectionalReservoir(cfg, 4).transform(seqs)
    node = make_reservoir_node(cfg, 4, cfg.seed)
    for seq, states in zip(seqs, ours, strict=True):
        node.reset()
        np.testing.assert_allclose(states, node.run(seq), atol=1e-4)


def test_backward_reservoir_reads_reversed_sequences():
    cfg = ReservoirConfig(units=20, bidirectional=True)
    res = BidirectionalReservoir(cfg, 2)
    seq = np.random.default_rng(1).normal(size=(15, 2))
    states = res.transform([seq])[0]
    assert states.shape == (15, 40)
    # The backward half at the last frame has only seen the last input.
    only_last = res.transform([seq[-1:]])[0]
    np.testing.assert_allclose(states[-1, 20:], only_last[0, 20:], atol=1e-6)


def test_batching_does_not_change_results():
    cfg = ReservoirConfig(units=30)
    res = BidirectionalReservoir(cfg, 3)
    rng = np.random.default_rng(2)
    seqs = [rng.normal(size=(n, 3)) for n in (40, 12, 25, 3)]
    together = res.transform(seqs)
    alone = [dict(res.iter_transform([s], max_frames=1))[0] for s in seqs]
    for a, b in zip(together, alone, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_fallback_without_the_sparse_kernel_gives_the_same_states(monkeypatch):
    import canapy.reservoir as reservoir_mod

    res = BidirectionalReservoir(ReservoirConfig(units=30), 3)
    seqs = [np.random.default_rng(4).normal(size=(n, 3)) for n in (20, 9)]
    direct = res.transform(seqs)
    monkeypatch.setattr(reservoir_mod, "_csr_matvecs", None)
    for a, b in zip(res.transform(seqs), direct, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
