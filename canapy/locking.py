"""An exclusive, crash-safe lock on a file, for the annotation store's saves.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> path = Path(tempfile.mkdtemp()) / "lock"
>>> with exclusive_lock(path, timeout_s=1.0):
...     path.exists()
True
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

from canapy.exceptions import CanapyError, StoreError

__all__ = ["exclusive_lock"]


@contextlib.contextmanager
def exclusive_lock(
    path: Path,
    timeout_s: float,
    busy_message: str | None = None,
    error: type[CanapyError] = StoreError,
    remove: bool = False,
) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (released by the OS if the process dies).

    flock/msvcrt locks rather than an ``O_EXCL`` lock file: a killed process cannot leave
    a stale lock behind. After ``timeout_s`` seconds of waiting, raises ``error`` with
    ``busy_message`` (default: the annotation store's message). With ``remove``, the
    lock file is deleted on release (so it leaves nothing behind); a locker then checks
    that the file it locked is still the one at ``path``, and retries if not.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if os.name == "nt":  # pragma: no cover - Windows
            import msvcrt

            def try_lock() -> None:
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

            def unlock() -> None:
                msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            def try_lock() -> None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

            def unlock() -> None:
                fcntl.flock(fd, fcntl.LOCK_UN)

        deadline = time.monotonic() + timeout_s
        while True:
            try:
                try_lock()
                if remove and not _still_there(fd, path):  # unlinked by the previous holder
                    unlock()
                    os.close(fd)
                    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
                    continue
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise error(
                        busy_message
                        or f"{path.parent}: the annotation store is locked by another process "
                        f"for more than {timeout_s:.0f} s; try again when its save is done"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            if remove:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
            unlock()
    finally:
        os.close(fd)


def _still_there(fd: int, path: Path) -> bool:
    """Whether the open file ``fd`` is still the file at ``path``."""
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False
