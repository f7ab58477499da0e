"""Pickle-free portable model files: numpy arrays + JSON in one ``.npz``.

A portable file is how a model travels between people: it holds no pickle, so reading it
cannot run code. It is a zip written by :func:`numpy.savez` in which every member is a
plain ``.npy`` array (loadable with ``allow_pickle=False``); the member ``__manifest__``
holds UTF-8 JSON bytes::

    {"format": "canapy-portable", "schema": 1,
     "metadata": {...},                  # the model's metadata.json (config, metrics, ...)
     "state": {...},                     # the object tree, arrays referred to by name
     "arrays": {"a0": {"dtype": "<f4", "shape": [600, 13], "sha256": "..."}, ...}}

The object tree is written by walking the model's attributes: numbers, strings, lists,
dicts, numpy arrays and scalars, scipy sparse arrays, and objects of classes defined in
``canapy`` or ``scikit-learn``. On import the schema, every array's dtype, shape and sha256
are checked, and objects are rebuilt *without calling any code of the file's choosing*: a
class is only looked up by name inside those two packages, created with
``object.__new__`` and given its attributes back. A class can instead provide
``portable_state(self) -> dict`` and a classmethod ``from_portable_state(state)`` (e.g. a
PyTorch model exporting its ``state_dict`` as numpy arrays; see ``docs/models.md``).

We do not use skops.io, which does the same for scikit-learn objects, because every Canapy
type would still have to be registered with it and the issue asks for a file that numpy
alone can read.

Examples
--------
>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "m.canapy.npz"
>>> _ = write_portable({"w": np.arange(3.0), "name": "x"}, path, {"kind": "demo"})
>>> obj, meta = read_portable(path)
>>> obj["w"].tolist(), obj["name"], meta["kind"]
([0.0, 1.0, 2.0], 'x', 'demo')
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse

from canapy.exceptions import ModelError
from canapy.io_utils import atomic_open

__all__ = ["PORTABLE_SCHEMA", "PORTABLE_SUFFIX", "read_portable", "write_portable"]

PORTABLE_SCHEMA = 1
"""Version of the portable layout; files of a newer schema are refused."""
PORTABLE_SUFFIX = ".canapy.npz"
_FORMAT = "canapy-portable"
_MANIFEST = "__manifest__"
_ALLOWED_PACKAGES = ("canapy", "sklearn")
_SPARSE = {"csr_array": scipy.sparse.csr_array, "csr_matrix": scipy.sparse.csr_matrix}


class _Encoder:
    """Walks an object tree into JSON, collecting its arrays."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def array(self, value: np.ndarray, where: str) -> dict[str, str]:
        if value.dtype.hasobject:
            if all(isinstance(v, str) for v in value.ravel()):
                return {"__strarray__": value.tolist(), "shape": list(value.shape)}
            raise TypeError(f"{where}: object array cannot be exported without pickle")
        name = f"a{len(self.arrays)}"
        self.arrays[name] = np.ascontiguousarray(value)
        return {"__array__": name}

    def encode(self, value: Any, where: str = "model") -> Any:
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, int) and not isinstance(value, np.integer):
            return value
        if isinstance(value, float) and not isinstance(value, np.floating):
            return value if math.isfinite(value) else {"__float__": repr(value)}
        if isinstance(value, np.generic):
            return {"__scalar__": self.array(np.asarray(value), where)["__array__"]}
        if isinstance(value, np.ndarray):
            return self.array(value, where)
        if scipy.sparse.issparse(value) and type(value).__name__ in _SPARSE:
            csr = value.tocsr() if hasattr(value, "tocsr") else value
            return {
                "__sparse__": type(value).__name__,
                "shape": list(csr.shape),
                "data": self.encode(csr.data, where),
                "indices": self.encode(csr.indices, where),
                "indptr": self.encode(csr.indptr, where),
            }
        if isinstance(value, (list, tuple)):
            key = "__tuple__" if isinstance(value, tuple) else "__list__"
            return {key: [self.encode(v, f"{where}[{i}]") for i, v in enumerate(value)]}
        if isinstance(value, dict):
            if not all(isinstance(k, str) for k in value):
                raise TypeError(f"{where}: only string dict keys can be exported")
            return {"__dict__": {k: self.encode(v, f"{where}.{k}") for k, v in value.items()}}
        return self.instance(value, where)

    def instance(self, value: Any, where: str) -> dict[str, Any]:
        cls = type(value)
        if cls.__module__.split(".")[0] not in _ALLOWED_PACKAGES:
            raise TypeError(
                f"{where}: a {cls.__module__}.{cls.__qualname__} cannot be exported; give its "
                "class portable_state()/from_portable_state() or use arrays and plain values"
            )
        state = value.portable_state() if hasattr(cls, "from_portable_state") else vars(value)
        return {
            "__object__": f"{cls.__module__}:{cls.__qualname__}",
            "hook": hasattr(cls, "from_portable_state"),
            "state": self.encode(dict(state), where),
        }


def _sha256(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def write_portable(obj: Any, path: str | Path, metadata: Mapping[str, Any]) -> Path:
    """Write ``obj`` and ``metadata`` as a portable, pickle-free ``.npz`` file (atomically).

    Parameters
    ----------
    obj : object
        A model made of arrays, plain values and Canapy / scikit-learn objects.
    path : str or Path
        Output file (``.canapy.npz`` recommended).
    metadata : mapping
        JSON-ready metadata (typically the model's ``metadata.json``).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    TypeError
        If some part of ``obj`` cannot be represented without pickle.
    """
    encoder = _Encoder()
    state = encoder.encode(obj)
    manifest = {
        "format": _FORMAT,
        "schema": PORTABLE_SCHEMA,
        "metadata": dict(metadata),
        "state": state,
        "arrays": {
            k: {"dtype": a.dtype.str, "shape": list(a.shape), "sha256": _sha256(a)}
            for k, a in encoder.arrays.items()
        },
    }
    blob = np.frombuffer(json.dumps(manifest).encode("utf-8"), dtype=np.uint8)
    path = Path(path)
    with atomic_open(path, "wb", encoding=None) as fh:
        np.savez_compressed(fh, **{_MANIFEST: blob}, **encoder.arrays)
    return path


class _Decoder:
    """Rebuilds an object tree from JSON and verified arrays; runs no code from the file."""

    def __init__(self, arrays: Mapping[str, np.ndarray], source: Path) -> None:
        self.arrays = arrays
        self.source = source

    def fail(self, what: str) -> ModelError:
        return ModelError(f"{self.source}: not a valid Canapy portable model ({what})")

    def array(self, name: Any) -> np.ndarray:
        if not isinstance(name, str) or name not in self.arrays:
            raise self.fail(f"reference to a missing array {name!r}")
        return self.arrays[name]

    def decode(self, node: Any) -> Any:
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            raise self.fail("bare list in the state tree")
        if not isinstance(node, dict) or len(node) == 0:
            raise self.fail(f"unexpected node {str(node)[:60]!r}")
        if "__array__" in node:
            return self.array(node["__array__"])
        if "__scalar__" in node:
            return self.array(node["__scalar__"])[()]
        if "__float__" in node:
            return float(node["__float__"])
        if "__strarray__" in node:
            return np.array(node["__strarray__"], dtype=object).reshape(node["shape"])
        if "__list__" in node:
            return [self.decode(v) for v in node["__list__"]]
        if "__tuple__" in node:
            return tuple(self.decode(v) for v in node["__tuple__"])
        if "__dict__" in node:
            return {str(k): self.decode(v) for k, v in node["__dict__"].items()}
        if "__sparse__" in node:
            kind = _SPARSE.get(node["__sparse__"])
            if kind is None:
                raise self.fail(f"unknown sparse type {node['__sparse__']!r}")
            parts = (self.decode(node["data"]), self.decode(node["indices"]))
            return kind((*parts, self.decode(node["indptr"])), shape=tuple(node["shape"]))
        if "__object__" in node:
            return self.instance(node)
        raise self.fail(f"unknown node type {sorted(node)}")

    def lookup(self, ref: Any) -> type:
        module, _, qualname = str(ref).partition(":")
        if module.split(".")[0] not in _ALLOWED_PACKAGES or not qualname:
            raise self.fail(f"class {ref!r} is outside canapy and scikit-learn")
        try:
            target: Any = importlib.import_module(module)
            for part in qualname.split("."):
                target = getattr(target, part)
        except (ImportError, AttributeError) as exc:
            raise self.fail(f"unknown class {ref!r}: {exc}") from exc
        if not isinstance(target, type) or target.__module__ != module:
            raise self.fail(f"{ref!r} is not a class defined in {module}")
        return target

    def instance(self, node: Mapping[str, Any]) -> Any:
        cls = self.lookup(node["__object__"])
        state = self.decode(node.get("state"))
        if not isinstance(state, dict):
            raise self.fail(f"state of {node['__object__']} is not a mapping")
        if node.get("hook"):
            if not hasattr(cls, "from_portable_state"):
                raise self.fail(f"{node['__object__']} has no from_portable_state")
            return cls.from_portable_state(state)
        obj = object.__new__(cls)  # no __init__, no __setstate__: nothing of the file runs
        obj.__dict__.update(state)
        return obj


def _read_manifest(path: Path, npz: Any) -> dict[str, Any]:
    if _MANIFEST not in npz.files:
        raise ModelError(f"{path}: not a Canapy portable model (no {_MANIFEST} member)")
    try:
        manifest = json.loads(npz[_MANIFEST].tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: corrupt manifest ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != _FORMAT:
        raise ModelError(f"{path}: not a Canapy portable model (format is not {_FORMAT!r})")
    schema = manifest.get("schema")
    if not isinstance(schema, int) or schema > PORTABLE_SCHEMA or schema < 1:
        raise ModelError(
            f"{path}: portable schema {schema!r} is not supported by this Canapy "
            f"(schema {PORTABLE_SCHEMA}); upgrade Canapy to import it"
        )
    return manifest


def read_portable(path: str | Path) -> tuple[Any, dict[str, Any]]:
    """Read and verify a portable model file; never unpickles.

    Returns
    -------
    obj : object
        The rebuilt model.
    metadata : dict
        The metadata stored with it.

    Raises
    ------
    ModelError
        Not a portable file, an unsupported schema, an array whose dtype, shape or sha256
        differs from the manifest, an extra or missing array, or a class outside Canapy and
        scikit-learn.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as npz:
            manifest = _read_manifest(path, npz)
            declared = manifest.get("arrays")
            if not isinstance(declared, dict):
                raise ModelError(f"{path}: manifest has no array list")
            present = set(npz.files) - {_MANIFEST}
            if present != set(declared):
                raise ModelError(
                    f"{path}: arrays differ from the manifest "
                    f"(extra: {sorted(present - set(declared))}, "
                    f"missing: {sorted(set(declared) - present)})"
                )
            arrays = {}
            for name, spec in declared.items():
                arr = npz[name]
                if arr.dtype.str != spec.get("dtype") or list(arr.shape) != spec.get("shape"):
                    raise ModelError(
                        f"{path}: array {name} is {arr.dtype.str}{list(arr.shape)}, the manifest "
                        f"says {spec.get('dtype')}{spec.get('shape')}"
                    )
                if _sha256(arr) != spec.get("sha256"):
                    raise ModelError(f"{path}: array {name} does not match its sha256")
                arrays[name] = arr
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise ModelError(f"{path}: unreadable portable model ({exc})") from exc
    obj = _Decoder(arrays, path).decode(manifest.get("state"))
    metadata = manifest.get("metadata")
    return obj, dict(metadata) if isinstance(metadata, dict) else {}
