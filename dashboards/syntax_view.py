"""Song syntax in the Evaluate tab: hand labels and the model's output side by side.

A model can be accurate per frame and still get the syntax wrong; this view shows the
transition heat map and the entropy by Markov order of both sets, the transitions that
differ most (and the Jensen–Shannon divergence), and the same views for any annotation
set the user opens (the working table or a saved version).
"""

from __future__ import annotations

from typing import Any

import panel as pn
import param

from .analysis_plots import divergence_plot, entropy_plot, transition_heatmap
from .state import WORKING_SET, AppState
from .widgets import button, card

__all__ = ["SyntaxPanel", "syntax_summary_text"]


def _fmt(x: float | None) -> str:
    return "undefined" if x is None else f"{x:.3f}"


def syntax_summary_text(summary: Any, name: str) -> str:
    """A few Markdown lines of a :class:`canapy.analysis.syntax.SyntaxSummary`."""
    d = summary.to_dict()
    cond = ", ".join(f"k={k}: {_fmt(v)}" for k, v in summary.conditional_entropy_bits.items())
    lines = [
        f"**{name}** — {d['n_files']} files, {d['n_bouts']} bouts, {d['n_symbols']} "
        f"{summary.unit}s, {len(summary.label_counts)} labels",
        f"entropy rate {_fmt(summary.entropy_rate_bits)} bits (normalised "
        f"{_fmt(summary.normalised_entropy_rate)}); H(Xn | k previous) {cond}",
        f"linearity {_fmt(summary.linearity)}, consistency {_fmt(summary.consistency)}",
    ]
    lines += [f"*{note}*" for note in summary.notes]
    return "\n\n".join(lines)


_COLUMN_PX = 430
"""Width of one annotation set's column (three fit side by side at 1400 px)."""


def _figures(summary: Any, name: str) -> list[Any]:
    matrix = summary.matrix(normalise=True)
    heat = transition_heatmap(matrix, title=f"Transitions, {name}")
    heat.width = heat.height = min(heat.width, _COLUMN_PX - 20)
    entropy = entropy_plot(summary.conditional_entropy_bits, len(summary.label_counts))
    entropy.title.text = f"Entropy by Markov order, {name}"
    entropy.width = _COLUMN_PX - 20
    text = syntax_summary_text(summary, name)
    return [
        pn.pane.Markdown(text, width=_COLUMN_PX, css_classes=["canapy-syntax-text"]),
        pn.pane.Bokeh(heat),
        pn.pane.Bokeh(entropy),
    ]


class SyntaxPanel(pn.viewable.Viewer):
    """Syntax of the hand labels vs the active model, and of any opened annotation set."""

    state = param.ClassSelector(class_=AppState)

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        state, syntax = self.state, self.state.syntax
        act = state.tasks.run_action
        unit = pn.widgets.Select.from_param(syntax.param.unit, name="Symbols", width=110)
        gap = pn.widgets.FloatInput.from_param(
            syntax.param.gap_s, name="Bout gap (s)", width=100, step=0.1
        )
        compare = button(
            "Compare hand vs model", "canapy-syntax-compare", button_type="primary", width=190
        )
        compare.on_click(lambda _: act(self._compare, inline=True))
        self._sets = pn.widgets.Select(
            name="Annotation set",
            options=[WORKING_SET],
            width=150,
            css_classes=["canapy-syntax-set"],
        )
        open_set = button("Open set", "canapy-syntax-open", width=100)
        open_set.on_click(lambda _: act(syntax.open_set, self._sets.value, inline=True))
        self._compared = pn.Column(sizing_mode="stretch_width", css_classes=["canapy-syntax-pair"])
        self._opened = pn.Column(sizing_mode="stretch_width", css_classes=["canapy-syntax-opened"])
        self._card = card(
            "Song syntax",
            pn.pane.Markdown(
                "Transition probabilities and entropy of the label sequences (bouts split at "
                "silences longer than the gap). Compare the hand labels of the evaluated files "
                "with the model's output on them, or open the working table or a saved version.",
                margin=(0, 5),
            ),
            pn.Row(
                unit,
                gap,
                pn.Column(pn.Spacer(height=18), compare),
                self._sets,
                pn.Column(pn.Spacer(height=18), open_set),
            ),
            self._compared,
            self._opened,
            css="canapy-syntax-card",
            margin=(5, 5),
        )
        syntax.param.watch(self._show_pair, ["comparison"])
        syntax.param.watch(self._show_opened, ["opened"])
        state.correction.param.watch(self._show_sets, ["versions"])
        self._show_sets()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._card

    def _compare(self) -> Any:
        state = self.state
        annotator = state.annotator()
        kind = state.eval_model or next(iter(state.annotators))
        paths = list(state.evaluation_paths)
        reference = state.corpus.subset(paths).segments
        return state.syntax.compare_model(annotator, kind, paths, reference, state.cache_path)

    def _show_sets(self, *_: Any) -> None:
        self._sets.options = self.state.syntax.set_names()

    def _show_pair(self, *_: Any) -> None:
        syntax = self.state.syntax
        if syntax.comparison is None:
            self._compared.objects = []
            return
        comp = syntax.comparison
        self._compared.objects = [
            pn.pane.Markdown(f"#### Syntax: {syntax.compared}"),
            pn.Row(
                pn.Column(*_figures(syntax.hand, "hand labels"), width=_COLUMN_PX + 10),
                pn.Column(*_figures(syntax.predicted, "model"), width=_COLUMN_PX + 10),
                pn.Column(
                    pn.pane.Markdown(
                        f"**Divergence** (Jensen–Shannon, bits): joint transitions "
                        f"{comp.js_joint_bits:.3f}, mean per context {comp.js_mean_bits:.3f}",
                        width=_COLUMN_PX,
                        css_classes=["canapy-syntax-divergence"],
                    ),
                    pn.pane.Bokeh(
                        divergence_plot(comp.transitions, comp.js_joint_bits, width=_COLUMN_PX)
                    ),
                ),
            ),
        ]

    def _show_opened(self, *_: Any) -> None:
        syntax = self.state.syntax
        if syntax.opened is None:
            self._opened.objects = []
            return
        self._opened.objects = [
            pn.pane.Markdown(f"#### Syntax of {syntax.opened_label}"),
            pn.Row(*_figures(syntax.opened, syntax.opened_label)),
        ]
