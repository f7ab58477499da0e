"""Retrain on the corrected annotations and compare with the active run."""

from __future__ import annotations

from typing import Any

import panel as pn
import param

from ..state import AppState
from ..widgets import button, card, table

__all__ = ["RetrainPanel"]


class RetrainPanel(pn.viewable.Viewer):
    """*Retrain with corrections* and the before/after held-out table."""

    state = param.ClassSelector(class_=AppState)

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        state = self.state
        self._retrain = button(
            "Retrain with corrections", "canapy-retrain", button_type="primary", width=210
        )
        self._retrain.on_click(lambda _: state.tasks.run_action(state.retrain, inline=True))
        self._info = pn.pane.Markdown(
            "Trains the Train tab's configuration on the corrected annotations into a new "
            "run, and compares its held-out scores with the active run's.",
            css_classes=["canapy-retrain-info"],
            margin=(0, 5),
        )
        self._comparison = table(
            "canapy-comparison", height=190, visible=False, layout="fit_data_table"
        )
        self._card = card(
            "Retrain with corrections",
            self._retrain,
            self._info,
            self._comparison,
            css="canapy-retrain-card",
            width=520,
            sizing_mode="fixed",
            margin=(5, 5),
        )
        state.correction.param.watch(self._show, ["retrain_comparison", "retrain_label"])
        state.tasks.param.watch(self._show_busy, ["busy"])
        self._show_busy()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._card

    def _show_busy(self, *_: Any) -> None:
        self._retrain.disabled = self.state.tasks.busy

    def _show(self, *_: Any) -> None:
        correction = self.state.correction
        if correction.retrain_comparison is None:
            return
        self._comparison.param.update(value=correction.retrain_comparison, visible=True)
        self._info.object = correction.retrain_label
