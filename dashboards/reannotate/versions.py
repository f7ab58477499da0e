"""Saved versions of the annotations: save, resolve a conflict, compare, restore, export."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import panel as pn
import param

from ..state import AppState
from ..widgets import alert, button, card, table, typed

__all__ = ["VersionsPanel"]

_CLICK = "Click a version to compare it with the working table."


class VersionsPanel(pn.viewable.Viewer):
    """The store's versions (``state.correction.versions``) and what to do with them."""

    state = param.ClassSelector(class_=AppState)

    def __init__(self, **params: Any) -> None:
        from canapy.corpus import writable_formats

        super().__init__(**params)
        correction, act = self.state.correction, self.state.tasks.run_action
        self._author = pn.widgets.TextInput.from_param(
            correction.param.author, name="Author", width=130, css_classes=["canapy-author"]
        )
        self._message = pn.widgets.TextInput(
            name="Message",
            width=260,
            css_classes=["canapy-save-message"],
            placeholder="what you changed",
        )
        save = button("Save version", "canapy-save", button_type="primary", width=130)
        save.on_click(self._on_save)
        self._save = save
        self._saving = pn.pane.Markdown("", css_classes=["canapy-saving"], margin=(25, 5, 0, 5))
        self._temporary = alert("canapy-temporary-data", alert_type="warning")
        self._show_temporary()
        self._conflict = alert("canapy-conflict")
        self._reload = button(
            "Reload latest", "canapy-reload", button_type="warning", width=130, visible=False
        )
        self._reload.on_click(
            lambda _: act(
                correction.reload_latest,
                ok=lambda v: f"Loaded version {v}. Your table is one Undo away.",
                inline=True,
            )
        )
        self._versions = table("canapy-versions", height=170, selectable=1, layout="fit_data_table")
        self._versions.param.watch(self._on_row, ["selection"])
        self._diff_info = pn.pane.Markdown(_CLICK, css_classes=["canapy-diff-info"], margin=(0, 5))
        self._diff = table("canapy-diff", height=150, visible=False, layout="fit_data_table")
        self._restore = button("Restore", "canapy-restore", width=110, disabled=True)
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
        export = button("Export", "canapy-export", width=100)
        export.on_click(self._on_export)
        self._card = card(
            "Versions",
            self._temporary,
            pn.Row(
                self._author,
                self._message,
                pn.Column(pn.Spacer(height=18), save),
                self._saving,
            ),
            pn.Row(self._conflict, self._reload),
            self._versions,
            pn.Row(self._restore, self._diff_info),
            self._diff,
            pn.Row(self._export_dir, self._export_format, pn.Column(pn.Spacer(height=18), export)),
            css="canapy-versions-card",
            margin=(5, 5),
        )
        correction.param.watch(self._show, ["versions", "save_conflict"])
        self._show()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._card

    def _selected(self) -> int | None:
        frame, sel = self._versions.value, self._versions.selection
        if not sel or sel[0] >= len(frame) or "id" not in frame:
            return None
        return int(frame["id"].iloc[sel[0]])

    def _show_temporary(self) -> None:
        """Say up front that the built-in example's versions vanish with its folder."""
        folder = self.state.data_dir
        temp = Path(tempfile.gettempdir()).resolve()
        made_by_example = folder and any(  # `canapy dash --example` without a folder
            p.name.startswith("canapy-example-") for p in Path(folder).resolve().parents
        )
        if made_by_example and Path(folder).resolve().is_relative_to(temp):
            self._temporary.object = (
                f"This data folder is temporary ({folder}): versions saved here are deleted "
                "when the dashboard stops. To keep them, start it with "
                "`canapy dash --example MY_FOLDER` (or open your own data folder)."
            )
            self._temporary.visible = True

    def _on_save(self, _: Any) -> None:
        """Show "saving…" first, then save on the next tick (the page shows it meanwhile)."""
        self._saving.object = "*Saving…*"
        self._save.disabled = True
        doc = pn.state.curdoc
        if doc is not None and doc.session_context is not None:
            doc.add_next_tick_callback(self._save_now)
        else:
            self._save_now()

    def _save_now(self) -> None:
        try:
            self._save_version()
        finally:
            self._saving.object = ""
            self._save.disabled = False

    def _save_version(self) -> None:
        version = self.state.tasks.run_action(
            self.state.correction.save_version,
            typed(self._message),
            typed(self._author) or None,
            ok=lambda v: f"Saved version {v}.",
            inline=True,
        )
        if version is not None:
            self._message.param.update(value="", value_input="")

    def _show(self, *_: Any) -> None:
        correction = self.state.correction
        conflict = correction.save_conflict
        self._conflict.object = (
            f"**Not saved — someone else saved first.** {conflict}" if conflict else ""
        )
        self._conflict.visible = self._reload.visible = bool(conflict)
        if conflict:
            self.state.tasks.message = ""  # the conflict box says it all
        versions = correction.versions
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
        self._diff_info.object = _CLICK
        self._diff.param.update(value=pd.DataFrame(), visible=False)

    def _on_row(self, event: param.parameterized.Event) -> None:
        version = self._selected()
        self._restore.disabled = version is None
        if version is None:
            return
        diff = self.state.tasks.run_action(self.state.correction.version_diff, version, inline=True)
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
        version = self._selected()
        if version is not None:
            self.state.tasks.run_action(
                self.state.correction.restore_version,
                version,
                ok=lambda v: f"Version {version} restored as version {v}.",
                inline=True,
            )

    def _on_export(self, _: Any) -> None:
        folder = typed(self._export_dir)
        if not folder:
            self.state.tasks.param.update(
                message="Give the folder to export to.", message_kind="danger"
            )
            return
        self.state.tasks.run_action(
            self.state.correction.export_version,
            folder,
            self._export_format.value,
            self._selected(),
            ok=lambda files: f"Wrote {len(files)} annotation file(s) to `{folder}`.",
            inline=True,
        )
