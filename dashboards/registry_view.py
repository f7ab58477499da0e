"""The model registry on screen: register and promote (Train tab), compare (Evaluate tab).

Both components only display :class:`~canapy.dashboards.state.RegistryState`
(``state.registry``) and call its methods; :func:`f1_bars` is the pure plot builder of
the comparison.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import holoviews as hv
import pandas as pd
import panel as pn
import param

from canapy.exceptions import CanapyError

from .colors import label_colors
from .state import AppState, heldout_paths, source_options
from .widgets import alert, button, card, fit_table, table, table_height, typed

__all__ = ["ComparePanel", "RegisterPanel", "f1_bars"]

_SUMMARY = {
    "model": "model",
    "syllable_error_rate": "SER",
    "frame_accuracy": "frame accuracy",
    "onset_f1": "onset F1",
    "offset_f1": "offset F1",
}


def f1_bars(f1: pd.DataFrame, colors: Mapping[str, str] | None = None) -> hv.Bars:
    """Grouped bars of per-class F1: one group per label, one bar per model.

    A bar has its label's colour (the app's shared colours); the models of a group are
    told apart by their order, their name under the bar and a lighter shade.

    Parameters
    ----------
    f1 : DataFrame
        ``ModelComparison.f1_table()``: index the labels, one column per model.
    colors : mapping, optional
        Label → colour (default :func:`canapy.dashboards.colors.label_colors`).

    Examples
    --------
    >>> f1 = pd.DataFrame({"m@1": [0.9, 0.5], "m@2": [0.8, None]}, index=["a", "b"])
    >>> bars = f1_bars(f1)
    >>> len(bars.data), sorted(bars.data["model"].unique())
    (3, ['m@1', 'm@2'])
    """
    hv.renderer("bokeh")  # registers the Bokeh backend whose options follow (no side effect)
    colors = dict(colors or label_colors([str(x) for x in f1.index]))
    models = [str(c) for c in f1.columns]
    long = (
        f1.rename_axis("label")
        .reset_index()
        .melt(id_vars="label", var_name="model", value_name="f1")
        .dropna(subset=["f1"])
    )
    long["label"] = long["label"].astype(str)
    long["model"] = long["model"].astype(str)
    long["color"] = [colors.get(lab, "#999999") for lab in long["label"]]
    shade = {m: 1.0 - 0.55 * k / max(1, len(models) - 1) for k, m in enumerate(models)}
    long["alpha"] = long["model"].map(shade)
    return hv.Bars(
        long,
        kdims=[hv.Dimension("label", label="Label"), hv.Dimension("model", label="Model")],
        vdims=[hv.Dimension("f1", label="F1 (frames)", range=(0, 1)), "color", "alpha"],
    ).opts(
        color="color",
        alpha="alpha",
        line_color="#333333",
        height=280,
        responsive=True,
        xrotation=90,
        title="Per-class F1 (frames), one bar per model",
        tools=["hover"],
        default_tools=[],
        toolbar=None,
    )


class RegisterPanel(pn.viewable.Viewer):
    """Register a run's model as a new version, promote a version, list the registry."""

    state = param.ClassSelector(class_=AppState)

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        state, registry = self.state, self.state.registry
        self._where = pn.pane.Markdown(
            f"Registry: `{registry.root}` (the one `canapy models` and `canapy serve` use)",
            margin=(0, 10),
        )
        self._run = pn.widgets.Select(name="Run", css_classes=["canapy-register-run"], width=230)
        self._kind = pn.widgets.Select(
            name="Model", css_classes=["canapy-register-kind"], width=150
        )
        self._name = pn.widgets.TextInput(
            name="Name", placeholder="e.g. bird42/ensemble", css_classes=["canapy-register-name"]
        )
        self._name.param.watch(self._on_name, ["value_input", "value"])
        self._message = pn.widgets.TextInput(
            name="Note (optional)", css_classes=["canapy-register-message"]
        )
        self._promote_new = pn.widgets.Checkbox(
            name="promote it (the default version)", css_classes=["canapy-register-promote"]
        )
        self._register = button(
            "Register", "canapy-register-button", button_type="primary", width=110
        )
        self._register.on_click(self._on_register)
        self._name_error = alert("canapy-register-name-error", margin=(0, 10))
        self._done = alert("canapy-register-done", "success", margin=(0, 10))
        self._versions = table("canapy-registry-versions", selectable=1, height=72)
        self._promote = button("Promote selected", "canapy-registry-promote", width=150)
        self._promote.on_click(self._on_promote)
        refresh = button("Refresh", "canapy-registry-refresh", width=90)
        refresh.on_click(lambda _: registry.refresh())
        self._panel = card(
            "Model registry",
            self._where,
            pn.Row(self._run, self._kind, self._name, self._message),
            pn.Row(self._promote_new, self._register),
            self._name_error,
            self._done,
            pn.Row(pn.pane.Markdown("#### Registered versions"), self._promote, refresh),
            self._versions,
            css="canapy-registry",
        )
        self._run.param.watch(self._show_kinds, ["value"])
        state.param.watch(self._show_runs, ["runs", "active_run"])
        registry.param.watch(self._show_versions, ["versions"])
        registry.param.watch(self._show_name, ["name_error", "last_registered"])
        state.tasks.param.watch(self._show_name, ["busy"])
        self._show_runs()
        self._show_versions()
        self._show_name()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._panel

    def _show_runs(self, *_: Any) -> None:
        runs = self.state.runs
        options = {} if runs is None else dict(zip(runs["run"], runs["path"], strict=True))
        self._run.options = options
        active = self.state.active_run
        if active in options.values():
            self._run.value = active
        elif self._run.value not in options.values():
            self._run.value = next(iter(options.values()), None)
        self._show_kinds()

    def _show_kinds(self, *_: Any) -> None:
        runs, path = self.state.runs, self._run.value
        row = runs[runs["path"] == path] if runs is not None and path else pd.DataFrame()
        if row.empty:
            self._kind.options = []
            return
        default = str(row["default_model"].iloc[0])
        kinds = [k.strip() for k in str(row["models"].iloc[0]).split(",") if k.strip()]
        self._kind.options = [default] + [k for k in kinds if k != default]
        self._kind.value = default

    def _on_name(self, *_: Any) -> None:
        self.state.registry.model_name = typed(self._name)

    def _show_name(self, *_: Any) -> None:
        registry = self.state.registry
        self._name_error.param.update(object=registry.name_error, visible=bool(registry.name_error))
        self._register.disabled = not (registry.can_register and self._run.value)
        ref = registry.last_registered
        self._done.param.update(object=f"Registered **{ref}**." if ref else "", visible=bool(ref))

    def _on_register(self, _: Any) -> None:
        self._done.visible = False
        self.state.registry.model_name = typed(self._name)
        self.state.tasks.run_action(
            self.state.registry.register,
            self._run.value,
            self._kind.value,
            self._promote_new.value,
            typed(self._message),
        )

    def _show_versions(self, *_: Any) -> None:
        shown = self.state.registry.versions.drop(columns=["ref"])
        shown["heldout_ser"] = shown["heldout_ser"].astype(float).round(4)
        shown["promoted"] = shown["promoted"].map({True: "yes", False: ""})
        fit_table(self._versions, shown.rename(columns={"heldout_ser": "held-out SER"}), 8)

    def _on_promote(self, _: Any) -> None:
        versions, chosen = self.state.registry.versions, self._versions.selection
        if not chosen or chosen[0] >= len(versions):
            self.state.tasks.error = "select a version in the table, then click Promote"
            return
        ref = str(versions["ref"].iloc[chosen[0]])
        self.state.tasks.run_action(self.state.registry.promote, ref)
        self._done.param.update(object=f"Promoted **{ref}**.", visible=True)


class ComparePanel(pn.viewable.Viewer):
    """Score two or more registered versions (or runs) on the same labelled files."""

    state = param.ClassSelector(class_=AppState)

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        state = self.state
        self._sources = pn.widgets.MultiChoice(
            name="Versions or runs to compare",
            css_classes=["canapy-compare-sources"],
            sizing_mode="stretch_width",
        )
        self._files = pn.widgets.RadioBoxGroup(
            name="Files", css_classes=["canapy-compare-files"], inline=True
        )
        self._folder = pn.widgets.TextInput(
            name="Folder of annotated recordings",
            css_classes=["canapy-compare-folder"],
            visible=False,
            sizing_mode="stretch_width",
        )
        self._auto, self._picked = False, False  # a programmatic choice; the user picked one
        self._files.param.watch(self._on_files, ["value"])
        self._go = button("Compare", "canapy-compare-button", button_type="primary", width=120)
        self._go.on_click(self._on_compare)
        self._results = pn.Column(sizing_mode="stretch_width")
        self._panel = card(
            "Compare registered versions",
            pn.pane.Markdown(
                "Scores every chosen model on the same annotated files, as `canapy models "
                "compare` does. A run's saved models were retrained on all of its files: "
                "scored on that run's held-out files they look better than they are. For a "
                "fair comparison use recordings none of the models was trained on.",
                css_classes=["canapy-compare-intro"],
            ),
            self._sources,
            pn.Row(self._files, self._go),
            self._folder,
            self._results,
            css="canapy-compare",
        )
        state.registry.param.watch(self._show_sources, ["versions"])
        state.registry.param.watch(self._show_result, ["compared"])
        state.param.watch(self._show_sources, ["runs"])
        state.param.watch(self._show_files, ["active_run", "corpus"])
        self._show_sources()
        self._show_files()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._panel

    def _show_sources(self, *_: Any) -> None:
        options = source_options(self.state.registry.versions, self.state.runs)
        self._sources.options = options
        self._sources.value = [v for v in self._sources.value if v in options.values()]

    def _heldout(self) -> tuple[Path, ...]:
        try:
            return heldout_paths(self.state.active_run, self.state.corpus)
        except CanapyError:  # a damaged run folder: offer the other choices
            return ()

    def _show_files(self, *_: Any) -> None:
        corpus = self.state.corpus
        n_data = len(corpus.annotated) if corpus is not None else 0
        labels = {
            f"held-out files of the active run ({len(self._heldout())})": "heldout",
            f"every annotated file of the data folder ({n_data})": "data",
            "another folder": "folder",
        }
        self._files.options = labels
        held = bool(self._heldout())
        if self._files.value != "folder" or not self._picked:  # a folder typed stays chosen
            self._auto = True
            self._files.value = "heldout" if held else "data"
            self._auto = False

    def _on_files(self, *_: Any) -> None:
        self._picked = self._picked or not self._auto
        self._folder.visible = self._files.value == "folder"

    def _on_compare(self, _: Any) -> None:
        state, choice = self.state, self._files.value
        kwargs: dict[str, Any] = {"cache_dir": state.cache_dir, "annot_format": state.annot_format}
        if choice == "folder":
            kwargs["folder"] = typed(self._folder) or None
            if kwargs["folder"] is None:
                state.tasks.error = "type the folder of annotated recordings to score on"
                return
        else:
            kwargs["corpus"] = state.corpus
            if choice == "heldout":
                kwargs["paths"] = list(self._heldout())
        compare = functools.partial(state.registry.compare, list(self._sources.value), **kwargs)
        state.tasks.run_action(compare)

    def _show_result(self, *_: Any) -> None:
        """New tables each time: a Tabulator first drawn hidden keeps its first height."""
        compared = self.state.registry.compared
        if compared is None:
            self._results.objects = []
            return
        summary = compared.summary()[list(_SUMMARY)].rename(columns=_SUMMARY).round(4)
        per_class = compared.per_class()
        f1, f1_shown = per_class.set_index("label"), per_class.round(3)
        chart = pn.pane.HoloViews(
            f1_bars(f1, self.state.label_colors) if len(f1) else None,
            linked_axes=False,
            sizing_mode="stretch_width",
            css_classes=["canapy-compare-chart"],
        )
        self._results.objects = [
            pn.pane.Markdown(
                f"Scored on {compared.description}.",
                css_classes=["canapy-compare-about"],
                margin=(0, 10),
            ),
            table("canapy-compare-summary", summary, height=table_height(summary, 8)),
            pn.Row(
                pn.Column(
                    "#### Per-class F1 (frames)",
                    table("canapy-compare-f1", f1_shown, height=table_height(f1_shown, 14)),
                    width=420,
                ),
                chart,
                sizing_mode="stretch_width",
            ),
        ]
