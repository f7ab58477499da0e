"""``canapy serve``: the local HTTP annotation service (FastAPI + uvicorn)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from canapy.cli.common import add_cache_args, cache_dir
from canapy.exceptions import CanapyError

__all__ = ["TOKEN_ENV", "add_parser", "run", "settings_from_args"]

TOKEN_ENV = "CANAPY_SERVE_TOKEN"
"""Environment variable holding the bearer token (alternative to ``--token-file``)."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``serve``."""
    p = subparsers.add_parser(
        "serve",
        help="serve models over HTTP (OpenAPI docs at /docs)",
        description="Annotate recordings over a local HTTP API: POST /annotate, POST /jobs, "
        "GET /models, GET /health; interactive documentation at http://ADDRESS:PORT/docs.",
    )
    p.add_argument(
        "--registry",
        help="registry folder (default: $CANAPY_REGISTRY or ~/.local/share/canapy/registry; "
        "not used with --model unless given)",
    )
    p.add_argument("--model", metavar="RUN_DIR", help="serve the models of this run folder")
    p.add_argument("--port", type=int, default=9322)
    p.add_argument("--address", default="127.0.0.1")
    p.add_argument(
        "--allow-remote",
        action="store_true",
        help="required to listen on a non-loopback address (needs a token too)",
    )
    p.add_argument(
        "--token-file",
        help=f"file holding the bearer token clients must send (or set ${TOKEN_ENV})",
    )
    p.add_argument(
        "--data-root",
        action="append",
        default=[],
        metavar="DIR",
        help="folder whose files may be annotated by path (repeatable; default: none)",
    )
    p.add_argument("--max-upload-mb", type=float, default=200.0, help="upload size limit")
    p.add_argument(
        "--workers", type=int, default=2, help="annotations running at once (worker processes)"
    )
    add_cache_args(p)
    p.set_defaults(func=run)


def _token(args: argparse.Namespace) -> str | None:
    if args.token_file:
        try:
            token = Path(args.token_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise CanapyError(f"{args.token_file}: cannot read the token file ({exc})") from exc
        if len(token) < 16:
            raise CanapyError(f"{args.token_file}: token too short (use 16 characters or more)")
        return token
    return os.environ.get(TOKEN_ENV) or None


def settings_from_args(args: argparse.Namespace):
    """:class:`~canapy.service_support.ServiceSettings` from the parsed arguments.

    Raises
    ------
    CanapyError
        A non-loopback address without ``--allow-remote`` and a token, a missing data
        root or run folder, or nothing to serve.
    """
    from canapy.network import is_loopback
    from canapy.registry import default_registry_dir
    from canapy.service_support import ServiceSettings

    token = _token(args)
    if not is_loopback(args.address):
        if not args.allow_remote:
            raise CanapyError(
                f"--address {args.address} is reachable from other machines: add "
                "--allow-remote (and a token) if that is what you want"
            )
        if token is None:
            raise CanapyError(
                f"listening on {args.address} needs a bearer token: --token-file FILE "
                f"or ${TOKEN_ENV}"
            )
    roots = tuple(Path(r).resolve() for r in args.data_root)
    for root in roots:
        if not root.is_dir():
            raise CanapyError(f"--data-root {root}: no such folder")
    run_dir = Path(args.model) if args.model else None
    if run_dir is not None and not (run_dir / "run.json").is_file():
        raise CanapyError(f"--model {run_dir}: not a run folder (no run.json)")
    registry = Path(args.registry) if args.registry else None
    if registry is None and run_dir is None:
        registry = default_registry_dir()
    if args.workers < 1:
        raise CanapyError("--workers must be at least 1")
    return ServiceSettings(
        registry=registry,
        run_dir=run_dir,
        data_roots=roots,
        max_upload_bytes=int(args.max_upload_mb * 1024 * 1024),
        workers=args.workers,
        token=token,
        cache_dir=cache_dir(args),
    )


def run(args: argparse.Namespace) -> int:
    """Start the service; returns when it is stopped (Ctrl-C)."""
    import uvicorn

    from canapy.service import create_app

    settings = settings_from_args(args)
    app = create_app(settings)
    host = f"[{args.address}]" if ":" in args.address else args.address
    print(f"canapy serve: http://{host}:{args.port}/docs (Ctrl-C to stop)")
    uvicorn.run(app, host=args.address, port=args.port, log_level="warning")
    return 0
