"""The recording shown (spectrogram viewer) and the segment editor under it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import panel as pn
import param

from canapy.exceptions import CanapyError

from ..state import TRASH_LABEL, AppState
from ..viewer import SpectrogramViewer
from ..widgets import button, card, table, typed

__all__ = ["EditorPanel", "known_labels"]

_PAGE_ROWS = 8
"""Rows per page of the segment list (the page follows the selection)."""


def known_labels(working: pd.DataFrame | None) -> list[str]:
    """Labels of the working table, sorted, plus the trash label.

    Examples
    --------
    >>> known_labels(pd.DataFrame({"label": ["B", "A", "B"]}))
    ['A', 'B', 'TRASH']
    """
    labels = sorted(set(working["label"])) if working is not None else []
    return labels + ([TRASH_LABEL] if TRASH_LABEL not in labels else [])


class EditorPanel(pn.viewable.Viewer):
    """The viewer of ``correction.review_path`` and the edits of its segments.

    Displayed, it is the card of numeric edits and the segment list; :attr:`viewer` (the
    spectrogram, edited with the mouse and keys) is laid out by the tab.
    """

    state = param.ClassSelector(class_=AppState)

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        state, correction = self.state, self.state.correction
        self.viewer = SpectrogramViewer(spec_height=260, editable="reference")
        self._segments = table(
            "canapy-segments",
            height=330,
            selectable=1,
            pagination="local",
            page_size=_PAGE_ROWS,
            width=330,
            sizing_mode="fixed",
            layout="fit_data_table",
        )
        self._segments.param.watch(self._on_segment_row, ["selection"])
        self._seg_ids: list[str] = []
        self._label = pn.widgets.TextInput(
            name="Label", width=110, css_classes=["canapy-edit-label"], placeholder="label"
        )
        self._label_pick = pn.widgets.Select(
            name="Known labels", options=[], width=110, css_classes=["canapy-label-pick"]
        )
        self._label_pick.param.watch(self._on_label_pick, ["value"])
        self._onset = pn.widgets.FloatInput(
            name="Start (s)", width=110, step=0.001, css_classes=["canapy-edit-onset"]
        )
        self._offset = pn.widgets.FloatInput(
            name="End (s)", width=110, step=0.001, css_classes=["canapy-edit-offset"]
        )
        self._split_at = pn.widgets.FloatInput(
            name="Split at (s)", width=110, step=0.001, css_classes=["canapy-edit-split-at"]
        )

        def act(name: str, css: str, fn: Callable[[], Any], **kw: Any) -> pn.widgets.Button:
            widget = button(name, css, width=kw.pop("width", 120), **kw)
            widget.on_click(lambda _: state.tasks.run_action(fn, inline=True))
            return widget

        buttons = [
            act(
                "Relabel", "canapy-relabel", lambda: correction.relabel_segment(typed(self._label))
            ),
            act(
                "Move",
                "canapy-move",
                lambda: correction.move_segment(self._onset.value, self._offset.value),
            ),
            act("Split", "canapy-split", lambda: correction.split_segment(self._split_at.value)),
            act("Merge with next", "canapy-merge-next", correction.merge_with_next),
            act("Delete", "canapy-delete", correction.delete_segment, button_type="danger"),
            act(
                "Add segment",
                "canapy-add",
                lambda: correction.add_segment(
                    self._onset.value, self._offset.value, typed(self._label)
                ),
            ),
        ]
        editor = card(
            "Edit the recording shown",
            pn.Row(
                self._segments,
                pn.Column(
                    pn.Row(self._label, self._label_pick),
                    pn.Row(self._onset, self._offset),
                    self._split_at,
                ),
                pn.Column(*buttons),
            ),
            pn.pane.Markdown(
                "Select a segment (table, viewer or a suspect); *Relabel*, *Move* and "
                "*Split* use the values on the left; *Add segment* adds Start–End with "
                "the label. Every edit can be undone.",
                margin=(0, 5),
            ),
            css="canapy-editor-card",
            margin=(5, 5),
        )
        self._panel = editor  # the tab lays the viewer out (full width) above
        correction.param.watch(
            self._show_file, ["working", "review_path", "review_window", "show_model"]
        )
        correction.param.watch(self._show_labels, ["working"])
        correction.param.watch(self._show_selected, ["selected_segment"])
        correction.param.watch(lambda *_: self.viewer.play_selected(), ["play_requests"])
        state.review.param.watch(self._show_file, ["suspects", "unlabelled_predictions"])
        state.param.watch(self._show_file, ["predictions"])
        self.viewer.param.watch(self._on_viewer_selected, ["selected"])
        self.viewer.param.watch(self._on_viewer_edit, ["edit_request"])
        self.viewer.param.watch(self._on_viewer_stretch, ["pending", "cursor"])
        self._show_labels()
        self._show_file()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._panel

    def _show_labels(self, *_: Any) -> None:
        self._label_pick.options = ["", *known_labels(self.state.correction.working)]

    def _on_label_pick(self, event: param.parameterized.Event) -> None:
        if event.new:
            self._label.param.update(value=event.new, value_input=event.new)

    def _tracks(self, path: str) -> dict[str, pd.DataFrame]:
        state = self.state
        ref = state.correction.segments_of(path)
        columns = ["onset_s", "offset_s", "label", "segment_id"]
        tracks = {"reference": state.with_confidence(path, ref[columns])}
        sus = state.review.suspects
        if sus is not None:
            mine = sus[(sus["audio_path"] == path) & (sus["suggested"] != "")]
            if len(mine):
                tracks["suggested"] = pd.DataFrame(
                    {
                        "onset_s": mine["start"].to_numpy(float),
                        "offset_s": mine["end"].to_numpy(float),
                        "label": mine["suggested"].to_numpy(object),
                    }
                ).sort_values("onset_s")
        predicted = state.review.unlabelled_predictions.get(path)
        if predicted is not None and not len(ref):
            tracks["predicted"] = predicted
        if state.correction.show_model and state.annotators:
            kind = state.eval_model or next(iter(state.annotators))
            segs = state.predictions.get(kind, {}).get(path)
            if segs is None:
                state.request_predictions([path])
            else:
                tracks[kind] = segs
        return tracks

    def _show_file(self, *_: Any) -> None:
        correction, viewer = self.state.correction, self.viewer
        path = correction.review_path
        if path is None:
            viewer.path = None
            return
        tracks = self._tracks(path)
        viewer.colors = self.state.label_colors
        if path != viewer.path:
            viewer.param.update(path=path, tracks=tracks, window=correction.review_window)
        elif correction.review_window != viewer.window:
            viewer.param.update(tracks=tracks, window=correction.review_window)
        else:
            viewer.tracks = tracks
        self._show_segments()
        self._show_selected()

    def _show_segments(self) -> None:
        correction = self.state.correction
        segs = correction.segments_of(correction.review_path)
        ids = [str(s) for s in segs["segment_id"]]
        frame = segs[["segment_id", "onset_s", "offset_s", "label"]].round(
            {"onset_s": 4, "offset_s": 4}
        )
        frame = frame.assign(segment_id=[s.rsplit("#", 1)[-1] for s in ids])
        frame = frame.rename(columns={"segment_id": "#"})
        if ids != self._seg_ids or not frame.equals(self._segments.value):
            self._seg_ids = ids
            self._segments.value = frame

    def _on_segment_row(self, event: param.parameterized.Event) -> None:
        if event.new and event.new[0] < len(self._seg_ids):
            sid = self._seg_ids[event.new[0]]
            if sid != self.state.correction.selected_segment:
                self.state.tasks.run_action(self.state.correction.select_segment, sid, inline=True)

    def _show_selected(self, *_: Any) -> None:
        correction = self.state.correction
        sid = correction.selected_segment
        idx = [self._seg_ids.index(sid)] if sid in self._seg_ids else []
        if self._segments.selection != idx:
            self._segments.selection = idx
        if idx and self._segments.page != idx[0] // _PAGE_ROWS + 1:
            self._segments.page = idx[0] // _PAGE_ROWS + 1  # the list follows the selection
        if not idx:
            return
        row = correction.segments_of(correction.review_path).iloc[idx[0]]
        on, off, label = float(row["onset_s"]), float(row["offset_s"]), str(row["label"])
        self._label.param.update(value=label, value_input=label)
        self._label_pick.value = ""  # so that choosing any label, even the last one, fills it
        self._onset.value, self._offset.value = round(on, 4), round(off, 4)
        self._split_at.value = round((on + off) / 2, 4)
        sel = self.viewer.selected
        same = (
            sel is not None
            and abs(sel["onset_s"] - on) < 1e-6
            and abs(sel["offset_s"] - off) < 1e-6
            and sel["label"] == label
        )
        if not same and self.viewer.path == correction.review_path:
            self.viewer.select_segment("reference", on, off, label)

    def _on_viewer_selected(self, event: param.parameterized.Event) -> None:
        sel, correction = event.new, self.state.correction
        if not sel or self.viewer.path != correction.review_path:
            return
        segs = correction.segments_of(correction.review_path)
        hit = segs[
            ((segs["onset_s"] - sel["onset_s"]).abs() < 1e-6)
            & ((segs["offset_s"] - sel["offset_s"]).abs() < 1e-6)
        ]
        if len(hit):
            sid = str(hit["segment_id"].iloc[0])
            if sid != correction.selected_segment:
                correction.selected_segment = sid
        elif sel["source"] in ("predicted", *self.state.annotators):
            # a model's box: prefill the editor so that "Add segment" takes it as is
            self._onset.value, self._offset.value = sel["onset_s"], sel["offset_s"]
            self._label.param.update(value=sel["label"], value_input=sel["label"])

    # -- edits made with the mouse and keys on the viewer ---------------------------------
    def _segment_at(self, onset_s: float, offset_s: float) -> str:
        correction = self.state.correction
        segs = correction.segments_of(correction.review_path)
        on, off = (segs["onset_s"] - onset_s).abs(), (segs["offset_s"] - offset_s).abs()
        hit = segs[(on < 1e-6) & (off < 1e-6)]
        if not len(hit):
            raise CanapyError("that segment changed meanwhile: select it again")
        return str(hit["segment_id"].iloc[0])

    def _on_viewer_edit(self, event: param.parameterized.Event) -> None:
        """One drag, drawn stretch or key on the viewer = one undoable correction edit."""
        req, correction = event.new, self.state.correction
        if not req:
            return
        kind = req["kind"]

        def apply() -> None:
            if kind == "move":
                sid = req.get("id") or self._segment_at(req["old_onset_s"], req["old_offset_s"])
                correction.move_segment(req["onset_s"], req["offset_s"], sid)
                correction.selected_segment = sid
            elif kind == "add":
                label = req["label"] or typed(self._label)
                if not label:
                    raise CanapyError("type a key (or fill Label) to name the new segment")
                correction.add_segment(req["onset_s"], req["offset_s"], label)
            elif kind == "label":
                sid = self._segment_at(req["onset_s"], req["offset_s"])
                correction.relabel_segment(req["label"], sid)
            elif kind == "delete":
                correction.delete_segment(self._segment_at(req["onset_s"], req["offset_s"]))
            elif kind == "undo":
                correction.undo()
            elif kind == "redo":
                correction.redo()

        self.state.tasks.run_action(apply, inline=True)
        self.viewer.canvas.param.trigger("tracks")  # a refused drag snaps back

    def _on_viewer_stretch(self, *_: Any) -> None:
        """A drawn stretch fills Start/End (for *Add segment*); the cursor fills Split at."""
        pending, cursor = self.viewer.pending, self.viewer.cursor
        if len(pending) == 2:
            self._onset.value, self._offset.value = round(pending[0], 4), round(pending[1], 4)
        if cursor is not None:
            self._split_at.value = round(cursor, 4)
