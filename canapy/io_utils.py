"""Writing safely: atomic files and folders, orphan clean-up, the originals guard.

- :func:`atomic_open` & co.: a temporary file in the same folder, fsync, then rename. A
  reader never sees a half-written file, and a crash mid-write leaves the previous
  content in place.
- :func:`atomic_directory`: a folder built in a temporary sibling under a lock and
  renamed into place whole (run folders); a crash or a full disk leaves no half folder.
- :func:`clean_orphan_temps`: removes the temporary files and folders of writers that
  were killed, only our own names, only when nobody is writing them.
- :func:`refuse_write_into`: the one guard that keeps every writer out of the folders
  holding the user's original annotations (paths resolved, symlinks included).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from canapy.exceptions import CanapyError, OutputError
from canapy.locking import exclusive_lock

__all__ = [
    "ORPHAN_AGE_S",
    "TEMP_SUFFIX",
    "atomic_directory",
    "atomic_open",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "clean_orphan_temps",
    "fsync_dir",
    "refuse_write_into",
    "resolved",
]

ORPHAN_AGE_S = 3600.0
"""A temporary file this old (seconds) is an orphan even without a lock: atomic writes
last milliseconds."""

TEMP_SUFFIX = ".tmp"
"""Suffix of every temporary file or folder Canapy writes (``.<name>.<random>.tmp``)."""


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Open a temporary file beside ``path``; rename it onto ``path`` on success.

    On an exception inside the ``with`` block the temporary file is removed and ``path``
    is left untouched.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> with atomic_open(target) as fh:
    ...     _ = fh.write("hello")
    >>> target.read_text()
    'hello'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    permissions = _new_file_mode(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    binary = "b" in mode
    try:
        os.chmod(tmp, permissions)  # mkstemp makes 0600 files: a shared report must stay readable
        with os.fdopen(
            fd, mode, encoding=None if binary else encoding, newline=None if binary else ""
        ) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    """The process' umask, read without changing it where the system tells it."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)  # elsewhere: the only portable way is to set it and put it back
    os.umask(mask)
    return mask


def _new_file_mode(path: Path) -> int:
    """The permissions of the file written over ``path``: its own if it exists, else those
    a plain ``open()`` would give (``0o666`` less the umask)."""
    with contextlib.suppress(OSError):
        return stat.S_IMODE(path.stat().st_mode)
    return 0o666 & ~_umask()


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    with atomic_open(path, "w") as fh:
        fh.write(text)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_open(path, "wb", encoding=None) as fh:
        fh.write(data)


def atomic_write_json(path: str | Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


def fsync_dir(folder: Path) -> None:
    """Make renames in ``folder`` durable (POSIX; a no-op where directories can't be opened)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def resolved(path: str | Path) -> Path:
    """``path`` made absolute with ``~`` expanded and every symlink followed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> real = pathlib.Path(tempfile.mkdtemp())
    >>> link = real.parent / (real.name + "-link")
    >>> link.symlink_to(real)
    >>> resolved(link) == resolved(real)
    True
    """
    return Path(path).expanduser().resolve()


def refuse_write_into(
    out: str | Path,
    sources: str | Path | Iterable[str | Path | None],
    what: str = "write",
    allow_hidden: bool = True,
    error: type[CanapyError] = OutputError,
) -> Path:
    """Refuse an output location that is one of the ``sources`` folders or inside one.

    The one guard of "the original annotations are never written to": every writer of
    annotation-like files (``annotate --output``, ``history export``, ``review --output``,
    the dashboard's export box, :func:`canapy.workflow.annotate_files`) calls it. Paths
    are compared after :func:`resolved`, so a symlink to the data folder is refused as the
    folder itself.

    Parameters
    ----------
    out : str or Path
        The folder (or file) about to be written.
    sources : path or iterable of paths
        Folders holding originals (data folder, audio folder).
    what : str
        What is written, for the message (e.g. ``"export annotations"``).
    allow_hidden : bool
        Accept a hidden folder inside a source (``DATA/.canapy/...``: never read as data).
    error : type
        The exception raised (default :class:`~canapy.exceptions.OutputError`).

    Returns
    -------
    Path
        ``out``, resolved.

    Raises
    ------
    OutputError
        (or ``error``) If ``out`` is a source folder or inside one.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> data = pathlib.Path(tempfile.mkdtemp())
    >>> refuse_write_into(data / ".canapy" / "x", data) == resolved(data / ".canapy" / "x")
    True
    >>> refuse_write_into(data / "out", data)
    Traceback (most recent call last):
    ...
    canapy.exceptions.OutputError: refusing to write into ...
    """
    target = resolved(out)
    if isinstance(sources, (str, Path)):
        sources = [sources]
    for source in sources:
        if source is None:
            continue
        src = resolved(source)
        if src.is_file():
            src = src.parent
        try:
            rel = target.relative_to(src)
        except ValueError:
            continue
        if allow_hidden and any(part.startswith(".") for part in rel.parts):
            continue
        raise error(
            f"refusing to {what} into {out}"
            + (f" (= {target})" if str(target) != str(Path(out).absolute()) else "")
            + f": it is inside the data folder {source}, whose original annotations are "
            "never overwritten (and a file written there would be read as an annotation "
            "file next time); choose a folder outside it"
        )
    return target


def clean_orphan_temps(
    folder: str | Path, name: str | None = None, older_than_s: float = 0.0
) -> list[Path]:
    """Remove temporary files/folders left in ``folder`` by killed Canapy writers.

    Only names Canapy makes (``.<name>.<random>.tmp``, of ``name`` if given) are touched,
    and only those older than ``older_than_s`` seconds: call it with 0 only while holding
    the lock that every writer of that folder takes (then none is in use).

    Returns
    -------
    list of Path
        What was removed.
    """
    folder = Path(folder)
    prefix = f".{name}." if name else "."
    removed = []
    now = time.time()
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        for entry in folder.iterdir():
            n = entry.name
            if not (n.startswith(prefix) and n.endswith(TEMP_SUFFIX) and len(n) > len(prefix) + 4):
                continue
            with contextlib.suppress(FileNotFoundError):
                if now - entry.lstat().st_mtime < older_than_s:
                    continue
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink()
                removed.append(entry)
    return removed


@contextlib.contextmanager
def atomic_directory(path: str | Path, what: str = "folder") -> Iterator[Path]:
    """Build a folder in a temporary sibling and rename it onto ``path`` on success.

    Held under an exclusive lock (``.<name>.lock`` beside it, removed on exit): a second
    writer of the same ``path`` fails at once with a clear :class:`~canapy.exceptions.OutputError`
    instead of overwriting the first one's work. Orphans of killed writers are removed
    on entry. On an exception (full disk, Ctrl-C) the temporary folder is removed and
    ``path`` is left as it was; on success an existing ``path`` is replaced (the old
    folder is moved aside, then deleted).

    Check ``path`` early (it fails before any work if ``path`` is a file or its parent
    cannot be created), so call it before long computations and do them inside.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "run"
    >>> with atomic_directory(target) as tmp:
    ...     _ = (tmp / "a.txt").write_text("x")
    ...     target.exists()
    False
    >>> sorted(p.name for p in target.iterdir())
    ['a.txt']
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(f"{path}: exists and is not a folder; choose another {what} path")
    parent = path.parent
    parent.mkdir(parents=True, exist_ok=True)
    lock = parent / f".{path.name}.lock"
    busy = (
        f"{path}: another Canapy process is writing this {what} right now; wait for it to "
        "finish or choose another path"
    )
    with exclusive_lock(lock, timeout_s=0.0, busy_message=busy, error=OutputError, remove=True):
        clean_orphan_temps(parent, path.name)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=parent))
        try:
            yield tmp
            fsync_dir(tmp)
            if path.exists():
                old = Path(
                    tempfile.mkdtemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=parent)
                )
                os.replace(path, old)
                os.replace(tmp, path)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, path)
            fsync_dir(parent)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
