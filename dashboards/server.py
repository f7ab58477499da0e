"""``canapy dash``: serve the dashboard, one independent session per browser tab."""

from __future__ import annotations

import argparse
import contextlib
import functools
import logging
import shutil
import signal
import sys
import tempfile
import weakref
from pathlib import Path
from typing import Any

from canapy.exceptions import CanapyError
from canapy.network import is_loopback  # the one check, shared with `canapy serve`

__all__ = ["is_loopback", "resolve_paths", "serve", "serve_from_args"]

logger = logging.getLogger(__name__)


def resolve_paths(args: argparse.Namespace) -> tuple[Path, Path, Path | None]:
    """``(data_dir, run_root, temporary folder to delete on exit or None)``.

    ``--example`` writes :func:`canapy.synthetic.make_example_corpus` into ``DATA_DIR``
    when given (only if it is new or empty; a folder holding the example already is
    reopened), else into a temporary folder. Runs go to
    ``--output`` or ``DATA_DIR/.canapy/runs``.
    """
    from canapy.synthetic import make_example_corpus

    temporary = None
    if args.example:
        if args.data_dir:
            data_dir = Path(args.data_dir)
            if not _holds_example(data_dir):
                if data_dir.is_dir() and any(data_dir.iterdir()):
                    raise CanapyError(
                        f"{data_dir}: not empty; --example writes synthetic songs only into "
                        "a new or empty folder (never into a real corpus); drop DATA_DIR "
                        "to open the example from a temporary folder"
                    )
                make_example_corpus(data_dir)
        else:
            temporary = Path(tempfile.mkdtemp(prefix="canapy-example-"))
            data_dir = make_example_corpus(temporary / "corpus")
    elif args.data_dir:
        data_dir = Path(args.data_dir)
        if not data_dir.is_dir():
            raise CanapyError(f"{data_dir}: no such folder")
    else:
        raise CanapyError("give a DATA_DIR to open, or --example for the built-in demo corpus")
    run_root = Path(args.output) if args.output else data_dir / ".canapy" / "runs"
    return data_dir.absolute(), run_root.absolute(), temporary


def _holds_example(folder: Path) -> bool:
    """Whether ``folder`` holds a corpus made by ``make_example_corpus``."""
    readme = folder / "README.txt"
    return readme.is_file() and readme.read_text(encoding="utf-8", errors="replace").startswith(
        "Synthetic example corpus made by canapy"
    )


def serve(
    data_dir: Path,
    run_root: Path,
    annot_format: str = "marron1csv",
    port: int = 9321,
    address: str = "127.0.0.1",
    show: bool = True,
    origins: list[str] | None = None,
    token: str | None = None,
    registry_dir: Path | None = None,
) -> None:
    """Serve the app at ``http://ADDRESS:PORT/`` until Ctrl-C (or SIGTERM).

    ``registry_dir`` is the model registry of the Train/Evaluate tabs (default:
    :func:`canapy.registry.default_registry_dir`, as ``canapy models``).
    ``origins`` are the ``host[:port]`` pages allowed to open the WebSocket (default:
    this machine's loopback names); with ``token``, every page and WebSocket request must
    carry it (:func:`canapy.dashboards.access.token_auth_provider`).
    """
    import panel as pn

    from canapy.corpus import readable_formats

    from .app import create_app

    readable_formats()  # imports crowsetta (slow) before the first session needs it

    sessions: weakref.WeakSet = weakref.WeakSet()

    def factory() -> Any:  # a plain function: Panel calls it once per browser session
        app = create_app(data_dir, run_root, annot_format, registry_dir=registry_dir)
        sessions.add(app)
        return app

    if origins is None:
        if not is_loopback(address):
            raise CanapyError("a non-loopback address needs an explicit list of origins")
        origins = [f"{host}:{port}" for host in ("localhost", "127.0.0.1", address)]
    if "*" in origins:
        raise CanapyError("the origin '*' would let any web page drive the dashboard; list hosts")
    extra: dict[str, Any] = {}
    if token is not None:
        from .access import token_auth_provider

        extra["auth_provider"] = token_auth_provider(token)
    server = pn.serve(
        {"/": factory},
        port=port,
        address=address,
        websocket_origin=origins,
        show=False,
        start=False,
        title="Canapy",
        **extra,
    )
    url = f"http://{'127.0.0.1' if address in ('127.0.0.1', '0.0.0.0') else address}:{port}/"
    if token is not None:
        url += f"?token={token}"
    loop = server.io_loop

    def stop(*_: Any) -> None:
        raise KeyboardInterrupt  # SIGTERM stops the server the way Ctrl-C does

    previous = signal.signal(signal.SIGTERM, stop)
    server.start()
    print(f"canapy dashboard: {url} (data: {data_dir}; runs: {run_root}); Ctrl-C stops it")
    sys.stdout.flush()
    if show:
        loop.add_callback(functools.partial(_open_browser, url))
    try:
        loop.start()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        for app in list(sessions):  # running trainings stop at their next progress report
            app.state.close()
        with contextlib.suppress(Exception):
            server.stop()
        print("canapy dashboard stopped")


def _open_browser(url: str) -> None:
    import webbrowser

    with contextlib.suppress(Exception):
        webbrowser.open_new_tab(url)


def _registry_dir(args: argparse.Namespace) -> Path | None:
    """``--registry`` as an absolute path (None: the default registry)."""
    return Path(args.registry).absolute() if getattr(args, "registry", None) else None


def serve_from_args(args: argparse.Namespace) -> int:
    """Entry point of ``canapy dash`` (see ``canapy dash --help``); returns the exit code."""
    if not is_loopback(args.address):
        if not args.allow_remote:
            raise CanapyError(
                f"refusing to listen on {args.address}: anyone who can reach this machine "
                "could use the dashboard and read the data folder; pass --allow-remote "
                "if that is what you want"
            )
        if not getattr(args, "origin", None):
            raise CanapyError(
                "--allow-remote needs --origin HOST[:PORT] (repeatable): the addresses "
                "browsers will use to reach the dashboard, e.g. --origin myhost:"
                f"{args.port}; '*' is not accepted"
            )
    token = getattr(args, "token", None)
    if token is None and not is_loopback(args.address):
        from .access import new_token

        token = new_token()
    if token is not None and len(token) < 16:
        raise CanapyError("--token must be at least 16 characters long")
    data_dir, run_root, temporary = resolve_paths(args)
    try:
        serve(
            data_dir,
            run_root,
            args.format,
            args.port,
            args.address,
            not args.no_browser,
            origins=list(args.origin) if getattr(args, "origin", None) else None,
            token=token,
            registry_dir=Path(args.registry).absolute()
            if getattr(args, "registry", None)
            else None,
        )
    finally:
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)
    return 0
