"""canapy.caveats.score_caveats: what an evaluation cannot tell, said in words."""

from __future__ import annotations

from canapy.caveats import MIN_TEST_FILES, score_caveats


def test_few_files_are_flagged_and_enough_files_are_not():
    assert any("only 2 file(s)" in c for c in score_caveats(2, ["A"], ["A"]))
    assert score_caveats(MIN_TEST_FILES, ["A"], ["A"]) == []


def test_test_labels_unknown_to_the_model_are_named_silence_aside():
    (caveat,) = score_caveats(10, ["SIL", "A", "E", "Z"], ["A", "B"])
    assert "E, Z" in caveat and "0 by construction" in caveat and "SIL" not in caveat
