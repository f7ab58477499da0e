"""One reservoir pass with held-out files gives the same models as separate trainings."""

from __future__ import annotations

import numpy as np
import pytest

from canapy.config import config_from_dict
from canapy.corpus import load_corpus
from canapy.synthetic import make_example_corpus
from canapy.training import fit_with_held_out


def test_held_out_pass_equals_separate_trainings(tmp_path):
    corpus = load_corpus(make_example_corpus(tmp_path / "data", n_files=6, n_unlabelled=0))
    paths = list(corpus.annotated)
    fit, held = paths[:4], paths[4:]
    cfg = config_from_dict({"reservoir": {"units": 60}})
    final, proba = fit_with_held_out(corpus, fit, held, cfg, 16000)
    alone, none = fit_with_held_out(corpus, fit + held, [], cfg, 16000)
    assert none == {}
    assert set(proba) == set(final) == {"syntactic", "nonsyntactic", "ensemble"}
    syn, syn_alone = final["syntactic"].estimator, alone["syntactic"].estimator
    np.testing.assert_allclose(syn.Wout_, syn_alone.Wout_, rtol=1e-3, atol=1e-4)
    # The final non-syntactic model keeps the excerpts of the held-out measurement's model
    # (drawn from the fitting files) and adds the held-out files' share (2 files for 4:
    # half as many excerpts again), instead of drawing as many from every file again.
    n_final = final["nonsyntactic"].estimator.n_frames_seen_
    n_redraw = alone["nonsyntactic"].estimator.n_frames_seen_
    assert n_redraw * 1.3 < n_final < n_redraw * 1.7
    # The held-out probabilities are those of models that never saw the held-out labels:
    # they differ from the final models' on the held-out files, and are valid probabilities.
    feats = alone["syntactic"].extractor()
    for path in held:
        p = proba["ensemble"][str(path)]
        assert p.shape == (len(feats(path)), len(final["ensemble"].classes))
        np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-4)
        seen = final["syntactic"].frame_proba([feats(path)])[0]
        assert not np.allclose(proba["syntactic"][str(path)], seen)
        mean = (proba["syntactic"][str(path)] + proba["nonsyntactic"][str(path)]) / 2
        np.testing.assert_allclose(p, mean, rtol=1e-5)


class _CountingExtractor:
    """Stands for a FeatureExtractor without disk cache: counts the files it computes."""

    def __init__(self, frames: int) -> None:
        self.frames, self.calls = frames, []

    def __call__(self, path):
        self.calls.append(path)
        return np.zeros((self.frames, 4), np.float32)


def test_features_without_disk_cache_are_computed_once_within_the_budget(tmp_path):
    from canapy.training import FeatureSequence

    paths = [tmp_path / f"{k}.wav" for k in range(3)]
    one_file = 10 * 4 * 4  # bytes of a (10, 4) float32 array
    extractor = _CountingExtractor(10)
    feats = FeatureSequence(paths, extractor, keep_bytes=2 * one_file)
    for _ in range(3):  # three passes, as a training makes
        [feats[k] for k in range(3)]
        [feats[1:][k] for k in range(2)]  # slices share what is kept
    # The first two files fit the budget and are computed once; the third every time.
    assert [extractor.calls.count(p) for p in paths] == [1, 1, 6]
    with pytest.raises(ValueError, match="read-only"):
        feats[0][0, 0] = 1.0  # kept arrays are shared: nobody may change them
    extractor = _CountingExtractor(10)
    feats = FeatureSequence(paths, extractor)  # with a disk cache: nothing kept
    [feats[k] for k in range(3)] + [feats[k] for k in range(3)]
    assert len(extractor.calls) == 6
