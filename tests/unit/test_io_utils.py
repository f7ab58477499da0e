"""Atomic writes keep the permissions a plain ``open()`` would give."""

from __future__ import annotations

import os
import stat

import pytest

from canapy.io_utils import atomic_write_text


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_new_file_is_readable_by_others_like_open_makes_it(tmp_path, umask_022):
    target = tmp_path / "song.csv"
    atomic_write_text(target, "wave,start,end,syll\n")
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_rewritten_file_keeps_its_own_permissions(tmp_path, umask_022):
    target = tmp_path / "song.csv"
    target.write_text("old\n")
    target.chmod(0o640)
    atomic_write_text(target, "new\n")
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_failed_write_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "song.csv"
    with pytest.raises(TypeError, match="write"):
        atomic_write_text(target, 3)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []
