"""Class-level edits of the whole corpus: merge labels, rename one, delete one."""

from __future__ import annotations

from typing import Any

import panel as pn
import param

from canapy.exceptions import CanapyError

from ..state import CLASS_OPERATIONS, TRASH_LABEL, AppState
from ..widgets import button, card, typed
from .editor import known_labels

__all__ = ["ClassEditsPanel"]


class ClassEditsPanel(pn.viewable.Viewer):
    """Choose an operation and labels; see how many segments change; apply (undoable)."""

    state = param.ClassSelector(class_=AppState)

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._op = pn.widgets.RadioButtonGroup(
            options=list(CLASS_OPERATIONS),
            value="merge",
            button_type="primary",
            button_style="outline",
            css_classes=["canapy-class-op"],
        )
        self._labels = pn.widgets.MultiChoice(
            name="Labels", options=[], width=260, css_classes=["canapy-class-labels"]
        )
        self._into = pn.widgets.TextInput(
            name="Into / new name",
            width=150,
            css_classes=["canapy-class-into"],
            placeholder=f"e.g. {TRASH_LABEL}",
        )
        self._preview = pn.pane.Markdown("", css_classes=["canapy-class-preview"])
        self._apply = button(
            "Apply", "canapy-class-apply", button_type="primary", width=120, disabled=True
        )
        self._apply.on_click(self._on_apply)
        for w, names in (
            (self._op, ["value"]),
            (self._labels, ["value"]),
            (self._into, ["value_input", "value"]),
        ):
            w.param.watch(lambda *_: self._update_preview(), names)
        self._card = card(
            "Classes (whole corpus)",
            pn.pane.Markdown(
                "Merge labels into one, rename one, or delete every segment of one "
                f"(`canapy.edits`). `{TRASH_LABEL}` is there for noise and calls that are "
                "not syllables. The number of segments that will change is shown first.",
                margin=(0, 5),
            ),
            self._op,
            pn.Row(self._labels, self._into),
            pn.Row(self._apply, self._preview),
            css="canapy-classes-card",
            margin=(5, 5),
        )
        self.state.correction.param.watch(self._show_labels, ["working"])
        self._show_labels()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._card

    def _show_labels(self, *_: Any) -> None:
        self._labels.options = known_labels(self.state.correction.working)
        self._update_preview()

    def _args(self) -> tuple[str, list[str], str]:
        return self._op.value, list(self._labels.value), typed(self._into)

    def _update_preview(self) -> None:
        op, labels, into = self._args()
        self._into.disabled = op == "delete"
        if not labels or (op != "delete" and not into):
            self._preview.object = "*Choose the label(s)" + (
                " and the new name.*" if op != "delete" else ".*"
            )
            self._apply.disabled = True
            return
        try:
            n = self.state.correction.preview_class_edit(op, labels, into)
        except CanapyError as exc:
            self._preview.object = f"⚠ {exc}"
            self._apply.disabled = True
            return
        self._preview.object = f"**{n} segment(s) will change.**"
        self._apply.disabled = n == 0

    def _on_apply(self, _: Any) -> None:
        op, labels, into = self._args()
        self.state.tasks.run_action(
            self.state.correction.apply_class_edit,
            op,
            labels,
            into,
            ok=lambda n: f"{op}: {n} segment(s) changed (Undo reverts it).",
            inline=True,
        )
        self._labels.value = []
