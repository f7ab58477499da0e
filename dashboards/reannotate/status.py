"""Undo/redo, what is being edited, and the feedback of the last action."""

from __future__ import annotations

from typing import Any

import panel as pn
import param

from ..state import AppState
from ..widgets import alert, button

__all__ = ["EditStatusPanel"]


class EditStatusPanel(pn.viewable.Viewer):
    """Undo and Redo buttons, the edited version and its unsaved changes, the feedback."""

    state = param.ClassSelector(class_=AppState)

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        state = self.state
        self._line = pn.pane.Markdown("", css_classes=["canapy-edit-state"], margin=(0, 10))
        self._undo = button("↶ Undo", "canapy-undo", width=110)
        self._redo = button("↷ Redo", "canapy-redo", width=110)
        self._undo.on_click(lambda _: state.tasks.run_action(state.correction.undo, inline=True))
        self._redo.on_click(lambda _: state.tasks.run_action(state.correction.redo, inline=True))
        self._feedback = alert("canapy-re-feedback", "info", margin=(0, 10))
        self._panel = pn.Column(
            pn.Row(self._undo, self._redo, self._line, sizing_mode="stretch_width"),
            self._feedback,
            sizing_mode="stretch_width",
        )
        state.correction.param.watch(self._show, ["working", "history_info", "base_version"])
        state.tasks.param.watch(self._show_feedback, ["message", "message_kind"])
        self._show()
        self._show_feedback()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._panel

    def _show(self, *_: Any) -> None:
        correction = self.state.correction
        info = correction.history_info or {}
        self._undo.disabled = not info.get("undo")
        self._redo.disabled = not info.get("redo")
        self._undo.description = f"Undo: {info.get('undo')}" if info.get("undo") else None
        self._redo.description = f"Redo: {info.get('redo')}" if info.get("redo") else None
        if correction.working is None:
            self._line.object = "*No annotations loaded.*"
            return
        base = (
            f"version **{correction.base_version}**"
            if correction.base_version is not None
            else "the **original annotation files** (no saved version yet)"
        )
        n = info.get("n_changes", 0)
        last = f" Last edit: *{info['undo']}*." if info.get("undo") else ""
        size = len(correction.working)
        self._line.object = f"Editing {base}: **{size} segments**, **{n} unsaved change(s)**.{last}"

    def _show_feedback(self, *_: Any) -> None:
        tasks = self.state.tasks
        self._feedback.param.update(
            object=tasks.message, alert_type=tasks.message_kind, visible=bool(tasks.message)
        )
