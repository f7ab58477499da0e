"""``canapy dash``: serve the dashboard, one independent session per browser tab."""

from __future__ import annotations

import argparse
import contextlib
import functools
import ipaddress
import logging
import shutil
import signal
import socket
import sys
import tempfile
import weakref
from pathlib import Path
from typing import Any

from canapy.exceptions import CanapyError

__all__ = ["is_loopback", "resolve_paths", "serve", "serve_from_args"]

logger = logging.getLogger(__name__)


def is_loopback(address: str) -> bool:
    """Whether ``address`` only accepts connections from this machine.

    Examples
    --------
    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("::1")
    (True, True, True)
    >>> is_loopback("0.0.0.0"), is_loopback("192.168.1.5")
    (False, False)
    """
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:  # a host name: loopback only if every address it resolves to is
        try:
            infos = socket.getaddrinfo(address, None)
        except OSError:
            return False
        return bool(infos) and all(
            ipaddress.ip_address(info[4][0].split("%")[0]).is_loopback for info in infos
        )


def resolve_paths(args: argparse.Namespace) -> tuple[Path, Path, Path | None]:
    """``(data_dir, run_root, temporary folder to delete on exit or None)``.

    ``--example`` writes :func:`canapy.synthetic.make_example_corpus` into ``DATA_DIR``
    when given (if it holds no corpus yet), else into a temporary folder. Runs go to
    ``--output`` or ``DATA_DIR/.canapy/runs``.
    """
    from canapy.synthetic import make_example_corpus

    temporary = None
    if args.example:
        if args.data_dir:
            data_dir = Path(args.data_dir)
            if not (data_dir / "README.txt").is_file():
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


def serve(
    data_dir: Path,
    run_root: Path,
    annot_format: str = "marron1csv",
    port: int = 9321,
    address: str = "127.0.0.1",
    show: bool = True,
) -> None:
    """Serve the app at ``http://ADDRESS:PORT/`` until Ctrl-C (or SIGTERM)."""
    import librosa  # noqa: F401  slow imports happen now, not while the first page waits
    import panel as pn

    from canapy.corpus import readable_formats

    from .app import create_app

    readable_formats()  # imports crowsetta (slow) before the first session needs it

    sessions: weakref.WeakSet = weakref.WeakSet()

    def factory() -> Any:  # a plain function: Panel calls it once per browser session
        app = create_app(data_dir, run_root, annot_format)
        sessions.add(app)
        return app

    origins = (
        [f"{host}:{port}" for host in ("localhost", "127.0.0.1", address)]
        if is_loopback(address)
        else ["*"]
    )
    server = pn.serve(
        {"/": factory},
        port=port,
        address=address,
        websocket_origin=origins,
        show=False,
        start=False,
        title="Canapy",
    )
    url = f"http://{'127.0.0.1' if address in ('127.0.0.1', '0.0.0.0') else address}:{port}/"
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


def serve_from_args(args: argparse.Namespace) -> int:
    """Entry point of ``canapy dash`` (see ``canapy dash --help``); returns the exit code."""
    if not is_loopback(args.address):
        if not args.allow_remote:
            raise CanapyError(
                f"refusing to listen on {args.address}: anyone who can reach this machine "
                "could use the dashboard and read the data folder; pass --allow-remote "
                "if that is what you want"
            )
        logger.warning(
            "listening on %s: the dashboard is reachable from other machines, "
            "with no authentication",
            args.address,
        )
    data_dir, run_root, temporary = resolve_paths(args)
    try:
        serve(data_dir, run_root, args.format, args.port, args.address, not args.no_browser)
    finally:
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)
    return 0
