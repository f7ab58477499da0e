"""One reservoir pass with held-out files gives the same models as separate trainings."""

from __future__ import annotations

import numpy as np

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
