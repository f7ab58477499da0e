"""The figures tables of README.md and docs/ are what ``benchmarks/make_tables.py`` makes
from the committed results in ``benchmarks/results`` (no figure typed by hand)."""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


NOT_RESULTS = {"canary_statistics.json"}
"""Files of ``benchmarks/results`` that are not benchmark results: the summary of the real
canary annotations that ``canapy.synthetic_canary`` is built from (an input, not a figure)."""


@pytest.fixture(scope="module")
def make_tables():
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(ROOT / "benchmarks"))  # the scripts import their siblings
        spec = importlib.util.spec_from_file_location(
            "make_tables", ROOT / "benchmarks" / "make_tables.py"
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module


def test_committed_tables_equal_the_generated_ones(make_tables):
    assert make_tables.stale_documents() == [], "run python benchmarks/make_tables.py"


def test_every_table_block_has_a_source_line(make_tables):
    names = set()
    for doc in make_tables.DOCUMENTS:
        text = (ROOT / doc).read_text(encoding="utf-8")
        for match in make_tables.BLOCK.finditer(text):
            names.add(match.group("name"))
            body = match.group("body")
            assert "*Source: `benchmarks/results/" in body or "*Quoted, not measured here" in body
    assert {"readme-accuracy", "accuracy", "peers"} <= names


def test_every_block_is_registered_and_every_table_is_shown(make_tables):
    shown = set()
    for doc in make_tables.DOCUMENTS:
        text = (ROOT / doc).read_text(encoding="utf-8")
        shown |= {m.group("name") for m in make_tables.BLOCK.finditer(text)}
    assert shown == {"peers", *make_tables.TABLES}


def test_every_result_file_is_named_after_its_benchmark_and_says_how_it_was_made(make_tables):
    for path in sorted(make_tables.RESULTS.glob("*.json")):
        if path.name in NOT_RESULTS:
            continue
        doc = json.loads(path.read_text(encoding="utf-8"))
        assert path.name.startswith(f"{doc['benchmark']}-20"), path.name
        meta = doc["metadata"]
        assert meta["command"].startswith("python benchmarks/bench_"), path.name
        assert meta["date_utc"] and meta["commit"], path.name


def test_a_source_line_names_the_command_that_reproduces_the_table(make_tables):
    body = make_tables.render("long")
    lines = [line for line in body.splitlines() if line.startswith("*Source:")]
    assert len(lines) == len(make_tables.matching_results("long", needs="recordings"))
    assert all("made by `python benchmarks/bench_long.py" in line for line in lines)


def test_a_changed_result_changes_the_table(make_tables, tmp_path):
    _, doc = make_tables.latest_result("accuracy")
    before = make_tables.render("readme-accuracy")
    changed = copy.deepcopy(doc)
    changed["metadata"]["date_utc"] = "9999-12-31T00:00:00+00:00"  # the newest result
    default = changed["data_sets"][0]["default_model"]
    changed["data_sets"][0]["models"][default]["syllable_error_rate"] = 0.1234
    for other in make_tables.RESULTS.glob("accuracy-*.json"):
        (tmp_path / other.name).write_text(other.read_text(encoding="utf-8"))
    (tmp_path / "accuracy-new.json").write_text(json.dumps(changed))
    after = make_tables.render("readme-accuracy", results=tmp_path)
    assert after != before and f"0.123 ({default})" in after and "accuracy-new.json" in after
