"""``canapy example``: write a small synthetic, learnable song corpus."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``example``."""
    p = subparsers.add_parser("example", help="write a small synthetic, learnable song corpus")
    p.add_argument("out_dir")
    p.add_argument("--n-files", type=int, default=12)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the corpus and say how to train on it."""
    from canapy.synthetic import make_example_corpus

    out = make_example_corpus(args.out_dir, n_files=args.n_files, seed=args.seed)
    print(f"wrote a synthetic example corpus to {out}")
    print(f"try: canapy train {out} --output {Path(out) / 'run'}")
    return 0
