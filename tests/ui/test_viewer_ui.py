"""The spectrogram viewer as an audio editor, driven with the mouse and keys in Chromium.

Each test opens its own page (its own session) on the module's ``canapy dash --example``
server. The canvas publishes its geometry and state as ``data-*`` attributes (visible
time range, plot left edge and width, the editable track's height, frequency range,
playhead), so the tests compute where a time is on screen and wait on the page's state,
never on the clock.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.ui

TIMEOUT_MS = 240_000
FRAME_S = 0.002
"""One feature frame (the default ``features.hop_ms``): the tolerance of a drag."""
CANVAS = ".canapy-reannotate-tab .canapy-viewer-plot canvas"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``canapy dash --example`` for this module; its URL once it listens.

    Waits for the line the command prints when it listens (not for a first page, which
    builds a whole session and can take minutes on a busy machine).
    """
    tmp = tmp_path_factory.mktemp("viewer")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "CANAPY_CACHE_DIR": str(tmp / "cache"), "PYTHONUNBUFFERED": "1"}
    log = tmp / "server.log"
    cmd = [sys.executable, "-m", "canapy", "dash", "--example", "--no-browser"]
    cmd += ["--port", str(port), "--output", str(tmp / "runs")]
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=tmp, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + TIMEOUT_MS / 1000 * 3
        while "canapy dashboard: http" not in log.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"canapy dash did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _open_reannotate(browser, url: str):
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)  # a busy machine: generous, state-tied waits
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url, timeout=TIMEOUT_MS)
    expect(page.locator(".canapy-data-summary div").first).to_contain_text("audio files")
    page.locator(".bk-tab", has_text="Re-annotate").click()
    canvas = page.locator(CANVAS).first
    expect(canvas).to_have_attribute("data-ready", "1")
    expect(canvas).to_have_attribute("data-n-segments", re.compile(r"^[1-9]"))
    return page, canvas


class Geometry:
    """Where times are on the canvas, read from its data-* attributes."""

    def __init__(self, canvas) -> None:
        canvas.scroll_into_view_if_needed()  # clicks at page coordinates must be on screen
        box = canvas.bounding_box()
        attr = canvas.get_attribute
        self.x0 = box["x"] + float(attr("data-left"))
        self.w = float(attr("data-plot-width"))
        self.v0, self.v1 = float(attr("data-view0")), float(attr("data-view1"))
        self.track_y = box["y"] + float(attr("data-track-y"))
        self.spec_y = box["y"] + float(attr("data-spec-top")) + float(attr("data-spec-height")) / 2

    @property
    def s_per_px(self) -> float:
        return (self.v1 - self.v0) / self.w

    def x(self, t: float) -> float:
        return self.x0 + (t - self.v0) / self.s_per_px


def _segments(canvas) -> list[tuple[float, float, str]]:
    """The recording's segments as the correction state holds them (sent to the canvas)."""
    rows = json.loads(canvas.get_attribute("data-segments"))
    return [(on, off, label) for on, off, label, *_ in rows]


def _wait(page, canvas, condition: str, *args: float) -> None:
    """Wait until ``condition`` (JS over the canvas ``c`` and the numbers ``a``) holds."""
    page.wait_for_function(f"([c, a]) => {condition}", arg=[canvas.element_handle(), list(args)])


def _zoom_on(page, canvas, t: float, times: int = 2) -> Geometry:
    """Wheel-zoom (time only) around ``t``; wait until the page shows the new range."""
    g = Geometry(canvas)
    span = g.v1 - g.v0
    page.mouse.move(g.x(t), g.spec_y)
    for _ in range(times):
        page.mouse.wheel(0, -400)
    _wait(page, canvas, "+c.dataset.view1 - +c.dataset.view0 < 0.6 * a[0]", span)
    return Geometry(canvas)


def _drag(page, x_from: float, x_to: float, y: float) -> None:
    page.mouse.move(x_from, y)
    page.mouse.down()
    for k in range(1, 11):
        page.mouse.move(x_from + (x_to - x_from) * k / 10, y)
    page.mouse.up()


def test_drag_a_boundary_moves_the_stored_segment(server, browser):
    from playwright.sync_api import expect

    page, canvas = _open_reannotate(browser, server)
    on, off, _ = _segments(canvas)[0]
    g = _zoom_on(page, canvas, (on + off) / 2)
    assert (off - on) / g.s_per_px > 40  # wide enough to grab an edge
    dx = -25.0  # shrink the segment from its end
    _drag(page, g.x(off) - 1, g.x(off) - 1 + dx, g.track_y)
    expected = off + dx * g.s_per_px
    _wait(page, canvas, "JSON.parse(c.dataset.segments)[0][1] != a[0]", off)
    new_on, new_off, _ = _segments(canvas)[0]
    assert new_on == pytest.approx(on, abs=1e-4)
    assert new_off == pytest.approx(expected, abs=FRAME_S)
    expect(page.locator(".canapy-edit-state div").first).to_contain_text("1 unsaved change(s)")
    # the body: drag the whole segment right by 10 px (its length is kept)
    g = Geometry(canvas)
    _drag(page, g.x((new_on + new_off) / 2), g.x((new_on + new_off) / 2) + 10, g.track_y)
    _wait(page, canvas, "JSON.parse(c.dataset.segments)[0][0] != a[0]", new_on)
    moved_on, moved_off, _ = _segments(canvas)[0]
    assert moved_on - new_on == pytest.approx(10 * g.s_per_px, abs=FRAME_S)
    assert moved_off - moved_on == pytest.approx(new_off - new_on, abs=1e-4)
    page.close()


def test_draw_a_segment_label_it_by_key_delete_and_undo(server, browser):
    from playwright.sync_api import expect

    page, canvas = _open_reannotate(browser, server)
    segs = _segments(canvas)
    gaps = [(b[0] - a[1], a[1], b[0]) for a, b in itertools.pairwise(segs)]
    _, gap_on, gap_off = max(gaps)
    g = _zoom_on(page, canvas, (gap_on + gap_off) / 2, times=1)
    a, b = gap_on + 0.2 * (gap_off - gap_on), gap_on + 0.8 * (gap_off - gap_on)
    _drag(page, g.x(a), g.x(b), g.spec_y)  # on the spectrogram, over an empty stretch
    _wait(page, canvas, "c.dataset.pending.includes(',')")
    page.keyboard.press("E")
    page.keyboard.press("C")  # at once: the new segment holds the selection and the keys
    n_segs = "JSON.parse(c.dataset.segments).length == a[0]"
    _wait(page, canvas, n_segs, len(segs) + 1)
    n_c = "JSON.parse(c.dataset.segments).filter((s) => s[2] == 'C').length == a[0]"
    _wait(page, canvas, n_c, sum(s[2] == "C" for s in segs) + 1)
    new = [s for s in _segments(canvas) if s not in segs]
    assert len(new) == 1
    assert new[0][2] == "C"  # added as E, relabelled C without a click on its box
    assert new[0][0] == pytest.approx(a, abs=max(FRAME_S, g.s_per_px))
    assert new[0][1] == pytest.approx(b, abs=max(FRAME_S, g.s_per_px))
    expect(page.locator(".canapy-reannotate-tab .canapy-selection div").first).to_contain_text(
        "Selected: C"
    )
    expect(page.locator(".canapy-edit-state div").first).to_contain_text(
        "1 unsaved change(s)"
    )  # one new segment
    # hovering it says what it is
    g = Geometry(canvas)
    page.mouse.move(g.x((new[0][0] + new[0][1]) / 2), g.track_y)
    _wait(page, canvas, "c.dataset.hover.startsWith('C ')")
    ms = round((new[0][1] - new[0][0]) * 1000)
    assert f"{new[0][0]:.3f}–{new[0][1]:.3f} s" in canvas.get_attribute("data-hover")
    assert f"({ms} ms)" in canvas.get_attribute("data-hover")
    page.keyboard.press("Delete")
    _wait(page, canvas, n_segs, len(segs))
    page.keyboard.press("Control+z")
    _wait(page, canvas, n_segs, len(segs) + 1)
    page.close()


def test_wheel_zooms_time_and_keeps_the_frequency_range(server, browser):
    page, canvas = _open_reannotate(browser, server)
    before = (canvas.get_attribute("data-freq0"), canvas.get_attribute("data-freq1"))
    g0 = Geometry(canvas)
    g = _zoom_on(page, canvas, (g0.v0 + g0.v1) / 2)
    assert g.v1 - g.v0 < 0.6 * (g0.v1 - g0.v0)
    assert (canvas.get_attribute("data-freq0"), canvas.get_attribute("data-freq1")) == before
    low, high = page.locator(".canapy-reannotate-tab .canapy-freq-range input").all()[:2]
    assert float(low.input_value()) == pytest.approx(float(before[0]))
    assert float(high.input_value()) == pytest.approx(float(before[1]))
    assert canvas.get_attribute("data-track-y")  # the label track is still drawn
    page.close()


def test_play_from_the_cursor_moves_the_playhead(server, browser):
    page, canvas = _open_reannotate(browser, server)
    g = Geometry(canvas)
    cursor = g.v0 + 0.3 * (g.v1 - g.v0)
    page.mouse.click(g.x(cursor), g.spec_y)  # a click on the spectrogram sets the cursor
    tab = page.locator(".canapy-reannotate-tab")
    tab.locator(".canapy-speed button", has_text="0.5×").click()
    tab.locator(".canapy-play button").click()
    _wait(page, canvas, "+c.dataset.playhead > a[0]", cursor)
    first = max(float(canvas.get_attribute("data-playhead")), cursor)
    _wait(page, canvas, "+c.dataset.playhead > a[0] + 0.05", first)  # it moves on
    assert tab.locator(".canapy-player").first.evaluate("a => a.playbackRate") == 0.5
    page.close()
