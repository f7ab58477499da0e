"""Screenshots of each dashboard tab at 1400×900 on real song, for docs/dashboard.md.

Serves ``canapy dash`` on the gy6or6 Bengalese finch recordings of ``../shared/data``
(annotations copied, audio linked, into a temporary folder: nothing is written beside the
shared data), trains a small model, and saves ``docs/images/tab-*.png`` as a user at a
1400×900 screen sees them. Run from the repository root::

    .venv/bin/python docs/make_screenshots.py [--data FOLDER] [--out FOLDER]

Needs Debian's ``/usr/bin/chromium`` and Playwright's Python package. Not a test: it
asserts nothing, it makes pictures to look at.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "bengalese_finch" / "bfsongrepo_gy6or6"
OUT = ROOT / "docs" / "images"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
WAIT_MS = 600_000  # a busy machine: generous, and every wait is on the page's state


def _copy_corpus(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True)
    for path in sorted(src.iterdir()):
        if path.suffix == ".wav":
            (dst / path.name).symlink_to(path)
        elif path.suffix == ".csv":
            shutil.copy(path, dst / path.name)
    return dst


def _serve(data: Path, runs: Path, log: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cmd = [sys.executable, "-m", "canapy", "dash", str(data), "--no-browser"]
    cmd += ["--port", str(port), "--output", str(runs)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, stdout=log.open("w"), stderr=subprocess.STDOUT, env=env)
    while "canapy dashboard: http" not in log.read_text(errors="replace"):
        if proc.poll() is not None:
            raise SystemExit(f"canapy dash failed:\n{log.read_text()}")
        time.sleep(0.3)
    return proc, f"http://127.0.0.1:{port}/"


def _styled(page, css: str) -> None:
    """Wait until the table ``css`` is drawn with Tabulator's style sheet (loaded after the
    rows on a busy machine: a picture taken before shows raw text)."""
    print(f"waiting for the style of {css}", flush=True)
    cell = page.locator(f"{css} .tabulator-cell:not(.tabulator-frozen)").first  # not the index
    cell.wait_for()
    page.wait_for_function(
        "el => getComputedStyle(el).display !== 'block'", arg=cell.element_handle()
    )


def _top(page) -> None:
    """Scroll back to the top of the page (a typed value scrolls its box into view)."""
    page.evaluate("window.scrollTo(0, 0)")


def main() -> int:
    from playwright.sync_api import expect, sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="folder of wav + marron1csv")
    parser.add_argument("--out", type=Path, default=OUT, help="where the PNG files go")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    expect.set_options(timeout=WAIT_MS)
    with tempfile.TemporaryDirectory(prefix="canapy-shots-") as tmp:
        data = _copy_corpus(args.data, Path(tmp) / "data")
        proc, url = _serve(data, Path(tmp) / "runs", Path(tmp) / "server.log")
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                page.set_default_timeout(WAIT_MS)
                page.goto(url, timeout=WAIT_MS)
                print("page loaded", flush=True)
                expect(page.locator(".canapy-data-summary div").first).to_contain_text(
                    "audio files"
                )
                # the tables are drawn (touching the form earlier can catch them half-built)
                expect(page.locator(".canapy-label-table .tabulator-row").first).to_be_visible()
                _styled(page, ".canapy-label-table")
                _top(page)
                page.screenshot(path=args.out / "tab-train.png")
                units = page.locator(".canapy-cfg-reservoir-units input")
                units.fill("200")
                units.press("Enter")
                page.locator(".canapy-train-button button").click()
                expect(page.locator(".canapy-go-evaluate button")).to_be_visible()
                expect(page.locator(".canapy-runs .tabulator-row").first).to_be_visible()
                page.screenshot(path=args.out / "tab-train-done.png", full_page=True)
                page.locator(".canapy-go-evaluate button").click()
                expect(
                    page.locator(".canapy-eval-tab .canapy-viewer-title div").first
                ).to_contain_text(".wav")
                canvas = page.locator(".canapy-eval-tab .canapy-viewer-plot canvas").first
                expect(canvas).to_have_attribute("data-ready", "1")
                expect(page.locator(".canapy-eval-tab .tabulator-row").first).to_be_visible()
                _styled(page, ".canapy-eval-tab")
                page.mouse.move(5, 5)
                _top(page)
                page.screenshot(path=args.out / "tab-evaluate.png")
                page.screenshot(path=args.out / "tab-evaluate-full.png", full_page=True)
                page.locator(".bk-tab", has_text="Re-annotate").click()
                canvas = page.locator(".canapy-reannotate-tab .canapy-viewer-plot canvas").first
                expect(canvas).to_have_attribute("data-ready", "1")
                _styled(page, ".canapy-segments")
                rows = page.locator(".canapy-segments .tabulator-row")
                rows.nth(5).click()
                expect(
                    page.locator(".canapy-reannotate-tab .canapy-selection div").first
                ).to_contain_text("Selected")
                page.mouse.move(5, 5)
                _top(page)
                page.screenshot(path=args.out / "tab-reannotate.png")
                page.screenshot(path=args.out / "tab-reannotate-full.png", full_page=True)
                browser.close()
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
    for path in sorted(args.out.glob("tab-*.png")):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
