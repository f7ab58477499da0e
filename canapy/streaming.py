"""Annotate recordings of any length with bounded memory.

A long file is never loaded whole. It is processed in three steps, each touching only a
block of audio at a time:

1. **scan** (:func:`plan_file`): two cheap passes over the log-mel spectrogram find each
   band's noise floor exactly (a histogram locates the order statistics that
   :func:`numpy.percentile` needs, a second pass collects the few values around them) and,
   with an :class:`~canapy.activity.ActivityGate`, the stretches that carry sound;
2. **pieces** (:func:`pieces_proba`): the stretches to annotate (the whole file when the
   gate is off) are cut into pieces of ``piece_s`` seconds, independent of each other;
   consecutive short pieces are grouped up to ``piece_s`` (:func:`group_pieces`), the unit
   of work of :mod:`canapy.distributed`. Features are computed block by block with the
   context that makes block edges invisible (the STFT window, two frames for the deltas),
   and each block is annotated with its reservoir context on both sides: the forward
   reservoir starts :func:`reservoir_context` frames before the block, the backward one as
   far after it, where the reservoir has forgotten its start (its memory fades
   geometrically, see :mod:`canapy.pieces`). A group's blocks run through the reservoirs
   side by side;
3. **decode** (:class:`SegmentDecoder`): frame probabilities are smoothed and turned into
   segments chunk by chunk, each chunk ending in the middle of a silence long enough that no
   post-processing rule (gap filling, absorption of short runs, widening) reaches across it,
   so the segments are those of the whole file.

Memory is set by ``block_s`` and ``piece_s``, not by the file's length.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from canapy.activity import ActivityGate, RegionTracker, activity_score
from canapy.annotator import Annotator
from canapy.audio import check_header, read_span
from canapy.config import FeaturesConfig
from canapy.features import (
    NOISE_FLOOR_PERCENTILE,
    features_from_logmel,
    fft_sizes,
    hop_length,
    log_mel,
    n_frames,
)
from canapy.pieces import context_frames
from canapy.postprocess import SEGMENT_PRED_COLUMNS, frames_to_segments, moving_mean
from canapy.progress import ProgressFn

__all__ = [
    "FilePlan",
    "SegmentDecoder",
    "StreamSettings",
    "annotate_stream",
    "decode_pieces",
    "group_pieces",
    "piece_groups",
    "pieces_proba",
    "plan_file",
    "reservoir_context",
    "span_features",
]

logger = logging.getLogger(__name__)

_DELTA_CONTEXT = 2  # frames on each side used by librosa.feature.delta(width=5)
_HIST_LO, _HIST_HI, _HIST_BINS = -30.0, 30.0, 6000  # log-power histogram of the floor scan
_MAX_COLLECT = 4_000_000  # values kept in memory to find the floor exactly


@dataclass(frozen=True)
class StreamSettings:
    """Block sizes of streaming annotation (they set the memory, not the results).

    Attributes
    ----------
    block_s : float
        Audio annotated at once (memory: its spectrogram and features, about 100 MB for
        60 s at a 2 ms hop; the reservoir states are not kept).
    piece_s : float
        Length of an independent piece (one task when distributed).
    context_s : float
        Warm-up and look-ahead at block edges for a reservoir that forgets too slowly for
        :func:`canapy.pieces.context_frames` (spectral radius of 1 or more).
    scan_block_s : float
        Audio read at once by the noise-floor and activity scan.
    """

    block_s: float = 30.0
    piece_s: float = 300.0
    context_s: float = 2.0
    scan_block_s: float = 60.0


@dataclass
class FilePlan:
    """What the scan of a file found: its size, noise floor and the pieces to annotate."""

    path: str
    sample_rate: int
    n_samples: int
    n_frames: int
    duration_s: float
    floor: np.ndarray
    regions: list[tuple[int, int]]
    pieces: list[tuple[int, int, int, int]] = field(default_factory=list)
    """``(start, stop, region_start, region_stop)`` frames of each piece."""

    @property
    def active_fraction(self) -> float:
        """Fraction of the frames sent through the reservoirs."""
        return sum(b - a for a, b in self.regions) / max(1, self.n_frames)


def _span_logmel(path: str, g0: int, g1: int, sample_rate: int, cfg: FeaturesConfig) -> np.ndarray:
    """Raw log-mel ``(n_mels, g1 - g0)`` of frames ``g0:g1`` (zeros outside the file)."""
    hop = hop_length(sample_rate, cfg)
    n_fft, _ = fft_sizes(sample_rate, cfg)
    s0 = g0 * hop - n_fft // 2
    y = read_span(path, s0, s0 + (g1 - g0 - 1) * hop + n_fft, sample_rate)
    return log_mel(y, sample_rate, cfg, center=False)


def _scan_blocks(total: int, size: int) -> Iterator[tuple[int, int]]:
    for g0 in range(0, total, size):
        yield g0, min(total, g0 + size)


def _exact_floor(
    path: str,
    sample_rate: int,
    cfg: FeaturesConfig,
    total: int,
    block: int,
    gate_thr: float | None,
) -> tuple[np.ndarray, RegionTracker | None]:
    """Per-band ``NOISE_FLOOR_PERCENTILE`` of the log-mel over all frames, as numpy gives it.

    With ``gate_thr``, the second pass also feeds the activity scores (against the floor
    estimated by the histogram, to a bin width) to a :class:`RegionTracker`.
    """
    width = (_HIST_HI - _HIST_LO) / _HIST_BINS
    counts = np.zeros((cfg.n_mels, _HIST_BINS), np.int64)
    offsets = np.arange(cfg.n_mels)[:, None] * _HIST_BINS

    def bins(logmel: np.ndarray) -> np.ndarray:
        return np.clip(((logmel - _HIST_LO) / width).astype(np.int64), 0, _HIST_BINS - 1)

    for g0, g1 in _scan_blocks(total, block):
        idx = bins(_span_logmel(path, g0, g1, sample_rate, cfg)) + offsets
        counts += np.bincount(idx.ravel(), minlength=counts.size).reshape(counts.shape)
    virtual = (total - 1) * (np.float64(NOISE_FLOOR_PERCENTILE) / 100)
    k = int(np.floor(virtual))
    k1 = min(k + 1, total - 1)
    cum = np.cumsum(counts, axis=1)
    bin_k = np.argmax(cum > k, axis=1)
    bin_k1 = np.argmax(cum > k1, axis=1)
    below = np.where(bin_k > 0, cum[np.arange(cfg.n_mels), np.maximum(bin_k - 1, 0)], 0)
    # Second pass: collect the values of the bins holding order statistics k and k+1
    # (and, with a gate, score the frames against the approximate floor).
    approx = (_HIST_LO + (bin_k + 0.5) * width).astype(np.float32)[:, None]
    tracker = RegionTracker(gate_thr) if gate_thr is not None else None
    kept: list[list[np.ndarray]] = [[] for _ in range(cfg.n_mels)]
    n_kept = 0
    lows, highs = np.full(cfg.n_mels, np.inf), np.full(cfg.n_mels, -np.inf)
    for g0, g1 in _scan_blocks(total, block):
        logmel = _span_logmel(path, g0, g1, sample_rate, cfg)
        if tracker is not None:
            tracker.add(activity_score(logmel - approx), g0)
        b = bins(logmel)
        inside = (b >= bin_k[:, None]) & (b <= bin_k1[:, None])
        for m in range(cfg.n_mels):
            vals = logmel[m, inside[m]]
            if len(vals):
                lows[m], highs[m] = min(lows[m], vals.min()), max(highs[m], vals.max())
                if n_kept <= _MAX_COLLECT:
                    kept[m].append(vals)
                    n_kept += len(vals)
    floor = np.empty(cfg.n_mels, np.float32)
    t = np.asarray(np.float64(virtual - k))
    for m in range(cfg.n_mels):
        if n_kept <= _MAX_COLLECT:
            vals = np.sort(np.concatenate(kept[m]))
            a, b = vals[k - below[m]], vals[k1 - below[m]]
        elif lows[m] == highs[m]:  # e.g. digital silence: one repeated value
            a = b = np.float32(lows[m])
        else:
            logger.warning("%s: approximate noise floor (too many tied values)", path)
            a = b = np.float32(approx[m, 0])
        a, b = np.float32(a), np.float32(b)
        diff = b - a  # numpy.percentile's "linear" interpolation, replicated bit for bit
        floor[m] = b - diff * (1 - t) if t >= 0.5 else a + diff * t
    return floor, tracker


def plan_file(
    path: str | Path,
    sample_rate: int,
    cfg: FeaturesConfig,
    gate: ActivityGate | None = None,
    settings: StreamSettings | None = None,
) -> FilePlan:
    """Scan a file: size, per-band noise floor, the stretches to annotate, the pieces.

    Parameters
    ----------
    path : str or Path
        Audio file; its header is checked first (see :func:`canapy.audio.check_header`).
    sample_rate : int
        The model's rate (audio is resampled to it).
    cfg : FeaturesConfig
        Feature parameters of the model.
    gate : ActivityGate, optional
        Keep only the stretches it finds; None annotates every frame.
    settings : StreamSettings
        Block sizes.
    """
    path = str(path)
    settings = settings or StreamSettings()
    native, n_native = check_header(path, sample_rate)
    n_samples = -(-n_native * sample_rate // native) if native != sample_rate else n_native
    total = n_frames(n_samples, sample_rate, cfg)
    hop_s = hop_length(sample_rate, cfg) / sample_rate
    block = max(1, round(settings.scan_block_s / hop_s))
    floor, tracker = _exact_floor(
        path, sample_rate, cfg, total, block, gate.threshold if gate else None
    )
    if tracker is None:
        regions = [(0, total)]
    else:
        regions = tracker.regions(total, round(gate.margin_s / hop_s))
    piece = max(1, round(settings.piece_s / hop_s))
    pieces = [(p, min(b, p + piece), a, b) for a, b in regions for p in range(a, b, piece)]
    return FilePlan(path, sample_rate, n_samples, total, n_native / native, floor, regions, pieces)


def span_features(path: str, g0: int, g1: int, plan: FilePlan, cfg: FeaturesConfig) -> np.ndarray:
    """Features ``(g1 - g0, d)`` of frames ``g0:g1``, equal to the whole file's rows."""
    e0, e1 = max(0, g0 - _DELTA_CONTEXT), min(plan.n_frames, g1 + _DELTA_CONTEXT)
    logmel = _span_logmel(path, e0, e1, plan.sample_rate, cfg)
    logmel -= plan.floor[:, None]
    return features_from_logmel(logmel, cfg)[g0 - e0 : g1 - e0]


def reservoir_context(annotator: Annotator, settings: StreamSettings) -> int:
    """Frames of warm-up and look-ahead around a block: where the reservoir forgets its start.

    :func:`canapy.pieces.context_frames` of the annotator's reservoir (about 0.4 s with the
    default config); ``settings.context_s`` for a reservoir that forgets too slowly for that
    bound to hold.
    """
    frames = context_frames(annotator.config.reservoir)
    return frames if frames is not None else max(1, round(settings.context_s / annotator.hop_s))


def pieces_proba(
    annotator: Annotator,
    plan: FilePlan,
    pieces: Sequence[tuple[int, int, int, int]],
    settings: StreamSettings | None = None,
) -> list[np.ndarray]:
    """Class probabilities ``(stop - start, n_classes)`` of each of a few pieces of a file.

    Every block of every piece is annotated as a short file of its own, extended by
    :func:`reservoir_context` frames on both sides (within the piece's stretch
    ``lo:hi``), so that the forward reservoir has forgotten its zero start when the block
    begins and the backward one when it ends: the block's probabilities are the whole
    file's. The blocks then run through the reservoirs side by side, in pieces, with the
    ensemble members sharing a reservoir run once (see
    :func:`canapy.models.predict_proba_many`). Memory: the features of the pieces given
    (:func:`group_pieces` bounds them).
    """
    settings = settings or StreamSettings()
    cfg = annotator.config.features
    block = max(1, round(settings.block_s / annotator.hop_s))
    context = reservoir_context(annotator, settings)
    spans = []  # (piece, first frame kept, stop, first frame run, stop run)
    for k, (start, stop, lo, hi) in enumerate(pieces):
        for c0 in range(start, stop, block):
            c1 = min(stop, c0 + block)
            spans.append((k, c0, c1, max(lo, c0 - context), min(hi, c1 + context)))
    feats = [span_features(plan.path, e0, e1, plan, cfg) for _, _, _, e0, e1 in spans]
    out = [
        np.empty((stop - start, len(annotator.classes)), np.float32) for start, stop, *_ in pieces
    ]
    for (k, c0, c1, e0, _), proba in zip(spans, annotator.frame_proba(feats), strict=True):
        start = pieces[k][0]
        out[k][c0 - start : c1 - start] = proba[c0 - e0 : c1 - e0]
    return out


def piece_groups(
    annotator: Annotator, plan: FilePlan, settings: StreamSettings
) -> list[list[tuple[int, int, int, int]]]:
    """The tasks of a planned file: its pieces grouped up to ``settings.piece_s`` seconds."""
    return group_pieces(plan.pieces, max(1, round(settings.piece_s / annotator.hop_s)))


def group_pieces(
    pieces: Sequence[tuple[int, int, int, int]], max_frames: int
) -> list[list[tuple[int, int, int, int]]]:
    """Consecutive pieces joined into groups of at most ``max_frames`` frames (or one piece).

    A gated recording has many short stretches; annotated one by one they would each run
    the reservoir on a handful of columns. A group is one task, and its stretches run side
    by side.

    >>> group_pieces([(0, 50, 0, 50), (80, 120, 80, 120), (200, 300, 200, 300)], 100)
    [[(0, 50, 0, 50), (80, 120, 80, 120)], [(200, 300, 200, 300)]]
    """
    groups: list[list[tuple[int, int, int, int]]] = []
    frames = 0
    for piece in pieces:
        size = piece[1] - piece[0]
        if groups and frames + size <= max_frames:
            groups[-1].append(piece)
            frames += size
        else:
            groups.append([piece])
            frames = size
    return groups


class SegmentDecoder:
    """Frame probabilities of a file, fed in order, -> the whole file's segments.

    Frames never fed (outside the gate's stretches) count as silence. Decoding happens in
    chunks ending in the middle of a long enough silence, so that the result equals
    :meth:`canapy.annotator.Annotator.decode` on the whole file.

    Parameters
    ----------
    annotator : Annotator
        Gives the classes, hop and post-processing settings.
    n_frames : int
        Frames of the file.
    duration_s : float
        Duration of the file (segments are clipped to it).
    max_buffer_s : float
        Past this much undecoded audio without a long silence, a chunk is cut anyway at
        the most silent point (logged; the joint may then differ from whole-file decoding).
    """

    def __init__(
        self, annotator: Annotator, n_frames: int, duration_s: float, max_buffer_s: float = 600.0
    ) -> None:
        self.classes = annotator.classes
        self.hop_s = annotator.hop_s
        post = annotator.config.postprocess
        self.post = replace(post, smoothing_ms=0.0)  # smoothing is done here, with context
        self.width = round(post.smoothing_ms / 1000.0 / self.hop_s)
        self.widen_s = annotator.config.training.boundary_ms / 1000.0
        gap = round(post.min_gap_ms / 1000.0 / self.hop_s)
        self.guard = max(gap, math.ceil(2 * self.widen_s / self.hop_s) + 2, 2) + 1
        self.n_frames, self.duration_s = n_frames, duration_s
        self.max_buffer = max(4 * self.guard, round(max_buffer_s / self.hop_s))
        self._raw = np.zeros((0, len(self.classes)), np.float32)
        self._raw0 = 0  # file frame of _raw[0]
        self._done = 0  # frames before this are decoded
        self._fed = 0  # frames before this are in _raw
        self._segments: list[pd.DataFrame] = []
        self._decode_every = max(4 * self.guard, 50_000)

    def feed(self, start: int, proba: np.ndarray) -> None:
        """Probabilities of frames ``start : start + len(proba)``; ``start`` ≥ frames fed."""
        if start < self._fed:
            raise ValueError(f"frames must come in order: got {start} after {self._fed}")
        self._fill_silence(start - self._fed)
        self._append(np.asarray(proba, np.float32))

    def _fill_silence(self, n: int) -> None:
        while n > 0:  # a bounded chunk at a time: gated-out stretches can be hours long
            step = min(n, self._decode_every)
            self._append(self._silence(step))
            n -= step

    def finish(self) -> pd.DataFrame:
        """Decode what is left; the file's segments (``onset_s, offset_s, label, confidence``)."""
        self._fill_silence(self.n_frames - self._fed)
        self._decode(final=True)
        segs = [s for s in self._segments if len(s)]
        if not segs:
            return frames_to_segments(
                self._silence(1), self.classes, self.hop_s, self.post, duration_s=0.0
            )
        return pd.concat(segs, ignore_index=True)[SEGMENT_PRED_COLUMNS]

    def _silence(self, n: int) -> np.ndarray:
        out = np.zeros((n, len(self.classes)), np.float32)
        out[:, 0] = 1.0
        return out

    def _append(self, proba: np.ndarray) -> None:
        self._raw = np.concatenate([self._raw, proba]) if len(self._raw) else proba.copy()
        self._fed += len(proba)
        if self._fed - self._done >= self._decode_every and self._fed < self.n_frames:
            self._decode(final=False)

    def _smoothed(self) -> np.ndarray:
        if self.width > 1:
            return moving_mean(self._raw, self.width)
        return self._raw

    def _decode(self, final: bool) -> None:
        smooth = self._smoothed()
        if final:
            cut = self.n_frames
        else:
            # Rows whose smoothing window lies inside the buffer (or touches the file start).
            valid_end = self._fed - (self.width - 1) // 2 - self._raw0 if self.width > 1 else None
            valid = smooth[: valid_end if valid_end is not None else len(smooth)]
            cut = self._find_cut(np.argmax(valid, axis=1) == 0)
            if cut is None:
                return
        lo = self._done - self._raw0
        chunk = smooth[lo : cut - self._raw0]
        if len(chunk):
            self._segments.append(
                frames_to_segments(
                    chunk,
                    self.classes,
                    self.hop_s,
                    self.post,
                    widen_s=self.widen_s,
                    duration_s=self.duration_s if final else None,
                    frame_offset=self._done,
                )
            )
        self._done = cut
        keep_from = max(0, cut - self._raw0 - self.width)  # smoothing context of what is left
        self._raw = self._raw[keep_from:]
        self._raw0 += keep_from

    def _find_cut(self, silent: np.ndarray) -> int | None:
        """A file frame in the middle of ``guard`` silent frames on both sides, or None."""
        g = self.guard
        lo = self._done - self._raw0
        if len(silent) - lo < 2 * g:
            return None
        s = silent[lo:].astype(np.int32)
        run = np.convolve(s, np.ones(2 * g, np.int32), mode="valid")  # run[i]: s[i:i+2g]
        ok = np.flatnonzero(run == 2 * g)
        if len(ok):
            return self._done + int(ok[-1]) + g
        if len(s) < self.max_buffer:
            return None
        best = int(np.argmax(run))
        logger.warning("no silence to cut at in %.0f s of song; cut anyway", len(s) * self.hop_s)
        return self._done + best + g


def annotate_stream(
    annotator: Annotator,
    path: str | Path,
    gate: ActivityGate | None = None,
    settings: StreamSettings | None = None,
    progress: ProgressFn | None = None,
) -> pd.DataFrame:
    """Annotate one file of any length with bounded memory.

    Parameters
    ----------
    annotator : Annotator
        A trained annotator.
    path : str or Path
        Audio file.
    gate : ActivityGate, optional
        Annotate only the sound-bearing stretches (the rest is silence); None: every frame.
    settings : StreamSettings, optional
        Block sizes.
    progress : callable, optional
        ``progress(fraction, message)``.

    Returns
    -------
    DataFrame
        Columns ``onset_s, offset_s, label, confidence``.
    """
    settings = settings or StreamSettings()
    plan = plan_file(path, annotator.sample_rate, annotator.config.features, gate, settings)
    groups = piece_groups(annotator, plan, settings)
    probas = (p for g in groups for p in pieces_proba(annotator, plan, g, settings))
    return decode_pieces(annotator, plan, probas, progress)


def decode_pieces(
    annotator: Annotator,
    plan: FilePlan,
    probas: Iterator[np.ndarray] | Sequence[np.ndarray],
    progress: ProgressFn | None = None,
) -> pd.DataFrame:
    """Segments of a planned file from the probabilities of its pieces, in order."""
    decoder = SegmentDecoder(annotator, plan.n_frames, plan.duration_s)
    name = Path(plan.path).name
    for k, (piece, proba) in enumerate(zip(plan.pieces, probas, strict=True)):
        decoder.feed(piece[0], proba)
        if progress is not None:
            progress((k + 1) / len(plan.pieces), f"{name}: piece {k + 1}/{len(plan.pieces)}")
    return decoder.finish()
