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
    state.review.review_folds = 2
    state.find_suspects().result()
    yield state
    state.close()


def test_loading_starts_from_the_original_files_without_a_store(corpus_dir, cache_dir):
    state = _state(corpus_dir, cache_dir)
    assert state.correction.base_version is None and len(state.correction.versions) == 0
    assert len(state.correction.working) == len(state.corpus.segments)
    assert state.correction.history_info == {"undo": "", "redo": "", "n_changes": 0}
    state.close()


def test_accept_a_suggestion_then_undo_and_redo(reviewed):
    state = reviewed
    sus = state.review.suspects
    assert {"wave", "start", "end", "syll", "suggested", "score", "status"} <= set(sus.columns)
    assert sus["score"].is_monotonic_decreasing and (sus["status"] == "").all()
    # A suggestion that differs from the hand label (make one if the models agree on all).
    candidates = sus[(sus["suggested"] != "") & (sus["suggested"] != sus["syll"])]
    if not len(candidates):
        sid = sus["segment_id"].iloc[0]
        state.review.result.segments.loc[
            state.review.result.segments["segment_id"] == sid, "suggested"
        ] = "Q"
        state.review.refresh()
        candidates = state.review.suspects[state.review.suspects["segment_id"] == sid]
    row = candidates.iloc[0]
    state.review.select_suspect(row["segment_id"])
    assert (
        state.correction.review_path == row["audio_path"]
        and state.correction.selected_segment == row["segment_id"]
    )
    state.review.accept_suggestion()
    label = state.correction.working.set_index("segment_id").loc[row["segment_id"], "label"]
    assert label == row["suggested"]
    status = state.review.suspects.set_index("segment_id")["status"]
    assert status[row["segment_id"]] == "accepted"
    assert (
        state.correction.history_info["n_changes"] == 1
        and "accept" in state.correction.history_info["undo"]
    )
    assert state.review.current_suspect != row["segment_id"]  # moved on to the next one

    state.correction.undo()
    assert (
        state.correction.working.set_index("segment_id").loc[row["segment_id"], "label"]
        == row["syll"]
    )
    assert state.review.suspects.set_index("segment_id")["status"][row["segment_id"]] == ""
    state.correction.redo()
    assert state.review.suspects.set_index("segment_id")["status"][row["segment_id"]] == "accepted"
    with pytest.raises(CanapyError, match="relabelled"):
        state.review.accept_suggestion(row["segment_id"])  # already accepted: stale
    state.correction.undo()

    other = state.review.suspects["segment_id"].iloc[-1]
    state.review.keep_original(other, advance=False)
    assert state.review.suspects.set_index("segment_id")["status"][other] == "kept"
    assert state.correction.history_info["n_changes"] == 0  # keeping changes nothing


def test_next_suspect_respects_the_label_filter(reviewed):
    state = reviewed
    label = state.review.suspects["syll"].iloc[0]
    state.review.param.update(suspect_label=label, current_suspect=None)
    sid = state.review.next_suspect()
    assert state.review.suspects.set_index("segment_id").loc[sid, "syll"] == label
    assert (state.review.visible_suspects()["syll"] == label).all()
    state.review.suspect_label = ""


def test_segment_edits_all_undo(corpus_dir, cache_dir):
    state = _state(corpus_dir, cache_dir)
    original = state.correction.working.copy()
    path = state.corpus.audio_paths[0]
    first, second = state.correction.segments_of(path)["segment_id"].iloc[:2]
    state.correction.select_segment(first)
    row = state.correction.segments_of(path).iloc[0]
    state.correction.relabel_segment("TRASH")
    state.correction.move_segment(row.onset_s + 0.005, row.offset_s)
    state.correction.split_segment((row.onset_s + row.offset_s) / 2 + 0.0025)
    state.correction.merge_with_next()
    state.correction.delete_segment(second)
    new = state.correction.add_segment(0.001, 0.004, "Z", path)
    assert new.startswith(f"{path.name}#") and state.correction.selected_segment == new
    assert state.correction.history_info["n_changes"] > 0
    with pytest.raises(CanapyError, match="overlaps"):
        state.correction.add_segment(0.002, 0.003, "Z", path)
    for _ in range(6):
        state.correction.undo()
    pd.testing.assert_frame_equal(state.correction.working, original)
    assert state.correction.history_info["redo"].startswith("relabel")
    state.close()


def test_merge_classes_with_preview_then_undo(corpus_dir, cache_dir):
    state = _state(corpus_dir, cache_dir)
    counts = state.correction.working["label"].value_counts()
    n = state.correction.preview_class_edit("merge", ["A", "B"], "A")
    assert n == counts["B"]
    assert state.correction.apply_class_edit("merge", ["A", "B"], "A") == n
    assert "B" not in set(state.correction.working["label"])
    assert state.correction.preview_class_edit("rename", ["C"], "TRASH") == counts["C"]
    assert state.correction.preview_class_edit("delete", ["D"]) == counts["D"]
    with pytest.raises(CanapyError, match="one label"):
        state.correction.preview_class_edit("rename", ["C", "D"], "X")
    state.correction.undo()
    assert state.correction.working["label"].value_counts()["B"] == counts["B"]
    state.close()


def test_save_version_conflict_reload_and_restore(corpus_dir, cache_dir):
    state = _state(corpus_dir, cache_dir)
    sid = state.correction.working["segment_id"].iloc[0]
    state.correction.relabel_segment("TRASH", sid)
    assert state.correction.save_version("first fix", author="ana") == 2
    assert state.correction.versions["id"].tolist() == [1, 2] and state.correction.base_version == 2
    assert state.correction.versions["author"].tolist()[-1] == "ana"
    assert state.correction.history_info["n_changes"] == 0
    assert state.correction.version_diff(1)["change"].tolist() == ["relabelled"]

    other = _state(corpus_dir, cache_dir)  # a second session opens version 2
    assert other.correction.base_version == 2
    assert other.correction.working.set_index("segment_id").loc[sid, "label"] == "TRASH"
    other.correction.delete_segment(sid)
    assert other.correction.save_version("bob's edit", author="bob") == 3

    state.correction.relabel_segment("A", sid)
    with pytest.raises(ConflictError, match="bob"):
        state.correction.save_version("too late")
    assert (
        "'bob'" in state.correction.save_conflict and "version 3" in state.correction.save_conflict
    )
    assert state.correction.reload_latest() == 3
    assert (
        sid not in set(state.correction.working["segment_id"])
        and state.correction.save_conflict == ""
    )
    state.correction.undo()  # your own table is back, unsaved
    assert state.correction.history_info["n_changes"] > 0
    state.correction.redo()

    assert state.correction.restore_version(2) == 4
    assert state.correction.working.set_index("segment_id").loc[sid, "label"] == "TRASH"
    assert state.correction.versions["message"].tolist()[-1] == "restore version 2"
    store = AnnotationStore.for_data_dir(corpus_dir)
    pd.testing.assert_frame_equal(store.load(4), store.load(2))
    written = state.correction.export_version(corpus_dir.parent / "exported", "simple-seq")
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
    assert state.review.unlabelled["file"].tolist() == ["song_006.wav"]
    path = state.review.unlabelled["audio_path"].iloc[0]
    n = state.review.promote(path)
    assert n == len(state.correction.segments_of(path)) > 0
    assert Path(path) in state.correction.working_corpus().annotated
    state.correction.undo()
    assert Path(path) not in state.correction.working_corpus().annotated
    state.correction.redo()
    state.retrain().result()
    assert state.active_run != first_run
    table = state.correction.retrain_comparison
    assert table["metric"].tolist()[:3] == ["frame_accuracy", "syllable_error_rate", "onset_f1"]
    assert table["before"].notna().all() and table["after"].notna().all()
    assert "unsaved edits" in state.correction.retrain_label
    state.close()


def test_pure_helpers():
    ranked = rank_by_confidence(
        {"/a.wav": pd.DataFrame({"confidence": [0.9]}), "/b.wav": pd.DataFrame({"confidence": []})}
    )
    assert ranked["file"].tolist() == ["b.wav", "a.wav"]
    cmp = compare_summaries({"frame_accuracy": 0.5}, None)
    assert cmp["after"].isna().all()


def test_choosing_the_same_known_label_again_fills_the_label_box(corpus_dir, cache_dir):
    # the segment editor: a new selection resets *Known labels*, so choosing the label
    # chosen for the previous segment fills *Label* again (else Relabel used the old label)
    from canapy.dashboards.reannotate import EditorPanel

    state = _state(corpus_dir, cache_dir)
    editor = EditorPanel(state=state)
    path = state.corpus.audio_paths[0]
    segs = state.correction.segments_of(path)
    first, second = segs["segment_id"].iloc[:2]
    other = next(lab for lab in editor._label_pick.options if lab not in ("", *segs["label"][:2]))
    state.correction.select_segment(first)
    editor._label_pick.value = other
    assert editor._label.value == other
    state.correction.select_segment(second)
    assert editor._label.value == segs["label"].iloc[1] and editor._label_pick.value == ""
    editor._label_pick.value = other
    assert editor._label.value == other
    state.close()
