"""The run folder (canapy.runs) and evaluate_saved_run, on a tiny trained run."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from canapy.config import config_from_dict
from canapy.corpus import load_corpus
from canapy.exceptions import ModelError
from canapy.runs import (
    OPTIMISTIC,
    RUN_COLUMNS,
    RunInfo,
    load_annotators,
    load_default_annotator,
    new_run_dir,
    read_run,
    read_validation,
    runs_table,
    scoring_plan,
)
from canapy.synthetic import make_example_corpus
from canapy.workflow import evaluate_saved_run, train

TINY = {
    "reservoir": {"units": 30, "bidirectional": False},
    "training": {"models": ["syntactic", "ensemble"], "default_model": "ensemble"},
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = make_example_corpus(tmp_path_factory.mktemp("data") / "c", n_files=6)
    return load_corpus(folder)


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def run_dir(corpus, cache, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    out = new_run_dir(root)
    train(corpus, config_from_dict(TINY), out, cache)
    return out


def test_new_run_dirs_never_collide(tmp_path):
    when = dt.datetime(2024, 5, 1, 12, 0, 0)
    names = [new_run_dir(tmp_path / "runs", when).name for _ in range(3)]
    assert names == ["20240501-120000", "20240501-120000-2", "20240501-120000-3"]
    assert all((tmp_path / "runs" / n).is_dir() for n in names)


def test_read_run_describes_the_run(run_dir, corpus):
    run = read_run(run_dir)
    assert isinstance(run, RunInfo) and run.path == run_dir and run.name == run_dir.name
    assert run.default_model == "ensemble" and run.models == ("syntactic", "ensemble")
    assert len(run.training_files) == 6 and len(run.validation_files) == 1
    assert set(run.validation) == {"syntactic", "ensemble"}
    with pytest.raises(AttributeError, match="default_model"):
        run.default_model = "syntactic"  # frozen


def test_not_a_run_folder_and_corrupt_run_file(tmp_path):
    with pytest.raises(ModelError, match="not a Canapy run folder"):
        read_run(tmp_path)
    (tmp_path / "run.json").write_text("{oops", encoding="utf-8")
    with pytest.raises(ModelError, match="corrupt run file"):
        read_run(tmp_path)


def test_saved_validation_and_annotators(run_dir):
    saved = read_validation(run_dir)
    assert set(saved) == {"syntactic", "ensemble"}
    assert 0.5 < saved["ensemble"].frame_accuracy <= 1.0
    assert set(load_annotators(run_dir)) == {"syntactic", "ensemble"}
    assert list(load_annotators(run_dir, ["syntactic"])) == ["syntactic"]
    with pytest.raises(ModelError, match="no 'nonsyntactic' model"):
        load_annotators(run_dir, ["nonsyntactic"])
    default = load_default_annotator(run_dir)
    assert default.labels == load_annotators(run_dir, ["ensemble"])["ensemble"].labels


def test_runs_table_lists_the_run(run_dir):
    table = runs_table(run_dir.parent)
    assert table.columns.tolist() == RUN_COLUMNS and len(table) == 1
    row = table.iloc[0]
    assert row["run"] == run_dir.name and row["models"] == "syntactic, ensemble"
    assert row["units"] == 30 and row["n_files"] == 6
    assert row["frame_accuracy"] == pytest.approx(
        read_run(run_dir).validation["ensemble"]["frame_accuracy"]
    )


def test_scoring_plan_prefers_the_validation_files(run_dir, corpus):
    run = read_run(run_dir)
    plan = scoring_plan(run, list(corpus.annotated))
    assert plan.kind == "rescored" and "optimistic" in plan.description
    assert [p.name for p in plan.paths] == [Path(p).name for p in run.validation_files]
    bare = RunInfo(run_dir, "ensemble", ("ensemble",))
    plan = scoring_plan(bare, list(corpus.annotated))
    assert plan.kind == "training" and len(plan.paths) == 6 and OPTIMISTIC in plan.description


def test_evaluate_saved_run_reads_back_held_out_results(run_dir, corpus, cache):
    found = evaluate_saved_run(run_dir, corpus, cache)
    assert found.kind == "heldout" and found.description.startswith("Held-out validation")
    assert set(found.annotators) == set(found.results) == {"syntactic", "ensemble"}
    assert found.paths == read_run(run_dir).validation_files
    assert found.results["ensemble"].summary() == read_validation(run_dir)["ensemble"].summary()


def test_evaluate_saved_run_rescores_when_details_are_lost(run_dir, corpus, cache, tmp_path):
    copy = tmp_path / run_dir.name
    shutil.copytree(run_dir, copy)
    (copy / "validation.json").unlink()
    found = evaluate_saved_run(copy, corpus, cache)
    assert found.kind == "rescored" and len(found.paths) == 1
    assert set(found.results) == {"syntactic", "ensemble"}
    assert 0.5 < found.results["ensemble"].frame_accuracy <= 1.0
