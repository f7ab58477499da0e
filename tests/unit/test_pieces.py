"""Sequences cut into warmed-up pieces give the states of the whole sequence."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from canapy.config import ReservoirConfig, default_config
from canapy.features import compute_features
from canapy.pieces import context_frames, piece_frames, plan_pieces
from canapy.reservoir import BidirectionalReservoir
from canapy.synthetic import synth_song


@pytest.fixture(scope="module")
def songs() -> list[np.ndarray]:
    """Standardised features of five synthetic songs: input with the statistics of song."""
    cfg = default_config().features
    rng = np.random.default_rng(7)
    feats = [compute_features(synth_song(rng)[0], 16000, cfg) for _ in range(5)]
    joined = np.concatenate(feats)
    mean, scale = joined.mean(axis=0), joined.std(axis=0) + 1e-6
    return [((f - mean) / scale).astype(np.float32) for f in feats]


@pytest.mark.parametrize("lengths", [[1], [5000, 3, 790, 1200], [987, 986, 988, 2000, 40000]])
def test_pieces_cover_every_frame_once(lengths):
    context = 197
    pieces = plan_pieces(lengths, context)
    for seq, total in enumerate(lengths):
        mine = sorted((p for p in pieces if p.seq == seq), key=lambda p: p.start)
        assert mine[0].start == 0 and mine[-1].stop == total
        assert all(a.stop == b.start for a, b in itertools.pairwise(mine))
        assert mine[0].warm == 0  # the first piece starts where the sequence does: exact
        assert all(p.warm == min(context, p.start) for p in mine)
        assert all(p.run_length <= piece_frames(context) + context for p in mine)
    runs = [p.run_length for p in pieces]
    assert runs == sorted(runs, reverse=True)


def test_pieces_of_a_sequence_do_not_depend_on_its_neighbours():
    alone = [(p.start, p.stop, p.warm) for p in plan_pieces([7000], 197)]
    shared = [(p.start, p.stop, p.warm) for p in plan_pieces([300, 7000, 12000], 197) if p.seq == 1]
    assert sorted(alone) == sorted(shared)


def test_no_pieces_for_a_reservoir_that_does_not_forget():
    assert context_frames(ReservoirConfig(spectral_radius=1.2)) is None
    assert all(p.start == 0 for p in plan_pieces([50000, 9000], None))
    # A slower leak needs a longer warm-up.
    slow = context_frames(ReservoirConfig(leak_rate=0.05))
    assert slow is not None and slow > context_frames(ReservoirConfig(leak_rate=0.2))


@pytest.mark.parametrize("leak_rate", [0.2, 0.1, 0.05])
def test_states_in_pieces_match_one_pass_on_song(songs, leak_rate):
    """The echo state property in practice: warmed-up pieces equal the exact recursion."""
    cfg = ReservoirConfig(units=200, leak_rate=leak_rate)
    seqs = [np.concatenate(songs[:4]), songs[4]]  # one long recording, one song
    assert max(len(s) for s in seqs) > 2 * piece_frames(context_frames(cfg))  # really cut
    res = BidirectionalReservoir(cfg, seqs[0].shape[1])
    in_pieces = res.transform(seqs)
    exact = [
        np.concatenate([f, b[::-1]], axis=1)
        for f, b in zip(
            res.forward.run_batch(seqs),
            res.backward.run_batch([s[::-1] for s in seqs]),
            strict=True,
        )
    ]
    for a, b in zip(in_pieces, exact, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_projected_states_equal_states_times_weights(songs):
    cfg = ReservoirConfig(units=60)
    seqs = songs[:2]
    res = BidirectionalReservoir(cfg, seqs[0].shape[1])
    weights = np.random.default_rng(0).normal(size=(res.output_dim, 5)).astype(np.float32)
    for (i, projected), states in zip(
        res.iter_project(seqs, weights), res.transform(seqs), strict=True
    ):
        assert projected.shape == (len(seqs[i]), 5)
        np.testing.assert_allclose(projected, states @ weights, atol=1e-4)


def test_extra_columns_are_left_around_the_states(songs):
    cfg = ReservoirConfig(units=20)
    seqs = songs[:1]
    res = BidirectionalReservoir(cfg, seqs[0].shape[1])
    ((_, plain),) = res.iter_transform(seqs)
    ((_, wide),) = res.iter_transform(seqs, before=3, after=2)
    assert wide.shape == (len(seqs[0]), 3 + 40 + 2)
    np.testing.assert_array_equal(wide[:, 3:43], plain)
