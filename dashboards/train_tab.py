"""Train tab: the data set, the configuration editor, the Train button, the trained runs."""

from __future__ import annotations

from typing import Any

import pandas as pd
import panel as pn
import param

from .granularity_view import GranularityPanel
from .plots import label_bars
from .registry_view import RegisterPanel
from .state import CONFIG_FIELDS, RUN_COLUMNS, AppState, ConfigForm
from .widgets import button, card, table, workers_input

__all__ = ["TrainTab", "config_widgets"]

# The run table minus what the list does not need on screen; "models" moved last.
_RUN_SHOWN = [c for c in RUN_COLUMNS if c not in ("models", "n_files", "path")] + ["models"]


def _duration(seconds: float) -> str:
    """``83.2`` -> ``'1 min 23 s'``."""
    minutes, sec = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {sec:02d} s" if minutes else f"{seconds:.1f} s"


def _css(name: str) -> list[str]:
    return [f"canapy-cfg-{name.replace('_', '-')}"]


def config_widgets(form: ConfigForm) -> dict[str, pn.widgets.Widget]:
    """One widget per editable value of ``form``, linked both ways."""
    out: dict[str, pn.widgets.Widget] = {
        "preset": pn.widgets.Select.from_param(
            form.param.preset, name="Preset", css_classes=_css("preset"), width=170
        )
    }
    for name, label in CONFIG_FIELDS.items():
        p = form.param[name]
        kw = {"name": label, "css_classes": _css(name), "width": 170}
        if name == "training_models":
            widget = pn.widgets.CheckButtonGroup.from_param(
                p,
                name=label,
                css_classes=_css(name),
                button_type="primary",
                button_style="outline",
                width=360,
            )
        elif isinstance(p, param.Selector):
            widget = pn.widgets.Select.from_param(p, **kw)
        elif isinstance(p, param.Boolean):
            widget = pn.widgets.Checkbox.from_param(p, **kw)
        elif isinstance(p, param.Integer):
            widget = pn.widgets.IntInput.from_param(p, **kw)
        else:
            widget = pn.widgets.FloatInput.from_param(p, **kw)
        out[name] = widget
    return out


class TrainTab(pn.viewable.Viewer):
    """Data summary and warnings, config editor, Train button and the list of runs."""

    state = param.ClassSelector(class_=AppState)

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        state = self.state
        self._summary = pn.pane.Markdown("", css_classes=["canapy-data-summary"], margin=(0, 10))
        self._warnings = pn.Column(
            css_classes=["canapy-data-warnings"], sizing_mode="stretch_width"
        )
        self._charts = pn.pane.HoloViews(
            linked_axes=False, object=None, sizing_mode="stretch_width", min_height=260
        )
        self._label_table = table("canapy-label-table", height=200, width=440, sizing_mode="fixed")

        widgets = config_widgets(state.form)
        self._preset_note = pn.pane.Markdown("", css_classes=["canapy-preset-note"], margin=(0, 10))
        state.form.param.watch(
            lambda e: setattr(self._preset_note, "object", e.new), ["preset_note"]
        )
        self._config_error = pn.pane.Alert(
            "", alert_type="danger", visible=False, css_classes=["canapy-config-error"]
        )
        self._train = button("Train", "canapy-train-button", button_type="primary", width=140)
        self._train.on_click(self._on_train)
        self._why = pn.pane.Markdown("", css_classes=["canapy-train-hint"], margin=(0, 10))
        grid = pn.GridBox(*[widgets[n] for n in widgets if n != "training_models"], ncols=4)
        config = card(
            "Configuration",
            pn.pane.Markdown(
                "Values are checked by `canapy.config` as you type; an invalid one disables "
                "Train. A smaller reservoir trains faster (100 units: seconds on the example)."
            ),
            grid,
            widgets["training_models"],
            self._preset_note,
            self._config_error,
            pn.Row(self._train, workers_input(self.state.tasks), self._why),
            css="canapy-config",
        )

        self._runs = table(
            "canapy-runs",
            self._runs_frame(),  # typed columns from the start: numbers keep their decimals
            selectable=1,
            height=72,
            layout="fit_columns",  # within the page, however many columns
        )
        self._runs.param.watch(self._on_run_selected, ["selection"])
        refresh = button("Refresh", "canapy-runs-refresh", width=90)
        refresh.on_click(lambda _: state.refresh_runs())
        self._active = pn.pane.Markdown("", css_classes=["canapy-active-run"], margin=(0, 10))
        self._next = pn.pane.Alert(
            "Training done: the **Evaluate** tab shows its scores, confusions and errors.",
            alert_type="success",
            visible=False,
            css_classes=["canapy-train-next"],
            margin=(0, 10),
        )
        to_evaluate = button("Go to Evaluate →", "canapy-go-evaluate", button_type="success")
        to_evaluate.on_click(lambda _: setattr(state, "requested_tab", "Evaluate"))
        self._next_row = pn.Row(self._next, to_evaluate, visible=False)
        self._preset_note = pn.pane.Markdown("", css_classes=["canapy-preset-note"], margin=(0, 10))
        state.form.param.watch(
            lambda e: setattr(self._preset_note, "object", e.new), ["preset_note"]
        )

        self._panel = pn.Column(
            pn.Row(
                pn.Column(
                    "### Data",
                    self._summary,
                    self._label_table,
                    self._warnings,
                    width=470,
                ),
                pn.Column("### Labels", self._charts, sizing_mode="stretch_width"),
                sizing_mode="stretch_width",
            ),
            config,
            pn.Row("### Trained models", refresh, self._active),
            GranularityPanel(state=state),
            self._next_row,
            pn.pane.Markdown(
                "Click a run to make it the active one (the Evaluate tab shows it). "
                "Scores are the default model's, on held-out files."
            ),
            self._runs,
            RegisterPanel(state=state),
            sizing_mode="stretch_width",
            css_classes=["canapy-train-tab"],
        )
        state.param.watch(
            self._show_corpus, ["corpus", "corpus_error", "corpus_warnings", "audio_seconds"]
        )
        state.param.watch(self._show_runs, ["runs", "active_run"])
        state.param.watch(self._update_train_button, ["corpus"])
        state.tasks.param.watch(self._update_train_button, ["busy"])
        state.form.param.watch(self._update_train_button, ["config", "error"])
        self._show_corpus()
        self._show_runs()
        self._update_train_button()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._panel

    # -- data -----------------------------------------------------------------------------
    def _show_corpus(self, *_: Any) -> None:
        state, corpus = self.state, self.state.corpus
        if corpus is None:
            self._summary.object = (
                f"**Cannot open the data:** {state.corpus_error}"
                if state.corpus_error
                else f"Loading `{state.data_dir}`..."
                if state.data_dir
                else "No data folder."
            )
            self._charts.object = None
            self._warnings.objects = []
            return
        summary = corpus.summary()
        seg = corpus.segments
        annotated_s = float((seg["offset_s"] - seg["onset_s"]).sum())
        self._summary.object = (
            f"`{state.data_dir}`  \n"
            f"**{len(corpus.audio_paths)} audio files** ({len(corpus.annotated)} annotated, "
            f"{len(corpus.unannotated_paths)} without annotation), "
            f"**{len(seg)} segments**, **{len(summary)} labels**.  \n"
            f"Audio: {_duration(state.audio_seconds)}; annotated syllables: "
            f"{_duration(annotated_s)}."
        )
        table = (
            summary.reset_index()
            .rename(
                columns={
                    "total_duration_s": "total_s",
                    "mean_duration_s": "mean_s",
                    "min_duration_s": "min_s",
                }
            )
            .round(3)
        )
        self._label_table.height = 42 + 30 * max(1, min(len(table), 14))  # every label
        self._label_table.value = table
        self._charts.object = label_bars(summary, state.label_colors) if len(summary) else None
        warnings = state.corpus_warnings
        if warnings:
            shown = warnings[:20]
            more = f"\n\n...and {len(warnings) - 20} more." if len(warnings) > 20 else ""
            self._warnings.objects = [
                pn.pane.Alert(
                    f"**{len(warnings)} problem(s) found in the data:**\n\n"
                    + "\n".join(f"- {w}" for w in shown)
                    + more,
                    alert_type="warning",
                    sizing_mode="stretch_width",
                )
            ]
        else:
            self._warnings.objects = [
                pn.pane.Alert(
                    "No problem found in the data.",
                    alert_type="success",
                    sizing_mode="stretch_width",
                )
            ]

    # -- training ----------------------------------------------------------------------------
    def _update_train_button(self, *_: Any) -> None:
        state, form = self.state, self.state.form
        self._config_error.object = form.error
        self._config_error.visible = bool(form.error)
        self._train.disabled = not state.can_train
        if form.config is None:
            self._why.object = "Fix the configuration to train."
        elif state.corpus is None:
            self._why.object = "No annotated data loaded."
        elif state.tasks.busy:
            self._why.object = f"Busy: {state.tasks.task}."
        else:
            n = len(state.corpus.annotated)
            self._why.object = f"Trains {', '.join(form.config.training.models)} on {n} files."

    def _on_train(self, _: Any) -> None:
        self._next_row.visible = False
        self.state.tasks.run_action(self._start_training)

    def _start_training(self) -> Any:
        return self.state.train(on_done=self._trained)

    def _trained(self, _result: Any = None) -> None:
        """Lead from a finished training to its evaluation."""
        self._next.visible = self._next_row.visible = True

    # -- runs ----------------------------------------------------------------------------------
    def _runs_frame(self) -> pd.DataFrame:
        runs = self.state.runs
        shown = runs.copy() if runs is not None else pd.DataFrame(columns=_RUN_SHOWN)
        shown["created"] = pd.to_datetime(shown["created"]).dt.strftime("%Y-%m-%d %H:%M:%S")
        for col in ("frame_accuracy", "syllable_error_rate", "onset_f1", "train_seconds"):
            shown[col] = pd.to_numeric(shown[col]).astype(float).round(4)
        return shown[_RUN_SHOWN]

    def _show_runs(self, *_: Any) -> None:
        runs = self.state.runs
        if runs is None:
            return
        self._runs.value = self._runs_frame()
        self._runs.height = 42 + 30 * max(1, min(len(runs), 8))
        active = self.state.active_run
        idx = [i for i, p in enumerate(runs["path"]) if p == active]
        if self._runs.selection != idx:
            self._runs.selection = idx
        self._active.object = f"Active: **{runs['run'].iloc[idx[0]]}**" if idx else "No active run."

    def _on_run_selected(self, event: param.parameterized.Event) -> None:
        runs = self.state.runs
        if not event.new or runs is None or event.new[0] >= len(runs):
            return
        path = runs["path"].iloc[event.new[0]]
        if path == self.state.active_run:
            return
        self.state.tasks.run_action(self.state.select_run, path)
