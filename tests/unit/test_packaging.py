"""A non-editable install (`pip install .`, the README's first command) ships every package.

setuptools installs only the packages listed in ``[tool.setuptools] packages``; a sub-package
that is missing there works in an editable checkout and breaks for a user.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _declared() -> tuple[set[str], dict[str, str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    return set(config["packages"]), dict(config.get("package-dir", {}))


def _on_disk(package_dir: dict[str, str]) -> set[str]:
    found = set()
    for name, folder in package_dir.items():
        base = ROOT / folder
        for init in base.rglob("__init__.py"):
            rel = init.parent.relative_to(base)
            if any(part.startswith((".", "_")) for part in rel.parts):
                continue
            found.add(".".join([name, *rel.parts]))
    return found


def test_every_package_on_disk_is_declared():
    declared, package_dir = _declared()
    missing = _on_disk(package_dir) - declared
    assert not missing, f"add these to [tool.setuptools] packages in pyproject.toml: {missing}"


def test_every_declared_package_exists():
    declared, package_dir = _declared()
    assert declared <= _on_disk(package_dir), declared - _on_disk(package_dir)
