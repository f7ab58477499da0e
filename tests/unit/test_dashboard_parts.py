"""The parts of the dashboard state, each alone: no server, no AppState, no training."""

from __future__ import annotations

from concurrent.futures import CancelledError
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from canapy.corpus import load_corpus
from canapy.dashboards.state import (
    Cancelled,
    ConfigForm,
    CorrectionState,
    ReviewState,
    TaskRunner,
    describe_error,
)
from canapy.dashboards.state.correction import read_store
from canapy.exceptions import AnnotationError, CanapyError
from canapy.synthetic import make_example_corpus


@pytest.fixture
def folder(tmp_path) -> Path:
    return make_example_corpus(tmp_path / "c", n_files=4, n_unlabelled=1)


@pytest.fixture
def corpus(folder):
    return load_corpus(folder)


@pytest.fixture
def correction(folder, corpus):
    part = CorrectionState(author="tester")
    part.start(corpus, read_store(folder, corpus))
    return part


# -- TaskRunner ---------------------------------------------------------------------------
def test_task_runner_applies_results_and_reports_failures():
    runner = TaskRunner()
    seen = []
    assert runner.submit("adding", lambda p: 2, seen.append, done="added").result() == 2
    assert seen == [2] and runner.status == "added" and runner.progress == 1.0
    with pytest.raises(CanapyError, match="no corpus"):
        runner.submit("failing", _raise(CanapyError("no corpus")), seen.append).result()
    runner.wait()
    assert runner.error == "no corpus" and runner.status == "failing failed" and not runner.busy
    with pytest.raises(KeyError, match="k"):
        runner.submit("buggy", _raise(KeyError("k")), seen.append).result()
    runner.wait()
    assert runner.error == "KeyError: 'k'"
    runner.close()


def test_task_runner_cancels_at_the_next_progress_report():
    import threading

    started, release = threading.Event(), threading.Event()

    def job(progress):
        started.set()
        release.wait(10)
        progress(0.5, "halfway")

    runner = TaskRunner()
    future = runner.submit("waiting", job, lambda r: None, cleanup=lambda: release.set())
    started.wait(10)
    runner.cancel()
    assert runner.status == "cancelling waiting..."
    release.set()
    with pytest.raises((Cancelled, CancelledError)):  # no fixed message: the type is the check
        future.result()
    runner.wait()
    assert runner.status == "waiting cancelled" and not runner.busy
    runner.close()


def test_task_runner_refuses_a_second_task_while_busy():
    queued = []
    runner = TaskRunner(dispatch=queued.append)
    runner.submit("first", lambda p: None, lambda r: None).result()
    assert runner.busy  # its completion is queued, not applied
    with pytest.raises(CanapyError, match="busy with first"):
        runner.submit("second", lambda p: None, lambda r: None)
    for fn in queued:
        fn()
    assert not runner.busy
    runner.close()


def test_run_action_shows_user_errors_and_bugs():
    runner = TaskRunner()
    assert runner.run_action(lambda x: x + 1, 1, ok="done") == 2 and runner.error == ""
    assert runner.message == "done" and runner.message_kind == "success"
    assert runner.run_action(_raise(CanapyError("select a segment first"))) is None
    assert runner.error == "select a segment first"
    runner.error = ""
    assert runner.run_action(_raise(CanapyError("no suspect")), inline=True) is None
    assert runner.message == "no suspect" and runner.message_kind == "danger"
    assert runner.error == ""
    assert runner.run_action(_raise(ZeroDivisionError("boom"))) is None
    assert runner.error == "ZeroDivisionError: boom"
    assert describe_error(AnnotationError("bad row 3")) == "bad row 3"
    runner.close()


def _raise(exc):
    def fail(*_):
        raise exc

    return fail


# -- CorrectionState -----------------------------------------------------------------------
def test_correction_starts_from_the_original_files(corpus, correction):
    assert correction.base_version is None and len(correction.versions) == 0
    assert len(correction.working) == len(corpus.segments)
    assert correction.review_path == str(corpus.audio_paths[0])
    assert correction.training_source() == "the original annotations"


def test_correction_edits_undo_and_class_edits(corpus, correction):
    path = corpus.annotated[0]
    first = correction.segments_of(path)["segment_id"].iloc[0]
    n = len(correction.segments_of(path))
    correction.select_segment(first)
    correction.merge_with_next()
    assert len(correction.segments_of(path)) == n - 1
    assert correction.history_info["n_changes"] > 0
    assert correction.training_source() == "the working table (unsaved edits)"
    correction.undo()
    assert len(correction.segments_of(path)) == n
    counts = correction.working["label"].value_counts()
    assert correction.preview_class_edit("rename", ["A"], "Z") == counts["A"]
    assert correction.apply_class_edit("rename", ["A"], "Z") == counts["A"]
    assert "A" not in set(correction.working["label"])
    assert correction.history_info["undo"] == "rename 'A' to 'Z'"
    with pytest.raises(CanapyError, match="unknown class operation"):
        correction.preview_class_edit("explode", ["B"])


def test_correction_versions_save_reload_restore(corpus, correction):
    sid = correction.working["segment_id"].iloc[0]
    correction.relabel_segment("TRASH", sid)
    assert correction.save_version("fix") == 2 and correction.base_version == 2
    assert correction.versions["author"].tolist() == ["tester", "tester"]
    assert correction.training_source() == "version 2"
    correction.delete_segment(sid)
    assert correction.reload_latest() == 2  # undoable: the deletion comes back with undo
    assert sid in set(correction.working["segment_id"])
    correction.undo()
    assert sid not in set(correction.working["segment_id"])
    assert correction.restore_version(1) == 3
    assert correction.working.set_index("segment_id").loc[sid, "label"] != "TRASH"
    assert correction.history_info["undo"] == "restore version 1"


def test_correction_without_a_corpus_says_so():
    part = CorrectionState(author="x")
    with pytest.raises(CanapyError, match="no corpus loaded"):
        part.undo()
    assert part.segments_of("/x.wav").empty


# -- ReviewState ---------------------------------------------------------------------------
def _review(correction: CorrectionState, suggested: str) -> ReviewState:
    table = correction.working.iloc[:2]
    rows = pd.DataFrame(
        {
            "segment_id": table["segment_id"].to_list(),
            "audio_path": table["audio_path"].to_list(),
            "start": table["onset_s"].to_list(),
            "end": table["offset_s"].to_list(),
            "syll": table["label"].to_list(),
            "suggested": [suggested, ""],
            "score": [0.9, 0.5],
            "wave": [Path(p).name for p in table["audio_path"]],
        }
    )
    review = ReviewState(tasks=TaskRunner(), form=ConfigForm(), correction=correction)
    review.result = SimpleNamespace(segments=rows)
    return review


def test_review_status_follows_the_working_table(correction):
    review = _review(correction, "Q")
    first, second = review.suspects["segment_id"]
    assert review.suspects["status"].tolist() == ["", ""]
    assert review.next_suspect() == first and correction.selected_segment == first
    review.accept_suggestion(advance=False)
    assert review.suspects["status"].tolist() == ["accepted", ""]
    with pytest.raises(CanapyError, match="relabelled"):
        review.accept_suggestion(first)
    with pytest.raises(CanapyError, match="no suggestion"):
        review.accept_suggestion(second)
    review.keep_original(second, advance=False)
    assert review.suspects["status"].tolist() == ["accepted", "kept"]
    correction.undo()
    assert review.suspects["status"].tolist() == ["", "kept"]
    review.tasks.close()


def test_review_promotes_a_predicted_recording(corpus, correction):
    review = _review(correction, "Q")
    path = str(corpus.unannotated_paths[0])
    segs = corpus.segments_of(corpus.annotated[0])[["onset_s", "offset_s", "label"]]
    review.unlabelled_predictions = {path: segs}
    assert review.promote(path) == len(segs)
    assert Path(path) in correction.working_corpus().annotated
    with pytest.raises(CanapyError, match="already has segments"):
        review.promote(path)
    review.tasks.close()


def test_task_runner_reports_elapsed_time_and_time_left():
    runner = TaskRunner()

    def job(progress):
        progress(0.5, "half way")
        return 1

    runner.submit("counting", job, lambda r: None).result()
    assert runner.timing.startswith("took ")
    runner.close()
    from canapy.dashboards.state.tasks import timing_text

    assert timing_text(10.0, 0.5) == "10 s elapsed, about 10 s left"
    assert timing_text(1.0, 0.5) == "1 s elapsed"  # too early for an estimate


def test_config_form_says_what_a_preset_changed():
    from canapy.config import PRESETS, apply_preset, default_config

    form = ConfigForm()
    same = [p for p in PRESETS if apply_preset(p) == default_config()]
    other = [p for p in PRESETS if apply_preset(p) != default_config()]
    if same:
        form.preset = same[0]
        assert "is the default configuration" in form.preset_note
    if other:
        form.preset = other[0]
        assert "value(s) changed" in form.preset_note and " 0 value" not in form.preset_note
    assert same or other
