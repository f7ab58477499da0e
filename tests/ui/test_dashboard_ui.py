"""The served dashboard, driven in headless Chromium.

Each test has its own ``canapy dash --example`` server (see ``conftest.py``) and opens its
own browser pages, i.e. its own sessions: no test needs another's run. Selectors use the
``canapy-*`` css classes the components set (Playwright's css engine pierces Bokeh's shadow roots).
"""

from __future__ import annotations

import json
import re
import signal
import time
import urllib.request

import pytest

# A server and a browser per test; minutes each on a loaded machine.
pytestmark = [pytest.mark.ui, pytest.mark.slow, pytest.mark.timeout(1800)]

TIMEOUT_MS = 600_000  # training or reviewing on a loaded 2-core machine can take minutes


def _open(browser, url: str):
    """A new page (a new session) with the corpus loaded."""
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url)
    expect(page.locator(".canapy-data-summary div").first).to_contain_text(
        "audio files", timeout=TIMEOUT_MS
    )
    return page


def _text(page, css: str) -> str:
    return page.locator(f"{css} div").first.inner_text()


def _set_number(page, name: str, value: str) -> None:
    box = page.locator(f".canapy-cfg-{name} input")
    box.fill(value)
    box.press("Enter")


def _shot(page, path, bottom_css: str) -> None:
    """Screenshot of the page down to the bottom of ``bottom_css`` (no blank space)."""
    box = page.locator(bottom_css).first.bounding_box()
    height = box["y"] + box["height"] + 16
    page.screenshot(
        path=path, full_page=True, clip={"x": 0, "y": 0, "width": 1400, "height": height}
    )


def _n_runs(folder) -> int:
    """Number of run folders (the runs folder appears with the first run)."""
    return len(list(folder.iterdir())) if folder.is_dir() else 0


def _tab(page, title: str) -> None:
    page.locator(".bk-tab", has_text=title).click()


_FRAMES_JS = """() => {
  const seen = new Set();
  const out = [];
  function walk(v) {
    if (!v || seen.has(v)) return;
    seen.add(v);
    if (v.frame) {
      const r = v.el.getBoundingClientRect();
      const b = v.frame.bbox;
      const title = (v.model.title && v.model.title.text) || "";
      out.push({title, left: r.left, top: r.top, x: r.left + b.x0, y: r.top + b.y0,
                w: b.width, h: b.height});
    }
    for (const c of (v.child_views || [])) walk(c);
  }
  const idx = Bokeh.index;
  ((typeof idx.values === "function") ? [...idx.values()] : Object.values(idx)).forEach(walk);
  return out;
}"""


def _plot_frame(page, title: str = "", css: str = "") -> dict:
    """Page coordinates of the data area of a Bokeh plot: the one whose title contains
    ``title``, or the one drawn in the element ``css``."""
    frames = page.evaluate(_FRAMES_JS)
    if css:
        box = page.locator(css).first.bounding_box()
        frames = [f for f in frames if abs(f["left"] - box["x"]) + abs(f["top"] - box["y"]) < 4]
    else:
        frames = [f for f in frames if title in f["title"]]
    assert frames, f"no plot titled {title!r} / in {css!r}"
    return frames[0]


def test_train_from_the_train_tab_then_evaluate(dash_server, browser, screenshots, capsys):
    from playwright.sync_api import expect

    page = _open(browser, dash_server.url)
    loaded = time.monotonic()
    train = page.locator(".canapy-train-button button")
    expect(train).to_be_enabled()

    # The config editor validates through canapy.config: the error shows, Train disables.
    _set_number(page, "reservoir-units", "5")
    expect(page.locator(".canapy-config-error div").first).to_contain_text(
        "invalid value for reservoir.units"
    )
    expect(train).to_be_disabled()
    _set_number(page, "reservoir-units", "100")  # small: seconds on the example corpus
    expect(train).to_be_enabled()
    expect(page.locator(".canapy-config-error")).to_be_hidden()

    clicked = time.monotonic()
    train.click()
    expect(page.locator(".canapy-cancel button")).to_be_visible()
    page.wait_for_timeout(1500)  # a little progress to show (or done: no matter)
    _shot(page, screenshots / "training.png", ".canapy-tabs .bk-tab")
    expect(page.locator(".canapy-active-run div").first).to_contain_text(
        "Active:", timeout=TIMEOUT_MS
    )
    shown = time.monotonic()
    expect(page.locator(".canapy-runs .tabulator-row")).to_have_count(1)
    assert "ensemble" in page.locator(".canapy-runs .tabulator-row").first.inner_text()
    assert len(list(dash_server.runs.iterdir())) == 1
    _shot(page, screenshots / "train.png", ".canapy-runs")
    with capsys.disabled():
        print(
            f"\n[canapy dash timing] start -> serving {dash_server.ready - dash_server.started:.1f}"
            f" s; page loaded {loaded - dash_server.started:.1f} s; Train clicked -> model on"
            f" screen {shown - clicked:.1f} s; total from `canapy dash --example` start to a"
            f" trained model on screen: {shown - dash_server.started:.1f} s (incl. test typing)"
        )

    _tab(page, "Evaluate")
    expect(page.locator(".canapy-confusion canvas").first).to_be_visible()
    metrics = page.locator(".canapy-eval-metrics")
    for kind in ("syntactic", "nonsyntactic", "ensemble"):
        expect(metrics).to_contain_text(kind)
    expect(page.locator(".canapy-eval-source div").first).to_contain_text("Held-out")
    expect(page.locator(".canapy-per-class")).to_contain_text("SIL")
    viewer_title = page.locator(".canapy-eval-tab .canapy-viewer-title div").first
    expect(viewer_title).to_contain_text(".wav", timeout=TIMEOUT_MS)

    # A row of the per-file table opens that recording in the viewer.
    rows = page.locator(".canapy-per-file .tabulator-row")
    expect(rows).to_have_count(2)  # 20 % of 12 files held out
    name = rows.nth(1).locator(".tabulator-cell[tabulator-field=file]").inner_text()
    rows.nth(1).click()
    expect(viewer_title).to_contain_text(name)
    expect(page.locator(".canapy-eval-tab .canapy-viewer-plot canvas").first).to_be_visible()

    # A cell of the confusion matrix lists the files where that confusion happens: here
    # silence (first row) taken for the first syllable label (second column).
    # On a loaded machine the first click can land before the plot's tap handler is wired:
    # click again (the plot re-measured) until the page shows the cell, up to TIMEOUT_MS.
    n = page.locator(".canapy-per-class .tabulator-row").count()
    cell_info = page.locator(".canapy-cell-info div").first
    cell_text = re.compile(r"SIL.* predicted as .*A.* file\(s\)")
    give_up = time.monotonic() + TIMEOUT_MS / 1000
    while True:
        frame = _plot_frame(page, "true vs predicted")
        page.mouse.click(frame["x"] + 1.5 * frame["w"] / n, frame["y"] + 0.5 * frame["h"] / n)
        try:
            expect(cell_info).to_contain_text(cell_text, timeout=15_000)
            break
        except AssertionError:
            if time.monotonic() > give_up:
                raise
    page.locator(".canapy-eval-header").click()  # no tooltip nor focus ring in the screenshot
    page.wait_for_timeout(500)
    _shot(page, screenshots / "evaluate.png", ".canapy-eval-tab .canapy-viewer")

    _tab(page, "Re-annotate")
    files = page.locator(".canapy-review-files .tabulator-row")
    expect(files).to_have_count(14)
    review_title = page.locator(".canapy-reannotate-tab .canapy-viewer-title div").first
    expect(review_title).to_contain_text("song_000.wav")
    files.nth(3).click()
    expect(review_title).to_contain_text("song_003.wav")
    # A click on a box of the reference track selects that segment for playback (the
    # canvas publishes its geometry and segments as data-* attributes).
    canvas = page.locator(".canapy-reannotate-tab .canapy-viewer-plot canvas").first
    expect(canvas).to_have_attribute("data-ready", "1")
    canvas.scroll_into_view_if_needed()  # a mouse click at page coordinates must be on screen
    box, attr = canvas.bounding_box(), canvas.get_attribute
    on, off = json.loads(attr("data-segments"))[2][:2]
    v0, v1 = float(attr("data-view0")), float(attr("data-view1"))
    x = (
        box["x"]
        + float(attr("data-left"))
        + ((on + off) / 2 - v0) / (v1 - v0) * float(attr("data-plot-width"))
    )
    page.mouse.click(x, box["y"] + float(attr("data-track-y")))
    selection = page.locator(".canapy-reannotate-tab .canapy-selection div").first
    expect(selection).to_contain_text(re.compile(r"Selected: .* \(reference\)"))
    play = page.locator(".canapy-reannotate-tab .canapy-play-segment button")
    expect(play).to_be_enabled()
    play.click()
    audio = page.locator(".canapy-reannotate-tab .canapy-player").first
    expect(audio).to_have_attribute("src", re.compile(r"^data:audio/wav;base64,"))
    page.mouse.move(5, 5)
    page.wait_for_timeout(500)
    _shot(page, screenshots / "reannotate.png", ".canapy-review-files")
    page.close()


def _train_small(page) -> None:
    """Train a 100-unit model in ``page``'s session and wait until it is the active run."""
    from playwright.sync_api import expect

    _set_number(page, "reservoir-units", "100")
    page.locator(".canapy-train-button button").click()
    expect(page.locator(".canapy-active-run div").first).to_contain_text(
        "Active:", timeout=TIMEOUT_MS
    )


def test_two_sessions_do_not_share_state(dash_server, browser):
    from playwright.sync_api import expect

    trainer = _open(browser, dash_server.url)
    _train_small(trainer)  # a run on disk, made by another session
    a = _open(browser, dash_server.url)
    b = _open(browser, dash_server.url)
    _set_number(a, "reservoir-units", "123")
    a.locator(".canapy-cfg-preset select").select_option("canary")
    expect(a.locator(".canapy-cfg-reservoir-leak-rate input")).to_have_value("0.1")
    b.wait_for_timeout(500)
    assert b.locator(".canapy-cfg-reservoir-units input").input_value() == "600"
    assert b.locator(".canapy-cfg-reservoir-leak-rate input").input_value() == "0.2"
    c = _open(browser, dash_server.url)  # a session opened after the change
    assert c.locator(".canapy-cfg-reservoir-units input").input_value() == "600"
    # The run trained by the other session is on disk for everyone, but active in no new one.
    expect(c.locator(".canapy-runs .tabulator-row")).to_have_count(1)
    _tab(c, "Evaluate")
    expect(c.locator(".canapy-eval-empty div").first).to_contain_text("No model to evaluate")
    for page in (trainer, a, b, c):
        page.close()


def test_server_answers_while_a_session_trains(dash_server, browser):
    """While session A trains, the server answers HTTP and another session works.

    No time bound here (a loaded machine is slow, not broken): how fast the server answers
    during training is measured by ``benchmarks/bench_dashboard.py``.
    """
    from playwright.sync_api import expect

    a = _open(browser, dash_server.url)
    n_runs = _n_runs(dash_server.runs)
    # A large reservoir keeps A busy long enough for the steps below on a quiet machine too
    # (300 units trained the example corpus in ~4 s, before B was even open).
    _set_number(a, "reservoir-units", "3000")
    a.locator(".canapy-train-button button").click()
    expect(a.locator(".canapy-status div").first).to_contain_text("training", timeout=TIMEOUT_MS)

    with urllib.request.urlopen(dash_server.url, timeout=TIMEOUT_MS / 1000) as response:
        assert response.status == 200

    b = _open(browser, dash_server.url)
    expect(b.locator(".canapy-train-button button")).to_be_enabled()  # B is not busy
    _set_number(b, "reservoir-units", "42")  # B reacts while A trains
    expect(b.locator(".canapy-train-hint div").first).to_contain_text("Trains")

    expect(a.locator(".canapy-cancel button")).to_be_visible()  # A is still training
    a.locator(".canapy-cancel button").click()
    expect(a.locator(".canapy-status div").first).to_contain_text(
        "training cancelled", timeout=TIMEOUT_MS
    )
    expect(a.locator(".canapy-train-button button")).to_be_enabled()
    assert _n_runs(dash_server.runs) == n_runs  # a cancelled run leaves nothing
    a.close()
    b.close()


def test_ctrl_c_stops_the_server_cleanly(dash_server):
    match = re.search(r"data: (\S+)corpus;", dash_server.output())
    assert match, dash_server.output()
    dash_server.proc.send_signal(signal.SIGINT)
    assert dash_server.proc.wait(timeout=120) == 0
    out = dash_server.output()
    assert "canapy dashboard stopped" in out
    assert "Traceback" not in out, out
    from pathlib import Path

    assert not Path(match.group(1)).exists(), "the temporary example corpus is removed"
