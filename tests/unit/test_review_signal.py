"""The syllable map's evidence joined to a review."""

from __future__ import annotations

import pandas as pd
import pytest

from canapy.analysis.review_signal import add_map_signal, map_signal
from canapy.corpus import load_corpus
from canapy.review import REVIEW_COLUMNS, ReviewResult
from canapy.synthetic import make_example_corpus


def _review(ids: list[str]) -> ReviewResult:
    seg = pd.DataFrame({c: [""] * len(ids) for c in REVIEW_COLUMNS})
    seg["segment_id"] = ids
    seg["score"] = [0.1 * i for i in range(len(ids))][::-1]
    seg["start"] = 0.0
    empty = pd.DataFrame()
    return ReviewResult(seg, empty, empty)


@pytest.mark.slow  # fits a UMAP map (numba compiles it on first use: many seconds of CPU)
def test_map_signal_rows_follow_the_segments_and_join_the_review(tmp_path):
    corpus = load_corpus(make_example_corpus(tmp_path / "c", n_files=3, n_unlabelled=0))
    planted = corpus.segments.copy()
    planted.loc[0, "label"] = next(lab for lab in corpus.labels if lab != planted.loc[0, "label"])
    corpus = type(corpus)(planted, corpus.audio_paths, corpus.annotated)
    signal = map_signal(corpus, cache_dir=tmp_path / "cache", map_params={"n_neighbors": 10})
    assert signal["segment_id"].tolist() == corpus.segments["segment_id"].tolist()
    assert signal.loc[0, "knn_disagreement"] >= 0.8  # the relabelled segment stands out
    review = _review(corpus.segments["segment_id"].tolist())
    joined = add_map_signal(review, signal)
    assert joined.segments["score"].tolist() == review.segments["score"].tolist()
    assert joined.segments["knn_disagreement"].notna().all()
    path = joined.to_csv(tmp_path / "suspects.csv")
    header = path.read_text().splitlines()[0].split(",")
    assert header[: len(REVIEW_COLUMNS)] == REVIEW_COLUMNS
    assert header[len(REVIEW_COLUMNS) :] == ["knn_disagreement", "knn_label", "class_outlier"]


def test_weighted_signal_reranks():
    review = _review(["a", "b", "c"])  # scores 0.2, 0.1, 0.0
    signal = pd.DataFrame(
        {
            "segment_id": ["a", "b", "c"],
            "knn_disagreement": [0.0, 0.0, 1.0],
            "knn_label": ["x", "y", "z"],
            "class_outlier": [0.0, 0.0, 0.0],
        }
    )
    ranked = add_map_signal(review, signal, weight=0.5).segments
    assert ranked["segment_id"].tolist() == ["c", "a", "b"]
