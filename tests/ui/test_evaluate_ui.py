"""The Evaluate tab shows the figures the run saved: every model's syllable error rate, frame
accuracy, boundary F1 and per-class scores equal those of the run's ``validation.json``
(read by :func:`canapy.runs.read_validation`), to the precision shown.

Checked twice: in the session that trained the run (held-out results kept in memory) and
in a new session that opens the run from disk (the run list), so neither path can drift
from the file. Audio playback is not checked here: the viewer sends audio to the page as a
``data:`` URI only (``dashboards/viewer.py``), never by an http(s) URL.
"""

from __future__ import annotations

import time

import pytest

from canapy.runs import read_validation

pytestmark = [pytest.mark.ui, pytest.mark.slow, pytest.mark.timeout(1800)]

TIMEOUT_MS = 600_000  # training on a loaded 2-core machine can take minutes
HEADLINE = ("frame_accuracy", "syllable_error_rate", "onset_f1", "offset_f1", "n_files")
PER_CLASS = ("precision", "recall", "f1")
SHOWN_DECIMALS = 4  # the tab rounds every figure to 4 decimals (EvaluateTab)

_ROWS_JS = """rows => rows.map(r => Object.fromEntries(
  [...r.querySelectorAll('.tabulator-cell')].map(c => [
    c.getAttribute('tabulator-field'), c.innerText.trim()])))"""


def _rows(page, css: str) -> list[dict[str, str]]:
    """The cells of every rendered row of the Tabulator ``css``, by field name."""
    return page.locator(f"{css} .tabulator-row").evaluate_all(_ROWS_JS)


def _shown(value: float) -> float:
    return round(float(value), SHOWN_DECIMALS)


def _expected_metrics(saved: dict) -> dict[str, dict[str, float]]:
    return {kind: {c: _shown(res.summary()[c]) for c in HEADLINE} for kind, res in saved.items()}


def _displayed_metrics(page) -> dict[str, dict[str, float]]:
    return {
        row["model"]: {c: float(row[c]) for c in HEADLINE}
        for row in _rows(page, ".canapy-eval-metrics")
        if row.get("model")
    }


def _expected_classes(result) -> dict[str, dict[str, float]]:
    return {
        str(label): {c: _shown(result.per_class.loc[label, c]) for c in PER_CLASS}
        for label in result.per_class.index
    }


def _displayed_classes(page) -> dict[str, dict[str, float]]:
    out = {}
    for row in _rows(page, ".canapy-per-class"):
        if row.get("label"):
            out[row["label"]] = {c: float(row[c]) for c in PER_CLASS}
    return out


def _wait_equal(read, expected, what: str) -> None:
    """Poll the page until ``read()`` equals ``expected`` (the tables fill asynchronously)."""
    give_up = time.monotonic() + TIMEOUT_MS / 1000
    shown = None
    while time.monotonic() < give_up:
        try:
            shown = read()
        except (ValueError, KeyError):  # a row drawn before its cells: read again
            shown = None
        if shown == expected:
            return
        time.sleep(0.5)
    raise AssertionError(f"{what}: the page shows {shown}, validation.json says {expected}")


def _check_evaluate_tab(page, run_dir) -> None:
    from playwright.sync_api import expect

    saved = read_validation(run_dir)
    assert set(saved) == {"syntactic", "nonsyntactic", "ensemble"}
    page.locator(".bk-tab", has_text="Evaluate").click()
    expect(page.locator(".canapy-eval-source div").first).to_contain_text("Held-out")
    _wait_equal(lambda: _displayed_metrics(page), _expected_metrics(saved), "metrics table")
    buttons = page.locator(".canapy-eval-model")
    for kind, result in saved.items():
        buttons.get_by_role("button", name=kind, exact=True).click()
        _wait_equal(
            lambda: _displayed_classes(page), _expected_classes(result), f"per class, {kind}"
        )


def test_evaluate_tab_shows_the_figures_of_validation_json(dash_server, browser):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(dash_server.url)
    expect(page.locator(".canapy-data-summary div").first).to_contain_text(
        "audio files", timeout=TIMEOUT_MS
    )
    units = page.locator(".canapy-cfg-reservoir-units input")
    units.fill("100")  # small: the size of the model is not what is tested
    units.press("Enter")
    page.locator(".canapy-train-button button").click()
    expect(page.locator(".canapy-active-run div").first).to_contain_text(
        "Active:", timeout=TIMEOUT_MS
    )
    (run_dir,) = list(dash_server.runs.iterdir())
    assert (run_dir / "validation.json").is_file()
    _check_evaluate_tab(page, run_dir)  # the session that trained it: results in memory

    other = browser.new_page(viewport={"width": 1400, "height": 1000})
    other.goto(dash_server.url)
    runs = other.locator(".canapy-runs .tabulator-row")
    expect(runs).to_have_count(1)
    runs.first.click()  # a new session opens the run from disk
    expect(other.locator(".canapy-active-run div").first).to_contain_text(
        run_dir.name, timeout=TIMEOUT_MS
    )
    _check_evaluate_tab(other, run_dir)
    page.close()
    other.close()
