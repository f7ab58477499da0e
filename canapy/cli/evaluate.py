"""``canapy evaluate``: measure a run's models on an annotated corpus."""

from __future__ import annotations

import argparse
from pathlib import Path

from canapy.cli.common import (
    MODEL_CHOICES,
    add_cache_args,
    add_data_args,
    cache_dir,
    load_corpus,
    print_metrics,
)
from canapy.exceptions import CanapyError

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``evaluate``."""
    p = subparsers.add_parser("evaluate", help="measure a run's models on an annotated corpus")
    p.add_argument("run_dir", help="run folder written by `canapy train`")
    add_data_args(p)
    p.add_argument(
        "--model", choices=list(MODEL_CHOICES), help="evaluate only this model (default: all)"
    )
    p.add_argument("--json", help="also write every metric to this JSON file")
    add_cache_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print summary and per-class metrics; optionally write them as JSON."""
    from canapy.caveats import evaluation_caveats
    from canapy.evaluation import evaluate_annotators
    from canapy.io_utils import atomic_write_json
    from canapy.progress import terminal_progress
    from canapy.runs import load_annotators

    if args.json and Path(args.json).is_dir():  # fail before the work, not after it
        raise CanapyError(f"--json {args.json}: a folder; give a file name (e.g. metrics.json)")
    corpus = load_corpus(args)
    annotators = load_annotators(args.run_dir, [args.model] if args.model else None)
    paths = list(corpus.annotated)
    with terminal_progress("evaluate", args.quiet) as progress:
        results = evaluate_annotators(annotators, corpus, paths, cache_dir(args), progress)
    print(f"{len(corpus.annotated)} files, {len(corpus.segments)} reference segments")
    print_metrics(results)
    for kind, res in results.items():
        print(f"\n{kind}: per-class (frame level)")
        print(res.per_class.round(3).to_string())
    caveats: dict[str, list[str]] = {}  # the Evaluate tab's warnings, once each
    for kind, res in results.items():
        for text in evaluation_caveats(res, annotators[kind].labels, len(paths)):
            caveats.setdefault(text, []).append(kind)
    for text, kinds in caveats.items():
        who = "" if len(kinds) == len(results) else f" ({', '.join(kinds)})"
        print(f"\ncaution{who}: {text}.")
    if args.json:
        atomic_write_json(args.json, {k: v.to_dict() for k, v in results.items()})
        print(f"\nmetrics written to {args.json}")
    return 0
