"""The correction loop on the command line: accept marked suggestions, train on a version.

``canapy review --apply SUSPECTS.csv`` and ``canapy train --from-version N``, both through
the annotation store (the original annotation files are never modified).
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from canapy.accept import accept_marked, read_suspects
from canapy.cli import main
from canapy.corpus import load_corpus
from canapy.exceptions import AnnotationError, CanapyError
from canapy.store import AnnotationStore
from canapy.synthetic import make_example_corpus


@pytest.fixture
def corpus_dir(tmp_path):
    return make_example_corpus(tmp_path / "data", n_files=6, n_unlabelled=0)


def _suspects(corpus_dir, tmp_path, marks: dict[str, str], suggest: str = "Z"):
    """A suspects CSV as `canapy review` writes it, every F suggested as ``suggest``."""
    seg = load_corpus(corpus_dir).segments
    f = seg[seg["label"] == "F"]
    table = pd.DataFrame(
        {
            "wave": [p.rsplit("/", 1)[-1] for p in f["audio_path"]],
            "start": f["onset_s"],
            "end": f["offset_s"],
            "syll": f["label"],
            "suggested": suggest,
            "score": 0.9,
            "segment_id": f["segment_id"],
            "audio_path": f["audio_path"],
            "accept": [marks.get(sid, "") for sid in f["segment_id"]],
        }
    )
    path = tmp_path / "suspects.csv"
    table.to_csv(path, index=False)
    return path, list(f["segment_id"])


def test_review_apply_accepts_only_the_marked_rows(corpus_dir, tmp_path, capsys):
    originals = {p: p.read_text() for p in corpus_dir.glob("*.csv")}
    _, ids = _suspects(corpus_dir, tmp_path, {})
    marked = ids[:2]
    path, _ = _suspects(corpus_dir, tmp_path, {marked[0]: "x", marked[1]: "1"})
    assert main(["review", str(corpus_dir), "--apply", str(path), "--author", "me"]) == 0
    assert "accepted 2 suggestion(s) on version 1: version 2" in capsys.readouterr().out
    store = AnnotationStore.for_data_dir(corpus_dir)
    table = store.load(2).set_index("segment_id")
    assert table.loc[marked, "label"].tolist() == ["Z", "Z"]
    assert (table.loc[ids[2:], "label"] == "F").all()  # not marked: unchanged
    assert store.versions()["author"].iloc[-1] == "me"
    assert {p: p.read_text() for p in corpus_dir.glob("*.csv")} == originals


def test_review_apply_refuses_a_marked_row_that_cannot_take_its_suggestion(
    corpus_dir, tmp_path, capsys
):
    _, ids = _suspects(corpus_dir, tmp_path, {})
    path, _ = _suspects(corpus_dir, tmp_path, {ids[0]: "yes"}, suggest="F")  # = its label
    assert main(["review", str(corpus_dir), "--apply", str(path)]) != 0
    err = capsys.readouterr().err
    assert ids[0] in err and "nothing to accept" in err
    store = AnnotationStore.for_data_dir(corpus_dir)
    assert store.head == 1  # created from the originals, nothing else saved


def test_accept_marked_needs_a_mark_and_an_accept_column(corpus_dir, tmp_path):
    path, _ = _suspects(corpus_dir, tmp_path, {})
    store = AnnotationStore.for_data_dir(corpus_dir)
    with pytest.raises(CanapyError, match="no row is marked"):
        accept_marked(store, read_suspects(path), corpus=load_corpus(corpus_dir))
    pd.read_csv(path).drop(columns="accept").to_csv(path, index=False)
    with pytest.raises(CanapyError, match="no 'accept' column"):
        read_suspects(path)


def test_accept_marked_refuses_a_segment_relabelled_since_the_review(corpus_dir, tmp_path):
    _, ids = _suspects(corpus_dir, tmp_path, {})
    path, _ = _suspects(corpus_dir, tmp_path, {ids[0]: "x"})
    store = AnnotationStore.for_data_dir(corpus_dir)
    store.init_from(load_corpus(corpus_dir))
    from canapy.edits import relabel

    store.save(relabel(store.load(1), [ids[0]], "B"), "me", "by hand", base_version=1)
    with pytest.raises(AnnotationError, match="relabelled 'B' since the review"):
        accept_marked(store, read_suspects(path))
    assert store.head == 2


def test_train_from_version_trains_on_the_stored_labels(corpus_dir, tmp_path, capsys):
    _, ids = _suspects(corpus_dir, tmp_path, {})
    path, _ = _suspects(corpus_dir, tmp_path, dict.fromkeys(ids, "x"))  # every F becomes Z
    assert main(["review", str(corpus_dir), "--apply", str(path)]) == 0
    config = tmp_path / "small.toml"
    config.write_text("[reservoir]\nunits = 100\n")
    run = tmp_path / "run"
    args = ["train", str(corpus_dir), "--from-version", "2", "--output", str(run)]
    args += ["--config", str(config), "--quiet", "--cache-dir", str(tmp_path / "cache")]
    assert main(args) == 0
    assert "version 2 of" in capsys.readouterr().out
    meta = json.loads((run / "syntactic" / "metadata.json").read_text())
    assert "Z" in meta["vocabulary"] and "F" not in meta["vocabulary"]


def test_train_from_a_missing_version_says_so(corpus_dir, tmp_path, capsys):
    args = ["train", str(corpus_dir), "--from-version", "3", "--output", str(tmp_path / "r")]
    assert main(args) != 0
    assert "store" in capsys.readouterr().err.lower()
