"""Recordings without annotation: annotate them with the active model, proofread, promote."""

from __future__ import annotations

from typing import Any

import pandas as pd
import panel as pn
import param

from ..state import AppState
from ..widgets import button, card, table, workers_input

__all__ = ["UnlabelledPanel"]


class UnlabelledPanel(pn.viewable.Viewer):
    """Least certain predictions first; a click shows one; *Promote* makes it editable."""

    state = param.ClassSelector(class_=AppState)

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        state = self.state
        act = state.tasks.run_action
        self._annotate = button(
            "Annotate unlabelled recordings",
            "canapy-annotate-unlabelled",
            button_type="primary",
            width=240,
        )
        self._annotate.on_click(lambda _: act(state.annotate_unlabelled, inline=True))
        self._table = table(
            "canapy-unlabelled",
            height=160,
            selectable=1,
            hidden_columns=["audio_path"],
            visible=False,
            layout="fit_data_table",
        )
        self._table.param.watch(self._on_row, ["selection"])
        promote = button("Promote to training set", "canapy-promote", width=190)
        promote.on_click(
            lambda _: act(
                state.review.promote,
                ok=lambda n: (
                    f"{n} segments added to the working table: proofread them, then save a version."
                ),
                inline=True,
            )
        )
        self._card = card(
            "Unlabelled recordings",
            pn.pane.Markdown(
                "The active model annotates the recordings without annotation, least "
                "certain first. Click one to see its prediction; *Promote* copies it into the "
                "working table, where it can be edited like any other.",
                margin=(0, 5),
            ),
            pn.Row(self._annotate, promote, workers_input(state.tasks)),
            self._table,
            css="canapy-unlabelled-card",
            margin=(5, 5),
        )
        state.review.param.watch(self._show, ["unlabelled"])
        state.tasks.param.watch(self._show_busy, ["busy"])
        state.param.watch(self._show_busy, ["annotators"])
        self._show_busy()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._card

    def _show_busy(self, *_: Any) -> None:
        self._annotate.disabled = self.state.tasks.busy or not self.state.annotators

    def _show(self, *_: Any) -> None:
        ranked = self.state.review.unlabelled
        if ranked is None:
            self._table.param.update(value=pd.DataFrame(), visible=False)
            return
        self._table.param.update(value=ranked.round({"mean_confidence": 3}), visible=True)

    def _on_row(self, event: param.parameterized.Event) -> None:
        frame = self._table.value
        if event.new and event.new[0] < len(frame):
            path = frame["audio_path"].iloc[event.new[0]]
            self.state.correction.param.update(review_path=path, review_window=None)
