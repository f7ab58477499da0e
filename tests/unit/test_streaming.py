"""Streaming annotation gives the whole file's features and segments with bounded blocks."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from canapy.activity import ActivityGate, RegionTracker, calibrate_gate, region_recall
from canapy.audio import load_audio
from canapy.config import default_config
from canapy.corpus import load_corpus
from canapy.features import compute_features
from canapy.postprocess import frames_to_segments
from canapy.streaming import (
    SegmentDecoder,
    StreamSettings,
    annotate_stream,
    plan_file,
    span_features,
)
from canapy.synthetic import make_example_corpus, synth_song
from canapy.workflow import fit_annotators, predict_files

RATE = 16000
# Tiny blocks so that a ~40 s file crosses many block, piece and scan edges.
SMALL = StreamSettings(block_s=3.0, piece_s=11.0, context_s=1.0, scan_block_s=4.0)


@pytest.fixture(scope="module")
def annotators(tmp_path_factory):
    folder = make_example_corpus(tmp_path_factory.mktemp("corpus"), n_files=5, seed=0)
    corpus = load_corpus(folder)
    cfg = default_config()
    cfg = replace(
        cfg,
        reservoir=replace(cfg.reservoir, units=100),
        training=replace(cfg.training, models=("syntactic", "nonsyntactic", "ensemble")),
    )
    return fit_annotators(corpus, list(corpus.annotated), cfg, RATE)


def _long_recording(
    path: Path, n_songs: int = 6, seed: int = 5, tail_s: float = 0.0
) -> tuple[Path, pd.DataFrame]:
    """Songs separated by stretches of quiet noise, as in a long lab recording."""
    rng = np.random.default_rng(seed)
    parts, segments, t = [], [], 0.0
    for _ in range(n_songs):
        y, segs = synth_song(rng, RATE)
        segments.append(segs.assign(onset_s=segs["onset_s"] + t, offset_s=segs["offset_s"] + t))
        gap = int(RATE * rng.uniform(0.5, 3.0))
        parts += [y, (0.003 * rng.standard_normal(gap)).astype(np.float32)]
        t += (len(y) + gap) / RATE
    parts.append((0.003 * rng.standard_normal(int(tail_s * RATE))).astype(np.float32))
    sf.write(path, np.concatenate(parts), RATE, subtype="FLOAT")
    return path, pd.concat(segments, ignore_index=True)


def _frame_labels(segs: pd.DataFrame, n: int, hop: float) -> np.ndarray:
    out = np.full(n, "", object)
    for on, off, lab in segs[["onset_s", "offset_s", "label"]].itertuples(index=False):
        out[round(on / hop) : round(off / hop)] = lab
    return out


def test_block_features_equal_whole_file_features(tmp_path, annotators):
    cfg = annotators["syntactic"].config.features
    path, _ = _long_recording(tmp_path / "long.wav", n_songs=3)
    plan = plan_file(path, RATE, cfg, None, SMALL)
    y, _ = load_audio(path)
    whole = compute_features(y, RATE, cfg)
    assert plan.n_frames == len(whole)
    # The per-band noise floor (a file percentile) is found exactly by the two scans.
    blocks = [
        span_features(str(path), a, min(a + 777, plan.n_frames), plan, cfg)
        for a in range(0, plan.n_frames, 777)
    ]
    np.testing.assert_array_equal(np.concatenate(blocks), whole)


def test_digital_silence_floor(tmp_path, annotators):
    cfg = annotators["syntactic"].config.features
    path = tmp_path / "quiet.wav"
    y = np.zeros(RATE * 3, np.float32)
    y[RATE : RATE + 800] = 0.5
    sf.write(path, y, RATE, subtype="FLOAT")
    plan = plan_file(path, RATE, cfg, None, SMALL)
    whole = compute_features(load_audio(path)[0], RATE, cfg)
    np.testing.assert_array_equal(span_features(str(path), 0, plan.n_frames, plan, cfg), whole)


@pytest.mark.parametrize("kind", ["syntactic", "ensemble"])
def test_streaming_segments_equal_whole_file(tmp_path, annotators, kind):
    ann = annotators[kind]
    path, _ = _long_recording(tmp_path / "long.wav")
    whole = predict_files(ann, [path])[str(path)]
    streamed = annotate_stream(ann, path, gate=None, settings=SMALL)
    assert len(whole) > 100
    pd.testing.assert_frame_equal(
        streamed.drop(columns="confidence"), whole.drop(columns="confidence")
    )
    np.testing.assert_allclose(streamed["confidence"], whole["confidence"], atol=1e-5)


def test_gate_keeps_the_songs_and_skips_the_noise(tmp_path, annotators):
    ann = annotators["syntactic"]
    path, truth = _long_recording(tmp_path / "long.wav", tail_s=30.0)
    gate = ActivityGate(threshold=2.0, margin_s=0.3)
    plan = plan_file(path, RATE, ann.config.features, gate, SMALL)
    assert plan.active_fraction < 0.7  # the 30 s of noise at the end are skipped
    hop = ann.hop_s
    assert region_recall(plan.regions, truth["onset_s"], truth["offset_s"], hop) == 1.0
    everything = annotate_stream(ann, path, gate=None, settings=SMALL)
    gated = annotate_stream(ann, path, gate=gate, settings=SMALL)
    # Inside the kept stretches (past the margins' warm-up), the labels are unchanged.
    a = _frame_labels(everything, plan.n_frames, hop)
    b = _frame_labels(gated, plan.n_frames, hop)
    song = _frame_labels(truth, plan.n_frames, hop) != ""
    assert (a[song] == b[song]).mean() > 0.99
    outside = np.ones(plan.n_frames, bool)
    for lo, hi in plan.regions:
        outside[lo:hi] = False
    assert (b[outside] == "").all()


def test_decoder_joins_chunks_and_fills_gaps_with_silence(annotators):
    ann = annotators["syntactic"]
    rng = np.random.default_rng(0)
    n, k = 200_000, len(ann.classes)
    proba = np.zeros((n, k), np.float32)
    proba[:, 0] = 1.0
    for start in rng.integers(0, n - 200, size=400):  # syllables, some in runs with gaps
        proba[start : start + rng.integers(5, 60)] = np.eye(k)[rng.integers(1, k)]
    proba = proba + rng.uniform(0, 0.4, proba.shape).astype(np.float32)
    proba[150_000:160_000] = np.eye(k)[0]  # a gated-out stretch: never fed
    expected = ann.decode(proba, duration_s=n * ann.hop_s)
    decoder = SegmentDecoder(ann, n, n * ann.hop_s)
    for a, b in [(0, 70_000), (70_000, 150_000), (160_000, n)]:
        for c in range(a, b, 9_999):
            decoder.feed(c, proba[c : min(b, c + 9_999)])
    got = decoder.finish()
    pd.testing.assert_frame_equal(got, expected)


def test_region_tracker_joins_runs_across_blocks():
    score = np.array([0, 3, 3, 0, 0, 0, 0, 0, 0, 3, 3, 3], float)
    tracker = RegionTracker(1.0)
    for a in range(0, len(score), 5):
        tracker.add(score[a : a + 5], a)
    assert tracker.regions(len(score), margin_frames=1) == [(0, 4), (8, 12)]
    assert tracker.regions(len(score), margin_frames=3) == [(0, 12)]


def test_calibrated_gate_detects_the_labelled_segments():
    rng = np.random.default_rng(0)
    targets = np.zeros(5000, int)
    scores = rng.normal(0.0, 0.3, 5000)
    for a in range(100, 4900, 250):
        targets[a : a + 40] = 1
        scores[a : a + 40] += rng.uniform(1.5, 6.0)
    gate = calibrate_gate([scores], [targets], recall=1.0, margin_s=0.01)
    tracker = RegionTracker(gate.threshold)
    tracker.add(scores, 0)
    regions = tracker.regions(5000, margin_frames=10)
    onsets = np.flatnonzero(np.diff(targets) == 1) + 1
    assert region_recall(regions, onsets * 0.001, (onsets + 40) * 0.001, 0.001) == 1.0
    assert sum(b - a for a, b in regions) < 0.6 * 5000


def test_trivial_settings_are_whole_file(tmp_path, annotators):
    ann = annotators["syntactic"]
    path = tmp_path / "short.wav"
    sf.write(path, synth_song(np.random.default_rng(3), RATE)[0], RATE, subtype="FLOAT")
    plan = plan_file(path, RATE, ann.config.features)
    assert plan.pieces == [(0, plan.n_frames, 0, plan.n_frames)]
    whole = predict_files(ann, [path])[str(path)]
    pd.testing.assert_frame_equal(
        annotate_stream(ann, path).drop(columns="confidence"), whole.drop(columns="confidence")
    )


def test_frames_to_segments_offset_is_a_shift():
    cfg = default_config().postprocess
    p = np.zeros((40, 2), np.float32)
    p[:, 0] = 1
    p[10:20] = [0, 1]
    a = frames_to_segments(p, ["SIL", "a"], 0.002, cfg, frame_offset=1000)
    b = frames_to_segments(np.concatenate([np.eye(2)[[0] * 1000], p]), ["SIL", "a"], 0.002, cfg)
    pd.testing.assert_frame_equal(a, b)
