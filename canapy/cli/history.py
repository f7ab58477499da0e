"""``canapy history``: versions of the corrected annotations (list, diff, restore, export).

Thin wrappers over :class:`canapy.store.AnnotationStore`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from canapy.cli.common import (
    add_format_arg,
    add_store_arg,
    load_corpus,
    open_store,
    print_table,
    version_number,
)

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``history`` and its actions."""
    p = subparsers.add_parser(
        "history",
        help="versions of the corrected annotations (list, diff, restore, export)",
        description="The annotation store keeps every saved state of the annotations in "
        "DATA_DIR/.canapy/store; the original files are never modified.",
    )
    p.add_argument("data_dir", help="folder of audio files and their annotations")
    add_store_arg(p)
    p.set_defaults(func=run)
    actions = p.add_subparsers(dest="history_command", required=True, metavar="ACTION")

    a = actions.add_parser("init", help="create the store from the original annotation files")
    a.add_argument("--format", default="marron1csv", help="annotation format of the originals")
    a.add_argument("--audio-dir", help="folder of the audio files, if not beside the annotations")
    a.add_argument("--skip-bad", action="store_true", help="skip bad annotation files")
    a.add_argument("--author", help="name recorded in the history (default: login name)")

    actions.add_parser("list", help="list the versions")

    a = actions.add_parser("diff", help="what changed between two versions")
    a.add_argument("a", type=version_number)
    a.add_argument("b", type=version_number)

    a = actions.add_parser("restore", help="make a new version equal to an old one")
    a.add_argument("version", type=version_number)
    a.add_argument("--author", help="name recorded in the history (default: login name)")

    a = actions.add_parser("export", help="write the annotation files of a version")
    a.add_argument("version", type=version_number)
    a.add_argument("out_dir", type=Path, help="folder for the annotation files (not DATA_DIR)")
    add_format_arg(a, help="output format", writable=True)


def run(args: argparse.Namespace) -> int:
    """Dispatch to the chosen action."""
    return _ACTIONS[args.history_command](args)


def _init(args: argparse.Namespace) -> int:
    """Create the store from the original annotation files (version 1)."""
    store = open_store(args)
    corpus = load_corpus(args)
    version = store.init_from(corpus, author=args.author)
    print(
        f"created the annotation store {store.root}: version {version} = "
        f"{len(corpus.segments)} segments of {len(corpus.annotated)} files "
        "(the original files are never modified)"
    )
    return 0


def _list(args: argparse.Namespace) -> int:
    """Print the versions."""
    table = open_store(args).versions()
    table = table.assign(
        head=table["is_head"].map({True: "*", False: ""}),
        parent=table["parent"].astype(object).where(table["parent"].notna(), ""),
    )
    print_table(table[["head", "id", "parent", "author", "created_at", "message", "n_segments"]])
    return 0


def _diff(args: argparse.Namespace) -> int:
    """Print what changed between two versions."""
    diff = open_store(args).diff(args.a, args.b)
    if diff.empty:
        print(f"versions {args.a} and {args.b} have the same segments")
        return 0
    counts = diff["change"].value_counts()
    print(", ".join(f"{n} {what}" for what, n in counts.items()))
    print_table(diff)
    return 0


def _restore(args: argparse.Namespace) -> int:
    """Make a new head version equal to an old one."""
    version = open_store(args).restore(args.version, author=args.author)
    print(f"version {version} (the new head) restores version {args.version}")
    return 0


def _export(args: argparse.Namespace) -> int:
    """Write the annotation files of a version."""
    written = open_store(args).export(args.version, args.out_dir, args.format)
    print(
        f"wrote {len(written)} annotation files ({args.format}) of version {args.version} "
        f"to {args.out_dir}"
    )
    return 0


_ACTIONS = {"init": _init, "list": _list, "diff": _diff, "restore": _restore, "export": _export}
