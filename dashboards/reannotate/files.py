"""The recordings of the corpus: pick the one to show and edit."""

from __future__ import annotations

from typing import Any

import pandas as pd
import panel as pn
import param

from ..state import AppState
from ..widgets import card, table

__all__ = ["RecordingsPanel", "files_table"]


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


class RecordingsPanel(pn.viewable.Viewer):
    """Every recording of the working corpus; a click shows it (``review_path``)."""

    state = param.ClassSelector(class_=AppState)

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        correction = self.state.correction
        self._files = table(
            "canapy-review-files",
            height=440,
            selectable=1,
            hidden_columns=["audio_path"],
            # the file name and the counts keep their width; the labels take the rest and
            # wrap onto a second line when a file uses many (never cut off)
            layout="fit_columns",
            widths={"file": 268, "annotated": 112, "segments": 108},
            formatters={"labels": {"type": "textarea"}},
            configuration={"columnDefaults": {"tooltip": True}},
        )
        self._files.param.watch(self._on_row, ["selection"])
        show_model = pn.widgets.Checkbox.from_param(
            correction.param.show_model,
            name="Show the active model's annotation",
            css_classes=["canapy-show-model"],
        )
        self._card = card(
            "Recordings", self._files, show_model, css="canapy-files-card", margin=(5, 5)
        )
        correction.param.watch(self._show_files, ["working"])
        correction.param.watch(self._show_current, ["review_path"])
        self._show_files()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._card

    def _show_files(self, *_: Any) -> None:
        state = self.state
        if state.corpus is None or not state.correction.is_ready:
            return  # columns come with the first table: Tabulator aligns them by type then
        frame = files_table(state.correction.working_corpus())
        if not frame.equals(self._files.value):
            self._files.value = frame
        self._show_current()

    def _show_current(self, *_: Any) -> None:
        path = self.state.correction.review_path
        frame = self._files.value
        idx = [i for i, p in enumerate(frame["audio_path"]) if p == path] if len(frame) else []
        if self._files.selection != idx:
            self._files.selection = idx

    def _on_row(self, event: param.parameterized.Event) -> None:
        frame = self._files.value
        if event.new and event.new[0] < len(frame):
            path = frame["audio_path"].iloc[event.new[0]]
            if path != self.state.correction.review_path:
                self.state.correction.param.update(review_path=path, review_window=None)
