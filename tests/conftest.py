"""Shared pytest helpers."""

from __future__ import annotations

from pathlib import Path

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
"""Real recordings and annotation samples (``../shared/data`` beside the repository)."""


def _shared_data_fixture():
    import pytest

    @pytest.fixture
    def shared_data() -> Path:
        """``SHARED_DATA``, or skip the test when the folder is absent."""
        if not SHARED_DATA.is_dir():
            pytest.skip(f"shared data folder {SHARED_DATA} not found (it sits beside the repo)")
        return SHARED_DATA

    return shared_data


shared_data = _shared_data_fixture()
