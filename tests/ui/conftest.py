"""Fixtures of the browser tests: a ``canapy dash --example`` server and headless Chromium.

Chromium is Debian's (``/usr/bin/chromium``); Playwright never downloads a browser here.

Every test gets its own server (its own runs folder and example corpus) and opens its own
pages, so no test depends on another's run or order, and none stops a server another uses.
Waits are tied to the page's state, with timeouts long enough for a loaded machine (CI
runners and a biologist's laptop are often busy): nothing here bounds how fast a page is.
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
SERVER_START_TIMEOUT_S = 600.0
"""How long ``canapy dash`` may take to answer HTTP (imports of Panel/Bokeh on a busy machine)."""
EXPECT_TIMEOUT_MS = 300_000
"""Default timeout of every ``expect(...)`` and page action in the browser tests."""
SCREENSHOTS_ENV = "CANAPY_SCREENSHOT_DIR"
"""Where the tests save their screenshots (``docs/make_screenshots.py`` sets it); a
temporary folder otherwise: a test never writes into the repository."""


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
    registry: Path
    """The server's own model registry (``--registry``), empty at start."""

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dash_server(tmp_path_factory) -> DashServer:
    """``python -m canapy dash --example --no-browser --port P --output RUNS --registry REG``,
    one per test."""
    tmp = tmp_path_factory.mktemp("dash")
    port = _free_port()
    env = {**os.environ, "CANAPY_CACHE_DIR": str(tmp / "cache"), "PYTHONUNBUFFERED": "1"}
    log = tmp / "server.log"
    cmd = [sys.executable, "-m", "canapy", "dash", "--example", "--no-browser"]
    cmd += ["--port", str(port), "--output", str(tmp / "runs"), "--registry", str(tmp / "registry")]
    started = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=tmp, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = started + SERVER_START_TIMEOUT_S

    def give_up(why: str) -> None:
        proc.kill()
        pytest.fail(f"canapy dash {why}:\n{log.read_text()}")

    # Wait until the port accepts connections, then ask for the page ONCE with a long
    # timeout. (Polling GET / with a short timeout is what made this flaky under load:
    # every GET builds a whole session, abandoned requests pile up and the server never
    # catches up.)
    while True:
        if proc.poll() is not None:
            give_up(f"exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5):
                break
        except OSError:
            pass
        if time.monotonic() > deadline:
            give_up(f"did not listen within {SERVER_START_TIMEOUT_S:.0f} s")
        time.sleep(0.5)
    try:
        remaining = max(60.0, deadline - time.monotonic())
        with urllib.request.urlopen(url, timeout=remaining) as response:
            if response.status != 200:
                give_up(f"answered GET / with HTTP {response.status}")
    except OSError as exc:
        give_up(f"did not answer GET / ({exc})")
    server = DashServer(url, started, time.monotonic(), tmp / "runs", proc, log, tmp / "registry")
    yield server
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium through Playwright's sync API (skips without them).

    Every ``expect(...)`` waits up to ``EXPECT_TIMEOUT_MS`` unless a test says otherwise.
    """
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium to run the browser tests")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    sync_api.expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield _Browser(chromium)
        chromium.close()
    sync_api.expect.set_options(timeout=None)


class _Browser:
    """The Playwright browser, whose new pages wait ``EXPECT_TIMEOUT_MS`` for actions."""

    def __init__(self, chromium) -> None:
        self.chromium = chromium

    def new_page(self, **kwargs):
        page = self.chromium.new_page(**kwargs)
        page.set_default_timeout(EXPECT_TIMEOUT_MS)
        return page

    def __getattr__(self, name: str):
        return getattr(self.chromium, name)  # new_context, contexts, version...


@pytest.fixture
def screenshots(tmp_path) -> Path:
    """Folder for the tests' screenshots: ``$CANAPY_SCREENSHOT_DIR`` or a temporary one."""
    folder = Path(os.environ.get(SCREENSHOTS_ENV) or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
