"""Accuracy on real birdsong (../shared/data), on the standard splits.

Thresholds are the measured value plus a stated margin (comment beside each): tight enough
that a real regression fails, loose enough for BLAS/platform rounding, which can move a
boundary by a frame and so a few syllables. The measured values are those of
``benchmarks/bench_accuracy.py`` (syntactic model, default config) in
``benchmarks/results/``.
"""

from __future__ import annotations

import pytest

from canapy.config import config_from_dict
from canapy.corpus import load_corpus
from canapy.workflow import evaluate_annotators, fit_annotators, resolve_sample_rate

pytestmark = pytest.mark.integration

# Koumura Bird0 (1128 reference syllables). Measured: SER 0.0408 (46 edits), frame accuracy
# 0.9797, onset F1 0.9796. Margins: SER +0.010 (11 edits), frame accuracy and onset F1 -0.010.
KOUMURA_SER, KOUMURA_FRAME, KOUMURA_ONSET = 0.051, 0.970, 0.970
# gy6or6 next day (604 reference syllables). Measured: SER 0.0083 (5 edits), frame accuracy
# 0.9821, onset F1 0.9901. Margins: SER +0.010 (6 edits), frame accuracy and onset F1 -0.010.
GY6OR6_SER, GY6OR6_FRAME, GY6OR6_ONSET = 0.019, 0.972, 0.980
# avn G402 (136 reference syllables). Measured: SER 0.0441 (6 edits), frame accuracy 0.9877.
# Margins: SER +0.022 (3 edits), frame accuracy -0.010.
AVN_SER, AVN_FRAME = 0.066, 0.977

SYNTACTIC_ONLY = {
    "training": {"models": ["syntactic"], "default_model": "syntactic", "validation_fraction": 0.0}
}


def _fit_and_score(folder, train, test, cache):
    corpus = load_corpus(folder)
    cfg = config_from_dict(SYNTACTIC_ONLY)
    ann = fit_annotators(corpus, train, cfg, resolve_sample_rate(cfg, train), cache)
    return evaluate_annotators(ann, corpus, test, cache)["syntactic"]


@pytest.mark.slow
def test_koumura_bird0_standard_split_accuracy(shared_data, tmp_path):
    """Koumura Bird0, the README's headline data set: train Bird0_0-39, test Bird0_40-59."""
    folder = shared_data / "bengalese_finch" / "koumura_bird0"
    train = [folder / f"Bird0_{i}.wav" for i in range(40)]
    test = [folder / f"Bird0_{i}.wav" for i in range(40, 60)]
    res = _fit_and_score(folder, train, test, tmp_path)
    assert res.syllable_error_rate < KOUMURA_SER
    assert res.frame_accuracy > KOUMURA_FRAME
    assert res.onset["f1"] > KOUMURA_ONSET


@pytest.mark.slow
def test_gy6or6_next_day_accuracy(shared_data, tmp_path):
    """Trained on one day, tested on the next."""
    folder = shared_data / "bengalese_finch" / "bfsongrepo_gy6or6"
    files = sorted(folder.glob("*.wav"))
    train = [f for f in files if "_230312_" in f.name]
    test = [f for f in files if "_240312_" in f.name]
    res = _fit_and_score(folder, train, test, tmp_path)
    assert res.syllable_error_rate < GY6OR6_SER
    assert res.frame_accuracy > GY6OR6_FRAME
    assert res.onset["f1"] > GY6OR6_ONSET


@pytest.mark.slow
def test_zebra_finch_44khz_accuracy(shared_data, tmp_path):
    """avn G402 (44.1 kHz): the defaults adapt to the sample rate."""
    folder = shared_data / "zebra_finch" / "avn_G402"
    files = sorted(folder.glob("*.wav"))
    res = _fit_and_score(folder, files[:20], files[20:], tmp_path)
    assert res.syllable_error_rate < AVN_SER
    assert res.frame_accuracy > AVN_FRAME


def test_labels_stay_strings_on_koumura(shared_data):
    corpus = load_corpus(shared_data / "bengalese_finch" / "koumura_bird0")
    assert corpus.labels == [str(i) for i in range(9)]
    assert len(corpus.annotated) == 60
