"""Assemble the analysis figures into one standalone HTML page (Bokeh resources inline).

``canapy analyze`` writes the tables through :func:`canapy.analysis.report.write_report`
(core, no Bokeh) and then this page through :func:`write_html_report`, importing this
module inside its ``run`` so the core never imports Bokeh.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from canapy.dashboards import analysis_plots as plots
from canapy.io_utils import atomic_write_text

if TYPE_CHECKING:
    from canapy.analysis.report import CorpusAnalysis

__all__ = ["REPORT_PAGE", "render_report", "write_html_report"]

logger = logging.getLogger(__name__)

REPORT_PAGE = "report.html"
"""File name of the page inside the report folder."""


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
    from bokeh.layouts import column, row

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
    return standalone_page(column(*parts), title)


def standalone_page(model: Any, title: str) -> str:
    """One HTML page showing a Bokeh ``model``, with Bokeh's JavaScript inline (no network).

    Not :func:`bokeh.embed.file_html`: Bokeh adds the ``__javascript__`` files of *every*
    registered model class to such a page, used or not, and once Panel is imported (as it is
    inside this package) that means ``<script src="static/extensions/panel/...">`` tags,
    which fail offline. The analysis figures use Bokeh's built-in models only, so the page
    carries Bokeh's own code (core, WebGL, widgets for the text blocks) and nothing else.
    """
    from html import escape

    from bokeh.embed import components
    from bokeh.resources import Resources

    inline = Resources(mode="inline", components=["bokeh", "bokeh-gl", "bokeh-widgets"])
    script, div = components(model)
    code = "\n".join(f'<script type="text/javascript">\n{raw}\n</script>' for raw in inline.js_raw)
    style = "\n".join(f"<style>\n{raw}\n</style>" for raw in inline.css_raw)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n{style}\n{code}\n</head>\n"
        f"<body>\n{div}\n{script}\n</body>\n</html>\n"
    )


def write_html_report(
    result: CorpusAnalysis, output: str | Path, title: str = "Canapy analysis"
) -> Path:
    """Write :func:`render_report` atomically as ``output/report.html``; return its path.

    ``output`` is the report folder :func:`canapy.analysis.report.write_report` filled
    (and checked against the data folder).
    """
    page = Path(output) / REPORT_PAGE
    atomic_write_text(page, render_report(result, title))
    logger.info("analysis page written to %s", page)
    return page
