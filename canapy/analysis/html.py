"""Assemble the analysis figures into one standalone HTML page (Bokeh resources inline)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from canapy.analysis import plots

if TYPE_CHECKING:
    from canapy.analysis.report import CorpusAnalysis

__all__ = ["render_report"]


def _fmt(x: float | None, digits: int = 3) -> str:
    return "undefined" if x is None else f"{x:.{digits}f}"


def _summary_rows(result: CorpusAnalysis) -> list[tuple[str, str]]:
    syn = result.syntax
    d = syn.to_dict()
    cond = ", ".join(f"k={k}: {_fmt(v)}" for k, v in syn.conditional_entropy_bits.items())
    rows = [
        (
            "files, bouts, symbols",
            f"{d['n_files']}, {d['n_bouts']}, {d['n_symbols']} ({syn.unit}s)",
        ),
        ("labels", str(len(syn.label_counts))),
        ("bout gap", f"silences longer than {syn.gap_s} s split bouts"),
        ("entropy rate", f"{_fmt(syn.entropy_rate_bits)} bits"),
        ("normalised entropy rate", _fmt(syn.normalised_entropy_rate)),
        ("H(Xn | k previous), bits", cond),
        ("linearity / consistency", f"{_fmt(syn.linearity)} / {_fmt(syn.consistency)}"),
    ]
    info = result.map_info
    if "skipped" in info:
        rows.append(("syllable map", f"skipped: {info['skipped']}"))
    else:
        agree = info["agreement_with_labels"]
        rows.append(
            (
                "syllable map",
                f"{info['n_segments']} segments, {info['representation']} representation, "
                f"{info['n_clusters']} clusters ({100 * info['noise_share']:.1f} % noise); "
                f"V-measure with the labels {agree['v_measure']:.3f}",
            )
        )
    rows.extend(("note", n) for n in result.notes if not n.startswith("syllable map skipped"))
    return rows


def render_report(result: CorpusAnalysis, title: str = "Canapy analysis") -> str:
    """The whole report as one HTML string, openable without network access."""
    from bokeh.embed import file_html
    from bokeh.layouts import column, row
    from bokeh.resources import INLINE

    syn = result.syntax
    parts = [
        plots.figures_note(f"<h1>{title}</h1>"),
        plots.summary_table(_summary_rows(result)),
    ]
    if result.smap is not None:
        parts.append(plots.figures_note("<h2>Syllable map</h2>"))
        parts.append(
            row(
                plots.map_plot(result.segments, "syll", "Map coloured by label"),
                plots.map_plot(result.segments, "cluster", "Map coloured by HDBSCAN cluster"),
            )
        )
    parts.append(plots.figures_note("<h2>Transitions</h2>"))
    matrix = syn.matrix(normalise=True)
    parts.append(row(plots.transition_heatmap(matrix), plots.transition_graph(matrix)))
    parts.append(plots.entropy_plot(syn.conditional_entropy_bits, len(syn.label_counts)))
    repeats = syn.repeats
    if not repeats.empty and int(np.max(repeats["repeats"])) > 1:
        parts.append(plots.figures_note("<h2>Repeats per phrase</h2>"))
        parts.append(plots.repeat_plots(repeats))
    return file_html(column(*parts), resources=INLINE, title=title)
