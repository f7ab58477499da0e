"""The syntax state part (state.syntax) and the divergence plot builder, without a server."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from canapy.analysis.syntax import analyze_syntax
from canapy.dashboards.analysis_plots import divergence_plot
from canapy.dashboards.state import WORKING_SET, AppState, predictions_table
from canapy.dashboards.syntax_view import syntax_summary_text
from canapy.exceptions import CanapyError
from canapy.synthetic import make_example_corpus

TINY = {"reservoir_units": 30, "reservoir_bidirectional": False}


@pytest.fixture(scope="module")
def state(tmp_path_factory):
    folder = make_example_corpus(tmp_path_factory.mktemp("data") / "c", n_files=6, n_unlabelled=0)
    s = AppState(
        folder,
        run_root=tmp_path_factory.mktemp("runs"),
        cache_dir=tmp_path_factory.mktemp("cache"),
    )
    s.load_corpus().result()
    s.form.param.update(**TINY)
    yield s
    s.close()


def test_opening_the_working_table_and_a_saved_version(state):
    syntax, correction = state.syntax, state.correction
    syntax.open_set(WORKING_SET)
    expected = analyze_syntax(correction.working)
    assert syntax.opened_label == "the working table"
    assert syntax.opened.entropy_rate_bits == pytest.approx(expected.entropy_rate_bits)
    with pytest.raises(CanapyError, match="nothing saved yet"):
        syntax.open_set("1")
    first = correction.working["segment_id"].iloc[0]
    correction.relabel_segment("A", first)
    version = correction.save_version("one relabel")
    assert syntax.set_names() == [WORKING_SET, "1", str(version)]
    syntax.open_set("1")  # the original annotations, not the working table
    assert syntax.opened_label == "version 1"
    original = analyze_syntax(state.corpus.segments)
    assert syntax.opened.matrix().equals(original.matrix())


def test_hand_and_model_syntax_compared_on_the_evaluated_files(state):
    state.train().result()
    state.wait()
    kind = state.eval_model
    paths = state.evaluation_paths
    reference = state.corpus.subset(paths).segments
    syntax = state.syntax
    syntax.compare_model(state.annotator(), kind, paths, reference, state.cache_path).result()
    assert syntax.hand.n_files == len(paths) and syntax.predicted is not None
    assert kind in syntax.compared
    comp = syntax.comparison
    assert 0.0 <= comp.js_joint_bits <= 1.0
    assert set(comp.transitions.columns) >= {"from", "to", "p_a", "p_b", "difference"}
    text = syntax_summary_text(syntax.predicted, "model")
    assert "entropy rate" in text and "nan" not in text.lower()


def test_compare_without_files_is_a_message(state):
    with pytest.raises(CanapyError, match="no file"):
        state.syntax.compare_model(None, "syntactic", [], pd.DataFrame())


def test_predictions_table_and_divergence_plot():
    from bokeh.models import HoverTool

    seg = pd.DataFrame({"onset_s": [0.0, 0.2], "offset_s": [0.1, 0.3], "label": ["a", "b"]})
    table = predictions_table({"x.wav": seg, "w.wav": seg})
    assert table["audio_path"].tolist() == ["w.wav", "w.wav", "x.wav", "x.wav"]
    assert predictions_table({}).empty
    transitions = pd.DataFrame(
        {
            "from": ["a", "b"],
            "to": ["b", "a"],
            "p_a": [1.0, 0.0],
            "p_b": [0.5, 0.4],
            "difference": [-0.5, 0.4],
        }
    )
    fig = divergence_plot(transitions, 0.25)
    assert list(fig.y_range.factors) == ["b → a", "a → b"]  # largest difference on top
    assert "0.250" in fig.title.text and fig.select_one(HoverTool) is not None
    same = divergence_plot(transitions.assign(difference=0.0), 0.0)
    assert "No transition differs" in same.title.text


def test_summary_text_names_undefined_figures(tmp_path: Path):
    one = analyze_syntax(
        pd.DataFrame(
            {"wave": "a.wav", "start": [0.0, 0.1, 0.2], "end": [0.05, 0.15, 0.25], "syll": "a"}
        )
    )
    text = syntax_summary_text(one, "one label")
    assert "normalised undefined" in text and "only one label" in text
