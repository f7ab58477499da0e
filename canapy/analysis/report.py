"""The analysis of an annotated corpus, written as tables and an offline HTML report.

:func:`analyze_corpus` computes the syntax and (when the audio is there) the syllable map;
:func:`write_report` writes them into a report folder:

- ``segments.csv``: one row per segment, ``wave,start,end,syll,cluster,x,y`` then the
  outlier evidence ``knn_disagreement,knn_label,class_outlier`` and ``segment_id``
  (``cluster,x,y`` empty when the map was skipped);
- ``syntax.json``: entropy figures, linearity, consistency, transition counts (orders 1
  and 2), notes; ``map.json``: the map's settings, cluster count, agreement with the labels;
- ``transitions.csv`` (first-order counts, square), ``transitions_order2.csv``,
  ``phrases.csv``, ``repeats.csv``, ``durations.csv``, ``clusters.csv`` (label × cluster);
- ``map/``: the fitted map (a signed model folder), to :meth:`transform` later rounds;

Every file is written atomically. The figures (``report.html``, Bokeh's resources inline)
are drawn by :func:`canapy.dashboards.report_html.write_html_report`, outside the core,
which ``canapy analyze`` calls after :func:`write_report`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from canapy.analysis.evidence import EVIDENCE_COLUMNS
from canapy.analysis.mapping import map_segments, resolve_representation
from canapy.analysis.sequences import DEFAULT_GAP_S
from canapy.analysis.syllable_map import SyllableMap, save_map
from canapy.analysis.syntax import SyntaxSummary, analyze_syntax
from canapy.annotator import Annotator
from canapy.corpus import Corpus
from canapy.exceptions import AnalysisError
from canapy.io_utils import atomic_open, atomic_write_json

__all__ = [
    "SEGMENT_REPORT_COLUMNS",
    "CorpusAnalysis",
    "analyze_corpus",
    "check_output",
    "write_report",
]

logger = logging.getLogger(__name__)

SEGMENT_REPORT_COLUMNS = [
    "wave",
    "start",
    "end",
    "syll",
    "cluster",
    "x",
    "y",
    *EVIDENCE_COLUMNS,
    "segment_id",
]


@dataclass
class CorpusAnalysis:
    """What :func:`analyze_corpus` found.

    Attributes
    ----------
    segments : DataFrame
        Columns :data:`SEGMENT_REPORT_COLUMNS`.
    syntax : SyntaxSummary
    smap : SyllableMap or None
        The fitted (or reused) map; None when skipped.
    map_info : dict
        Representation, settings, cluster count, agreement with the labels, or the reason
        the map was skipped (``skipped``).
    notes : list of str
    """

    segments: pd.DataFrame
    syntax: SyntaxSummary
    smap: SyllableMap | None
    map_info: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def _segment_frame(corpus: Corpus) -> pd.DataFrame:
    seg = corpus.segments
    return pd.DataFrame(
        {
            "wave": [Path(p).name for p in seg["audio_path"]],
            "start": seg["onset_s"].to_numpy(float),
            "end": seg["offset_s"].to_numpy(float),
            "syll": seg["label"].astype(str).to_numpy(),
            "cluster": pd.array([pd.NA] * len(seg), dtype="Int64"),
            "x": np.full(len(seg), np.nan),
            "y": np.full(len(seg), np.nan),
            "knn_disagreement": np.full(len(seg), np.nan),
            "knn_label": pd.Series([""] * len(seg), dtype=object),
            "class_outlier": np.full(len(seg), np.nan),
            "segment_id": seg["segment_id"].to_numpy(),
        }
    )


def analyze_corpus(
    corpus: Corpus,
    *,
    annotator: Annotator | None = None,
    representation: str = "auto",
    map_params: dict[str, Any] | None = None,
    reuse_map: str | Path | None = None,
    with_map: bool = True,
    gap_s: float = DEFAULT_GAP_S,
    unit: str = "syllable",
    ignore: tuple[str, ...] = ("SIL",),
    cache_dir: Path | None = None,
    progress: Any = None,
) -> CorpusAnalysis:
    """Syntax and syllable map of an annotated corpus.

    Parameters
    ----------
    corpus : Corpus
        Annotations (audio optional: without it, the map is skipped with a note).
    annotator : Annotator, optional
        A trained model: enables the ``"reservoir"`` representation.
    representation : {"auto", "logmel", "reservoir"}
        ``"auto"``: ``"reservoir"`` with a model, else ``"logmel"``.
    map_params : dict, optional
        Keyword arguments of :class:`SyllableMap`.
    reuse_map : path, optional
        A map folder written by an earlier report: transform into it instead of fitting.
    with_map : bool
        False skips the map.
    gap_s, unit, ignore :
        See :func:`canapy.analysis.syntax.analyze_syntax`.
    cache_dir : Path, optional
        Feature cache.
    progress : callable, optional
        ``progress(fraction, message)``.
    """
    syntax = analyze_syntax(corpus.segments, gap_s=gap_s, unit=unit, ignore=ignore)
    table = _segment_frame(corpus)
    notes = list(syntax.notes)
    keep = ~table["syll"].isin(set(ignore)).to_numpy()
    missing = sorted({p for p in corpus.segments["audio_path"] if not Path(p).is_file()})
    rep = resolve_representation(representation, annotator)
    reason = None
    if not with_map:
        reason = "not asked for (--no-map)"
    elif missing:
        reason = f"{len(missing)} audio file(s) not found (first: {Path(missing[0]).name})"
    elif keep.sum() < 10:
        reason = f"only {int(keep.sum())} segments: too few for a map"
    if reason is not None:
        notes.append(f"syllable map skipped: {reason}; syntax only")
        return CorpusAnalysis(table, syntax, None, {"skipped": reason}, notes)

    kept = corpus.segments[keep].reset_index(drop=True)
    mapped = map_segments(
        kept,
        annotator=annotator,
        representation=rep,
        map_params=map_params,
        reuse_map=reuse_map,
        cache_dir=cache_dir,
        progress=progress,
    )
    rows = np.flatnonzero(keep)
    table.loc[rows, "x"] = mapped.points[:, 0].astype(float)
    table.loc[rows, "y"] = mapped.points[:, 1].astype(float)
    table.loc[rows, "cluster"] = mapped.clusters
    for col in EVIDENCE_COLUMNS:
        table.loc[rows, col] = mapped.evidence[col].to_numpy()
    return CorpusAnalysis(table, syntax, mapped.smap, mapped.info, notes)


def check_output(output: Path, data_dir: Path | None) -> None:
    """Refuse a report folder that is ``data_dir`` or inside it."""
    if data_dir is None:
        return
    out, data = output.resolve(), data_dir.resolve()
    if out == data or data in out.parents:
        raise AnalysisError(
            f"{output}: inside the data folder {data_dir}; its CSV files would be read as "
            "annotations next time. Write the report elsewhere"
        )


def _write_csv(table: pd.DataFrame, path: Path, index: bool = False) -> None:
    with atomic_open(path, "w") as fh:
        table.to_csv(fh, index=index, lineterminator="\n")


def write_report(
    result: CorpusAnalysis,
    output: str | Path,
    data_dir: str | Path | None = None,
) -> Path:
    """Write the tables and the fitted map into ``output`` (the figures: see the module doc).

    Raises
    ------
    AnalysisError
        ``output`` is ``data_dir`` or inside it.
    """
    output = Path(output)
    check_output(output, Path(data_dir) if data_dir is not None else None)
    output.mkdir(parents=True, exist_ok=True)
    syn = result.syntax
    _write_csv(result.segments[SEGMENT_REPORT_COLUMNS].round(6), output / "segments.csv")
    atomic_write_json(output / "syntax.json", syn.to_dict())
    atomic_write_json(output / "map.json", result.map_info)
    _write_csv(syn.matrix(), output / "transitions.csv", index=True)
    order2 = syn.transitions[2].assign(context=lambda t: t["context"].map(" ".join))
    _write_csv(order2.round(6), output / "transitions_order2.csv")
    _write_csv(syn.phrases.round(6), output / "phrases.csv")
    _write_csv(syn.repeats, output / "repeats.csv")
    _write_csv(syn.durations.round(6), output / "durations.csv")
    if result.smap is not None:
        mapped = result.segments.dropna(subset=["x"])
        crosstab = pd.crosstab(mapped["syll"], mapped["cluster"].astype(int))
        _write_csv(crosstab, output / "clusters.csv", index=True)
        if not result.map_info.get("reused_map"):
            save_map(
                result.smap, output / "map", {"representation": result.map_info["representation"]}
            )
    logger.info("analysis report written to %s", output)
    return output
