"""The Train tab's granularity line: the form's field and the active run's report."""

from __future__ import annotations

import pytest

from canapy.dashboards.granularity_view import GranularityPanel
from canapy.dashboards.state import AppState, ConfigForm
from canapy.granularity import describe_granularity
from canapy.runs import read_run
from canapy.synthetic import make_example_corpus


def test_the_form_offers_the_granularity():
    form = ConfigForm()
    assert form.postprocess_granularity == "auto"
    form.postprocess_granularity = "phrase"
    assert form.error == "" and form.config.postprocess.granularity == "phrase"
    assert form.to_dict()["postprocess"]["granularity"] == "phrase"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = make_example_corpus(tmp_path_factory.mktemp("data") / "c", n_files=5, n_unlabelled=0)
    state = AppState(
        folder, run_root=tmp_path_factory.mktemp("runs"), cache_dir=tmp_path_factory.mktemp("c")
    )
    state.load_corpus().result()
    state.form.param.update(reservoir_units=30, reservoir_bidirectional=False)
    state.train().result()
    state.wait()
    yield state
    state.close()


def test_the_active_run_shows_its_inferred_granularity(trained):
    panel = GranularityPanel(state=trained)
    report = read_run(trained.active_run).granularity
    assert trained.granularity == dict(report)
    assert report["granularity"] == "syllable"  # the example corpus is finch-like
    line = panel._line.object
    assert describe_granularity(report) in line and "syllable-level" in line
    assert panel._warning.visible is bool(report.get("warning"))
    trained.granularity = {**report, "warning": "mixed: some files look phrase-level"}
    assert panel._warning.visible and "mixed" in panel._warning.object
