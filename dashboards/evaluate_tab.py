"""Evaluate tab: metrics of the active run's models, confusion matrix, per-file errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import holoviews as hv
import pandas as pd
import panel as pn
import param

from canapy.annotator import MODEL_KINDS

from .plots import confusion_heatmap
from .registry_view import ComparePanel
from .state import METRIC_COLUMNS, AppState, metrics_frame
from .syntax_view import SyntaxPanel
from .viewer import SpectrogramViewer
from .widgets import alert, fit_table, table

__all__ = ["EvaluateTab"]

_PER_FILE = ["file", "n_ref", "n_hyp", "edit_distance", "ser", "frame_accuracy", "onset_f1"]


class EvaluateTab(pn.viewable.Viewer):
    """Held-out metrics of every model, and detailed views of the selected one."""

    state = param.ClassSelector(class_=AppState)

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        state = self.state
        self._header = pn.pane.Markdown("", css_classes=["canapy-eval-header"])
        self._source = pn.pane.Alert("", alert_type="info", css_classes=["canapy-eval-source"])
        self._caveats = alert("canapy-eval-caveats", alert_type="warning")
        self._metrics = table("canapy-eval-metrics", height=130, selectable=1)
        self._metrics.param.watch(self._on_metrics_row, ["selection"])
        self._model = pn.widgets.RadioButtonGroup(
            name="Model",
            options=[],
            button_type="primary",
            button_style="outline",
            css_classes=["canapy-eval-model"],
        )
        self._model.param.watch(self._on_model, ["value"])
        self._heatmap = pn.pane.HoloViews(
            linked_axes=False,
            object=None,
            min_height=380,
            min_width=420,
            sizing_mode="stretch_width",
            css_classes=["canapy-confusion"],
        )
        self._per_class = table("canapy-per-class", height=300)
        self._per_file = table("canapy-per-file", height=260, selectable=1)
        self._per_file.param.watch(self._on_file_row, ["selection"])
        self._cell = pn.pane.Markdown(
            "Click a cell of the matrix to list the files where that confusion happens.",
            css_classes=["canapy-cell-info"],
        )
        self._cell_files = table("canapy-cell-files", height=200, selectable=1)
        self._cell_files.param.watch(self._on_cell_file_row, ["selection"])
        self._heldout = pn.Column(sizing_mode="stretch_width")
        self._viewer_status = pn.pane.Markdown("", css_classes=["canapy-viewer-status"])
        self.viewer = SpectrogramViewer()
        self._empty = pn.pane.Markdown(
            "### No model to evaluate yet\n\nTrain one in the **Train** tab, or click a run "
            "in its list of trained models.",
            css_classes=["canapy-eval-empty"],
        )
        self._body = pn.Column(
            self._header,
            self._source,
            self._caveats,
            pn.Row(
                pn.Column("#### Models (one row each)", self._metrics, sizing_mode="stretch_width"),
                pn.Column("#### Model shown below", self._model, width=360),
                sizing_mode="stretch_width",
            ),
            pn.Row(
                pn.Column(
                    "#### Frame confusion matrix", self._heatmap, sizing_mode="stretch_width"
                ),
                pn.Column("#### Per class (frames)", self._per_class, width=420),
                sizing_mode="stretch_width",
            ),
            pn.Row(
                pn.Column(
                    "#### Per file — click a row to open it; click a header to sort",
                    self._per_file,
                    sizing_mode="stretch_width",
                ),
                pn.Column(self._cell, self._cell_files, width=420),
                sizing_mode="stretch_width",
            ),
            pn.Row("#### Recording", self._viewer_status),
            self.viewer,
            self._heldout,
            SyntaxPanel(state=state),
            sizing_mode="stretch_width",
            visible=False,
        )
        self._panel = pn.Column(
            self._empty,
            self._body,
            ComparePanel(state=state),
            sizing_mode="stretch_width",
            css_classes=["canapy-eval-tab"],
        )
        state.param.watch(self._show_run, ["evaluation", "active_run", "evaluation_label"])
        state.param.watch(self._show_model, ["eval_model"])
        state.param.watch(self._show_cell, ["confusion_cell", "confusion_files"])
        state.param.watch(self._show_focus, ["focus_path", "focus_window", "predictions"])
        state.tasks.param.watch(self._show_view_status, ["view_status"])
        self._show_run()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._panel

    # -- whole run -------------------------------------------------------------------------
    def _show_run(self, *_: Any) -> None:
        state = self.state
        has = bool(state.evaluation)
        self._empty.visible, self._body.visible = not has, has
        if not has:
            return
        run = Path(state.active_run).name if state.active_run else "?"
        n = len(state.evaluation_paths)
        self._header.object = f"### Run {run}\n`{state.active_run}` — scored on {n} file(s)"
        self._source.object = state.evaluation_label
        self._source.alert_type = "warning" if "optimistic" in state.evaluation_label else "info"
        self._show_caveats()
        metrics = metrics_frame(state.evaluation)
        fit_table(self._metrics, metrics.round(4))
        kinds = [k for k in MODEL_KINDS if k in state.evaluation] + [
            k for k in state.evaluation if k not in MODEL_KINDS
        ]
        self._model.options = kinds
        if state.eval_model in kinds:
            self._model.value = state.eval_model
        self._show_heldout()
        self._show_model()

    def _show_caveats(self) -> None:
        """Too few scored files, test labels the model cannot produce: said, not hidden."""
        from canapy.caveats import evaluation_caveats, score_caveats

        state = self.state
        kind = state.eval_model if state.eval_model in state.evaluation else None
        kind = kind or next(iter(state.evaluation), None)
        result, annotator = state.evaluation.get(kind), state.annotators.get(kind)
        labels = list(annotator.labels) if annotator is not None else None
        n_files = len(state.evaluation_paths)
        caveats = (
            evaluation_caveats(result, labels, n_files)
            if result is not None
            else score_caveats(n_files, [], [])
        )
        self._caveats.object = "  \n".join(f"**Caution:** {c}." for c in caveats)
        self._caveats.visible = bool(caveats)

    def _show_heldout(self) -> None:
        state = self.state
        if "Held-out validation" in state.evaluation_label or not state.heldout:
            self._heldout.objects = []
            return
        rows = [
            {"model": k, **{c: v.get(c) for c in METRIC_COLUMNS}} for k, v in state.heldout.items()
        ]
        self._heldout.objects = [
            pn.pane.Markdown("#### Held-out scores measured during training (run.json)"),
            table("canapy-heldout", pd.DataFrame(rows).round(4), height=130),
        ]

    # -- one model -------------------------------------------------------------------------
    def _on_model(self, event: param.parameterized.Event) -> None:
        if event.new and event.new != self.state.eval_model:
            self.state.eval_model = event.new

    def _on_metrics_row(self, event: param.parameterized.Event) -> None:
        table = self._metrics.value
        if event.new and event.new[0] < len(table):
            self.state.eval_model = str(table["model"].iloc[event.new[0]])

    def _show_model(self, *_: Any) -> None:
        state = self.state
        kind = state.eval_model
        result = state.evaluation.get(kind) if kind else None
        if result is None:
            return
        self._show_caveats()
        if self._model.value != kind:
            self._model.value = kind
        heat = confusion_heatmap(result.confusion_counts).opts(
            hv.opts.HeatMap(responsive=True, min_height=380, title=f"{kind}: true vs predicted")
        )
        tap = hv.streams.Tap(source=heat)
        tap.add_subscriber(self._on_cell)
        self._tap = tap
        self._heatmap.object = heat
        per_class = result.per_class.reset_index().round(4)
        fit_table(self._per_class, per_class, 12)
        per_file = result.per_file.copy()
        per_file.insert(0, "file", [Path(p).name for p in per_file["audio_path"]])
        self._per_file_paths = list(per_file["audio_path"])
        fit_table(self._per_file, per_file[_PER_FILE].round(4), 12)
        self._per_file.selection = []

    def _on_cell(self, x: Any = None, y: Any = None) -> None:
        if x is None or y is None:
            return
        self.state.tasks.run_action(self.state.select_confusion, str(y), str(x))

    def _show_cell(self, *_: Any) -> None:
        state = self.state
        if state.confusion_cell is None:
            self._cell.object = (
                "Click a cell of the matrix to list the files where that confusion happens."
            )
            fit_table(self._cell_files, pd.DataFrame(), 1)
            return
        true, pred = state.confusion_cell
        files = state.confusion_files
        if files is None:
            self._cell.object = f"Looking for **{true}** predicted as **{pred}**..."
            return
        self._cell.object = (
            f"**{true}** (true) predicted as **{pred}** by the saved {state.eval_model} model: "
            f"{len(files)} file(s), most frames first. Click one to open it."
        )
        shown = files.assign(file=[Path(p).name for p in files["audio_path"]])
        self._cell_paths = list(files["audio_path"])
        self._cell_firsts = list(files["first_s"])
        fit_table(self._cell_files, shown[["file", "frames", "seconds", "first_s"]].round(3), 8)

    def _on_file_row(self, event: param.parameterized.Event) -> None:
        if event.new and event.new[0] < len(getattr(self, "_per_file_paths", [])):
            self.state.select_file(self._per_file_paths[event.new[0]])

    def _on_cell_file_row(self, event: param.parameterized.Event) -> None:
        if event.new and event.new[0] < len(getattr(self, "_cell_paths", [])):
            first = float(self._cell_firsts[event.new[0]])
            self.state.select_file(
                self._cell_paths[event.new[0]], (max(0.0, first - 1.0), first + 1.0)
            )

    # -- viewer -------------------------------------------------------------------------------
    def _show_focus(self, *_: Any) -> None:
        state = self.state
        path = state.focus_path
        if path is None:
            return
        tracks = state.tracks_for(path)
        self.viewer.param.update(
            path=path, tracks=tracks, window=state.focus_window, colors=state.label_colors
        )

    def _show_view_status(self, *_: Any) -> None:
        self._viewer_status.object = (
            f"*{self.state.tasks.view_status}*" if self.state.tasks.view_status else ""
        )
