"""Behaviour of canapy.metrics, against hand-computed values."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_bipartite_matching

from canapy.exceptions import AnnotationError
from canapy.metrics import (
    boundary_scores,
    class_report,
    confusion,
    evaluate_segments,
    frame_accuracy,
    frames_from_segments,
    segment_error_counts,
    syllable_error_rate,
)


def _segments(path: str, rows: list[tuple[float, float, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"audio_path": path, "onset_s": a, "offset_s": b, "label": lab} for a, b, lab in rows],
        columns=["audio_path", "onset_s", "offset_s", "label"],
    )


# --------------------------------------------------------------------------- sequences


def test_ser_one_deletion_is_one_third():
    assert syllable_error_rate([["a", "b", "c"]], [["a", "c"]]) == pytest.approx(1 / 3)


def test_ser_is_pooled_not_averaged_over_files():
    # file 1: 1 error / 1 label; file 2: 0 errors / 3 labels -> 1/4 (mean of rates: 1/2)
    refs = [["a"], ["a", "b", "c"]]
    hyps = [["b"], ["a", "b", "c"]]
    assert syllable_error_rate(refs, hyps) == pytest.approx(0.25)


def test_ser_counts_insertions_and_can_exceed_one():
    assert syllable_error_rate([["a"]], [["a", "b", "b"]]) == pytest.approx(2.0)


def test_ser_substitution_costs_one_and_labels_are_atoms():
    assert segment_error_counts(["a", "b"], ["a", "c"]) == 1
    assert segment_error_counts(["ab"], ["a", "b"]) == 2  # 1 substitution + 1 insertion
    assert segment_error_counts(["x", "y", "z"], ["y", "z", "x"]) == 2


def test_ser_empty_reference_convention():
    assert syllable_error_rate([[]], [[]]) == 0.0
    assert syllable_error_rate([], []) == 0.0
    assert math.isinf(syllable_error_rate([[]], [["a"]]))


def test_ser_rejects_mismatched_file_counts():
    with pytest.raises(ValueError, match="2 reference"):
        syllable_error_rate([["a"], ["b"]], [["a"]])


# --------------------------------------------------------------------------- boundaries


def test_boundary_tolerance_is_inclusive_despite_float_rounding():
    # 0.31 - 0.30 == 0.010000000000000009 in floating point
    s = boundary_scores([0.30], [0.31], tolerance_s=0.01)
    assert s["n_match"] == 1
    assert s["f1"] == 1.0


def test_boundary_just_outside_tolerance_is_not_matched():
    s = boundary_scores([0.30], [0.3101], tolerance_s=0.01)
    assert s == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "n_ref": 1, "n_hyp": 1, "n_match": 0}


def test_boundary_matching_is_one_to_one():
    # two hypotheses near one reference: only one may match
    s = boundary_scores([1.0], [0.995, 1.005], tolerance_s=0.01)
    assert (s["n_match"], s["precision"], s["recall"]) == (1, 0.5, 1.0)
    assert s["f1"] == pytest.approx(2 * 0.5 * 1.0 / 1.5)


def test_boundary_matching_is_maximum_not_nearest_first():
    # nearest-first would pair 0.100-0.104 (4 ms) and leave 0.110 and 0.094 (16 ms apart)
    # unmatched: 1 match. The maximum matching is 0.100-0.094 and 0.110-0.104 (6 ms each).
    s = boundary_scores([0.100, 0.110], [0.094, 0.104], tolerance_s=0.006)
    assert s["n_match"] == 2


def test_boundary_order_of_inputs_does_not_matter():
    a = boundary_scores([0.3, 0.1, 0.2], [0.21, 0.09], tolerance_s=0.02)
    b = boundary_scores([0.1, 0.2, 0.3], [0.09, 0.21], tolerance_s=0.02)
    assert a == b
    assert a["n_match"] == 2


def test_boundary_empty_conventions():
    assert boundary_scores([], [])["f1"] == 1.0
    s = boundary_scores([0.1], [])
    assert (s["precision"], s["recall"], s["f1"]) == (0.0, 0.0, 0.0)
    s = boundary_scores([], [0.1])
    assert (s["precision"], s["recall"], s["f1"], s["n_hyp"]) == (0.0, 0.0, 0.0, 1)


@pytest.mark.parametrize("seed", range(20))
def test_boundary_matching_equals_exact_maximum_matching_on_dense_boundaries(seed):
    rng = np.random.default_rng(seed)
    ref = rng.uniform(0, 0.2, size=rng.integers(0, 40))
    hyp = rng.uniform(0, 0.2, size=rng.integers(0, 40))
    tol = 0.01
    adj = np.abs(ref[:, None] - hyp[None, :]) <= tol + 1e-9
    expected = 0
    if adj.size:
        match = maximum_bipartite_matching(csr_matrix(adj.astype(np.int8)), perm_type="column")
        expected = int((match >= 0).sum())
    assert boundary_scores(ref, hyp, tolerance_s=tol)["n_match"] == expected


def test_boundary_matching_equals_brute_force_on_tiny_cases():
    rng = np.random.default_rng(0)
    for _ in range(200):
        ref = np.round(rng.uniform(0, 0.05, size=rng.integers(0, 5)), 3)
        hyp = np.round(rng.uniform(0, 0.05, size=rng.integers(0, 5)), 3)
        small, large = sorted([ref, hyp], key=len)
        best = 0
        for perm in itertools.permutations(range(len(large)), len(small)):
            ok = sum(abs(small[i] - large[j]) <= 0.01 + 1e-9 for i, j in enumerate(perm))
            best = max(best, ok)
        assert boundary_scores(ref, hyp, 0.01)["n_match"] == best


# --------------------------------------------------------------------------- frames


def test_frame_accuracy_values_and_errors():
    assert frame_accuracy(["a", "b", "b", "SIL"], ["a", "b", "a", "a"]) == 0.5
    assert math.isnan(frame_accuracy([], []))
    with pytest.raises(ValueError, match="shape"):
        frame_accuracy(["a"], ["a", "b"])


def test_frames_from_segments_uses_frame_centres():
    seg = _segments("x", [(0.0, 0.02, "a"), (0.025, 0.04, "b")])
    # centres 0.005, 0.015, 0.025, 0.035, 0.045 ; "b" starts exactly at centre 0.025
    frames = frames_from_segments(seg, duration_s=0.05, hop_s=0.01, silence_label="SIL")
    assert frames.tolist() == ["a", "a", "b", "b", "SIL"]


def test_frames_from_segments_offset_is_exclusive_and_short_segment_may_vanish():
    seg = _segments("x", [(0.005, 0.015, "a"), (0.021, 0.024, "b")])
    frames = frames_from_segments(seg, duration_s=0.03, hop_s=0.01, silence_label="-")
    assert frames.tolist() == ["a", "-", "-"]


def test_frames_from_segments_empty_and_unsorted():
    empty = _segments("x", [])
    assert frames_from_segments(empty, 0.03, 0.01, "SIL").tolist() == ["SIL"] * 3
    seg = _segments("x", [(0.02, 0.03, "b"), (0.0, 0.01, "a")])
    assert frames_from_segments(seg, 0.03, 0.01, "SIL").tolist() == ["a", "SIL", "b"]


def test_class_report_values():
    rep = class_report(["a", "a", "b", "c"], ["a", "b", "b", "b"], labels=["a", "b", "c"])
    assert list(rep.index) == ["a", "b", "c"]
    assert list(rep.columns) == ["precision", "recall", "f1", "support"]
    assert rep.loc["a"].tolist() == pytest.approx([1.0, 0.5, 2 / 3, 2])
    assert rep.loc["b"].tolist() == pytest.approx([1 / 3, 1.0, 0.5, 1])
    assert rep.loc["c"].tolist() == pytest.approx([0.0, 0.0, 0.0, 1])  # zero_division=0


def test_confusion_rows_are_true_columns_are_predicted():
    y_true = ["a", "a", "a", "b"]
    y_pred = ["a", "b", "b", "b"]
    counts = confusion(y_true, y_pred, normalize=None)
    assert counts.loc["a", "b"] == 2  # true a predicted as b
    assert counts.loc["b", "a"] == 0
    assert counts.index.name == "true"
    assert counts.columns.name == "predicted"
    norm = confusion(y_true, y_pred, labels=["b", "a", "c"])
    assert list(norm.index) == ["b", "a", "c"]
    assert norm.loc["a"].tolist() == pytest.approx([2 / 3, 1 / 3, 0.0])
    assert norm.loc["c"].tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="normalize"):
        confusion(y_true, y_pred, normalize="rows")


# --------------------------------------------------------------------------- evaluation


@pytest.fixture
def ref_pred():
    ref = pd.concat(
        [
            _segments("f1.wav", [(0.1, 0.2, "a"), (0.3, 0.4, "b"), (0.5, 0.6, "c")]),
            _segments("f2.wav", [(0.1, 0.3, "a")]),
            _segments("f3.wav", [(0.0, 0.1, "b")]),
        ],
        ignore_index=True,
    )
    pred = pd.concat(
        [
            # f1: "b" missed, others exact; given out of onset order on purpose
            _segments("f1.wav", [(0.5, 0.6, "c"), (0.1, 0.2, "a")]),
            # f2: right label, onset 4 ms late (within 10 ms), offset 50 ms early
            _segments("f2.wav", [(0.104, 0.25, "a")]),
            # f3: nothing predicted
        ],
        ignore_index=True,
    )
    durations = {"f1.wav": 1.0, "f2.wav": 0.5, "f3.wav": 0.2}
    return ref, pred, durations


def test_evaluate_segments_headline_numbers(ref_pred):
    ref, pred, durations = ref_pred
    res = evaluate_segments(ref, pred, durations, hop_s=0.01, tolerance_s=0.01)
    # edits: f1 1 deletion, f2 0, f3 1 deletion; 5 reference labels
    assert res.syllable_error_rate == pytest.approx(2 / 5)
    # frames (centres at 0.005 + 0.01 i): f1 100 frames, 10 wrong ("b" missed);
    # f2 50 frames, centres 0.255..0.295 predicted SIL instead of "a" (5 wrong);
    # f3 20 frames, 10 wrong ("b" missed)
    assert res.frame_accuracy == pytest.approx((170 - 25) / 170)
    assert res.onset == {
        "precision": 1.0,
        "recall": 3 / 5,
        "f1": pytest.approx(0.75),
        "n_ref": 5,
        "n_hyp": 3,
        "n_match": 3,
    }
    assert res.offset["n_match"] == 2
    summary = res.summary()
    assert summary["n_files"] == 3
    assert summary["n_ref_segments"] == 5
    assert summary["n_hyp_segments"] == 3
    assert summary["onset_f1"] == pytest.approx(0.75)
    assert summary["offset_f1"] == pytest.approx(2 * (2 / 3) * (2 / 5) / (2 / 3 + 2 / 5))
    json.dumps(summary, allow_nan=False)


def test_evaluate_segments_per_file_sorted_by_ser(ref_pred):
    ref, pred, durations = ref_pred
    res = evaluate_segments(ref, pred, durations, hop_s=0.01)
    pf = res.per_file
    assert list(pf.columns) == [
        "audio_path",
        "n_ref",
        "n_hyp",
        "edit_distance",
        "ser",
        "frame_accuracy",
        "onset_f1",
    ]
    assert pf["audio_path"].tolist() == ["f3.wav", "f1.wav", "f2.wav"]
    assert pf["ser"].tolist() == pytest.approx([1.0, 1 / 3, 0.0])
    f3 = pf.iloc[0]
    assert (f3["n_ref"], f3["n_hyp"], f3["edit_distance"]) == (1, 0, 1)
    assert f3["frame_accuracy"] == pytest.approx(0.5)
    assert f3["onset_f1"] == 0.0
    assert pf.iloc[1]["onset_f1"] == pytest.approx(0.8)  # P=1, R=2/3


def test_evaluate_segments_frame_tables(ref_pred):
    ref, pred, durations = ref_pred
    res = evaluate_segments(ref, pred, durations, silence_label="SIL", hop_s=0.01)
    assert list(res.per_class.index) == ["SIL", "a", "b", "c"]
    counts = res.confusion_counts
    assert list(counts.index) == ["SIL", "a", "b", "c"]
    assert int(counts.to_numpy().sum()) == 170
    assert counts.loc["b", "SIL"] == 20  # both "b" segments missed, 10 frames each
    assert counts.loc["a", "SIL"] == 5
    assert counts.loc["SIL", "a"] == 0
    assert res.per_class.loc["b", "support"] == 20
    assert res.per_class.loc["b", "recall"] == 0.0
    assert res.confusion.loc["a"].sum() == pytest.approx(1.0)
    assert res.confusion.loc["a", "SIL"] == pytest.approx(5 / 30)  # 10 + 20 true "a" frames


def test_evaluate_segments_to_dict_is_strict_json(ref_pred):
    ref, pred, durations = ref_pred
    d = evaluate_segments(ref, pred, durations, hop_s=0.01).to_dict()
    text = json.dumps(d, allow_nan=False)
    back = json.loads(text)
    assert back["confusion_counts"]["labels"] == ["SIL", "a", "b", "c"]
    assert back["per_file"][0]["audio_path"] == "f3.wav"
    assert {r["label"] for r in back["per_class"]} == {"SIL", "a", "b", "c"}


def test_evaluate_segments_perfect_prediction(ref_pred):
    ref, _, durations = ref_pred
    res = evaluate_segments(ref, ref.sample(frac=1, random_state=0), durations, hop_s=0.005)
    assert res.syllable_error_rate == 0.0
    assert res.frame_accuracy == 1.0
    assert res.onset["f1"] == 1.0
    assert res.offset["f1"] == 1.0


def test_evaluate_segments_insertions_in_file_without_reference():
    ref = _segments("a.wav", [])
    pred = _segments("a.wav", [(0.1, 0.2, "x")])
    res = evaluate_segments(ref, pred, {"a.wav": 0.5}, hop_s=0.01)
    assert math.isinf(res.syllable_error_rate)
    assert res.summary()["syllable_error_rate"] is None
    json.dumps(res.to_dict(), allow_nan=False)


def test_evaluate_segments_validates_inputs(ref_pred):
    ref, pred, durations = ref_pred
    with pytest.raises(AnnotationError, match=r"f3\.wav"):
        evaluate_segments(ref, pred, {"f1.wav": 1.0, "f2.wav": 0.5})
    with pytest.raises(AnnotationError, match="label"):
        evaluate_segments(ref.drop(columns="label"), pred, durations)
    bad = pred.assign(label="SIL")
    with pytest.raises(AnnotationError, match="silence"):
        evaluate_segments(ref, bad, durations)
