"""Screenshots of the dashboard's syllable map and syntax views for docs/analysis.md.

Not a test: run it by hand against a running ``canapy dash --example`` server, e.g.::

    canapy dash --example --no-browser --port 9477 &
    python docs/scripts/analysis_screenshots.py http://127.0.0.1:9477/ docs/images

It trains a small model (100 units) in the Train tab, computes the map in the Re-annotate
tab, selects part of it with the lasso, then compares the syntax of the hand labels and
the model in the Evaluate tab, in headless Chromium at 1400×900.
"""

from __future__ import annotations

import sys
from pathlib import Path

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
SLOW_MS = 600_000


def _clip(page, css: str, path: Path) -> None:
    """The element scrolled to the top of the 1400×900 window, as far as it fits."""
    element = page.locator(css).first
    element.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(1500)
    box = element.bounding_box()
    top = max(0.0, box["y"] - 4)
    height = min(box["height"] + 8, 900 - top)
    page.screenshot(path=path, clip={"x": 0, "y": top, "width": 1400, "height": height})


def main(url: str, out: Path) -> None:
    """Drive the dashboard at ``url`` and write the PNG files into ``out``."""
    from playwright.sync_api import expect, sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(url)
        expect(page.locator(".canapy-data-summary div").first).to_contain_text(
            "audio files", timeout=SLOW_MS
        )
        units = page.locator(".canapy-cfg-reservoir-units input")
        units.fill("100")
        units.press("Enter")
        page.locator(".canapy-train-button button").click()
        expect(page.locator(".canapy-active-run div").first).to_contain_text(
            "Active:", timeout=SLOW_MS
        )
        expect(page.locator(".canapy-granularity div").first).to_contain_text("granularity")
        _clip(page, ".canapy-granularity", out / "dashboard-granularity.png")

        page.locator(".bk-tab", has_text="Re-annotate").click()
        page.locator(".canapy-map-compute button").click()
        expect(page.locator(".canapy-map-info div").first).to_contain_text(
            "clusters", timeout=SLOW_MS
        )
        canvas = page.locator(".canapy-map-plot canvas").first
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        corners = [(0.02, 0.5), (0.5, 0.5), (0.5, 0.98), (0.02, 0.98), (0.02, 0.5)]
        page.mouse.move(box["x"] + box["width"] * 0.02, box["y"] + box["height"] * 0.5)
        page.mouse.down()
        for fx, fy in corners[1:]:
            page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy, steps=8)
        page.mouse.up()
        expect(page.locator(".canapy-map-selected div").first).to_contain_text("selected")
        _clip(page, ".canapy-map-card", out / "dashboard-map.png")

        page.locator(".bk-tab", has_text="Evaluate").click()
        page.locator(".canapy-syntax-compare button").click()
        expect(page.locator(".canapy-syntax-divergence div").first).to_contain_text(
            "Divergence", timeout=SLOW_MS
        )
        page.locator(".canapy-syntax-open button").click()
        expect(page.locator(".canapy-syntax-opened").first).to_contain_text(
            "working table", timeout=SLOW_MS
        )
        _clip(page, ".canapy-syntax-pair", out / "dashboard-syntax.png")
        _clip(page, ".canapy-syntax-opened", out / "dashboard-syntax-opened.png")
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
