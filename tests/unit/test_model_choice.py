from __future__ import annotations

import pytest

from canapy.model_choice import MIN_GAIN_ABS, choose_default_model

KINDS = ["syntactic", "nonsyntactic", "ensemble"]


def test_a_clearly_better_member_replaces_the_ensemble():
    choice = choose_default_model(
        "auto", KINDS, {"syntactic": 0.020, "nonsyntactic": 0.05, "ensemble": 0.03}
    )
    assert choice.model == "syntactic"
    assert "syntactic 0.020" in choice.reason and "ensemble 0.030" in choice.reason


@pytest.mark.parametrize(
    "scores",
    [
        {"syntactic": 0.030, "nonsyntactic": 0.030, "ensemble": 0.030},  # a tie
        {"syntactic": 0.0, "nonsyntactic": 0.0, "ensemble": 0.001},  # below the margin
        {"syntactic": 0.0295, "nonsyntactic": 0.04, "ensemble": 0.031},  # under 10 %
    ],
)
def test_the_ensemble_stays_unless_another_model_is_clearly_better(scores):
    assert choose_default_model("auto", KINDS, scores).model == "ensemble"
    assert scores["ensemble"] - min(scores.values()) < max(MIN_GAIN_ABS, 0.1 * scores["ensemble"])


def test_without_an_ensemble_the_first_trained_model_is_the_base():
    models = ["nonsyntactic", "syntactic"]
    assert choose_default_model("auto", models, {}).model == "nonsyntactic"
    picked = choose_default_model("auto", models, {"nonsyntactic": 0.1, "syntactic": 0.05})
    assert picked.model == "syntactic"


def test_an_explicit_default_is_kept_whatever_the_scores():
    choice = choose_default_model("nonsyntactic", KINDS, {"syntactic": 0.0, "nonsyntactic": 0.9})
    assert choice.model == "nonsyntactic" and "training.default_model" in choice.reason


def test_no_held_out_measurement_keeps_the_ensemble_and_says_so():
    choice = choose_default_model("auto", KINDS, {})
    assert choice.model == "ensemble" and "no held-out" in choice.reason
