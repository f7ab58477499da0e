"""The dashboard's components and server helpers, driven without a browser."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from canapy.dashboards import CanapyApp, create_app
from canapy.dashboards.server import is_loopback, resolve_paths, serve_from_args
from canapy.dashboards.viewer import SpectrogramViewer
from canapy.exceptions import CanapyError
from canapy.synthetic import make_example_corpus

# Panel 1.9 deprecates `name`/`button_type` for `label`/`color`; we keep the names every
# Panel >= 1.4 (our declared minimum) understands.
pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory) -> Path:
    return make_example_corpus(tmp_path_factory.mktemp("data") / "c", n_files=5, n_unlabelled=1)


@pytest.fixture(scope="module")
def app(corpus_dir, tmp_path_factory):
    """An app (no server: results are applied at once) that trained a tiny run."""
    app = CanapyApp(
        corpus_dir,
        run_root=tmp_path_factory.mktemp("runs"),
        cache_dir=tmp_path_factory.mktemp("cache"),
    )
    app.state.wait()
    yield app
    app.state.close()


def _trained(app: CanapyApp) -> CanapyApp:
    if app.state.active_run is None:
        app.state.form.param.update(reservoir_units=30, reservoir_bidirectional=False)
        app.components["Train"]._train.clicks += 1  # as a click on Train does
        app.state.wait()
    return app


def test_app_has_three_tabs_over_one_state(app):
    assert [t for t in app.components] == ["Train", "Evaluate", "Re-annotate"]
    assert len(app.tabs) == 3
    assert all(c.state is app.state for c in app.components.values())


def test_train_tab_summarises_the_data(app):
    train = app.components["Train"]
    assert "6 audio files" in train._summary.object
    assert "5 annotated" in train._summary.object
    assert list(train._label_table.value["label"]) == app.state.corpus.labels
    assert train._charts.object is not None
    assert "No problem found" in train._warnings.objects[0].object


def test_invalid_config_shows_inline_error_and_disables_train(app):
    train = app.components["Train"]
    widget = [w for w in train._panel.select() if "canapy-cfg-reservoir-units" in w.css_classes]
    assert widget, "the units input carries its css hook"
    widget[0].value = 5
    assert train._config_error.visible and "reservoir.units" in train._config_error.object
    assert train._train.disabled
    widget[0].value = 600
    assert not train._config_error.visible and not train._train.disabled


def test_evaluate_tab_is_empty_until_a_run_is_active(corpus_dir, tmp_path):
    fresh = CanapyApp(corpus_dir, run_root=tmp_path / "runs", cache_dir=tmp_path / "cache")
    fresh.state.wait()
    evaluate = fresh.components["Evaluate"]
    assert evaluate._empty.visible and not evaluate._body.visible
    fresh.state.close()


def test_training_fills_runs_and_evaluate_tab(app):
    _trained(app)
    train, evaluate = app.components["Train"], app.components["Evaluate"]
    assert len(train._runs.value) == 1 and train._runs.selection == [0]
    assert "Active:" in train._active.object
    assert evaluate._body.visible
    assert list(evaluate._metrics.value["model"]) == ["syntactic", "nonsyntactic", "ensemble"]
    assert evaluate._model.value == "ensemble"
    assert evaluate._heatmap.object is not None
    assert "Held-out validation" in evaluate._source.object
    assert evaluate.viewer.path == app.state.focus_path
    assert list(evaluate.viewer.tracks) == ["reference", "syntactic", "nonsyntactic", "ensemble"]
    # a few held-out files: the tab says so with the sentence `canapy evaluate` prints
    n_files = len(app.state.evaluation_paths)
    assert n_files < 5 and evaluate._caveats.visible
    assert f"scored on only {n_files} file(s)" in evaluate._caveats.object
    # the model predicted the file shown: its confidence goes with each reference segment
    assert "confidence" in evaluate.viewer.tracks["reference"]


def test_per_file_row_and_confusion_cell_open_the_viewer(app):
    _trained(app)
    evaluate, state = app.components["Evaluate"], app.state
    evaluate._model.value = "syntactic"
    assert state.eval_model == "syntactic"
    evaluate._per_file.selection = [0]
    state.wait()
    assert evaluate.viewer.path == evaluate._per_file_paths[0]
    label = state.evaluation["syntactic"].confusion_counts.index[1]
    evaluate._on_cell(x=label, y=label)  # what a tap on the heatmap cell calls
    state.wait()
    assert state.confusion_cell == (label, label)
    assert len(evaluate._cell_files.value) == 1
    assert "predicted as" in evaluate._cell.object
    assert evaluate.viewer.window == state.focus_window


def test_reannotate_tab_shows_the_selected_recording(app):
    review = app.components["Re-annotate"]
    table = review.recordings._files.value
    assert len(table) == 6 and table["annotated"].sum() == 5
    review.recordings._files.selection = [2]
    assert review.viewer.path == table["audio_path"].iloc[2]
    assert list(review.viewer.tracks) == ["reference"]
    assert len(review.viewer.tracks["reference"]) == table["segments"].iloc[2]


def test_viewer_selects_segments_and_plays_excerpts(corpus_dir):
    path = sorted(corpus_dir.glob("*.wav"))[0]
    viewer = SpectrogramViewer(path=str(path))
    assert viewer.duration > 1.0
    seg = {"onset_s": [0.5], "offset_s": [0.6], "label": ["A"]}
    viewer.tracks = {"reference": pd.DataFrame(seg)}
    viewer._on_tap(x=0.55)  # a click on the box
    assert viewer.selected == {"source": "reference", "onset_s": 0.5, "offset_s": 0.6, "label": "A"}
    assert viewer.canvas.selected == {"source": "reference", "onset_s": 0.5, "offset_s": 0.6}
    viewer.play_selected()
    audio = viewer.last_clip
    assert audio.dtype == np.int16 and len(audio) == pytest.approx(0.16 * viewer._sr, abs=2)
    assert viewer.canvas.audio["src"].startswith("data:audio/wav;base64,")
    assert viewer.canvas.audio["start_s"] == pytest.approx(0.47, abs=1e-3)
    viewer._on_tap(x=2.0)  # no box there: selection kept
    assert viewer.selected["label"] == "A"
    viewer.max_play_s = 1.0
    viewer.play_window()
    assert len(viewer.last_clip) == viewer._sr  # capped at max_play_s
    viewer.stop()
    assert viewer.canvas.audio == {}


def test_viewer_plays_from_the_cursor_and_zooms_time_only(corpus_dir):
    path = sorted(corpus_dir.glob("*.wav"))[0]
    viewer = SpectrogramViewer(path=str(path))
    freq = viewer.freq_range
    assert 0.0 <= freq[0] < freq[1] <= viewer._sr / 2000
    viewer.zoom_to(1.0, 2.0)
    assert viewer.visible_range() == (1.0, 2.0) and viewer.freq_range == freq
    viewer.cursor = 1.5
    viewer.play_from_cursor()  # from the cursor to the end of the window
    assert viewer.canvas.audio["start_s"] == pytest.approx(1.5, abs=1e-3)
    assert len(viewer.last_clip) == pytest.approx(0.5 * viewer._sr, abs=2)


def test_viewer_reports_edits_without_making_them(corpus_dir):
    path = sorted(corpus_dir.glob("*.wav"))[0]
    viewer = SpectrogramViewer(path=str(path), editable="reference")
    assert viewer.canvas.editable == "reference"
    viewer.canvas.event = {"kind": "move", "id": "x#0001", "onset_s": 0.1, "offset_s": 0.2, "n": 1}
    assert viewer.edit_request == {"kind": "move", "id": "x#0001", "onset_s": 0.1,
                                   "offset_s": 0.2, "n": 1}  # fmt: skip
    viewer.canvas.pending = [0.3, 0.4]
    assert viewer.pending == [0.3, 0.4]
    viewer.canvas.event = {"kind": "add", "onset_s": 0.3, "offset_s": 0.4, "label": "b", "n": 2}
    assert viewer.edit_request["label"] == "b" and viewer.pending == []
    viewer.canvas.event = {"kind": "select", "source": "reference", "onset_s": 0.3,
                           "offset_s": 0.4, "label": "b", "n": 3}  # fmt: skip
    assert viewer.selected["label"] == "b"


def test_viewer_zoom_recomputes_the_visible_window(tmp_path):
    import soundfile as sf

    sr = 16000
    path = tmp_path / "long.wav"
    sf.write(path, 0.3 * np.sin(2 * np.pi * 3000 * np.arange(120 * sr) / sr), sr)
    viewer = SpectrogramViewer(path=str(path))
    whole = viewer._image(None)
    zoomed = viewer._image((10.0, 12.0))
    assert whole.start_s == 0.0 and whole.db.shape[1] <= 2000
    left, right = zoomed.start_s, zoomed.end_s
    assert 8.9 < left < 10.0 and 12.0 < right < 13.1  # the window and a margin
    cols_per_s = zoomed.db.shape[1] / (right - left)
    assert cols_per_s > 10 * whole.db.shape[1] / whole.end_s  # sharper
    viewer.zoom_to(10.0, 12.0)  # the browser gets the sharper image
    assert viewer.canvas.image["start_s"] == pytest.approx(left)


def test_viewer_handles_an_action_the_server_had_not_seen(corpus_dir):
    # a key typed right after a drawn stretch: Panel may deliver only the last change, so
    # each event lists the ones before it and none is handled twice
    viewer = SpectrogramViewer(path=str(sorted(corpus_dir.glob("*.wav"))[0]), editable="reference")
    seen = []
    viewer.param.watch(lambda e: seen.append(e.new["kind"]), ["edit_request"])
    add = {"kind": "add", "onset_s": 0.3, "offset_s": 0.4, "label": "b", "n": 1}
    label = {"kind": "label", "onset_s": 0.3, "offset_s": 0.4, "label": "c", "n": 2}
    viewer.canvas.event = {**label, "earlier": [add]}
    assert seen == ["add", "label"]
    viewer.canvas.event = {"kind": "undo", "n": 3, "earlier": [add, label]}
    assert seen == ["add", "label", "undo"]


def test_viewer_sends_each_segment_confidence_to_the_canvas(corpus_dir):
    path = sorted(corpus_dir.glob("*.wav"))[0]
    segs = pd.DataFrame(
        {
            "onset_s": [0.1, 0.3],
            "offset_s": [0.2, 0.4],
            "label": ["a", "z"],
            "confidence": [0.91234, np.nan],
        }
    )
    viewer = SpectrogramViewer(path=str(path), tracks={"reference": segs})
    rows = viewer.canvas.tracks[0]["segs"]
    assert [r[4] for r in rows] == [0.9123, None]  # NaN (unknown label): no figure


def test_state_gives_reference_segments_the_model_confidence(corpus_dir):
    from types import SimpleNamespace

    from canapy.dashboards.state import AppState

    state = AppState(data_dir=corpus_dir)
    path = str(sorted(corpus_dir.glob("*.wav"))[0])
    segs = pd.DataFrame({"onset_s": [0.0, 0.02], "offset_s": [0.02, 0.04], "label": ["a", "b"]})
    assert "confidence" not in state.with_confidence(path, segs)  # nothing predicted yet
    proba = np.array([[0.1, 0.9, 0.0]] * 2 + [[0.2, 0.6, 0.2]] * 2, dtype=np.float32)
    state.annotators = {"m": SimpleNamespace(classes=["SIL", "a", "b"], hop_s=0.01)}
    state.frame_proba = {"m": {path: proba}}
    conf = state.with_confidence(path, segs)["confidence"].tolist()
    assert conf == pytest.approx([0.9, 0.2])
    state.close()


def test_viewer_reports_unreadable_audio(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not a wav")
    viewer = SpectrogramViewer(path=str(bad))
    assert "cannot be read" in viewer._title.object
    assert not viewer.canvas.visible and viewer.canvas.image == {}


def test_create_app_builds_independent_sessions(corpus_dir, tmp_path):
    a = create_app(corpus_dir, tmp_path / "runs")
    b = create_app(corpus_dir, tmp_path / "runs")
    a.state.wait()
    b.state.wait()
    assert a.state is not b.state
    a.state.form.reservoir_units = 77
    assert b.state.form.reservoir_units == 600
    a.state.close()
    b.state.close()


def _args(**kw) -> argparse.Namespace:
    base = dict(
        data_dir=None,
        output=None,
        format="marron1csv",
        port=0,
        address="127.0.0.1",
        allow_remote=False,
        no_browser=True,
        example=False,
    )
    return argparse.Namespace(**{**base, **kw})


def test_loopback_detection():
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.1.2.3")


def test_remote_address_needs_allow_remote(corpus_dir):
    with pytest.raises(CanapyError, match="--allow-remote"):
        serve_from_args(_args(data_dir=str(corpus_dir), address="0.0.0.0"))


def test_paths_default_to_a_runs_folder_inside_the_data(corpus_dir, tmp_path):
    data, runs, temporary = resolve_paths(_args(data_dir=str(corpus_dir)))
    assert data == corpus_dir.absolute() and runs == data / ".canapy" / "runs"
    assert temporary is None
    _, runs, _ = resolve_paths(_args(data_dir=str(corpus_dir), output=str(tmp_path / "o")))
    assert runs == (tmp_path / "o").absolute()


def test_example_corpus_goes_to_a_temporary_or_given_folder(tmp_path):
    data, _runs, temporary = resolve_paths(_args(example=True))
    try:
        assert temporary is not None and data.is_relative_to(temporary)
        assert len(list(data.glob("*.csv"))) == 12
    finally:
        import shutil

        shutil.rmtree(temporary)
    data, _, temporary = resolve_paths(_args(example=True, data_dir=str(tmp_path / "ex")))
    assert temporary is None and len(list(data.glob("*.wav"))) == 14


def test_missing_data_is_a_clear_error(tmp_path):
    with pytest.raises(CanapyError, match="--example"):
        resolve_paths(_args())
    with pytest.raises(CanapyError, match="no such folder"):
        resolve_paths(_args(data_dir=str(tmp_path / "nope")))
