"""A local registry of named models with immutable, numbered versions (``bird42/ensemble@3``).

A registry is a folder, by default ``$CANAPY_REGISTRY`` or
``$XDG_DATA_HOME/canapy/registry`` (``~/.local/share/canapy/registry``)::

    registry.json                 {"format": 1}
    lock                          locked (flock) while the registry is written
    models/bird42/ensemble/       one folder per model name (1 to 3 "/"-separated parts)
        model.json                name, next version number, promoted version and history
        1/  2/  3/                immutable versions, each a signed model folder:
            model.joblib          the model, signed with the user's key
            metadata.json         its metadata (config, classes, metrics, versions, sha256)
            card.json             the registry record: name, version, kind, registered_at,
                                  registered_by, message, source, config, metrics (held-out),
                                  lineage (data fingerprint, annotation store and version),
                                  library versions, trained_at

A version folder is built in a hidden temporary sibling and renamed into place under the
lock, so readers never see half a version; an existing version is never overwritten
(:class:`canapy.exceptions.RegistryError`), and removed version numbers are not reused.

Examples
--------
>>> import tempfile, pathlib
>>> from canapy.persistence import save_model
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> folder = save_model([1], tmp / "run" / "ensemble", {"kind": "ensemble", "metrics": {}})
>>> reg = Registry(tmp / "registry")
>>> reg.register(folder, "bird42/ensemble")
('bird42/ensemble', 1)
>>> reg.promote("bird42/ensemble", 1)
>>> reg.resolve("bird42/ensemble")
('bird42/ensemble', 1)
"""

from __future__ import annotations

import contextlib
import getpass
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from canapy.exceptions import RegistryError
from canapy.interface import SongAnnotator, check_annotator
from canapy.io_utils import atomic_write_json, fsync_dir
from canapy.locking import exclusive_lock
from canapy.persistence import METADATA_FILE, MODEL_FILE, load_model, verify_model

__all__ = [
    "CARD_FILE",
    "REGISTRY_ENV",
    "Registry",
    "default_registry_dir",
    "format_ref",
    "parse_ref",
    "validate_name",
]

logger = logging.getLogger(__name__)

REGISTRY_ENV = "CANAPY_REGISTRY"
CARD_FILE = "card.json"
_MODEL_FILE = "model.json"
_FORMAT = 1
_LOCK_TIMEOUT_S = 30.0
_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def default_registry_dir() -> Path:
    """``$CANAPY_REGISTRY``, else ``$XDG_DATA_HOME/canapy/registry`` (``~/.local/share``)."""
    env = os.environ.get(REGISTRY_ENV)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "canapy" / "registry"


def validate_name(name: str) -> str:
    """``name`` if it is a valid model name, else a :class:`RegistryError` saying why.

    1 to 3 parts separated by ``/``, each starting with a letter or digit, made of letters,
    digits, ``_ . -``, and not only digits (so ``bird42/3`` cannot be read as a version).

    >>> validate_name("bird42/ensemble")
    'bird42/ensemble'
    >>> validate_name("../x")
    Traceback (most recent call last):
    ...
    canapy.exceptions.RegistryError: invalid model name '../x': use 1 to 3 parts separated by '/', each made of letters, digits, '_', '.', '-' (not only digits), e.g. bird42/ensemble
    """  # noqa: E501
    parts = str(name).split("/")
    if not 1 <= len(parts) <= 3 or not all(_PART.match(p) and not p.isdigit() for p in parts):
        raise RegistryError(
            f"invalid model name {name!r}: use 1 to 3 parts separated by '/', each made of "
            "letters, digits, '_', '.', '-' (not only digits), e.g. bird42/ensemble"
        )
    return str(name)


def parse_ref(ref: str) -> tuple[str, int | None]:
    """``"name@3"`` -> ``("name", 3)``; ``"name"`` or ``"name@latest"`` -> ``("name", None)``.

    >>> parse_ref("bird42/ensemble@3"), parse_ref("bird42/ensemble")
    (('bird42/ensemble', 3), ('bird42/ensemble', None))
    """
    name, _, version = str(ref).partition("@")
    validate_name(name)
    if version in ("", "latest", "promoted"):
        return name, None
    if not version.isdigit() or int(version) < 1:
        raise RegistryError(f"invalid version in {ref!r}: use name@N with N = 1, 2, ...")
    return name, int(version)


def format_ref(name: str, version: int) -> str:
    """``("bird42/ensemble", 3)`` -> ``"bird42/ensemble@3"``."""
    return f"{name}@{version}"


def _utc_now(timespec: str = "seconds") -> str:
    return datetime.now(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # getuser raises various errors without a login name
        return "unknown"


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RegistryError(f"{path}: unreadable or corrupt JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise RegistryError(f"{path}: expected a JSON object")
    return data


class Registry:
    """Named models with immutable versions, stored in one folder.

    Parameters
    ----------
    root : str or Path, optional
        Registry folder; :func:`default_registry_dir` if omitted. Created on first write.
    lock_timeout_s : float
        How long a write waits for another process' write to finish.
    """

    def __init__(self, root: str | Path | None = None, lock_timeout_s: float = _LOCK_TIMEOUT_S):
        self.root = Path(root) if root is not None else default_registry_dir()
        self.lock_timeout_s = lock_timeout_s

    def __repr__(self) -> str:
        return f"Registry({str(self.root)!r})"

    # -- layout -----------------------------------------------------------------------
    @property
    def _models(self) -> Path:
        return self.root / "models"

    def _model_dir(self, name: str) -> Path:
        return self._models.joinpath(*validate_name(name).split("/"))

    def version_dir(self, name: str, version: int) -> Path:
        """Folder of one version (a model folder: model.joblib, metadata.json, card.json)."""
        return self._model_dir(name) / str(int(version))

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        if not (self.root / "registry.json").exists():
            atomic_write_json(self.root / "registry.json", {"format": _FORMAT})
        busy = (
            f"{self.root}: the registry is locked by another process for more than "
            f"{self.lock_timeout_s:.0f} s; try again when it is done"
        )
        with exclusive_lock(self.root / "lock", self.lock_timeout_s, busy, RegistryError):
            yield

    def _record(self, name: str) -> dict[str, Any]:
        try:
            return _read_json(self._model_dir(name) / _MODEL_FILE)
        except FileNotFoundError:
            known = ", ".join(self.names()) or "none"
            raise RegistryError(
                f"no model named {name!r} in {self.root} (known: {known})"
            ) from None

    # -- reading ----------------------------------------------------------------------
    def names(self) -> list[str]:
        """Every model name, sorted."""
        if not self._models.is_dir():
            return []
        return sorted(
            "/".join(p.parent.relative_to(self._models).parts)
            for p in self._models.rglob(_MODEL_FILE)
        )

    def versions(self, name: str) -> list[int]:
        """The versions of ``name``, oldest first."""
        folder = self._model_dir(name)
        self._record(name)
        return sorted(int(p.name) for p in folder.iterdir() if p.name.isdigit() and p.is_dir())

    def info(self, name: str) -> dict[str, Any]:
        """The record of a model name: next version number, promoted version, promotions
        (``[{"version", "at", "by"}, ...]``, oldest first)."""
        return self._record(name)

    def promoted(self, name: str) -> int | None:
        """The promoted version of ``name`` (None if none is)."""
        version = self._record(name).get("promoted")
        return int(version) if version is not None else None

    def resolve(self, ref: str, version: int | None = None) -> tuple[str, int]:
        """``(name, version)`` of a reference; without a version: promoted, else latest."""
        name, parsed = parse_ref(ref)
        version = version if version is not None else parsed
        versions = self.versions(name)
        if version is None:
            version = self.promoted(name) or (versions[-1] if versions else None)
        if version is None or version not in versions:
            have = ", ".join(map(str, versions)) or "none"
            raise RegistryError(f"{name}: no version {version} (versions: {have})")
        return name, version

    def card(self, ref: str, version: int | None = None) -> dict[str, Any]:
        """The registry record of a version (see the module docstring), plus ``promoted``."""
        name, version = self.resolve(ref, version)
        card = _read_json(self.version_dir(name, version) / CARD_FILE)
        card["promoted"] = self.promoted(name) == version
        return card

    def table(self) -> pd.DataFrame:
        """One row per version: name, version, ref, kind, promoted, registered_at, metrics."""
        rows = []
        for name in self.names():
            promoted = self.promoted(name)
            for version in self.versions(name):
                card = _read_json(self.version_dir(name, version) / CARD_FILE)
                metrics = card.get("metrics") or {}
                lineage = card.get("lineage") or {}
                rows.append(
                    {
                        "ref": format_ref(name, version),
                        "name": name,
                        "version": version,
                        "kind": card.get("kind"),
                        "promoted": version == promoted,
                        "registered_at": card.get("registered_at"),
                        "frame_accuracy": metrics.get("frame_accuracy"),
                        "syllable_error_rate": metrics.get("syllable_error_rate"),
                        "store_version": lineage.get("store_version"),
                        "message": card.get("message", ""),
                    }
                )
        columns = ["ref", "name", "version", "kind", "promoted", "registered_at"]
        return pd.DataFrame(rows) if rows else pd.DataFrame(columns=columns)

    def load(self, ref: str, version: int | None = None) -> tuple[SongAnnotator, dict[str, Any]]:
        """The annotator of a version (signature checked before unpickling) and its card."""
        name, version = self.resolve(ref, version)
        obj, _ = load_model(self.version_dir(name, version))
        where = format_ref(name, version)
        return check_annotator(obj, where), self.card(name, version)

    # -- writing ----------------------------------------------------------------------
    def register(
        self,
        model_folder: str | Path,
        name: str,
        *,
        version: int | None = None,
        message: str = "",
        lineage: Mapping[str, Any] | None = None,
        source: str | None = None,
    ) -> tuple[str, int]:
        """Copy a signed model folder into the registry as a new, immutable version.

        Parameters
        ----------
        model_folder : str or Path
            A folder written by :func:`canapy.persistence.save_model`; it must be signed
            with this user's key (its signature is checked, nothing is unpickled).
        name : str
            Model name, e.g. ``"bird42/ensemble"``.
        version : int, optional
            Version number; the next free one if omitted. An existing (or removed) number
            is refused.
        message : str
            Free text shown by ``canapy models list``.
        lineage : mapping, optional
            Extra lineage (annotation store, version...) merged over what the metadata says.
        source : str, optional
            Where the model came from (default: ``model_folder``).

        Returns
        -------
        (str, int)
            The name and version registered.

        Raises
        ------
        RegistryError
            Invalid name, existing version, or a name that nests in another.
        UntrustedModelError
            The model file is not signed with this user's key.
        """
        validate_name(name)
        model_folder = Path(model_folder)
        meta = verify_model(model_folder)
        with self._lock():
            record = self._prepare_record(name)
            number = int(version) if version is not None else int(record["next_version"])
            if number < 1:
                raise RegistryError(f"{name}: versions start at 1")
            target = self.version_dir(name, number)
            reused = version is not None and number < int(record["next_version"])
            if target.exists() or reused:
                raise RegistryError(
                    f"{format_ref(name, number)} is already registered (or was removed); "
                    "versions are immutable: register a new version instead"
                )
            card = _card(meta, name, number, message, lineage, source or str(model_folder))
            self._write_version(model_folder, target, card)
            record["next_version"] = max(int(record["next_version"]), number + 1)
            atomic_write_json(self._model_dir(name) / _MODEL_FILE, record)
        logger.info("registered %s from %s", format_ref(name, number), model_folder)
        return name, number

    def _prepare_record(self, name: str) -> dict[str, Any]:
        folder = self._model_dir(name)
        if (folder / _MODEL_FILE).is_file():
            return _read_json(folder / _MODEL_FILE)
        for other in self.names():
            if other.startswith(name + "/") or name.startswith(other + "/"):
                raise RegistryError(
                    f"{name!r} nests with the existing model {other!r}; choose another name"
                )
        folder.mkdir(parents=True, exist_ok=True)
        record = {"name": name, "created_at": _utc_now(), "next_version": 1, "promoted": None}
        record["promotions"] = []
        atomic_write_json(folder / _MODEL_FILE, record)
        return record

    def _write_version(self, source: Path, target: Path, card: dict[str, Any]) -> None:
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{target.name}-", dir=target.parent))
        try:
            for fname in (MODEL_FILE, METADATA_FILE):
                shutil.copyfile(source / fname, tmp / fname)
            atomic_write_json(tmp / CARD_FILE, card)
            verify_model(tmp)  # the copy is intact and still signed
            fsync_dir(tmp)
            os.rename(tmp, target)  # the only step that makes the version visible
            fsync_dir(target.parent)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def promote(self, ref: str, version: int | None = None) -> None:
        """Make a version the one used by default (``canapy serve``, ``name`` without @N)."""
        name, parsed = parse_ref(ref)
        version = version if version is not None else parsed
        if version is None:
            raise RegistryError(f"say which version of {name} to promote, e.g. {name}@3")
        self.resolve(name, version)
        with self._lock():
            record = self._record(name)
            record["promoted"] = int(version)
            record.setdefault("promotions", []).append(
                {"version": int(version), "at": _utc_now("microseconds"), "by": _user()}
            )
            atomic_write_json(self._model_dir(name) / _MODEL_FILE, record)
        logger.info("promoted %s", format_ref(name, version))

    def remove(self, ref: str, version: int | None = None, force: bool = False) -> list[str]:
        """Remove one version (``name@N``), or every version of ``name`` with ``force``.

        The promoted version is only removed with ``force``. Version numbers are never
        reused. Returns the references removed.
        """
        name, parsed = parse_ref(ref)
        version = version if version is not None else parsed
        if version is None and not force:
            raise RegistryError(f"say which version to remove ({name}@N), or use --force")
        with self._lock():
            record = self._record(name)
            targets = [version] if version is not None else self.versions(name)
            removed = []
            for number in targets:
                self.resolve(name, number)
                if number == record.get("promoted") and not force:
                    raise RegistryError(
                        f"{format_ref(name, number)} is the promoted version; promote another "
                        "first or use --force"
                    )
                folder = self.version_dir(name, number)
                trash = folder.with_name(f".removed-{number}-{os.getpid()}")
                os.rename(folder, trash)  # disappears in one step, then is deleted
                shutil.rmtree(trash, ignore_errors=True)
                removed.append(format_ref(name, number))
                if record.get("promoted") == number:
                    record["promoted"] = None
            atomic_write_json(self._model_dir(name) / _MODEL_FILE, record)
        return removed


def _card(
    meta: Mapping[str, Any],
    name: str,
    version: int,
    message: str,
    lineage: Mapping[str, Any] | None,
    source: str,
) -> dict[str, Any]:
    training = meta.get("training_data") or {}
    line = {
        "data_fingerprint": training.get("fingerprint"),
        "n_files": training.get("n_files"),
        "n_segments": training.get("n_segments"),
        "annotation_store": None,
        "store_version": None,
    }
    line.update(meta.get("lineage") or {})
    line.update(lineage or {})
    return {
        "name": name,
        "version": version,
        "ref": format_ref(name, version),
        "kind": meta.get("kind"),
        "registered_at": _utc_now(),
        "registered_by": _user(),
        "message": message,
        "source": source,
        "trained_at": meta.get("created_at"),
        "canapy_version": meta.get("canapy_version"),
        "library_versions": meta.get("library_versions", {}),
        "config": meta.get("config", {}),
        "classes": meta.get("classes", []),
        "metrics": meta.get("metrics", {}),
        "lineage": line,
        "model_sha256": meta.get("model_sha256"),
    }
