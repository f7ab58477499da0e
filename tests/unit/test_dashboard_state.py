"""AppState, the per-session state of the dashboard, without any server or widget."""

from __future__ import annotations

import contextlib
from concurrent.futures import CancelledError
from pathlib import Path

import pandas as pd
import pytest

from canapy.dashboards.state import (
    OPTIMISTIC,
    AppState,
    Cancelled,
    ConfigForm,
    metrics_frame,
    runs_table,
)
from canapy.exceptions import CanapyError
from canapy.synthetic import make_example_corpus

TINY = {"reservoir_units": 30, "reservoir_bidirectional": False}
"""A reservoir small enough to train in a few seconds on the test corpus."""


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory) -> Path:
    return make_example_corpus(tmp_path_factory.mktemp("data") / "c", n_files=6, n_unlabelled=1)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


def _state(corpus_dir: Path, cache_dir: Path, run_root: Path, **form) -> AppState:
    state = AppState(corpus_dir, run_root=run_root, cache_dir=cache_dir)
    state.load_corpus().result()
    state.form.param.update(**form)
    return state


@pytest.fixture(scope="module")
def trained(corpus_dir, cache_dir, tmp_path_factory):
    """A state that trained one run in this session (held-out validation on 1 file)."""
    state = _state(corpus_dir, cache_dir, tmp_path_factory.mktemp("runs"), **TINY)
    state.train().result()
    state.wait()
    yield state
    state.close()


def test_config_form_reports_core_errors_and_recovers():
    form = ConfigForm()
    assert form.config is not None and form.error == ""
    form.reservoir_units = 5
    assert form.config is None
    assert "reservoir.units" in form.error and "10..5000" in form.error
    form.reservoir_units = 100
    assert form.config.reservoir.units == 100 and form.error == ""
    form.training_default_model = "ensemble"
    form.training_models = ["syntactic"]  # the default model (ensemble) is no longer trained
    assert form.config is None and "training.default_model" in form.error
    form.training_default_model = "syntactic"
    assert form.config.training.models == ("syntactic",)


def test_preset_loads_its_values_on_top_of_the_defaults():
    form = ConfigForm()
    form.preset = "canary"
    assert form.reservoir_leak_rate == 0.1
    assert form.postprocess_min_duration_ms == 5.0
    assert form.config.reservoir.leak_rate == 0.1
    form.preset = "default"
    assert form.reservoir_leak_rate == 0.2


def test_two_states_share_nothing(corpus_dir, cache_dir, tmp_path):
    a = AppState(corpus_dir, cache_dir=cache_dir)
    b = AppState(corpus_dir, cache_dir=cache_dir)
    a.form.reservoir_units = 123
    a.form.preset = "canary"
    assert b.form.reservoir_units == 600 and b.form.preset == "default"
    assert a.form is not b.form and a.tasks._work is not b.tasks._work
    a.close()
    b.close()


def test_load_corpus_summarises_the_data(corpus_dir, cache_dir, tmp_path):
    state = _state(corpus_dir, cache_dir, tmp_path)
    assert state.corpus is not None and state.corpus_error == ""
    assert len(state.corpus.annotated) == 6 and len(state.corpus.audio_paths) == 7
    assert state.audio_seconds > 6  # every synthetic song lasts more than a second
    assert state.correction.review_path == str(state.corpus.audio_paths[0])
    assert (
        state.tasks.status == "corpus loaded"
        and not state.tasks.busy
        and state.tasks.progress == 1.0
    )
    assert state.can_train
    state.close()


def test_bad_data_folder_is_reported_not_raised(tmp_path, cache_dir):
    state = AppState(tmp_path, cache_dir=cache_dir)  # no annotation file in there
    state.load_corpus().result()
    assert state.corpus is None
    assert "no annotation file" in state.corpus_error
    assert not state.can_train
    with pytest.raises(CanapyError, match="no annotation file"):
        state.train()
    state.close()


def test_corpus_problems_become_warnings(tmp_path, cache_dir):
    data = make_example_corpus(tmp_path / "c", n_files=3, n_unlabelled=0)
    (data / "song_001.csv").write_text("wave,start,end,syll\nsong_001.wav,0.5,0.2,A\n")
    state = AppState(data, cache_dir=cache_dir)
    state.load_corpus().result()
    assert len(state.corpus.annotated) == 2
    assert any(w.startswith("skipped:") and "song_001.csv" in w for w in state.corpus_warnings)
    state.close()


def test_invalid_config_cannot_train(corpus_dir, cache_dir, tmp_path):
    state = _state(corpus_dir, cache_dir, tmp_path, reservoir_units=5)
    assert not state.can_train
    with pytest.raises(CanapyError, match=r"reservoir\.units"):
        state.train()
    state.close()


def test_training_activates_the_run_with_held_out_results(trained):
    state = trained
    assert state.active_run is not None and Path(state.active_run).is_dir()
    assert set(state.evaluation) == {"syntactic", "nonsyntactic", "ensemble"}
    assert state.evaluation_label.startswith("Held-out validation files (1)")
    assert len(state.evaluation_paths) == 1
    assert state.eval_model == "ensemble"  # the run's default model
    res = state.evaluation["ensemble"]
    assert res.frame_accuracy > 0.8  # learnable synthetic songs
    assert len(state.runs) == 1 and state.runs["path"].iloc[0] == state.active_run
    assert state.runs["units"].iloc[0] == 30
    assert state.tasks.status.startswith("trained ")


def test_training_focuses_the_worst_file_with_every_model(trained):
    state = trained
    worst = state.evaluation["ensemble"].per_file["audio_path"].iloc[0]
    assert state.focus_path == worst
    tracks = state.tracks_for(worst)
    assert list(tracks) == ["reference", "syntactic", "nonsyntactic", "ensemble"]
    assert {"onset_s", "offset_s", "label", "confidence"} <= set(tracks["ensemble"].columns)
    assert len(tracks["reference"]) > 0


def test_confusion_cell_lists_the_files_where_it_happens(trained):
    state = trained
    counts = state.evaluation["ensemble"].confusion_counts
    diagonal = counts.index[1]  # a syllable class: happens wherever it is recognised
    state.select_confusion(diagonal, diagonal).result()
    state.wait()
    files = state.confusion_files
    assert state.confusion_cell == (diagonal, diagonal)
    assert list(files.columns) == ["audio_path", "frames", "seconds", "first_s"]
    assert len(files) == 1 and files["frames"].iloc[0] > 0
    start, end = state.focus_window
    assert start <= files["first_s"].iloc[0] <= end
    state.eval_model = "syntactic"  # another model: the pick no longer applies
    assert state.confusion_cell is None and state.confusion_files is None
    state.eval_model = "ensemble"


def test_run_loaded_from_disk_shows_its_saved_held_out_results(trained, cache_dir):
    other = AppState(trained.data_dir, run_root=trained.run_root, cache_dir=cache_dir)
    other.load_corpus().result()
    assert len(other.runs) == 1
    other.select_run(other.runs["path"].iloc[0]).result()
    other.wait()
    assert set(other.evaluation) == set(trained.evaluation)
    assert other.evaluation_paths == trained.evaluation_paths
    assert other.evaluation_label.startswith("Held-out validation files (1)")
    for kind, res in trained.evaluation.items():
        assert other.evaluation[kind].summary() == res.summary()
        assert (other.evaluation[kind].confusion_counts == res.confusion_counts).all().all()
    other.close()


def test_run_without_saved_details_is_rescored_and_labelled_optimistic(trained, cache_dir):
    run = Path(trained.active_run)
    saved = run / "validation.json"
    backup = saved.read_bytes()
    saved.unlink()
    try:
        other = AppState(trained.data_dir, run_root=trained.run_root, cache_dir=cache_dir)
        other.load_corpus().result()
        other.select_run(str(run)).result()
        other.wait()
        assert set(other.evaluation) == set(trained.evaluation)
        assert other.evaluation_paths == trained.evaluation_paths
        assert "optimistic" in other.evaluation_label
        assert set(other.heldout) == {"syntactic", "nonsyntactic", "ensemble"}
        assert other.heldout["ensemble"]["frame_accuracy"] == pytest.approx(
            trained.evaluation["ensemble"].frame_accuracy
        )
        other.close()
    finally:
        saved.write_bytes(backup)


def test_run_without_held_out_files_scores_training_files(corpus_dir, cache_dir, tmp_path):
    state = _state(
        corpus_dir,
        cache_dir,
        tmp_path,
        training_validation_fraction=0.0,
        training_models=["syntactic"],
        training_default_model="syntactic",
        **TINY,
    )
    state.train().result()
    assert list(state.evaluation) == ["syntactic"]
    assert OPTIMISTIC in state.evaluation_label
    assert len(state.evaluation_paths) == 6
    state.close()


def test_cancel_stops_training_and_leaves_no_run_folder(corpus_dir, cache_dir, tmp_path):
    state = _state(corpus_dir, cache_dir, tmp_path / "runs", **TINY)
    state.cancel()  # nothing running: no effect
    future = state.train()
    state.cancel()
    with pytest.raises((Cancelled, CancelledError)):  # no fixed message: the type is the check
        future.result()
    state.wait()
    assert not state.tasks.busy and state.tasks.status == "training cancelled"
    assert state.active_run is None
    assert list((tmp_path / "runs").iterdir()) == []
    state.close()


def test_results_are_applied_only_through_dispatch(corpus_dir, cache_dir):
    """Work threads never change the state themselves: they hand over to ``dispatch``."""
    queued = []
    state = AppState(corpus_dir, cache_dir=cache_dir, dispatch=queued.append)
    state.load_corpus().result()
    assert state.corpus is None and state.tasks.busy  # nothing applied yet
    for fn in queued:
        fn()
    assert state.corpus is not None and not state.tasks.busy
    state.close()


def test_busy_state_refuses_a_second_task(corpus_dir, cache_dir):
    state = AppState(corpus_dir, cache_dir=cache_dir, dispatch=lambda fn: None)
    state.load_corpus()
    with pytest.raises(CanapyError, match="busy"):
        state.load_corpus()
    state.close()


def test_runs_table_and_metrics_frame_when_empty(tmp_path):
    table = runs_table(tmp_path / "missing")
    assert table.empty and "frame_accuracy" in table.columns
    assert metrics_frame({}).empty


def test_runs_table_reads_runs_on_disk(trained):
    table = runs_table(trained.run_root)
    row = table.iloc[0]
    assert row["default_model"] == "ensemble"
    assert row["models"] == "syntactic, nonsyntactic, ensemble"
    assert 0.8 < row["frame_accuracy"] <= 1.0
    assert isinstance(row["created"], pd.Timestamp)
    assert row["n_files"] == 6


def test_preset_change_notifies_every_changed_value():
    form = ConfigForm()
    seen = []
    form.param.watch(lambda e: seen.append(e.name), ["reservoir_leak_rate"])
    form.preset = "canary"
    assert seen == ["reservoir_leak_rate"]


@pytest.fixture
def dask_calls(monkeypatch):
    """Record the keys of the tasks sent to Dask; local workers are threads (fast).

    ``test_distributed.py`` runs real worker processes through the same code.
    """
    pytest.importorskip("dask.distributed")
    import canapy.distributed

    real = canapy.distributed.open_client
    calls: dict[str, list] = {"clients": [], "keys": [], "on_start": []}

    @contextlib.contextmanager
    def recording(**kwargs):
        with real(**{**kwargs, "processes": False}) as client:
            submit = client.submit

            def counted(*args, **kw):
                calls["keys"].append(str(kw.get("key", "")))
                return submit(*args, **kw)

            client.submit = counted
            calls["clients"].append(client)
            for hook in calls["on_start"]:
                hook()
            yield client

    monkeypatch.setattr(canapy.distributed, "open_client", recording)
    return calls


def test_workers_option_trains_and_annotates_on_dask_and_cancel_stops_it(
    corpus_dir, cache_dir, tmp_path, dask_calls
):
    state = _state(corpus_dir, cache_dir, tmp_path / "runs", **TINY)
    statuses: list[str] = []
    state.tasks.param.watch(lambda e: statuses.append(e.new), ["status"])
    state.tasks.workers = 2
    state.train().result()
    state.wait()
    assert state.active_run is not None and not state.tasks.error
    assert "starting 2 Dask worker(s)" in statuses
    assert any(k.startswith("group_normal_equations-") for k in dask_calls["keys"])
    state.annotate_unlabelled().result()
    state.wait()
    assert any(k.startswith("predict_chunk-") for k in dask_calls["keys"])
    on_workers = dict(state.review.unlabelled_predictions)
    assert all(c.status == "closed" for c in dask_calls["clients"])  # none outlives its task
    state.tasks.workers = 0  # the same files in this process: the same segments
    state.annotate_unlabelled().result()
    state.wait()
    here = state.review.unlabelled_predictions
    assert len(here) == 1 and here.keys() == on_workers.keys()
    for path, segs in here.items():
        pd.testing.assert_frame_equal(segs, on_workers[path])
    # Cancelled while the workers run: stopped at the next progress report, cluster closed.
    state.tasks.workers = 2
    dask_calls["on_start"].append(state.cancel)
    future = state.annotate_unlabelled()
    with pytest.raises((Cancelled, CancelledError)):
        future.result()
    state.wait()
    assert state.tasks.status.endswith("cancelled") and not state.tasks.busy
    assert dask_calls["clients"][-1].status == "closed"
    assert state.review.unlabelled_predictions.keys() == here.keys()
    state.close()
