"""The model registry in the served dashboard: register, promote, compare (headless Chromium).

The server has its own temporary registry (``canapy dash --registry``, see
``conftest.py``); the numbers the Evaluate tab shows are checked against
:func:`canapy.model_ops.compare_models` run here, in Python, on the same files.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = [pytest.mark.ui, pytest.mark.slow, pytest.mark.timeout(1800)]

TIMEOUT_MS = 600_000  # training on a loaded 2-core machine can take minutes
_SUMMARY_FIELDS = {
    "SER": "syllable_error_rate",
    "frame accuracy": "frame_accuracy",
    "onset F1": "onset_f1",
    "offset F1": "offset_f1",
}


def _train(page, units: str, n_runs: int) -> None:
    """Train with ``units`` reservoir units; wait until the ``n_runs``-th run is listed."""
    from playwright.sync_api import expect

    box = page.locator(".canapy-cfg-reservoir-units input")
    expect(page.locator(".canapy-data-summary div").first).to_contain_text(
        "audio files", timeout=TIMEOUT_MS
    )
    box.fill(units)
    box.press("Enter")
    train = page.locator(".canapy-train-button button")
    expect(train).to_be_enabled()
    train.click()
    expect(page.locator(".canapy-runs .tabulator-row")).to_have_count(n_runs, timeout=TIMEOUT_MS)
    expect(page.locator(".canapy-train-button button")).to_be_enabled(timeout=TIMEOUT_MS)


def _register(page, name: str, promote: bool) -> None:
    from playwright.sync_api import expect

    box = page.locator(".canapy-register-name input")
    box.fill(name)
    box.press("Enter")
    tick = page.locator(".canapy-register-promote input")
    if tick.is_checked() != promote:
        tick.click()
    button = page.locator(".canapy-register-button button")
    expect(button).to_be_enabled()
    button.click()


def _cell(row, field: str) -> str:
    return row.locator(f".tabulator-cell[tabulator-field='{field}']").inner_text().strip()


def test_register_promote_and_compare_versions(dash_server, browser, tmp_path, screenshots):
    from playwright.sync_api import expect

    from canapy.corpus import load_corpus
    from canapy.model_ops import compare_models
    from canapy.registry import Registry
    from canapy.runs import read_run

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(dash_server.url)
    _train(page, "100", 1)

    # An invalid name is refused inline, from canapy.registry.validate_name.
    box = page.locator(".canapy-register-name input")
    box.fill("bird/../x")
    box.press("Enter")
    expect(page.locator(".canapy-register-name-error div").first).to_contain_text(
        "invalid model name 'bird/../x'"
    )
    expect(page.locator(".canapy-register-button button")).to_be_disabled()

    _register(page, "bird/test", promote=True)
    done = page.locator(".canapy-register-done div").first
    expect(done).to_contain_text("bird/test@1", timeout=TIMEOUT_MS)
    versions = page.locator(".canapy-registry-versions .tabulator-row")
    expect(versions).to_have_count(1)
    assert _cell(versions.first, "promoted") == "yes"
    reg = Registry(dash_server.registry)
    assert reg.promoted("bird/test") == 1  # the registry the CLI reads

    # A second training, registered as the next version without promoting it; then the
    # table's Promote action promotes it.
    _train(page, "120", 2)
    _register(page, "bird/test", promote=False)
    expect(done).to_contain_text("bird/test@2", timeout=TIMEOUT_MS)
    expect(versions).to_have_count(2)
    assert [_cell(versions.nth(k), "version") for k in range(2)] == ["2", "1"]
    assert [_cell(versions.nth(k), "promoted") for k in range(2)] == ["", "yes"]
    versions.first.click()
    page.locator(".canapy-registry-promote button").click()
    expect(versions.first.locator(".tabulator-cell[tabulator-field='promoted']")).to_have_text(
        "yes"
    )
    assert reg.promoted("bird/test") == 2
    page.locator(".canapy-registry").first.screenshot(path=screenshots / "registry.png")

    # Evaluate: compare both versions on the active run's held-out files.
    page.locator(".bk-tab", has_text="Evaluate").click()
    sources = page.locator(".canapy-compare-sources")
    sources.scroll_into_view_if_needed()
    for ref in ("bird/test@1", "bird/test@2"):
        sources.locator("input[type=search]").click()
        page.locator(".choices__item--choice", has_text=ref).first.click()
    expect(sources.locator(".choices__list--multiple .choices__item")).to_have_count(2)
    page.keyboard.press("Escape")  # close the choice list, as a click elsewhere does
    page.locator(".canapy-compare-intro").first.click()
    expect(page.locator(".canapy-compare-files input[type=radio]").first).to_be_checked()
    page.locator(".canapy-compare-button button").click()
    rows = page.locator(".canapy-compare-summary .tabulator-row")
    expect(rows).to_have_count(2, timeout=TIMEOUT_MS)
    shown = {
        _cell(row, "model"): {col: float(_cell(row, col)) for col in _SUMMARY_FIELDS}
        for row in (rows.nth(0), rows.nth(1))
    }
    expect(page.locator(".canapy-compare-chart canvas").first).to_be_visible()
    page.locator(".canapy-compare").first.screenshot(path=screenshots / "compare.png")

    # The same comparison in Python, on the held-out files of the active (second) run.
    newest = max(dash_server.runs.iterdir())
    heldout = [Path(p) for p in read_run(newest).validation_files]
    assert heldout
    corpus = load_corpus(heldout[0].parent).subset(heldout)
    expected = compare_models(["bird/test@1", "bird/test@2"], corpus, reg, tmp_path / "cache")
    table = expected.summary_table()
    assert set(shown) == {"bird/test@1", "bird/test@2"}
    for model, row in shown.items():
        for col, key in _SUMMARY_FIELDS.items():
            assert row[col] == pytest.approx(round(float(table.loc[model, key]), 4), abs=1e-9)
    expect(page.locator(".canapy-compare-about div").first).to_contain_text(
        f"{len(heldout)} annotated file(s)"
    )
    page.close()
