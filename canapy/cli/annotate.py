"""``canapy annotate``: annotate audio files with a trained model."""

from __future__ import annotations

import argparse
from pathlib import Path

from canapy.cli.common import (
    MODEL_CHOICES,
    add_cache_args,
    add_cluster_args,
    cache_dir,
    cluster,
    warn,
)
from canapy.exceptions import CanapyError
from canapy.io_utils import refuse_write_into

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``annotate``."""
    p = subparsers.add_parser("annotate", help="annotate audio files with a trained model")
    p.add_argument("run_dir", help="run folder written by `canapy train`")
    p.add_argument("audio_dir", help="folder (or file) of audio to annotate")
    p.add_argument("--output", "-o", required=True, help="folder for the annotation files")
    p.add_argument("--format", default="marron1csv", help="output format (default marron1csv)")
    p.add_argument(
        "--model",
        choices=list(MODEL_CHOICES),
        help="which model of the run (default: the run's default)",
    )
    p.add_argument("--skip-bad", action="store_true", help="skip unreadable audio files")
    p.add_argument(
        "--no-gate",
        action="store_true",
        help="long files: run every frame through the model instead of only the "
        "sound-bearing stretches found by the run's activity gate",
    )
    add_cluster_args(p)
    add_cache_args(p)
    p.set_defaults(func=run)


def audio_files(folder: Path) -> list[Path]:
    """The audio files of ``folder`` (or ``folder`` itself if it is a file), sorted.

    Raises
    ------
    CanapyError
        If the folder does not exist or holds no audio file.
    """
    from canapy.corpus import find_audio_files  # the corpus' own search: same files, same order

    if folder.is_file():
        return [folder]
    if not folder.is_dir():
        raise CanapyError(f"{folder}: no such folder")
    files = list(find_audio_files(folder))
    if not files:
        raise CanapyError(f"{folder}: no audio file (.wav, .flac, .ogg, .npy) found")
    return files


def run(args: argparse.Namespace) -> int:
    """Annotate every audio file and write one annotation file each.

    Sub-folders of ``audio_dir`` are mirrored in the output folder (``a/x.wav`` and
    ``b/x.wav`` are written to ``a/x.csv`` and ``b/x.csv``).

    A file that cannot be annotated is reported by name at the end (exit status 2); the
    others are written anyway.
    """
    from canapy.audio import check_header
    from canapy.distributed import task_options
    from canapy.progress import terminal_progress
    from canapy.runs import load_default_annotator
    from canapy.workflow import (
        PartialAnnotationError,
        annotate_files,
        annotate_settings,
        load_run_gate,
    )

    annotator = load_default_annotator(args.run_dir, args.model)
    refuse_write_into(args.output, [args.audio_dir], "write annotations")
    use_gate = not args.no_gate and annotate_settings(annotator.config).gate
    gate = load_run_gate(args.run_dir) if use_gate else None
    good = []
    for path in audio_files(Path(args.audio_dir)):
        try:
            if args.skip_bad:
                check_header(path)
            good.append(path)
        except CanapyError as exc:
            warn(f"skipped {exc}")
    failed: dict[str, str] = {}
    with cluster(args) as client, terminal_progress("annotate", args.quiet) as progress:
        extra = task_options(client, annotator)
        try:
            written = annotate_files(
                annotator,
                good,
                Path(args.output),
                args.format,
                cache_dir(args),
                progress,
                gate=gate,
                root=Path(args.audio_dir) if Path(args.audio_dir).is_dir() else None,
                **extra,
            )
        except PartialAnnotationError as exc:
            written, failed = exc.report.written, exc.report.failed
    for path, why in failed.items():
        warn(f"not annotated: {why if why.startswith(str(path)) else f'{path}: {why}'}")
    print(
        f"wrote {len(written)} annotation files ({args.format}) to {args.output} "
        f"with the {annotator.kind} model"
        + (f"; {len(failed)} file(s) failed (see above)" if failed else "")
    )
    return 2 if failed else 0
