"""examples/dashboard.ipynb runs headless from top to bottom and displays the app."""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "dashboard.ipynb"


@pytest.mark.slow  # a Jupyter kernel runs the whole notebook
def test_example_notebook_runs_and_renders_the_app(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat", reason="nbformat is needed to read notebooks")
    nbclient = pytest.importorskip("nbclient", reason="nbclient is needed to run notebooks")
    pytest.importorskip("ipykernel", reason="ipykernel provides the python3 kernel")
    monkeypatch.setenv("CANAPY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the notebook's example corpus lands here
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()

    def outputs(i: int) -> list[dict]:
        return [o for o in nb.cells[i].outputs if o.output_type != "stream"]

    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    for i in code:
        errors = [o for o in nb.cells[i].outputs if o.output_type == "error"]
        assert not errors, f"cell {i} raised: {errors}"
    extension = " ".join(str(o.get("data", {})) for o in outputs(code[0]))
    assert "tabulator" in extension.lower(), "pn.extension() loads the tables' JavaScript"

    def data(i: int) -> dict:
        merged: dict = {}
        for o in outputs(i):
            merged.update(o.get("data", {}))
        return merged

    assert "application/vnd.holoviews_exec.v0+json" in data(code[1])  # a live Panel view
    assert "ensemble" in str(data(code[2])["text/plain"])
    metrics = str(data(code[3])["text/plain"])
    assert all(kind in metrics for kind in ("syntactic", "nonsyntactic", "ensemble"))
    assert "application/vnd.holoviews_exec.v0+json" in data(code[4])
