"""The files of an annotation-store folder: their names, checked reads, crash-safe writes.

:class:`StoreFolder` knows where each file of a store lives (see :mod:`canapy.store` for
the layout), reads them with the checks that turn damage into a :class:`StoreError`
naming the file and the fix (a HEAD pointing nowhere, a version CSV whose sha256 no
longer matches) and writes one version in the order that makes a crash harmless. The
versioning rules (conflicts, restore, export) live in :class:`canapy.store.AnnotationStore`.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from canapy.exceptions import StoreError
from canapy.io_utils import atomic_write_bytes, atomic_write_json, clean_orphan_temps, fsync_dir

__all__ = [
    "STORE_FORMAT",
    "STORE_SUBDIR",
    "VERSION_COLUMNS",
    "StoreFolder",
    "default_author",
    "default_store_dir",
    "read_json",
    "relative_to",
    "utc_now",
]

STORE_SUBDIR = Path(".canapy") / "store"
"""Where a data folder's store lives, relative to the data folder."""
STORE_FORMAT = 1
"""Version of the folder layout, written in ``store.json``."""
VERSION_COLUMNS = [
    "id",
    "parent",
    "author",
    "created_at",
    "message",
    "n_segments",
    "n_files",
    "sha256",
    "is_head",
]
"""Columns of :meth:`canapy.store.AnnotationStore.versions`."""
_VERSION_FILE = re.compile(r"^(\d{6})\.json$")


def default_store_dir(data_dir: str | Path) -> Path:
    """``<data_dir>/.canapy/store``."""
    return Path(data_dir).absolute() / STORE_SUBDIR


def default_author() -> str:
    """The login name, or ``"unknown"``."""
    try:
        return getpass.getuser()
    except Exception:  # getuser raises various errors without a login name
        return "unknown"


def utc_now() -> str:
    """The time now, UTC, to the second (``2026-01-31T12:00:00Z``)."""
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def relative_to(path: str | Path, base: Path) -> str:
    """``path`` relative to ``base`` (POSIX), or as given if it is not below ``base``.

    >>> relative_to("/data/a/x.wav", Path("/data")), relative_to("/elsewhere/x.wav", Path("/data"))
    ('a/x.wav', '/elsewhere/x.wav')
    """
    with contextlib.suppress(ValueError):
        return Path(path).relative_to(base).as_posix()
    return str(path)


def read_json(path: Path) -> dict[str, Any]:
    """A store file's JSON content; a missing or corrupt file is a :class:`StoreError`."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StoreError(f"{path}: missing from the annotation store") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise StoreError(f"{path}: corrupt annotation store file: {exc}") from None


class StoreFolder:
    """The files of one store folder: ``store.json``, ``HEAD``, ``lock``, ``versions/``.

    Parameters
    ----------
    root : Path
        The store folder (absolute).
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def versions_dir(self) -> Path:
        """``versions/``: one CSV and one JSON per version."""
        return self.root / "versions"

    def csv(self, version: int) -> Path:
        """The segment table of ``version``."""
        return self.versions_dir / f"{version:06d}.csv"

    def meta(self, version: int) -> Path:
        """The metadata of ``version``."""
        return self.versions_dir / f"{version:06d}.json"

    @property
    def info_path(self) -> Path:
        """``store.json``."""
        return self.root / "store.json"

    @property
    def lock_path(self) -> Path:
        """``lock``, held while a version is written."""
        return self.root / "lock"

    @property
    def exists(self) -> bool:
        """Whether the folder holds an initialised store."""
        return self.info_path.is_file() and (self.root / "HEAD").is_file()

    def read_head(self) -> int:
        """The version ``HEAD`` names, checked to exist."""
        path = self.root / "HEAD"
        data = read_json(path)
        head = data.get("head") if isinstance(data, dict) else None
        if not isinstance(head, int) or isinstance(head, bool) or head < 1:
            raise StoreError(f"{path}: damaged (no version number in it); {self.repair_hint()}")
        if not self.meta(head).is_file():
            raise StoreError(
                f"{path}: points to version {head}, whose {self.meta(head).name} is missing; "
                f"{self.repair_hint()}"
            )
        return head

    def repair_hint(self) -> str:
        """How to point HEAD back at the last complete version."""
        found = (_VERSION_FILE.match(p.name) for p in self.versions_dir.glob("*.json"))
        ok = [int(m.group(1)) for m in found if m and self.csv(int(m.group(1))).is_file()]
        if not ok:
            return "no complete version is left; restore the store from a backup"
        return f'the last complete version is {max(ok)}: write {{"head": {max(ok)}}} into it'

    def read_table_bytes(self, version: int, sha256: str) -> bytes:
        """The CSV of ``version``, checked against the ``sha256`` of its metadata."""
        data = self.csv(version).read_bytes()
        if hashlib.sha256(data).hexdigest() != sha256:
            raise StoreError(
                f"{self.csv(version)}: content does not match its recorded sha256 (the file "
                "was modified or damaged); restore it from a backup or use another version"
            )
        return data

    def write_version(self, version: int, data: bytes, meta: dict[str, Any]) -> None:
        """Write ``version``'s CSV and metadata, then move HEAD to it. Hold the lock.

        Order matters: the version is invisible until HEAD names it, so a crash before
        the last step leaves the previous head in place. Temporary files of killed saves
        are removed first (safe: every writer of the store holds the lock).
        """
        clean_orphan_temps(self.versions_dir)
        clean_orphan_temps(self.root)
        atomic_write_bytes(self.csv(version), data)
        atomic_write_json(self.meta(version), meta)
        fsync_dir(self.versions_dir)
        atomic_write_json(self.root / "HEAD", {"head": version})
        fsync_dir(self.root)
