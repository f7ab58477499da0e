"""``canapy evaluate`` prints the Evaluate tab's caveats (one source: canapy.caveats)."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from canapy.caveats import evaluation_caveats
from canapy.cli import main
from canapy.corpus import load_corpus
from canapy.runs import load_annotators
from canapy.synthetic import make_example_corpus
from canapy.workflow import evaluate_annotators


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Six example files and a small syntactic model trained on them."""
    root = tmp_path_factory.mktemp("caveats")
    data = make_example_corpus(root / "data", n_files=6, n_unlabelled=0)
    config = root / "small.toml"
    config.write_text("[reservoir]\nunits = 100\n")
    run, cache = root / "run", root / "cache"
    args = ["train", str(data), "--output", str(run), "--config", str(config)]
    args += ["--model-kind", "syntactic", "--quiet", "--cache-dir", str(cache)]
    assert main(args) == 0
    return data, run, cache


def test_evaluate_warns_of_few_files_and_labels_unknown_to_the_model(trained, tmp_path, capsys):
    data, run, cache = trained
    # two held-out files, where the hand labeller used a label the model never saw
    test = tmp_path / "test"
    test.mkdir()
    for csv in sorted(data.glob("*.csv"))[:2]:
        shutil.copy(csv.with_suffix(".wav"), test)
        table = pd.read_csv(csv, dtype={"syll": str})
        table.loc[table["syll"] == "F", "syll"] = "Q"
        table.to_csv(test / csv.name, index=False)
    capsys.readouterr()
    args = ["evaluate", str(run), str(test), "--quiet", "--cache-dir", str(cache)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "caution: scored on only 2 file(s)" in out
    assert "caution: label(s) Q of the scored files are unknown to the model" in out
    # the very sentences the dashboard shows
    corpus = load_corpus(test)
    annotators = load_annotators(run)
    results = evaluate_annotators(annotators, corpus, list(corpus.annotated), cache)
    expected = evaluation_caveats(results["syntactic"], annotators["syntactic"].labels, 2)
    assert len(expected) == 2
    for text in expected:
        assert f"caution: {text}." in out


def test_evaluate_prints_no_caution_when_there_is_nothing_to_say(trained, capsys):
    data, run, cache = trained
    capsys.readouterr()
    args = ["evaluate", str(run), str(data), "--quiet", "--cache-dir", str(cache)]
    assert main(args) == 0
    assert "caution" not in capsys.readouterr().out  # 6 files, every label known
