"""The correction loop of the Re-annotate tab, through AppState only (no server)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from canapy.dashboards.state import AppState, compare_summaries, rank_by_confidence
from canapy.exceptions import CanapyError, ConflictError
from canapy.store import AnnotationStore
from canapy.synthetic import make_example_corpus

TINY = {"reservoir_units": 30, "reservoir_bidirectional": False}


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def corpus_dir(tmp_path) -> Path:
    return make_example_corpus(tmp_path / "c", n_files=6, n_unlabelled=1)


def _state(corpus_dir: Path, cache_dir: Path) -> AppState:
    state = AppState(corpus_dir, cache_dir=cache_dir)
    state.load_corpus().result()
    state.form.param.update(**TINY)
    return state


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory, cache_dir):
    """A state that ran a 2-fold review of the example corpus."""
    folder = make_example_corpus(tmp_path_factory.mktemp("r") / "c", n_files=6, n_unlabelled=1)
    state = _state(folder, cache_dir)
    state.review_folds = 2
    state.find_suspects().result()
    yield state
    state.close()


def test_loading_starts_from_the_original_files_without_a_store(corpus_dir, cache_dir):
    state = _state(corpus_dir, cache_dir)
    assert state.base_version is None and len(state.versions) == 0
    assert len(state.working) == len(state.corpus.segments)
    assert state.history_info == {"undo": "", "redo": "", "n_changes": 0}
    state.close()


def test_accept_a_suggestion_then_undo_and_redo(reviewed):
    state = reviewed
    sus = state.suspects
    assert {"wave", "start", "end", "syll", "suggested", "score", "status"} <= set(sus.columns)
    assert sus["score"].is_monotonic_decreasing and (sus["status"] == "").all()
    # A suggestion that differs from the hand label (make one if the models agree on all).
    candidates = sus[(sus["suggested"] != "") & (sus["suggested"] != sus["syll"])]
    if not len(candidates):
        sid = sus["segment_id"].iloc[0]
        state.review.segments.loc[state.review.segments["segment_id"] == sid, "suggested"] = "Q"
        state._sync_history()
        candidates = state.suspects[state.suspects["segment_id"] == sid]
    row = candidates.iloc[0]
    state.select_suspect(row["segment_id"])
    assert state.review_path == row["audio_path"] and state.selected_segment == row["segment_id"]
    state.accept_suggestion()
    label = state.working.set_index("segment_id").loc[row["segment_id"], "label"]
    assert label == row["suggested"]
    status = state.suspects.set_index("segment_id")["status"]
    assert status[row["segment_id"]] == "accepted"
    assert state.history_info["n_changes"] == 1 and "accept" in state.history_info["undo"]
    assert state.current_suspect != row["segment_id"]  # moved on to the next one

    state.undo()
    assert state.working.set_index("segment_id").loc[row["segment_id"], "label"] == row["syll"]
    assert state.suspects.set_index("segment_id")["status"][row["segment_id"]] == ""
    state.redo()
    assert state.suspects.set_index("segment_id")["status"][row["segment_id"]] == "accepted"
    with pytest.raises(CanapyError, match="relabelled"):
        state.accept_suggestion(row["segment_id"])  # already accepted: stale
    state.undo()

    other = state.suspects["segment_id"].iloc[-1]
    state.keep_original(other, advance=False)
    assert state.suspects.set_index("segment_id")["status"][other] == "kept"
    assert state.history_info["n_changes"] == 0  # keeping changes nothing


def test_next_suspect_respects_the_label_filter(reviewed):
    state = reviewed
    label = state.suspects["syll"].iloc[0]
    state.param.update(suspect_label=label, current_suspect=None)
    sid = state.next_suspect()
    assert state.suspects.set_index("segment_id").loc[sid, "syll"] == label
    assert (state.visible_suspects()["syll"] == label).all()
    state.suspect_label = ""


def test_segment_edits_all_undo(corpus_dir, cache_dir):
    state = _state(corpus_dir, cache_dir)
    original = state.working.copy()
    path = state.corpus.audio_paths[0]
    first, second = state.segments_of(path)["segment_id"].iloc[:2]
    state.select_segment(first)
    row = state.segments_of(path).iloc[0]
    state.relabel_segment("TRASH")
    state.move_segment(row.onset_s + 0.005, row.offset_s)
    state.split_segment((row.onset_s + row.offset_s) / 2 + 0.0025)
    state.merge_with_next()
    state.delete_segment(second)
    new = state.add_segment(0.001, 0.004, "Z", path)
    assert new.startswith(f"{path.name}#") and state.selected_segment == new
    assert state.history_info["n_changes"] > 0
    with pytest.raises(CanapyError, match="overlaps"):
        state.add_segment(0.002, 0.003, "Z", path)
    for _ in range(6):
        state.undo()
    pd.testing.assert_frame_equal(state.working, original)
    assert state.history_info["redo"].startswith("relabel")
    state.close()


def test_merge_classes_with_preview_then_undo(corpus_dir, cache_dir):
    state = _state(corpus_dir, cache_dir)
    counts = state.working["label"].value_counts()
    n = state.preview_class_edit("merge", ["A", "B"], "A")
    assert n == counts["B"]
    assert state.apply_class_edit("merge", ["A", "B"], "A") == n
    assert "B" not in set(state.working["label"])
    assert state.preview_class_edit("rename", ["C"], "TRASH") == counts["C"]
    assert state.preview_class_edit("delete", ["D"]) == counts["D"]
    with pytest.raises(CanapyError, match="one label"):
        state.preview_class_edit("rename", ["C", "D"], "X")
    state.undo()
    assert state.working["label"].value_counts()["B"] == counts["B"]
    state.close()


def test_save_version_conflict_reload_and_restore(corpus_dir, cache_dir):
    state = _state(corpus_dir, cache_dir)
    sid = state.working["segment_id"].iloc[0]
    state.relabel_segment("TRASH", sid)
    assert state.save_version("first fix", author="ana") == 2
    assert state.versions["id"].tolist() == [1, 2] and state.base_version == 2
    assert state.versions["author"].tolist()[-1] == "ana"
    assert state.history_info["n_changes"] == 0
    assert state.version_diff(1)["change"].tolist() == ["relabelled"]

    other = _state(corpus_dir, cache_dir)  # a second session opens version 2
    assert other.base_version == 2
    assert other.working.set_index("segment_id").loc[sid, "label"] == "TRASH"
    other.delete_segment(sid)
    assert other.save_version("bob's edit", author="bob") == 3

    state.relabel_segment("A", sid)
    with pytest.raises(ConflictError):
        state.save_version("too late")
    assert "'bob'" in state.save_conflict and "version 3" in state.save_conflict
    assert state.reload_latest() == 3
    assert sid not in set(state.working["segment_id"]) and state.save_conflict == ""
    state.undo()  # your own table is back, unsaved
    assert state.history_info["n_changes"] > 0
    state.redo()

    assert state.restore_version(2) == 4
    assert state.working.set_index("segment_id").loc[sid, "label"] == "TRASH"
    assert state.versions["message"].tolist()[-1] == "restore version 2"
    store = AnnotationStore.for_data_dir(corpus_dir)
    pd.testing.assert_frame_equal(store.load(4), store.load(2))
    written = state.export_version(corpus_dir.parent / "exported", "simple-seq")
    assert len(written) == 6
    for s in (state, other):
        s.close()


def test_unlabelled_annotate_promote_and_retrain(corpus_dir, cache_dir):
    state = _state(corpus_dir, cache_dir)
    with pytest.raises(CanapyError, match="no active model"):
        state.annotate_unlabelled()
    state.train().result()
    first_run = state.active_run
    state.annotate_unlabelled().result()
    assert state.unlabelled["file"].tolist() == ["song_006.wav"]
    path = state.unlabelled["audio_path"].iloc[0]
    n = state.promote(path)
    assert n == len(state.segments_of(path)) > 0
    assert Path(path) in state.working_corpus().annotated
    state.undo()
    assert Path(path) not in state.working_corpus().annotated
    state.redo()
    state.retrain().result()
    assert state.active_run != first_run
    table = state.retrain_comparison
    assert table["metric"].tolist()[:3] == ["frame_accuracy", "syllable_error_rate", "onset_f1"]
    assert table["before"].notna().all() and table["after"].notna().all()
    assert "unsaved edits" in state.retrain_label
    state.close()


def test_pure_helpers():
    ranked = rank_by_confidence(
        {"/a.wav": pd.DataFrame({"confidence": [0.9]}), "/b.wav": pd.DataFrame({"confidence": []})}
    )
    assert ranked["file"].tolist() == ["b.wav", "a.wav"]
    cmp = compare_summaries({"frame_accuracy": 0.5}, None)
    assert cmp["after"].isna().all()
