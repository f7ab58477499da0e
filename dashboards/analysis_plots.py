"""Bokeh plot builders for the analysis views: pure functions from data to a figure.

Each builder takes plain tables (the ones :mod:`canapy.analysis` computes) and returns a
Bokeh model; none reads files or keeps state. The HTML report of ``canapy analyze``
(:mod:`canapy.dashboards.report_html`) and the dashboard's tabs show the same figures.
Bokeh is imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "HOVERED_SOURCE",
    "WEBGL_ABOVE",
    "divergence_plot",
    "entropy_plot",
    "figures_note",
    "map_colors",
    "map_plot",
    "repeat_plots",
    "selectable_map",
    "summary_table",
    "transition_graph",
    "transition_heatmap",
]

WEBGL_ABOVE = 20_000
"""Scatter plots of more points than this are drawn with WebGL."""

_PALETTE_SIZE = 20


def _palette(n: int) -> list[str]:
    from bokeh.palettes import Category20, Turbo256

    if n <= _PALETTE_SIZE:
        return list(Category20[20])[: max(n, 3)][:n] if n >= 3 else list(Category20[3])[:n]
    return [Turbo256[int(i)] for i in np.linspace(0, 255, n)]


def _natural_key(value: str) -> tuple:
    """Numbers in numeric order (noise ``-1`` last), then text.

    >>> sorted(["10", "2", "-1", "b"], key=_natural_key)
    ['2', '10', 'b', '-1']
    """
    if value == "-1":
        return (2, 0, "")
    try:
        return (0, float(value), "")
    except ValueError:
        return (1, 0, value)


def transition_heatmap(matrix: pd.DataFrame, title: str = "Transition probabilities") -> Any:
    """Heat map of a transition table (rows: from, columns: to), values in [0, 1].

    Parameters
    ----------
    matrix : DataFrame
        :func:`canapy.analysis.syntax.transition_matrix` with ``normalise=True``.
    """
    from bokeh.models import ColorBar, LinearColorMapper
    from bokeh.palettes import Blues256
    from bokeh.plotting import figure

    rows, cols = [str(r) for r in matrix.index], [str(c) for c in matrix.columns]
    long = matrix.stack().rename("p").reset_index()
    long.columns = ["from", "to", "p"]
    long["from"], long["to"] = long["from"].astype(str), long["to"].astype(str)
    long["text"] = [f"{p:.2f}" if p >= 0.005 else "" for p in long["p"]]
    size = max(300, min(900, 24 * max(len(rows), len(cols)) + 120))
    fig = figure(
        title=title,
        x_range=cols,
        y_range=list(reversed(rows)),
        width=size,
        height=size,
        tools="hover,save",
        tooltips=[("from", "@from"), ("to", "@to"), ("p", "@p{0.000}")],
        x_axis_label="next",
        y_axis_label="current",
    )
    mapper = LinearColorMapper(palette=Blues256[::-1], low=0.0, high=1.0)  # 0 is white
    fig.rect(
        "to",
        "from",
        1,
        1,
        source=long,
        fill_color={"field": "p", "transform": mapper},
        line_color=None,
    )
    fig.add_layout(ColorBar(color_mapper=mapper, width=10), "right")
    fig.xaxis.major_label_orientation = 1.0
    fig.grid.visible = False
    return fig


def transition_graph(
    matrix: pd.DataFrame, min_probability: float = 0.05, title: str = "Transition graph"
) -> Any:
    """Labels on a circle, an arrow for every transition of probability >= ``min_probability``.

    Arrow width and opacity grow with the probability; start and end symbols are drawn as
    grey nodes.
    """
    from bokeh.models import Arrow, ColumnDataSource, LabelSet, VeeHead
    from bokeh.plotting import figure

    nodes = list(dict.fromkeys([*map(str, matrix.index), *map(str, matrix.columns)]))
    angle = np.pi / 2 - 2 * np.pi * np.arange(len(nodes)) / max(1, len(nodes))
    pos = {n: (float(np.cos(a)), float(np.sin(a))) for n, a in zip(nodes, angle, strict=True)}
    fig = figure(
        title=title,
        width=560,
        height=560,
        x_range=(-1.35, 1.35),
        y_range=(-1.35, 1.35),
        tools="save",
        match_aspect=True,
    )
    for (src, dst), p in matrix.stack().items():
        src, dst = str(src), str(dst)
        if p < min_probability:
            continue
        (x0, y0), (x1, y1) = pos[src], pos[dst]
        if src == dst:  # a repeat: a small loop outside the node
            fig.scatter(
                [x0 * 1.12],
                [y0 * 1.12],
                size=14,
                fill_alpha=0,
                line_width=1 + 4 * p,
                marker="circle",
            )
            continue
        fig.add_layout(
            Arrow(
                end=VeeHead(size=6 + 6 * p, line_alpha=0.3 + 0.7 * p, fill_alpha=0.3 + 0.7 * p),
                x_start=x0 * 0.95,
                y_start=y0 * 0.95,
                x_end=x1 * 0.95,
                y_end=y1 * 0.95,
                line_width=0.5 + 4 * p,
                line_alpha=0.2 + 0.8 * p,
            )
        )
    special = [n.startswith("<") for n in nodes]
    source = ColumnDataSource(
        {
            "x": [pos[n][0] for n in nodes],
            "y": [pos[n][1] for n in nodes],
            "name": [n.strip("<>") for n in nodes],
            "color": ["#bbbbbb" if s else "#3182bd" for s in special],
        }
    )
    fig.scatter("x", "y", size=26, color="color", source=source)
    fig.add_layout(
        LabelSet(
            x="x",
            y="y",
            text="name",
            source=source,
            text_align="center",
            text_baseline="middle",
            text_font_size="8pt",
            text_color="white",
        )
    )
    fig.axis.visible = False
    fig.grid.visible = False
    return fig


def entropy_plot(conditional_entropy: dict[int, float | None], n_labels: int) -> Any:
    """``H(Xₙ | k previous)`` against ``k``, with ``log2(n_labels)`` as a reference line."""
    from bokeh.models import Span
    from bokeh.plotting import figure

    ks = [k for k, v in sorted(conditional_entropy.items()) if v is not None]
    hs = [conditional_entropy[k] for k in ks]
    fig = figure(
        title="Conditional entropy by Markov order",
        width=420,
        height=320,
        x_axis_label="k (previous symbols known)",
        y_axis_label="H(Xn | k previous), bits",
        tools="save,hover",
        tooltips=[("k", "@x"), ("bits", "@y{0.000}")],
    )
    fig.line(ks, hs, line_width=2)
    fig.scatter(ks, hs, size=8)
    if n_labels > 1:
        fig.add_layout(
            Span(location=float(np.log2(n_labels)), dimension="width", line_dash="dashed")
        )
    fig.xaxis.ticker = ks or [0]
    fig.y_range.start = 0
    return fig


def repeat_plots(repeats: pd.DataFrame, max_plots: int = 12) -> Any:
    """One bar chart of repeat counts per label (the labels repeated most often first).

    Parameters
    ----------
    repeats : DataFrame
        :func:`canapy.analysis.syntax.repeat_distribution`.
    """
    from bokeh.layouts import gridplot
    from bokeh.plotting import figure

    totals = repeats.groupby("label")["n_phrases"].sum()
    mean_rep = (repeats["repeats"] * repeats["n_phrases"]).groupby(repeats["label"]).sum() / totals
    labels = mean_rep.sort_values(ascending=False).index[:max_plots]
    figs = []
    for lab in labels:
        sub = repeats[repeats["label"] == lab]
        fig = figure(
            title=f"{lab}  ({int(totals[lab])} phrases)",
            width=220,
            height=180,
            tools="save",
            x_axis_label="repeats",
        )
        fig.vbar(x=sub["repeats"], top=sub["n_phrases"], width=0.8)
        fig.xaxis.ticker = sorted(int(r) for r in sub["repeats"])
        fig.y_range.start = 0
        figs.append(fig)
    return gridplot(figs, ncols=4, toolbar_location=None) if figs else None


def map_plot(
    table: pd.DataFrame, color_by: str = "syll", title: str | None = None, size: int = 4
) -> Any:
    """Scatter of the syllable map (columns ``x, y`` and ``color_by``), one colour per value.

    Hover shows the file, time and label; more than :data:`WEBGL_ABOVE` points are drawn
    with WebGL.
    """
    from bokeh.models import ColumnDataSource
    from bokeh.plotting import figure

    data = table.dropna(subset=["x", "y"]).copy()
    data["_value"] = data[color_by].astype(str)
    values = sorted(set(data["_value"]), key=_natural_key)
    colors = dict(zip(values, _palette(len(values)), strict=True))
    if "-1" in colors and color_by == "cluster":
        colors["-1"] = "#cccccc"
    fig = figure(
        title=title or f"Syllable map, coloured by {color_by}",
        width=620,
        height=560,
        tools="pan,wheel_zoom,box_zoom,reset,hover,save",
        tooltips=[
            ("file", "@wave"),
            ("start", "@start{0.000} s"),
            ("label", "@syll"),
            ("cluster", "@cluster"),
        ],
        output_backend="webgl" if len(data) > WEBGL_ABOVE else "canvas",
    )
    for value in values:
        sub = data[data["_value"] == value]
        cols = [c for c in ("x", "y", "wave", "start", "syll", "cluster") if c in sub]
        fig.scatter(
            "x",
            "y",
            source=ColumnDataSource(sub[cols]),
            size=size,
            alpha=0.6,
            color=colors[value],
            legend_label=str(value),
        )
    fig.legend.click_policy = "hide"
    fig.legend.label_text_font_size = "8pt"
    fig.add_layout(fig.legend[0], "right")
    fig.axis.visible = False
    return fig


def map_colors(values: pd.Series, continuous: bool = False) -> list[str]:
    """One colour per value: a palette over the distinct values, or a white-to-red ramp.

    Categorical values take :func:`_palette` in natural order (cluster ``-1``, HDBSCAN
    noise, is grey); continuous ones (in [0, 1], e.g. a suspicion score) go from light
    grey to red.

    >>> map_colors(pd.Series(["b", "a", "b"]))
    ['#aec7e8', '#1f77b4', '#aec7e8']
    >>> map_colors(pd.Series([0.0, 1.0]), continuous=True)
    ['#dddddd', '#d62728']
    """
    if continuous:
        v = np.clip(np.nan_to_num(values.to_numpy(float), nan=0.0), 0.0, 1.0)
        lo, hi = np.array([0xDD, 0xDD, 0xDD]), np.array([0xD6, 0x27, 0x28])
        rgb = np.round(lo[None, :] + v[:, None] * (hi - lo)[None, :]).astype(int)
        return [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in rgb]
    text = values.astype(str)
    distinct = sorted(set(text), key=_natural_key)
    colors = dict(zip(distinct, _palette(len(distinct)), strict=True))
    if "-1" in colors:
        colors["-1"] = "#cccccc"
    return [colors[v] for v in text]


HOVERED_SOURCE = "canapy-map-hovered"
"""Name of the data source where :func:`selectable_map` writes the hovered row."""

_HOVER_JS = """
const rows = cb_data.index.indices;
if (rows.length === 0) return;
const row = rows[0];
if (hovered.data.index.length === 1 && hovered.data.index[0] === row) return;
hovered.data = {index: [row]};
"""


def selectable_map(
    view: pd.DataFrame,
    color_by: str = "label",
    title: str | None = None,
    width: int = 560,
    height: int = 480,
) -> Any:
    """The syllable map as one selectable scatter (lasso, box, tap), for the dashboard.

    Parameters
    ----------
    view : DataFrame
        :func:`canapy.dashboards.state.map_view` rows (``segment_id, audio_path, onset_s,
        offset_s, label, predicted, cluster, suspicion, x, y``).
    color_by : {"label", "predicted", "cluster", "suspicion"}
        Column giving the colour; ``suspicion`` is a continuous ramp, the others a palette.

    Returns
    -------
    bokeh figure
        One scatter renderer whose data source rows follow ``view``'s rows (its
        ``selected.indices`` are row numbers of ``view``); hover shows label, prediction,
        cluster, suspicion, file and time, and writes the hovered row number into the
        data source named :data:`HOVERED_SOURCE` (``{"index": [row]}``, changed only when
        the row changes), so a server can show that segment's spectrogram. WebGL above
        :data:`WEBGL_ABOVE` points.
    """
    from bokeh.models import ColumnDataSource, CustomJS, HoverTool
    from bokeh.plotting import figure

    data = pd.DataFrame(
        {
            "x": view["x"].to_numpy(np.float32),  # float32: half the payload, screen precision
            "y": view["y"].to_numpy(np.float32),
            "label": view["label"].astype(str).to_numpy(),
            "predicted": view["predicted"].astype(str).to_numpy(),
            "cluster": view["cluster"].astype(str).to_numpy(),
            "suspicion": view["suspicion"].astype(float).round(3).to_numpy(),
            "file": [Path(str(p)).name for p in view["audio_path"]],
            "start": view["onset_s"].to_numpy(float),
        }
    )
    data["color"] = map_colors(data[color_by], continuous=color_by == "suspicion")
    fig = figure(
        title=title or f"Syllable map, coloured by {color_by}",
        width=width,
        height=height,
        tools="lasso_select,box_select,tap,wheel_zoom,pan,reset,hover",
        active_drag="lasso_select",
        tooltips=[
            ("label", "@label"),
            ("predicted", "@predicted"),
            ("cluster", "@cluster"),
            ("suspicion", "@suspicion"),
            ("file", "@file"),
            ("start", "@start{0.000} s"),
        ],
        output_backend="webgl" if len(data) > WEBGL_ABOVE else "canvas",
    )
    hovered = ColumnDataSource({"index": []}, name=HOVERED_SOURCE)
    fig.select_one(HoverTool).callback = CustomJS(args={"hovered": hovered}, code=_HOVER_JS)
    scatter_kw: dict[str, Any] = {}
    if color_by != "suspicion" and data[color_by].nunique() <= 40:
        scatter_kw["legend_field"] = color_by
    fig.scatter(
        "x",
        "y",
        source=ColumnDataSource(data),
        size=6,
        color="color",
        alpha=0.75,
        nonselection_alpha=0.15,
        selection_line_color="black",
        **scatter_kw,
    )
    if fig.legend:
        fig.legend.label_text_font_size = "8pt"
        fig.add_layout(fig.legend[0], "right")
    fig.axis.visible = False
    fig.grid.visible = False
    return fig


def divergence_plot(
    transitions: pd.DataFrame,
    js_joint_bits: float,
    names: tuple[str, str] = ("hand", "model"),
    top: int = 15,
    width: int = 520,
) -> Any:
    """The transitions whose probability differs most between two sets, as bars.

    Parameters
    ----------
    transitions : DataFrame
        :attr:`canapy.analysis.compare.SyntaxComparison.transitions` (``from, to, p_a,
        p_b, difference``), largest absolute difference first.
    js_joint_bits : float
        Jensen–Shannon divergence of the joint transition distributions (in the title).
    names : (str, str)
        Names of set a and set b.
    top : int
        Bars shown (transitions with a non-zero difference only).
    width : int
        Figure width in pixels.
    """
    from bokeh.models import ColumnDataSource
    from bokeh.plotting import figure

    differ = transitions[transitions["difference"].abs() > 1e-9]
    rows = differ.head(top).iloc[::-1]
    names_ab = [f"{a} → {b}" for a, b in zip(rows["from"], rows["to"], strict=True)]
    source = ColumnDataSource(
        {
            "name": names_ab,
            "difference": rows["difference"].to_numpy(float),
            "p_a": rows["p_a"].to_numpy(float),
            "p_b": rows["p_b"].to_numpy(float),
            "color": ["#d62728" if d > 0 else "#1f77b4" for d in rows["difference"]],
        }
    )
    title = f"P({names[1]}) − P({names[0]}); JS divergence {js_joint_bits:.3f} bits"
    if differ.empty:
        title = f"No transition differs ({names[0]} = {names[1]}); JS divergence 0 bits"
    fig = figure(
        title=title,
        y_range=names_ab or [""],
        width=width,
        height=max(220, 22 * len(names_ab) + 80),
        tools="hover,save",
        tooltips=[("transition", "@name"), (names[0], "@p_a{0.000}"), (names[1], "@p_b{0.000}")],
        x_axis_label="difference of transition probability",
    )
    fig.hbar(y="name", right="difference", left=0, height=0.7, color="color", source=source)
    fig.ygrid.visible = False
    return fig


def figures_note(text: str) -> Any:
    """A paragraph of text as a Bokeh model (for notes between figures)."""
    from bokeh.models import Div

    return Div(text=text, width=900)


def summary_table(rows: Sequence[tuple[str, str]]) -> Any:
    """A two-column HTML table of figures as a Bokeh ``Div``."""
    from html import escape

    from bokeh.models import Div

    body = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    style = "border-collapse:collapse;font-family:sans-serif;font-size:13px"
    return Div(text=f"<table style='{style}' cellpadding='4'>{body}</table>", width=900)
