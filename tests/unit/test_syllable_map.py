"""Segment representations, the syllable map and its outlier evidence (synthetic data)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import v_measure_score

from canapy.analysis.embedding import (
    corpus_representation,
    pool_states,
    resize_patches,
    segment_frames,
)
from canapy.analysis.evidence import class_outlier_scores, knn_disagreement, map_evidence
from canapy.analysis.syllable_map import SyllableMap, load_map, save_map
from canapy.annotator import Annotator
from canapy.config import default_config
from canapy.corpus import load_corpus
from canapy.exceptions import AnalysisError, ModelError
from canapy.synthetic import make_example_corpus
from canapy.workflow import fit_annotators


def blobs(n_per=40, centres=(0, 4, 8), d=6, seed=0):
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(c, 0.3, size=(n_per, d)) for c in centres])
    y = np.repeat([str(i) for i in range(len(centres))], n_per)
    return X.astype(np.float32), y


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = make_example_corpus(tmp_path_factory.mktemp("corpus"), n_files=6, n_unlabelled=0)
    return load_corpus(folder)


def test_segment_frames_and_resize_and_pool():
    lo, hi = segment_frames(np.array([0.0, 0.05]), np.array([0.02, 0.0501]), 0.01, 8)
    assert lo.tolist() == [0, 5] and hi.tolist() == [3, 6]
    spec = np.arange(16, dtype=float).reshape(8, 2)
    patches = resize_patches(spec, lo, hi, frames=5)
    assert patches.shape == (2, 10)
    assert patches[0, :2].tolist() == [0.0, 1.0] and patches[0, -2:].tolist() == [4.0, 5.0]
    assert np.allclose(patches[1].reshape(5, 2), spec[5])  # one-frame segment: repeated
    assert pool_states(spec, lo, hi)[0].tolist() == [2.0, 3.0]


@pytest.mark.slow  # fits a UMAP map (numba compiles it on first use: many seconds of CPU)
def test_logmel_representation_separates_synthetic_labels(corpus, tmp_path):
    seg = corpus.segments
    X = corpus_representation(seg, "logmel", cache_dir=tmp_path)
    assert X.shape[0] == len(seg) and np.isfinite(X).all()
    smap = SyllableMap(n_neighbors=10, min_cluster_size=5).fit(X)
    assert v_measure_score(seg["label"], smap.clusters_) > 0.7


@pytest.mark.slow  # fits a UMAP map (numba compiles it on first use: many seconds of CPU)
def test_reservoir_representation_uses_the_trained_model(corpus, tmp_path):
    cfg = default_config()
    cfg = replace(cfg, reservoir=replace(cfg.reservoir, units=100))
    cfg = replace(cfg, training=replace(cfg.training, models=("syntactic",)))
    files = list(corpus.annotated)
    ann = fit_annotators(corpus, files, cfg, 16000, tmp_path)["syntactic"]
    X = corpus_representation(corpus.segments, "reservoir", annotator=ann, cache_dir=tmp_path)
    assert X.shape == (len(corpus.segments), ann.estimator.reservoir_.output_dim)
    with pytest.raises(AnalysisError, match="needs a trained model"):
        corpus_representation(corpus.segments, "reservoir")
    assert isinstance(ann, Annotator)


def test_representation_errors(corpus):
    with pytest.raises(AnalysisError, match="unknown representation"):
        corpus_representation(corpus.segments, "pixels")
    gone = corpus.segments.assign(audio_path="/nonexistent/x.wav")
    with pytest.raises(AnalysisError, match="audio not found"):
        corpus_representation(gone, "logmel")


@pytest.mark.slow  # fits a UMAP map (numba compiles it on first use: many seconds of CPU)
def test_map_is_reproducible_and_transform_keeps_points_in_place(tmp_path):
    X, y = blobs()
    a = SyllableMap(n_neighbors=10, min_cluster_size=10, seed=3).fit(X)
    b = SyllableMap(n_neighbors=10, min_cluster_size=10, seed=3).fit(X)
    assert np.array_equal(a.embedding_, b.embedding_)
    assert np.array_equal(a.clusters_, b.clusters_)
    assert v_measure_score(y, a.clusters_) == pytest.approx(1.0)
    folder = save_map(a, tmp_path / "map", {"representation": "test"})
    loaded, meta = load_map(folder)
    assert meta["kind"] == "syllable-map" and meta["params"]["seed"] == 3
    new = loaded.transform(X[:5] + 0.01)
    assert loaded.assign_clusters(new).tolist() == a.clusters_[:5].tolist()
    with pytest.raises(AnalysisError, match="dimensions"):
        loaded.transform(X[:, :3])


def test_map_refuses_too_few_segments_and_wrong_folder(tmp_path):
    with pytest.raises(AnalysisError, match="at least 10 segments"):
        SyllableMap().fit(np.zeros((3, 4)))
    from canapy.persistence import save_model

    save_model({"x": 1}, tmp_path / "m", {})
    with pytest.raises(ModelError, match="not a syllable map"):
        load_map(tmp_path / "m")


def test_knn_disagreement_flags_a_planted_mislabel():
    X, y = blobs()
    y = y.copy()
    y[5] = "2"  # a point of blob 0 labelled as blob 2
    d, majority = knn_disagreement(X, y, k=10)
    assert d[5] == 1.0 and majority[5] == "0"
    assert np.median(np.delete(d, 5)) <= 0.1


def test_class_outlier_and_map_evidence():
    X, y = blobs()
    X = X.copy()
    X[0] = 100.0  # far from every point of its class
    scores = class_outlier_scores(X, y)
    assert scores[0] == scores.max() and scores[0] > 0.5
    ev = map_evidence(X[:, :2], y)
    assert list(ev.columns) == ["knn_disagreement", "knn_label", "class_outlier"]
    assert ev.notna().all().all()
    tiny = class_outlier_scores(np.zeros((2, 2)), ["a", "b"])
    assert tiny.tolist() == [0.0, 0.0]
    with pytest.raises(AnalysisError, match="labels"):
        map_evidence(X, y[:3])


def test_evidence_is_a_dataframe_in_point_order():
    X, y = blobs(n_per=5)
    ev = map_evidence(X, y, k=3)
    assert isinstance(ev, pd.DataFrame) and len(ev) == len(y)
