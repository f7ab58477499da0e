"""The active run's annotation granularity, in the Train tab (one line and a warning)."""

from __future__ import annotations

from typing import Any

import panel as pn
import param

from .state import AppState
from .widgets import alert

__all__ = ["GranularityPanel"]


class GranularityPanel(pn.viewable.Viewer):
    """What training inferred about the labels (syllables or phrases) for the active run.

    Shows :func:`canapy.granularity.describe_granularity` of the run's report, and its
    warning (mixed or uncertain granularity) in a warning box; the config form's
    *Granularity* field forces one when the inference is wrong.
    """

    state = param.ClassSelector(class_=AppState)

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._line = pn.pane.Markdown(
            "", css_classes=["canapy-granularity"], margin=(0, 10), sizing_mode="stretch_width"
        )
        self._warning = alert("canapy-granularity-warning", "warning", margin=(0, 10))
        self._panel = pn.Column(self._line, self._warning, sizing_mode="stretch_width")
        self.state.param.watch(self._show, ["granularity", "active_run"])
        self._show()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._panel

    def _show(self, *_: Any) -> None:
        from canapy.granularity import describe_granularity

        report = self.state.granularity
        line = describe_granularity(report)
        self._line.object = f"**Annotation granularity of the active run:** {line}" if line else ""
        warning = (report or {}).get("warning")
        self._warning.param.update(
            object=f"{warning} — set *Granularity* in the configuration to force it."
            if warning
            else "",
            visible=bool(warning),
        )
