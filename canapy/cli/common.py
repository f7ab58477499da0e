"""What every ``canapy`` command shares: options, loading, printing and error handling.

Command modules import from here, never from each other. Heavy libraries (pandas,
crowsetta, librosa, scikit-learn, reservoirpy) are imported inside the functions that need
them, so ``canapy --help`` and ``canapy config show`` start fast.
"""

from __future__ import annotations

import argparse
import logging
import sys
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
    "add_config_args",
    "add_data_args",
    "add_format_arg",
    "add_store_arg",
    "cache_dir",
    "load_cfg",
    "load_corpus",
    "open_store",
    "print_metrics",
    "print_table",
    "run_command",
    "version_number",
    "warn",
]

MODEL_CHOICES = ("syntactic", "nonsyntactic", "ensemble")
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
    """``DATA_DIR``, ``--audio-dir``, ``--format``, ``--skip-bad``, ``--overlap-tolerance``."""
    p.add_argument("data_dir", help="folder of audio files and their annotations")
    p.add_argument("--audio-dir", help="folder of the audio files, if not beside the annotations")
    add_format_arg(p)
    p.add_argument(
        "--skip-bad",
        action="store_true",
        help="skip unreadable or inconsistent files with a warning instead of stopping",
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


def load_corpus(args: argparse.Namespace) -> Corpus:
    """Load the corpus of the data arguments; warn about each skipped file."""
    from canapy.corpus import load_corpus as load

    corpus = load(
        args.data_dir,
        audio_dir=getattr(args, "audio_dir", None),
        annot_format=args.format,
        skip_bad=args.skip_bad,
        overlap_tolerance_s=getattr(args, "overlap_tolerance", 0.0),
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


def run_command(args: argparse.Namespace) -> int:
    """Run the parsed command; print bad-input errors on one line.

    Returns the command's exit status, 2 on :class:`~canapy.exceptions.CanapyError`
    (re-raised with ``--debug``), 130 on Ctrl-C.
    """
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
    except KeyboardInterrupt:
        print("canapy: interrupted", file=sys.stderr)
        return 130
