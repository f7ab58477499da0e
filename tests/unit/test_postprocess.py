"""Segments <-> frames: targets, decoding, smoothing, minimum duration and gaps."""

from __future__ import annotations

import numpy as np
import pytest

from canapy.config import PostprocessConfig
from canapy.labels import frame_targets, make_classes, silence_quiet_frames
from canapy.postprocess import absorb_short_segments, frames_to_segments, merge_same_label

CLASSES = ["SIL", "a", "b"]
HOP = 0.002


def _onehot(labels):
    p = np.full((len(labels), len(CLASSES)), 0.01)
    p[np.arange(len(labels)), labels] = 0.98
    return p


def _cfg(**kw):
    base = {"smoothing_ms": 0.0, "min_duration_ms": 0.0, "min_gap_ms": 0.0}
    base.update(kw)
    return PostprocessConfig(**base)


def test_make_classes_puts_silence_first_and_keeps_strings():
    assert make_classes(["0", "10", "2", "0"], "SIL") == ["SIL", "0", "10", "2"]


def test_frame_targets_shrinks_segments_near_edges_but_keeps_short_ones():
    y = frame_targets(
        [0.010, 0.030], [0.030, 0.032], ["a", "b"], 25, HOP, CLASSES, boundary_s=0.004
    )
    # "a" from 10 to 30 ms shrunk by 4 ms each side: frames 7..12 (14..24 ms).
    assert y[7:13].tolist() == [1] * 6
    assert y[5] == 0 and y[13] == 0
    # "b" lasts one frame: it is kept, not erased by the shrinking.
    assert (y == 2).sum() == 1


def test_touching_syllables_are_separated_and_widened_back():
    labels = [0] * 10 + [1] * 20 + [0] * 4 + [1] * 20 + [0] * 10
    segs = frames_to_segments(_onehot(labels), CLASSES, HOP, _cfg(), widen_s=0.004)
    assert segs["label"].tolist() == ["a", "a"]
    # The 4-frame (8 ms) gap is shared between both widened segments: they meet in the middle.
    assert np.isclose(segs["offset_s"][0], segs["onset_s"][1])
    assert np.isclose(segs["onset_s"][0], (10 - 0.5) * HOP - 0.004)


def test_short_blips_are_absorbed_by_the_most_probable_neighbour():
    labels = [0] * 10 + [1] * 20 + [2] * 2 + [1] * 20 + [0] * 10
    segs = frames_to_segments(_onehot(labels), CLASSES, HOP, _cfg(min_duration_ms=10))
    assert segs["label"].tolist() == ["a"]
    isolated = [0] * 10 + [2] * 3 + [0] * 10
    assert frames_to_segments(_onehot(isolated), CLASSES, HOP, _cfg(min_duration_ms=10)).empty


def test_duration_weighted_vote_not_run_count():
    # Many short "b" runs but "a" holds most of the time: the segment is "a".
    labels = [0] * 5 + ([1] * 6 + [2] * 1) * 6 + [0] * 5
    segs = frames_to_segments(_onehot(labels), CLASSES, HOP, _cfg(min_duration_ms=5))
    assert segs["label"].tolist() == ["a"]


def test_small_gaps_between_same_label_are_merged_only_when_asked():
    labels = [0] * 5 + [1] * 15 + [0] * 2 + [1] * 15 + [0] * 5
    assert len(frames_to_segments(_onehot(labels), CLASSES, HOP, _cfg())) == 2
    assert len(frames_to_segments(_onehot(labels), CLASSES, HOP, _cfg(min_gap_ms=6))) == 1


def test_smoothing_removes_single_frame_flips():
    rng = np.random.default_rng(0)
    labels = np.array([0] * 20 + [1] * 40 + [0] * 20)
    flips = labels.copy()
    flips[rng.choice(np.arange(25, 55), 5, replace=False)] = 2
    segs = frames_to_segments(_onehot(flips), CLASSES, HOP, _cfg(smoothing_ms=8))
    assert segs["label"].tolist() == ["a"]
    assert 0.0 < segs["confidence"][0] <= 1.0


def test_segments_are_clipped_to_the_recording():
    labels = [1] * 10
    segs = frames_to_segments(_onehot(labels), CLASSES, HOP, _cfg(), widen_s=0.01, duration_s=0.019)
    assert segs["onset_s"][0] == 0.0 and segs["offset_s"][0] <= 0.019


def _phrase(labels_ms: list[tuple[int, int]]) -> np.ndarray:
    """Frame labels at HOP from ``(class, duration_ms)`` pieces."""
    return np.concatenate([np.full(round(ms / 1000 / HOP), c) for c, ms in labels_ms])


def test_phrase_level_output_bridges_gaps_and_absorbs_blips():
    # one "a" phrase: syllables with 20-40 ms silent gaps, a 12 ms "b" blip inside a
    # syllable and a 14 ms "b" blip inside a gap; then silence and a "b" phrase
    frames = _phrase(
        [
            *[(0, 100), (1, 60), (0, 20), (1, 30), (2, 12), (1, 30), (0, 14), (2, 14)],
            *[(0, 12), (1, 60), (0, 40), (1, 60), (0, 200), (2, 300), (0, 100)],
        ]
    )
    phrase = _cfg(min_duration_ms=25.0, min_gap_ms=150.0)
    segs = frames_to_segments(_onehot(frames), CLASSES, HOP, phrase)
    assert segs["label"].tolist() == ["a", "b"]
    assert segs["onset_s"].iloc[0] == pytest.approx(0.099, abs=HOP)
    assert segs["offset_s"].iloc[0] == pytest.approx(0.451, abs=HOP)
    # the same frames read at syllable level keep every piece
    syllable = frames_to_segments(_onehot(frames), CLASSES, HOP, _cfg(min_duration_ms=8.0))
    assert syllable["label"].tolist().count("a") == 5
    assert len(syllable) > 5


def test_pieces_relabelled_by_their_vote_are_merged_at_phrase_level():
    # "a" then a run whose frames lean to "b" but whose summed vote says "a"
    p = np.full((200, 3), 0.01)
    p[:50, 1] = 0.98
    p[50:60, 0] = 0.98  # 20 ms gap
    p[60:100, 2], p[60:100, 1] = 0.5, 0.45  # argmax "b"...
    p[100:200, 1] = 0.98  # ... but the next "a" run is long
    p[60:100, 2] = 0.40  # make the run's own vote "a" after smoothing
    segs = frames_to_segments(p, CLASSES, HOP, _cfg(min_gap_ms=100.0))
    assert segs["label"].tolist() == ["a"]
    split = frames_to_segments(p, CLASSES, HOP, _cfg())
    assert len(split) == 2  # at syllable level the gap stays


def test_merge_same_label_is_pure_and_stops_at_long_gaps():
    p = np.zeros((30, 3))
    p[:, 1] = 1.0
    segs = [[1, 0, 5], [1, 8, 10], [1, 25, 30]]
    out = merge_same_label(segs, p, 5)
    assert out == [[1, 0, 10], [1, 25, 30]]
    assert segs == [[1, 0, 5], [1, 8, 10], [1, 25, 30]]
    assert merge_same_label(segs, p, 0) == segs


def test_quiet_gaps_inside_phrases_become_silence_targets():
    targets = np.array([0] * 20 + [1] * 30 + [0] * 20)
    loud = np.zeros(70)
    loud[20:30] = 10.0  # syllable
    loud[33:50] = 10.0  # syllable after a 3-frame gap
    loud[30:33] = 0.5
    out = silence_quiet_frames(targets, loud, min_frames=3)
    assert out[30:33].tolist() == [0, 0, 0]
    assert (out[20:30] == 1).all() and (out[33:50] == 1).all()
    assert (out[:20] == 0).all() and targets[31] == 1  # input untouched
    assert (silence_quiet_frames(targets, loud, min_frames=4) == targets).all()
    flat = silence_quiet_frames(targets, np.ones(70), min_frames=1)
    assert (flat == targets).all()  # no contrast: nothing to learn from loudness


def test_short_segments_fold_into_a_close_neighbour_at_phrase_level():
    p = np.full((100, 3), 0.01)
    p[:40, 1] = 0.9
    p[40:46, 2], p[40:46, 1] = 0.6, 0.4  # a 6-frame "b" piece inside an "a" phrase
    p[46:80, 1] = 0.9
    segs = [[1, 0, 40], [2, 40, 46], [1, 46, 80]]
    assert absorb_short_segments(segs, p, 10, 5) == [[1, 0, 80]]
    assert absorb_short_segments(segs, p, 10, 0) == segs  # syllable level: untouched
    lone = [[1, 0, 40], [2, 60, 66]]  # a short call far from any phrase stays
    assert absorb_short_segments(lone, p, 10, 5) == lone


@pytest.mark.parametrize("width", [2, 3, 4, 7, 16])
def test_moving_mean_equals_scipy_uniform_filter(width):
    from scipy.ndimage import uniform_filter1d

    from canapy.postprocess import moving_mean

    rng = np.random.default_rng(width)
    proba = rng.random((50, 5)).astype(np.float32)
    expected = uniform_filter1d(proba, size=width, axis=0, mode="nearest")
    got = moving_mean(proba, width)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
