"""Tables of the run-time benchmarks: ``bench_speed``, ``bench_threads``, ``bench_long``,
``bench_serve`` (see ``table_kit`` for how a table is declared)."""

from __future__ import annotations

from table_kit import Table, mib, seconds, table


def speed_table(doc: dict) -> list[str]:
    """``bench_speed.py``: each ``canapy`` step as a whole process, the original's beside."""
    quoted = doc.get("original_canapy", {})
    original = {
        "train-60": quoted.get("fit_60_koumura_s"),
        "annotate-30": quoted.get("predict_30_koumura_s"),
        "annotate-30-ensemble": quoted.get("predict_30_koumura_s"),
    }
    rows = [
        [
            f"`{r['command'].split(' /')[0]}` ({step})",
            seconds(r.get("audio_s")),
            seconds(r["wall_s"]),
            seconds(r["cpu_s"]),
            mib(r["peak_rss_mb"]),
            seconds(original.get(step)) if original.get(step) else "",
        ]
        for step, r in doc["steps"].items()
    ]
    header = ["step", "audio", "wall", "CPU", "peak memory", "original canapy (quoted)"]
    return table(header, rows)


def profile_table(doc: dict) -> list[str]:
    """``bench_profile.py``: seconds per part of each profiled step, and its share."""
    steps = doc["steps"]
    parts = list(next(iter(steps.values()))["parts_s"])
    rows = []
    for part in parts:
        cells = [part]
        for res in steps.values():
            sec, total = res["parts_s"][part], res["parts_s"]["total (profiled)"]
            cells.append(f"{sec:.2f} s ({100 * sec / total:.0f} %)")
        rows.append(cells)
    header = ["part", *(f"`{r['command'].split(' /')[0]}` ({step})" for step, r in steps.items())]
    return table(header, rows)


def beside(kind: str, burners: int) -> str:
    """What the benchmark itself ran beside ``canapy train`` (``quiet`` or ``busy``)."""
    return f"{burners} CPU-burning processes" if kind == "busy" else "nothing"


def threads_table(doc: dict) -> list[str]:
    """``bench_threads.py``: ``canapy train`` per thread setting, with and without burners."""
    names = {"canapy": "Canapy's choice (1)", "2-threads": "`CANAPY_THREADS=2`"}
    rows = [
        [
            beside(c["machine"], doc["busy_processes"]),
            names.get(c["setting"], c["setting"]),
            seconds(c["wall_s"]),
            seconds(c["cpu_s"]),
            "/".join(f"{x:g}" for x in c["load_average_before"]),
        ]
        for c in doc["cases"]
    ]
    header = ["run beside it", "BLAS threads", "wall", "CPU (user + system)", "load average before"]
    return [f"`canapy train`, {doc['data']}:", "", *table(header, rows)]


def long_table(docs: list[dict]) -> list[str]:
    """``bench_long.py``: one row per recording length (each part from the newest run of it)."""
    by_length: dict[float, dict] = {}
    for doc in docs:  # newest first: each part from the newest run that measured it
        for rec in doc["recordings"]:
            row = by_length.setdefault(rec["seconds"], {"gate": rec["gate"]})
            for part in ("gated", "ungated"):
                if part in rec:
                    row.setdefault(part, rec[part])

    def cells(fig: dict | None) -> list[str]:
        if fig is None:
            return ["not run", "—", "—"]
        return [
            f"{fig['peak_rss_mb'] / 1024:.2f} GiB",
            f"{fig['cpu_s']:g} s ({fig['x_real_time_cpu']:g} ×)",
            seconds(fig["wall_s"]),
        ]

    rows = []
    for length in sorted(by_length):
        rec = by_length[length]
        gate = rec["gate"]
        rows.append(
            [
                f"{length / 60:g} min" if length < 3600 else f"{length / 3600:g} h",
                f"{gate['kept_fraction']:.0%}",
                f"{gate['recall']:.3f} ({gate['segments']} segments)",
                *cells(rec.get("gated")),
                *cells(rec.get("ungated")),
            ]
        )
    header = ["recording", "gate kept", "gate recall", "peak RSS, gated"]
    header += ["CPU gated (× real time)", "wall gated", "peak RSS, no gate"]
    return table([*header, "CPU no gate (× real time)", "wall no gate"], rows)


def long_checks_table(doc: dict) -> list[str]:
    """``bench_long.py``: streaming = whole file; ``--workers 2`` = one process."""
    same, dask = doc["streaming_vs_whole"], doc["dask"]
    rows = [
        [
            "streaming vs whole file (gate off), the shared test files",
            f"{same['identical_files']} of {same['files']} annotation tables identical "
            f"(frame agreement {same['frame_agreement']:g})",
            "",
            "",
            "",
        ]
    ]
    long_keys = [k for k in dask if k.startswith("long_") and k.endswith("s")]
    recordings = [
        (k, f"`annotate`, a {float(k[5:-1]) / 60:g} min recording (gated)") for k in long_keys
    ]
    inputs = (
        ("files_30", "`annotate`, 30 Koumura files"),
        *recordings,
        ("train", "`canapy train`, 40 files, warm feature cache"),
    )
    for key, what in inputs:
        part = dask[key]
        one, two = part["single"], part["workers"]
        if "readout_max_relative_difference" in part:
            diff = part["readout_max_relative_difference"]
            same_out = "readouts: max relative difference " + ", ".join(
                f"{k} {v:.1e}" for k, v in diff.items()
            )
        else:
            identical = part["annotation_files_identical"]
            same_out = "byte-identical files" if identical else "files DIFFER"
        rows.append(
            [
                what,
                same_out,
                f"{one['wall_s']:g} s / {one['cpu_s']:g} s",
                f"{two['wall_s']:g} s / {two['cpu_s']:g} s",
                f"{part['speedup_wall']:g} ({part['cpu_ratio']:g})",
            ]
        )
    header = ["check", "outputs", "one process: wall / CPU"]
    header += [f"`--workers {dask['workers']}`: wall / CPU", "speed-up, wall (CPU ratio)"]
    return table(header, rows)


def _memory_after_burst(svc: dict) -> dict:
    memory = next(v for k, v in svc.items() if k.startswith("memory_peak_rss_mb"))
    return memory["after_4_concurrent"]


def _probe(stats: dict) -> str:
    return f"{stats['median_ms']:g} ms / {stats['p95_ms']:g} ms / {stats['max_ms']:g} ms"


def serve_table(doc: dict) -> list[str]:
    """``bench_serve.py``: latency, throughput, memory, ``/health``."""
    svc = doc["service"]
    seq, burst = svc["sequential_annotate"], svc["concurrent_4_annotate"]
    mem = _memory_after_burst(svc)
    idle, during = svc["health_idle"], burst["health_during"]
    workers = " + ".join(f"{w:.0f}" for w in mem["workers_peak_rss_mb"])
    old_probe = svc.get("health_idle_new_client_per_probe (the previous method)")
    rows = [
        [
            "one request at a time: latency (median / p95)",
            f"{seq['latency']['median_ms'] / 1000:.1f} s / {seq['latency']['p95_ms'] / 1000:.1f} s",
        ],
        [
            "one request at a time: throughput",
            f"{seq['files_per_s']:g} files/s, {seq['audio_s_per_s']:g} s of audio per s "
            f"({seq['wall_s']:g} s wall, {seq['server_and_workers_cpu_s']:g} s CPU)",
        ],
        [
            f"{burst['requests']} concurrent requests ({burst['bursts_of_4']} bursts of 4)",
            f"{burst['wall_s']:g} s wall, {burst['server_and_workers_cpu_s']:g} s CPU",
        ],
        [
            "peak memory, 4 concurrent requests",
            f"{mem['total_peak_rss_mb']:.0f} MB in all: server {mem['server_peak_rss_mb']:.0f} MB"
            f" + child processes {workers} MB",
        ],
        [f"`/health` idle, {idle['n']} probes (median / p95 / max)", _probe(idle)],
        [
            f"`/health` during the requests, {during['n']} probes (median / p95 / max)",
            f"{_probe(during)}; {100 * during['under_100ms_fraction']:g} % under 100 ms",
        ],
    ]
    if old_probe:
        rows.append(
            [
                "`/health` idle, the previous probe (a new client per request)",
                _probe(old_probe),
            ]
        )
    return [
        f"{svc['workers']} workers ({svc.get('isolation', 'worker processes')}), "
        f"{doc['model_served']}; `/health` probed by {svc.get('health_probe', 'the benchmark')}:",
        "",
        *table(["measure", "figure"], rows),
    ]


def serve_nice_table(docs: list) -> list[str]:
    """The worker-priority A/B of ``bench_serve.py --worker-nice``."""
    rows = []
    for doc in docs:
        svc = doc["service"]
        burst = svc["concurrent_4_annotate"]
        worker_nice = max(v for k, v in svc["niceness"].items() if k != "server")
        rows.append(
            [
                f"server at nice {svc['niceness']['server']}, annotation workers at {worker_nice}",
                _probe(burst["health_during"]),
                f"{burst['wall_s']:g} s wall, {burst['server_and_workers_cpu_s']:g} s CPU",
            ]
        )
    header = ["niceness", "`/health` during 4 requests: median / p95 / max", "requests done in"]
    return table(header, rows)


def serve_threads_table(doc: dict) -> list[str]:
    """The first, thread-based server design of ``bench_serve.py``."""
    svc = doc["service"]
    during = svc["concurrent_4_annotate"]["health_during"]
    rows = [
        [
            "`/health` during 4 concurrent requests (mean / median / p95)",
            f"{during['mean_ms']:g} ms / {during['median_ms']:g} ms / {during['p95_ms']:g} ms",
        ],
        [
            "server process memory after 4 concurrent requests",
            f"{svc['server_memory_mb']['peak_after_4_concurrent']:g} MB",
        ],
    ]
    return table(["measure (annotation on threads of the server)", "figure"], rows)


def serve_models_table(doc: dict) -> list[str]:
    """``bench_serve.py``'s accuracy part: the served model kinds on the gy6or6 split."""
    acc = doc["accuracy"]
    rows = [
        [
            kind,
            f"{s['syllable_error_rate']:.3f}",
            f"{s['frame_accuracy']:.3f}",
            f"{s['onset_f1']:.3f}",
            f"{s['offset_f1']:.3f}",
        ]
        for kind, s in acc["test_scores"].items()
    ]
    header = ["model", "syllable error rate", "frame accuracy", "onset F1", "offset F1"]
    return [f"{acc['split']}:", "", *table(header, rows)]


TABLES = {
    "speed": Table("speed", speed_table),
    "speed-before": Table("speed", speed_table, variant="before-c79a8c6"),
    "speed-pieces": Table("speed", speed_table, variant="pieces-f72532f"),
    "speed-pieces-before": Table("speed", speed_table, variant="before-1535a18"),
    "profile": Table("profile", profile_table),
    "threads": Table("threads", threads_table),
    "long": Table("long", long_table, needs="recordings", every=True),
    "long-before": Table(
        "long", long_table, needs="recordings", variant="before-1535a18", every=True
    ),
    "long-checks": Table("long", long_checks_table, needs="dask"),
    "serve": Table("serve", serve_table),
    "serve-models": Table("serve", serve_models_table),
    "serve-threads": Table("serve", serve_threads_table, variant="threads-in-server"),
    "serve-nice": Table("serve", serve_nice_table, variant="ab-worker-nice", every=True),
}
"""Block name -> table (see ``table_kit.Table``)."""
