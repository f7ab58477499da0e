"""The syllable map of the working table: colour, click to open, lasso to relabel."""

from __future__ import annotations

from typing import Any

import pandas as pd
import panel as pn
import param

from ..analysis_plots import selectable_map
from ..state import COLOR_BY, AppState
from ..widgets import button, card, typed

__all__ = ["SyllableMapPanel"]


class SyllableMapPanel(pn.viewable.Viewer):
    """Map of every segment (``state.syllable_map``), drawn with :func:`selectable_map`.

    Clicking one point opens its segment in the viewer and plays it; a lasso (or box)
    selection can be given one label in one undoable edit. Hovering shows the label,
    prediction, cluster, suspicion, file and time of a point (text, no spectrogram image:
    the click shows the spectrogram in the viewer).
    """

    state = param.ClassSelector(class_=AppState)

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        state, smap = self.state, self.state.syllable_map
        act = state.tasks.run_action
        self._compute = button("Compute map", "canapy-map-compute", button_type="primary")
        self._compute.on_click(lambda _: act(self._start, inline=True))
        self._color = pn.widgets.Select.from_param(
            smap.param.color_by, name="Colour by", width=140, css_classes=["canapy-map-color"]
        )
        self._rep = pn.widgets.Select.from_param(
            smap.param.representation, name="Vectors", width=110, css_classes=["canapy-map-rep"]
        )
        self._info = pn.pane.Markdown(
            "Compute the map to see every segment as a point (UMAP of the segments' "
            "log-mel patches, or of the active model's reservoir states); similar sounds "
            "land together.",
            css_classes=["canapy-map-info"],
            margin=(0, 5),
        )
        self._plot = pn.pane.Bokeh(None, css_classes=["canapy-map-plot"], min_height=10)
        self._selected = pn.pane.Markdown("", css_classes=["canapy-map-selected"], margin=(0, 5))
        self._label = pn.widgets.TextInput(
            name="New label", width=110, placeholder="label", css_classes=["canapy-map-label"]
        )
        relabel = button("Relabel selection", "canapy-map-relabel", width=150)
        relabel.on_click(
            lambda _: act(
                smap.relabel_selection,
                typed(self._label),
                ok=lambda n: f"{n} segment(s) relabelled",
                inline=True,
            )
        )
        self._ids: list[str] = []
        self._card = card(
            "Syllable map",
            pn.Row(self._rep, self._color, pn.Column(pn.Spacer(height=18), self._compute)),
            self._info,
            self._plot,
            self._selected,
            pn.Row(self._label, pn.Column(pn.Spacer(height=18), relabel)),
            css="canapy-map-card",
            margin=(5, 5),
        )
        smap.param.watch(self._draw, ["points", "color_by"])
        smap.param.watch(self._show_selection, ["selection"])
        state.correction.param.watch(self._draw, ["working"])
        state.review.param.watch(self._draw, ["result"])
        state.tasks.param.watch(self._show_busy, ["busy"])
        self._draw()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._card

    def _start(self) -> Any:
        state = self.state
        annotator = state.annotator() if state.annotators else None
        return state.syllable_map.compute(annotator=annotator, cache_dir=state.cache_path)

    def _show_busy(self, *_: Any) -> None:
        self._compute.disabled = self.state.tasks.busy

    def _view(self) -> pd.DataFrame:
        result = self.state.review.result
        return self.state.syllable_map.view(result.segments if result is not None else None)

    def _draw(self, *_: Any) -> None:
        smap = self.state.syllable_map
        view = self._view()
        if smap.points is None or not len(view):
            self._plot.object = None
            return
        fig = selectable_map(view, COLOR_BY[smap.color_by])
        source = fig.renderers[0].data_source
        self._ids = [str(s) for s in view["segment_id"]]
        keep = [self._ids.index(s) for s in smap.selection if s in self._ids]
        source.selected.indices = keep
        source.selected.on_change("indices", self._on_indices)
        self._plot.object = fig
        info = smap.info
        agree = info.get("agreement_with_labels", {})
        self._info.object = (
            f"**{len(view)} segments**, {info.get('representation', '?')} vectors, "
            f"{info.get('n_clusters', '?')} clusters "
            f"({100 * info.get('noise_share', 0):.0f} % noise); V-measure with the hand "
            f"labels {agree.get('v_measure', float('nan')):.2f}. Click a point: open and "
            "play it. Lasso: select points to relabel."
        )
        self._show_selection()

    def _on_indices(self, attr: str, old: list[int], new: list[int]) -> None:
        ids = [self._ids[i] for i in new if i < len(self._ids)]
        smap = self.state.syllable_map
        if ids == smap.selection:
            return
        smap.select(ids)
        if len(ids) == 1:
            self.state.tasks.run_action(smap.open_segment, ids[0], inline=True)

    def _show_selection(self, *_: Any) -> None:
        sel = self.state.syllable_map.selection
        if not sel:
            self._selected.object = "*No point selected.*"
            return
        view = self._view()
        labels = view[view["segment_id"].isin(sel)]["label"].value_counts()
        parts = ", ".join(f"{n} {lab}" for lab, n in labels.head(6).items())
        self._selected.object = f"**{len(sel)} point(s) selected**: {parts}"
