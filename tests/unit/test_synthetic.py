"""Tests of canapy.synthetic."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from canapy.synthetic import DEFAULT_VOCABULARY, make_example_corpus, synth_song


def test_song_shape_and_annotation() -> None:
    y, seg = synth_song(np.random.default_rng(3), sample_rate=16000)
    assert y.dtype == np.float32 and np.max(np.abs(y)) <= 1.0
    assert list(seg.columns) == ["onset_s", "offset_s", "label"]
    assert 20 <= len(seg) <= 35
    dur = seg["offset_s"] - seg["onset_s"]
    assert dur.between(0.039, 0.151).all()
    gaps = seg["onset_s"].to_numpy()[1:] - seg["offset_s"].to_numpy()[:-1]
    assert gaps.min() >= 0.004 and gaps.max() <= 0.061
    assert gaps.min() < 0.02  # some short gaps: segmentation is not trivial
    assert 0.3 <= seg["onset_s"].iloc[0] <= 0.6
    assert 0.3 <= len(y) / 16000 - seg["offset_s"].iloc[-1] <= 0.61
    assert set(seg["label"]) <= set(DEFAULT_VOCABULARY)
    assert all(isinstance(x, str) for x in seg["label"])


def test_repeats_and_determinism() -> None:
    y1, s1 = synth_song(np.random.default_rng(7))
    y2, s2 = synth_song(np.random.default_rng(7))
    np.testing.assert_array_equal(y1, y2)
    pd.testing.assert_frame_equal(s1, s2)
    labels = list(s1["label"])
    assert any(a == b for a, b in itertools.pairwise(labels))


def test_labels_are_acoustically_distinct() -> None:
    """A nearest-mean classifier on the syllable spectra recognises the labels."""
    sr = 16000
    y, seg = synth_song(np.random.default_rng(0), sample_rate=sr, n_syllables=(80, 80))
    profiles, labels = [], []
    for row in seg.itertuples():
        chunk = y[int(row.onset_s * sr) : int(row.offset_s * sr)]
        spec = np.abs(np.fft.rfft(chunk, n=4096))[:2048].reshape(64, 32).mean(axis=1)
        profiles.append(spec / np.linalg.norm(spec))
        labels.append(row.label)
    X, lab = np.array(profiles), np.array(labels)
    assert len(set(labels)) >= 5
    means = {k: X[lab == k].mean(axis=0) for k in set(labels)}
    keys = sorted(means)
    pred = [keys[int(np.argmax([x @ means[k] for k in keys]))] for x in X]
    assert np.mean(np.array(pred) == lab) > 0.95


def test_custom_vocabulary_and_low_rate() -> None:
    _, seg = synth_song(np.random.default_rng(1), sample_rate=8000, vocabulary=["0", "1", "x"] * 3)
    assert set(seg["label"]) <= {"0", "1", "x"}


def test_make_example_corpus(tmp_path: Path) -> None:
    start = time.perf_counter()
    out = make_example_corpus(tmp_path / "ex", n_files=3, seed=5, n_unlabelled=2)
    assert time.perf_counter() - start < 5
    wavs = sorted(p.name for p in out.glob("*.wav"))
    csvs = sorted(p.name for p in out.glob("*.csv"))
    assert wavs == [f"song_{i:03d}.wav" for i in range(5)]
    assert csvs == [f"song_{i:03d}.csv" for i in range(3)]
    assert (out / "README.txt").read_text().startswith("Synthetic")
    info = sf.info(out / "song_000.wav")
    assert info.samplerate == 16000 and info.subtype == "PCM_16"
    table = pd.read_csv(out / "song_001.csv", dtype=str)
    assert list(table.columns) == ["wave", "start", "end", "syll"]
    assert set(table["wave"]) == {"song_001.wav"}


def test_make_example_corpus_is_deterministic(tmp_path: Path) -> None:
    a = make_example_corpus(tmp_path / "a", n_files=2, seed=9, n_unlabelled=0)
    b = make_example_corpus(tmp_path / "b", n_files=2, seed=9, n_unlabelled=0)
    for name in ("song_000.wav", "song_001.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    c = make_example_corpus(tmp_path / "c", n_files=2, seed=10, n_unlabelled=0)
    assert (a / "song_000.csv").read_bytes() != (c / "song_000.csv").read_bytes()


def test_default_corpus_is_fast(tmp_path: Path) -> None:
    make_example_corpus(tmp_path / "warm", n_files=1, n_unlabelled=0)  # imports
    # CPU time of this process, not wall time: a busy machine slows the clock, not the work.
    start = time.process_time()
    make_example_corpus(tmp_path / "d")
    assert time.process_time() - start < 2.0
