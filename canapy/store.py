"""Versioned store of corrected annotations; the original annotation files are never touched.

A store is a folder, by default ``<data_dir>/.canapy/store/`` (hidden from
:func:`canapy.corpus.load_corpus`)::

    store.json            data folder, annotation format, audio files (written once)
    HEAD                  {"head": <id of the current version>}, replaced atomically
    lock                  locked (flock) while a version is written
    versions/000001.csv   segment table of version 1 (audio paths relative to the data folder)
    versions/000001.json  its metadata: id, parent, author, created_at (UTC), message,
                          n_segments, n_files, annotated files, sha256 of the CSV

Every version is immutable. Saving writes the CSV, then the metadata (each to a temporary
file, fsync, rename), then moves ``HEAD`` — the only step that makes the version visible.
A crash or ``kill -9`` at any point leaves the previous head intact; a half-written version
(id above the head) is ignored and overwritten by the next save. Saves from several
processes are serialised by a lock on ``lock``, and a save whose ``base_version`` is not
the head is refused with :class:`canapy.exceptions.ConflictError`: two sessions editing the
same corpus never silently overwrite each other.

This module holds the versioning rules (:class:`AnnotationStore`); the folder's files,
their checked reads and the crash-safe write of one version are in
:mod:`canapy.store_files` (``STORE_SUBDIR``, ``default_store_dir`` and ``default_author``
are re-exported here).

Examples
--------
>>> import tempfile
>>> from canapy.corpus import load_corpus
>>> from canapy.synthetic import make_example_corpus
>>> from canapy import edits
>>> folder = make_example_corpus(tempfile.mkdtemp(), n_files=2, n_unlabelled=0)
>>> store = AnnotationStore.for_data_dir(folder)
>>> store.init_from(load_corpus(folder), author="ana")
1
>>> table = store.load()
>>> first = table["segment_id"].iloc[0]
>>> store.save(edits.relabel(table, [first], "Z"), "ana", "fix one label", base_version=1)
2
>>> store.diff(1, 2)[["segment_id", "change", "new_label"]].values.tolist()
[['song_000.wav#0000', 'relabelled', 'Z']]
>>> store.versions()[["id", "parent", "author", "message"]].values.tolist()[-1]
[2, 1, 'ana', 'fix one label']
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from canapy.corpus import MARRON1CSV, Corpus, write_annotation
from canapy.edits import diff_tables
from canapy.exceptions import ConflictError, StoreError
from canapy.io_utils import atomic_write_json, refuse_write_into
from canapy.locking import exclusive_lock
from canapy.segments import empty_segments, normalise_segments, validate_segments
from canapy.store_files import (
    STORE_FORMAT,
    STORE_SUBDIR,
    VERSION_COLUMNS,
    StoreFolder,
    default_author,
    default_store_dir,
    read_json,
    relative_to,
    utc_now,
)

__all__ = ["STORE_SUBDIR", "AnnotationStore", "default_author", "default_store_dir"]

logger = logging.getLogger(__name__)

_LOCK_TIMEOUT_S = 30.0


class AnnotationStore:
    """Versions of a corpus' annotations, stored beside (never over) the originals.

    Parameters
    ----------
    root : str or Path
        The store folder (see :func:`default_store_dir`).
    data_dir : str or Path, optional
        The data folder the annotations belong to; only used by :meth:`init_from`, and
        only when ``root`` is not ``<data_dir>/.canapy/store`` (otherwise inferred).
    lock_timeout_s : float
        How long a save waits for another process' save to finish.
    """

    def __init__(
        self,
        root: str | Path,
        data_dir: str | Path | None = None,
        lock_timeout_s: float = _LOCK_TIMEOUT_S,
    ) -> None:
        self.root = Path(os.path.abspath(root))
        self._data_dir_arg = Path(os.path.abspath(data_dir)) if data_dir is not None else None
        self.lock_timeout_s = lock_timeout_s
        self._info: dict[str, Any] | None = None
        self._files = StoreFolder(self.root)

    @classmethod
    def for_data_dir(cls, data_dir: str | Path, **kwargs: Any) -> AnnotationStore:
        """The store of a data folder, at ``<data_dir>/.canapy/store``."""
        return cls(default_store_dir(data_dir), data_dir=data_dir, **kwargs)

    def __repr__(self) -> str:
        return f"AnnotationStore({str(self.root)!r})"

    # -- layout ---------------------------------------------------------------------
    @property
    def exists(self) -> bool:
        """Whether the store has been initialised (:meth:`init_from`)."""
        return self._files.exists

    def _require(self) -> None:
        if not self.exists:
            raise StoreError(
                f"{self.root}: no annotation store here; create it from the original "
                "annotations first (`canapy history DATA_DIR init` or AnnotationStore.init_from)"
            )

    @property
    def info(self) -> dict[str, Any]:
        """Content of ``store.json``."""
        self._require()
        if self._info is None:
            self._info = read_json(self._files.info_path)
        return self._info

    @property
    def data_dir(self) -> Path:
        """The data folder the annotation paths are relative to."""
        if self.exists:
            return Path(os.path.normpath(self.root / self.info["data_dir"]))
        if self._data_dir_arg is not None:
            return self._data_dir_arg
        if self.root.parent.name == STORE_SUBDIR.parts[0] and self.root.name == STORE_SUBDIR.name:
            return self.root.parent.parent
        raise StoreError(f"{self.root}: pass data_dir= to create a store outside a data folder")

    @property
    def annot_format(self) -> str:
        """Format of the original annotation files."""
        return str(self.info["annot_format"])

    @property
    def head(self) -> int:
        """Id of the current version."""
        self._require()
        return self._files.read_head()

    def _rel(self, paths: Iterable[str | Path]) -> list[str]:
        """Each path as stored (relative to the data folder), in order.

        The data folder is looked up once and each distinct path converted once: a table
        has one row per segment, and few distinct files.
        """
        base = self.data_dir
        paths = list(paths)
        stored = {p: relative_to(p, base) for p in dict.fromkeys(paths)}
        return [stored[p] for p in paths]

    def _abs(self, stored: Iterable[str]) -> list[str]:
        """Each stored path as an absolute path string, in order (inverse of :meth:`_rel`)."""
        base = self.data_dir
        stored = list(stored)
        full = {s: s if Path(s).is_absolute() else str(base / s) for s in dict.fromkeys(stored)}
        return [full[s] for s in stored]

    # -- creating -------------------------------------------------------------------
    def init_from(
        self,
        corpus: Corpus,
        author: str | None = None,
        message: str = "original annotations",
    ) -> int:
        """Create the store with version 1 = the corpus as loaded from the original files.

        Raises
        ------
        StoreError
            If the store already exists.
        """
        if self.exists:
            raise StoreError(
                f"{self.root}: the annotation store already exists (head: version "
                f"{self.head}); load it instead of initialising it again"
            )
        data_dir = self.data_dir
        self.root.mkdir(parents=True, exist_ok=True)
        self._files.versions_dir.mkdir(exist_ok=True)
        with self._lock():
            if self.exists:  # another process initialised it meanwhile
                raise StoreError(f"{self.root}: the annotation store already exists")
            info = {
                "format": STORE_FORMAT,
                "data_dir": os.path.relpath(data_dir, self.root),
                "annot_format": corpus.annot_format,
                "created_at": utc_now(),
                "audio_paths": [relative_to(p, data_dir) for p in corpus.audio_paths],
            }
            atomic_write_json(self._files.info_path, info)
            self._info = info
            table = validate_segments(corpus.segments)
            annotated = [str(p) for p in corpus.annotated]
            version = self._write_version(table, annotated, author, message, parent=None, head=0)
        logger.info("annotation store created in %s", self.root)
        return version

    # -- reading --------------------------------------------------------------------
    def metadata(self, version: int | None = None) -> dict[str, Any]:
        """Metadata of one version (the head by default)."""
        version = self._check_version(version)
        return read_json(self._files.meta(version))

    def versions(self) -> pd.DataFrame:
        """One row per version, oldest first.

        Columns ``id, parent, author, created_at, message, n_segments, n_files, sha256,
        is_head``.
        """
        head = self.head
        rows = []
        for version in range(1, head + 1):  # above the head: an interrupted save, ignored
            meta = read_json(self._files.meta(version))
            if not isinstance(meta, dict) or meta.get("id") != version:
                raise StoreError(
                    f"{self._files.meta(version)}: damaged metadata of version {version}"
                )
            rows.append({k: meta.get(k) for k in VERSION_COLUMNS[:-1]})
        out = pd.DataFrame(rows, columns=VERSION_COLUMNS[:-1])
        out["parent"] = out["parent"].astype("Int64")  # version 1 has no parent
        out["is_head"] = out["id"] == head
        return out

    def _check_version(self, version: int | None) -> int:
        head = self.head
        if version is None:
            return head
        version = int(version)
        if not 1 <= version <= head or not self._files.meta(version).is_file():
            raise StoreError(
                f"{self.root}: no version {version}; versions are 1..{head} "
                "(list them with `canapy history DATA_DIR list`)"
            )
        return version

    def load(self, version: int | None = None) -> pd.DataFrame:
        """Segment table of a version (the head by default), audio paths absolute.

        Raises
        ------
        StoreError
            Unknown version, or a version file whose content does not match its sha256.
        """
        version = self._check_version(version)
        meta = read_json(self._files.meta(version))
        data = self._files.read_table_bytes(version, meta["sha256"])
        table = pd.read_csv(
            io.BytesIO(data),
            dtype={"segment_id": str, "audio_path": str, "label": str},
            keep_default_na=False,
            float_precision="round_trip",
        )
        table["audio_path"] = self._abs(table["audio_path"])
        return normalise_segments(table)

    def annotated(self, version: int | None = None) -> list[Path]:
        """Audio files annotated in a version (some may have no segment)."""
        meta = self.metadata(version)
        return [Path(p) for p in self._abs(meta["annotated"])]

    # -- writing --------------------------------------------------------------------
    def _lock(self) -> contextlib.AbstractContextManager[None]:
        return exclusive_lock(self._files.lock_path, self.lock_timeout_s)

    def _write_version(
        self,
        table: pd.DataFrame,
        annotated: Iterable[str],
        author: str | None,
        message: str,
        parent: int | None,
        head: int,
    ) -> int:
        """Write version ``head + 1`` and move HEAD to it. Call with the lock held."""
        version = head + 1
        stored = table.assign(audio_path=self._rel(table["audio_path"]))
        data = stored.to_csv(index=False, lineterminator="\n").encode("utf-8")
        files = sorted(set(self._rel(annotated)) | set(stored["audio_path"]))
        meta = {
            "id": version,
            "parent": parent,
            "author": author or default_author(),
            "created_at": utc_now(),
            "message": message,
            "n_segments": len(table),
            "n_files": len(files),
            "n_labels": int(table["label"].nunique()),
            "sha256": hashlib.sha256(data).hexdigest(),
            "annotated": files,
        }
        self._files.write_version(version, data, meta)
        logger.info("saved version %d (%s) in %s", version, message, self.root)
        return version

    def save(
        self,
        segments: pd.DataFrame,
        author: str | None,
        message: str,
        base_version: int,
        force: bool = False,
        annotated: Iterable[str | Path] | None = None,
    ) -> int:
        """Save an edited segment table as a new version; return its id.

        Parameters
        ----------
        segments : DataFrame
            Columns :data:`canapy.segments.SEGMENT_COLUMNS`; validated (no overlap, ...).
        author, message : str
            Who saves, and why (shown by :meth:`versions`).
        base_version : int
            The version the edits started from. It must be the current head.
        force : bool
            Save even if ``base_version`` is not the head (the other versions stay in the
            history).
        annotated : iterable of paths, optional
            Audio files annotated in this version; default: those of ``base_version``
            plus the files of ``segments``.

        Returns
        -------
        int
            The new head. If the table equals the head's content, nothing is written and
            the head is returned.

        Raises
        ------
        ConflictError
            If another session saved a version after ``base_version``.
        AnnotationError
            If the table is invalid.
        """
        table = validate_segments(segments)
        self._require()
        with self._lock():
            head = self.head
            base = self._check_version(base_version)
            if base != head and not force:
                raise self._conflict(base, head)
            files = (
                [str(p) for p in annotated]
                if annotated is not None
                else self.annotated(base) + list(table["audio_path"])
            )
            if not force and self._same_as(head, table, files):
                logger.info("nothing changed since version %d: not saved", head)
                return head
            return self._write_version(table, files, author, message, base, head)

    def _same_as(self, version: int, table: pd.DataFrame, files: list) -> bool:
        stored = table.assign(audio_path=self._rel(table["audio_path"]))
        data = stored.to_csv(index=False, lineterminator="\n").encode("utf-8")
        meta = self.metadata(version)
        same_files = sorted(set(self._rel(files))) == meta["annotated"]
        return same_files and hashlib.sha256(data).hexdigest() == meta["sha256"]

    def _conflict(self, base: int, head: int) -> ConflictError:
        meta = self.metadata(head)
        others = head - base
        what = f"version {head}" if others == 1 else f"{others} versions (up to {head})"
        return ConflictError(
            f"{self.root}: {what} saved since you loaded version {base} — latest by "
            f"{meta['author']!r} at {meta['created_at']} ({meta['message']!r}); saving would "
            f"overwrite those changes. Reload the latest version and redo your edits, review "
            f"what changed with diff({base}, {head}), or save with force=True to keep your "
            "version (theirs stays in the history)"
        )

    def restore(self, version: int, author: str | None = None) -> int:
        """Make a new head version equal to an old ``version``; return its id."""
        version = self._check_version(version)
        table = self.load(version)
        files = [str(p) for p in self.annotated(version)]
        with self._lock():
            head = self.head
            return self._write_version(
                validate_segments(table), files, author, f"restore version {version}", head, head
            )

    # -- comparing and exporting ----------------------------------------------------
    def diff(self, a: int, b: int | None = None) -> pd.DataFrame:
        """What changed from version ``a`` to version ``b`` (default: the head).

        See :func:`canapy.edits.diff_tables` for the columns.
        """
        return diff_tables(self.load(a), self.load(b))

    def as_corpus(self, version: int | None = None) -> Corpus:
        """A :class:`canapy.corpus.Corpus` of a version, e.g. to train on it."""
        table = self.load(version)
        base = Corpus(
            segments=empty_segments(),
            audio_paths=tuple(Path(p) for p in self._abs(self.info["audio_paths"])),
            annot_format=self.annot_format,
        )
        return base.with_segments(table, annotated=self.annotated(version))

    def export(
        self, version: int | None, out_dir: str | Path, annot_format: str = MARRON1CSV
    ) -> list[Path]:
        """Write one annotation file per annotated audio file of a version into ``out_dir``.

        ``out_dir`` may not be the data folder or inside it (except in a hidden folder):
        the original files are never overwritten, and a second set of annotations there
        would be read back as duplicates.

        Returns
        -------
        list of Path
            The files written (atomically).
        """
        version = self._check_version(version)
        out = Path(out_dir)
        refuse_write_into(out, self.data_dir, "export annotations", error=StoreError)
        table = self.load(version)
        groups = dict(tuple(table.groupby("audio_path", sort=False)))
        written = []
        for audio in self.annotated(version):
            segs = groups.get(str(audio), table.iloc[:0])
            written.append(write_annotation(segs, audio, out, annot_format))
        return written
