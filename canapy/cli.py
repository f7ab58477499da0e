"""The ``canapy`` command line: thin wrappers over :mod:`canapy.workflow`.

Errors on bad input are printed on one line (``canapy: error: ...``) with exit status 2;
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from canapy import __version__
from canapy.exceptions import CanapyError

__all__ = ["build_parser", "main"]

logger = logging.getLogger("canapy")


def _progress_bar(desc: str, quiet: bool) -> tuple[Callable[[float, str], None], Callable]:
    """A tqdm bar driven by ``progress(fraction, message)`` callbacks."""
    from tqdm import tqdm

    bar = tqdm(
        total=100,
        desc=desc,
        disable=quiet,
        unit="%",
        leave=False,
        bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed} {postfix}",
    )

    def update(fraction: float, message: str) -> None:
        bar.n = round(100 * fraction)
        bar.set_postfix_str(message[:50], refresh=False)
        bar.refresh()

    return update, bar.close


def _load_cfg(args: argparse.Namespace):
    from canapy.config import apply_preset, default_config, load_config

    if getattr(args, "config", None):
        return load_config(args.config, preset=getattr(args, "preset", None))
    if getattr(args, "preset", None):
        return apply_preset(args.preset)
    return default_config()


def _cache_dir(args: argparse.Namespace) -> Path | None:
    from canapy.workflow import default_cache_dir

    if getattr(args, "no_cache", False):
        return None
    return Path(args.cache_dir) if getattr(args, "cache_dir", None) else default_cache_dir()


def _load_corpus(args: argparse.Namespace):
    from canapy.corpus import load_corpus

    corpus = load_corpus(
        args.data_dir,
        audio_dir=getattr(args, "audio_dir", None),
        annot_format=args.format,
        skip_bad=args.skip_bad,
        overlap_tolerance_s=getattr(args, "overlap_tolerance", 0.0),
    )
    for problem in corpus.problems:
        print(f"canapy: warning: skipped {problem}", file=sys.stderr)
    return corpus


def _print_metrics(results: dict) -> None:
    cols = ["frame_accuracy", "syllable_error_rate", "onset_f1", "offset_f1"]
    print(
        f"{'model':<14}" + "".join(f"{c:>21}" for c in cols),
    )
    for kind, res in results.items():
        s = res.summary()
        print(
            f"{kind:<14}" + "".join(f"{s[c]:>21.4f}" for c in cols),
        )


def cmd_train(args: argparse.Namespace) -> int:
    from canapy.workflow import train

    cfg = _load_cfg(args)
    corpus = _load_corpus(args)
    for warning in corpus.check():
        print(f"canapy: warning: {warning}", file=sys.stderr)
    print(
        f"training on {len(corpus.annotated)} annotated files, "
        f"{len(corpus.segments)} segments, labels: {', '.join(corpus.labels)}"
    )
    progress, close = _progress_bar("train", args.quiet)
    try:
        result = train(corpus, cfg, args.output, _cache_dir(args), progress)
    finally:
        close()
    print(f"trained {', '.join(result.annotators)} in {result.seconds:.1f} s -> {result.run_dir}")
    if result.validation:
        print(f"held-out metrics ({len(result.validation_files)} files):")
        _print_metrics(result.validation)
    return 0


def _audio_files(folder: Path) -> list[Path]:
    from canapy.corpus import find_audio_files  # the corpus' own search: same files, same order

    if folder.is_file():
        return [folder]
    if not folder.is_dir():
        raise CanapyError(f"{folder}: no such folder")
    files = list(find_audio_files(folder))
    if not files:
        raise CanapyError(f"{folder}: no audio file (.wav, .flac, .ogg, .npy) found")
    return files


def cmd_annotate(args: argparse.Namespace) -> int:
    from canapy.audio import load_audio
    from canapy.runs import load_default_annotator
    from canapy.workflow import annotate_files

    annotator = load_default_annotator(args.run_dir, args.model)
    files = _audio_files(Path(args.audio_dir))
    good = []
    for path in files:
        try:
            if args.skip_bad:
                load_audio(path)
            good.append(path)
        except CanapyError as exc:
            print(f"canapy: warning: skipped {exc}", file=sys.stderr)
    progress, close = _progress_bar("annotate", args.quiet)
    try:
        written = annotate_files(
            annotator, good, Path(args.output), args.format, _cache_dir(args), progress
        )
    finally:
        close()
    print(
        f"wrote {len(written)} annotation files ({args.format}) to {args.output} "
        f"with the {annotator.kind} model"
    )
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from canapy.io_utils import atomic_write_json
    from canapy.workflow import evaluate_run

    corpus = _load_corpus(args)
    progress, close = _progress_bar("evaluate", args.quiet)
    try:
        results = evaluate_run(
            args.run_dir, corpus, [args.model] if args.model else None, _cache_dir(args), progress
        )
    finally:
        close()
    print(f"{len(corpus.annotated)} files, {len(corpus.segments)} reference segments")
    _print_metrics(results)
    for kind, res in results.items():
        print(f"\n{kind}: per-class (frame level)")
        print(res.per_class.round(3).to_string())
    if args.json:
        atomic_write_json(args.json, {k: v.to_dict() for k, v in results.items()})
        print(f"\nmetrics written to {args.json}")
    return 0


def cmd_example(args: argparse.Namespace) -> int:
    from canapy.synthetic import make_example_corpus

    out = make_example_corpus(args.out_dir, n_files=args.n_files, seed=args.seed)
    print(f"wrote a synthetic example corpus to {out}")
    print(f"try: canapy train {out} --output {Path(out) / 'run'}")
    return 0


def cmd_config_init(args: argparse.Namespace) -> int:
    from canapy.config import apply_preset, default_config, render_template
    from canapy.io_utils import atomic_write_text

    path = Path(args.path)
    if path.exists() and not args.force:
        raise CanapyError(f"{path}: already exists (use --force to overwrite)")
    cfg = apply_preset(args.preset) if args.preset else default_config()
    atomic_write_text(path, render_template(cfg))
    print(f"wrote a commented config template to {path}")
    return 0


def cmd_config_show(args: argparse.Namespace) -> int:
    from canapy.config import render_template

    print(render_template(_load_cfg(args)))
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from canapy.persistence import list_models

    table = list_models(args.root)
    if table.empty:
        print(f"no trained model under {args.root}")
    else:
        print(table.to_string(index=False))
    return 0


def cmd_dash(args: argparse.Namespace) -> int:
    from canapy.dashboards.server import serve_from_args  # lazy: Panel is slow to import

    return serve_from_args(args)


def _add_data_args(p: argparse.ArgumentParser) -> None:
    from canapy.corpus import readable_formats

    p.add_argument("data_dir", help="folder of audio files and their annotations")
    p.add_argument("--audio-dir", help="folder of the audio files, if not beside the annotations")
    p.add_argument(
        "--format",
        default="marron1csv",
        help=f"annotation format (default marron1csv); one of: {', '.join(readable_formats())}",
    )
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


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--cache-dir", help="feature cache folder (default ~/.cache/canapy/features)")
    p.add_argument("--no-cache", action="store_true", help="do not cache features on disk")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``canapy`` command."""
    from canapy.config import PRESETS

    parser = argparse.ArgumentParser(
        prog="canapy",
        description="Train Echo State Network annotators of animal song, "
        "find annotation errors, annotate new recordings.",
    )
    parser.add_argument("--version", action="version", version=f"canapy {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("train", help="train annotators on an annotated corpus")
    _add_data_args(p)
    p.add_argument("--output", "-o", required=True, help="run folder to write the models into")
    p.add_argument("--config", help="TOML config file (see `canapy config init`)")
    p.add_argument("--preset", choices=sorted(PRESETS), help="species preset")
    _add_common(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("annotate", help="annotate audio files with a trained model")
    p.add_argument("run_dir", help="run folder written by `canapy train`")
    p.add_argument("audio_dir", help="folder (or file) of audio to annotate")
    p.add_argument("--output", "-o", required=True, help="folder for the annotation files")
    p.add_argument("--format", default="marron1csv", help="output format (default marron1csv)")
    p.add_argument(
        "--model",
        choices=["syntactic", "nonsyntactic", "ensemble"],
        help="which model of the run (default: the run's default)",
    )
    p.add_argument("--skip-bad", action="store_true", help="skip unreadable audio files")
    _add_common(p)
    p.set_defaults(func=cmd_annotate)

    p = sub.add_parser("evaluate", help="measure a run's models on an annotated corpus")
    p.add_argument("run_dir", help="run folder written by `canapy train`")
    _add_data_args(p)
    p.add_argument("--model", choices=["syntactic", "nonsyntactic", "ensemble"])
    p.add_argument("--json", help="also write every metric to this JSON file")
    _add_common(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("example", help="write a small synthetic, learnable song corpus")
    p.add_argument("out_dir")
    p.add_argument("--n-files", type=int, default=12)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_example)

    p = sub.add_parser("models", help="list trained models under a folder")
    p.add_argument("root", nargs="?", default=".")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("config", help="write or show configuration files")
    csub = p.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    c = csub.add_parser("init", help="write a commented config template")
    c.add_argument("path")
    c.add_argument("--preset", choices=sorted(PRESETS))
    c.add_argument("--force", action="store_true", help="overwrite an existing file")
    c.set_defaults(func=cmd_config_init)
    c = csub.add_parser("show", help="print the resolved config")
    c.add_argument("--config")
    c.add_argument("--preset", choices=sorted(PRESETS))
    c.set_defaults(func=cmd_config_show)

    p = sub.add_parser("dash", help="open the dashboard in a browser")
    p.add_argument("data_dir", nargs="?", help="annotated corpus to open")
    p.add_argument("--output", "-o", help="run folder for trained models")
    p.add_argument("--format", default="marron1csv")
    p.add_argument("--port", type=int, default=9321)
    p.add_argument("--address", default="127.0.0.1")
    p.add_argument(
        "--allow-remote", action="store_true", help="required to listen on a non-loopback address"
    )
    p.add_argument("--no-browser", action="store_true")
    p.add_argument("--example", action="store_true", help="open the built-in synthetic corpus")
    p.set_defaults(func=cmd_dash)

    from canapy.cli_review import add_parsers as add_review_parsers

    add_review_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``canapy`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="canapy: %(levelname)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except CanapyError as exc:
        if args.debug:
            raise
        print(f"canapy: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("canapy: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
