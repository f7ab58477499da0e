"""A trained model is a folder: ``model.joblib`` plus ``metadata.json``.

``metadata.json`` records what is needed to trust and reproduce the model: the caller's
metadata (config, vocabulary, data fingerprint, metrics, ...) plus the Canapy and library
versions, the creation time and the sha256 of ``model.joblib``.

Loading a joblib file runs arbitrary code, so :func:`load_model` checks, *before*
unpickling, the file's sha256 against ``metadata.json`` (corruption) and its HMAC signature
under the user's own key (:mod:`canapy.signing`): a file crafted elsewhere, even with a
matching sha256, is refused with :class:`canapy.exceptions.UntrustedModelError` until the
user trusts it (:func:`trust_model`, ``canapy models trust``).

Examples
--------
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp()) / "run1"
>>> _ = save_model({"w": [1, 2]}, folder, {"kind": "esn"})
>>> obj, meta = load_model(folder)
>>> obj, meta["kind"], meta["model_file"]
({'w': [1, 2]}, 'esn', 'model.joblib')
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import math
import os
import platform
import tempfile
from collections.abc import Mapping
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd

import canapy
from canapy.exceptions import ModelError, UntrustedModelError
from canapy.io_utils import atomic_write_json
from canapy.signing import key_id, load_or_create_key, sign_digest, verify_digest

__all__ = [
    "LIBRARIES",
    "METADATA_FILE",
    "MODEL_FILE",
    "library_versions",
    "list_models",
    "load_model",
    "read_metadata",
    "save_model",
    "trust_model",
    "verify_model",
]

logger = logging.getLogger(__name__)

MODEL_FILE = "model.joblib"
METADATA_FILE = "metadata.json"
LIBRARIES = (
    "numpy",
    "scipy",
    "scikit-learn",
    "reservoirpy",
    "librosa",
    "joblib",
    "pandas",
    "crowsetta",
)
"""Distributions whose versions are recorded in every model's metadata."""

_BASE_COLUMNS = ["path", "name", "kind", "created_at"]
_MAX_DEPTH = 3


def library_versions() -> dict[str, str]:
    """Versions of Python and of :data:`LIBRARIES` (``"not installed"`` when missing).

    Examples
    --------
    >>> versions = library_versions()
    >>> sorted(versions)[:3]
    ['crowsetta', 'joblib', 'librosa']
    >>> versions["python"].count(".")
    2
    """
    out = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            out[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _sha256(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _jsonable(obj: Any, where: str = "metadata") -> Any:
    """Copy of ``obj`` made of plain JSON types; numpy scalars/arrays and paths converted."""
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, np.ndarray):
        obj = obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, float) and not math.isfinite(obj):
        return None  # strict JSON has no nan/inf
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v, f"{where}[{k!r}]") for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        items = sorted(obj, key=str) if isinstance(obj, (set, frozenset)) else obj
        return [_jsonable(v, f"{where}[{i}]") for i, v in enumerate(items)]
    raise TypeError(
        f"{where} is a {type(obj).__name__}, which cannot be stored in metadata.json; "
        "convert it to a str, number, list or dict"
    )


def save_model(obj: Any, folder: str | Path, metadata: Mapping[str, Any]) -> Path:
    """Save ``obj`` as ``folder/model.joblib`` and write ``folder/metadata.json``.

    The model is dumped to a temporary file in ``folder``, hashed, then renamed onto
    ``model.joblib``; ``metadata.json`` is then written atomically. ``metadata`` is stored
    with these keys added (they override keys of the same name): ``canapy_version``,
    ``library_versions``, ``created_at`` (UTC, ISO 8601), ``model_file``, ``model_sha256``
    and ``model_signature`` (HMAC under the user's key, :mod:`canapy.signing`).

    Parameters
    ----------
    obj : object
        Anything joblib can pickle.
    folder : str or pathlib.Path
        Model folder, created if needed.
    metadata : mapping
        JSON-serialisable values (numpy scalars and arrays, paths, tuples and sets are
        converted; nan/inf become null).

    Returns
    -------
    pathlib.Path
        The model folder.

    Raises
    ------
    TypeError
        If a metadata value cannot be stored as JSON (checked before anything is written).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = save_model([1, 2, 3], pathlib.Path(tempfile.mkdtemp()) / "m", {"kind": "x"})
    >>> sorted(p.name for p in folder.iterdir())
    ['metadata.json', 'model.joblib']
    """
    folder = Path(folder)
    meta = _jsonable(dict(metadata))
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{MODEL_FILE}.", suffix=".tmp", dir=folder)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            joblib.dump(obj, fh)
            fh.flush()
            os.fsync(fh.fileno())
        sha = _sha256(tmp)
        os.replace(tmp, folder / MODEL_FILE)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    meta.update(
        canapy_version=canapy.__version__,
        library_versions=library_versions(),
        created_at=dt.datetime.now(dt.UTC).isoformat(),
        model_file=MODEL_FILE,
        model_sha256=sha,
        model_signature=sign_digest(sha),
    )
    atomic_write_json(folder / METADATA_FILE, meta)
    logger.info("saved model to %s (sha256 %s)", folder, sha[:12])
    return folder


def read_metadata(folder: str | Path) -> dict[str, Any]:
    """Read ``folder/metadata.json``.

    Raises
    ------
    ModelError
        If the folder or the file is missing, or the file is not a JSON object.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = save_model(0, pathlib.Path(tempfile.mkdtemp()) / "m", {"kind": "x"})
    >>> read_metadata(folder)["kind"]
    'x'
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ModelError(f"{folder}: model folder not found")
    path = folder / METADATA_FILE
    if not path.is_file():
        raise ModelError(f"{folder}: no {METADATA_FILE}; this folder does not hold a saved model")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: unreadable or corrupt JSON ({exc})") from exc
    if not isinstance(meta, dict):
        raise ModelError(f"{path}: expected a JSON object, found {type(meta).__name__}")
    return meta


def _major_minor(version: str) -> tuple[str, ...]:
    return tuple(str(version).split(".")[:2])


def verify_model(folder: str | Path) -> dict[str, Any]:
    """Check a model folder without unpickling anything; return its metadata.

    Checks that ``model.joblib`` exists, that its sha256 matches ``metadata.json`` and that
    its signature was made with this user's key.

    Raises
    ------
    ModelError
        Missing or corrupt files, or a sha256 mismatch.
    UntrustedModelError
        The file is unsigned or signed with another key; the message says how to trust it.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = save_model({"a": 1}, pathlib.Path(tempfile.mkdtemp()) / "m", {"kind": "x"})
    >>> verify_model(folder)["kind"]
    'x'
    """
    folder = Path(folder)
    meta = read_metadata(folder)
    model_path = folder / MODEL_FILE
    if not model_path.is_file():
        raise ModelError(f"{folder}: no {MODEL_FILE}; the model folder is incomplete")
    expected = meta.get("model_sha256")
    if not isinstance(expected, str) or not expected:
        raise ModelError(
            f"{folder / METADATA_FILE}: no model_sha256; refusing to load {MODEL_FILE} "
            "(joblib files execute code when loaded)"
        )
    sha = _sha256(model_path)
    if sha != expected.lower():
        raise ModelError(
            f"{model_path}: sha256 does not match {METADATA_FILE}; refusing to load "
            "(joblib files execute code when loaded)"
        )
    signature = meta.get("model_signature")
    key = load_or_create_key()
    if not verify_digest(sha, signature, key):
        if not isinstance(signature, Mapping):
            why = "is not signed: it was saved before Canapy signed its models, or made elsewhere"
        elif signature.get("key_id") != key_id(key):
            why = (
                f"is signed with another key ({signature.get('key_id')}, not yours: "
                f"{key_id(key)}): it was made by another user or on another machine"
            )
        else:
            why = "has a signature that does not match its content: it was modified"
        raise UntrustedModelError(
            f"{model_path} {why}. Loading a joblib file runs code, so Canapy refuses it. "
            f"If you made this model or trust where it comes from, run "
            f"`canapy models trust {folder}`; to share models safely, export them with "
            "`canapy models export RUN --portable FILE` and `canapy models import FILE`"
        )
    return meta


def trust_model(folder: str | Path) -> dict[str, Any]:
    """Sign a model folder's file with this user's key, after the user checked its origin.

    The file must still match the sha256 recorded in ``metadata.json`` (a corrupted file is
    never trusted). Nothing is unpickled.

    Returns
    -------
    dict
        The updated metadata.

    Examples
    --------
    >>> import tempfile, pathlib, json
    >>> folder = save_model([1], pathlib.Path(tempfile.mkdtemp()) / "m", {})
    >>> meta = json.loads((folder / "metadata.json").read_text())
    >>> del meta["model_signature"]
    >>> _ = (folder / "metadata.json").write_text(json.dumps(meta))
    >>> "model_signature" in trust_model(folder)
    True
    """
    folder = Path(folder)
    meta = read_metadata(folder)
    model_path = folder / MODEL_FILE
    if not model_path.is_file():
        raise ModelError(f"{folder}: no {MODEL_FILE}; nothing to trust")
    sha = _sha256(model_path)
    expected = meta.get("model_sha256")
    if isinstance(expected, str) and expected and expected.lower() != sha:
        raise ModelError(
            f"{model_path}: sha256 does not match {METADATA_FILE}: the file is corrupt or was "
            "replaced; it cannot be trusted"
        )
    meta.update(model_file=MODEL_FILE, model_sha256=sha, model_signature=sign_digest(sha))
    atomic_write_json(folder / METADATA_FILE, meta)
    logger.info("trusted %s", model_path)
    return meta


def load_model(folder: str | Path) -> tuple[Any, dict[str, Any]]:
    """Load a model saved by :func:`save_model`, after checking its sha256 and signature.

    Parameters
    ----------
    folder : str or pathlib.Path
        Model folder.

    Returns
    -------
    model : object
    metadata : dict

    Raises
    ------
    ModelError
        If the folder, ``metadata.json`` or ``model.joblib`` is missing, the metadata is
        corrupt or has no ``model_sha256``, or the model file's sha256 does not match.
    UntrustedModelError
        If the file is not signed with this user's key (checked before unpickling).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = save_model({"a": 1}, pathlib.Path(tempfile.mkdtemp()) / "m", {})
    >>> load_model(folder)[0]
    {'a': 1}
    """
    folder = Path(folder)
    meta = verify_model(folder)  # before unpickling: joblib.load can execute arbitrary code
    model_path = folder / MODEL_FILE
    saved_version = str(meta.get("canapy_version", "unknown"))
    if _major_minor(saved_version) != _major_minor(canapy.__version__):
        logger.warning(
            "%s was saved by canapy %s; this is canapy %s: it may not load or behave the same",
            folder,
            saved_version,
            canapy.__version__,
        )
    try:
        obj = joblib.load(model_path)
    except Exception as exc:
        raise ModelError(f"{model_path}: cannot be loaded ({type(exc).__name__}: {exc})") from exc
    return obj, meta


def _flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in d.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, f"{name}."))
        elif value is None or isinstance(value, (bool, int, float, str)):
            out[name] = value
    return out


def _model_folders(root: Path) -> list[Path]:
    found = []
    level = [root]
    for depth in range(_MAX_DEPTH + 1):
        nxt = []
        for folder in level:
            if (folder / METADATA_FILE).is_file():
                found.append(folder)
            if depth < _MAX_DEPTH:
                with contextlib.suppress(OSError):
                    nxt.extend(
                        p
                        for p in sorted(folder.iterdir())
                        if p.is_dir() and not p.name.startswith(".")
                    )
        level = nxt
    return found


def list_models(root: str | Path) -> pd.DataFrame:
    """Table of the model folders under ``root`` (``root`` itself and 3 levels below).

    Parameters
    ----------
    root : str or pathlib.Path
        Folder to scan; a missing folder gives an empty table.

    Returns
    -------
    pandas.DataFrame
        One row per model, newest first; columns ``path``, ``name`` (folder name), ``kind``,
        ``created_at``, then the scalar entries of ``metadata["metrics"]`` (nested keys
        joined by ``"."``, e.g. ``frame_accuracy``, ``syllable_error_rate``,
        ``onset_f1``). Folders whose ``metadata.json`` is corrupt are skipped with a
        warning.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = save_model(0, root / "a", {"kind": "esn", "metrics": {"frame_accuracy": 0.9}})
    >>> list_models(root)[["name", "kind", "frame_accuracy"]]
      name kind  frame_accuracy
    0    a  esn             0.9
    """
    root = Path(root)
    rows = []
    for folder in _model_folders(root) if root.is_dir() else []:
        try:
            meta = read_metadata(folder)
        except ModelError as exc:
            logger.warning("skipping %s: %s", folder, exc)
            continue
        row: dict[str, Any] = {
            "path": str(folder),
            "name": folder.name,
            "kind": meta.get("kind"),
            "created_at": meta.get("created_at"),
        }
        metrics = meta.get("metrics")
        if isinstance(metrics, Mapping):
            for key, value in _flatten(metrics).items():
                row[f"metrics.{key}" if key in _BASE_COLUMNS else key] = value
        rows.append(row)
    if not rows:
        return pd.DataFrame(columns=_BASE_COLUMNS)
    table = pd.DataFrame(rows)
    when = pd.to_datetime(table["created_at"], utc=True, errors="coerce", format="ISO8601")
    order = when.sort_values(ascending=False, na_position="last", kind="stable").index
    return table.loc[order].reset_index(drop=True)
