"""ESN classifiers learn synthetic song; normal equations merge like one pass."""

from __future__ import annotations

import numpy as np

from canapy.config import ReadoutConfig, ReservoirConfig
from canapy.models import (
    EnsembleClassifier,
    EsnClassifier,
    feature_scaling,
    nonsyntactic_sequences,
)
from canapy.reservoir import BidirectionalReservoir


def _toy(rng, n_seq=6, length=200):
    """Class k shows up as a bump on feature k; silence is noise."""
    X, Y = [], []
    for _ in range(n_seq):
        y = np.repeat(rng.integers(0, 3, size=length // 20), 20)
        x = rng.normal(0, 0.3, size=(length, 3)).astype(np.float32)
        x[np.arange(length), y] += 2.0
        X.append(x)
        Y.append(y)
    return X, Y


def test_syntactic_model_learns_frames():
    rng = np.random.default_rng(0)
    X, Y = _toy(rng)
    clf = EsnClassifier(ReservoirConfig(units=60), ReadoutConfig()).fit(X, Y, ["SIL", "a", "b"])
    Xt, Yt = _toy(rng, 2)
    acc = np.mean([(p == y).mean() for p, y in zip(clf.predict(Xt), Yt, strict=True)])
    assert acc > 0.9
    proba = clf.predict_proba(Xt)[0]
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)


def test_partial_fits_merged_equal_a_single_pass():
    rng = np.random.default_rng(1)
    X, Y = _toy(rng)
    mean, scale = feature_scaling(X)
    res, out = ReservoirConfig(units=40), ReadoutConfig()
    whole = EsnClassifier(res, out).begin(["s", "a", "b"], mean, scale).partial_fit(X, Y)
    part1 = EsnClassifier(res, out).begin(["s", "a", "b"], mean, scale).partial_fit(X[:3], Y[:3])
    part2 = EsnClassifier(res, out).begin(["s", "a", "b"], mean, scale).partial_fit(X[3:], Y[3:])
    merged = part1.merge(part2)
    np.testing.assert_allclose(merged.xtx_, whole.xtx_, rtol=1e-5)
    np.testing.assert_allclose(
        merged.finalize().Wout_, whole.finalize().Wout_, rtol=1e-3, atol=1e-4
    )


def test_nonsyntactic_sequences_are_balanced_and_shuffled():
    rng = np.random.default_rng(2)
    X, Y = _toy(rng)
    sx, sy = nonsyntactic_sequences(
        X,
        Y,
        3,
        per_class=30,
        context_frames=2,
        noise_std=0.1,
        rng=np.random.default_rng(0),
        segments_per_sequence=10,
    )
    assert len(sx) == 9
    assert all(len(a) == len(b) for a, b in zip(sx, sy, strict=True))
    counts = np.bincount(np.concatenate(sy), minlength=3)
    assert counts.min() > 0.5 * counts.max()


def test_ensemble_averages_members():
    rng = np.random.default_rng(3)
    X, Y = _toy(rng)
    a = EsnClassifier(ReservoirConfig(units=30, seed=1), ReadoutConfig()).fit(X, Y, ["s", "a", "b"])
    b = EsnClassifier(ReservoirConfig(units=30, seed=2), ReadoutConfig()).fit(X, Y, ["s", "a", "b"])
    ens = EnsembleClassifier([a, b]).predict_proba(X[:1])[0]
    np.testing.assert_allclose(
        ens, (a.predict_proba(X[:1])[0] + b.predict_proba(X[:1])[0]) / 2, rtol=1e-5
    )


def test_members_sharing_a_reservoir_run_it_once(monkeypatch):
    rng = np.random.default_rng(4)
    X, Y = _toy(rng)
    res, classes = ReservoirConfig(units=30, seed=1), ["s", "a", "b"]
    a = EsnClassifier(res, ReadoutConfig()).fit(X, Y, classes)
    b = EsnClassifier(res, ReadoutConfig(ridge=1e-1)).fit(X, Y, classes)
    assert a.shares_design(b)
    separate = [
        (pa + pb) / 2 for pa, pb in zip(a.predict_proba(X), b.predict_proba(X), strict=True)
    ]
    runs = []
    original = BidirectionalReservoir.iter_project

    def counting(self, seqs, weights, *args):
        runs.append(len(seqs))
        return original(self, seqs, weights, *args)

    monkeypatch.setattr(BidirectionalReservoir, "iter_project", counting)
    together = EnsembleClassifier([a, b]).predict_proba(X)
    assert runs == [len(X)]
    for t, s in zip(together, separate, strict=True):
        np.testing.assert_allclose(t, s, rtol=1e-5)


def test_solved_copy_keeps_accumulating():
    rng = np.random.default_rng(5)
    X, Y = _toy(rng)
    res, classes = ReservoirConfig(units=30), ["s", "a", "b"]
    mean, scale = feature_scaling(X)
    clf = EsnClassifier(res, ReadoutConfig()).begin(classes, mean, scale).partial_fit(X[:3], Y[:3])
    early = clf.solved_copy()
    alone = EsnClassifier(res, ReadoutConfig()).begin(classes, mean, scale)
    np.testing.assert_allclose(early.Wout_, alone.partial_fit(X[:3], Y[:3]).finalize().Wout_)
    full = clf.partial_fit(X[3:], Y[3:]).finalize()
    once = EsnClassifier(res, ReadoutConfig()).begin(classes, mean, scale).partial_fit(X, Y)
    np.testing.assert_allclose(full.Wout_, once.finalize().Wout_, rtol=1e-4, atol=1e-5)
    assert not hasattr(early, "xtx_")
