"""Re-annotate tab: the correction loop — suspects, edits, classes, versions, retraining.

Every action is a call on the session's :class:`~canapy.dashboards.state.AppState`, which
calls the core (:mod:`canapy.review`, :mod:`canapy.edits`, :mod:`canapy.store`,
:mod:`canapy.workflow`); this module only lays out widgets and forwards clicks and keys.

Keyboard shortcuts (when the tab is shown and no text box has the focus): ``a`` accept the
suggestion, ``k`` keep the original label, ``j``/``n`` next suspect, ``p`` previous one,
``u`` undo, ``r`` redo, ``space`` play the selected segment.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, ClassVar

import pandas as pd
import panel as pn
import param
from panel.reactive import ReactiveHTML

from canapy.exceptions import CanapyError

from .state import CLASS_OPERATIONS, SUSPECT_SHOWN, TRASH_LABEL, AppState
from .viewer import SpectrogramViewer

__all__ = ["SHORTCUTS", "KeyShortcuts", "ReannotateTab", "files_table"]

logger = logging.getLogger(__name__)

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

_ALL = "(all labels)"


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


def _table(css: str, height: int, **kw: Any) -> pn.widgets.Tabulator:
    kw.setdefault("sizing_mode", "stretch_width")
    return pn.widgets.Tabulator(
        pd.DataFrame(),
        show_index=False,
        disabled=True,
        height=height,
        css_classes=[css],
        layout="fit_data_table",
        **kw,
    )


def _button(name: str, css: str, **kw: Any) -> pn.widgets.Button:
    return pn.widgets.Button(name=name, css_classes=[css], **kw)


def _card(title: str, *objects: Any, css: str, **kw: Any) -> pn.Card:
    kw.setdefault("sizing_mode", "stretch_width")
    return pn.Card(*objects, title=title, collapsible=False, css_classes=[css], margin=(5, 5), **kw)


def _text(widget: pn.widgets.TextInput) -> str:
    """What the user typed, even before the box lost the focus."""
    return str(widget.value_input or widget.value or "").strip()


class ReannotateTab(pn.viewable.Viewer):
    """Find suspicious labels, fix them, keep versions, retrain (see the module doc)."""

    state = param.ClassSelector(class_=AppState)

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        state = self.state
        self.viewer = SpectrogramViewer(spec_height=200)
        self._feedback = pn.pane.Alert(
            "",
            alert_type="info",
            visible=False,
            css_classes=["canapy-re-feedback"],
            sizing_mode="stretch_width",
            margin=(0, 10),
        )
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
        self._state_line = pn.pane.Markdown("", css_classes=["canapy-edit-state"], margin=(0, 10))
        self._undo = _button("↶ Undo", "canapy-undo", width=110)
        self._redo = _button("↷ Redo", "canapy-redo", width=110)
        self._undo.on_click(lambda _: self._do(state.correction.undo))
        self._redo.on_click(lambda _: self._do(state.correction.redo))

        self._build_suspects()
        self._build_files()
        self._build_editor()
        self._build_classes()
        self._build_unlabelled()
        self._build_versions()
        self._build_retrain()

        left = pn.Column(self._suspect_card, self._files_card, width=560)
        right = pn.Column(self.viewer, self._editor_card, sizing_mode="stretch_width")
        self._panel = pn.Column(
            self._keys,
            pn.Row(self._undo, self._redo, self._state_line, sizing_mode="stretch_width"),
            self._feedback,
            pn.Row(left, right, sizing_mode="stretch_width"),
            pn.Row(self._classes_card, self._unlabelled_card, sizing_mode="stretch_width"),
            pn.Row(self._versions_card, self._retrain_card, sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
            css_classes=["canapy-reannotate-tab"],
        )
        corr, rev = state.correction, state.review
        corr.param.watch(self._refresh, ["working", "history_info", "base_version"])
        rev.param.watch(self._refresh, ["suspects", "suspect_label"])
        rev.param.watch(self._show_current_suspect, ["current_suspect"])
        corr.param.watch(self._show_file, ["review_path", "review_window"])
        rev.param.watch(self._show_file, ["unlabelled_predictions"])
        state.param.watch(self._show_file, ["predictions"])
        corr.param.watch(self._show_selected, ["selected_segment"])
        corr.param.watch(self._show_versions, ["versions", "save_conflict"])
        rev.param.watch(self._show_unlabelled, ["unlabelled"])
        corr.param.watch(self._show_retrain, ["retrain_comparison", "retrain_label"])
        state.tasks.param.watch(self._show_busy, ["busy"])
        state.param.watch(self._show_busy, ["annotators"])
        self.viewer.param.watch(self._on_viewer_selected, ["selected"])
        self._refresh()
        self._show_versions()
        self._show_busy()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._panel

    def _refresh(self, *_: Any) -> None:
        """The working table or the review changed: tables, viewer, preview."""
        self._show_working()
        self._show_suspects()
        self._show_file()
        self._update_preview()

    # -- helpers ---------------------------------------------------------------------------
    def _do(self, fn: Callable[..., Any], *args: Any, ok: str | Callable[[Any], str] = "") -> Any:
        """Call a state method; show its CanapyError (or ``ok``) in the feedback box."""
        try:
            result = fn(*args)
        except CanapyError as exc:
            self._say(str(exc), "danger")
            return None
        except Exception as exc:  # a bug: the header shows it, the log has the traceback
            logger.exception("re-annotate action failed")
            self.state.tasks.error = f"{type(exc).__name__}: {exc}"
            return None
        message = ok(result) if callable(ok) else ok
        if message:
            self._say(message, "success")
        elif self._feedback.alert_type == "danger":
            self._feedback.visible = False
        return result

    def _say(self, message: str, kind: str = "info") -> None:
        self._feedback.param.update(object=message, alert_type=kind, visible=True)

    def _labels(self) -> list[str]:
        working = self.state.correction.working
        labels = sorted(set(working["label"])) if working is not None else []
        return labels + ([TRASH_LABEL] if TRASH_LABEL not in labels else [])

    # -- suspects --------------------------------------------------------------------------
    def _build_suspects(self) -> None:
        state = self.state
        self._folds = pn.widgets.IntInput.from_param(
            state.review.param.review_folds, name="Folds", width=80, css_classes=["canapy-folds"]
        )
        self._find = _button(
            "Find suspects", "canapy-find-suspects", button_type="primary", width=140
        )
        self._find.on_click(lambda _: self._do(state.find_suspects))
        self._label_filter = pn.widgets.Select(
            name="Hand label",
            options=[_ALL],
            value=_ALL,
            width=130,
            css_classes=["canapy-suspect-filter"],
        )
        self._label_filter.param.watch(self._on_label_filter, ["value"])
        self._suspect_info = pn.pane.Markdown(
            "Trains the models on all files but one fold and lets them judge the labels of "
            "the held-out files (`canapy.review.find_suspects`, uses the Train tab's "
            "configuration). More folds: slower, models closer to the final one.",
            css_classes=["canapy-suspect-info"],
            margin=(0, 5),
        )
        self._suspects = _table("canapy-suspects", 300, selectable=1)
        self._suspects.param.watch(self._on_suspect_row, ["selection"])
        self._shown_ids: list[str] = []
        self._accept = _button(
            "Accept suggestion (a)", "canapy-accept", button_type="success", width=170
        )
        self._keep = _button("Keep original (k)", "canapy-keep", width=150)
        self._prev = _button("◀ (p)", "canapy-prev-suspect", width=70)
        self._next = _button("Next ▶ (j)", "canapy-next-suspect", width=100)
        self._accept.on_click(lambda _: self._do(state.review.accept_suggestion))
        self._keep.on_click(lambda _: self._do(state.review.keep_original))
        self._prev.on_click(lambda _: self._do(state.review.next_suspect, -1))
        self._next.on_click(lambda _: self._do(state.review.next_suspect, 1))
        self._merge_pairs = pn.pane.Markdown("", css_classes=["canapy-merge-pairs"], margin=(0, 5))
        self._suspect_card = _card(
            "Suspicious labels",
            pn.Row(self._folds, pn.Column(pn.Spacer(height=18), self._find), self._label_filter),
            self._suspect_info,
            self._suspects,
            pn.Row(self._accept, self._keep, self._prev, self._next),
            self._merge_pairs,
            css="canapy-suspect-card",
        )

    def _on_label_filter(self, event: param.parameterized.Event) -> None:
        label = "" if event.new in (None, _ALL) else str(event.new)
        if label != self.state.review.suspect_label:
            self.state.review.suspect_label = label

    def _show_suspects(self, *_: Any) -> None:
        state = self.state
        sus = state.review.suspects
        if sus is None:
            self._suspects.value = pd.DataFrame(columns=SUSPECT_SHOWN)
            self._shown_ids = []
            return
        labels = sorted(set(sus["syll"]))
        self._label_filter.options = [_ALL, *labels]
        self._label_filter.value = state.review.suspect_label or _ALL
        shown = state.review.visible_suspects()
        ids = [str(s) for s in shown["segment_id"]]
        frame = shown[SUSPECT_SHOWN].round({"start": 3, "end": 3, "score": 3})
        frame = frame.reset_index(drop=True)
        old = self._suspects.value
        if ids == self._shown_ids and len(old) == len(frame) and "status" in old:
            changed = [
                (i, s)
                for i, (s, t) in enumerate(zip(frame["status"], old["status"], strict=True))
                if s != t
            ]
            if changed:  # statuses only: patch, don't resend the table
                self._suspects.patch({"status": changed})
        else:
            self._shown_ids = ids
            self._suspects.value = frame
        done = int((sus["status"] != "").sum())
        flagged = int((sus["score"] >= 0.5).sum())
        self._suspect_info.object = (
            f"**{len(sus)} segments judged**, {flagged} with score ≥ 0.5; "
            f"**{done} reviewed** ({int((sus['status'] == 'accepted').sum())} accepted, "
            f"{int((sus['status'] == 'kept').sum())} kept). Most suspicious first; click a "
            "header to sort, a row to open it."
        )
        pairs = state.review.result.merge_candidates if state.review.result is not None else None
        if pairs is not None and len(pairs):
            top = pairs.head(3)
            self._merge_pairs.object = "Often confused: " + "; ".join(
                f"**{r.label_a}**→{r.label_b} {r.rate:.0%}{' (merge?)' if r.suggestion else ''}"
                for r in top.itertuples(index=False)
            )
        else:
            self._merge_pairs.object = ""
        self._show_current_suspect()

    def _on_suspect_row(self, event: param.parameterized.Event) -> None:
        if event.new and event.new[0] < len(self._shown_ids):
            sid = self._shown_ids[event.new[0]]
            if sid != self.state.review.current_suspect:
                self._do(self.state.review.select_suspect, sid)

    def _show_current_suspect(self, *_: Any) -> None:
        sid = self.state.review.current_suspect
        idx = [self._shown_ids.index(sid)] if sid in self._shown_ids else []
        if self._suspects.selection != idx:
            self._suspects.selection = idx

    # -- recordings ------------------------------------------------------------------------
    def _build_files(self) -> None:
        self._files = _table(
            "canapy-review-files", 440, selectable=1, hidden_columns=["audio_path"]
        )
        self._files.param.watch(self._on_file_row, ["selection"])
        self._show_model = pn.widgets.Checkbox(
            name="Show the active model's annotation",
            value=False,
            css_classes=["canapy-show-model"],
        )
        self._show_model.param.watch(lambda *_: self._show_file(), ["value"])
        self._files_card = _card(
            "Recordings", self._files, self._show_model, css="canapy-files-card"
        )

    def _on_file_row(self, event: param.parameterized.Event) -> None:
        table = self._files.value
        if event.new and event.new[0] < len(table):
            path = table["audio_path"].iloc[event.new[0]]
            if path != self.state.correction.review_path:
                self.state.correction.param.update(review_path=path, review_window=None)

    # -- the viewer and the segment editor -------------------------------------------------
    def _build_editor(self) -> None:
        state = self.state
        self._segments = _table(
            "canapy-segments", 250, selectable=1, width=330, sizing_mode="fixed"
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
            button = _button(name, css, width=kw.pop("width", 120), **kw)
            button.on_click(lambda _: self._do(fn))
            return button

        self._edit_buttons = [
            act(
                "Relabel",
                "canapy-relabel",
                lambda: state.correction.relabel_segment(_text(self._label)),
            ),
            act(
                "Move",
                "canapy-move",
                lambda: state.correction.move_segment(self._onset.value, self._offset.value),
            ),
            act(
                "Split",
                "canapy-split",
                lambda: state.correction.split_segment(self._split_at.value),
            ),
            act("Merge with next", "canapy-merge-next", state.correction.merge_with_next),
            act("Delete", "canapy-delete", state.correction.delete_segment, button_type="danger"),
        ]
        add = act(
            "Add segment",
            "canapy-add",
            lambda: state.correction.add_segment(
                self._onset.value, self._offset.value, _text(self._label)
            ),
        )
        self._editor_card = _card(
            "Edit the recording shown",
            pn.Row(
                self._segments,
                pn.Column(
                    pn.Row(self._label, self._label_pick),
                    pn.Row(self._onset, self._offset),
                    self._split_at,
                ),
                pn.Column(*self._edit_buttons, add),
            ),
            pn.pane.Markdown(
                "Select a segment (table, viewer or a suspect); *Relabel*, *Move* and "
                "*Split* use the values on the left; *Add segment* adds Start–End with "
                "the label. Every edit can be undone.",
                margin=(0, 5),
            ),
            css="canapy-editor-card",
        )

    def _on_label_pick(self, event: param.parameterized.Event) -> None:
        if event.new:
            self._label.param.update(value=event.new, value_input=event.new)

    def _tracks(self, path: str) -> dict[str, pd.DataFrame]:
        state = self.state
        ref = state.correction.segments_of(path)
        tracks = {"reference": ref[["onset_s", "offset_s", "label"]]}
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
        if self._show_model.value and state.annotators:
            kind = state.eval_model or next(iter(state.annotators))
            segs = state.predictions.get(kind, {}).get(path)
            if segs is None:
                state.request_predictions([path])
            else:
                tracks[kind] = segs
        return tracks

    def _show_file(self, *_: Any) -> None:
        state, viewer = self.state, self.viewer
        path = state.correction.review_path
        table = self._files.value
        idx = [i for i, p in enumerate(table["audio_path"]) if p == path] if len(table) else []
        if self._files.selection != idx:
            self._files.selection = idx
        if path is None:
            viewer.path = None
            return
        tracks = self._tracks(path)
        if path != viewer.path:
            viewer.param.update(path=path, tracks=tracks, window=state.correction.review_window)
        elif state.correction.review_window != viewer.window:
            viewer.param.update(tracks=tracks, window=state.correction.review_window)
        else:
            viewer.tracks = tracks
        self._show_segments()
        self._show_selected()

    def _show_segments(self) -> None:
        segs = self.state.correction.segments_of(self.state.correction.review_path)
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
                self._do(self.state.correction.select_segment, sid)

    def _show_selected(self, *_: Any) -> None:
        state = self.state
        sid = state.correction.selected_segment
        idx = [self._seg_ids.index(sid)] if sid in self._seg_ids else []
        if self._segments.selection != idx:
            self._segments.selection = idx
        if not idx:
            return
        row = state.correction.segments_of(state.correction.review_path).iloc[idx[0]]
        on, off, label = float(row["onset_s"]), float(row["offset_s"]), str(row["label"])
        self._label.param.update(value=label, value_input=label)
        self._onset.value, self._offset.value = round(on, 4), round(off, 4)
        self._split_at.value = round((on + off) / 2, 4)
        sel = self.viewer.selected
        same = (
            sel is not None
            and abs(sel["onset_s"] - on) < 1e-6
            and abs(sel["offset_s"] - off) < 1e-6
            and sel["label"] == label
        )
        if not same and self.viewer.path == state.correction.review_path:
            self.viewer.select_segment("reference", on, off, label)

    def _on_viewer_selected(self, event: param.parameterized.Event) -> None:
        sel = event.new
        if not sel or self.viewer.path != self.state.correction.review_path:
            return
        segs = self.state.correction.segments_of(self.state.correction.review_path)
        hit = segs[
            ((segs["onset_s"] - sel["onset_s"]).abs() < 1e-6)
            & ((segs["offset_s"] - sel["offset_s"]).abs() < 1e-6)
        ]
        if len(hit):
            sid = str(hit["segment_id"].iloc[0])
            if sid != self.state.correction.selected_segment:
                self.state.correction.selected_segment = sid
        elif sel["source"] in ("predicted", *self.state.annotators):
            # a model's box: prefill the editor so that "Add segment" takes it as is
            self._onset.value, self._offset.value = sel["onset_s"], sel["offset_s"]
            self._label.param.update(value=sel["label"], value_input=sel["label"])

    # -- working table ---------------------------------------------------------------------
    def _show_working(self, *_: Any) -> None:
        state = self.state
        info = state.correction.history_info or {}
        self._undo.disabled = not info.get("undo")
        self._redo.disabled = not info.get("redo")
        self._undo.description = f"Undo: {info.get('undo')}" if info.get("undo") else None
        self._redo.description = f"Redo: {info.get('redo')}" if info.get("redo") else None
        if state.correction.working is None:
            self._state_line.object = "*No annotations loaded.*"
            return
        base = (
            f"version **{state.correction.base_version}**"
            if state.correction.base_version is not None
            else "the **original annotation files** (no saved version yet)"
        )
        n = info.get("n_changes", 0)
        last = f" Last edit: *{info['undo']}*." if info.get("undo") else ""
        size = len(state.correction.working)
        self._state_line.object = (
            f"Editing {base}: **{size} segments**, **{n} unsaved change(s)**.{last}"
        )
        corpus = state.correction.working_corpus() if state.corpus is not None else None
        table = files_table(corpus)
        if not table.equals(self._files.value):
            self._files.value = table
        labels = self._labels()
        self._label_pick.options = ["", *labels]
        self._class_labels.options = labels

    # -- class operations ------------------------------------------------------------------
    def _build_classes(self) -> None:
        self._class_op = pn.widgets.RadioButtonGroup(
            options=list(CLASS_OPERATIONS),
            value="merge",
            button_type="primary",
            button_style="outline",
            css_classes=["canapy-class-op"],
        )
        self._class_labels = pn.widgets.MultiChoice(
            name="Labels", options=[], width=260, css_classes=["canapy-class-labels"]
        )
        self._class_into = pn.widgets.TextInput(
            name="Into / new name",
            width=150,
            css_classes=["canapy-class-into"],
            placeholder=f"e.g. {TRASH_LABEL}",
        )
        self._class_preview = pn.pane.Markdown("", css_classes=["canapy-class-preview"])
        self._class_apply = _button(
            "Apply", "canapy-class-apply", button_type="primary", width=120, disabled=True
        )
        self._class_apply.on_click(self._on_class_apply)
        for w, names in (
            (self._class_op, ["value"]),
            (self._class_labels, ["value"]),
            (self._class_into, ["value_input", "value"]),
        ):
            w.param.watch(lambda *_: self._update_preview(), names)
        self._classes_card = _card(
            "Classes (whole corpus)",
            pn.pane.Markdown(
                "Merge labels into one, rename one, or delete every segment of one "
                f"(`canapy.edits`). `{TRASH_LABEL}` is there for noise and calls that are "
                "not syllables. The number of segments that will change is shown first.",
                margin=(0, 5),
            ),
            self._class_op,
            pn.Row(self._class_labels, self._class_into),
            pn.Row(self._class_apply, self._class_preview),
            css="canapy-classes-card",
        )

    def _class_args(self) -> tuple[str, list[str], str]:
        return self._class_op.value, list(self._class_labels.value), _text(self._class_into)

    def _update_preview(self) -> None:
        op, labels, into = self._class_args()
        self._class_into.disabled = op == "delete"
        if not labels or (op != "delete" and not into):
            self._class_preview.object = "*Choose the label(s)" + (
                " and the new name.*" if op != "delete" else ".*"
            )
            self._class_apply.disabled = True
            return
        try:
            n = self.state.correction.preview_class_edit(op, labels, into)
        except CanapyError as exc:
            self._class_preview.object = f"⚠ {exc}"
            self._class_apply.disabled = True
            return
        self._class_preview.object = f"**{n} segment(s) will change.**"
        self._class_apply.disabled = n == 0

    def _on_class_apply(self, _: Any) -> None:
        op, labels, into = self._class_args()
        self._do(
            self.state.correction.apply_class_edit,
            op,
            labels,
            into,
            ok=lambda n: f"{op}: {n} segment(s) changed (Undo reverts it).",
        )
        self._class_labels.value = []

    # -- unlabelled recordings -------------------------------------------------------------
    def _build_unlabelled(self) -> None:
        state = self.state
        self._annotate = _button(
            "Annotate unlabelled recordings",
            "canapy-annotate-unlabelled",
            button_type="primary",
            width=240,
        )
        self._annotate.on_click(lambda _: self._do(state.annotate_unlabelled))
        self._unlabelled = _table(
            "canapy-unlabelled", 160, selectable=1, hidden_columns=["audio_path"], visible=False
        )
        self._unlabelled.param.watch(self._on_unlabelled_row, ["selection"])
        self._promote = _button("Promote to training set", "canapy-promote", width=190)
        self._promote.on_click(
            lambda _: self._do(
                state.review.promote,
                ok=lambda n: (
                    f"{n} segments added to the working table: proofread them, then save a version."
                ),
            )
        )
        self._unlabelled_card = _card(
            "Unlabelled recordings",
            pn.pane.Markdown(
                "The active model annotates the recordings without annotation, least "
                "certain first. Click one to see its prediction; *Promote* copies it into the "
                "working table, where it can be edited like any other.",
                margin=(0, 5),
            ),
            pn.Row(self._annotate, self._promote),
            self._unlabelled,
            css="canapy-unlabelled-card",
        )

    def _show_unlabelled(self, *_: Any) -> None:
        table = self.state.review.unlabelled
        if table is None:
            self._unlabelled.param.update(value=pd.DataFrame(), visible=False)
            return
        self._unlabelled.param.update(value=table.round({"mean_confidence": 3}), visible=True)

    def _on_unlabelled_row(self, event: param.parameterized.Event) -> None:
        table = self._unlabelled.value
        if event.new and event.new[0] < len(table):
            path = table["audio_path"].iloc[event.new[0]]
            self.state.correction.param.update(review_path=path, review_window=None)

    # -- versions --------------------------------------------------------------------------
    def _build_versions(self) -> None:
        from canapy.corpus import writable_formats

        state = self.state
        self._author = pn.widgets.TextInput.from_param(
            state.correction.param.author, name="Author", width=130, css_classes=["canapy-author"]
        )
        self._message = pn.widgets.TextInput(
            name="Message",
            width=260,
            css_classes=["canapy-save-message"],
            placeholder="what you changed",
        )
        self._save = _button("Save version", "canapy-save", button_type="primary", width=130)
        self._save.on_click(self._on_save)
        self._conflict = pn.pane.Alert(
            "",
            alert_type="danger",
            visible=False,
            css_classes=["canapy-conflict"],
            sizing_mode="stretch_width",
        )
        self._reload = _button(
            "Reload latest", "canapy-reload", button_type="warning", width=130, visible=False
        )
        self._reload.on_click(
            lambda _: self._do(
                state.correction.reload_latest,
                ok=lambda v: f"Loaded version {v}. Your table is one Undo away.",
            )
        )
        self._versions = _table("canapy-versions", 170, selectable=1)
        self._versions.param.watch(self._on_version_row, ["selection"])
        self._diff_info = pn.pane.Markdown(
            "Click a version to compare it with the working table.",
            css_classes=["canapy-diff-info"],
            margin=(0, 5),
        )
        self._diff = _table("canapy-diff", 150, visible=False)
        self._restore = _button("Restore", "canapy-restore", width=110, disabled=True)
        self._restore.on_click(self._on_restore)
        self._export_dir = pn.widgets.TextInput(
            name="Export to folder",
            width=260,
            css_classes=["canapy-export-dir"],
            placeholder="/path/outside/the/data/folder",
        )
        self._export_format = pn.widgets.Select(
            name="Format",
            options=writable_formats(),
            value="marron1csv",
            width=130,
            css_classes=["canapy-export-format"],
        )
        self._export = _button("Export", "canapy-export", width=100)
        self._export.on_click(self._on_export)
        self._versions_card = _card(
            "Versions",
            pn.Row(self._author, self._message, pn.Column(pn.Spacer(height=18), self._save)),
            pn.Row(self._conflict, self._reload),
            self._versions,
            pn.Row(self._restore, self._diff_info),
            self._diff,
            pn.Row(
                self._export_dir,
                self._export_format,
                pn.Column(pn.Spacer(height=18), self._export),
            ),
            css="canapy-versions-card",
        )

    def _selected_version(self) -> int | None:
        table = self._versions.value
        sel = self._versions.selection
        if not sel or sel[0] >= len(table):
            return None
        return int(table["id"].iloc[sel[0]])

    def _on_save(self, _: Any) -> None:
        message = _text(self._message)
        author = _text(self._author) or None

        version = self._do(
            self.state.correction.save_version,
            message,
            author,
            ok=lambda v: f"Saved version {v}.",
        )
        if version is not None:
            self._message.param.update(value="", value_input="")

    def _show_versions(self, *_: Any) -> None:
        state = self.state
        conflict = state.correction.save_conflict
        self._conflict.object = (
            f"**Not saved — someone else saved first.** {conflict}" if conflict else ""
        )
        self._conflict.visible = self._reload.visible = bool(conflict)
        if conflict:
            self._feedback.visible = False
        versions = state.correction.versions
        if versions is None or not len(versions):
            self._versions.value = pd.DataFrame(
                {
                    "": [
                        "No saved version yet: the first save creates version 1 (the original "
                        "files) and version 2 (your edits)."
                    ]
                }
            )
            self._restore.disabled = True
            return
        shown = versions[["id", "author", "created_at", "message", "n_segments", "is_head"]]
        self._versions.value = shown.iloc[::-1].reset_index(drop=True)  # newest first
        self._versions.selection = []
        self._restore.param.update(disabled=True, name="Restore")
        self._diff_info.object = "Click a version to compare it with the working table."
        self._diff.param.update(value=pd.DataFrame(), visible=False)

    def _on_version_row(self, event: param.parameterized.Event) -> None:
        version = self._selected_version()
        self._restore.disabled = version is None
        if version is None:
            return
        diff = self._do(self.state.correction.version_diff, version)
        if diff is None:
            return
        counts = diff["change"].value_counts()
        what = ", ".join(f"{n} {c}" for c, n in counts.items()) or "no difference"
        self._diff_info.object = f"Version **{version}** → working table: {what}."
        self._diff.param.update(
            value=diff.drop(columns=["segment_id"]).round(4).head(500), visible=len(diff) > 0
        )
        self._restore.name = f"Restore v{version}"

    def _on_restore(self, _: Any) -> None:
        version = self._selected_version()
        if version is not None:
            self._do(
                self.state.correction.restore_version,
                version,
                ok=lambda v: f"Version {version} restored as version {v}.",
            )

    def _on_export(self, _: Any) -> None:
        folder = _text(self._export_dir)
        if not folder:
            self._say("Give the folder to export to.", "danger")
            return
        self._do(
            self.state.correction.export_version,
            folder,
            self._export_format.value,
            self._selected_version(),
            ok=lambda files: f"Wrote {len(files)} annotation file(s) to `{folder}`.",
        )

    # -- retraining ------------------------------------------------------------------------
    def _build_retrain(self) -> None:
        self._retrain = _button(
            "Retrain with corrections", "canapy-retrain", button_type="primary", width=210
        )
        self._retrain.on_click(lambda _: self._do(self.state.retrain))
        self._retrain_info = pn.pane.Markdown(
            "Trains the Train tab's configuration on the corrected annotations into a new "
            "run, and compares its held-out scores with the active run's.",
            css_classes=["canapy-retrain-info"],
            margin=(0, 5),
        )
        self._comparison = _table("canapy-comparison", 190, visible=False)
        self._retrain_card = _card(
            "Retrain with corrections",
            self._retrain,
            self._retrain_info,
            self._comparison,
            css="canapy-retrain-card",
            width=520,
            sizing_mode="fixed",
        )

    def _show_retrain(self, *_: Any) -> None:
        table = self.state.correction.retrain_comparison
        if table is None:
            return
        self._comparison.param.update(value=table, visible=True)
        self._retrain_info.object = self.state.correction.retrain_label

    def _show_busy(self, *_: Any) -> None:
        busy = self.state.tasks.busy
        self._find.disabled = self._retrain.disabled = busy
        self._annotate.disabled = busy or not self.state.annotators

    # -- keys ------------------------------------------------------------------------------
    def _on_key(self, event: param.parameterized.Event) -> None:
        key = event.new.rsplit("|", 1)[0]
        state = self.state
        actions: dict[str, Callable[[], Any]] = {
            "a": state.review.accept_suggestion,
            "k": state.review.keep_original,
            "j": lambda: state.review.next_suspect(1),
            "n": lambda: state.review.next_suspect(1),
            "p": lambda: state.review.next_suspect(-1),
            "u": state.correction.undo,
            "r": state.correction.redo,
            " ": self.viewer.play_selected,
        }
        if key in actions:
            self._do(actions[key])
