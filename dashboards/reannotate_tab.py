"""Re-annotate tab (first version): browse the recordings and their annotations.

The correction workflow is a later issue. It will replace :class:`ReannotateTab` in
:data:`canapy.dashboards.app.TABS` with a component of the same shape: a
``pn.viewable.Viewer`` built as ``Component(state=app_state)`` that reads and changes the
session's :class:`~canapy.dashboards.state.AppState` only.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import panel as pn
import param

from .state import AppState
from .viewer import SpectrogramViewer

__all__ = ["ReannotateTab", "files_table"]


def files_table(corpus: Any) -> pd.DataFrame:
    """One row per audio file of a corpus: name, annotated?, segments, labels used.

    Examples
    --------
    >>> files_table(None).columns.tolist()
    ['file', 'annotated', 'segments', 'labels', 'audio_path']
    """
    columns = ["file", "annotated", "segments", "labels", "audio_path"]
    if corpus is None:
        return pd.DataFrame(columns=columns)
    seg = corpus.segments
    counts = seg.groupby("audio_path").size()
    labels = seg.groupby("audio_path")["label"].agg(lambda s: " ".join(sorted(set(s))))
    annotated = set(corpus.annotated)
    rows = [
        {
            "file": p.name,
            "annotated": p in annotated,
            "segments": int(counts.get(str(p), 0)),
            "labels": labels.get(str(p), ""),
            "audio_path": str(p),
        }
        for p in corpus.audio_paths
    ]
    return pd.DataFrame(rows, columns=columns)


class ReannotateTab(pn.viewable.Viewer):
    """The recordings of the corpus; the selected one in the viewer with its reference."""

    state = param.ClassSelector(class_=AppState)

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._files = pn.widgets.Tabulator(
            files_table(None),
            show_index=False,
            disabled=True,
            selectable=1,
            height=520,
            width=380,
            hidden_columns=["audio_path"],
            css_classes=["canapy-review-files"],
            layout="fit_data_table",
        )
        self._files.param.watch(self._on_row, ["selection"])
        self.viewer = SpectrogramViewer()
        self._panel = pn.Column(
            pn.pane.Markdown(
                "Recordings of the data set with their reference annotation. Correcting "
                "annotations comes in a later version."
            ),
            pn.Row(self._files, self.viewer, sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
            css_classes=["canapy-reannotate-tab"],
        )
        self.state.param.watch(self._show_files, ["corpus"])
        self.state.param.watch(self._show_file, ["review_path"])
        self._show_files()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._panel

    def _show_files(self, *_: Any) -> None:
        self._files.value = files_table(self.state.corpus)
        self._show_file()

    def _show_file(self, *_: Any) -> None:
        path = self.state.review_path
        table = self._files.value
        idx = [i for i, p in enumerate(table["audio_path"]) if p == path]
        if self._files.selection != idx:
            self._files.selection = idx
        if path is None:
            self.viewer.path = None
            return
        self.viewer.param.update(path=path, tracks={"reference": self.state.reference(path)})

    def _on_row(self, event: param.parameterized.Event) -> None:
        table = self._files.value
        if event.new and event.new[0] < len(table):
            path = table["audio_path"].iloc[event.new[0]]
            if path != self.state.review_path:
                self.state.review_path = path
