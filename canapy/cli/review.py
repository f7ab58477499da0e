"""``canapy review``: rank hand labels by how suspicious they look, or accept suggestions.

A thin wrapper over :func:`canapy.review.find_suspects` and, with ``--apply``, over
:func:`canapy.accept.accept_marked` (the rows marked in the CSV's ``accept`` column
become a new version of the annotation store).
"""

from __future__ import annotations

import argparse

from canapy.cli.common import (
    add_cache_args,
    add_config_args,
    add_data_args,
    add_store_arg,
    cache_dir,
    corpus_of_args,
    load_cfg,
    load_corpus,
    open_store,
    print_table,
    version_number,
)
from canapy.exceptions import CanapyError
from canapy.io_utils import refuse_write_into

__all__ = ["add_parser", "run"]

SHOWN = ["wave", "start", "end", "syll", "suggested", "score", "reason"]
"""Columns of the suspects printed on the terminal."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``review``."""
    p = subparsers.add_parser(
        "review",
        help="rank hand labels by how suspicious they look (cross-validated models)",
        description="Train annotators on all folds but one and let them judge the held-out "
        "files' hand labels; write the segments ranked by suspicion score.",
    )
    add_data_args(p)
    p.add_argument("--output", "-o", help="CSV file of the ranked suspects (required to review)")
    p.add_argument(
        "--apply",
        metavar="SUSPECTS_CSV",
        help="instead of reviewing: accept the suggestions of the rows marked (x, 1, yes) in "
        "the 'accept' column of this suspects CSV, as a new version of the store",
    )
    p.add_argument("--author", help="with --apply: name recorded in the history")
    p.add_argument("--message", "-m", help="with --apply: description of the new version")
    p.add_argument("--folds", type=int, default=5, help="number of folds (default 5)")
    add_config_args(p)
    p.add_argument("--seed", type=int, default=0, help="seed of the split into folds")
    p.add_argument("--top", type=int, default=10, help="suspects to print (default 10)")
    p.add_argument(
        "--from-version",
        type=version_number,
        help="review this version of the annotation store instead of the annotation files",
    )
    p.add_argument(
        "--map-evidence",
        action="store_true",
        help="add the syllable map's evidence as columns (knn_disagreement, knn_label, "
        "class_outlier); needs the audio, see docs/analysis.md",
    )
    add_store_arg(p)
    add_cache_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Cross-validated review (writes the ranked suspects CSV), or ``--apply``."""
    from canapy.progress import terminal_progress
    from canapy.review import find_suspects

    if args.apply:
        return _apply(args)
    if not args.output:
        raise CanapyError("give --output SUSPECTS.csv (where to write the review), or --apply")

    if args.folds < 2:
        raise CanapyError(f"--folds must be at least 2, got {args.folds}")
    refuse_write_into(args.output, args.data_dir, "write the suspects list")
    cfg = load_cfg(args)
    corpus, source = corpus_of_args(args)
    k = min(args.folds, len(corpus.annotated))
    print(
        f"reviewing {len(corpus.segments)} segments of {len(corpus.annotated)} files "
        f"({source}) with {k}-fold cross-validation: {k} trainings"
    )
    with terminal_progress("review", args.quiet) as progress:
        result = find_suspects(corpus, cfg, args.folds, cache_dir(args), progress, args.seed)
        if args.map_evidence:
            from canapy.analysis.review_signal import add_map_signal, map_signal

            signal = map_signal(corpus, cache_dir=cache_dir(args), progress=progress)
            result = add_map_signal(result, signal)
    path = result.to_csv(args.output)
    seg = result.segments
    n_flagged = int((seg["score"] >= 0.5).sum())
    print(
        f"{n_flagged} of {len(seg)} segments have a suspicion score >= 0.5 "
        f"({result.seconds:.0f} s); ranked list written to {path}"
    )
    if len(seg):
        print(f"\nmost suspicious {min(args.top, len(seg))}:")
        print_table(seg[SHOWN].head(args.top))
    merges = result.merge_candidates
    if len(merges):
        print("\nlabels the models confuse (a heard as b):")
        print_table(merges.head(args.top))
    return 0


def _apply(args: argparse.Namespace) -> int:
    """``--apply``: marked suggestions → a new store version."""
    from canapy.accept import accept_marked, read_suspects

    suspects = read_suspects(args.apply)
    store = open_store(args)
    corpus = None if store.exists else load_corpus(args)
    result = accept_marked(
        store,
        suspects,
        corpus=corpus,
        author=args.author,
        message=args.message,
        base_version=args.from_version,
    )
    print(
        f"accepted {len(result.accepted)} suggestion(s) on version {result.base_version}: "
        f"version {result.version} of {store.root}"
    )
    return 0
