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
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PEERS = ROOT / "benchmarks" / "peers.json"
DOCUMENTS = ("README.md", "docs/benchmarks.md", "docs/correction-loop.md")
"""Files (relative to the repository root) whose table blocks this script writes."""
BLOCK = re.compile(
    r"(<!-- table:(?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /table:(?P=name) -->)", re.S
)
DATA_SETS = {
    "koumura": ("Bengalese finch, Koumura Bird0", "files 0–39 / 40–59"),
    "gy6or6": ("Bengalese finch, gy6or6", "day 23-03 / day 24-03"),
    "avn": ("zebra finch, avn G402 (44.1 kHz)", "first 20 / last 10"),
}
MODEL_NAMES = {"syntactic": "syntactic", "nonsyntactic": "non-syntactic", "ensemble": "ensemble"}


def latest_result(benchmark: str, results: Path = RESULTS) -> tuple[Path, dict]:
    """The newest ``results/<benchmark>-*.json`` (by its recorded date) and its content."""
    found = []
    for path in sorted(results.glob(f"{benchmark}-*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get("benchmark") == benchmark:
            found.append((doc["metadata"]["date_utc"], path, doc))
    if not found:
        raise SystemExit(
            f"no result of {benchmark!r} in {results}: run benchmarks/bench_{benchmark}.py"
        )
    _, path, doc = max(found, key=lambda item: item[0])
    return path, doc


def provenance(path: Path, doc: dict) -> str:
    """One line saying where the figures of ``doc`` come from."""
    meta = doc["metadata"]
    threads = ", ".join(f"{k}={v}" for k, v in meta["thread_settings"].items() if v) or "unset"
    load = "/".join(f"{x:g}" for x in meta["load_average_1_5_15"])
    return (
        f"*Source: `benchmarks/results/{path.name}`, made by `{meta['command']}` at commit "
        f"`{meta['commit']}` on {meta['date_utc'][:10]}; {meta['cpu_model']}, "
        f"{meta['cpu_count']} cores, load average {load} at the start; thread settings: "
        f"{threads}.*"
    )


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [_row(header), _row(["---"] * len(header)), *(_row(r) for r in rows)]


def accuracy_table(doc: dict) -> list[str]:
    """Per data set and model: frame accuracy, SER, boundary F1, annotation speed."""
    rows = []
    for ds in doc["data_sets"]:
        name, split = DATA_SETS[ds["data_set"]]
        for i, (kind, m) in enumerate(ds["models"].items()):
            speed = f"{m['annotate_audio_s_per_s']:g} ({m['annotate_audio_s_per_cpu_s']:g})"
            first = f"{name} ({split})" if i == 0 else ""
            rows.append(
                [
                    first,
                    MODEL_NAMES[kind],
                    f"{m['frame_accuracy']:.3f}",
                    f"{m['syllable_error_rate']:.3f}",
                    f"{m['onset_f1']:.3f}",
                    f"{m['offset_f1']:.3f}",
                    speed,
                ]
            )
    header = ["data set (split)", "model", "frame accuracy", "syllable error rate"]
    header += ["onset F1", "offset F1", "× real time, wall (CPU)"]
    return _table(header, rows)


def training_table(doc: dict) -> list[str]:
    """Per data set: files, audio, fit time (wall and CPU) and peak memory."""
    rows = [
        [
            DATA_SETS[ds["data_set"]][0],
            f"{ds['train_files']} / {ds['test_files']}",
            f"{ds['test_audio_seconds']:g} s",
            f"{ds['train_seconds_all_models']:g} s",
            f"{ds['train_cpu_seconds_all_models']:g} s",
            f"{ds['peak_rss_mb']:g} MiB",
        ]
        for ds in doc["data_sets"]
    ]
    header = ["data set", "train / test files", "test audio", "fit, wall", "fit, CPU"]
    return _table([*header, "peak memory (process)"], rows)


def readme_table(doc: dict) -> list[str]:
    """The README's summary: SER of the ensemble (and syntactic), frame accuracy."""
    rows = []
    for ds in doc["data_sets"]:
        m = ds["models"]
        ser = f"{m['ensemble']['syllable_error_rate']:.3f}"
        ser += f" (syntactic {m['syntactic']['syllable_error_rate']:.3f})"
        rows.append(
            [
                DATA_SETS[ds["data_set"]][0],
                f"{ds['train_files']} / {ds['test_files']}",
                ser,
                f"{m['ensemble']['frame_accuracy']:.3f}",
                f"{ds['train_cpu_seconds_all_models']:g} s",
            ]
        )
    header = ["data set", "train / test files", "syllable error rate (ensemble)"]
    return _table([*header, "frame accuracy", "fit, CPU time"], rows)


def review_table(doc: dict) -> list[str]:
    """The correction-loop benchmark: suspects found, fixes, SER before/after."""
    n = doc["n_corrupted"]
    models = doc["models"]
    rows = [
        [
            "training segments relabelled at random (seed)",
            f"{n} of {doc['train_segments']} ({doc['seed']})",
        ],
        [
            f"precision of the corrupted segments among the top {n} suspects",
            f"{doc['precision_at_n']:.2f}",
        ],
        [f"recall among the top {n}", f"{doc['recall_at_n']:.2f}"],
        [
            "wrong training labels after accepting the top-N suggestions",
            f"{doc['wrong_labels_after_correction']} of {doc['wrong_labels_before_correction']}",
        ],
        [
            "segments with score ≥ 0.5 (precision / recall)",
            f"{doc['n_score_ge_0.5']} ({doc['precision_score_ge_0.5']:.2f} / "
            f"{doc['recall_score_ge_0.5']:.2f})",
        ],
        [f"review time ({doc['folds']} folds), wall", f"{doc['review_seconds']:g} s"],
    ]
    for name, label in (
        ("a_clean", "clean"),
        ("b_corrupted", "corrupted"),
        ("c_corrected", "corrected"),
    ):
        ser = models[name]["ensemble"]["syllable_error_rate"]
        rows.append([f"test SER of the ensemble trained on {label} data", f"{ser:.3f}"])
    return _table(["measure", "value"], rows)


def dashboard_table(doc: dict) -> list[str]:
    """Viewer build / render / zoom times and payload per recording."""
    rows = [
        [
            r["file"],
            f"{r['duration_s']:g} s",
            str(r["segments"]),
            f"{r['build_s']:g} s",
            f"{r['render_s']:g} s",
            f"{r['payload_kB']:g} kB",
            f"{r['zoom_redraw_s']:g} s",
        ]
        for r in doc["recordings"]
    ]
    header = ["recording", "duration", "segments", "build viewer", "render to Bokeh"]
    return _table([*header, "payload", "zoom redraw"], rows)


def speed_table(doc: dict) -> list[str]:
    """``bench_speed.py`` (branch speed): each ``canapy`` step as a whole process."""
    rows = [
        [
            f"`{r['command'].split(' /')[0]}` ({step})",
            f"{r.get('audio_s', 0):g} s",
            f"{r['wall_s']:g} s",
            f"{r['cpu_s']:g} s",
            f"{r['peak_rss_mb']:g} MiB",
        ]
        for step, r in doc["steps"].items()
    ]
    return _table(["step", "audio", "wall", "CPU", "peak memory"], rows)


def correction_table(doc: dict) -> list[str]:
    """``bench_correction``: actions and page time to fix the planted errors, per way."""
    rows = []
    for way, w in doc["ways"].items():
        acts = ", ".join(f"{n} {kind}" for kind, n in sorted(w["actions"].items()))
        found = w.get("find_suspects_s")
        check = w["check"]
        rows.append(
            [
                way,
                f"{w['n_actions']} ({acts})",
                f"{w['fix_seconds']:g} s"
                + (
                    f" ({len(w['retries'])} fix redone after a 90 s wait, included)"
                    if w.get("retries")
                    else ""
                ),
                "—" if found is None else f"{found:g} s",
                f"{w['server_cpu_seconds_total']:g} s",
                f"version {check['version']}: "
                + ("all fixed" if check["all_fixed"] else "NOT all fixed")
                + f" (largest edge error {check.get('max_boundary_error_ms', float('nan')):g} ms)",
            ]
        )
    header = ["way", "user actions", "page time (fixes)", "find suspects", "server CPU"]
    return _table([*header, "saved version vs clean"], rows)


def peers_table(peers: dict) -> list[str]:
    """Figures of other tools, quoted with where and how they were measured."""
    rows = [[p["tool"], p["data"], p["figures"], p["how"], p["source"]] for p in peers["quoted"]]
    return _table(["tool", "data (split)", "figures", "how measured", "where"], rows)


TABLES: dict[str, tuple[str, Callable[[dict], list[str]]]] = {
    "accuracy": ("accuracy", accuracy_table),
    "training": ("accuracy", training_table),
    "readme-accuracy": ("accuracy", readme_table),
    "review": ("review", review_table),
    "dashboard": ("dashboard", dashboard_table),
    "speed": ("speed", speed_table),
    "correction": ("correction", correction_table),
}
"""Block name -> (benchmark whose newest result it shows, renderer)."""


def render(name: str, results: Path = RESULTS, peers: Path = PEERS) -> str:
    """The body of block ``name``: the table and its source line."""
    if name == "peers":
        doc = json.loads(peers.read_text(encoding="utf-8"))
        lines = [*peers_table(doc), "", f"*Quoted, not measured here: `{peers.name}`.*"]
    elif name in TABLES:
        benchmark, fn = TABLES[name]
        path, doc = latest_result(benchmark, results)
        lines = [*fn(doc), "", provenance(path, doc)]
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
