"""``canapy dash``: open the dashboard in a browser (Panel is imported only here)."""

from __future__ import annotations

import argparse

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``dash``."""
    p = subparsers.add_parser("dash", help="open the dashboard in a browser")
    p.add_argument("data_dir", nargs="?", help="annotated corpus to open")
    p.add_argument("--output", "-o", help="run folder for trained models")
    p.add_argument(
        "--format", default="marron1csv", help="annotation format of DATA_DIR (default marron1csv)"
    )
    p.add_argument("--port", type=int, default=9321, help="port to listen on (default 9321)")
    p.add_argument(
        "--address", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    p.add_argument(
        "--allow-remote",
        action="store_true",
        help="required to listen on a non-loopback address (then --origin is required and "
        "every request must carry the access token)",
    )
    p.add_argument(
        "--origin",
        action="append",
        metavar="HOST[:PORT]",
        help="address browsers use to reach the dashboard (repeatable); required with "
        "--allow-remote",
    )
    p.add_argument(
        "--token",
        help="access token every page and WebSocket request must carry (?token=...); "
        "default with --allow-remote: a random one, printed at start",
    )
    p.add_argument(
        "--registry",
        metavar="DIR",
        help="model registry the Train tab registers into and the Evaluate tab compares "
        "from (default: $CANAPY_REGISTRY or ~/.local/share/canapy/registry)",
    )
    p.add_argument("--no-browser", action="store_true", help="do not open a browser tab")
    p.add_argument(
        "--example",
        action="store_true",
        help="open the built-in synthetic corpus (in a temporary folder, or in DATA_DIR "
        "only if it is new or empty)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve the dashboard until interrupted."""
    from canapy.dashboards.server import serve_from_args  # lazy: Panel is slow to import

    return serve_from_args(args)
