"""Repository-wide pytest setup (applies to the doctests in ``canapy/`` and to ``tests/``)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _private_signing_key(tmp_path_factory, monkeypatch):
    """Point the model signing key to a per-session temporary folder, never the real home."""
    folder = tmp_path_factory.getbasetemp() / "canapy-signing"
    monkeypatch.setenv("CANAPY_SIGNING_KEY_FILE", str(folder / "signing.key"))
