"""The Re-annotate tab's correction loop, driven in headless Chromium.

One ``canapy dash --example`` server (its own, see ``conftest.py``) and one page: corrupt a
label by hand, find it among the suspects, accept the suggestion by keyboard, merge two
classes, undo/redo, save a version and restore the original one.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

# A server and a browser per test; minutes each on a loaded machine.
pytestmark = [pytest.mark.ui, pytest.mark.slow, pytest.mark.timeout(1800)]

TIMEOUT_MS = 600_000  # training or reviewing on a loaded 2-core machine can take minutes


def _md(page, css: str):
    return page.locator(f".canapy-reannotate-tab .{css} div").first


def _cell(row, field: str) -> str:
    return row.locator(f".tabulator-cell[tabulator-field='{field}']").inner_text().strip()


def _shot(page, path: Path, bottom_css: str) -> None:
    box = page.locator(bottom_css).first.bounding_box()
    height = box["y"] + box["height"] + 16
    page.screenshot(
        path=path, full_page=True, clip={"x": 0, "y": 0, "width": 1400, "height": height}
    )


def test_review_accept_merge_undo_save_restore(dash_server, browser, screenshots, capsys):
    from playwright.sync_api import expect

    t0 = time.monotonic()
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(dash_server.url)
    expect(page.locator(".canapy-data-summary div").first).to_contain_text(
        "audio files", timeout=TIMEOUT_MS
    )
    units = page.locator(".canapy-cfg-reservoir-units input")  # small: a fast review
    units.fill("100")
    units.press("Enter")
    page.locator(".bk-tab", has_text="Re-annotate").click()
    state_line = _md(page, "canapy-edit-state")
    expect(state_line).to_contain_text("original annotation files")
    expect(state_line).to_contain_text("0 unsaved change(s)")

    # 1. Corrupt one label by hand: an "A" (a 2 kHz tone) of song_001 becomes "F" (noise).
    page.locator(".canapy-review-files .tabulator-row").nth(1).click()
    expect(page.locator(".canapy-reannotate-tab .canapy-viewer-title div").first).to_contain_text(
        "song_001.wav"
    )
    segments = page.locator(".canapy-segments .tabulator-row")
    expect(segments.first).to_be_visible()
    labels = [_cell(segments.nth(i), "label") for i in range(segments.count())]
    k = labels.index("A")
    segments.nth(k).click()
    label = page.locator(".canapy-edit-label input")
    expect(label).to_have_value("A")
    label.fill("F")
    page.locator(".canapy-relabel button").click()
    expect(state_line).to_contain_text("1 unsaved change(s)")
    expect(segments.nth(k).locator("[tabulator-field='label']")).to_have_text("F")

    # 2. Find suspects (2 folds): the corrupted segment comes first, the models hear "A".
    folds = page.locator(".canapy-folds input")
    folds.fill("2")
    folds.press("Enter")
    clicked = time.monotonic()
    page.locator(".canapy-find-suspects button").click()
    suspects = page.locator(".canapy-suspects .tabulator-row")
    expect(_md(page, "canapy-suspect-info")).to_contain_text("segments judged", timeout=TIMEOUT_MS)
    review_s = time.monotonic() - clicked
    top = suspects.first
    assert (_cell(top, "wave"), _cell(top, "syll"), _cell(top, "suggested")) == (
        "song_001.wav",
        "F",
        "A",
    )
    top.click()
    expect(page.locator(".canapy-reannotate-tab .canapy-selection div").first).to_contain_text(
        re.compile(r"Selected: \*?\*?F")
    )
    tracks = page.locator(".canapy-reannotate-tab .canapy-viewer-plot canvas").first
    expect(tracks).to_be_visible()
    _shot(page, screenshots / "reannotate-suspects.png", ".canapy-editor-card")

    # 3. Keyboard: "a" accepts the suggestion, "u" undoes it, the button accepts again.
    status = top.locator("[tabulator-field='status']")
    page.keyboard.press("a")
    expect(status).to_have_text("accepted")
    expect(state_line).to_contain_text("0 unsaved change(s)")  # back to the original label
    expect(_md(page, "canapy-suspect-info")).to_contain_text("1 reviewed")
    page.keyboard.press("u")
    expect(status).to_have_text("")
    expect(state_line).to_contain_text("1 unsaved change(s)")
    top.click()
    page.locator(".canapy-accept button").click()
    expect(status).to_have_text("accepted")
    page.keyboard.press("k")  # "keep" the next suspect (auto-selected after accepting)
    expect(_md(page, "canapy-suspect-info")).to_contain_text("2 reviewed")

    # 4. Merge two classes with a preview, undo, redo.
    for name in ("E", "F"):
        page.locator(".canapy-class-labels .choices").first.click()
        option = page.locator(
            ".canapy-class-labels .choices__list--dropdown .choices__item", has_text=name
        )
        option.first.click()
    expect(
        page.locator(".canapy-class-labels .choices__list--multiple .choices__item")
    ).to_have_count(2)
    into = page.locator(".canapy-class-into input")
    into.fill("E")
    into.press("Enter")
    preview = _md(page, "canapy-class-preview")
    expect(preview).to_contain_text(re.compile(r"\d+ segment\(s\) will change"))
    n_f = int(re.search(r"(\d+) segment", preview.inner_text()).group(1))
    assert n_f > 0
    page.locator(".canapy-class-apply button").click()
    expect(_md(page, "canapy-re-feedback")).to_contain_text(f"merge: {n_f} segment(s) changed")
    expect(state_line).to_contain_text(f"{n_f} unsaved change(s)")
    page.locator(".canapy-undo button").click()
    expect(state_line).to_contain_text("0 unsaved change(s)")
    page.locator(".canapy-redo button").click()
    expect(state_line).to_contain_text(f"{n_f} unsaved change(s)")

    # 5. Save a version; compare with and restore the original.
    versions = page.locator(".canapy-versions .tabulator-row")
    message = page.locator(".canapy-save-message input")
    message.fill("merge F into E")
    page.locator(".canapy-save button").click()
    expect(_md(page, "canapy-re-feedback")).to_contain_text("Saved version 2")
    expect(versions).to_have_count(2)
    expect(versions.first).to_contain_text("merge F into E")
    expect(state_line).to_contain_text("Editing version 2")
    versions.nth(1).click()  # version 1, the original files
    expect(_md(page, "canapy-diff-info")).to_contain_text(f"{n_f} relabelled")
    page.locator(".canapy-restore button").click()
    expect(_md(page, "canapy-re-feedback")).to_contain_text("Version 1 restored as version 3")
    expect(versions).to_have_count(3)
    expect(versions.first).to_contain_text("restore version 1")
    expect(state_line).to_contain_text("Editing version 3")
    store = Path(re.search(r"data: (\S+);", dash_server.output()).group(1)) / ".canapy" / "store"
    assert sorted(p.name for p in (store / "versions").glob("*.csv")) == [
        "000001.csv",
        "000002.csv",
        "000003.csv",
    ]
    assert (store / "versions" / "000003.csv").read_bytes() == (
        store / "versions" / "000001.csv"
    ).read_bytes()

    page.locator(".canapy-reannotate-tab .canapy-keys").click()  # no focus ring in the shot
    page.mouse.move(5, 5)
    page.wait_for_timeout(400)
    _shot(page, screenshots / "reannotate-versions.png", ".canapy-versions-card")
    with capsys.disabled():
        print(
            f"\n[re-annotate timing] review (2 folds, 100 units) {review_s:.1f} s; "
            f"whole test {time.monotonic() - t0:.1f} s"
        )
    page.close()
