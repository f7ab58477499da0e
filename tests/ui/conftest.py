"""Fixtures of the browser tests: a ``canapy dash --example`` server and headless Chromium.

Chromium is Debian's (``/usr/bin/chromium``); Playwright never downloads a browser here.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
SCREENSHOTS = Path(__file__).parent / "screenshots"


@dataclass
class DashServer:
    """A running ``canapy dash`` subprocess."""

    url: str
    started: float
    """``time.monotonic()`` when the command was launched."""
    ready: float
    """``time.monotonic()`` when it first answered HTTP."""
    runs: Path
    proc: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def dash_server(tmp_path_factory) -> DashServer:
    """``python -m canapy dash --example --no-browser --port P --output RUNS``."""
    tmp = tmp_path_factory.mktemp("dash")
    port = _free_port()
    env = {**os.environ, "CANAPY_CACHE_DIR": str(tmp / "cache"), "PYTHONUNBUFFERED": "1"}
    log = tmp / "server.log"
    cmd = [sys.executable, "-m", "canapy", "dash", "--example", "--no-browser"]
    cmd += ["--port", str(port), "--output", str(tmp / "runs")]
    started = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=tmp, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = started + 180  # generous: the machine may be busy
    while True:
        if proc.poll() is not None:
            pytest.fail(f"canapy dash exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=90) as response:  # a page is slow to build
                if response.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"canapy dash did not answer within 180 s:\n{log.read_text()}")
        time.sleep(0.2)
    server = DashServer(url, started, time.monotonic(), tmp / "runs", proc, log)
    yield server
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium through Playwright's sync API (skips without them)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium to run the browser tests")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    return SCREENSHOTS
