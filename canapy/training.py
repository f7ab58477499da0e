"""Fit the annotators of a corpus, optionally measuring them on held-out files on the way.

The syntactic model's ridge normal equations are sums over files, and the reservoir states
of a file do not depend on the readout. So a training run with held-out files does one
reservoir pass over the songs: the sums over the fitting files are solved into the
held-out models, the held-out files' states are scored by those models *and* added to the
sums, which are then solved into the final models. Before this, the syntactic reservoir
ran over the fitting files twice and over the held-out files twice more to score them.

Feature standardisation (mean and scale per dimension) is learnt on all files, held-out
ones included: it uses the audio only, never the labels, so the held-out measurement stays
honest about the labels while sharing the final models' scaling.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from canapy.annotator import ALL_MODEL_KINDS, Annotator
from canapy.config import Config
from canapy.context_model import ContextClassifier
from canapy.corpus import Corpus
from canapy.exceptions import CanapyError
from canapy.features import FeatureExtractor, frame_loudness
from canapy.labels import (
    check_silence_label,
    frame_targets,
    make_classes,
    silence_quiet_frames,
)
from canapy.models import (
    EnsembleClassifier,
    EsnClassifier,
    feature_scaling,
    nonsyntactic_sequences,
    scaling_from_sums,
)
from canapy.progress import ProgressFn, no_progress
from canapy.threads import limited_threads

__all__ = ["FeatureSequence", "fit_with_held_out"]

logger = logging.getLogger(__name__)

_CHUNK_FILES = 8  # files whose reservoir states are computed together (bounded memory)
_NO_CACHE_KEEP_BYTES = 512 * 2**20  # features kept in memory by a training without a disk cache


class FeatureSequence(Sequence):
    """Features of a list of audio files, loaded lazily from the disk cache.

    Holding only the paths keeps training memory independent of the corpus size. Without a
    disk cache (``canapy train --no-cache``), every pass of a training over the files would
    compute their features again; ``keep_bytes`` keeps the features computed, read-only, up
    to that many bytes (shared with slices of this sequence), so small corpora are computed
    once and large ones stay bounded in memory.
    """

    def __init__(
        self,
        paths: Sequence[Path | str],
        extractor: FeatureExtractor,
        keep_bytes: int = 0,
        _kept: dict[Path, np.ndarray] | None = None,
    ) -> None:
        self.paths = [Path(p) for p in paths]
        self.extractor = extractor
        self.keep_bytes = keep_bytes
        self._kept: dict[Path, np.ndarray] = {} if _kept is None else _kept

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return FeatureSequence(self.paths[i], self.extractor, self.keep_bytes, self._kept)
        path = self.paths[i]
        kept = self._kept.get(path)
        if kept is not None:
            return kept
        x = self.extractor(path)
        if sum(a.nbytes for a in self._kept.values()) + x.nbytes <= self.keep_bytes:
            x.flags.writeable = False  # shared by every pass: nobody may change it
            self._kept[path] = x
        return x


class _StandardisedSequence(Sequence):
    def __init__(self, feats: Sequence, mean: np.ndarray, scale: np.ndarray) -> None:
        self.feats, self.mean, self.scale = feats, mean, scale

    def __len__(self) -> int:
        return len(self.feats)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return _StandardisedSequence(self.feats[i], self.mean, self.scale)
        return (self.feats[i] - self.mean) / self.scale


def _targets(
    corpus: Corpus,
    paths: Sequence[Path],
    n_frames: Sequence[int],
    hop_s: float,
    classes: Sequence[str],
    boundary_s: float,
    loudness: Sequence[np.ndarray] | None = None,
    quiet_gap_s: float = 0.0,
) -> list[np.ndarray]:
    """Frame targets of each file; with ``loudness`` (phrase-level labels), the quiet gaps
    inside segments are trained as silence (:func:`canapy.labels.silence_quiet_frames`)."""
    out = []
    min_gap = max(1, round(quiet_gap_s / hop_s))
    for k, (path, n) in enumerate(zip(paths, n_frames, strict=True)):
        segs = corpus.segments_of(path)
        y = frame_targets(
            segs["onset_s"], segs["offset_s"], segs["label"], n, hop_s, classes, boundary_s
        )
        if loudness is not None:
            y = silence_quiet_frames(y, loudness[k], min_gap)
        out.append(y.astype(np.int16))
    return out


def _nonsyntactic(
    cfg: Config,
    non: EsnClassifier,
    standardised: Sequence[np.ndarray],
    targets: Sequence[np.ndarray],
    hop_s: float,
    per_class: int | Sequence[int],
    seed_offset: int = 0,
) -> EsnClassifier:
    """Add shuffled single segments of the given files to the non-syntactic model's sums."""
    seq_x, seq_y = nonsyntactic_sequences(
        standardised,
        targets,
        len(non.classes_),
        per_class,
        round(cfg.training.context_ms / 1000 / hop_s),
        cfg.training.noise_std,
        np.random.default_rng(
            cfg.training.seed if seed_offset == 0 else [cfg.training.seed, seed_offset]
        ),
    )
    return non.partial_fit(seq_x, seq_y, standardised=True)


def _held_out_share(
    targets: Sequence[np.ndarray], n_fit: int, n_classes: int, per_class: int
) -> list[int]:
    """Excerpts per class to draw from the held-out files, added after the held-out scoring.

    The final non-syntactic model keeps the fitting files' excerpts and adds the held-out
    files' share (in proportion to their number), instead of drawing everything again and
    running the reservoir over it a second time; a class seen only in held-out files gets
    the full ``per_class``.

    >>> fit_and_held = [np.array([0, 1, 1]), np.array([0, 1]), np.array([0, 2])]
    >>> _held_out_share(fit_and_held, n_fit=2, n_classes=3, per_class=100)
    [50, 50, 100]
    """
    seen_in_fit = np.zeros(n_classes, bool)
    for y in targets[:n_fit]:
        seen_in_fit[np.unique(y)] = True
    share = round(per_class * (len(targets) - n_fit) / max(1, n_fit))
    return [share if seen else per_class for seen in seen_in_fit]


def _scaling_on_workers(
    submit: Callable[..., object],
    extractor: FeatureExtractor,
    paths: Sequence[Path],
    lengths: list[int],
    report: ProgressFn,
) -> tuple[np.ndarray, np.ndarray]:
    """Feature mean and scale from per-file sums computed on the workers (fills ``lengths``)."""
    from canapy.distributed import file_sums, in_order

    n, total, sq = 0, 0.0, 0.0
    for k, (m, s1, s2) in enumerate(in_order(submit, file_sums, [(extractor, p) for p in paths])):
        report(0.25 * (k + 1) / len(paths), f"features {paths[k].name}")
        lengths.append(m)
        n, total, sq = n + m, total + s1, sq + s2
    return scaling_from_sums(n, total, sq)


def _logreg(
    cfg: Config,
    feats: Sequence[np.ndarray],
    targets: Sequence[np.ndarray],
    classes: Sequence[str],
    mean: np.ndarray,
    scale: np.ndarray,
) -> ContextClassifier:
    """The ``logreg`` model (:mod:`canapy.context_model`) on the given files."""
    return ContextClassifier(cfg.logreg, cfg.training.seed).fit(
        feats, targets, classes, mean, scale
    )


def _estimators(fitted: dict[str, EsnClassifier], kinds: Sequence[str]) -> dict:
    return {
        kind: (
            EnsembleClassifier([fitted["syntactic"], fitted["nonsyntactic"]])
            if kind == "ensemble"
            else fitted[kind]
        )
        for kind in kinds
    }


@limited_threads()
def fit_with_held_out(
    corpus: Corpus,
    fit_paths: Sequence[Path],
    held_out: Sequence[Path],
    cfg: Config,
    sample_rate: int,
    cache_dir: Path | None = None,
    progress: ProgressFn = no_progress,
    quiet_gap_s: float = 0.0,
    submit: Callable[..., object] | None = None,
) -> tuple[dict[str, Annotator], dict[str, dict[str, np.ndarray]]]:
    """Train the annotators of ``cfg.training.models`` on ``fit_paths`` + ``held_out``.

    Models trained on ``fit_paths`` alone first annotate ``held_out`` (its frame
    probabilities are returned), then the final models are trained on every file, sharing
    the reservoir pass over the songs (see the module docstring). ``cfg`` is used as given
    (already adapted to the corpus). With ``quiet_gap_s`` > 0 (phrase-level labels, see
    :attr:`canapy.granularity.GranularityReport.quiet_gap_s`), quiet stretches of at least
    that length inside segments are trained as silence. With ``submit``
    (:func:`canapy.distributed.dask_submitter`), the feature sums and the syntactic model's
    per-file normal equations of the fitting files are computed on the workers and added
    here in file order (the sums are the same, so the readout equals the single-process one
    to float tolerance); held-out scoring and the non-syntactic model stay here. BLAS
    threads are limited to :func:`canapy.threads.blas_threads` while it runs.

    Returns
    -------
    annotators : dict
        ``{kind: Annotator}`` trained on every file.
    held_out_proba : dict
        ``{kind: {str(path): frame probabilities (T, n_classes)}}`` of the models trained
        on ``fit_paths`` alone; empty if ``held_out`` is.
    """
    report = progress
    fit_paths, held_out = [Path(p) for p in fit_paths], [Path(p) for p in held_out]
    paths = fit_paths + held_out
    extractor = FeatureExtractor(cfg.features, sample_rate, cache_dir)
    hop_s = extractor.hop_s
    check_silence_label(corpus.subset(paths).segments, cfg.postprocess.silence_label)
    classes = make_classes(corpus.subset(paths).segments["label"], cfg.postprocess.silence_label)
    if len(classes) < 2:
        raise CanapyError("no labelled segment in the training files: nothing to learn")
    keep = 0 if cache_dir is not None else _NO_CACHE_KEEP_BYTES
    feats = FeatureSequence(paths, extractor, keep_bytes=keep)
    lengths: list[int] = []
    phrase_level = quiet_gap_s > 0
    loudness: list[np.ndarray] = []

    def each_file() -> Iterator[np.ndarray]:  # one read per file: lengths and scaling
        for k in range(len(feats)):
            report(0.25 * k / len(feats), f"features {feats.paths[k].name}")
            x = feats[k]
            lengths.append(len(x))
            if phrase_level:
                loudness.append(frame_loudness(x, cfg.features))
            yield x

    if submit is None:
        mean, scale = feature_scaling(each_file())
    else:
        mean, scale = _scaling_on_workers(submit, extractor, feats.paths, lengths, report)
        if phrase_level:
            loudness.extend(frame_loudness(feats[k], cfg.features) for k in range(len(feats)))
    targets = _targets(
        corpus,
        paths,
        lengths,
        hop_s,
        classes,
        cfg.training.boundary_ms / 1000,
        loudness if phrase_level else None,
        quiet_gap_s,
    )
    standardised = _StandardisedSequence(feats, mean, scale)
    wanted = [k for k in ALL_MODEL_KINDS if k in cfg.training.models]
    need_syn = bool({"syntactic", "ensemble"} & set(wanted))
    need_non = bool({"nonsyntactic", "ensemble"} & set(wanted))
    need_logreg = "logreg" in wanted
    n_fit = len(fit_paths)
    syn = EsnClassifier(cfg.reservoir, cfg.readout).begin(classes, mean, scale)
    non = EsnClassifier(cfg.reservoir, cfg.readout).begin(classes, mean, scale)
    per_class = cfg.training.segments_per_class

    def accumulate(start: int, stop: int, lo: float, hi: float) -> None:
        if submit is not None:  # groups of files, each one reservoir batch, as below
            from canapy.distributed import group_normal_equations, in_order

            bounds = [(c0, min(stop, c0 + _CHUNK_FILES)) for c0 in range(start, stop, _CHUNK_FILES)]
            model = (cfg.reservoir, cfg.readout, classes, mean, scale, extractor)
            tasks = [(*model, paths[c0:c1], targets[c0:c1]) for c0, c1 in bounds]
            parts = in_order(submit, group_normal_equations, tasks)
            for (_, c1), part in zip(bounds, parts, strict=True):
                syn.merge(part)
                report(lo + (hi - lo) * (c1 - start) / max(1, stop - start), f"syntactic {c1}")
            return
        for c0 in range(start, stop, _CHUNK_FILES):
            c1 = min(stop, c0 + _CHUNK_FILES)
            syn.partial_fit([standardised[i] for i in range(c0, c1)], targets[c0:c1], True)
            report(lo + (hi - lo) * (c1 - start) / max(1, stop - start), f"syntactic {c1}/{stop}")

    held_proba: dict[str, dict[str, np.ndarray]] = {}
    if held_out:
        held: dict[str, EsnClassifier] = {}
        if need_syn:
            accumulate(0, n_fit, 0.3, 0.6)
            held["syntactic"] = syn.solved_copy()
        if need_non:
            report(0.6, "held-out measurement: non-syntactic model")
            _nonsyntactic(
                cfg, non, standardised[:n_fit], targets[:n_fit], hop_s, per_class, seed_offset=0
            )
            held["nonsyntactic"] = non.solved_copy()
        held_proba = {kind: {} for kind in wanted}
        if held:  # the ESN models share the design: one reservoir run per held-out file
            source = held.get("syntactic") or held["nonsyntactic"]
            report(0.7, "held-out files: scoring (and adding them to the syntactic model)")
            for c0 in range(n_fit, len(paths), _CHUNK_FILES):
                idx = list(range(c0, min(len(paths), c0 + _CHUNK_FILES)))
                room = len(classes) if need_syn else 0  # columns for add_design's targets
                for i, design in source.iter_designs([standardised[i] for i in idx], True, room):
                    k = idx[i]
                    if need_syn:
                        syn.add_design(design, targets[k])
                    leaf = {name: est.proba_from_design(design) for name, est in held.items()}
                    for kind in wanted:
                        if kind == "logreg":
                            continue
                        leaves = [leaf[m] for m in _leaf_names(kind)]
                        held_proba[kind][str(paths[k])] = sum(leaves) / len(leaves)
        if need_logreg:
            report(0.75, "held-out measurement: logistic regression over context frames")
            held_logreg = _logreg(cfg, feats[:n_fit], targets[:n_fit], classes, mean, scale)
            for k in range(n_fit, len(paths)):
                held_proba["logreg"][str(paths[k])] = held_logreg.predict_proba([feats[k]])[0]
    elif need_syn:
        accumulate(0, len(paths), 0.3, 0.75)
    fitted: dict[str, EsnClassifier] = {}
    if need_syn:
        fitted["syntactic"] = syn.finalize()
    if need_non:
        report(0.8, "training the non-syntactic model on shuffled single segments")
        if held_out:  # the held-out files' share, added to the fitting files' excerpts
            extra = _held_out_share(targets, n_fit, len(classes), per_class)
            _nonsyntactic(cfg, non, standardised[n_fit:], targets[n_fit:], hop_s, extra, 1)
        else:
            _nonsyntactic(cfg, non, standardised, targets, hop_s, per_class, seed_offset=0)
        fitted["nonsyntactic"] = non.finalize()
    if need_logreg:
        report(0.9, "training the logistic regression over context frames")
        fitted["logreg"] = _logreg(cfg, feats, targets, classes, mean, scale)
    report(1.0, "models trained")
    annotators = {
        kind: Annotator(kind, cfg, sample_rate, est)
        for kind, est in _estimators(fitted, wanted).items()
    }
    return annotators, held_proba


def _leaf_names(kind: str) -> list[str]:
    return ["syntactic", "nonsyntactic"] if kind == "ensemble" else [kind]
