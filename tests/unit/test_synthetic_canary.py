"""The canary-like, phrase-level synthetic corpus."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from canapy.corpus import load_corpus
from canapy.synthetic_canary import (
    CALL_LABEL,
    CANARY_STATISTICS,
    CANARY_SYLLABLES,
    canary_syntax,
    make_canary_corpus,
    synth_canary_song,
)

SR = 16000
STATISTICS_JSON = (
    Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "canary_statistics.json"
)


@pytest.fixture(scope="module")
def songs() -> list[tuple[np.ndarray, pd.DataFrame]]:
    rng = np.random.default_rng(11)
    return [synth_canary_song(rng, sample_rate=SR) for _ in range(12)]


def test_phrases_follow_the_real_statistics(songs):
    segs = pd.concat([s for _, s in songs], ignore_index=True)
    phrases = segs[segs["label"] != CALL_LABEL]
    dur = phrases["offset_s"] - phrases["onset_s"]
    # median phrase duration within the real types' 5-95 % range of medians
    assert (
        CANARY_STATISTICS["type_median_duration_q05_s"]
        < dur.median()
        < CANARY_STATISTICS["type_median_duration_q95_s"]
    )
    assert dur.max() > 1.0 and dur.min() < 0.2  # long and short phrases
    for _, seg in songs:
        lab = seg["label"].tolist()
        assert all(a != b for a, b in itertools.pairwise(lab))  # phrase-level: no repeat
        n = int((seg["label"] != CALL_LABEL).sum())
        assert (
            CANARY_STATISTICS["phrases_per_song_q05"]
            <= n
            <= CANARY_STATISTICS["phrases_per_song_q50"]
        )
        gaps = seg["onset_s"].to_numpy()[1:] - seg["offset_s"].to_numpy()[:-1]
        assert gaps.min() >= 0.0 and gaps.max() <= 1.0 + 1e-9
    gaps = np.concatenate(
        [s["onset_s"].to_numpy()[1:] - s["offset_s"].to_numpy()[:-1] for _, s in songs]
    )
    touching = float(np.mean(gaps < 1e-9))
    assert abs(touching - CANARY_STATISTICS["gap_touching_share"]) < 0.15


def test_rare_short_calls(songs):
    segs = pd.concat([s for _, s in songs], ignore_index=True)
    calls = segs[segs["label"] == CALL_LABEL]
    assert 0 < len(calls) < 0.1 * len(segs)
    dur = calls["offset_s"] - calls["onset_s"]
    assert dur.between(0.04, 0.1).all()


def test_phrases_hold_silent_gaps_of_10_to_60_ms(songs):
    y, seg = songs[0]
    hop = SR // 500  # 2 ms frames
    rms = np.sqrt(np.mean(y[: len(y) // hop * hop].reshape(-1, hop) ** 2, axis=1))
    quiet = rms < 0.08  # background noise: rms 0.035; syllables: above 0.15
    found = []
    for on, off in zip(seg["onset_s"], seg["offset_s"], strict=True):
        inside = quiet[round(on * 500) + 2 : round(off * 500) - 2].astype(int)
        edges = np.diff(np.concatenate([[0], inside, [0]]))
        starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        found.extend((2 * (stops - starts)).tolist())
    gaps_ms = np.array([g for g in found if g >= 6])  # shorter: zero crossings, ramps
    assert len(gaps_ms) > 20
    assert gaps_ms.max() <= 72  # 60 ms plus the 5 ms fade of the syllables around it
    assert 20 <= np.median(gaps_ms) <= 60


def test_several_types_share_a_frequency_band():
    def overlap(a, b) -> bool:
        return min(a.f_hi, b.f_hi) > max(a.f_lo, b.f_lo)

    sharing = {a.label for a, b in itertools.permutations(CANARY_SYLLABLES, 2) if overlap(a, b)}
    assert len(sharing) >= 6


def test_syntax_has_no_self_transition_and_few_preferred_successors():
    m = canary_syntax(len(CANARY_SYLLABLES))
    assert np.allclose(m.sum(axis=1), 1.0) and np.all(np.diag(m) == 0)
    top2 = np.sort(m, axis=1)[:, -2:].sum(axis=1)
    assert (top2 > 0.85).all()


def test_seeded_and_reproducible(tmp_path):
    y1, s1 = synth_canary_song(np.random.default_rng(5), n_phrases=(3, 4))
    y2, s2 = synth_canary_song(np.random.default_rng(5), n_phrases=(3, 4))
    np.testing.assert_array_equal(y1, y2)
    pd.testing.assert_frame_equal(s1, s2)
    a = make_canary_corpus(tmp_path / "a", n_files=2, n_unlabelled=1, n_phrases=(3, 4))
    b = make_canary_corpus(tmp_path / "b", n_files=2, n_unlabelled=1, n_phrases=(3, 4))
    for name in ("song_000.wav", "song_001.csv", "song_002.wav"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    assert not (a / "song_002.csv").exists()
    corpus = load_corpus(a)
    assert len(corpus.annotated) == 2 and "phrase" in (a / "README.txt").read_text().lower()


def test_constants_match_the_statistics_script_output():
    if not STATISTICS_JSON.is_file():
        pytest.skip("benchmarks/results/canary_statistics.json absent")
    data = json.loads(STATISTICS_JSON.read_text())
    assert CANARY_STATISTICS["gap_touching_share"] == data["gap_touching_share"]
    assert CANARY_STATISTICS["log_gap_positive_mean"] == data["log_gap_positive"]["mean"]
    assert CANARY_STATISTICS["log_phrase_duration_std"] == data["log_phrase_duration"]["std"]
    assert CANARY_STATISTICS["phrases_per_song_q50"] == data["phrases_per_song"]["q50"]
    assert (
        CANARY_STATISTICS["type_median_duration_q95_s"] == data["per_type_median_duration_s"]["q95"]
    )
    assert CANARY_STATISTICS["short_phrase_share"] == data["short_phrase_share"]
