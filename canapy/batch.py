"""Annotate many files, in this process or on a Dask cluster, with the same results.

The work is cut into tasks that do not depend on where they run:

- short files (up to ``stream_above_s`` seconds) in groups of :data:`CHUNK_FILES`, each
  group annotated whole (:func:`predict_chunk`);
- long files: a scan task (:func:`canapy.streaming.plan_file`: noise floor, activity
  gate, pieces), then one task per group of consecutive pieces of up to ``piece_s``
  seconds (:func:`canapy.streaming.pieces_proba`); this process joins the pieces'
  probabilities in order and decodes them.

Tasks go through a ``submit(fn, *args)`` function returning an object with ``.result()``:
:func:`local_submit` runs them lazily here (groups of short files two at a time in threads
on a machine with two or more cores, see :func:`canapy.threads.pipeline_threads`; the
pieces of long files one at a time, so memory stays bounded);
:func:`canapy.distributed.dask_submitter` sends them to Dask workers. Either way this
process writes every annotation file (atomically), so outputs are byte-identical.

A file whose task fails (after the executor's retries) is reported by name in
:attr:`AnnotationReport.failed`; the other files are still written.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from canapy.activity import ActivityGate
from canapy.annotator import Annotator
from canapy.audio import audio_info
from canapy.corpus import write_annotation
from canapy.exceptions import CanapyError
from canapy.progress import ProgressFn
from canapy.streaming import (
    StreamSettings,
    decode_pieces,
    piece_groups,
    pieces_proba,
    plan_file,
)
from canapy.threads import pipeline_threads

__all__ = [
    "CHUNK_FILES",
    "AnnotationReport",
    "annotate_many",
    "common_root",
    "local_submit",
    "output_folder",
    "predict_chunk",
]

logger = logging.getLogger(__name__)

CHUNK_FILES = 8
"""Short files annotated together (one reservoir batch, one task)."""

Submit = Callable[..., Any]


class _Deferred:
    """A task run in this process when its result is asked for."""

    def __init__(self, fn: Callable, args: tuple) -> None:
        self.fn, self.args = fn, args

    def result(self) -> Any:
        return self.fn(*self.args)


def local_submit(fn: Callable, *args: Any) -> _Deferred:
    """Run ``fn(*args)`` here, lazily (when ``.result()`` is called)."""
    return _Deferred(fn, args)


def predict_chunk(
    annotator: Annotator,
    paths: Sequence[str | Path],
    cache_dir: Path | None = None,
    keep_proba: bool = False,
) -> dict[str, Any]:
    """Segments (and probabilities if asked) of a few whole files, run as one batch."""
    extractor = annotator.extractor(cache_dir)
    feats = [extractor(p) for p in paths]
    out: dict[str, Any] = {}
    for path, proba in zip(paths, annotator.frame_proba(feats), strict=True):
        segs = annotator.decode(proba, audio_info(path)[1])
        out[str(path)] = (segs, proba) if keep_proba else segs
    return out


def output_folder(audio_path: str | Path, out_dir: str | Path, root: str | Path) -> Path:
    """Where the annotation of ``audio_path`` goes: ``out_dir`` plus its sub-folder of ``root``.

    Mirroring the layout keeps ``a/x.wav`` and ``b/x.wav`` apart (one ``x.csv`` each).

    >>> output_folder("/data/a/x.wav", "/out", "/data").as_posix()
    '/out/a'
    >>> output_folder("/data/x.wav", "/out", "/data").as_posix()
    '/out'
    """
    parent = Path(audio_path).absolute().parent
    try:
        return Path(out_dir) / parent.relative_to(Path(root).absolute())
    except ValueError:  # not below root: flat, as before
        return Path(out_dir)


def common_root(paths: Sequence[str | Path]) -> Path | None:
    """The deepest folder holding every one of ``paths`` (None for no path)."""
    parents = [str(Path(p).absolute().parent) for p in paths]
    return Path(os.path.commonpath(parents)) if parents else None


@dataclass
class AnnotationReport:
    """What :func:`annotate_many` did."""

    written: list[Path] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    """Audio file -> one-line reason, for files that could not be annotated."""
    streamed: dict[str, float] = field(default_factory=dict)
    """Long files annotated block by block -> fraction of their frames the gate kept."""
    audio_seconds: float = 0.0


def _reason(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, CanapyError) else f"{type(exc).__name__}: {exc}"


def _local_pool(submit: Submit, n_tasks: int) -> ThreadPoolExecutor | None:
    """Threads running groups of short files side by side, for local work on 2+ cores.

    Every stage of a group (features, reservoir, readout, decoding) spends most of its time
    in code that releases the GIL, so two groups use two cores. Tasks sent elsewhere
    (``submit`` other than :func:`local_submit`) and long files stay as they are: the
    pieces of a long file are decoded in order and must not pile up in memory.
    """
    threads = pipeline_threads()
    if submit is not local_submit or threads < 2 or n_tasks < 2:
        return None
    return ThreadPoolExecutor(max_workers=threads, thread_name_prefix="canapy-annotate")


def annotate_many(
    annotator: Annotator,
    paths: Sequence[str | Path],
    out_dir: str | Path,
    annot_format: str = "marron1csv",
    gate: ActivityGate | None = None,
    settings: StreamSettings | None = None,
    stream_above_s: float = 60.0,
    cache_dir: Path | None = None,
    progress: ProgressFn | None = None,
    submit: Submit = local_submit,
    model: Any = None,
    root: str | Path | None = None,
) -> AnnotationReport:
    """Annotate audio files and write one annotation file each into ``out_dir``.

    The sub-folder layout of the audio files below ``root`` is mirrored in ``out_dir``
    (``root/a/x.wav`` -> ``out_dir/a/x.csv``), so files of the same name in different
    folders get annotation files of their own.

    Parameters
    ----------
    annotator : Annotator
        Trained annotator.
    paths : list of path
        Audio files.
    out_dir : path
        Folder of the annotation files.
    annot_format : str
        Output format (see :func:`canapy.corpus.writable_formats`).
    gate : ActivityGate, optional
        Used for long files only; None annotates every frame.
    settings : StreamSettings, optional
        Block sizes of long files (default :class:`StreamSettings`).
    stream_above_s : float
        Files longer than this are streamed.
    cache_dir : path, optional
        Feature cache of short files.
    progress : callable, optional
        ``progress(fraction, message)``, fraction of the audio seconds done.
    submit : callable
        ``submit(fn, *args)`` -> object with ``.result()``: :func:`local_submit` or
        :func:`canapy.distributed.dask_submitter`.
    model : optional
        What to pass to tasks in place of ``annotator`` (e.g. a Dask future of it,
        scattered once to every worker); default ``annotator``.
    root : path, optional
        Folder whose layout is mirrored (e.g. the folder given to ``canapy annotate``);
        default: the deepest folder holding every file.

    Returns
    -------
    AnnotationReport
    """
    report = AnnotationReport()
    settings = settings or StreamSettings()
    root = common_root(paths) if root is None else Path(root)
    model = annotator if model is None else model
    durations: dict[str, float] = {}
    for p in paths:
        try:
            durations[str(p)] = audio_info(p)[1]
        except CanapyError as exc:
            report.failed[str(p)] = _reason(exc)
    total = max(1e-9, sum(durations.values()))
    report.audio_seconds = sum(durations.values())
    done = 0.0

    def tick(seconds: float, message: str) -> None:
        nonlocal done
        done += seconds
        if progress is not None:
            progress(min(1.0, done / total), message)

    def write(path: str, segs: pd.DataFrame) -> None:
        table = segs.assign(audio_path=path)
        folder = output_folder(path, out_dir, root) if root is not None else Path(out_dir)
        report.written.append(write_annotation(table, Path(path), folder, annot_format))

    short = [p for p, d in durations.items() if d <= stream_above_s]
    long = [p for p, d in durations.items() if d > stream_above_s]
    chunks = [short[i : i + CHUNK_FILES] for i in range(0, len(short), CHUNK_FILES)]
    pool = _local_pool(submit, len(chunks))
    chunk_submit = submit if pool is None else pool.submit
    chunk_tasks = [(c, chunk_submit(predict_chunk, model, c, cache_dir)) for c in chunks]
    sr, cfg = annotator.sample_rate, annotator.config.features
    plan_tasks = [(p, submit(plan_file, p, sr, cfg, gate, settings)) for p in long]
    for chunk, task in chunk_tasks:
        try:
            results = task.result()
        except Exception as exc:  # isolate the bad file(s): one task per file
            logger.info("a group of %d files failed (%s); retrying one by one", len(chunk), exc)
            results = {}
            for p in chunk:
                try:
                    results.update(submit(predict_chunk, model, [p], cache_dir).result())
                except Exception as exc_one:
                    report.failed[p] = _reason(exc_one)
        for p in chunk:
            if p in results:
                write(p, results[p])
            tick(durations[p], f"annotated {Path(p).name}")
    if pool is not None:
        pool.shutdown()
    for path, task in plan_tasks:
        name = Path(path).name
        try:
            plan = task.result()
            report.streamed[path] = plan.active_fraction
            tasks = [
                submit(pieces_proba, model, plan, group, settings)
                for group in piece_groups(annotator, plan, settings)
            ]
            probas = (proba for t in tasks for proba in t.result())
            seen = [0.0]

            def piece_progress(fraction: float, message: str, _seen=seen, _d=durations[path]):
                tick(fraction * _d - _seen[0], message)
                _seen[0] = fraction * _d

            segs = decode_pieces(annotator, plan, probas, piece_progress)
            tick(durations[path] - seen[0], f"annotated {name}")
            write(path, segs)
        except Exception as exc:
            report.failed[path] = _reason(exc)
            logger.info("%s failed: %s", path, exc)
    return report
