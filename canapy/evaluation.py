"""Run trained annotators over audio files, and score them against the hand labels.

The prediction and evaluation steps that :mod:`canapy.workflow` (held-out scores of a
training), the CLI (``canapy evaluate``), the model registry and the dashboard call.
Annotators that share features and reservoir share one reservoir run per file.
Every step takes an optional ``progress(fraction, message)`` callback; none prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from canapy.annotator import Annotator
from canapy.audio import audio_info
from canapy.batch import CHUNK_FILES, Submit, predict_chunk
from canapy.corpus import Corpus
from canapy.models import predict_proba_many
from canapy.progress import ProgressFn, no_progress
from canapy.runs import (
    heldout_description,
    load_annotators,
    read_run,
    read_validation,
    scoring_plan,
)
from canapy.threads import limited_threads

if TYPE_CHECKING:  # scikit-learn (via metrics) is slow to import: scoring imports it itself
    from canapy.metrics import EvaluationResult

__all__ = [
    "RunEvaluation",
    "evaluate_annotators",
    "evaluate_run",
    "evaluate_saved_run",
    "predict_files",
    "score_proba",
]


@limited_threads()
def _predict_many(
    annotators: dict[str, Annotator],
    paths: Sequence[Path | str],
    cache_dir: Path | None,
    progress: ProgressFn,
    keep_proba: bool,
) -> dict[str, dict[str, pd.DataFrame | tuple[pd.DataFrame, np.ndarray]]]:
    """``{kind: {str(path): segments}}``; annotators sharing features and reservoir share runs."""
    anns = list(annotators.values())
    if any(
        (a.config.features, a.sample_rate) != (anns[0].config.features, anns[0].sample_rate)
        for a in anns
    ):  # different features: no work to share
        return {
            kind: _predict_many({kind: ann}, paths, cache_dir, progress, keep_proba)[kind]
            for kind, ann in annotators.items()
        }
    extractor = anns[0].extractor(cache_dir)
    out: dict[str, dict] = {kind: {} for kind in annotators}
    chunk = 8
    paths = [Path(p) for p in paths]
    for start in range(0, len(paths), chunk):
        batch = paths[start : start + chunk]
        feats = [extractor(p) for p in batch]
        durations = [audio_info(p)[1] for p in batch]
        probas = predict_proba_many([a.estimator for a in anns], feats)
        for (kind, ann), per_file in zip(annotators.items(), probas, strict=True):
            for path, proba, duration in zip(batch, per_file, durations, strict=True):
                segs = ann.decode(proba, duration)
                out[kind][str(path)] = (segs, proba) if keep_proba else segs
        done = min(len(paths), start + chunk)
        progress(done / max(1, len(paths)), f"annotated {done}/{len(paths)} files")
    return out


def predict_files(
    annotator: Annotator,
    paths: Sequence[Path | str],
    cache_dir: Path | None = None,
    progress: ProgressFn = no_progress,
    keep_proba: bool = False,
    submit: Submit | None = None,
    model: Any = None,
) -> dict[str, pd.DataFrame | tuple[pd.DataFrame, np.ndarray]]:
    """Annotate audio files: ``{str(path): segments}`` (with probabilities if asked).

    Segments have columns ``onset_s, offset_s, label, confidence``. With ``submit``
    (and ``model``, see :func:`canapy.distributed.task_options`) the files go to a Dask
    cluster in groups of :data:`canapy.batch.CHUNK_FILES`, a few groups in flight at a
    time; ``progress`` is told after each group, so a progress callback that raises
    (a cancelled dashboard task) stops the work there.
    """
    if submit is None:
        return _predict_many({"model": annotator}, paths, cache_dir, progress, keep_proba)["model"]
    from canapy.distributed import in_order

    paths = [str(p) for p in paths]
    chunks = [paths[i : i + CHUNK_FILES] for i in range(0, len(paths), CHUNK_FILES)]
    tasks = [(annotator if model is None else model, c, cache_dir, keep_proba) for c in chunks]
    out: dict[str, Any] = {}
    progress(0.0, f"annotating {len(paths)} files on the Dask workers")
    for result in in_order(submit, predict_chunk, tasks):
        out.update(result)
        progress(len(out) / max(1, len(paths)), f"annotated {len(out)}/{len(paths)} files")
    return out


def _as_segment_table(predictions: dict[str, pd.DataFrame]) -> pd.DataFrame:
    frames = [segs.assign(audio_path=path) for path, segs in predictions.items()]
    if not frames:
        return pd.DataFrame(columns=["audio_path", "onset_s", "offset_s", "label", "confidence"])
    return pd.concat(frames, ignore_index=True)


def _evaluate(
    ann: Annotator, corpus: Corpus, paths: Sequence[Path], preds: dict[str, pd.DataFrame]
) -> EvaluationResult:
    from canapy.metrics import evaluate_segments  # scikit-learn: slow import, scoring only

    return evaluate_segments(
        corpus.subset(paths).segments,
        _as_segment_table(preds),
        {str(p): audio_info(p)[1] for p in paths},
        silence_label=ann.config.postprocess.silence_label,
    )


def score_proba(
    ann: Annotator, corpus: Corpus, paths: Sequence[Path], proba: dict[str, np.ndarray]
) -> EvaluationResult:
    """Metrics of frame probabilities ``{str(path): (T, n_classes)}`` of annotated files.

    Used to score held-out files whose probabilities training computed on the way.
    """
    preds = {str(p): ann.decode(proba[str(p)], audio_info(p)[1]) for p in paths}
    return _evaluate(ann, corpus, paths, preds)


def evaluate_annotators(
    annotators: dict[str, Annotator],
    corpus: Corpus,
    paths: Sequence[Path],
    cache_dir: Path | None = None,
    progress: ProgressFn = no_progress,
) -> dict[str, EvaluationResult]:
    """Metrics of each annotator on the annotated files ``paths`` of ``corpus``."""
    preds = _predict_many(annotators, paths, cache_dir, progress, keep_proba=False)
    return {kind: _evaluate(annotators[kind], corpus, paths, preds[kind]) for kind in annotators}


def evaluate_run(
    run_dir: str | Path,
    corpus: Corpus,
    kinds: Sequence[str] | None = None,
    cache_dir: Path | None = None,
    progress: ProgressFn = no_progress,
) -> dict[str, EvaluationResult]:
    """Metrics of a run's models on every annotated file of ``corpus``."""
    annotators = load_annotators(run_dir, kinds)
    return evaluate_annotators(annotators, corpus, list(corpus.annotated), cache_dir, progress)


@dataclass(frozen=True)
class RunEvaluation:
    """A run's models and their scores, as :func:`evaluate_saved_run` found them.

    ``results`` maps each model kind to its :class:`~canapy.metrics.EvaluationResult` on
    ``paths``; ``kind`` says what those files are: ``"heldout"`` (held out during
    training: the honest scores), ``"rescored"`` (the run's validation files scored again
    by the saved models, which were retrained on them: optimistic) or ``"training"``
    (nothing was held out: every annotated file, optimistic); ``description`` says it in
    a sentence for the user.
    """

    run_dir: Path
    annotators: dict[str, Annotator]
    results: dict[str, EvaluationResult]
    paths: tuple[str, ...]
    kind: str
    description: str


def evaluate_saved_run(
    run_dir: str | Path,
    corpus: Corpus,
    cache_dir: Path | None = None,
    progress: ProgressFn = no_progress,
) -> RunEvaluation:
    """Load a saved run's models and their best available scores on ``corpus``.

    The held-out results saved by :func:`train` when they cover every model (nothing is
    recomputed); otherwise the models are scored on the files chosen by
    :func:`canapy.runs.scoring_plan` (the run's validation files still in ``corpus``, or
    every annotated file).
    """
    progress(0.0, f"loading the models of {Path(run_dir).name}")
    annotators = load_annotators(run_dir)
    run = read_run(run_dir)
    saved = read_validation(run_dir)
    if saved and set(saved) >= set(annotators):
        files = tuple(str(p) for p in run.validation_files)
        return RunEvaluation(
            Path(run_dir), annotators, saved, files, "heldout", heldout_description(files)
        )
    plan = scoring_plan(run, list(corpus.annotated))
    results = evaluate_annotators(annotators, corpus, list(plan.paths), cache_dir, progress)
    return RunEvaluation(
        Path(run_dir),
        annotators,
        results,
        tuple(str(p) for p in plan.paths),
        plan.kind,
        plan.description,
    )
