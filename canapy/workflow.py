"""Headless train / evaluate / annotate steps, shared by the CLI and the dashboard.

Every step takes an optional ``progress(fraction, message)`` callback and returns plain
objects; none prints, none imports the dashboard.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from canapy.annotator import MODEL_KINDS, Annotator
from canapy.audio import audio_info
from canapy.config import Config, config_to_dict, save_config
from canapy.corpus import Corpus, corpus_fingerprint, write_annotation
from canapy.exceptions import CanapyError
from canapy.features import FeatureExtractor
from canapy.io_utils import (
    ORPHAN_AGE_S,
    atomic_directory,
    atomic_write_json,
    clean_orphan_temps,
    refuse_write_into,
)
from canapy.labels import check_silence_label, frame_targets, make_classes
from canapy.metrics import EvaluationResult, evaluate_segments
from canapy.models import EnsembleClassifier, EsnClassifier, feature_scaling, nonsyntactic_sequences
from canapy.persistence import read_metadata, save_model
from canapy.progress import ProgressFn, no_progress, scaled
from canapy.runs import (
    RUN_FILE,
    VALIDATION_FILE,
    heldout_description,
    load_annotators,
    read_run,
    read_validation,
    scoring_plan,
)

__all__ = [
    "FeatureSequence",
    "ProgressFn",
    "RunEvaluation",
    "TrainResult",
    "adapt_to_corpus",
    "annotate_files",
    "default_cache_dir",
    "evaluate_run",
    "evaluate_saved_run",
    "fit_annotators",
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
    """Shrink the time constants of post-processing to the corpus' shortest syllables.

    The defaults (8 ms minimum duration, 6 ms smoothing, 4 ms boundary margin) suit
    songbirds; for species with very short calls they would erase syllables. Each is capped
    by a fraction of the 1st percentile of the hand-labelled durations; longer syllables
    leave the config unchanged.

    Examples
    --------
    >>> from canapy.config import default_config
    >>> segs = pd.DataFrame({"onset_s": [0.0, 0.1], "offset_s": [0.006, 0.106]})
    >>> adapt_to_corpus(default_config(), segs).postprocess.min_duration_ms
    3.0
    """
    if segments.empty:
        return cfg
    shortest_ms = 1000.0 * float(np.quantile(segments["offset_s"] - segments["onset_s"], 0.01))
    post = replace(
        cfg.postprocess,
        min_duration_ms=min(cfg.postprocess.min_duration_ms, round(0.5 * shortest_ms, 3)),
        smoothing_ms=min(cfg.postprocess.smoothing_ms, round(0.5 * shortest_ms, 3)),
    )
    training = replace(
        cfg.training, boundary_ms=min(cfg.training.boundary_ms, round(0.25 * shortest_ms, 3))
    )
    return replace(cfg, postprocess=post, training=training)


class FeatureSequence(Sequence):
    """Features of a list of audio files, loaded lazily from the disk cache.

    Holding only the paths keeps training memory independent of the corpus size.
    """

    def __init__(self, paths: Sequence[Path | str], extractor: FeatureExtractor) -> None:
        self.paths = [Path(p) for p in paths]
        self.extractor = extractor

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return FeatureSequence(self.paths[i], self.extractor)
        return self.extractor(self.paths[i])


def _targets(
    corpus: Corpus,
    paths: Sequence[Path],
    n_frames: Sequence[int],
    hop_s: float,
    classes: Sequence[str],
    boundary_s: float,
) -> list[np.ndarray]:
    out = []
    for path, n in zip(paths, n_frames, strict=True):
        segs = corpus.segments_of(path)
        out.append(
            frame_targets(
                segs["onset_s"], segs["offset_s"], segs["label"], n, hop_s, classes, boundary_s
            ).astype(np.int16)
        )
    return out


def fit_annotators(
    corpus: Corpus,
    paths: Sequence[Path],
    cfg: Config,
    sample_rate: int,
    cache_dir: Path | None = None,
    progress: ProgressFn = no_progress,
) -> dict[str, Annotator]:
    """Train the annotators listed in ``cfg.training.models`` on the files ``paths``.

    Features are computed (or read from the cache) file by file; the ridge normal
    equations are accumulated in chunks of files, so memory does not grow with the corpus.
    """
    cfg = adapt_to_corpus(cfg, corpus.subset(paths).segments)
    extractor = FeatureExtractor(cfg.features, sample_rate, cache_dir)
    hop_s = extractor.hop_s
    check_silence_label(corpus.subset(paths).segments, cfg.postprocess.silence_label)
    classes = make_classes(corpus.subset(paths).segments["label"], cfg.postprocess.silence_label)
    if len(classes) < 2:
        raise CanapyError("no labelled segment in the training files: nothing to learn")
    feats = FeatureSequence(paths, extractor)
    lengths: list[int] = []

    def each_file() -> Iterator[np.ndarray]:  # one read per file: lengths and scaling
        for k in range(len(feats)):
            progress(0.25 * k / len(feats), f"features {feats.paths[k].name}")
            x = feats[k]
            lengths.append(len(x))
            yield x

    mean, scale = feature_scaling(each_file())
    targets = _targets(corpus, paths, lengths, hop_s, classes, cfg.training.boundary_ms / 1000)
    fitted: dict[str, EsnClassifier] = {}
    wanted = set(cfg.training.models)
    if wanted & {"syntactic", "ensemble"}:
        progress(0.3, "training the syntactic model on whole songs")
        syn = EsnClassifier(cfg.reservoir, cfg.readout).begin(classes, mean, scale)
        chunk = 8
        for start in range(0, len(feats), chunk):
            stop = min(len(feats), start + chunk)
            syn.partial_fit([feats[i] for i in range(start, stop)], targets[start:stop])
            progress(0.3 + 0.45 * stop / len(feats), f"syntactic model: {stop}/{len(feats)} files")
        fitted["syntactic"] = syn.finalize()
    if wanted & {"nonsyntactic", "ensemble"}:
        progress(0.78, "training the non-syntactic model on shuffled single segments")
        rng = np.random.default_rng(cfg.training.seed)
        standardised = _StandardisedSequence(feats, mean, scale)
        seq_x, seq_y = nonsyntactic_sequences(
            standardised,
            targets,
            len(classes),
            cfg.training.segments_per_class,
            round(cfg.training.context_ms / 1000 / hop_s),
            cfg.training.noise_std,
            rng,
        )
        non = EsnClassifier(cfg.reservoir, cfg.readout).begin(classes, mean, scale)
        fitted["nonsyntactic"] = non.partial_fit(seq_x, seq_y, standardised=True).finalize()
    progress(1.0, "models trained")
    result: dict[str, Annotator] = {}
    for kind in MODEL_KINDS:
        if kind not in wanted:
            continue
        est = (
            EnsembleClassifier([fitted["syntactic"], fitted["nonsyntactic"]])
            if kind == "ensemble"
            else fitted[kind]
        )
        result[kind] = Annotator(kind, cfg, sample_rate, est)
    return result


class _StandardisedSequence(Sequence):
    def __init__(self, feats: FeatureSequence, mean: np.ndarray, scale: np.ndarray) -> None:
        self.feats, self.mean, self.scale = feats, mean, scale

    def __len__(self) -> int:
        return len(self.feats)

    def __getitem__(self, i):  # type: ignore[override]
        return (self.feats[i] - self.mean) / self.scale


def predict_files(
    annotator: Annotator,
    paths: Sequence[Path | str],
    cache_dir: Path | None = None,
    progress: ProgressFn = no_progress,
    keep_proba: bool = False,
) -> dict[str, pd.DataFrame | tuple[pd.DataFrame, np.ndarray]]:
    """Annotate audio files: ``{str(path): segments}`` (with probabilities if asked).

    Segments have columns ``onset_s, offset_s, label, confidence``.
    """
    extractor = annotator.extractor(cache_dir)
    out: dict[str, pd.DataFrame | tuple[pd.DataFrame, np.ndarray]] = {}
    chunk = 8
    paths = [Path(p) for p in paths]
    for start in range(0, len(paths), chunk):
        batch = paths[start : start + chunk]
        feats = [extractor(p) for p in batch]
        for path, proba in zip(batch, annotator.frame_proba(feats), strict=True):
            duration = audio_info(path)[1]
            segs = annotator.decode(proba, duration)
            out[str(path)] = (segs, proba) if keep_proba else segs
        progress(
            min(len(paths), start + chunk) / max(1, len(paths)),
            f"annotated {min(len(paths), start + chunk)}/{len(paths)} files",
        )
    return out


def _as_segment_table(predictions: dict[str, pd.DataFrame]) -> pd.DataFrame:
    frames = [segs.assign(audio_path=path) for path, segs in predictions.items()]
    if not frames:
        return pd.DataFrame(columns=["audio_path", "onset_s", "offset_s", "label", "confidence"])
    return pd.concat(frames, ignore_index=True)


def evaluate_annotators(
    annotators: dict[str, Annotator],
    corpus: Corpus,
    paths: Sequence[Path],
    cache_dir: Path | None = None,
    progress: ProgressFn = no_progress,
) -> dict[str, EvaluationResult]:
    """Metrics of each annotator on the annotated files ``paths`` of ``corpus``."""
    reference = corpus.subset(paths).segments
    durations = {str(p): audio_info(p)[1] for p in paths}
    results = {}
    kinds = list(annotators)
    for k, kind in enumerate(kinds):
        ann = annotators[kind]
        preds = predict_files(
            ann, paths, cache_dir, scaled(progress, k / len(kinds), (k + 1) / len(kinds))
        )
        results[kind] = evaluate_segments(
            reference,
            _as_segment_table(preds),
            durations,
            silence_label=ann.config.postprocess.silence_label,
        )
    return results


@dataclass
class TrainResult:
    """What :func:`train` produced."""

    run_dir: Path
    annotators: dict[str, Annotator]
    validation: dict[str, EvaluationResult] = field(default_factory=dict)
    validation_files: list[str] = field(default_factory=list)
    seconds: float = 0.0


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
) -> TrainResult:
    """Train, measure on held-out files, retrain on every file and save the models.

    ``run_dir`` receives one folder per model kind (``model.joblib`` + ``metadata.json``),
    the resolved ``config.toml``, ``run.json`` (files, validation summaries, timings) and
    ``validation.json`` (the full held-out results: per class, confusion counts, per file).
    """
    run_dir = Path(run_dir)
    paths = list(corpus.annotated)
    if not paths:
        raise CanapyError("the corpus has no annotated audio file: nothing to train on")
    # The run folder is built whole in a locked temporary sibling, then renamed into
    # place: a kill, a full disk or a concurrent training never leaves a half or mixed run.
    with atomic_directory(run_dir, "run folder") as tmp_dir:
        result = _train_into(corpus, cfg, tmp_dir, cache_dir, progress)
    progress(1.0, f"saved to {run_dir}")
    return replace(result, run_dir=run_dir)


def _train_into(
    corpus: Corpus,
    cfg: Config,
    run_dir: Path,
    cache_dir: Path | None,
    progress: ProgressFn,
) -> TrainResult:
    """:func:`train`'s work, saving into the (temporary) folder ``run_dir``."""
    start = time.perf_counter()
    paths = list(corpus.annotated)
    sample_rate = resolve_sample_rate(cfg, paths)
    cfg = adapt_to_corpus(cfg, corpus.segments)
    fit_paths, val_paths = _split_validation(
        paths, cfg.training.validation_fraction, cfg.training.seed
    )
    validation: dict[str, EvaluationResult] = {}
    if val_paths:
        held_out = fit_annotators(
            corpus, fit_paths, cfg, sample_rate, cache_dir, scaled(progress, 0.0, 0.4)
        )
        validation = evaluate_annotators(
            held_out, corpus, val_paths, cache_dir, scaled(progress, 0.4, 0.5)
        )
        final_progress = scaled(progress, 0.5, 0.97)
    else:
        final_progress = scaled(progress, 0.0, 0.97)
    annotators = fit_annotators(corpus, paths, cfg, sample_rate, cache_dir, final_progress)
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
            },
        )
        model_hashes[kind] = read_metadata(run_dir / kind)["model_sha256"]
    save_config(cfg, run_dir / "config.toml")
    atomic_write_json(
        run_dir / RUN_FILE,
        {
            "default_model": cfg.training.default_model,
            "models": list(annotators),
            "sample_rate": sample_rate,
            "training_files": [str(p) for p in paths],
            "validation_files": [str(p) for p in val_paths],
            "validation": {k: v.summary() for k, v in validation.items()},
            "train_seconds": round(seconds, 3),
            "fingerprint": fingerprint,
            "model_sha256": model_hashes,
        },
    )
    if validation:  # the full held-out results (per class, confusion, per file)
        atomic_write_json(
            run_dir / VALIDATION_FILE, {k: v.to_dict() for k, v in validation.items()}
        )
    return TrainResult(run_dir, annotators, validation, [str(p) for p in val_paths], seconds)


def annotate_files(
    annotator: Annotator,
    paths: Sequence[Path],
    out_dir: str | Path,
    annot_format: str = "marron1csv",
    cache_dir: Path | None = None,
    progress: ProgressFn = no_progress,
) -> list[Path]:
    """Annotate audio files and write one annotation file each into ``out_dir``.

    ``out_dir`` may not be a folder of the audio files or inside one
    (:func:`canapy.io_utils.refuse_write_into`): hand annotations there are never
    overwritten.
    """
    refuse_write_into(out_dir, sorted({Path(p).parent for p in paths}), "write annotations")
    # Temporary files of a killed earlier run: an atomic write lives for milliseconds, so
    # one an hour old is nobody's.
    clean_orphan_temps(out_dir, older_than_s=ORPHAN_AGE_S)
    preds = predict_files(annotator, paths, cache_dir, progress)
    written = []
    for path, segs in preds.items():
        table = segs.assign(audio_path=path)
        written.append(write_annotation(table, Path(path), Path(out_dir), annot_format))
    return written


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
