"""The syllable map of the working table: colour, click to open, lasso to relabel."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pandas as pd
import panel as pn
import param

from ..analysis_plots import HOVERED_SOURCE, selectable_map
from ..state import COLOR_BY, AppState
from ..widgets import button, card, typed

__all__ = ["SyllableMapPanel"]


class SyllableMapPanel(pn.viewable.Viewer):
    """Map of every segment (``state.syllable_map``), drawn with :func:`selectable_map`.

    Clicking one point opens its segment in the viewer and plays it; a lasso (or box)
    selection can be given one label in one undoable edit. Hovering shows the label,
    prediction, cluster, suspicion, file and time of a point in the tooltip, and its
    spectrogram in the panel beside the map (made on the server for the hovered point
    only, so the page does not grow with the map). "Compute map" reuses the session's (or
    the saved) map and places only new or changed segments; "Refit map" fits a new one.
    """

    state = param.ClassSelector(class_=AppState)

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        state, smap = self.state, self.state.syllable_map
        act = state.tasks.run_action
        self._compute = button("Compute map", "canapy-map-compute", button_type="primary")
        self._compute.on_click(lambda _: act(self._start, inline=True))
        self._refit = button("Refit map", "canapy-map-refit", width=100)
        self._refit.on_click(lambda _: act(self._start, True, inline=True))
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
        self._hover = pn.pane.HTML(
            "", css_classes=["canapy-map-hover"], width=180, margin=(40, 5, 5, 5)
        )
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
            pn.Row(
                self._rep,
                self._color,
                pn.Column(pn.Spacer(height=18), pn.Row(self._compute, self._refit)),
            ),
            self._info,
            pn.Row(self._plot, self._hover),
            self._selected,
            pn.Row(self._label, pn.Column(pn.Spacer(height=18), relabel)),
            css="canapy-map-card",
            margin=(5, 5),
        )
        smap.param.watch(self._draw, ["points", "color_by"])
        smap.param.watch(self._show_selection, ["selection"])
        smap.param.watch(self._show_hover, ["hover_image", "hovered"])
        state.correction.param.watch(self._draw, ["working"])
        state.review.param.watch(self._draw, ["result"])
        state.tasks.param.watch(self._show_busy, ["busy"])
        self._draw()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._card

    def _start(self, refit: bool = False) -> Any:
        state = self.state
        annotator = state.annotator() if state.annotators else None
        model_id = None
        if annotator is not None and state.active_run:
            model_id = f"{Path(state.active_run).name}-{state.eval_model or 'default'}"
        return state.syllable_map.compute(
            annotator=annotator, cache_dir=state.cache_path, refit=refit, model_id=model_id
        )

    def _show_busy(self, *_: Any) -> None:
        self._compute.disabled = self._refit.disabled = self.state.tasks.busy

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
        fig.select_one({"name": HOVERED_SOURCE}).on_change("data", self._on_hover)
        self._plot.object = fig
        info = smap.info
        agree = info.get("agreement_with_labels", {})
        if "n_kept" in info:
            how = (
                f"same map as before: {info['n_kept']} point(s) kept in place, "
                f"{info['n_placed']} new or changed placed into it (Refit map to redraw)"
            )
        else:
            how = "new map"
        self._info.object = (
            f"**{len(view)} segments**, {info.get('representation', '?')} vectors, "
            f"{info.get('n_clusters', '?')} clusters "
            f"({100 * info.get('noise_share', 0):.0f} % noise); V-measure with the hand "
            f"labels {agree.get('v_measure', float('nan')):.2f}; {how}. Hover: see a "
            "point's spectrogram. Click a point: open and play it. Lasso: select points "
            "to relabel."
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

    def _on_hover(self, attr: str, old: Any, new: dict) -> None:
        rows = list(new.get("index", []))
        if rows and 0 <= int(rows[0]) < len(self._ids):
            self.state.syllable_map.hover(self._ids[int(rows[0])])

    def _show_hover(self, *_: Any) -> None:
        smap = self.state.syllable_map
        if not smap.hovered:
            self._hover.object = ""
            return
        view = self._view()
        row = view[view["segment_id"] == smap.hovered]
        if not len(row):
            self._hover.object = ""
            return
        r = row.iloc[0]
        picture = (
            f'<img src="{smap.hover_image}" alt="spectrogram of {html.escape(smap.hovered)}" '
            'style="width:160px;height:80px;border:1px solid #ccc">'
            if smap.hover_image
            else "<i>no spectrogram (audio missing)</i>"
        )
        self._hover.object = (
            f"{picture}<div style='font-size:12px'><b>{html.escape(str(r['label']))}</b> "
            f"(predicted {html.escape(str(r['predicted']))})<br>"
            f"{html.escape(Path(str(r['audio_path'])).name)} at {float(r['onset_s']):.3f} s"
            "</div>"
        )

    def _show_selection(self, *_: Any) -> None:
        sel = self.state.syllable_map.selection
        if not sel:
            self._selected.object = "*No point selected.*"
            return
        view = self._view()
        labels = view[view["segment_id"].isin(sel)]["label"].value_counts()
        parts = ", ".join(f"{n} {lab}" for lab, n in labels.head(6).items())
        self._selected.object = f"**{len(sel)} point(s) selected**: {parts}"
