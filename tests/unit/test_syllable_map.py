"""Segment representations, the syllable map and its outlier evidence (synthetic data)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import v_measure_score

from canapy.analysis.embedding import (
    corpus_representation,
    logmel_extractor,
    pool_states,
    resize_patches,
    segment_frames,
)
from canapy.analysis.evidence import class_outlier_scores, knn_disagreement, map_evidence
from canapy.analysis.mapping import (
    POINTS_FILE,
    MappedSegments,
    load_mapped,
    points_table,
    remap_segments,
    save_mapped,
    unchanged_segments,
)
from canapy.analysis.syllable_map import MAX_DEFAULT_MIN_SAMPLES, SyllableMap, load_map, save_map
from canapy.analysis.thumbnails import segment_thumbnail, spectrogram_png
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


@pytest.mark.slow  # fits a UMAP map (numba compiles it on first use: many seconds of CPU)
def test_hdbscan_min_samples_stops_growing_with_the_data():
    X, _ = blobs(n_per=70, d=4)
    smap = SyllableMap(n_neighbors=10, min_cluster_size=60).fit(X)  # as 3,000 segments give
    assert smap.min_samples_ == MAX_DEFAULT_MIN_SAMPLES  # not 60: bounded neighbour queries
    assert len(set(smap.clusters_) - {-1}) == 3
    assert set(smap.fit_seconds_) == {"umap", "hdbscan"}
    small = SyllableMap(n_neighbors=10).fit(X)
    assert small.min_cluster_size_ == small.min_samples_ == 10
    assert SyllableMap(n_neighbors=10, min_samples=7).fit(X).min_samples_ == 7


@pytest.mark.slow  # fits a UMAP map (numba compiles it on first use: many seconds of CPU)
def test_saved_map_and_its_points_round_trip(tmp_path):
    X, y = blobs()
    smap = SyllableMap(n_neighbors=10, min_cluster_size=10).fit(X)
    segs = pd.DataFrame(
        {
            "segment_id": [f"a.wav#{i:04d}" for i in range(len(X))],
            "audio_path": "/d/a.wav",
            "onset_s": np.arange(len(X)) * 0.1,
            "offset_s": np.arange(len(X)) * 0.1 + 0.0537,
            "label": y,
        }
    )
    pts = points_table(segs, MappedSegments(smap.embedding_, smap.clusters_, None, smap, {}))
    folder = save_mapped(tmp_path / "maps" / "logmel", smap, pts, {"map_key": "logmel"})
    loaded, points, meta = load_mapped(folder)
    pd.testing.assert_frame_equal(points, pts)
    assert meta["map_key"] == "logmel" and unchanged_segments(segs, points).all()
    assert np.array_equal(loaded.transform(X[:3]), smap.transform(X[:3]))
    (folder / POINTS_FILE).unlink()
    with pytest.raises(AnalysisError, match="no points file"):
        load_mapped(folder)


def test_spectrogram_png_low_bands_at_the_bottom_loud_is_dark():
    import io

    from PIL import Image

    spec = np.zeros((20, 8))
    spec[:, 0] = 10.0  # energy in the lowest band only
    img = np.asarray(Image.open(io.BytesIO(spectrogram_png(spec, size=(20, 8)))))
    assert img.shape == (8, 20)
    assert img[-1].mean() < 60 and img[0].mean() > 200
    with pytest.raises(AnalysisError, match="non-empty 2-D"):
        spectrogram_png(np.zeros((0, 3)))


def test_segment_thumbnail_of_a_real_segment(corpus, tmp_path):
    extractor = logmel_extractor(cache_dir=tmp_path)
    uri = segment_thumbnail(corpus.segments.iloc[0], extractor)
    assert uri.startswith("data:image/png;base64,") and len(uri) < 20_000


@pytest.mark.slow  # fits a UMAP map (numba compiles it on first use: many seconds of CPU)
def test_remap_reuses_a_map_that_still_fits_and_refits_one_that_does_not(corpus, tmp_path):
    segs = corpus.segments
    params = {"n_neighbors": 10, "min_cluster_size": 5}
    first = remap_segments(segs, None, map_params=params, cache_dir=tmp_path)
    assert "n_kept" not in first.info
    prior = (first.smap, points_table(segs, first))
    again = remap_segments(segs, prior, map_params=params, cache_dir=tmp_path)
    assert again.info["n_kept"] == len(segs) and again.info["n_placed"] == 0
    assert np.array_equal(again.points, first.points)
    other = prior[1].assign(segment_id=prior[1]["segment_id"] + "-other")  # another corpus
    refit = remap_segments(segs, (first.smap, other), map_params=params, cache_dir=tmp_path)
    assert "n_kept" not in refit.info
