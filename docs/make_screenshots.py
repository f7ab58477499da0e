"""Regenerate the dashboard screenshots of the docs (``docs/images/dashboard-*.png``).

The browser tests save screenshots of each state they reach into ``$CANAPY_SCREENSHOT_DIR``
(a temporary folder otherwise: tests never write into the repository). This script runs
them with that folder set, then copies the pictures the docs show into ``docs/images``.

Usage (from the repository root, with Debian's chromium installed)::

    python docs/make_screenshots.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"
PICTURES = {
    "train.png": "dashboard-train.png",
    "training.png": "dashboard-training.png",
    "evaluate.png": "dashboard-evaluate.png",
    "reannotate-suspects.png": "dashboard-reannotate.png",
}
"""Screenshot saved by a browser test -> picture of the docs."""
TESTS = ["tests/ui/test_dashboard_ui.py", "tests/ui/test_reannotate_ui.py"]


def main() -> int:
    """Run the browser tests into a temporary folder and copy the docs' pictures."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "CANAPY_SCREENSHOT_DIR": tmp}
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *TESTS]
        if subprocess.run(cmd, cwd=ROOT, env=env).returncode != 0:
            print("browser tests failed: docs/images left unchanged", file=sys.stderr)
            return 1
        for shot, picture in PICTURES.items():
            shutil.copyfile(Path(tmp) / shot, IMAGES / picture)
            print(f"docs/images/{picture} <- {shot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
