"""Tables of the accuracy-side benchmarks: ``bench_accuracy``, ``bench_review``,
``bench_dashboard``, ``bench_correction`` (see ``table_kit`` for how a table is declared)."""

from __future__ import annotations

from table_kit import Table, table

DATA_SETS = {
    "koumura": ("Bengalese finch, Koumura Bird0", "files 0–39 / 40–59"),
    "gy6or6": ("Bengalese finch, gy6or6", "day 23-03 / day 24-03"),
    "avn": ("zebra finch, avn G402 (44.1 kHz)", "first 20 / last 10"),
}
MODEL_NAMES = {"syntactic": "syntactic", "nonsyntactic": "non-syntactic", "ensemble": "ensemble"}


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
    return table(header, rows)


def training_table(doc: dict) -> list[str]:
    """Per data set: files, audio, ``canapy train`` time (wall and CPU), peak memory."""
    rows = [
        [
            DATA_SETS[ds["data_set"]][0],
            f"{ds['train_files']} / {ds['test_files']}",
            f"{ds['test_audio_seconds']:g} s",
            f"{ds['train_seconds_canapy_train']:g} s",
            f"{ds['train_cpu_seconds_canapy_train']:g} s",
            f"{ds['peak_rss_mb']:g} MiB",
        ]
        for ds in doc["data_sets"]
    ]
    header = ["data set", "train / test files", "test audio"]
    header += ["`canapy train`, wall", "`canapy train`, CPU"]
    return table([*header, "peak memory (process)"], rows)


def readme_table(doc: dict) -> list[str]:
    """The README's summary: SER of the default model (and the ensemble), frame accuracy."""
    rows = []
    for ds in doc["data_sets"]:
        m = ds["models"]
        default = ds["default_model"]
        rows.append(
            [
                DATA_SETS[ds["data_set"]][0],
                f"{ds['train_files']} / {ds['test_files']}",
                f"{m[default]['syllable_error_rate']:.3f} ({default})",
                f"{m['ensemble']['syllable_error_rate']:.3f}",
                f"{m[default]['frame_accuracy']:.3f}",
                f"{ds['train_cpu_seconds_canapy_train']:g} s",
            ]
        )
    header = ["data set", "train / test files", "syllable error rate (default model)"]
    header += ["(ensemble)", "frame accuracy", "`canapy train`, CPU time"]
    return table(header, rows)


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
    return table(["measure", "value"], rows)


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
    return table([*header, "payload", "zoom redraw"], rows)


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
    return table([*header, "saved version vs clean"], rows)


TABLES = {
    "accuracy": Table("accuracy", accuracy_table),
    "training": Table("accuracy", training_table),
    "readme-accuracy": Table("accuracy", readme_table),
    "review": Table("review", review_table),
    "dashboard": Table("dashboard", dashboard_table),
    "correction": Table("correction", correction_table),
}
"""Block name -> table (see ``table_kit.Table``)."""
