"""Tables of the song-structure benchmarks: ``bench_canary`` and ``bench_analysis`` (see
``table_kit`` for how a table is declared)."""

from __future__ import annotations

from table_kit import Table, table

MODEL_NAMES = {"syntactic": "syntactic", "nonsyntactic": "non-syntactic", "ensemble": "ensemble"}


def canary_table(doc: dict) -> list[str]:
    """``bench_canary.py``: per model, accuracy on the unseen canary-like songs."""
    rows = [
        [
            MODEL_NAMES[kind],
            f"{m['frame_accuracy']:.3f}",
            f"{m['syllable_error_rate']:.3f}",
            f"{m['onset_f1']:.3f}",
            f"{m['offset_f1']:.3f}",
            str(m["predicted_segments"]),
        ]
        for kind, m in doc["models"].items()
    ]
    gran = doc["granularity"] or {"granularity": "syllable", "source": "no inference yet"}
    header = ["model", "frame accuracy", "syllable error rate", "onset F1", "offset F1"]
    header.append(f"predicted segments ({doc['test_reference_segments']} in the reference)")
    return [
        f"{doc['train_files']} songs to train, {doc['test_files']} unseen to test "
        f"({doc['test_audio_seconds']:g} s); granularity used: {gran['granularity']} "
        f"({gran['source']}); training (features + both models): "
        f"{doc['train_cpu_s_all_models']:g} s CPU, {doc['train_wall_s_all_models']:g} s wall.",
        "",
        *table(header, rows),
    ]


def readme_canary_table(doc: dict) -> list[str]:
    """The README's line on phrase-level song: the default (ensemble) model."""
    m = doc["models"]["ensemble"]
    return table(
        ["canary-like corpus (train / test songs)", "syllable error rate", "frame accuracy"],
        [
            [
                f"{doc['train_files']} / {doc['test_files']}",
                f"{m['syllable_error_rate']:.3f}",
                f"{m['frame_accuracy']:.3f}",
            ]
        ],
    )


def map_table(doc: dict) -> list[str]:
    """``bench_analysis.py --parts map``: V-measure of the map clusters per representation."""
    rows = [
        [
            f"`{rep}`",
            f"{m['v_measure']:.3f}",
            f"{m['homogeneity']:.3f}",
            f"{m['completeness']:.3f}",
            f"{m['n_clusters']} ({m['noise_share']:.1%} noise)",
            f"{m['vectors_time']['cpu_s'] + m['map_time']['cpu_s']:.1f} s",
        ]
        for rep, m in doc["map_vs_labels"].items()
    ]
    header = ["representation", "V-measure", "homogeneity", "completeness", "clusters"]
    return [
        f"Koumura Bird0 training files, {doc['bird0_train_segments']} segments:",
        "",
        *table([*header, "vectors + map, CPU"], rows),
    ]


def map_scale_table(doc: dict) -> list[str]:
    """``bench_analysis.py --parts scale``: map fit time and memory per number of segments."""
    rows = [
        [
            f"{s['n_segments']:,}",
            f"{s['fit']['cpu_s']:g} s",
            f"{s['fit']['wall_s']:g} s",
            f"{s['peak_rss_mb']:.0f} MB",
            f"{s['evidence']['cpu_s']:g} s",
            f"{s['transform_1000']['cpu_s']:g} s",
        ]
        for s in doc["map_scale_synthetic"]
    ]
    header = ["segments", "fit: CPU", "fit: wall", "peak memory", "kNN + outlier evidence, CPU"]
    return table([*header, "place 1,000 new segments (`transform`), CPU"], rows)


def map_review_table(doc: dict) -> list[str]:
    """``bench_analysis.py --parts review``: precision@N of the review and map signals."""
    review = doc["review_with_map"]
    variants = review["variants"]
    names = [k.split(": ", 1)[1] for k in variants if k.startswith("logmel: ")]
    rows = [["review score alone", *(f"{variants['review score']:.3f}",) * 2]]
    rows += [
        [n, f"{variants['logmel: ' + n]:.3f}", f"{variants['reservoir: ' + n]:.3f}"] for n in names
    ]
    rows.append(
        [
            "kNN label right on the relabelled segments",
            *(
                f"{review[rep + ': kNN label right on corrupted']:.3f}"
                for rep in ("logmel", "reservoir")
            ),
        ]
    )
    cpu = review["review_time"]["cpu_s"]
    return [
        f"{review['n_corrupted']} segments relabelled; precision among the "
        f"{review['n_corrupted']} top-ranked (the review took {cpu:g} s of CPU):",
        "",
        *table(["ranking", "log-mel map", "reservoir map"], rows),
    ]


def canary_syntax_table(doc: dict) -> list[str]:
    """``bench_analysis.py --parts canary``: syntax figures of the real canary annotations."""
    syn = doc["canary_syntax"]
    fig = syn["figures"]
    h = fig["conditional_entropy_bits"]
    top = ", ".join(
        f"`{t['from']}→{t['to']}` ({t['count']}, p = {t['p']:.2f})"
        for t in fig["top_transitions"][:7]
    )
    rows = [
        [
            f"files, bouts (gap {fig['gap_s']:g} s), phrases",
            f"{fig['n_files']}, {fig['n_bouts']:,}, {fig['n_phrases']:,}",
        ],
        ["phrase types", str(len(fig["labels"]))],
        ["`H(Xn)` (k = 0)", f"{h['0']:.3f} bits"],
        [
            "`H(Xn \\| 1 previous)` = entropy rate",
            f"{h['1']:.3f} bits (normalised {fig['normalised_entropy_rate']:.3f})",
        ],
        *([f"`H(Xn \\| {k} previous)`", f"{h[str(k)]:.3f} bits"] for k in range(2, len(h))),
        ["linearity / consistency", f"{fig['linearity']:.3f} / {fig['consistency']:.3f}"],
        ["most frequent transitions", top],
        [
            "time: load the files / compute the syntax (CPU)",
            f"{syn['load']['cpu_s']:g} s / {syn['analyse']['cpu_s']:g} s",
        ],
    ]
    return table(["figure", "value"], rows)


TABLES = {
    "canary": Table("canary", canary_table),
    "canary-before": Table("canary", canary_table, variant="before-16cf4d9"),
    "readme-canary": Table("canary", readme_canary_table),
    "analysis-map": Table("analysis", map_table, needs="map_vs_labels"),
    "analysis-scale": Table("analysis", map_scale_table, needs="map_scale_synthetic"),
    "analysis-review": Table("analysis", map_review_table, needs="review_with_map"),
    "analysis-canary-syntax": Table("analysis", canary_syntax_table, needs="canary_syntax"),
}
"""Block name -> table (see ``table_kit.Table``)."""
