"""``canapy analyze`` and the report folder, on a synthetic corpus."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from canapy.analysis.report import SEGMENT_REPORT_COLUMNS, analyze_corpus, write_report
from canapy.analysis.syntax import analyze_syntax
from canapy.cli import main
from canapy.corpus import load_corpus
from canapy.dashboards import analysis_plots as plots
from canapy.exceptions import AnalysisError
from canapy.synthetic import make_example_corpus


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory) -> Path:
    return make_example_corpus(tmp_path_factory.mktemp("corpus"), n_files=5, n_unlabelled=0)


@pytest.fixture(scope="module")
def report(corpus_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "r"
    cache = tmp_path_factory.mktemp("cache")
    args = ["analyze", str(corpus_dir), "--output", str(out), "--quiet"]
    code = main([*args, "--cache-dir", str(cache), "--n-neighbors", "10"])
    assert code == 0
    return out


@pytest.mark.slow  # fits a UMAP map (numba compiles it on first use: many seconds of CPU)
def test_report_folder_holds_the_tables_and_an_offline_page(report):
    seg = pd.read_csv(report / "segments.csv", dtype={"syll": str})
    assert list(seg.columns[:7]) == ["wave", "start", "end", "syll", "cluster", "x", "y"]
    assert list(seg.columns) == SEGMENT_REPORT_COLUMNS
    assert seg[["cluster", "x", "y", "knn_disagreement"]].notna().all().all()
    syntax = json.loads((report / "syntax.json").read_text())
    assert {"entropy_rate_bits", "conditional_entropy_bits", "transitions"} <= set(syntax)
    assert syntax["n_symbols"] == len(seg)
    info = json.loads((report / "map.json").read_text())
    assert info["representation"] == "logmel"
    assert info["agreement_with_labels"]["v_measure"] > 0.6
    html = (report / "report.html").read_text()
    assert "Bokeh" in html and "<script src=" not in html  # resources inline: opens offline
    for name in ("transitions.csv", "phrases.csv", "repeats.csv", "clusters.csv"):
        assert (report / name).is_file()
    assert (report / "map" / "model.joblib").is_file()


@pytest.mark.slow  # fits a UMAP map (numba compiles it on first use: many seconds of CPU)
def test_a_later_round_reuses_the_map(report, corpus_dir, tmp_path):
    corpus = load_corpus(corpus_dir)
    again = analyze_corpus(corpus, reuse_map=report / "map", cache_dir=tmp_path)
    first = pd.read_csv(report / "segments.csv")
    moved = (again.segments["x"].to_numpy() - first["x"].to_numpy()) ** 2
    spread = first["x"].var()
    assert moved.mean() < 0.05 * spread  # the same segments land where they were
    assert again.map_info["reused_map"] == str(report / "map")
    with pytest.raises(AnalysisError, match="fitted on 'logmel'"):
        analyze_corpus(
            corpus, representation="reservoir", reuse_map=report / "map", annotator=object()
        )


def test_annotations_without_audio_give_the_syntax_only(corpus_dir, tmp_path, capsys):
    data = tmp_path / "annotations"
    data.mkdir()
    for csv in corpus_dir.glob("*.csv"):
        shutil.copy(csv, data / csv.name)
    out = tmp_path / "out"
    assert main(["analyze", str(data), "--output", str(out), "--quiet"]) == 0
    assert "syllable map skipped" in capsys.readouterr().err
    seg = pd.read_csv(out / "segments.csv")
    assert seg["x"].isna().all() and len(seg) > 0
    assert json.loads((out / "map.json").read_text())["skipped"].startswith("5 audio")
    assert (out / "report.html").is_file() and not (out / "map").exists()


def test_report_inside_the_data_folder_is_refused(corpus_dir, capsys):
    code = main(["analyze", str(corpus_dir), "--output", str(corpus_dir / "report"), "--quiet"])
    assert code == 2
    assert "inside the data folder" in capsys.readouterr().err
    assert not (corpus_dir / "report").exists()


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("", "no segment to analyse"),
        ("SIL", "no segment to analyse"),
    ],
)
def test_bad_annotation_sets_give_one_line_errors(tmp_path, capsys, rows, message):
    data = tmp_path / "d"
    data.mkdir()
    body = "wave,start,end,syll\n" + (f"x.wav,0.1,0.2,{rows}\n" if rows else "")
    (data / "x.csv").write_text(body)
    assert main(["analyze", str(data), "--output", str(tmp_path / "o"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_one_label_and_a_label_seen_once_are_reported_not_nan(tmp_path, capsys):
    data = tmp_path / "d"
    data.mkdir()
    rows = [f"x.wav,{0.1 * i:.1f},{0.1 * i + 0.05:.2f},a" for i in range(6)]
    (data / "x.csv").write_text("wave,start,end,syll\n" + "\n".join(rows) + "\n")
    assert main(["analyze", str(data), "--output", str(tmp_path / "o"), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "only one label" in captured.err and "normalised undefined" in captured.out
    text = (tmp_path / "o" / "syntax.json").read_text()
    assert "NaN" not in text
    json.loads(text)


def test_write_report_refuses_the_data_folder_itself(corpus_dir, tmp_path):
    seg = pd.DataFrame({"wave": "a.wav", "start": [0.0], "end": [0.1], "syll": ["a"]})
    corpus = load_corpus(corpus_dir)
    result = analyze_corpus(corpus, with_map=False)
    with pytest.raises(AnalysisError, match="inside the data folder"):
        write_report(result, corpus_dir, data_dir=corpus_dir)
    assert analyze_syntax(seg).n_files == 1


def test_plot_builders_return_bokeh_models():
    from bokeh.model import Model

    s = analyze_syntax(
        pd.DataFrame(
            {
                "wave": "a.wav",
                "start": [0, 0.1, 0.2, 0.3],
                "end": [0.05, 0.15, 0.25, 0.35],
                "syll": list("aabc"),
            }
        )
    )
    matrix = s.matrix(normalise=True)
    table = pd.DataFrame(
        {
            "x": [0.0, 1.0, 2.0],
            "y": [0.0, 1.0, 0.5],
            "syll": list("abc"),
            "cluster": [0, 0, -1],
            "wave": "a.wav",
            "start": [0.0, 0.1, 0.2],
        }
    )
    figures = [
        plots.transition_heatmap(matrix),
        plots.transition_graph(matrix),
        plots.entropy_plot(s.conditional_entropy_bits, 3),
        plots.repeat_plots(s.repeats),
        plots.map_plot(table, "syll"),
        plots.map_plot(table, "cluster"),
    ]
    assert all(isinstance(f, Model) for f in figures)
    assert plots.map_plot(pd.concat([table] * 7000), "syll").output_backend == "webgl"
