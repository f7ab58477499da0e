"""What every ``canapy`` command shares: options, loading, printing and error handling.

Command modules import from here, never from each other. Heavy libraries (pandas,
crowsetta, librosa, scikit-learn, reservoirpy) are imported inside the functions that need
them, so ``canapy --help`` and ``canapy config show`` start fast.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from canapy.exceptions import CanapyError

if TYPE_CHECKING:
    from canapy.config import Config
    from canapy.corpus import Corpus
    from canapy.store import AnnotationStore

__all__ = [
    "MODEL_CHOICES",
    "add_cache_args",
    "add_cluster_args",
    "add_config_args",
    "add_data_args",
    "add_format_arg",
    "add_store_arg",
    "cache_dir",
    "cluster",
    "describe_os_error",
    "load_cfg",
    "load_corpus",
    "open_store",
    "print_metrics",
    "print_table",
    "run_command",
    "version_number",
    "warn",
]

MODEL_CHOICES = ("syntactic", "nonsyntactic", "ensemble", "logreg")
"""The models of a run, as accepted by ``--model``."""


class _FormatNames:
    """Annotation format names, looked up only when a help page is printed.

    Listing them imports the corpus package (crowsetta, pandas): too slow for every start.
    """

    def __init__(self, writable: bool) -> None:
        self.writable = writable

    def __str__(self) -> str:
        from canapy.corpus import readable_formats, writable_formats

        return ", ".join(writable_formats() if self.writable else readable_formats())


def add_format_arg(
    p: argparse.ArgumentParser, help: str = "annotation format", writable: bool = False
) -> None:
    """``--format`` (default marron1csv), its help listing the known formats."""
    action = p.add_argument(
        "--format",
        default="marron1csv",
        help=f"{help} (default marron1csv); one of: %(format_names)s",
    )
    action.format_names = _FormatNames(writable)  # type: ignore[attr-defined]


def add_data_args(p: argparse.ArgumentParser) -> None:
    """``DATA_DIR``, ``--audio-dir``, ``--format``, ``--skip-bad``, ``--drop-bad-rows``,
    ``--overlap-tolerance``."""
    p.add_argument("data_dir", help="folder of audio files and their annotations")
    p.add_argument("--audio-dir", help="folder of the audio files, if not beside the annotations")
    add_format_arg(p)
    p.add_argument(
        "--skip-bad",
        action="store_true",
        help="skip unreadable or inconsistent files with a warning instead of stopping",
    )
    p.add_argument(
        "--drop-bad-rows",
        action="store_true",
        help="drop a bad row (e.g. a label that is only a space or a TAB) with a warning "
        "instead of refusing its whole file",
    )
    p.add_argument(
        "--overlap-tolerance",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="trim overlaps between consecutive segments up to this long at their midpoint "
        "instead of refusing the file (default 0: overlaps are errors)",
    )


def add_config_args(p: argparse.ArgumentParser) -> None:
    """``--config`` and ``--preset``."""
    from canapy.config import PRESETS

    p.add_argument("--config", help="TOML config file (see `canapy config init`)")
    p.add_argument("--preset", choices=sorted(PRESETS), help="species preset")


def add_cache_args(p: argparse.ArgumentParser) -> None:
    """``--quiet``, ``--cache-dir``, ``--no-cache``."""
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--cache-dir", help="feature cache folder (default ~/.cache/canapy/features)")
    p.add_argument("--no-cache", action="store_true", help="do not cache features on disk")


def add_cluster_args(p: argparse.ArgumentParser) -> None:
    """``--workers`` and ``--scheduler`` (Dask)."""
    g = p.add_mutually_exclusive_group()
    g.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="spread the work over N local Dask worker processes",
    )
    g.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="use a running Dask cluster (e.g. tcp://10.0.0.5:8786; see docs/howto-cluster.md)",
    )


@contextlib.contextmanager
def cluster(args: argparse.Namespace) -> Iterator[Any]:
    """The Dask client asked for by ``--workers``/``--scheduler``, or None."""
    if not getattr(args, "workers", None) and not getattr(args, "scheduler", None):
        yield None
        return
    from canapy.distributed import open_client

    with open_client(workers=args.workers, scheduler=args.scheduler) as client:
        yield client


def version_number(text: str) -> int:
    """Parse a store version number (an integer from 1), for argparse ``type=``.

    Examples
    --------
    >>> version_number("3")
    3
    >>> version_number("0")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: versions start at 1, got 0
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a version number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"versions start at 1, got {value}")
    return value


def add_store_arg(p: argparse.ArgumentParser) -> None:
    """``--store``: the annotation store folder."""
    p.add_argument("--store", help="annotation store folder (default DATA_DIR/.canapy/store)")


def open_store(args: argparse.Namespace) -> AnnotationStore:
    """The store of ``--store``, or the one of ``DATA_DIR``."""
    from canapy.store import AnnotationStore

    if getattr(args, "store", None):
        return AnnotationStore(args.store, data_dir=args.data_dir)
    return AnnotationStore.for_data_dir(args.data_dir)


def load_cfg(args: argparse.Namespace) -> Config:
    """The config named by ``--config``/``--preset``, or the defaults."""
    from canapy.config import apply_preset, default_config, load_config

    if getattr(args, "config", None):
        return load_config(args.config, preset=getattr(args, "preset", None))
    if getattr(args, "preset", None):
        return apply_preset(args.preset)
    return default_config()


def cache_dir(args: argparse.Namespace) -> Path | None:
    """The feature cache folder, or None with ``--no-cache``."""
    from canapy.workflow import default_cache_dir

    if getattr(args, "no_cache", False):
        return None
    return Path(args.cache_dir) if getattr(args, "cache_dir", None) else default_cache_dir()


def warn(message: str) -> None:
    """Print ``canapy: warning: message`` on stderr."""
    print(f"canapy: warning: {message}", file=sys.stderr)


def load_corpus(args: argparse.Namespace, require_audio: bool = True) -> Corpus:
    """Load the corpus of the data arguments; warn about each skipped file.

    With ``require_audio=False`` annotations whose audio is missing are kept.
    """
    from canapy.corpus import load_corpus as load

    corpus = load(
        args.data_dir,
        audio_dir=getattr(args, "audio_dir", None),
        annot_format=args.format,
        skip_bad=args.skip_bad,
        require_audio=require_audio,
        overlap_tolerance_s=getattr(args, "overlap_tolerance", 0.0),
        drop_bad_rows=getattr(args, "drop_bad_rows", False),
    )
    for problem in corpus.problems:
        warn(f"skipped {problem}")
    return corpus


def corpus_of_args(args: argparse.Namespace) -> tuple[Corpus, str]:
    """The corpus of ``--from-version`` (a store version) or of the data arguments.

    Returns the corpus and where it comes from, in words.
    """
    if getattr(args, "from_version", None) is not None:
        store = open_store(args)
        return store.as_corpus(args.from_version), f"version {args.from_version} of {store.root}"
    return load_corpus(args), str(args.data_dir)


def print_metrics(results: dict[str, Any]) -> None:
    """One line of summary metrics per model."""
    cols = ["frame_accuracy", "syllable_error_rate", "onset_f1", "offset_f1"]
    print(f"{'model':<14}" + "".join(f"{c:>21}" for c in cols))
    for kind, res in results.items():
        s = res.summary()
        print(f"{kind:<14}" + "".join(f"{s[c]:>21.4f}" for c in cols))


def print_table(table: Any) -> None:
    """Print a DataFrame in full, numbers with 3 decimals."""
    import pandas as pd

    with pd.option_context("display.max_colwidth", 70, "display.width", 200):
        print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))


def describe_os_error(exc: OSError) -> str:
    """One line for an operating-system error, naming the path(s) and a hint.

    Examples
    --------
    >>> import errno
    >>> describe_os_error(OSError(errno.ENOSPC, "No space left on device", "/d/run"))
    '/d/run: No space left on device (free some disk space, or write elsewhere)'
    >>> describe_os_error(IsADirectoryError(21, "Is a directory", "cfg"))
    'cfg: Is a directory (a file was expected here)'
    """
    import errno

    paths = [str(p) for p in (exc.filename, exc.filename2) if p is not None]
    what = exc.strerror or str(exc) or type(exc).__name__
    hints = {
        errno.ENOSPC: "free some disk space, or write elsewhere",
        errno.EACCES: "check the file's permissions",
        errno.EPERM: "check the file's permissions",
        errno.EISDIR: "a file was expected here",
        errno.ENOTDIR: "a folder was expected here, or a path goes through a file",
        errno.ENOENT: "check the path (a dangling symlink?)",
        errno.EROFS: "the disk is read-only; write elsewhere",
    }
    hint = hints.get(exc.errno or -1)
    return (" -> ".join(paths) + ": " if paths else "") + what + (f" ({hint})" if hint else "")


def run_command(args: argparse.Namespace) -> int:
    """Run the parsed command: the CLI's one error boundary.

    Bad input (:class:`~canapy.exceptions.CanapyError`), operating-system errors (a full
    disk, a permission, a folder where a file was expected, a dangling symlink) and
    malformed JSON are printed on one line ``canapy: error: ...`` naming the path, exit
    status 2 (1 for OS errors); ``--debug`` re-raises them with the traceback. Ctrl-C
    gives 130.
    """
    import json

    debug = getattr(args, "debug", False)
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="canapy: %(levelname)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except CanapyError as exc:
        if debug:
            raise
        print(f"canapy: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        if debug:
            raise
        print(f"canapy: error: {describe_os_error(exc)}", file=sys.stderr)
        return 1
    except json.JSONDecodeError as exc:
        if debug:
            raise
        print(f"canapy: error: malformed JSON file: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("canapy: interrupted", file=sys.stderr)
        return 130
