"""Find hand labels that look wrong, by cross-validation: no model judges its training files.

The annotated files are split in ``k`` folds (whole files, never segments of one file in
two folds). For each fold, the syntactic and non-syntactic annotators are trained on the
other folds (:func:`canapy.workflow.fit_annotators`) and listen to every hand-labelled
segment of the held-out files: each model's *vote* for a segment is its class
probabilities summed over the segment's frames, silence left out — the rule
:func:`canapy.postprocess.frames_to_segments` uses to name a decoded segment. The ensemble
vote is the mean of both (as :class:`canapy.models.EnsembleClassifier`). From the votes:

- ``suggested``: the label the ensemble would give (``syntactic``, ``nonsyntactic``: each
  model's own);
- ``p_label``: the ensemble's share of syllable probability going to the hand label;
- ``agreement``: whether the three suggestions are equal;
- ``score`` in [0, 1]: ``1 - p_label``, moved to ``0.5 + 0.5 (1 - p_label)`` when all
  models agree on another label; 1 for a label the fold's models never saw (its only
  examples are in held-out files), with an empty suggestion and a ``reason``.

The class-level view (:attr:`ReviewResult.merge_candidates`) lists pairs of labels the
models keep mixing up; a high rate in both directions suggests the two are one syllable
type.

:func:`apply_suggestions` accepts suggestions and returns a new corpus.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from canapy.config import Config
from canapy.corpus import Corpus
from canapy.exceptions import AnnotationError, CanapyError
from canapy.io_utils import atomic_open
from canapy.progress import ProgressFn, no_progress, scaled
from canapy.review_scores import (
    MERGE_RATE,
    assign_folds,
    merge_candidates,
    segment_votes,
    suspicion_scores,
)
from canapy.segments import CSV_COLUMNS
from canapy.workflow import fit_annotators, resolve_sample_rate

__all__ = [
    "MERGE_RATE",
    "REVIEW_COLUMNS",
    "ReviewResult",
    "apply_suggestions",
    "assign_folds",
    "find_suspects",
    "merge_candidates",
    "segment_votes",
    "suspicion_scores",
]

logger = logging.getLogger(__name__)

REVIEW_COLUMNS = [
    "wave",
    "start",
    "end",
    "syll",
    "suggested",
    "score",
    "segment_id",
    "audio_path",
    "p_label",
    "agreement",
    "syntactic",
    "nonsyntactic",
    "ensemble",
    "p_syntactic",
    "p_nonsyntactic",
    "fold",
    "reason",
]
"""Columns of :attr:`ReviewResult.segments`; the first six are those of the CSV report."""

_REPORT_NAMES = {"file_name": CSV_COLUMNS["audio_path"]} | {
    c: CSV_COLUMNS[c] for c in ("onset_s", "offset_s", "label")
}
"""Segment-table columns -> the report's (marron1csv) names; the report's ``wave`` is the
file name, the full path stays in ``audio_path``."""
_MODELS = ("syntactic", "nonsyntactic")
_CHUNK = 8


# --------------------------------------------------------------------------------------
# the review
# --------------------------------------------------------------------------------------
@dataclass
class ReviewResult:
    """What :func:`find_suspects` found.

    Attributes
    ----------
    segments : DataFrame
        One row per hand-labelled segment, columns :data:`REVIEW_COLUMNS`, most
        suspicious first.
    merge_candidates : DataFrame
        See :func:`merge_candidates`.
    confusion : DataFrame
        Segment counts, hand label (rows, ``syll``) × ensemble suggestion (columns,
        ``suggested``); segments without a suggestion are left out.
    folds : dict
        Fold of each annotated audio file (absolute path as str).
    seconds : float
        Duration of the review.
    """

    segments: pd.DataFrame
    merge_candidates: pd.DataFrame
    confusion: pd.DataFrame
    folds: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def n_folds(self) -> int:
        """Number of folds."""
        return len(set(self.folds.values()))

    def top(self, n: int = 10, min_score: float = 0.0) -> pd.DataFrame:
        """The ``n`` most suspicious segments with at least ``min_score``."""
        seg = self.segments
        return seg[seg["score"] >= min_score].head(n)

    def to_csv(self, path: str | Path) -> Path:
        """Write :attr:`segments` as CSV, atomically.

        Columns :data:`REVIEW_COLUMNS`, then any added ones (such as the syllable map's
        evidence, :func:`canapy.analysis.review_signal.add_map_signal`).
        """
        path = Path(path)
        decimals = {"start": 6, "end": 6, "score": 4, "p_label": 4}
        decimals |= {"p_syntactic": 4, "p_nonsyntactic": 4}
        decimals |= {"knn_disagreement": 4, "class_outlier": 4}
        extra = [c for c in self.segments.columns if c not in REVIEW_COLUMNS]
        table = self.segments[REVIEW_COLUMNS + extra].round(decimals)
        with atomic_open(path, "w") as fh:
            table.to_csv(fh, index=False, lineterminator="\n")
        return path


def _review_config(cfg: Config) -> Config:
    """``cfg`` training both the syntactic and the non-syntactic model."""
    training = replace(cfg.training, models=_MODELS, default_model=_MODELS[0])
    return replace(cfg, training=training).validate()


def _judge_file(
    segs: pd.DataFrame,
    probas: dict[str, np.ndarray],
    labels: list[str],
    hop_s: float,
    boundary_s: float,
) -> dict[str, np.ndarray]:
    """Suggestions and hand-label probabilities of the segments of one file."""
    on, off = segs["onset_s"].to_numpy(), segs["offset_s"].to_numpy()
    votes = {m: segment_votes(p, on, off, hop_s, boundary_s) for m, p in probas.items()}
    votes["ensemble"] = (votes["syntactic"] + votes["nonsyntactic"]) / 2.0
    index = {lab: j for j, lab in enumerate(labels)}
    col = np.array([index.get(str(lab), -1) for lab in segs["label"]])
    known = col >= 0
    out: dict[str, np.ndarray] = {"known": known}
    for m, v in votes.items():
        share = v / np.maximum(v.sum(axis=1, keepdims=True), 1e-12)
        p = np.where(known, share[np.arange(len(v)), np.maximum(col, 0)], np.nan)
        out[f"p_{m}"] = p
        out[m] = np.array(labels, dtype=object)[np.argmax(v, axis=1)] if len(v) else np.array([])
    return out


def _reason(row) -> str:
    if not row.known:
        return (
            f"label {row.label!r} only occurs in held-out files: the models of this fold "
            "never learnt it"
        )
    if row.agreement and row.suggested != row.label:
        return f"every model hears {row.suggested!r} (p({row.label!r}) = {row.p_label:.2f})"
    if row.suggested != row.label:
        return f"models disagree: syntactic {row.syntactic!r}, non-syntactic {row.nonsyntactic!r}"
    others = [m for m in _MODELS if getattr(row, m) != row.label]
    if others:
        return f"the {others[0]} model hears {getattr(row, others[0])!r}"
    return ""


def find_suspects(
    corpus: Corpus,
    cfg: Config,
    n_folds: int = 5,
    cache_dir: Path | None = None,
    progress: ProgressFn | None = None,
    seed: int = 0,
) -> ReviewResult:
    """Rank the hand-labelled segments of ``corpus`` by how suspicious their label is.

    Parameters
    ----------
    corpus : Corpus
        The annotated corpus to check (at least two annotated files).
    cfg : Config
        Configuration of the models; both the syntactic and the non-syntactic model are
        trained whatever ``cfg.training.models`` says.
    n_folds : int
        Number of folds ``k`` (at least 2; at most the number of annotated files). Each
        file is judged by models trained on the other ``k - 1`` folds; ``k`` trainings.
    cache_dir : Path, optional
        Feature cache; default: a temporary folder removed at the end (features are
        computed once, not once per fold).
    progress : callable, optional
        ``progress(fraction, message)``.
    seed : int
        Seed of the split into folds.

    Returns
    -------
    ReviewResult

    Raises
    ------
    CanapyError
        Fewer than two annotated files, or ``n_folds < 2``.
    """
    start = time.perf_counter()
    progress = progress or no_progress
    files = list(corpus.annotated)
    if n_folds < 2:
        raise CanapyError(f"the review needs at least 2 folds, got n_folds={n_folds}")
    if len(files) < 2:
        raise CanapyError(
            f"the review needs at least 2 annotated files (models never judge their own "
            f"training files), the corpus has {len(files)}"
        )
    k = min(n_folds, len(files))
    fold_of = assign_folds(len(files), k, seed)
    review_cfg = _review_config(cfg)
    sample_rate = resolve_sample_rate(review_cfg, files)
    with tempfile.TemporaryDirectory(prefix="canapy-review-") as tmp:
        cache = Path(cache_dir) if cache_dir is not None else Path(tmp)
        parts = []
        for f in range(k):
            train = [p for p, g in zip(files, fold_of, strict=True) if g != f]
            held = [p for p, g in zip(files, fold_of, strict=True) if g == f]
            lo, hi = f / k, (f + 1) / k
            fit_progress = scaled(progress, lo, lo + 0.85 * (hi - lo))
            logger.info("review fold %d/%d: %d training files", f + 1, k, len(train))
            annotators = fit_annotators(corpus, train, review_cfg, sample_rate, cache, fit_progress)
            progress(lo + 0.85 * (hi - lo), f"fold {f + 1}/{k}: judging {len(held)} files")
            parts.extend(_judge_fold(corpus, held, annotators, cache, f))
            progress(hi, f"fold {f + 1}/{k} done")
    segments = _finish(parts)
    judged = segments[segments["suggested"] != ""]
    confusion = pd.crosstab(judged["syll"], judged["suggested"])
    return ReviewResult(
        segments=segments,
        merge_candidates=merge_candidates(segments),
        confusion=confusion,
        folds={str(p): int(g) for p, g in zip(files, fold_of, strict=True)},
        seconds=time.perf_counter() - start,
    )


def _judge_fold(corpus: Corpus, held: list[Path], annotators: dict, cache: Path, fold: int):
    syn = annotators["syntactic"]
    extractor = syn.extractor(cache)
    boundary_s = syn.config.training.boundary_ms / 1000.0
    for a in range(0, len(held), _CHUNK):
        batch = held[a : a + _CHUNK]
        feats = [extractor(p) for p in batch]
        probas = {m: annotators[m].frame_proba(feats) for m in _MODELS}
        for i, path in enumerate(batch):
            segs = corpus.segments_of(path)
            if segs.empty:
                continue
            judged = _judge_file(
                segs, {m: probas[m][i] for m in _MODELS}, syn.labels, syn.hop_s, boundary_s
            )
            yield pd.DataFrame(
                {
                    "file_name": path.name,
                    "onset_s": segs["onset_s"].to_numpy(),
                    "offset_s": segs["offset_s"].to_numpy(),
                    "label": np.array([str(x) for x in segs["label"]], dtype=object),
                    "segment_id": segs["segment_id"].to_numpy(),
                    "audio_path": str(path),
                    "fold": fold,
                    **{
                        k: judged[k]
                        for k in ("known", "syntactic", "nonsyntactic", "ensemble", "p_ensemble")
                    },
                    "p_syntactic": judged["p_syntactic"],
                    "p_nonsyntactic": judged["p_nonsyntactic"],
                }
            )


def _finish(parts: list[pd.DataFrame]) -> pd.DataFrame:
    if not parts:
        return pd.DataFrame(columns=REVIEW_COLUMNS)
    seg = pd.concat(parts, ignore_index=True).rename(columns={"p_ensemble": "p_label"})
    known = seg["known"].to_numpy(bool)
    for m in ("syntactic", "nonsyntactic", "ensemble"):
        seg[m] = seg[m].where(known, "").astype(object)
    seg["suggested"] = seg["ensemble"]
    seg["agreement"] = (
        known & (seg["syntactic"] == seg["nonsyntactic"]) & (seg["nonsyntactic"] == seg["ensemble"])
    )
    unanimous_other = seg["agreement"].to_numpy(bool) & (seg["ensemble"] != seg["label"]).to_numpy()
    confirmed = known & (seg["ensemble"] == seg["label"]).to_numpy()
    seg["score"] = suspicion_scores(
        seg["p_label"].to_numpy(float), unanimous_other, ~known, confirmed
    )
    seg["reason"] = [_reason(row) for row in seg.itertuples(index=False)]
    seg = seg.sort_values(
        ["score", "file_name", "onset_s"], ascending=[False, True, True], kind="stable"
    ).reset_index(drop=True)
    return seg.rename(columns=_REPORT_NAMES)[REVIEW_COLUMNS]


# --------------------------------------------------------------------------------------
# accepting suggestions
# --------------------------------------------------------------------------------------
def _check_acceptable(segments: pd.DataFrame, requested: pd.DataFrame) -> None:
    """AnnotationError naming the first requested suspect that cannot take its suggestion."""
    label_of = dict(zip(segments["segment_id"], segments["label"], strict=True))
    for row in requested.itertuples(index=False):
        sid, old, new = str(row.segment_id), row.syll, row.suggested
        if not new:
            raise AnnotationError(f"{sid}: the models have no suggestion for this segment")
        if new == old:
            raise AnnotationError(
                f"{sid}: the models agree with its label {old!r}: nothing to accept "
                "(keep it, or relabel it by hand)"
            )
        if sid not in label_of:
            raise AnnotationError(f"{sid} was removed since the review")
        if label_of[sid] != old:
            raise AnnotationError(
                f"{sid} was relabelled {label_of[sid]!r} since the review; its suggestion "
                f"({new!r}) no longer applies — relabel it by hand if needed"
            )


def apply_suggestions(
    corpus: Corpus,
    suspects: ReviewResult | pd.DataFrame,
    min_score: float = 0.5,
    segment_ids: Iterable[str] | None = None,
    strict: bool = False,
) -> Corpus:
    """A new corpus with suggested labels accepted (``corpus`` is not modified).

    Parameters
    ----------
    corpus : Corpus
        The corpus that was reviewed.
    suspects : ReviewResult or DataFrame
        The review (or its :attr:`ReviewResult.segments`).
    min_score : float
        Accept every suggestion whose score is at least this (ignored when
        ``segment_ids`` is given).
    segment_ids : iterable of str, optional
        Accept the suggestions of exactly these segments.
    strict : bool
        With ``segment_ids``: raise instead of skipping a requested segment that cannot
        take its suggestion (for a user who clicked "accept" on it).

    Segments without a suggestion, or whose suggestion equals their label, are unchanged.
    A segment whose label changed since the review (a stale suggestion) is skipped with
    a warning.

    Raises
    ------
    CanapyError
        If a segment of ``segment_ids`` is not in the review.
    AnnotationError
        With ``strict=True``, if a segment of ``segment_ids`` has no suggestion, its
        suggestion equals its label, or it was removed or relabelled since the review.
    """
    table = suspects.segments if isinstance(suspects, ReviewResult) else suspects
    ok = (table["suggested"] != "") & (table["suggested"] != table["syll"])
    if segment_ids is not None:
        wanted = {str(s) for s in segment_ids}
        unknown = wanted - set(table["segment_id"])
        if unknown:
            raise CanapyError(f"segment id(s) not in the review: {sorted(unknown)[:5]}")
        ok &= table["segment_id"].isin(wanted)
        if strict:
            _check_acceptable(corpus.segments, table[table["segment_id"].isin(wanted)])
    else:
        ok &= table["score"] >= min_score
    accepted = table[ok]
    seg = corpus.segments.copy()
    key = list(zip(seg["audio_path"].astype(str), seg["segment_id"], strict=True))
    row_of = {k: i for i, k in enumerate(key)}
    labels = seg["label"].to_numpy(dtype=object).copy()
    changed = 0
    for path, sid, old, new in accepted[
        ["audio_path", "segment_id", "syll", "suggested"]
    ].itertuples(index=False):
        i = row_of.get((str(path), sid))
        if i is None or labels[i] != old:
            logger.warning("segment %s changed since the review: suggestion skipped", sid)
            continue
        labels[i] = new
        changed += 1
    seg["label"] = labels
    logger.info("accepted %d suggested labels", changed)
    return replace(corpus, segments=seg)
