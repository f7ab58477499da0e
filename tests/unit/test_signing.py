"""Signed model files: crafted or foreign files are refused before anything is unpickled."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import zipfile

import joblib
import numpy as np
import pytest

from canapy.annotator import Annotator
from canapy.config import LogregConfig, ReadoutConfig, ReservoirConfig, config_from_dict
from canapy.context_model import ContextClassifier
from canapy.exceptions import ModelError, UntrustedModelError
from canapy.models import EnsembleClassifier, EsnClassifier
from canapy.persistence import load_model, save_model, trust_model, verify_model
from canapy.portable import read_portable, write_portable
from canapy.signing import KEY_ENV, load_or_create_key, signing_key_path


class _CreatesFile:
    """Unpickling this object creates a file: proof that code ran."""

    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def _craft(folder, marker):
    """Replace the model file with a malicious pickle and update its sha256 everywhere."""
    joblib.dump(_CreatesFile(str(marker)), folder / "model.joblib")
    sha = hashlib.sha256((folder / "model.joblib").read_bytes()).hexdigest()
    meta = json.loads((folder / "metadata.json").read_text())
    meta["model_sha256"] = sha
    (folder / "metadata.json").write_text(json.dumps(meta))


def test_tests_never_use_the_real_key():
    assert os.environ[KEY_ENV] and str(signing_key_path()) == os.environ[KEY_ENV]


def test_key_created_once_private(tmp_path):
    path = tmp_path / "conf" / "signing.key"
    key = load_or_create_key(path)
    assert len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key(path) == key
    assert [p.name for p in path.parent.iterdir()] == ["signing.key"]  # no temporary left


def test_crafted_model_with_matching_hash_is_refused_before_unpickling(tmp_path):
    folder = save_model({"w": 1}, tmp_path / "run" / "ensemble", {"kind": "ensemble"})
    marker = tmp_path / "pwned"
    _craft(folder, marker)
    with pytest.raises(UntrustedModelError, match="canapy models trust"):
        load_model(folder)
    assert not marker.exists()


def test_model_signed_with_another_key_is_refused(tmp_path, monkeypatch):
    folder = save_model([1, 2], tmp_path / "m", {})
    monkeypatch.setenv(KEY_ENV, str(tmp_path / "other-user.key"))
    with pytest.raises(UntrustedModelError, match="another key"):
        load_model(folder)
    trust_model(folder)  # after checking its origin
    assert load_model(folder)[0] == [1, 2]


def test_unsigned_legacy_model_gets_the_trust_path(tmp_path):
    folder = save_model([3], tmp_path / "old", {})
    meta = json.loads((folder / "metadata.json").read_text())
    del meta["model_signature"]
    (folder / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(UntrustedModelError, match="not signed.*canapy models trust"):
        verify_model(folder)
    trust_model(folder)
    assert load_model(folder)[0] == [3]


def test_corrupt_file_cannot_be_trusted(tmp_path):
    folder = save_model([3], tmp_path / "m", {})
    (folder / "model.joblib").write_bytes(b"garbage")
    with pytest.raises(ModelError, match="cannot be trusted"):
        trust_model(folder)


def _small_annotators():
    rng = np.random.default_rng(0)
    X = [rng.normal(size=(120, 6)).astype(np.float32) for _ in range(4)]
    y = [(x[:, 0] > 0.3).astype(int) + (x[:, 1] > 1).astype(int) for x in X]
    classes = ["SIL", "a", "b"]
    cfg = config_from_dict({"reservoir": {"units": 30}})
    esn = EsnClassifier(ReservoirConfig(units=30), ReadoutConfig()).fit(X, y, classes)
    esn2 = EsnClassifier(ReservoirConfig(units=20, seed=3), ReadoutConfig()).fit(X, y, classes)
    ctx = ContextClassifier(LogregConfig(context_frames=2, frames_per_class=60)).fit(X, y, classes)
    anns = {
        "syntactic": Annotator("syntactic", cfg, 16000, esn),
        "ensemble": Annotator("ensemble", cfg, 16000, EnsembleClassifier([esn, esn2])),
        "logreg": Annotator("logreg", cfg, 16000, ctx),
    }
    return anns, X


@pytest.mark.parametrize("kind", ["syntactic", "ensemble", "logreg"])
def test_round_trips_give_bit_identical_predictions(tmp_path, kind):
    anns, X = _small_annotators()
    ann = anns[kind]
    expected = ann.frame_proba(X)
    loaded, _ = load_model(save_model(ann, tmp_path / "m", {"kind": kind}))
    obj, meta = read_portable(write_portable(ann, tmp_path / "m.canapy.npz", {"kind": kind}))
    assert meta == {"kind": kind}
    assert type(obj.estimator) is type(ann.estimator)
    assert obj.config == ann.config and obj.classes == ann.classes
    for got in (loaded.frame_proba(X), obj.frame_proba(X)):
        assert all(np.array_equal(a, b) for a, b in zip(expected, got, strict=True))


def test_portable_file_holds_no_pickle(tmp_path):
    anns, _ = _small_annotators()
    path = write_portable(anns["ensemble"], tmp_path / "m.canapy.npz", {"kind": "ensemble"})
    with zipfile.ZipFile(path) as zf:
        assert all(name.endswith(".npy") for name in zf.namelist())
    with np.load(path, allow_pickle=False) as npz:  # would raise on any object array
        assert all(npz[name].dtype != object for name in npz.files)


def test_portable_file_with_changed_array_is_refused(tmp_path):
    anns, _ = _small_annotators()
    path = write_portable(anns["syntactic"], tmp_path / "m.canapy.npz", {})
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["a0"] = arrays["a0"] + 1
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ModelError, match="a0 does not match its sha256"):
        read_portable(tmp_path / "bad.npz")


def test_portable_file_cannot_name_a_foreign_class(tmp_path):
    path = write_portable({"x": 1}, tmp_path / "m.canapy.npz", {})
    with np.load(path, allow_pickle=False) as npz:
        manifest = json.loads(npz["__manifest__"].tobytes())
    manifest["state"] = {"__object__": "os:system", "hook": False, "state": {"__dict__": {}}}
    blob = np.frombuffer(json.dumps(manifest).encode(), dtype=np.uint8)
    np.savez(tmp_path / "evil.npz", __manifest__=blob)
    with pytest.raises(ModelError, match="outside canapy and scikit-learn"):
        read_portable(tmp_path / "evil.npz")


def test_portable_newer_schema_is_refused(tmp_path):
    path = write_portable([1], tmp_path / "m.canapy.npz", {})
    with np.load(path, allow_pickle=False) as npz:
        manifest = json.loads(npz["__manifest__"].tobytes())
    manifest["schema"] = 99
    blob = np.frombuffer(json.dumps(manifest).encode(), dtype=np.uint8)
    np.savez(tmp_path / "new.npz", __manifest__=blob)
    with pytest.raises(ModelError, match="schema 99"):
        read_portable(tmp_path / "new.npz")


def test_pickle_in_portable_file_is_refused(tmp_path):
    payload = np.array([_CreatesFile(str(tmp_path / "pwned"))], dtype=object)
    spec = {"dtype": "|O", "shape": [1], "sha256": "0"}
    manifest = {"format": "canapy-portable", "schema": 1, "metadata": {}, "state": None}
    manifest["arrays"] = {"evil": spec}
    blob = np.frombuffer(json.dumps(manifest).encode(), dtype=np.uint8)
    np.savez(tmp_path / "p.npz", __manifest__=blob, evil=payload)
    with pytest.raises(ModelError, match="Object arrays cannot be loaded"):
        read_portable(tmp_path / "p.npz")
    assert not (tmp_path / "pwned").exists()
