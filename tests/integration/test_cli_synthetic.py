"""The whole command line on the project's own synthetic corpus.

The tests using ``trained`` are ``slow``: it trains the default (real-size) annotators.
"""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from canapy.cli import main
from canapy.corpus import load_corpus
from canapy.metrics.sequences import segment_error_counts
from canapy.model_choice import choose_default_model


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """An example corpus and a run trained on it with the defaults (no flag)."""
    root = tmp_path_factory.mktemp("cli")
    data = root / "data"
    assert main(["example", str(data)]) == 0
    run = root / "run"
    assert (
        main(
            [
                "train",
                str(data),
                "--output",
                str(run),
                "--quiet",
                "--cache-dir",
                str(root / "cache"),
            ]
        )
        == 0
    )
    return root, data, run


@pytest.mark.slow
def test_train_writes_models_metadata_and_held_out_metrics(trained):
    _, _, run = trained
    info = json.loads((run / "run.json").read_text())
    assert info["models"] == ["syntactic", "nonsyntactic", "ensemble"]
    assert (run / "config.toml").is_file()
    for kind in info["models"]:
        meta = json.loads((run / kind / "metadata.json").read_text())
        assert meta["vocabulary"] == ["A", "B", "C", "D", "E", "F"]
        assert len(meta["model_sha256"]) == 64
        assert "reservoirpy" in meta["library_versions"]
        # Measured: SER 0.0 on the 2 held-out files (51 syllables); margin: 1 edit (0.0196).
        assert meta["metrics"]["syllable_error_rate"] <= 0.02
    # Measured: 0.989; margin 0.01.
    assert info["validation"]["ensemble"]["frame_accuracy"] > 0.979
    details = json.loads((run / "validation.json").read_text())
    assert details["ensemble"]["confusion_counts"]["labels"][0] == "SIL"
    per_file = {row["audio_path"] for row in details["syntactic"]["per_file"]}
    assert per_file == set(info["validation_files"])
    # training.default_model = "auto": chosen on these held-out figures, recorded with why.
    held_out = {k: v["syllable_error_rate"] for k, v in info["validation"].items()}
    expected = choose_default_model("auto", info["models"], held_out)
    assert info["default_model"] == expected.model
    assert info["default_model_choice"] == expected.to_dict()


@pytest.mark.slow
def test_train_records_the_inferred_syllable_granularity(trained):
    _, _, run = trained
    info = json.loads((run / "run.json").read_text())
    assert info["granularity"]["granularity"] == "syllable"
    assert info["granularity"]["source"] == "inferred"
    assert info["granularity"]["confidence"] > 0.9
    meta = json.loads((run / "ensemble" / "metadata.json").read_text())
    assert meta["granularity"] == info["granularity"]


@pytest.mark.slow
def test_evaluate_prints_and_writes_json(trained, capsys, tmp_path):
    root, data, run = trained
    out = tmp_path / "m.json"
    assert (
        main(
            [
                "evaluate",
                str(run),
                str(data),
                "--json",
                str(out),
                "--quiet",
                "--cache-dir",
                str(root / "cache"),
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "syllable_error_rate" in text and "ensemble" in text
    metrics = json.loads(out.read_text())
    # Measured on the 12 files (323 syllables): SER 0.0, onset F1 1.0; margin: 3 edits (0.01)
    # and 0.01.
    assert metrics["ensemble"]["syllable_error_rate"] < 0.01
    assert metrics["syntactic"]["onset_f1"] > 0.99


@pytest.mark.slow
def test_annotate_writes_one_marron1csv_per_audio(trained, tmp_path):
    root, data, run = trained
    audio = tmp_path / "audio"
    audio.mkdir()
    for wav in sorted(data.glob("*.wav"))[:3]:
        shutil.copy(wav, audio / wav.name)
    out = tmp_path / "annot"
    assert (
        main(
            [
                "annotate",
                str(run),
                str(audio),
                "--output",
                str(out),
                "--quiet",
                "--cache-dir",
                str(root / "cache"),
            ]
        )
        == 0
    )
    files = sorted(out.glob("*.csv"))
    assert [f.stem for f in files] == [w.stem for w in sorted(audio.glob("*.wav"))]
    for f in files:
        pred = pd.read_csv(f, dtype={"syll": str})
        ref = pd.read_csv(data / f.name, dtype={"syll": str})
        assert list(pred.columns) == ["wave", "start", "end", "syll"]
        assert (pred["end"] > pred["start"]).all()
        # Trained on these files: labels should match almost exactly.
        assert abs(len(pred) - len(ref)) <= 2
        # Trained on these files: the label sequences match (measured: 0 edits per file;
        # margin: 1 edit, a boundary that moved by a frame may split or merge a syllable).
        edits = segment_error_counts(list(ref["syll"]), list(pred["syll"]))
        assert edits <= 1, f"{f.name}: {list(pred['syll'])} vs {list(ref['syll'])}"


@pytest.mark.slow
def test_annotate_other_format_and_model(trained, tmp_path):
    root, data, run = trained
    out = tmp_path / "seq"
    wav = sorted(data.glob("*.wav"))[0]
    assert (
        main(
            [
                "annotate",
                str(run),
                str(wav),
                "--output",
                str(out),
                "--format",
                "simple-seq",
                "--model",
                "syntactic",
                "--quiet",
                "--cache-dir",
                str(root / "cache"),
            ]
        )
        == 0
    )
    assert len(list(out.iterdir())) == 1
    # The simple-seq file reads back as the same label sequence (measured: 0 edits; margin 1).
    written = load_corpus(out, annot_format="simple-seq", require_audio=False).segments
    ref = pd.read_csv(data / f"{wav.stem}.csv", dtype={"syll": str})
    assert segment_error_counts(list(ref["syll"]), list(written["label"])) <= 1


@pytest.mark.slow
def test_models_lists_the_run(trained, capsys):
    root = trained[0]
    assert main(["models", str(root)]) == 0
    assert "ensemble" in capsys.readouterr().out


def test_config_init_and_show(tmp_path, capsys):
    path = tmp_path / "c.toml"
    assert main(["config", "init", str(path), "--preset", "canary"]) == 0
    assert "leak_rate = 0.1" in path.read_text()
    assert main(["config", "init", str(path)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["config", "show", "--config", str(path)]) == 0


def test_python_dash_m_works():
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "canapy", "--version"], capture_output=True, text=True, check=True
    )
    assert done.stdout.startswith("canapy ")
