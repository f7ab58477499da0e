"""Write the figures tables of README.md and docs/ from the results in ``benchmarks/results``.

Every table of figures in the docs sits between two markers::

    <!-- table:NAME -->
    ...generated, do not edit by hand...
    <!-- /table:NAME -->

and is rebuilt here from the newest result JSON of its benchmark (written by
``run_metadata.write_results``), ending with a line that names the file, the command that
made it, the commit, the CPU, the thread settings and the machine load. Quoted figures of
other tools come from ``benchmarks/peers.json``, with where and how they were measured.
``tests/unit/test_benchmark_tables.py`` checks that the committed tables are what this
script makes from the committed JSON.

Usage (from the repository root)::

    python benchmarks/make_tables.py           # rewrite the blocks in place
    python benchmarks/make_tables.py --check   # exit 1 if a block is out of date
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import tables_accuracy
import tables_analysis
import tables_runtime
from table_kit import Table, table

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PEERS = ROOT / "benchmarks" / "peers.json"
DOCUMENTS = (
    "README.md",
    "docs/benchmarks.md",
    "docs/correction-loop.md",
    "docs/analysis.md",
    "docs/serve.md",
)
"""Files (relative to the repository root) whose table blocks this script writes."""
BLOCK = re.compile(
    r"(<!-- table:(?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /table:(?P=name) -->)", re.S
)


def matching_results(
    benchmark: str,
    results: Path = RESULTS,
    needs: str | None = None,
    variant: str | None = None,
) -> list[tuple[Path, dict]]:
    """Every ``results/<benchmark>-*.json`` of that ``variant`` (holding ``needs``), newest
    first by its recorded date."""
    found = []
    for path in sorted(results.glob(f"{benchmark}-*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get("benchmark") != benchmark or doc.get("variant") != variant:
            continue
        if needs is None or needs in doc:
            found.append((doc["metadata"]["date_utc"], path, doc))
    found.sort(key=lambda item: item[0], reverse=True)
    if not found:
        what = f"{benchmark!r}" + (f" (variant {variant!r})" if variant else "")
        what += f" holding {needs!r}" if needs else ""
        raise SystemExit(f"no result of {what} in {results}: run benchmarks/bench_{benchmark}.py")
    return [(path, doc) for _, path, doc in found]


def latest_result(benchmark: str, results: Path = RESULTS) -> tuple[Path, dict]:
    """The newest ``results/<benchmark>-*.json`` (by its recorded date) and its content."""
    return matching_results(benchmark, results)[0]


def provenance(path: Path, doc: dict) -> str:
    """One line saying where the figures of ``doc`` come from and how to remake them."""
    meta = doc["metadata"]
    threads = ", ".join(f"{k}={v}" for k, v in meta["thread_settings"].items() if v) or "unset"
    load = meta.get("load_average_1_5_15")
    if load is None:
        load = "not recorded"
    else:
        load = (
            "/".join(f"{round(x, 2):g}" for x in load) + f" {meta.get('load_note', 'at the start')}"
        )
    made = f"made by `{meta['command']}`"
    if meta.get("command_recorded") is False:
        made += " (command reconstructed: the file did not record it)"
    date = meta["date_utc"][:10]
    if "date_note" in meta:
        date += " (date of the commit that added the result)"
    cpu = meta.get("cpu_model") or "CPU not recorded"
    cores = meta.get("cpu_count")
    return (
        f"*Source: `benchmarks/results/{path.name}`, {made} at commit `{meta['commit']}` on "
        f"{date}; {cpu}, {cores or '?'} cores, load average {load}; "
        f"thread settings: {threads}.*"
    )


def peers_table(peers: dict) -> list[str]:
    """Figures of other tools, quoted with where and how they were measured."""
    rows = [[p["tool"], p["data"], p["figures"], p["how"], p["source"]] for p in peers["quoted"]]
    return table(["tool", "data (split)", "figures", "how measured", "where"], rows)


TABLES: dict[str, Table] = {
    **tables_accuracy.TABLES,
    **tables_runtime.TABLES,
    **tables_analysis.TABLES,
}
"""Block name -> table: the registry. A new table is one entry in a ``tables_*.py`` module."""


def render(name: str, results: Path = RESULTS, peers: Path = PEERS) -> str:
    """The body of block ``name``: the table and its source line(s)."""
    if name == "peers":
        doc = json.loads(peers.read_text(encoding="utf-8"))
        lines = [*peers_table(doc), "", f"*Quoted, not measured here: `{peers.name}`.*"]
    elif name in TABLES:
        spec = TABLES[name]
        found = matching_results(spec.benchmark, results, spec.needs, spec.variant)
        if not spec.every:
            found = found[:1]
        body = spec.render([doc for _, doc in found]) if spec.every else spec.render(found[0][1])
        lines = [*body, "", *(provenance(path, doc) for path, doc in found)]
    else:
        raise SystemExit(f"unknown table {name!r}; known: peers, {', '.join(TABLES)}")
    return "\n".join(lines) + "\n"


def regenerate(text: str, results: Path = RESULTS, peers: Path = PEERS) -> str:
    """``text`` with every ``<!-- table:NAME -->`` block rebuilt."""
    return BLOCK.sub(
        lambda m: m.group(1) + render(m.group("name"), results, peers) + m.group(4), text
    )


def stale_documents(root: Path = ROOT) -> list[str]:
    """Documents whose table blocks differ from what the results give."""
    return [
        doc
        for doc in DOCUMENTS
        if regenerate((root / doc).read_text(encoding="utf-8"))
        != (root / doc).read_text(encoding="utf-8")
    ]


def main(argv: list[str] | None = None) -> int:
    """Rewrite the table blocks, or with ``--check`` list the out-of-date documents."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if stale")
    args = parser.parse_args(argv)
    stale = stale_documents()
    if args.check:
        for doc in stale:
            print(f"{doc}: tables out of date; run python benchmarks/make_tables.py")
        return 1 if stale else 0
    for doc in stale:
        path = ROOT / doc
        path.write_text(regenerate(path.read_text(encoding="utf-8")), encoding="utf-8")
        print(f"rewrote the tables of {doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
