"""Accuracy on real birdsong (../shared/data), on the standard splits."""

from __future__ import annotations

import pytest

from canapy.config import config_from_dict
from canapy.corpus import load_corpus
from canapy.workflow import evaluate_annotators, fit_annotators, resolve_sample_rate

pytestmark = pytest.mark.integration

SYNTACTIC_ONLY = {
    "training": {"models": ["syntactic"], "default_model": "syntactic", "validation_fraction": 0.0}
}


def _fit_and_score(folder, train, test, cache):
    corpus = load_corpus(folder)
    cfg = config_from_dict(SYNTACTIC_ONLY)
    ann = fit_annotators(corpus, train, cfg, resolve_sample_rate(cfg, train), cache)
    return evaluate_annotators(ann, corpus, test, cache)["syntactic"]


def test_gy6or6_next_day_accuracy(shared_data, tmp_path):
    """Trained on one day, tested on the next: SER well under 0.10."""
    folder = shared_data / "bengalese_finch" / "bfsongrepo_gy6or6"
    files = sorted(folder.glob("*.wav"))
    train = [f for f in files if "_230312_" in f.name]
    test = [f for f in files if "_240312_" in f.name]
    res = _fit_and_score(folder, train, test, tmp_path)
    assert res.syllable_error_rate < 0.05
    assert res.frame_accuracy > 0.95
    assert res.onset["f1"] > 0.95


def test_zebra_finch_44khz_accuracy(shared_data, tmp_path):
    """avn G402 (44.1 kHz): the defaults adapt to the sample rate."""
    folder = shared_data / "zebra_finch" / "avn_G402"
    files = sorted(folder.glob("*.wav"))
    res = _fit_and_score(folder, files[:20], files[20:], tmp_path)
    assert res.syllable_error_rate < 0.10
    assert res.frame_accuracy > 0.95


def test_labels_stay_strings_on_koumura(shared_data):
    corpus = load_corpus(shared_data / "bengalese_finch" / "koumura_bird0")
    assert corpus.labels == [str(i) for i in range(9)]
    assert len(corpus.annotated) == 60
