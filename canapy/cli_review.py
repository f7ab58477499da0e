"""``canapy review`` and ``canapy history``: the correction loop on the command line.

Thin wrappers over :mod:`canapy.review` and :mod:`canapy.store`, registered on the main
parser by :func:`add_parsers`. Each command returns an exit status and raises
:class:`canapy.exceptions.CanapyError` on bad input (printed on one line by
:func:`canapy.cli.main`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from canapy.exceptions import CanapyError

__all__ = [
    "add_parsers",
    "cmd_history_diff",
    "cmd_history_export",
    "cmd_history_init",
    "cmd_history_list",
    "cmd_history_restore",
    "cmd_review",
]

_SHOWN = ["wave", "start", "end", "syll", "suggested", "score", "reason"]


def _print_table(table) -> None:
    import pandas as pd

    with pd.option_context("display.max_colwidth", 70, "display.width", 200):
        print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))


def _store(args: argparse.Namespace):
    from canapy.store import AnnotationStore

    if getattr(args, "store", None):
        return AnnotationStore(args.store, data_dir=args.data_dir)
    return AnnotationStore.for_data_dir(args.data_dir)


def cmd_review(args: argparse.Namespace) -> int:
    """Cross-validated review; writes the ranked suspects CSV."""
    from canapy.cli import _cache_dir, _load_cfg, _load_corpus, _progress_bar
    from canapy.review import find_suspects

    if args.folds < 2:
        raise CanapyError(f"--folds must be at least 2, got {args.folds}")
    output = Path(args.output).resolve()
    if (
        args.format == "marron1csv"
        and output.suffix == ".csv"
        and Path(args.data_dir).resolve() in (output.parents)
    ):
        raise CanapyError(
            f"{args.output}: inside {args.data_dir}, this CSV would be read as an annotation "
            "file next time; write the suspects list outside the data folder"
        )
    cfg = _load_cfg(args)
    if args.from_version is not None:
        store = _store(args)
        corpus = store.as_corpus(args.from_version)
        source = f"version {args.from_version} of {store.root}"
    else:
        corpus = _load_corpus(args)
        source = str(args.data_dir)
    k = min(args.folds, len(corpus.annotated))
    print(
        f"reviewing {len(corpus.segments)} segments of {len(corpus.annotated)} files "
        f"({source}) with {k}-fold cross-validation: {k} trainings"
    )
    progress, close = _progress_bar("review", args.quiet)
    try:
        result = find_suspects(corpus, cfg, args.folds, _cache_dir(args), progress, args.seed)
    finally:
        close()
    path = result.to_csv(args.output)
    seg = result.segments
    n_flagged = int((seg["score"] >= 0.5).sum())
    print(
        f"{n_flagged} of {len(seg)} segments have a suspicion score >= 0.5 "
        f"({result.seconds:.0f} s); ranked list written to {path}"
    )
    if len(seg):
        print(f"\nmost suspicious {min(args.top, len(seg))}:")
        _print_table(seg[_SHOWN].head(args.top))
    merges = result.merge_candidates
    if len(merges):
        print("\nlabels the models confuse (a heard as b):")
        _print_table(merges.head(args.top))
    return 0


def cmd_history_init(args: argparse.Namespace) -> int:
    """Create the store from the original annotation files (version 1)."""
    from canapy.cli import _load_corpus

    store = _store(args)
    corpus = _load_corpus(args)
    version = store.init_from(corpus, author=args.author)
    print(
        f"created the annotation store {store.root}: version {version} = "
        f"{len(corpus.segments)} segments of {len(corpus.annotated)} files "
        "(the original files are never modified)"
    )
    return 0


def cmd_history_list(args: argparse.Namespace) -> int:
    """Print the versions."""
    table = _store(args).versions()
    table = table.assign(
        head=table["is_head"].map({True: "*", False: ""}),
        parent=table["parent"].astype(object).where(table["parent"].notna(), ""),
    )
    _print_table(table[["head", "id", "parent", "author", "created_at", "message", "n_segments"]])
    return 0


def cmd_history_diff(args: argparse.Namespace) -> int:
    """Print what changed between two versions."""
    diff = _store(args).diff(args.a, args.b)
    if diff.empty:
        print(f"versions {args.a} and {args.b} have the same segments")
        return 0
    counts = diff["change"].value_counts()
    print(", ".join(f"{n} {what}" for what, n in counts.items()))
    _print_table(diff)
    return 0


def cmd_history_restore(args: argparse.Namespace) -> int:
    """Make a new head version equal to an old one."""
    version = _store(args).restore(args.version, author=args.author)
    print(f"version {version} (the new head) restores version {args.version}")
    return 0


def cmd_history_export(args: argparse.Namespace) -> int:
    """Write the annotation files of a version."""
    written = _store(args).export(args.version, args.out_dir, args.format)
    print(
        f"wrote {len(written)} annotation files ({args.format}) of version {args.version} "
        f"to {args.out_dir}"
    )
    return 0


def _version(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a version number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"versions start at 1, got {value}")
    return value


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    """Register ``review`` and ``history`` on the ``canapy`` sub-command parsers."""
    from canapy.cli import _add_common, _add_data_args
    from canapy.config import PRESETS
    from canapy.corpus import writable_formats

    p = subparsers.add_parser(
        "review",
        help="rank hand labels by how suspicious they look (cross-validated models)",
        description="Train annotators on all folds but one and let them judge the held-out "
        "files' hand labels; write the segments ranked by suspicion score.",
    )
    _add_data_args(p)
    p.add_argument("--output", "-o", required=True, help="CSV file of the ranked suspects")
    p.add_argument("--folds", type=int, default=5, help="number of folds (default 5)")
    p.add_argument("--config", help="TOML config file (see `canapy config init`)")
    p.add_argument("--preset", choices=sorted(PRESETS), help="species preset")
    p.add_argument("--seed", type=int, default=0, help="seed of the split into folds")
    p.add_argument("--top", type=int, default=10, help="suspects to print (default 10)")
    p.add_argument(
        "--from-version",
        type=_version,
        help="review this version of the annotation store instead of the annotation files",
    )
    p.add_argument("--store", help="annotation store folder (default DATA_DIR/.canapy/store)")
    _add_common(p)
    p.set_defaults(func=cmd_review)

    p = subparsers.add_parser(
        "history",
        help="versions of the corrected annotations (list, diff, restore, export)",
        description="The annotation store keeps every saved state of the annotations in "
        "DATA_DIR/.canapy/store; the original files are never modified.",
    )
    p.add_argument("data_dir", help="folder of audio files and their annotations")
    p.add_argument("--store", help="annotation store folder (default DATA_DIR/.canapy/store)")
    actions = p.add_subparsers(dest="history_command", required=True, metavar="ACTION")

    a = actions.add_parser("init", help="create the store from the original annotation files")
    a.add_argument("--format", default="marron1csv", help="annotation format of the originals")
    a.add_argument("--audio-dir", help="folder of the audio files, if not beside the annotations")
    a.add_argument("--skip-bad", action="store_true", help="skip bad annotation files")
    a.add_argument("--author", help="name recorded in the history (default: login name)")
    a.set_defaults(func=cmd_history_init)

    a = actions.add_parser("list", help="list the versions")
    a.set_defaults(func=cmd_history_list)

    a = actions.add_parser("diff", help="what changed between two versions")
    a.add_argument("a", type=_version)
    a.add_argument("b", type=_version)
    a.set_defaults(func=cmd_history_diff)

    a = actions.add_parser("restore", help="make a new version equal to an old one")
    a.add_argument("version", type=_version)
    a.add_argument("--author", help="name recorded in the history (default: login name)")
    a.set_defaults(func=cmd_history_restore)

    a = actions.add_parser("export", help="write the annotation files of a version")
    a.add_argument("version", type=_version)
    a.add_argument("out_dir", type=Path, help="folder for the annotation files (not DATA_DIR)")
    a.add_argument(
        "--format",
        default="marron1csv",
        help=f"output format (default marron1csv); one of: {', '.join(writable_formats())}",
    )
    a.set_defaults(func=cmd_history_export)
