"""``canapy example``: write a small synthetic, learnable song corpus."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["KINDS", "add_parser", "run"]

KINDS = {"finch": 12, "canary": 40}
"""Corpus kinds and their default number of annotated recordings."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``example``."""
    p = subparsers.add_parser("example", help="write a small synthetic, learnable song corpus")
    p.add_argument("out_dir", help="folder to write the corpus into")
    p.add_argument(
        "--kind",
        choices=sorted(KINDS),
        default="finch",
        help="finch: syllable-level labels (default); canary: phrase-level labels, "
        "phrases of repeated syllables with statistics of real canary song",
    )
    p.add_argument(
        "--n-files",
        type=int,
        default=None,
        help="number of annotated recordings (default 12 for finch, 40 for canary)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the corpus and say how to train on it."""
    n_files = args.n_files if args.n_files is not None else KINDS[args.kind]
    if args.kind == "canary":
        from canapy.synthetic_canary import make_canary_corpus

        out = make_canary_corpus(args.out_dir, n_files=n_files, seed=args.seed)
        what = "a phrase-level, canary-like synthetic corpus"
    else:
        from canapy.synthetic import make_example_corpus

        out = make_example_corpus(args.out_dir, n_files=n_files, seed=args.seed)
        what = "a synthetic example corpus"
    print(f"wrote {what} to {out}")
    print(f"try: canapy train {out} --output {Path(out) / 'run'}")
    return 0
