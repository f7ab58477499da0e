"""Per-user HMAC signatures of model files: only models made (or trusted) here are unpickled.

A joblib file runs code when it is loaded, and a sha256 in ``metadata.json`` proves only
that the file was not corrupted: whoever crafts a model file can update the hash too. So
every model file Canapy saves is also signed with HMAC-SHA256 under a secret key that
belongs to the user and lives outside any run folder:

- ``$CANAPY_SIGNING_KEY_FILE`` if set (tests and CI point it to a temporary folder),
- else ``$XDG_CONFIG_HOME/canapy/signing.key``, else ``~/.config/canapy/signing.key``.

The key (32 random bytes, hex) is created on first use with 0600 permissions, atomically
(written to a temporary file, then hard-linked into place, so two processes starting at
once agree on one key). The signature covers the file's sha256 and a domain tag; it is
checked before anything is unpickled (:func:`canapy.persistence.load_model`). A file
signed with another user's key, or not signed at all (made elsewhere, or before Canapy
signed models), is refused until the user trusts it (:func:`canapy.persistence.trust_model`,
``canapy models trust``) or imports a pickle-free portable export instead.

Examples
--------
>>> import os, tempfile
>>> key = load_or_create_key(os.path.join(tempfile.mkdtemp(), "signing.key"))
>>> sig = sign_digest("ab" * 32, key)
>>> sig["alg"], verify_digest("ab" * 32, sig, key), verify_digest("cd" * 32, sig, key)
('hmac-sha256', True, False)
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
import secrets
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from canapy.exceptions import ModelError

__all__ = [
    "KEY_ENV",
    "key_id",
    "load_or_create_key",
    "sign_digest",
    "signing_key_path",
    "verify_digest",
]

logger = logging.getLogger(__name__)

KEY_ENV = "CANAPY_SIGNING_KEY_FILE"
"""Environment variable naming the key file (overrides the default location)."""
ALGORITHM = "hmac-sha256"
_DOMAIN = b"canapy-model-file-v1\n"
_KEY_BYTES = 32


def signing_key_path() -> Path:
    """Where the signing key lives (see the module docstring for the order).

    Examples
    --------
    >>> signing_key_path().name
    'signing.key'
    """
    env = os.environ.get(KEY_ENV)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "canapy" / "signing.key"


def _read_key(path: Path) -> bytes:
    try:
        text = path.read_text(encoding="ascii").strip()
        key = bytes.fromhex(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ModelError(
            f"{path}: unreadable signing key ({exc}); delete it to make a new one "
            "(models signed with it will then need `canapy models trust`)"
        ) from exc
    if len(key) < 16:
        raise ModelError(f"{path}: signing key too short; delete it to make a new one")
    mode = path.stat().st_mode
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        logger.warning("%s is readable by other users; run `chmod 600 %s`", path, path)
    return key


def load_or_create_key(path: str | Path | None = None) -> bytes:
    """The user's signing key, created (0600, atomically) if it does not exist yet.

    Parameters
    ----------
    path : str or Path, optional
        Key file; :func:`signing_key_path` if omitted.

    Returns
    -------
    bytes
        The secret key.

    Raises
    ------
    ModelError
        If the key file exists but is unreadable or malformed.
    """
    path = Path(path) if path is not None else signing_key_path()
    if path.exists():
        return _read_key(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=".signing.key.", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_hex(_KEY_BYTES) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)  # fails if another process created the key meanwhile
            logger.info("created the model signing key %s", path)
        except FileExistsError:
            pass
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return _read_key(path)


def key_id(key: bytes) -> str:
    """A short public identifier of a key (first 16 hex digits of its sha256).

    >>> key_id(b"0" * 32)
    'ea797d327e63fa09'
    """
    return hashlib.sha256(b"canapy-key-id\n" + key).hexdigest()[:16]


def _mac(sha256_hex: str, key: bytes) -> str:
    return hmac.new(key, _DOMAIN + sha256_hex.lower().encode("ascii"), hashlib.sha256).hexdigest()


def sign_digest(sha256_hex: str, key: bytes | None = None) -> dict[str, str]:
    """Signature record of a file whose sha256 is ``sha256_hex``.

    Returns
    -------
    dict
        ``{"alg": "hmac-sha256", "key_id": ..., "value": ...}``, stored in metadata.json.
    """
    key = load_or_create_key() if key is None else key
    return {"alg": ALGORITHM, "key_id": key_id(key), "value": _mac(sha256_hex, key)}


def verify_digest(
    sha256_hex: str, signature: Mapping[str, Any] | None, key: bytes | None = None
) -> bool:
    """Whether ``signature`` was made with ``key`` for a file of sha256 ``sha256_hex``."""
    if not isinstance(signature, Mapping) or signature.get("alg") != ALGORITHM:
        return False
    value = signature.get("value")
    if not isinstance(value, str):
        return False
    key = load_or_create_key() if key is None else key
    return hmac.compare_digest(_mac(sha256_hex, key), value.lower())
