"""Re-annotate tab: the correction loop — suspects, edits, classes, versions, retraining.

The tab only lays out the components of :mod:`canapy.dashboards.reannotate`, each a
:class:`panel.viewable.Viewer` over the session's state; every action is a call on
``state.correction`` / ``state.review`` / ``AppState``, which call the core
(:mod:`canapy.review`, :mod:`canapy.edits`, :mod:`canapy.store`, :mod:`canapy.workflow`).

Keyboard shortcuts (when the tab is shown and no text box has the focus): ``a`` accept the
suggestion, ``k`` keep the original label, ``j``/``n`` next suspect, ``p`` previous one,
``u`` undo, ``r`` redo, ``space`` play the selected segment.
"""

from __future__ import annotations

from typing import Any

import panel as pn
import param

from .reannotate import (
    SHORTCUTS,
    ClassEditsPanel,
    EditorPanel,
    EditStatusPanel,
    KeyShortcuts,
    KeysPanel,
    RecordingsPanel,
    RetrainPanel,
    SuspectsPanel,
    SyllableMapPanel,
    UnlabelledPanel,
    VersionsPanel,
    files_table,
)
from .state import AppState

__all__ = ["SHORTCUTS", "KeyShortcuts", "ReannotateTab", "files_table"]


class ReannotateTab(pn.viewable.Viewer):
    """Find suspicious labels, fix them, keep versions, retrain (see the module doc)."""

    state = param.ClassSelector(class_=AppState)

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        state = self.state
        self.keys = KeysPanel(state=state)
        self.status = EditStatusPanel(state=state)
        self.suspects = SuspectsPanel(state=state)
        self.recordings = RecordingsPanel(state=state)
        self.editor = EditorPanel(state=state)
        self.classes = ClassEditsPanel(state=state)
        self.unlabelled = UnlabelledPanel(state=state)
        self.versions = VersionsPanel(state=state)
        self.retrain = RetrainPanel(state=state)
        self.map = SyllableMapPanel(state=state)
        self._panel = pn.Column(
            self.keys,
            self.status,
            self.editor.viewer,
            pn.Row(
                pn.Column(self.suspects, width=600),
                self.editor,
                sizing_mode="stretch_width",
            ),
            pn.Row(self.map, sizing_mode="stretch_width"),
            pn.Row(
                pn.Column(self.recordings, width=680),  # file names and 13 labels fit
                pn.Column(self.classes, self.unlabelled, sizing_mode="stretch_width"),
                sizing_mode="stretch_width",
            ),
            pn.Row(self.versions, self.retrain, sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
            css_classes=["canapy-reannotate-tab"],
        )

    @property
    def viewer(self) -> Any:
        """The spectrogram viewer of the recording shown."""
        return self.editor.viewer

    def __panel__(self) -> pn.viewable.Viewable:
        return self._panel
