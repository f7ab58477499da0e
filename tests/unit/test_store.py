"""Annotation store: versions, conflicts, crash safety; pure edits and undo/redo; history CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from canapy import edits
from canapy.corpus import load_corpus
from canapy.exceptions import AnnotationError, ConflictError, StoreError
from canapy.store import AnnotationStore, default_store_dir
from canapy.synthetic import make_example_corpus


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    return make_example_corpus(tmp_path / "data", n_files=3, seed=3, n_unlabelled=1)


@pytest.fixture
def store(corpus_dir: Path) -> AnnotationStore:
    s = AnnotationStore.for_data_dir(corpus_dir)
    assert s.init_from(load_corpus(corpus_dir), author="ana") == 1
    return s


def _originals(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.csv"))}


def _first_ids(table: pd.DataFrame, n: int = 1) -> list[str]:
    return table["segment_id"].iloc[:n].tolist()


# ------------------------------------------------------------------------------ store
def test_round_trip_save_list_diff_restore_export(corpus_dir, store, tmp_path):
    before = _originals(corpus_dir)
    v1 = store.load()
    assert store.head == 1
    pd.testing.assert_frame_equal(v1, edits.normalise_segments(load_corpus(corpus_dir).segments))

    sid = _first_ids(v1)[0]
    v2_table = edits.relabel(v1, [sid], "Z")
    assert store.save(v2_table, "ana", "relabel one", base_version=1) == 2
    row = v1[v1["segment_id"] == sid].iloc[0]
    v3_table = edits.move(v2_table, sid, row.onset_s + 0.001, row.offset_s)
    v3_table = edits.delete(v3_table, [v1["segment_id"].iloc[-1]])
    assert store.save(v3_table, "bob", "move and delete", base_version=2) == 3

    versions = store.versions()
    assert versions["id"].tolist() == [1, 2, 3]
    assert versions["author"].tolist() == ["ana", "ana", "bob"]
    assert versions["is_head"].tolist() == [False, False, True]
    assert versions["n_segments"].tolist() == [len(v1), len(v1), len(v1) - 1]
    assert versions["created_at"].str.endswith("Z").all()

    diff = store.diff(1, 3)
    changes = dict(zip(diff["segment_id"], diff["change"], strict=True))
    assert changes == {sid: "relabelled+moved", v1["segment_id"].iloc[-1]: "removed"}
    assert diff.loc[diff["segment_id"] == sid, "new_label"].item() == "Z"
    assert store.diff(2, 2).empty

    assert store.restore(1, author="carl") == 4
    pd.testing.assert_frame_equal(store.load(), v1)
    assert store.versions()["message"].iloc[-1] == "restore version 1"

    out = tmp_path / "exported"
    written = store.export(3, out, "marron1csv")
    assert len(written) == 3
    reread = load_corpus(out, audio_dir=corpus_dir).segments
    assert len(reread) == len(v1) - 1
    assert "Z" in set(reread["label"])
    written = store.export(3, tmp_path / "seq", "simple-seq")
    assert all(p.suffix == ".csv" for p in written)

    assert _originals(corpus_dir) == before  # the originals are never modified


def test_as_corpus_and_unchanged_save(corpus_dir, store):
    corpus = load_corpus(corpus_dir)
    c1 = store.as_corpus(1)
    assert c1.annotated == corpus.annotated
    assert c1.audio_paths == corpus.audio_paths
    assert len(c1.unannotated_paths) == 1
    assert c1.labels == corpus.labels
    # saving the head's own content writes nothing
    assert store.save(store.load(), "ana", "nothing", base_version=1) == 1
    assert store.head == 1


def test_as_corpus_keeps_every_audio_file_and_version_annotated(corpus_dir, store):
    corpus = load_corpus(corpus_dir)
    first = corpus.segments["audio_path"].iloc[0]
    table = store.load()
    store.save(table[table["audio_path"] != first], "ana", "drop a file", base_version=1)
    v2 = store.as_corpus()
    assert v2.audio_paths == corpus.audio_paths
    assert v2.annotated == corpus.annotated  # still annotated, with zero segments
    assert first not in set(v2.segments["audio_path"])


def test_store_refuses_bad_requests(corpus_dir, store, tmp_path):
    with pytest.raises(StoreError, match="already exists"):
        store.init_from(load_corpus(corpus_dir))
    with pytest.raises(StoreError, match="no version 7"):
        store.load(7)
    with pytest.raises(StoreError, match="inside the data folder"):
        store.export(1, corpus_dir / "out")
    with pytest.raises(StoreError, match="no annotation store"):
        AnnotationStore(tmp_path / "nowhere").versions()
    bad = store.load()
    bad.loc[1, "onset_s"] = bad.loc[0, "onset_s"]  # overlap
    with pytest.raises(AnnotationError, match="overlaps"):
        store.save(bad, "ana", "bad", base_version=1)
    assert store.head == 1


def test_tampered_version_is_detected(store):
    csv = store.root / "versions" / "000001.csv"
    csv.write_text(csv.read_text().replace(",A\n", ",B\n", 1))
    with pytest.raises(StoreError, match="sha256"):
        store.load(1)


def test_store_in_custom_folder_moves_with_paths_relative(corpus_dir, tmp_path):
    s = AnnotationStore(tmp_path / "elsewhere", data_dir=corpus_dir)
    s.init_from(load_corpus(corpus_dir))
    reopened = AnnotationStore(tmp_path / "elsewhere")
    assert reopened.data_dir == corpus_dir.absolute()
    assert Path(reopened.load()["audio_path"].iloc[0]).parent == corpus_dir.absolute()
    table = reopened.load()
    saved = reopened.save(edits.relabel(table, _first_ids(table), "Q"), "ana", "relabel", 1)
    # The data folder and its store move together (another disk, another machine): every
    # path of every version follows them.
    moved = tmp_path / "moved"
    moved.mkdir()
    os.rename(corpus_dir, moved / corpus_dir.name)
    os.rename(tmp_path / "elsewhere", moved / "elsewhere")
    there = AnnotationStore(moved / "elsewhere")
    assert there.data_dir == (moved / corpus_dir.name).absolute()
    for version in (1, saved):
        paths = {Path(p) for p in there.load(version)["audio_path"]}
        assert {p.parent for p in paths} == {there.data_dir}
        assert all(p.is_file() for p in paths)
        assert {p.parent for p in there.annotated(version)} == {there.data_dir}
    assert {p.parent for p in there.as_corpus().audio_paths} == {there.data_dir}


def test_default_store_moves_with_its_data_folder(store, corpus_dir, tmp_path):
    moved = tmp_path / "moved"
    os.rename(corpus_dir, moved)
    there = AnnotationStore.for_data_dir(moved)
    assert there.data_dir == moved.absolute()
    assert all(Path(p).parent == moved.absolute() for p in there.load()["audio_path"])


def test_concurrent_edits_are_detected(corpus_dir, store):
    alice = AnnotationStore(default_store_dir(corpus_dir))
    bob = AnnotationStore(default_store_dir(corpus_dir))
    table_a, table_b = alice.load(), bob.load()
    base_a, base_b = alice.head, bob.head
    assert base_a == base_b == 1
    assert alice.save(edits.relabel(table_a, _first_ids(table_a), "Q"), "alice", "a", base_a) == 2
    with pytest.raises(ConflictError, match="force=True") as err:
        bob.save(edits.delete(table_b, _first_ids(table_b)), "bob", "b", base_b)
    message = str(err.value)
    assert "'alice'" in message and "version 2" in message and "force=True" in message
    assert bob.head == 2
    # bob decides to keep his version anyway: it becomes the head, alice's stays in history
    assert bob.save(edits.delete(table_b, _first_ids(table_b)), "bob", "b", base_b, force=True) == 3
    assert store.versions()["parent"].iloc[1:].tolist() == [1, 1]


def test_failed_save_leaves_previous_head_intact(store, monkeypatch):
    v1 = store.load()
    new = edits.relabel(v1, _first_ids(v1), "Z")
    real_replace = os.replace
    for failing_step in range(3):  # CSV rename, metadata rename, HEAD rename
        calls = {"n": 0}

        def flaky_replace(src, dst, _step=failing_step, _calls=calls):
            if _calls["n"] == _step:
                raise OSError("disk full (simulated)")
            _calls["n"] += 1
            return real_replace(src, dst)

        monkeypatch.setattr(os, "replace", flaky_replace)
        with pytest.raises(OSError, match="simulated"):
            store.save(new, "ana", "doomed", base_version=1)
        monkeypatch.setattr(os, "replace", real_replace)
        assert store.head == 1
        assert store.versions()["id"].tolist() == [1]
        pd.testing.assert_frame_equal(store.load(), v1)
        leftovers = [p.name for p in (store.root / "versions").iterdir() if p.name.endswith(".tmp")]
        assert leftovers == []
    # the next save works and overwrites whatever the failed ones left
    assert store.save(new, "ana", "works", base_version=1) == 2
    assert store.load()["label"].iloc[0] == "Z"


_KILLED_SAVE = textwrap.dedent(
    """
    import sys, time
    import canapy.store as st
    import canapy.store_files as files
    from canapy import edits
    pause_at = sys.argv[2]
    real_fsync_dir = files.fsync_dir

    def pause(folder):
        if folder.name == pause_at:
            print("paused", flush=True)
            time.sleep(60)
        real_fsync_dir(folder)

    files.fsync_dir = pause  # the version files are written by canapy.store_files
    store = st.AnnotationStore(sys.argv[1])
    table = store.load()
    store.save(edits.relabel(table, table["segment_id"].iloc[:1], "Z"), "k", "killed", 1)
    """
)


@pytest.mark.parametrize("pause_at", ["versions", "store"])
def test_killed_save_leaves_previous_head_intact(store, pause_at):
    """SIGKILL after the version files are written, before (or just after) HEAD moves."""
    v1 = store.load()
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED_SAVE, str(store.root), pause_at],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "paused"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    if pause_at == "versions":  # killed before HEAD moved: version 2 does not exist
        assert store.head == 1
        assert store.versions()["id"].tolist() == [1]
        pd.testing.assert_frame_equal(store.load(), v1)
        assert (store.root / "versions" / "000002.json").exists()  # the orphan, ignored
    else:  # killed after HEAD moved (before the final directory fsync): version 2 is whole
        assert store.head == 2
        assert store.load()["label"].iloc[0] == "Z"
    # the lock died with the process: saving again works at once
    start = time.monotonic()
    head = store.head
    table = store.load()
    assert store.save(edits.delete(table, _first_ids(table)), "ana", "after", head) == head + 1
    assert time.monotonic() - start < 5


# ------------------------------------------------------------------------------ edits
@pytest.fixture
def table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "segment_id": ["a.wav#0000", "a.wav#0001", "a.wav#0002", "b.wav#0000"],
            "audio_path": ["/d/a.wav"] * 3 + ["/d/b.wav"],
            "onset_s": [0.1, 0.3, 0.5, 0.1],
            "offset_s": [0.2, 0.4, 0.6, 0.2],
            "label": ["A", "B", "A", "C"],
        }
    )


def test_edits_return_new_valid_tables(table):
    original = table.copy()
    out = edits.split(table, "a.wav#0001", 0.35)
    assert out["segment_id"].tolist()[:4] == [
        "a.wav#0000",
        "a.wav#0001",
        "a.wav#0003",
        "a.wav#0002",
    ]
    assert out.loc[out["segment_id"] == "a.wav#0003", ["onset_s", "offset_s"]].values.tolist() == [
        [0.35, 0.4]
    ]
    merged = edits.merge(out, ["a.wav#0001", "a.wav#0003"])
    assert merged.loc[merged["segment_id"] == "a.wav#0001", "offset_s"].item() == 0.4
    assert len(merged) == len(table)
    added = edits.add(table, "/d/b.wav", 0.3, 0.4, "D")
    assert added["segment_id"].iloc[-1] == "b.wav#0001"
    assert edits.rename_label(table, "A", "Z")["label"].tolist() == ["Z", "B", "Z", "C"]
    assert edits.merge_labels(table, ["A", "B"], "C")["label"].nunique() == 1
    assert len(edits.delete_label(table, "A")) == 2
    assert edits.preview(table, edits.rename_label, "A", "Z") == 2
    assert edits.preview(table, edits.merge_labels, ["A", "C"], "A") == 1
    assert edits.preview(table, edits.delete_label, "B") == 1
    pd.testing.assert_frame_equal(table, original)  # never modified in place


@pytest.mark.parametrize(
    ("edit", "args", "match"),
    [
        (edits.move, ("a.wav#0000", 0.2, 0.15), "end is not after start"),
        (edits.move, ("a.wav#0000", -0.1, 0.15), "negative time"),
        (edits.move, ("a.wav#0000", 0.1, 0.35), "overlaps"),
        (edits.add, ("/d/a.wav", 0.55, 0.7, "A"), "overlaps"),
        (edits.add, ("/d/a.wav", 0.7, 0.8, " "), "empty label"),
        (edits.split, ("a.wav#0000", 0.25), "strictly inside"),
        (edits.merge, (["a.wav#0000", "a.wav#0002"],), "lies between"),
        (edits.merge, (["a.wav#0000", "b.wav#0000"],), "different audio files"),
        (edits.relabel, (["nope#1"], "A"), "unknown segment"),
        (edits.rename_label, ("Q", "A"), "no segment has the label"),
    ],
)
def test_edits_are_validated(table, edit, args, match):
    with pytest.raises(AnnotationError, match=match):
        edit(table, *args)


def test_add_segments_numbers_new_ids_per_file_and_validates(table):
    new = pd.DataFrame(
        {"onset_s": [0.3, 0.5], "offset_s": [0.4, 0.6], "label": ["D", "E"], "confidence": 1.0}
    )
    out = edits.add_segments(table, "/d/b.wav", new)
    assert out.loc[out["audio_path"] == "/d/b.wav", "segment_id"].tolist() == [
        "b.wav#0000",
        "b.wav#0001",
        "b.wav#0002",
    ]
    assert list(out.columns) == list(table.columns) and len(out) == 6
    fresh = edits.add_segments(table, "/d/c.wav", new)
    assert fresh["segment_id"].iloc[-2:].tolist() == ["c.wav#0000", "c.wav#0001"]
    with pytest.raises(AnnotationError, match="overlaps"):
        edits.add_segments(table, "/d/a.wav", new)


def test_merge_with_next_keeps_first_label_or_takes_given_one(table):
    merged = edits.merge_with_next(table, "a.wav#0000")
    row = merged[merged["segment_id"] == "a.wav#0000"].iloc[0]
    assert (row["onset_s"], row["offset_s"], row["label"]) == (0.1, 0.4, "A")
    assert "a.wav#0001" not in set(merged["segment_id"]) and len(merged) == 3
    relabelled = edits.merge_with_next(table, "a.wav#0001", label="Z")
    assert relabelled.set_index("segment_id").loc["a.wav#0001", "label"] == "Z"
    # the next segment is the next one of the same recording, whatever the input order
    shuffled = table.iloc[::-1].reset_index(drop=True)
    assert len(edits.merge_with_next(shuffled, "a.wav#0001")) == 3
    for last in ("a.wav#0002", "b.wav#0000"):
        with pytest.raises(AnnotationError, match=f"{last} is the last segment"):
            edits.merge_with_next(table, last)
    with pytest.raises(AnnotationError, match="unknown segment"):
        edits.merge_with_next(table, "nope#1")


def test_class_edit_dispatch_description_and_preview(table):
    assert edits.CLASS_OPERATIONS == ("merge", "rename", "delete")
    merge = edits.class_edit("merge", ["A", "B"], "AB")
    assert merge == edits.ClassEdit("merge", ("A", "B"), "AB")
    assert merge.description == "merge A, B into 'AB'"
    assert merge.preview(table) == 3
    assert merge.apply(table)["label"].tolist() == ["AB", "AB", "AB", "C"]
    rename = edits.class_edit("rename", ["C"], "D")
    assert rename.description == "rename 'C' to 'D'" and rename.preview(table) == 1
    delete = edits.class_edit("delete", ("A",))
    assert delete.description == "delete label 'A'" and delete.preview(table) == 2
    assert set(delete.apply(table)["label"]) == {"B", "C"}
    pd.testing.assert_frame_equal(table, table.copy())  # nothing modified
    with pytest.raises(AttributeError, match="into"):
        merge.into = "x"  # frozen


@pytest.mark.parametrize(
    ("operation", "labels", "match"),
    [
        ("split", ["A"], "unknown class operation 'split'"),
        ("merge", [], "choose the label"),
        ("rename", ["A", "B"], "one label at a time"),
        ("delete", ["A", "B"], "one label at a time"),
    ],
)
def test_class_edit_is_checked(operation, labels, match):
    with pytest.raises(AnnotationError, match=match):
        edits.class_edit(operation, labels, "X")


def test_class_edit_of_absent_label_names_labels_in_use(table):
    with pytest.raises(AnnotationError, match="labels in use"):
        edits.class_edit("rename", ["Q"], "X").apply(table)


def test_edits_accept_touching_segments(table):
    out = edits.move(table, "a.wav#0000", 0.1, 0.3)  # ends where the next starts
    assert out["offset_s"].iloc[0] == 0.3


def test_edit_history_undo_redo(table):
    history = edits.EditHistory(table, base_version=1)
    assert not history.can_undo and not history.dirty
    history.apply(edits.relabel, ["a.wav#0000"], "Z", description="relabel to Z")
    history.apply(edits.delete, ["b.wav#0000"])
    assert history.dirty and history.undo_description == "delete"
    assert len(history.current) == 3
    history.undo()
    assert len(history.current) == 4 and history.redo_description == "delete"
    history.undo()
    assert history.current["label"].iloc[0] == "A" and not history.can_undo
    assert not history.dirty
    with pytest.raises(AnnotationError, match="nothing to undo"):
        history.undo()
    history.redo()
    assert history.current["label"].iloc[0] == "Z"
    # a new edit clears the redo stack
    history.apply(edits.rename_label, "B", "Y")
    assert not history.can_redo
    with pytest.raises(AnnotationError, match="nothing to redo"):
        history.redo()
    # a failing edit changes nothing
    before = history.current
    with pytest.raises(AnnotationError, match="a.wav#0000"):
        history.apply(edits.move, "a.wav#0000", 0.3, 0.1)
    assert history.current is before
    assert set(history.changes()["change"]) == {"relabelled"}
    history.mark_saved(2)
    assert history.base_version == 2 and not history.dirty


def test_edit_history_is_bounded(table):
    history = edits.EditHistory(table, max_depth=3)
    for label in "PQRST":
        history.apply(edits.relabel, ["a.wav#0000"], label)
    for _ in range(3):
        history.undo()
    assert not history.can_undo
    assert history.current["label"].iloc[0] == "Q"


# ------------------------------------------------------------------------------ CLI
def _run_cli(argv: list[str]) -> int:
    from canapy.cli import build_parser

    args = build_parser().parse_args(argv)
    return args.func(args)


def test_history_cli(corpus_dir, tmp_path, capsys):
    data = str(corpus_dir)
    assert _run_cli(["history", data, "init", "--author", "ana"]) == 0
    assert "version 1" in capsys.readouterr().out
    with pytest.raises(StoreError, match="already exists"):
        _run_cli(["history", data, "init"])
    store = AnnotationStore.for_data_dir(corpus_dir)
    table = store.load()
    store.save(edits.relabel(table, _first_ids(table), "Z"), "bob", "fix", 1)
    assert _run_cli(["history", data, "list"]) == 0
    out = capsys.readouterr().out
    assert "bob" in out and "fix" in out
    assert _run_cli(["history", data, "diff", "1", "2"]) == 0
    assert "1 relabelled" in capsys.readouterr().out
    assert _run_cli(["history", data, "restore", "1", "--author", "carl"]) == 0
    assert "version 3" in capsys.readouterr().out
    assert (
        _run_cli(["history", data, "export", "2", str(tmp_path / "x"), "--format", "aud-seq"]) == 0
    )
    assert len(list((tmp_path / "x").glob("*.audacity.txt"))) == 3
    with pytest.raises(StoreError, match="no version 9"):
        _run_cli(["history", data, "diff", "1", "9"])
    with pytest.raises(SystemExit, match="2"):
        _run_cli(["history", data, "diff", "1", "zero"])
