"""``canapy models``: list trained models under a folder."""

from __future__ import annotations

import argparse

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``models``."""
    p = subparsers.add_parser("models", help="list trained models under a folder")
    p.add_argument("root", nargs="?", default=".")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print one row per saved model."""
    from canapy.persistence import list_models

    table = list_models(args.root)
    if table.empty:
        print(f"no trained model under {args.root}")
    else:
        print(table.to_string(index=False))
    return 0
