"""``canapy analyze``: syntax tables, a syllable map and an offline HTML report."""

from __future__ import annotations

import argparse
from pathlib import Path

from canapy.cli.common import (
    MODEL_CHOICES,
    add_cache_args,
    add_data_args,
    cache_dir,
    load_corpus,
    warn,
)

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``analyze``."""
    p = subparsers.add_parser(
        "analyze",
        help="song syntax and a map of every syllable, as tables and an HTML report",
        description="Write REPORT_DIR/segments.csv (wave,start,end,syll,cluster,x,y,...), "
        "syntax.json and an HTML report openable offline. Annotations without audio get "
        "the syntax only.",
    )
    add_data_args(p)
    p.add_argument("--output", "-o", required=True, help="report folder (outside DATA_DIR)")
    p.add_argument("--model", metavar="RUN_DIR", help="trained run: map its reservoir states")
    p.add_argument(
        "--model-kind", choices=list(MODEL_CHOICES), help="model of the run (default: its default)"
    )
    p.add_argument(
        "--representation",
        choices=["auto", "logmel", "reservoir"],
        default="auto",
        help="segment vectors of the map (auto: reservoir with --model, else logmel)",
    )
    p.add_argument(
        "--map",
        dest="reuse_map",
        metavar="MAP_DIR",
        help="place segments in a map fitted earlier (REPORT_DIR/map) instead of "
        "fitting a new one, so points stay where they were",
    )
    p.add_argument("--no-map", action="store_true", help="syntax only")
    p.add_argument(
        "--unit",
        choices=["syllable", "phrase"],
        default="syllable",
        help="symbols of the syntax: segments, or phrases (runs of one label); "
        "use phrase for phrase-level annotations such as canary's",
    )
    p.add_argument(
        "--gap",
        type=float,
        default=0.5,
        metavar="SECONDS",
        help="silences longer than this split bouts (default 0.5)",
    )
    p.add_argument(
        "--ignore",
        action="append",
        metavar="LABEL",
        help="label left out of the analysis (repeatable; default: SIL)",
    )
    p.add_argument("--n-neighbors", type=int, default=15, help="UMAP neighbours (default 15)")
    p.add_argument(
        "--min-cluster-size",
        type=int,
        help="HDBSCAN smallest cluster (default: max(10, segments / 50); its min_samples "
        "is the same, at most 50)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the map (default 0)")
    add_cache_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Analyse, write the report folder, print the main figures."""
    from canapy.analysis.report import analyze_corpus, check_output, write_report
    from canapy.dashboards.report_html import write_html_report  # lazy: Bokeh is slow to import
    from canapy.progress import terminal_progress

    check_output(Path(args.output), Path(args.data_dir))
    corpus = load_corpus(args, require_audio=False)
    annotator = None
    if args.model:
        from canapy.runs import load_default_annotator

        annotator = load_default_annotator(args.model, args.model_kind)
    params = {"n_neighbors": args.n_neighbors, "min_cluster_size": args.min_cluster_size}
    with terminal_progress("analyze", args.quiet) as progress:
        result = analyze_corpus(
            corpus,
            annotator=annotator,
            representation=args.representation,
            map_params={**params, "seed": args.seed},
            reuse_map=args.reuse_map,
            with_map=not args.no_map,
            gap_s=args.gap,
            unit=args.unit,
            ignore=tuple(args.ignore) if args.ignore else ("SIL",),
            cache_dir=cache_dir(args),
            progress=progress,
        )
    out = write_report(result, args.output, data_dir=args.data_dir)
    page = write_html_report(result, out)
    syn = result.syntax.to_dict()
    print(
        f"{syn['n_files']} files, {syn['n_bouts']} bouts, {syn['n_symbols']} {args.unit}s, "
        f"{len(syn['labels'])} labels"
    )
    print(
        f"entropy rate {_fmt(syn['entropy_rate_bits'])} bits "
        f"(normalised {_fmt(syn['normalised_entropy_rate'])}); H(Xn | k previous) = "
        + ", ".join(f"{_fmt(v)} (k={k})" for k, v in syn["conditional_entropy_bits"].items())
    )
    print(f"linearity {_fmt(syn['linearity'])}, consistency {_fmt(syn['consistency'])}")
    info = result.map_info
    if "skipped" not in info:
        agree = info["agreement_with_labels"]
        print(
            f"map: {info['n_clusters']} clusters of {info['n_segments']} segments "
            f"({info['representation']}), V-measure with the labels {agree['v_measure']:.3f}"
        )
    for note in result.notes:
        warn(note)
    print(f"report written to {page}")
    return 0


def _fmt(x: float | None) -> str:
    return "undefined" if x is None else f"{x:.3f}"
