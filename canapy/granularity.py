"""Syllable- or phrase-level annotation? Learnt from the hand labels, and what follows.

Finch song is annotated by *syllable* (short segments, repeats of one label separated by
millisecond gaps); canary song by *phrase* (one long segment per train of repeated
syllables, the silent gaps inside included; the same label hardly ever twice in a row; a
few rare short calls). The two need opposite post-processing: syllable-level output must
keep short segments and never bridge gaps, phrase-level output must bridge the gaps inside
a phrase and absorb blips shorter than the corpus' shortest phrases.

Decision rule (:func:`infer_granularity`): every annotation file with at least
:data:`MIN_FILE_SEGMENTS` labelled segments votes with the median duration of its
segments, softly: ``p = 1 / (1 + (THRESHOLD_MS / median_ms) ** 6)`` is its probability of
being phrase-level (``THRESHOLD_MS`` = 150 ms lies between the longest finch file median,
~90 ms, and the shortest canary file median, ~240 ms, on a log scale). The corpus is
phrase-level when the mean ``p`` is at least 0.5; the confidence is the mean probability
of the chosen side. When more than :data:`MIXED_SHARE` of the files vote the other way,
the corpus is mixed: the majority wins and the report carries a warning.

Examples
--------
>>> import pandas as pd
>>> finch = pd.DataFrame({"audio_path": ["a"] * 4, "onset_s": [0.0, 0.1, 0.2, 0.3],
...                       "offset_s": [0.08, 0.18, 0.28, 0.38], "label": list("aabc")})
>>> infer_granularity(finch).granularity
'syllable'
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from canapy.config import GRANULARITIES, Config

__all__ = [
    "MIN_FILE_SEGMENTS",
    "MIXED_SHARE",
    "QUIET_GAP_MS",
    "THRESHOLD_MS",
    "GranularityReport",
    "apply_granularity",
    "describe_granularity",
    "infer_granularity",
    "segment_statistics",
]

logger = logging.getLogger(__name__)

THRESHOLD_MS = 150.0
"""File median segment duration at which a file is as likely phrase- as syllable-level."""
_STEEPNESS = 6.0
MIN_FILE_SEGMENTS = 3
"""Files with fewer labelled segments do not vote (unless no file has that many)."""
MIXED_SHARE = 0.1
"""Share of files voting against the majority above which the corpus is called mixed."""
LONG_SEGMENT_S = 0.3
QUIET_GAP_MS = 5.0
"""Phrase-level training: quiet stretches at least this long inside a phrase are trained as
silence (see :func:`canapy.labels.silence_quiet_frames`)."""
_BRIDGE_RANGE_MS = (20.0, 1000.0)


@dataclass(frozen=True)
class GranularityReport:
    """What the hand labels say about their granularity, and the settings that follow.

    Attributes
    ----------
    granularity : str
        ``"syllable"`` or ``"phrase"``: the one used.
    inferred : str
        What the labels say (``"syllable"``, ``"phrase"``; ``"unknown"`` without labels).
    source : str
        ``"inferred"`` or ``"config"`` (``postprocess.granularity`` forced it).
    confidence : float
        Mean probability of the inferred side over the voting files, 0.5-1.
    stats : dict
        The statistics behind the decision (see :func:`segment_statistics`).
    parameters : dict
        Post-processing and training settings derived from it (ms).
    warning : str or None
        Set for a mixed corpus, or when the config overrides a confident inference.
    """

    granularity: str
    inferred: str
    source: str
    confidence: float
    stats: dict[str, float] = field(default_factory=dict)
    parameters: dict[str, float] = field(default_factory=dict)
    warning: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (for ``run.json`` and model metadata)."""
        return {
            "granularity": self.granularity,
            "inferred": self.inferred,
            "source": self.source,
            "confidence": round(float(self.confidence), 4),
            "stats": {k: _json_number(v) for k, v in self.stats.items()},
            "parameters": {k: _json_number(v) for k, v in self.parameters.items()},
            "warning": self.warning,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GranularityReport:
        """Inverse of :meth:`to_dict`."""
        return cls(
            granularity=str(data["granularity"]),
            inferred=str(data.get("inferred", data["granularity"])),
            source=str(data.get("source", "inferred")),
            confidence=float(data.get("confidence", float("nan"))),
            stats=dict(data.get("stats", {})),
            parameters=dict(data.get("parameters", {})),
            warning=data.get("warning"),
        )

    @property
    def quiet_gap_s(self) -> float:
        """Quiet stretches inside segments at least this long are trained as silence (0: none).

        Non-zero for phrase-level labels only (see :func:`apply_granularity`).
        """
        return float(self.parameters.get("quiet_gap_ms", 0.0)) / 1000.0

    def describe(self) -> str:
        """One line for a summary, e.g. ``phrase-level (inferred, confidence 0.99: ...)``."""
        return describe_granularity(self.to_dict())


def _json_number(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        return round(float(value), 4) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def describe_granularity(report: dict[str, Any] | None) -> str:
    """One human line from a report dict (as stored in ``run.json``); ``""`` for none.

    >>> line = describe_granularity({"granularity": "phrase", "inferred": "phrase",
    ...     "source": "inferred", "confidence": 0.98,
    ...     "stats": {"file_median_duration_ms": 760.0, "n_files": 30},
    ...     "parameters": {"min_gap_ms": 300.0, "min_duration_ms": 30.0}})
    >>> line[:70]
    'phrase-level (inferred from 30 files, confidence 0.98; median segment '
    >>> line[70:151]
    '760 ms): same-label pieces merged across gaps < 300 ms, segments < 30 ms absorbed'
    """
    if not report:
        return ""
    gran = report["granularity"]
    stats, params = report.get("stats", {}), report.get("parameters", {})
    median = stats.get("file_median_duration_ms")
    how = (
        f"inferred from {stats.get('n_files', '?')} files, "
        f"confidence {report.get('confidence', float('nan')):.2f}"
        if report.get("source") == "inferred"
        else f"set by postprocess.granularity; labels say {report.get('inferred')}"
    )
    if median is not None:
        how += f"; median segment {median:.0f} ms"
    if gran == "phrase":
        what = (
            f"same-label pieces merged across gaps < {params.get('min_gap_ms', 0):.0f} ms, "
            f"segments < {params.get('min_duration_ms', 0):.0f} ms absorbed, "
            "quiet gaps inside phrases trained as silence"
        )
    else:
        what = f"short segments kept (>= {params.get('min_duration_ms', 0):.1f} ms), no gap bridged"
    line = f"{gran}-level ({how}): {what}"
    if report.get("warning"):
        line += f" [warning: {report['warning']}]"
    return line


def _labelled(segments: pd.DataFrame, silence_label: str) -> pd.DataFrame:
    segs = segments
    if "label" not in segs.columns:  # durations only: every segment is a labelled one
        segs = segs.assign(label="")
    if "audio_path" not in segs.columns:
        segs = segs.assign(audio_path="")
    segs = segs[segs["label"].astype(str) != silence_label]
    return segs.sort_values(["audio_path", "onset_s"], kind="stable")


def segment_statistics(segments: pd.DataFrame, silence_label: str = "SIL") -> dict[str, float]:
    """Duration, repetition and gap statistics of labelled segments (silence left out).

    Parameters
    ----------
    segments : DataFrame
        Columns ``onset_s, offset_s, label`` and, for several files, ``audio_path``.
    silence_label : str
        Tag of silence segments (ignored).

    Returns
    -------
    dict
        ``n_files``, ``n_segments``, ``median_duration_ms``, ``q01_duration_ms``,
        ``q05_duration_ms``, ``file_median_duration_ms`` (median over files of their
        median), ``long_segment_share`` (> 300 ms), ``same_label_neighbour_share``
        (consecutive segments of one file with the same label), ``gap_q95_ms`` (95 % of
        the positive gaps between consecutive segments are shorter), ``phrase_files``,
        ``syllable_files`` (hard votes) and ``phrase_probability`` (mean soft vote).
    """
    segs = _labelled(segments, silence_label)
    if segs.empty:
        return {"n_files": 0, "n_segments": 0}
    dur = (segs["offset_s"] - segs["onset_s"]).to_numpy(float)
    file_medians, file_sizes, same, gaps = [], [], [], []
    for _, g in segs.groupby("audio_path", sort=False):
        d = (g["offset_s"] - g["onset_s"]).to_numpy(float)
        file_medians.append(float(np.median(d)))
        file_sizes.append(len(g))
        lab = g["label"].astype(str).to_numpy()
        same.extend(lab[1:] == lab[:-1])
        gaps.extend(g["onset_s"].to_numpy(float)[1:] - g["offset_s"].to_numpy(float)[:-1])
    medians = np.asarray(file_medians)
    sizes = np.asarray(file_sizes)
    voters = medians[sizes >= MIN_FILE_SEGMENTS] if (sizes >= MIN_FILE_SEGMENTS).any() else medians
    p = 1.0 / (1.0 + (THRESHOLD_MS / np.maximum(1000.0 * voters, 1e-6)) ** _STEEPNESS)
    positive = np.asarray(gaps, float)
    positive = positive[positive > 0.001]
    return {
        "n_files": len(voters),
        "n_segments": len(segs),
        "median_duration_ms": 1000.0 * float(np.median(dur)),
        "q01_duration_ms": 1000.0 * float(np.quantile(dur, 0.01)),
        "q05_duration_ms": 1000.0 * float(np.quantile(dur, 0.05)),
        "file_median_duration_ms": 1000.0 * float(np.median(voters)),
        "long_segment_share": float(np.mean(dur > LONG_SEGMENT_S)),
        "same_label_neighbour_share": float(np.mean(same)) if same else 0.0,
        "gap_q95_ms": 1000.0 * float(np.quantile(positive, 0.95)) if len(positive) else 0.0,
        "phrase_files": int((p >= 0.5).sum()),
        "syllable_files": int((p < 0.5).sum()),
        "phrase_probability": float(p.mean()),
    }


def infer_granularity(
    segments: pd.DataFrame, silence_label: str = "SIL", forced: str = "auto"
) -> GranularityReport:
    """Decide whether hand labels are syllable- or phrase-level (rule in the module doc).

    Parameters
    ----------
    segments : DataFrame
        Columns ``onset_s, offset_s, label`` (and ``audio_path`` for several files).
    silence_label : str
        Tag of silence segments (ignored).
    forced : str
        ``"auto"`` (infer), or ``"syllable"``/``"phrase"`` to use that whatever the labels
        say (the inference is still reported).

    Returns
    -------
    GranularityReport
        With empty ``parameters`` (see :func:`apply_granularity`).
    """
    if forced not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {GRANULARITIES}, got {forced!r}")
    stats = segment_statistics(segments, silence_label)
    warning = None
    if stats["n_segments"] == 0:
        inferred, confidence = "unknown", float("nan")
    else:
        p = stats["phrase_probability"]
        inferred = "phrase" if p >= 0.5 else "syllable"
        confidence = p if inferred == "phrase" else 1.0 - p
        minority = min(stats["phrase_files"], stats["syllable_files"])
        if minority > MIXED_SHARE * stats["n_files"]:
            other = "syllable" if inferred == "phrase" else "phrase"
            n_other = stats[f"{other}_files"]
            warning = (
                f"mixed annotation granularity: {n_other} of {stats['n_files']} files look "
                f"{other}-level; using {inferred}-level for all. Annotate every file the "
                "same way, or set postprocess.granularity"
            )
    if forced == "auto":
        granularity = "syllable" if inferred == "unknown" else inferred
        source = "inferred"
    else:
        granularity, source = forced, "config"
        if inferred not in ("unknown", forced) and confidence >= 0.9:
            warning = (
                f"postprocess.granularity = {forced!r} but the labels look {inferred}-level "
                f"(confidence {confidence:.2f})"
            )
    if warning:
        logger.warning(warning)
    return GranularityReport(granularity, inferred, source, confidence, stats, {}, warning)


def apply_granularity(cfg: Config, segments: pd.DataFrame) -> tuple[Config, GranularityReport]:
    """Adapt post-processing and training targets to the corpus' granularity.

    Syllable-level: the time constants are only ever *shrunk* to the shortest syllables
    (minimum duration and smoothing to half, the boundary margin to a quarter of the 1 %
    duration quantile), so very short calls survive; no gap is bridged.

    Phrase-level: segments shorter than half the 1 % duration quantile (blips shorter than
    the corpus' short phrases) are absorbed into their neighbours; same-label pieces are
    merged across gaps shorter than the 95 % quantile of the pauses between annotated
    phrases (clipped to 20-1000 ms: the labels almost never put one label twice in a row,
    so the same label coming back after such a pause continues the phrase). In training,
    the quiet stretches (>= :data:`QUIET_GAP_MS`) inside a phrase are targets of silence,
    so the model learns the syllables' sounds and sharp phrase edges, and decoding bridges
    the gaps again; no boundary margin (neighbouring phrases always differ in label). A
    value already larger in ``cfg`` is kept.

    Parameters
    ----------
    cfg : Config
        ``cfg.postprocess.granularity`` is ``"auto"`` or forces a level.
    segments : DataFrame
        Training segments (``onset_s, offset_s, label``, ``audio_path``).

    Returns
    -------
    (Config, GranularityReport)
        The adapted config (``postprocess.granularity`` unchanged, so that a retraining
        on other data infers again) and the report with the derived ``parameters``.

    Examples
    --------
    >>> from canapy.config import default_config
    >>> segs = pd.DataFrame({"onset_s": [0.0, 0.1], "offset_s": [0.006, 0.106],
    ...                      "label": ["a", "b"]})
    >>> apply_granularity(default_config(), segs)[0].postprocess.min_duration_ms
    3.0
    """
    post, training = cfg.postprocess, cfg.training
    report = infer_granularity(segments, post.silence_label, post.granularity)
    stats = report.stats
    if stats["n_segments"] == 0:
        return cfg, report
    q01 = stats["q01_duration_ms"]
    if report.granularity == "phrase":
        bridge = float(np.clip(stats["gap_q95_ms"], *_BRIDGE_RANGE_MS))
        post = replace(
            post,
            min_duration_ms=max(post.min_duration_ms, round(0.5 * q01, 3)),
            min_gap_ms=max(post.min_gap_ms, round(bridge, 3)),
        )
        training = replace(training, boundary_ms=0.0)
    else:
        post = replace(
            post,
            min_duration_ms=min(post.min_duration_ms, round(0.5 * q01, 3)),
            smoothing_ms=min(post.smoothing_ms, round(0.5 * q01, 3)),
        )
        training = replace(training, boundary_ms=min(training.boundary_ms, round(0.25 * q01, 3)))
    params = {
        "min_duration_ms": post.min_duration_ms,
        "min_gap_ms": post.min_gap_ms,
        "smoothing_ms": post.smoothing_ms,
        "boundary_ms": training.boundary_ms,
        "quiet_gap_ms": QUIET_GAP_MS if report.granularity == "phrase" else 0.0,
    }
    return replace(cfg, postprocess=post, training=training), replace(report, parameters=params)
