"""Repository-wide pytest setup (applies to the doctests in ``canapy/`` and to ``tests/``)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="session")
def _private_signing_key(tmp_path_factory):
    """Point the model signing key to a temporary folder, never the user's real key.

    Session-scoped so that it is in place before any other fixture (even session-scoped
    ones) saves or loads a model.
    """
    folder = tmp_path_factory.mktemp("canapy-signing")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CANAPY_SIGNING_KEY_FILE", str(folder / "signing.key"))
        mp.setenv("CANAPY_REGISTRY", str(folder / "registry-must-not-be-used"))
        yield
