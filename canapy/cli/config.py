"""``canapy config init|show``: write or show configuration files."""

from __future__ import annotations

import argparse
from pathlib import Path

from canapy.cli.common import add_config_args, load_cfg
from canapy.exceptions import CanapyError

__all__ = ["add_parser", "run", "run_init", "run_show"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``config`` and its actions ``init`` and ``show``."""
    from canapy.config import PRESETS

    p = subparsers.add_parser("config", help="write or show configuration files")
    p.set_defaults(func=run)
    actions = p.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    c = actions.add_parser("init", help="write a commented config template")
    c.add_argument("path", help="TOML file to write")
    c.add_argument("--preset", choices=sorted(PRESETS), help="start from a species preset")
    c.add_argument("--force", action="store_true", help="overwrite an existing file")
    c = actions.add_parser("show", help="print the resolved config")
    add_config_args(c)


def run(args: argparse.Namespace) -> int:
    """Dispatch to the chosen action."""
    return run_show(args) if args.config_command == "show" else run_init(args)


def run_init(args: argparse.Namespace) -> int:
    """Write a commented template of the defaults (or of a preset)."""
    from canapy.config import apply_preset, default_config
    from canapy.config_file import render_template
    from canapy.io_utils import atomic_write_text

    path = Path(args.path)
    if path.exists() and not args.force:
        raise CanapyError(f"{path}: already exists (use --force to overwrite)")
    cfg = apply_preset(args.preset) if args.preset else default_config()
    atomic_write_text(path, render_template(cfg))
    print(f"wrote a commented config template to {path}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    """Print the resolved config as TOML."""
    from canapy.config_file import render_template

    print(render_template(load_cfg(args)))
    return 0
