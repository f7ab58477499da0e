"""The Re-annotate tab's syllable map, driven in headless Chromium.

Its own ``canapy dash --example`` server (see ``conftest.py``): compute the map, hover
over it until a point's spectrogram shows beside it, draw a lasso around part of it,
relabel the selected points in one edit, check the working table changed (the edit counter
and the labels of the selection), undo, check it is back.
"""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.ui

TIMEOUT_MS = 300_000  # the first UMAP of a session compiles numba code: slow on a busy machine


def _md(page, css: str):
    return page.locator(f".canapy-reannotate-tab .{css} div").first


def test_lasso_relabel_on_the_map_and_undo(dash_server, browser, screenshots):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(dash_server.url)
    expect(page.locator(".canapy-data-summary div").first).to_contain_text(
        "audio files", timeout=90_000
    )
    page.locator(".bk-tab", has_text="Re-annotate").click()
    state_line = _md(page, "canapy-edit-state")
    expect(state_line).to_contain_text("0 unsaved change(s)", timeout=60_000)

    page.locator(".canapy-map-compute button").click()
    info = _md(page, "canapy-map-info")
    expect(info).to_contain_text("clusters", timeout=TIMEOUT_MS)
    n_segments = int(re.search(r"(\d+) segments", info.inner_text()).group(1))
    canvas = page.locator(".canapy-map-plot canvas").first
    canvas.scroll_into_view_if_needed()
    expect(canvas).to_be_visible()

    # Hover: sweep the plot in rows ~8 px apart (clusters are small, tight blobs) until a
    # point's spectrogram shows beside the map; the last point hovered stays shown.
    box = canvas.bounding_box()
    thumb = page.locator(".canapy-map-hover img").first
    for row in range(50):
        fy = 0.1 + 0.017 * row
        for col in range(50):
            fx = 0.02 + 0.0145 * col
            page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
        if thumb.count():
            break
    expect(thumb).to_have_attribute("src", re.compile(r"^data:image/png;base64,"), timeout=60_000)
    page.screenshot(path=screenshots / "map-hover.png")

    # A lasso around the whole plot area: every point selected.
    corners = [(0.01, 0.08), (0.78, 0.08), (0.78, 0.99), (0.01, 0.99), (0.01, 0.08)]
    page.mouse.move(box["x"] + box["width"] * 0.01, box["y"] + box["height"] * 0.08)
    page.mouse.down()
    for fx, fy in corners[1:]:
        page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy, steps=8)
    page.mouse.up()
    selected = _md(page, "canapy-map-selected")
    expect(selected).to_contain_text("point(s) selected", timeout=60_000)
    n_selected = int(re.search(r"(\d+) point\(s\) selected", selected.inner_text()).group(1))
    assert 1 < n_selected <= n_segments
    assert "Q" not in selected.inner_text().split(":", 1)[1]

    page.locator(".canapy-map-label input").fill("Q")
    page.locator(".canapy-map-relabel button").click()
    # The working table changed: one edit, every selected segment now labelled Q.
    expect(state_line).to_contain_text(f"{n_selected} unsaved change(s)", timeout=60_000)
    expect(selected).to_contain_text(f"{n_selected} point(s) selected: {n_selected} Q")
    page.screenshot(path=screenshots / "map-relabelled.png")

    page.locator(".canapy-undo button").click()
    expect(state_line).to_contain_text("0 unsaved change(s)", timeout=60_000)
    expect(selected).not_to_contain_text(" Q")
    page.close()
