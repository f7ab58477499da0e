"""The suspicious labels: find them, walk through them, accept or keep each."""

from __future__ import annotations

from typing import Any

import pandas as pd
import panel as pn
import param

from ..state import SUSPECT_SHOWN, AppState
from ..widgets import button, card, table

__all__ = ["SuspectsPanel"]

_ALL = "(all labels)"


class SuspectsPanel(pn.viewable.Viewer):
    """Find suspects (``canapy.review.find_suspects``), list them, accept/keep/next."""

    state = param.ClassSelector(class_=AppState)

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        state, review = self.state, self.state.review
        act = state.tasks.run_action
        self._folds = pn.widgets.IntInput.from_param(
            review.param.review_folds, name="Folds", width=80, css_classes=["canapy-folds"]
        )
        self._find = button(
            "Find suspects", "canapy-find-suspects", button_type="primary", width=140
        )
        self._find.on_click(lambda _: act(state.find_suspects, inline=True))
        self._label_filter = pn.widgets.Select(
            name="Hand label",
            options=[_ALL],
            value=_ALL,
            width=130,
            css_classes=["canapy-suspect-filter"],
        )
        self._label_filter.param.watch(self._on_label_filter, ["value"])
        self._info = pn.pane.Markdown(
            "Trains the models on all files but one fold and lets them judge the labels of "
            "the held-out files (`canapy.review.find_suspects`, uses the Train tab's "
            "configuration). More folds: slower, models closer to the final one.",
            css_classes=["canapy-suspect-info"],
            margin=(0, 5),
        )
        self._table = table(
            "canapy-suspects",
            height=300,
            selectable=1,
            # long file names are cut (the file is shown above); the other columns keep a
            # width that holds their header, so an empty table stays readable too
            layout="fit_columns",
            widths={
                "start": 72,
                "end": 66,
                "syll": 62,
                "suggested": 104,
                "score": 74,
                "status": 80,
            },
            configuration={
                "placeholder": "No suspects yet: click Find suspects.",
                "columnDefaults": {"tooltip": True},  # the whole file name on hover
            },
        )
        self._table.param.watch(self._on_row, ["selection"])
        self._shown_ids: list[str] = []
        accept = button("Accept suggestion (a)", "canapy-accept", button_type="success", width=170)
        keep = button("Keep original (k)", "canapy-keep", width=150)
        prev = button("◀ (p)", "canapy-prev-suspect", width=70)
        nxt = button("Next ▶ (j)", "canapy-next-suspect", width=100)
        accept.on_click(lambda _: act(review.accept_suggestion, inline=True))
        keep.on_click(lambda _: act(review.keep_original, inline=True))
        prev.on_click(lambda _: act(review.next_suspect, -1, inline=True))
        nxt.on_click(lambda _: act(review.next_suspect, 1, inline=True))
        self._merge_pairs = pn.pane.Markdown("", css_classes=["canapy-merge-pairs"], margin=(0, 5))
        self._card = card(
            "Suspicious labels",
            pn.Row(self._folds, pn.Column(pn.Spacer(height=18), self._find), self._label_filter),
            self._info,
            self._table,
            pn.Row(accept, keep, prev, nxt),
            self._merge_pairs,
            css="canapy-suspect-card",
            margin=(5, 5),
        )
        review.param.watch(self._show, ["suspects", "suspect_label"])
        review.param.watch(self._show_current, ["current_suspect"])
        state.tasks.param.watch(self._show_busy, ["busy"])
        self._show()
        self._show_busy()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._card

    def _show_busy(self, *_: Any) -> None:
        self._find.disabled = self.state.tasks.busy

    def _on_label_filter(self, event: param.parameterized.Event) -> None:
        label = "" if event.new in (None, _ALL) else str(event.new)
        if label != self.state.review.suspect_label:
            self.state.review.suspect_label = label

    def _show(self, *_: Any) -> None:
        review = self.state.review
        sus = review.suspects
        if sus is None:
            self._table.value = pd.DataFrame(columns=SUSPECT_SHOWN)
            self._shown_ids = []
            return
        self._label_filter.options = [_ALL, *sorted(set(sus["syll"]))]
        self._label_filter.value = review.suspect_label or _ALL
        shown = review.visible_suspects()
        ids = [str(s) for s in shown["segment_id"]]
        frame = shown[SUSPECT_SHOWN].round({"start": 3, "end": 3, "score": 3})
        frame = frame.reset_index(drop=True)
        old = self._table.value
        if ids == self._shown_ids and len(old) == len(frame) and "status" in old:
            changed = [
                (i, s)
                for i, (s, t) in enumerate(zip(frame["status"], old["status"], strict=True))
                if s != t
            ]
            if changed:  # statuses only: patch, don't resend the table
                self._table.patch({"status": changed})
        else:
            self._shown_ids = ids
            self._table.value = frame
        status = sus["status"]
        self._info.object = (
            f"**{len(sus)} segments judged**, {int((sus['score'] >= 0.5).sum())} with score "
            f"≥ 0.5; **{int((status != '').sum())} reviewed** "
            f"({int((status == 'accepted').sum())} accepted, {int((status == 'kept').sum())} "
            "kept). Most suspicious first; click a header to sort, a row to open it."
        )
        pairs = review.result.merge_candidates if review.result is not None else None
        if pairs is not None and len(pairs):
            self._merge_pairs.object = "Often confused: " + "; ".join(
                f"**{r.label_a}**→{r.label_b} {r.rate:.0%}{' (merge?)' if r.suggestion else ''}"
                for r in pairs.head(3).itertuples(index=False)
            )
        else:
            self._merge_pairs.object = ""
        self._show_current()

    def _on_row(self, event: param.parameterized.Event) -> None:
        if event.new and event.new[0] < len(self._shown_ids):
            sid = self._shown_ids[event.new[0]]
            if sid != self.state.review.current_suspect:
                self.state.tasks.run_action(self.state.review.select_suspect, sid, inline=True)

    def _show_current(self, *_: Any) -> None:
        sid = self.state.review.current_suspect
        idx = [self._shown_ids.index(sid)] if sid in self._shown_ids else []
        if self._table.selection != idx:
            self._table.selection = idx
