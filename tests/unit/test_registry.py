"""The model registry: immutable versions, promotion, lineage, portable exchange."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from canapy import edits
from canapy.config import config_from_dict
from canapy.corpus import load_corpus
from canapy.exceptions import ModelError, RegistryError, UntrustedModelError
from canapy.model_ops import (
    compare_models,
    export_portable,
    import_portable,
    load_source,
    register_run,
    resolve_source,
    trust_run,
)
from canapy.registry import Registry, parse_ref
from canapy.signing import KEY_ENV
from canapy.store import AnnotationStore
from canapy.workflow import train


def test_versions_are_numbered_and_immutable(small_run, tmp_path):
    reg = Registry(tmp_path / "reg")
    assert register_run(small_run["run"], "bird/syn", kind="syntactic", registry=reg) == (
        "bird/syn",
        1,
    )
    assert register_run(small_run["run"], "bird/syn", kind="syntactic", registry=reg)[1] == 2
    with pytest.raises(RegistryError, match="already registered.*immutable"):
        reg.register(small_run["run"] / "syntactic", "bird/syn", version=1)
    card = reg.card("bird/syn@1")
    assert card["kind"] == "syntactic" and card["ref"] == "bird/syn@1"
    assert card["metrics"]["frame_accuracy"] > 0.8  # held-out metrics of the run
    assert card["config"]["reservoir"]["units"] == 60
    assert {"numpy", "reservoirpy", "scikit-learn"} <= set(card["library_versions"])
    assert not list((tmp_path / "reg" / "models" / "bird" / "syn").glob(".tmp-*"))


def test_promote_resolve_and_remove(small_run, tmp_path):
    reg = Registry(tmp_path / "reg")
    for _ in range(3):
        register_run(small_run["run"], "b42/ens", registry=reg)
    assert reg.resolve("b42/ens") == ("b42/ens", 3)  # latest while none is promoted
    reg.promote("b42/ens@2")
    assert reg.resolve("b42/ens") == ("b42/ens", 2)
    assert reg.card("b42/ens@2")["promoted"] and not reg.card("b42/ens@3")["promoted"]
    with pytest.raises(RegistryError, match="promoted version"):
        reg.remove("b42/ens@2")
    assert reg.remove("b42/ens@3") == ["b42/ens@3"]
    assert reg.versions("b42/ens") == [1, 2]
    assert register_run(small_run["run"], "b42/ens", registry=reg)[1] == 4  # 3 never reused
    with pytest.raises(RegistryError, match="already registered"):
        reg.register(small_run["run"] / "syntactic", "b42/ens", version=3)
    table = reg.table()
    assert table["ref"].tolist() == ["b42/ens@1", "b42/ens@2", "b42/ens@4"]
    assert table["promoted"].tolist() == [False, True, False]


def test_names_are_checked(small_run, tmp_path):
    reg = Registry(tmp_path / "reg")
    for bad in ("../x", "a/b/c/d", "bird/3", "", "a b"):
        with pytest.raises(RegistryError, match="invalid model name"):
            reg.register(small_run["run"] / "syntactic", bad)
    reg.register(small_run["run"] / "syntactic", "bird42/ens")
    with pytest.raises(RegistryError, match="nests with"):
        reg.register(small_run["run"] / "syntactic", "bird42")
    with pytest.raises(RegistryError, match="no model named"):
        reg.card("bird43")
    assert parse_ref("bird42/ens@7") == ("bird42/ens", 7)


def test_untrusted_model_cannot_be_registered(small_run, tmp_path, monkeypatch):
    run = tmp_path / "run"
    shutil.copytree(small_run["run"], run)
    monkeypatch.setenv(KEY_ENV, str(tmp_path / "someone-else.key"))
    with pytest.raises(UntrustedModelError, match="canapy models trust"):
        register_run(run, "x", registry=Registry(tmp_path / "reg"))
    assert trust_run(run) == [run / "syntactic", run / "logreg"]
    assert register_run(run, "x", registry=Registry(tmp_path / "reg")) == ("x", 1)


def test_lineage_names_the_store_version_trained_from(small_run, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(small_run["data"], data)
    store = AnnotationStore.for_data_dir(data)
    store.init_from(load_corpus(data), author="ana")
    table = store.load()
    store.save(
        edits.relabel(table, [table["segment_id"].iloc[0]], "Z"), "ana", "fix", base_version=1
    )
    cfg = config_from_dict(
        {
            "reservoir": {"units": 30},
            "training": {
                "models": ["syntactic"],
                "default_model": "syntactic",
                "validation_fraction": 0.0,
            },
        }
    )
    run = train(store.as_corpus(2), cfg, tmp_path / "run", cache_dir=small_run["cache"]).run_dir
    reg = Registry(tmp_path / "reg")
    name, version = register_run(run, "lin/syn", registry=reg)
    lineage = reg.card(name, version)["lineage"]
    assert lineage["store_version"] == 2
    assert lineage["annotation_store"] == str(store.root)
    assert lineage["data_fingerprint"] == json.loads((run / "run.json").read_text())["fingerprint"]
    # the session run was trained from the original files: no store version holds them
    other = register_run(small_run["run"], "orig/syn", registry=reg)
    assert reg.card(*other)["lineage"]["store_version"] is None


def test_portable_round_trip_through_the_registry(small_run, tmp_path):
    reg = Registry(tmp_path / "reg")
    register_run(small_run["run"], "b/logreg", kind="logreg", registry=reg, message="first")
    path = export_portable("b/logreg@1", tmp_path / "b.canapy.npz", reg)
    other = Registry(tmp_path / "colleague")
    imported = import_portable(path, registry=other)
    assert imported.ref == "b/logreg@1"
    card = other.card("b/logreg@1")
    assert card["kind"] == "logreg" and card["lineage"]["imported_from"] == str(path)
    folder = import_portable(path, output=tmp_path / "model").folder
    original, _ = load_source("b/logreg", reg)
    feats = [
        original.extractor(small_run["cache"])(p)
        for p in sorted(small_run["data"].glob("*.wav"))[:2]
    ]
    expected = original.frame_proba(feats)
    for source, registry in ((folder, None), ("b/logreg@1", other)):
        ann, _ = load_source(source, registry)
        assert all(
            np.array_equal(a, b) for a, b in zip(expected, ann.frame_proba(feats), strict=True)
        )


def test_resolve_source_errors(small_run, tmp_path):
    assert resolve_source(small_run["run"]).folder == small_run["run"] / "syntactic"
    assert resolve_source(small_run["run"], kind="logreg").label.endswith("/logreg")
    with pytest.raises(ModelError, match="no 'ensemble' model"):
        resolve_source(small_run["run"], kind="ensemble")
    with pytest.raises(RegistryError, match="no such run folder"):
        resolve_source("nobody@1", Registry(tmp_path / "reg"))


def test_compare_scores_models_on_the_same_files(small_run, tmp_path):
    reg = Registry(tmp_path / "reg")
    register_run(small_run["run"], "c/syn", kind="syntactic", registry=reg)
    register_run(small_run["run"], "c/lr", kind="logreg", registry=reg)
    corpus = load_corpus(small_run["data"])
    comparison = compare_models(["c/syn@1", "c/lr@1"], corpus, reg, small_run["cache"])
    summary = comparison.summary_table()
    assert list(summary.index) == ["c/syn@1", "c/lr@1"]
    assert (summary["frame_accuracy"] > 0.8).all()
    f1 = comparison.f1_table()
    assert list(f1.columns) == ["c/syn@1", "c/lr@1"] and set(corpus.labels) <= set(f1.index)
    doc = json.loads(json.dumps(comparison.to_dict()))
    assert set(doc["summary"]) == {"c/syn@1", "c/lr@1"} and len(doc["files"]) == 6
