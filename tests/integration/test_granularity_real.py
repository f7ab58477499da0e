"""Granularity inference on the real hand annotations of ../shared/data (tables only)."""

from __future__ import annotations

import pytest

from canapy.corpus import load_corpus
from canapy.granularity import infer_granularity

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    "folder",
    [
        "bengalese_finch/koumura_bird0",
        "bengalese_finch/bfsongrepo_gy6or6",
        "zebra_finch/avn_G402",
    ],
)
def test_finch_annotations_are_syllable_level(shared_data, folder):
    corpus = load_corpus(shared_data / folder, require_audio=False)
    report = infer_granularity(corpus.segments)
    assert report.granularity == "syllable"
    assert report.confidence > 0.95 and report.warning is None
    assert report.stats["phrase_files"] == 0


@pytest.mark.slow  # reads all 459 real canary annotation files
def test_real_canary_annotations_are_phrase_level(shared_data):
    corpus = load_corpus(
        shared_data / "canary" / "m1_2016_spring_annotations",
        annot_format="aud-seq",
        require_audio=False,
        overlap_tolerance_s=0.2,
    )
    report = infer_granularity(corpus.segments)
    assert report.granularity == "phrase"
    assert report.confidence > 0.95 and report.warning is None
    assert report.stats["n_files"] > 400
    assert report.stats["long_segment_share"] > 0.5
