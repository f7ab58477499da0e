"""The ``canapy`` command line: thin wrappers over :mod:`canapy.workflow`.

One module per command, each exposing ``add_parser(subparsers)`` (registers the command
with ``func=run``) and ``run(args) -> int``; what they share lives in
:mod:`canapy.cli.common`. Adding a command is one new module plus one entry in
:data:`COMMANDS`.

Errors on bad input and operating-system errors (full disk, permissions, a folder where a
file was expected...) are printed on one line (``canapy: error: ...``, naming the path)
with a non-zero exit status by :func:`canapy.cli.common.run_command`, the CLI's one error
boundary; ``--debug`` (or ``--verbose``) shows the traceback instead.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from canapy import __version__
from canapy.cli import (
    analyze,
    annotate,
    config,
    dash,
    evaluate,
    example,
    history,
    models,
    review,
    serve,
    train,
)
from canapy.cli.common import run_command

__all__ = ["COMMANDS", "build_parser", "main"]

COMMANDS = (
    train,
    annotate,
    evaluate,
    example,
    models,
    serve,
    config,
    dash,
    review,
    history,
    analyze,
)
"""The command modules, in the order ``canapy --help`` lists them."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``canapy`` command."""
    parser = argparse.ArgumentParser(
        prog="canapy",
        description="Train Echo State Network annotators of animal song, "
        "find annotation errors, annotate new recordings.",
    )
    parser.add_argument("--version", action="version", version=f"canapy {__version__}")
    parser.add_argument(
        "--debug",
        "--verbose",
        action="store_true",
        help="show tracebacks and debug logs",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``canapy`` command; returns the exit status."""
    return run_command(build_parser().parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
