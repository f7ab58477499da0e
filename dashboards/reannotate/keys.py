"""Keyboard shortcuts of the Re-annotate tab."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import panel as pn
import param
from panel.reactive import ReactiveHTML

from ..state import AppState

__all__ = ["SHORTCUTS", "KeyShortcuts", "KeysPanel"]

SHORTCUTS: dict[str, str] = {
    "a": "accept the suggestion",
    "k": "keep the original label",
    "j": "next suspect",
    "n": "next suspect",
    "p": "previous suspect",
    "u": "undo",
    "r": "redo",
    " ": "play the selected segment",
}
"""Keys of the Re-annotate tab and what they do."""


class KeyShortcuts(ReactiveHTML):
    """Forwards single-key presses on the page to Python (:attr:`pressed`).

    Keys typed in a text box, with a modifier, or while the element is hidden (another
    tab shown) are ignored. :attr:`pressed` is ``"<key>|<timestamp>"`` so that pressing
    the same key twice is two changes.
    """

    keys = param.List(default=list(SHORTCUTS))
    pressed = param.String(default="")
    text = param.String(default="")

    _child_config: ClassVar[dict[str, str]] = {"text": "literal"}
    _template = '<div id="keys" class="canapy-keys-help">${text}</div>'

    _scripts: ClassVar[dict[str, str]] = {
        "render": """
          if (state.handler) document.removeEventListener('keydown', state.handler);
          state.handler = (e) => {
            if (e.ctrlKey || e.metaKey || e.altKey || e.repeat) return;
            const t = e.composedPath ? e.composedPath()[0] : e.target;
            const tag = ((t && t.tagName) || '').toUpperCase();
            if (tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT') return;
            if (t && t.isContentEditable) return;
            if (!keys.getClientRects().length) return;
            if (!data.keys.includes(e.key)) return;
            e.preventDefault();
            data.pressed = e.key + '|' + Date.now();
          };
          document.addEventListener('keydown', state.handler);
        """,
        "remove": "document.removeEventListener('keydown', state.handler);",
    }


class KeysPanel(pn.viewable.Viewer):
    """The shortcut help line; each key calls the state (space asks the editor to play)."""

    state = param.ClassSelector(class_=AppState)

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        help_text = " · ".join(
            f"<kbd>{'space' if k == ' ' else k}</kbd> {v}" for k, v in SHORTCUTS.items() if k != "n"
        )
        self._keys = KeyShortcuts(
            text=f"<b>Keys</b> (outside text boxes): {help_text}",
            css_classes=["canapy-keys"],
            sizing_mode="stretch_width",
            margin=(0, 10),
        )
        self._keys.param.watch(self._on_key, ["pressed"])

    def __panel__(self) -> pn.viewable.Viewable:
        return self._keys

    def _play(self) -> None:
        self.state.correction.play_requests += 1

    def _on_key(self, event: param.parameterized.Event) -> None:
        key = event.new.rsplit("|", 1)[0]
        review, correction = self.state.review, self.state.correction
        actions: dict[str, Callable[[], Any]] = {
            "a": review.accept_suggestion,
            "k": review.keep_original,
            "j": lambda: review.next_suspect(1),
            "n": lambda: review.next_suspect(1),
            "p": lambda: review.next_suspect(-1),
            "u": correction.undo,
            "r": correction.redo,
            " ": self._play,
        }
        if key in actions:
            self.state.tasks.run_action(actions[key], inline=True)
