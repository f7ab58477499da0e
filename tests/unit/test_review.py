"""Cross-validated review: corrupted labels come first, folds are respected, suggestions apply."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import canapy.review as review_mod
from canapy.config import config_from_dict
from canapy.corpus import Corpus, load_corpus
from canapy.exceptions import AnnotationError, CanapyError
from canapy.review import (
    REVIEW_COLUMNS,
    apply_suggestions,
    find_suspects,
    merge_candidates,
    segment_votes,
)
from canapy.synthetic import make_example_corpus

SMALL = {"reservoir": {"units": 100}, "training": {"validation_fraction": 0.0}}


def _corrupt(corpus: Corpus, n: int, seed: int) -> tuple[Corpus, dict[str, str]]:
    """Relabel ``n`` random segments; return the corpus and {segment_id: true label}."""
    rng = np.random.default_rng(seed)
    seg = corpus.segments.copy()
    labels = sorted(set(seg["label"]))
    rows = rng.choice(len(seg), size=n, replace=False)
    truth = {}
    for i in rows:
        truth[seg.at[i, "segment_id"]] = seg.at[i, "label"]
        seg.at[i, "label"] = str(rng.choice([x for x in labels if x != seg.at[i, "label"]]))
    return replace(corpus, segments=seg), truth


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory):
    """A synthetic corpus with 8 corrupted labels, its review and the files each fold saw."""
    folder = make_example_corpus(tmp_path_factory.mktemp("data"), n_files=10, seed=1)
    corpus, truth = _corrupt(load_corpus(folder), 8, seed=0)
    trained_on: list[list[Path]] = []
    real_fit = review_mod.fit_annotators

    def recording_fit(corpus, paths, *args, **kwargs):
        trained_on.append(list(paths))
        return real_fit(corpus, paths, *args, **kwargs)

    mp = pytest.MonkeyPatch()
    mp.setattr(review_mod, "fit_annotators", recording_fit)
    progress: list[float] = []
    try:
        result = find_suspects(
            corpus, config_from_dict(SMALL), n_folds=5, progress=lambda f, m: progress.append(f)
        )
    finally:
        mp.undo()
    return folder, corpus, truth, result, trained_on, progress


@pytest.mark.slow  # cross-validated review: trains a model per fold
def test_corrupted_labels_are_the_top_suspects(reviewed):
    _, _, truth, result, _, _ = reviewed
    seg = result.segments
    top = seg.head(len(truth))
    assert top["segment_id"].isin(truth).mean() >= 0.75
    hits = top[top["segment_id"].isin(truth)]
    assert (hits["suggested"] == hits["segment_id"].map(truth)).mean() >= 0.75
    assert (hits["score"] > 0.5).all()
    clean = seg[~seg["segment_id"].isin(truth)]
    assert clean["score"].median() < 0.2
    assert (clean["suggested"] == clean["syll"]).mean() > 0.9


@pytest.mark.slow  # cross-validated review: trains a model per fold
def test_review_table_layout(reviewed):
    _, corpus, _, result, _, progress = reviewed
    seg = result.segments
    assert list(seg.columns) == REVIEW_COLUMNS
    assert len(seg) == len(corpus.segments)
    assert set(seg["segment_id"]) == set(corpus.segments["segment_id"])
    assert seg["score"].is_monotonic_decreasing
    assert seg["score"].between(0, 1).all()
    assert seg["p_label"].between(0, 1).all()
    assert (seg["wave"] == seg["audio_path"].map(lambda s: Path(s).name)).all()
    agree = seg["agreement"]
    assert (seg.loc[agree, "syntactic"] == seg.loc[agree, "nonsyntactic"]).all()
    assert (seg["suggested"] == seg["ensemble"]).all()
    suspicious = seg[seg["suggested"] != seg["syll"]]
    assert (suspicious["reason"] != "").all()
    assert int(result.confusion.to_numpy().sum()) == len(seg)
    assert progress == sorted(progress) and progress[-1] == pytest.approx(1.0)


@pytest.mark.slow  # cross-validated review: trains a model per fold
def test_models_never_judge_their_training_files(reviewed):
    _, corpus, _, result, trained_on, _ = reviewed
    assert result.n_folds == 5 and len(trained_on) == 5
    fold_of = result.folds
    assert set(fold_of) == {str(p) for p in corpus.annotated}
    for fold, paths in enumerate(trained_on):
        assert all(fold_of[str(p)] != fold for p in paths)
        assert len(paths) == sum(1 for f in fold_of.values() if f != fold)
    assert (result.segments["fold"] == result.segments["audio_path"].map(fold_of)).all()


@pytest.mark.slow  # cross-validated review: trains a model per fold
def test_apply_suggestions_returns_a_new_corpus(reviewed):
    _, corpus, truth, result, _, _ = reviewed
    before = corpus.segments.copy()
    fixed = apply_suggestions(corpus, result, min_score=0.5)
    pd.testing.assert_frame_equal(corpus.segments, before)  # unchanged
    labels = dict(zip(fixed.segments["segment_id"], fixed.segments["label"], strict=True))
    repaired = sum(labels[s] == true for s, true in truth.items())
    assert repaired >= 6
    changed = (fixed.segments["label"] != before["label"]).sum()
    assert (
        changed
        == (
            (result.segments["score"] >= 0.5)
            & (result.segments["suggested"] != "")
            & (result.segments["suggested"] != result.segments["syll"])
        ).sum()
    )
    one = result.segments["segment_id"].iloc[0]
    only = apply_suggestions(corpus, result, segment_ids=[one])
    assert (only.segments["label"] != before["label"]).sum() == 1
    assert only.annotated == corpus.annotated and only.audio_paths == corpus.audio_paths
    with pytest.raises(CanapyError, match="not in the review"):
        apply_suggestions(corpus, result, segment_ids=["nope#1"])
    # a stale suggestion (label edited since the review) is skipped
    edited = corpus.segments.copy()
    edited.loc[edited["segment_id"] == one, "label"] = "edited"
    stale = apply_suggestions(replace(corpus, segments=edited), result, segment_ids=[one])
    assert "edited" in set(stale.segments["label"])


@pytest.mark.slow  # cross-validated review: trains a model per fold
def test_strict_apply_suggestions_refuses_what_it_would_skip(reviewed):
    _, corpus, _, result, _, _ = reviewed
    table = result.segments
    fixable = table[(table["suggested"] != "") & (table["suggested"] != table["syll"])]
    one = fixable["segment_id"].iloc[0]
    fixed = apply_suggestions(corpus, result, segment_ids=[one], strict=True)
    new = fixed.segments.set_index("segment_id").loc[one, "label"]
    assert new == fixable["suggested"].iloc[0]
    agreeing = table[table["suggested"] == table["syll"]]["segment_id"].iloc[0]
    with pytest.raises(AnnotationError, match=f"{agreeing}: the models agree"):
        apply_suggestions(corpus, result, segment_ids=[agreeing], strict=True)
    no_suggestion = table.copy()
    no_suggestion.loc[no_suggestion["segment_id"] == one, "suggested"] = ""
    with pytest.raises(AnnotationError, match="no suggestion"):
        apply_suggestions(corpus, no_suggestion, segment_ids=[one], strict=True)
    edited = corpus.segments.copy()
    edited.loc[edited["segment_id"] == one, "label"] = "edited"
    with pytest.raises(AnnotationError, match="relabelled 'edited' since the review"):
        apply_suggestions(replace(corpus, segments=edited), result, segment_ids=[one], strict=True)
    removed = replace(corpus, segments=corpus.segments[corpus.segments["segment_id"] != one])
    with pytest.raises(AnnotationError, match="removed since the review"):
        apply_suggestions(removed, result, segment_ids=[one], strict=True)


@pytest.mark.slow  # cross-validated review: trains a model per fold
def test_label_unknown_to_a_fold_gets_top_score(tmp_path):
    folder = make_example_corpus(tmp_path, n_files=4, seed=2, n_unlabelled=0)
    corpus = load_corpus(folder)
    seg = corpus.segments.copy()
    seg.loc[3, "label"] = "NEW"  # seen in one file only: unknown when that file is held out
    cfg = config_from_dict(
        {
            **SMALL,
            "training": {
                "validation_fraction": 0.0,
                "models": ["syntactic"],
                "default_model": "syntactic",
            },
        }
    )
    result = find_suspects(replace(corpus, segments=seg), cfg, n_folds=2)
    first = result.segments.iloc[0]
    assert first["syll"] == "NEW" and first["score"] == 1.0
    assert first["suggested"] == "" and "held-out" in first["reason"]
    assert "NEW" not in result.confusion.index


@pytest.mark.slow  # cross-validated review: trains a model per fold
def test_merge_candidates_flag_labels_the_models_cannot_tell_apart(tmp_path):
    folder = make_example_corpus(tmp_path, n_files=8, seed=4, n_unlabelled=0)
    corpus = load_corpus(folder)
    seg = corpus.segments.copy()
    rng = np.random.default_rng(0)
    a_rows = np.flatnonzero(seg["label"].to_numpy() == "A")
    seg.loc[rng.choice(a_rows, size=len(a_rows) // 2, replace=False), "label"] = "A2"
    result = find_suspects(replace(corpus, segments=seg), config_from_dict(SMALL), n_folds=4)
    merges = result.merge_candidates
    assert {merges.at[0, "label_a"], merges.at[0, "label_b"]} == {"A", "A2"}
    assert merges.at[0, "suggestion"] == "merge?"
    assert (merges["suggestion"].iloc[1:] == "").all()


def test_segment_votes_short_segment_keeps_a_frame():
    proba = np.tile([0.0, 0.2, 0.8], (10, 1))
    proba[5] = [0.0, 0.9, 0.1]
    # the second segment is shorter than a frame and sits on the first one's frames
    votes = segment_votes(proba, [0.0, 0.0501], [0.09, 0.0502], hop_s=0.01)
    assert votes.shape == (2, 2)
    np.testing.assert_allclose(votes[1], [0.9, 0.1])


def test_merge_candidates_one_directional_confusion_is_not_merge():
    seg = pd.DataFrame({"syll": list("aaaabbbb"), "suggested": list("abbbbbbb")})
    out = merge_candidates(seg)
    assert out[["label_a", "label_b", "n_segments", "n_reverse"]].values.tolist() == [
        ["a", "b", 3, 0]
    ]
    assert out.at[0, "rate"] == 0.75 and out.at[0, "suggestion"] == ""


def test_review_needs_two_files_and_two_folds(tmp_path):
    folder = make_example_corpus(tmp_path, n_files=1, seed=0, n_unlabelled=0)
    corpus = load_corpus(folder)
    with pytest.raises(CanapyError, match="at least 2 annotated files"):
        find_suspects(corpus, config_from_dict(SMALL))
    with pytest.raises(CanapyError, match="at least 2 folds"):
        find_suspects(corpus, config_from_dict(SMALL), n_folds=1)


@pytest.mark.slow  # cross-validated review: trains a model per fold
def test_review_cli_writes_ranked_csv(tmp_path, capsys):
    from canapy.cli import build_parser

    folder = make_example_corpus(tmp_path / "data", n_files=4, seed=5, n_unlabelled=0)
    config = tmp_path / "small.toml"
    config.write_text("[reservoir]\nunits = 60\n[training]\nvalidation_fraction = 0.0\n")
    out = tmp_path / "suspects.csv"
    parser = build_parser()
    argv = [
        "review",
        str(folder),
        "--output",
        str(out),
        "--folds",
        "2",
        "--config",
        str(config),
        "--quiet",
        "--no-cache",
    ]
    args = parser.parse_args(argv)
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    assert "2-fold" in printed and "most suspicious" in printed
    table = pd.read_csv(out, dtype={"syll": str, "suggested": str}, keep_default_na=False)
    assert list(table.columns[:6]) == ["wave", "start", "end", "syll", "suggested", "score"]
    assert len(table) == len(load_corpus(folder).segments)
    assert table["score"].is_monotonic_decreasing
    bad = parser.parse_args([*argv[:4], "--folds", "1"])
    with pytest.raises(CanapyError, match="--folds"):
        bad.func(bad)
    inside = parser.parse_args([*argv[:2], "--output", str(folder / "suspects.csv"), *argv[4:]])
    with pytest.raises(CanapyError, match="would be read as an annotation"):
        inside.func(inside)
