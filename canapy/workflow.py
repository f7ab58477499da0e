"""Headless train / evaluate / annotate steps, shared by the CLI and the dashboard.

Training a run folder and annotating files live here; running models over files and
scoring them live in :mod:`canapy.evaluation`, whose steps are re-exported here (so
``from canapy.workflow import evaluate_saved_run`` keeps working). Every step takes an
optional ``progress(fraction, message)`` callback and returns plain objects; none
prints, none imports the dashboard.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from canapy.activity import GATE_FILE, ActivityGate, calibrate_on_corpus, load_gate, save_gate
from canapy.annotator import Annotator
from canapy.audio import audio_info
from canapy.batch import AnnotationReport, Submit, annotate_many
from canapy.config import AnnotateConfig, Config, config_to_dict
from canapy.config_file import save_config
from canapy.corpus import Corpus, corpus_fingerprint
from canapy.evaluation import (
    RunEvaluation,
    evaluate_annotators,
    evaluate_run,
    evaluate_saved_run,
    predict_files,
    score_proba,
)
from canapy.exceptions import CanapyError
from canapy.granularity import GranularityReport, apply_granularity
from canapy.io_utils import (
    ORPHAN_AGE_S,
    atomic_directory,
    atomic_write_json,
    clean_orphan_temps,
    refuse_write_into,
)
from canapy.model_choice import DefaultChoice, choose_default_model
from canapy.persistence import read_metadata, save_model
from canapy.streaming import StreamSettings
from canapy.threads import limited_threads
from canapy.training import FeatureSequence, fit_with_held_out

if TYPE_CHECKING:  # scikit-learn (via metrics) is slow to import: scoring imports it itself
    from canapy.metrics import EvaluationResult
from canapy.progress import ProgressFn, no_progress, scaled
from canapy.runs import RUN_FILE, VALIDATION_FILE

__all__ = [
    "FeatureSequence",
    "PartialAnnotationError",
    "ProgressFn",
    "RunEvaluation",
    "TrainResult",
    "adapt_to_corpus",
    "annotate_files",
    "annotate_settings",
    "default_cache_dir",
    "evaluate_annotators",
    "evaluate_run",
    "evaluate_saved_run",
    "fit_annotators",
    "load_run_gate",
    "predict_files",
    "resolve_sample_rate",
    "train",
]

logger = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    """Feature cache folder: ``$CANAPY_CACHE_DIR`` or ``~/.cache/canapy/features``."""
    env = os.environ.get("CANAPY_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "canapy" / "features"


def resolve_sample_rate(cfg: Config, paths: Sequence[Path]) -> int:
    """The configured rate, or (``audio.sample_rate = 0``) the most common native rate."""
    if cfg.audio.sample_rate:
        return cfg.audio.sample_rate
    rates = Counter(audio_info(p)[0] for p in paths)
    rates.pop(0, None)
    if not rates:
        return 32000
    return rates.most_common(1)[0][0]


def adapt_to_corpus(cfg: Config, segments: pd.DataFrame) -> Config:
    """Adapt post-processing and training targets to the corpus' annotation granularity.

    Syllable-level labels shrink the time constants to the shortest syllables; phrase-level
    labels bridge the gaps inside phrases and absorb blips (see
    :func:`canapy.granularity.apply_granularity`, which also returns the report).

    Examples
    --------
    >>> from canapy.config import default_config
    >>> segs = pd.DataFrame({"onset_s": [0.0, 0.1], "offset_s": [0.006, 0.106],
    ...                      "label": ["a", "b"]})
    >>> adapt_to_corpus(default_config(), segs).postprocess.min_duration_ms
    3.0
    """
    return apply_granularity(cfg, segments)[0]


def fit_annotators(
    corpus: Corpus,
    paths: Sequence[Path],
    cfg: Config,
    sample_rate: int,
    cache_dir: Path | None = None,
    progress: ProgressFn = no_progress,
    submit: Submit | None = None,
) -> dict[str, Annotator]:
    """Train the annotators listed in ``cfg.training.models`` on the files ``paths``.

    Features are computed (or read from the cache) file by file; the ridge normal
    equations are accumulated in chunks of files, so memory does not grow with the corpus.
    With ``submit`` (:func:`canapy.distributed.dask_submitter`), the feature sums and the
    syntactic model's normal equations are computed per file on the workers and added here
    in file order; the non-syntactic model (a few hundred excerpts) is trained here.
    """
    cfg, granularity = apply_granularity(cfg, corpus.subset(paths).segments)
    return fit_with_held_out(
        corpus,
        paths,
        [],
        cfg,
        sample_rate,
        cache_dir,
        progress,
        granularity.quiet_gap_s,
        submit,
    )[0]


@dataclass
class TrainResult:
    """What :func:`train` produced."""

    run_dir: Path
    annotators: dict[str, Annotator]
    validation: dict[str, EvaluationResult] = field(default_factory=dict)
    validation_files: list[str] = field(default_factory=list)
    seconds: float = 0.0
    granularity: GranularityReport | None = None
    """Syllable- or phrase-level labels, as inferred (or forced by the config)."""
    default_choice: DefaultChoice | None = None
    """The model ``annotate`` uses by default, and why."""


def _split_validation(paths: Sequence[Path], fraction: float, seed: int) -> tuple[list, list]:
    paths = list(paths)
    if fraction <= 0 or len(paths) < 4:
        return paths, []
    n_val = max(1, round(fraction * len(paths)))
    rng = np.random.default_rng(seed)
    val_idx = set(rng.choice(len(paths), size=n_val, replace=False).tolist())
    train = [p for i, p in enumerate(paths) if i not in val_idx]
    val = [p for i, p in enumerate(paths) if i in val_idx]
    return train, val


def train(
    corpus: Corpus,
    cfg: Config,
    run_dir: str | Path,
    cache_dir: Path | None = None,
    progress: ProgressFn = no_progress,
    submit: Submit | None = None,
) -> TrainResult:
    """Train, measure on held-out files, retrain on every file and save the models.

    ``run_dir`` receives one folder per model kind (``model.joblib`` + ``metadata.json``),
    the resolved ``config.toml``, ``run.json`` (files, validation summaries, timings, the
    ``granularity`` report), ``validation.json`` (the full held-out results: per class,
    confusion counts, per file) and ``gate.json`` (the activity gate for long recordings).
    ``submit`` (:func:`canapy.distributed.dask_submitter`) spreads the per-file work over
    a Dask cluster (see :func:`canapy.training.fit_with_held_out`).
    """
    run_dir = Path(run_dir)
    paths = list(corpus.annotated)
    if not paths:
        raise CanapyError("the corpus has no annotated audio file: nothing to train on")
    # The run folder is built whole in a locked temporary sibling, then renamed into
    # place: a kill, a full disk or a concurrent training never leaves a half or mixed run.
    with atomic_directory(run_dir, "run folder") as tmp_dir:
        result = _train_into(corpus, cfg, tmp_dir, cache_dir, progress, submit)
    progress(1.0, f"saved to {run_dir}")
    return replace(result, run_dir=run_dir)


def _train_into(
    corpus: Corpus,
    cfg: Config,
    run_dir: Path,
    cache_dir: Path | None,
    progress: ProgressFn,
    submit: Submit | None,
) -> TrainResult:
    """:func:`train`'s work, saving into the (temporary) folder ``run_dir``."""
    start = time.perf_counter()
    paths = list(corpus.annotated)
    sample_rate = resolve_sample_rate(cfg, paths)
    cfg, granularity = apply_granularity(cfg, corpus.segments)
    fit_paths, val_paths = _split_validation(
        paths, cfg.training.validation_fraction, cfg.training.seed
    )
    annotators, held_proba = fit_with_held_out(
        corpus,
        fit_paths,
        val_paths,
        cfg,
        sample_rate,
        cache_dir,
        scaled(progress, 0.0, 0.97),
        granularity.quiet_gap_s,
        submit,
    )
    validation = {
        kind: score_proba(annotators[kind], corpus, val_paths, proba)
        for kind, proba in held_proba.items()
    }
    choice = choose_default_model(
        cfg.training.default_model,
        list(annotators),
        {k: v.syllable_error_rate for k, v in validation.items()},
    )
    seconds = time.perf_counter() - start
    fingerprint = corpus_fingerprint(corpus)
    model_hashes = {}
    for kind, ann in annotators.items():
        metrics = validation[kind].summary() if kind in validation else {}
        save_model(
            ann,
            run_dir / kind,
            {
                "kind": kind,
                "config": config_to_dict(cfg),
                "sample_rate": sample_rate,
                "classes": ann.classes,
                "vocabulary": ann.labels,
                "training_data": {
                    "fingerprint": fingerprint,
                    "n_files": len(paths),
                    "n_segments": len(corpus.segments),
                },
                "metrics": metrics,
                "granularity": granularity.to_dict(),
            },
        )
        model_hashes[kind] = read_metadata(run_dir / kind)["model_sha256"]
    save_config(cfg, run_dir / "config.toml")
    opts = annotate_settings(cfg)
    progress(0.98, "calibrating the activity gate for long recordings")
    gate = calibrate_on_corpus(
        corpus, paths, cfg.features, sample_rate, opts.gate_recall, opts.gate_margin_ms / 1000
    )
    save_gate(gate, run_dir / GATE_FILE)
    atomic_write_json(
        run_dir / RUN_FILE,
        {
            "default_model": choice.model,
            "default_model_choice": choice.to_dict(),
            "models": list(annotators),
            "sample_rate": sample_rate,
            "training_files": [str(p) for p in paths],
            "validation_files": [str(p) for p in val_paths],
            "validation": {k: v.summary() for k, v in validation.items()},
            "train_seconds": round(seconds, 3),
            "fingerprint": fingerprint,
            "granularity": granularity.to_dict(),
            "model_sha256": model_hashes,
        },
    )
    if validation:  # the full held-out results (per class, confusion, per file)
        atomic_write_json(
            run_dir / VALIDATION_FILE, {k: v.to_dict() for k, v in validation.items()}
        )
    return TrainResult(
        run_dir, annotators, validation, [str(p) for p in val_paths], seconds, granularity, choice
    )


class PartialAnnotationError(CanapyError):
    """Some files could not be annotated; the others were written.

    Attributes
    ----------
    report : AnnotationReport
        Files written and, in ``report.failed``, each failed file with its reason.
    """

    def __init__(self, report: AnnotationReport) -> None:
        self.report = report
        names = "; ".join(f"{p}: {why}" for p, why in report.failed.items())
        super().__init__(
            f"{len(report.failed)} file(s) could not be annotated "
            f"({len(report.written)} written): {names}"
        )


def annotate_settings(cfg: Config) -> AnnotateConfig:
    """The ``[annotate]`` section of a model's config (defaults for models saved before it)."""
    return getattr(cfg, "annotate", None) or AnnotateConfig()


def load_run_gate(run_dir: str | Path) -> ActivityGate | None:
    """The activity gate calibrated when the run was trained, or None if it has none."""
    path = Path(run_dir) / GATE_FILE
    return load_gate(path) if path.is_file() else None


@limited_threads()
def annotate_files(
    annotator: Annotator,
    paths: Sequence[Path],
    out_dir: str | Path,
    annot_format: str = "marron1csv",
    cache_dir: Path | None = None,
    progress: ProgressFn = no_progress,
    gate: ActivityGate | None = None,
    submit: Submit | None = None,
    model: object = None,
    root: str | Path | None = None,
) -> list[Path]:
    """Annotate audio files and write one annotation file each into ``out_dir``.

    The sub-folders of the files below ``root`` (default: the deepest folder holding them
    all) are mirrored in ``out_dir``: ``a/x.wav`` and ``b/x.wav`` get one file each.

    Files longer than ``annotate.stream_above_s`` are streamed with bounded memory (see
    :mod:`canapy.streaming`) and, given a ``gate``, only their sound-bearing stretches go
    through the reservoirs. ``submit``/``model`` send the work to a Dask cluster (see
    :mod:`canapy.distributed`); the files written are the same. ``out_dir`` may not be a
    folder of the audio files or inside one (:func:`canapy.io_utils.refuse_write_into`):
    hand annotations there are never overwritten.

    Raises
    ------
    PartialAnnotationError
        After writing every other file, if some files could not be annotated.
    """
    refuse_write_into(out_dir, sorted({Path(p).parent for p in paths}), "write annotations")
    # Temporary files of a killed earlier run: an atomic write lives for milliseconds, so
    # one an hour old is nobody's.
    clean_orphan_temps(out_dir, older_than_s=ORPHAN_AGE_S)
    opts = annotate_settings(annotator.config)
    report = annotate_many(
        annotator,
        paths,
        out_dir,
        annot_format,
        gate=gate,
        settings=StreamSettings(block_s=opts.block_s, piece_s=opts.piece_s),
        stream_above_s=opts.stream_above_s,
        cache_dir=cache_dir,
        progress=progress,
        **({"submit": submit} if submit is not None else {}),
        model=model,
        root=root,
    )
    if report.failed:
        raise PartialAnnotationError(report)
    return report.written
