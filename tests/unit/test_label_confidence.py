"""canapy.review_scores.label_confidence: a model's mean probability of each hand label."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from canapy.review_scores import label_confidence, segment_votes


def _proba(frame_labels: list[int], n_classes: int, p: float = 0.8) -> np.ndarray:
    """Frames giving ``p`` to their class and the rest evenly to the others."""
    out = np.full((len(frame_labels), n_classes), (1 - p) / (n_classes - 1))
    out[np.arange(len(frame_labels)), frame_labels] = p
    return out


def test_confidence_is_high_where_the_model_hears_the_label_and_low_elsewhere():
    hop = 0.01
    proba = _proba([0] * 5 + [1] * 10 + [0] * 5 + [2] * 10 + [0] * 5, 3)
    segs = pd.DataFrame(
        {"onset_s": [0.05, 0.2, 0.05], "offset_s": [0.15, 0.3, 0.15], "label": ["a", "a", "b"]}
    )
    conf = label_confidence(proba, ["SIL", "a", "b"], segs, hop)
    assert conf[0] == pytest.approx(0.8)  # frames 5-14 all say "a"
    assert conf[1] == pytest.approx(0.1)  # the model hears "b" there
    assert conf[2] == pytest.approx(0.1)


def test_unknown_labels_get_nan_and_a_frame_less_segment_its_middle_frame():
    proba = _proba([1, 1, 2, 2], 3, p=0.6)
    segs = pd.DataFrame({"onset_s": [0.0, 0.021], "offset_s": [0.02, 0.0215], "label": ["z", "b"]})
    conf = label_confidence(proba, ["SIL", "a", "b"], segs, 0.01)
    assert np.isnan(conf[0])
    assert conf[1] == pytest.approx(0.6)  # no frame centre inside: the nearest frame (2)
    assert label_confidence(proba, ["SIL", "a", "b"], segs.iloc[:0], 0.01).shape == (0,)


def test_segment_votes_still_sum_the_syllable_classes():
    proba = _proba([0, 1, 1, 2], 3, p=0.5)
    votes = segment_votes(proba, [0.005], [0.035], 0.01)
    assert votes.shape == (1, 2)
    assert votes[0].tolist() == pytest.approx([0.5 + 0.5 + 0.25, 0.25 + 0.25 + 0.5])
