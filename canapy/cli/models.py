"""``canapy models``: the model registry, portable exports, trust, and run listings.

``canapy models ACTION ...`` with ACTION one of :data:`ACTIONS`; ``canapy models [ROOT]``
(no action) lists the run folders' models under ROOT, as it always did.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from canapy.cli.common import (
    add_cache_args,
    add_format_arg,
    cache_dir,
    load_corpus,
    print_table,
)

__all__ = ["ACTIONS", "add_parser", "run"]

ACTIONS = (
    "list",
    "show",
    "register",
    "promote",
    "compare",
    "export",
    "import",
    "remove",
    "trust",
    "runs",
)

_DESCRIPTION = """\
actions:
  list                        models and versions in the registry
  show NAME[@N]               a version's card: config, metrics, lineage, versions
  register RUN_DIR --name N   register a run's model as the next version of N
  promote NAME@N              make N the default version of NAME
  compare MODEL MODEL... --data DATA_DIR
                              score models on the same annotated files
  export MODEL --portable F   write a pickle-free portable file
  import FILE                 verify a portable file, save it signed (registry or --output)
  remove NAME@N               remove a version (--force: the promoted one, or all)
  trust RUN_DIR               sign a run's model files after checking where they come from
  runs [ROOT]                 list run folders' models under ROOT (also: canapy models ROOT)

MODEL is a registry reference (NAME, NAME@N) or a run or model folder.
Run `canapy models ACTION --help` for an action's options."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``models``."""
    p = subparsers.add_parser(
        "models",
        help="registry of named, versioned models; portable export/import; trust",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("action", nargs="?", default=None, metavar="ACTION | ROOT")
    p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def _registry_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--registry",
        help="registry folder (default $CANAPY_REGISTRY or ~/.local/share/canapy/registry)",
    )


def action_parser() -> argparse.ArgumentParser:
    """The parser of ``canapy models ACTION ...``."""
    parser = argparse.ArgumentParser(prog="canapy models")
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = sub.add_parser("list", help="models and versions in the registry")
    _registry_arg(p)
    p = sub.add_parser("show", help="one version's card")
    p.add_argument("ref", help="NAME or NAME@N")
    p.add_argument("--json", action="store_true", help="print the whole card as JSON")
    _registry_arg(p)
    p = sub.add_parser("register", help="register a run's model as a new version")
    p.add_argument("run_dir", help="run folder written by `canapy train` (or a model folder)")
    p.add_argument("--name", required=True, help="model name, e.g. bird42/ensemble")
    p.add_argument("--kind", help="which model of the run (default: the run's default)")
    p.add_argument("--message", "-m", default="", help="note shown in `canapy models list`")
    p.add_argument("--store-version", type=int, help="annotation store version (default: found)")
    p.add_argument("--promote", action="store_true", help="also promote the new version")
    _registry_arg(p)
    p = sub.add_parser("promote", help="make a version the default one")
    p.add_argument("ref", help="NAME@N")
    _registry_arg(p)
    p = sub.add_parser("compare", help="score models on the same annotated files")
    p.add_argument("models", nargs="+", help="NAME[@N], run folders or model folders")
    p.add_argument("--data", required=True, help="annotated data folder to score on")
    add_format_arg(p, "annotation format of --data")
    p.add_argument("--skip-bad", action="store_true", help="skip unreadable files")
    p.add_argument("--json", help="also write the comparison to this JSON file")
    _registry_arg(p)
    add_cache_args(p)
    p = sub.add_parser("export", help="write a pickle-free portable file")
    p.add_argument("model", help="NAME[@N], a run folder or a model folder")
    p.add_argument("--portable", required=True, metavar="FILE", help="output .canapy.npz file")
    p.add_argument("--kind", help="which model of a run (default: the run's default)")
    _registry_arg(p)
    p = sub.add_parser("import", help="verify a portable file and save it signed")
    p.add_argument("file", help="a .canapy.npz file from `canapy models export --portable`")
    p.add_argument("--name", help="registry name (default: the exporter's, else the file name)")
    p.add_argument("--output", help="write a model folder here instead of registering")
    p.add_argument("--message", "-m", default="")
    _registry_arg(p)
    p = sub.add_parser("remove", help="remove a version")
    p.add_argument("ref", help="NAME@N (or NAME with --force: every version)")
    p.add_argument("--force", action="store_true", help="also remove the promoted version")
    _registry_arg(p)
    p = sub.add_parser("trust", help="sign a run's model files with your key")
    p.add_argument("run_dir", help="run folder or model folder whose origin you checked")
    p = sub.add_parser("runs", help="list run folders' models under ROOT")
    p.add_argument("root", nargs="?", default=".")
    return parser


def run(args: argparse.Namespace) -> int:
    """Dispatch ``canapy models ACTION``; without a known action, list runs under ROOT."""
    if args.action not in ACTIONS:
        if args.rest:
            action_parser().error(f"unknown action {args.action!r}; one of {', '.join(ACTIONS)}")
        return _runs(args.action or ".")
    sub = action_parser().parse_args([args.action, *args.rest])
    return _HANDLERS[sub.action](sub)


def _registry(args: argparse.Namespace):
    from canapy.registry import Registry

    return Registry(args.registry) if getattr(args, "registry", None) else Registry()


def _runs(root: str) -> int:
    from canapy.persistence import list_models

    table = list_models(root)
    if table.empty:
        print(f"no trained model under {root}")
    else:
        print(table.to_string(index=False))
    return 0


def _list(args: argparse.Namespace) -> int:
    reg = _registry(args)
    table = reg.table()
    if table.empty:
        print(f"no registered model in {reg.root}")
        return 0
    table["promoted"] = table["promoted"].map({True: "*", False: ""})
    print_table(table.drop(columns=["name", "version"]))
    return 0


def _show(args: argparse.Namespace) -> int:
    card = _registry(args).card(args.ref)
    if args.json:
        print(json.dumps(card, indent=2))
        return 0
    lineage, metrics = card.get("lineage") or {}, card.get("metrics") or {}
    print(f"{card['ref']}{'  (promoted)' if card.get('promoted') else ''}")
    print(f"  kind           {card.get('kind')}")
    print(f"  registered     {card.get('registered_at')} by {card.get('registered_by')}")
    print(f"  trained        {card.get('trained_at')}  canapy {card.get('canapy_version')}")
    print(f"  message        {card.get('message') or '-'}")
    print(f"  classes        {', '.join(card.get('classes') or [])}")
    print(
        f"  data           fingerprint {str(lineage.get('data_fingerprint'))[:16]}, "
        f"{lineage.get('n_files')} files, {lineage.get('n_segments')} segments"
    )
    print(
        f"  store          {lineage.get('annotation_store') or '-'} "
        f"version {lineage.get('store_version') or '-'}"
    )
    for key in ("frame_accuracy", "syllable_error_rate", "onset_f1", "offset_f1"):
        value = metrics.get(key)
        print(f"  {key:<22} {value:.4f}" if isinstance(value, float) else f"  {key:<22} -")
    libs = card.get("library_versions") or {}
    print("  libraries      " + ", ".join(f"{k} {v}" for k, v in libs.items()))
    return 0


def _register(args: argparse.Namespace) -> int:
    from canapy.model_ops import register_run
    from canapy.registry import format_ref

    reg = _registry(args)
    name, version = register_run(
        args.run_dir,
        args.name,
        kind=args.kind,
        registry=reg,
        message=args.message,
        store_version=args.store_version,
    )
    print(f"registered {format_ref(name, version)} in {reg.root}")
    if args.promote:
        reg.promote(name, version)
        print(f"promoted {format_ref(name, version)}")
    return 0


def _promote(args: argparse.Namespace) -> int:
    reg = _registry(args)
    reg.promote(args.ref)
    print(f"promoted {args.ref}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from canapy.io_utils import atomic_write_json
    from canapy.model_ops import compare_models
    from canapy.progress import terminal_progress

    args.data_dir = args.data
    corpus = load_corpus(args)
    with terminal_progress("compare", args.quiet) as progress:
        comparison = compare_models(args.models, corpus, _registry(args), cache_dir(args), progress)
    print(f"{len(comparison.files)} files, {len(corpus.segments)} reference segments\n")
    print(comparison.summary_table().round(4).to_string())
    print("\nper-class F1 (frame level)")
    print(comparison.f1_table().round(3).to_string())
    if args.json:
        atomic_write_json(args.json, comparison.to_dict())
        print(f"\ncomparison written to {args.json}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from canapy.model_ops import export_portable

    path = export_portable(args.model, args.portable, _registry(args), args.kind)
    print(f"wrote {path} ({path.stat().st_size} bytes, no pickle)")
    return 0


def _import(args: argparse.Namespace) -> int:
    from canapy.model_ops import import_portable

    out = import_portable(
        args.file,
        output=Path(args.output) if args.output else None,
        registry=_registry(args),
        name=args.name,
        message=args.message,
    )
    print(f"imported {args.file} as {out.label} ({out.folder}), signed with your key")
    return 0


def _remove(args: argparse.Namespace) -> int:
    removed = _registry(args).remove(args.ref, force=args.force)
    print(f"removed {', '.join(removed)}")
    return 0


def _trust(args: argparse.Namespace) -> int:
    from canapy.model_ops import trust_run

    folders = trust_run(args.run_dir)
    print(f"signed {len(folders)} model file(s) with your key: " + ", ".join(map(str, folders)))
    return 0


_HANDLERS = {
    "list": _list,
    "show": _show,
    "register": _register,
    "promote": _promote,
    "compare": _compare,
    "export": _export,
    "import": _import,
    "remove": _remove,
    "trust": _trust,
    "runs": lambda args: _runs(args.root),
}
