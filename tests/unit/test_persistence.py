"""Behaviour of canapy.persistence: model folders, integrity check, listing."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from pathlib import Path

import joblib
import numpy as np
import pytest

import canapy
from canapy.exceptions import ModelError
from canapy.persistence import list_models, load_model, read_metadata, save_model


class Marker:
    """A picklable object whose unpickling is observable."""

    loaded = 0

    def __init__(self, value: int) -> None:
        self.value = value

    def __setstate__(self, state: dict) -> None:
        Marker.loaded += 1
        self.__dict__.update(state)


def _set_meta(folder: Path, **changes) -> None:
    path = folder / "metadata.json"
    meta = json.loads(path.read_text())
    meta.update(changes)
    path.write_text(json.dumps(meta))


def test_round_trip_keeps_object_and_metadata(tmp_path):
    model = {"weights": np.arange(6.0).reshape(2, 3), "classes": ["SIL", "a"]}
    folder = save_model(model, tmp_path / "run", {"kind": "esn", "config": {"units": 300}})
    assert folder == tmp_path / "run"
    assert sorted(p.name for p in folder.iterdir()) == ["metadata.json", "model.joblib"]
    obj, meta = load_model(folder)
    np.testing.assert_array_equal(obj["weights"], model["weights"])
    assert obj["classes"] == ["SIL", "a"]
    assert meta["kind"] == "esn"
    assert meta["config"] == {"units": 300}


def test_metadata_content(tmp_path):
    before = dt.datetime.now(dt.UTC)
    folder = save_model([1, 2], tmp_path / "m", {"kind": "esn"})
    after = dt.datetime.now(dt.UTC)
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["canapy_version"] == canapy.__version__
    assert meta["model_file"] == "model.joblib"
    digest = hashlib.sha256((folder / "model.joblib").read_bytes()).hexdigest()
    assert meta["model_sha256"] == digest
    created = dt.datetime.fromisoformat(meta["created_at"])
    assert created.utcoffset() == dt.timedelta(0)
    assert before <= created <= after
    versions = meta["library_versions"]
    expected = {
        "python",
        "numpy",
        "scipy",
        "scikit-learn",
        "reservoirpy",
        "librosa",
        "joblib",
        "pandas",
        "crowsetta",
    }
    assert set(versions) == expected
    assert versions["numpy"] == np.__version__
    assert versions["joblib"] == joblib.__version__
    assert all(isinstance(v, str) and v for v in versions.values())
    assert read_metadata(folder) == meta


def test_metadata_numpy_values_become_json(tmp_path):
    folder = save_model(
        0,
        tmp_path / "m",
        {
            "metrics": {"frame_accuracy": np.float32(0.5), "n": np.int64(3), "bad": float("nan")},
            "shape": (2, 3),
            "vocab": np.array(["a", "b"]),
            "path": tmp_path / "x.wav",
        },
    )
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["metrics"] == {"frame_accuracy": 0.5, "n": 3, "bad": None}
    assert meta["shape"] == [2, 3]
    assert meta["vocab"] == ["a", "b"]
    assert meta["path"] == str(tmp_path / "x.wav")


def test_unserialisable_metadata_is_rejected_before_writing(tmp_path):
    with pytest.raises(TypeError, match="object"):
        save_model(0, tmp_path / "m", {"thing": object()})
    assert not (tmp_path / "m").exists()


def test_saved_keys_override_caller_keys(tmp_path):
    folder = save_model(0, tmp_path / "m", {"model_sha256": "0" * 64, "canapy_version": "9.9"})
    _, meta = load_model(folder)
    assert meta["canapy_version"] == canapy.__version__


def test_save_overwrites_and_leaves_no_temp_files(tmp_path):
    folder = save_model({"v": 1}, tmp_path / "m", {})
    save_model({"v": 2}, folder, {})
    assert sorted(p.name for p in folder.iterdir()) == ["metadata.json", "model.joblib"]
    assert load_model(folder)[0] == {"v": 2}


def test_tampered_model_file_is_refused_before_unpickling(tmp_path):
    folder = save_model(Marker(1), tmp_path / "m", {})
    joblib.dump(Marker(2), folder / "model.joblib")  # swapped file, same format
    Marker.loaded = 0
    with pytest.raises(ModelError, match="sha256 does not match metadata.json") as info:
        load_model(folder)
    message = str(info.value)
    assert str(folder / "model.joblib") in message
    assert "sha256 does not match metadata.json" in message
    assert "refusing to load" in message
    assert Marker.loaded == 0  # nothing was unpickled


def test_untampered_model_is_unpickled(tmp_path):
    folder = save_model(Marker(7), tmp_path / "m", {})
    Marker.loaded = 0
    obj, _ = load_model(folder)
    assert obj.value == 7
    assert Marker.loaded == 1


def test_missing_sha_is_refused(tmp_path):
    folder = save_model(0, tmp_path / "m", {})
    meta = json.loads((folder / "metadata.json").read_text())
    del meta["model_sha256"]
    (folder / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="model_sha256"):
        load_model(folder)


def test_missing_folder_and_files_raise_model_error(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        load_model(tmp_path / "nowhere")
    folder = save_model(0, tmp_path / "m", {})
    (folder / "model.joblib").unlink()
    with pytest.raises(ModelError, match=r"model\.joblib"):
        load_model(folder)
    (folder / "metadata.json").unlink()
    with pytest.raises(ModelError, match=r"metadata\.json"):
        read_metadata(folder)


def test_corrupt_metadata_raises_model_error_naming_the_file(tmp_path):
    folder = save_model(0, tmp_path / "m", {})
    (folder / "metadata.json").write_text("{not json")
    with pytest.raises(ModelError, match="corrupt") as info:
        read_metadata(folder)
    assert str(folder) in str(info.value)
    (folder / "metadata.json").write_text("[1, 2]")
    with pytest.raises(ModelError, match="JSON object"):
        load_model(folder)


def test_version_mismatch_warns_but_loads(tmp_path, caplog):
    folder = save_model(5, tmp_path / "m", {})
    _set_meta(folder, canapy_version="0.0.1")
    with caplog.at_level(logging.WARNING, logger="canapy.persistence"):
        obj, _ = load_model(folder)
    assert obj == 5
    assert any("0.0.1" in r.getMessage() for r in caplog.records)
    caplog.clear()
    _set_meta(folder, canapy_version=canapy.__version__)
    with caplog.at_level(logging.WARNING, logger="canapy.persistence"):
        load_model(folder)
    assert not caplog.records


def test_list_models_newest_first_with_flat_metrics(tmp_path):
    old = save_model(
        0, tmp_path / "a_old", {"kind": "esn", "metrics": {"frame_accuracy": 0.8, "onset_f1": 0.5}}
    )
    new = save_model(
        0,
        tmp_path / "proj" / "runs" / "b_new",
        {"kind": "esn", "metrics": {"frame_accuracy": 0.9, "syllable_error_rate": 0.1}},
    )
    mid = save_model(0, tmp_path / "c_mid", {"kind": "other"})
    _set_meta(old, created_at="2024-01-01T00:00:00+00:00")
    _set_meta(mid, created_at="2024-06-01T00:00:00+00:00")
    _set_meta(new, created_at="2025-01-01T12:00:00.123456+00:00")
    table = list_models(tmp_path)
    assert table["name"].tolist() == ["b_new", "c_mid", "a_old"]
    assert table["path"].tolist() == [str(new), str(mid), str(old)]
    assert table["kind"].tolist() == ["esn", "other", "esn"]
    assert list(table.columns[:4]) == ["path", "name", "kind", "created_at"]
    assert {"frame_accuracy", "onset_f1", "syllable_error_rate"} <= set(table.columns)
    assert table.loc[0, "frame_accuracy"] == 0.9
    assert table.loc[2, "onset_f1"] == 0.5
    assert np.isnan(table.loc[1, "frame_accuracy"])


def test_list_models_depth_limit(tmp_path):
    save_model(0, tmp_path / "1" / "2" / "3", {})
    save_model(0, tmp_path / "1" / "2" / "3" / "4", {})
    assert list_models(tmp_path)["name"].tolist() == ["3"]


def test_list_models_skips_corrupt_metadata_with_warning(tmp_path, caplog):
    save_model(0, tmp_path / "good", {"kind": "esn"})
    bad = save_model(0, tmp_path / "bad", {"kind": "esn"})
    (bad / "metadata.json").write_text("{truncated")
    with caplog.at_level(logging.WARNING, logger="canapy.persistence"):
        table = list_models(tmp_path)
    assert table["name"].tolist() == ["good"]
    assert any("bad" in r.getMessage() for r in caplog.records)


def test_list_models_empty_or_missing_root(tmp_path):
    for root in (tmp_path, tmp_path / "missing"):
        table = list_models(root)
        assert table.empty
        assert list(table.columns) == ["path", "name", "kind", "created_at"]
