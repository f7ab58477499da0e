"""The application shell: :class:`CanapyApp` (also used inline in Jupyter) and its factory."""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import panel as pn
import panel.models.tabulator
import param
from panel.io.state import set_curdoc

from .evaluate_tab import EvaluateTab
from .reannotate_tab import ReannotateTab
from .state import AppState, Dispatch
from .train_tab import TrainTab
from .widgets import alert

__all__ = ["TABS", "CanapyApp", "create_app", "session_dispatch"]

logger = logging.getLogger(__name__)

TABS: list[tuple[str, Callable[..., pn.viewable.Viewer]]] = [
    ("Train", TrainTab),
    ("Evaluate", EvaluateTab),
    ("Re-annotate", ReannotateTab),
]
"""Tab titles and components; each is built as ``Component(state=app_state)``."""


def session_dispatch() -> Dispatch | None:
    """``dispatch`` for :class:`AppState` that runs callbacks on this session's event loop.

    Worker threads must not touch Bokeh models; they hand their results to this function,
    which schedules them as next-tick callbacks of the session's document (holding its
    lock). Outside a server session (notebook, tests) it returns None: apply at once.
    """
    doc = pn.state.curdoc
    if doc is None or doc.session_context is None:
        return None
    # Bokeh may run next-tick callbacks out of order (those added before the session is
    # attached are kept in a set), so callbacks go through a FIFO queue that every
    # scheduled drain empties in order: a late progress report never overwrites "done".
    pending: collections.deque[Callable[[], None]] = collections.deque()

    def drain() -> None:
        while True:
            try:
                fn = pending.popleft()
            except IndexError:
                return
            try:
                fn()
            except Exception:
                logger.exception("dashboard update failed")

    def dispatch(fn: Callable[[], None]) -> None:
        pending.append(fn)
        with set_curdoc(doc):
            pn.state.execute(drain, schedule=True)

    return dispatch


class CanapyApp(pn.viewable.Viewer):
    """The Canapy dashboard: Train, Evaluate and Re-annotate tabs over one session state.

    Parameters
    ----------
    data_dir : str or Path, optional
        Annotated corpus to open.
    run_root : str or Path, optional
        Where run folders are written and listed (default ``data_dir/.canapy/runs``).
    annot_format : str
        Annotation format of ``data_dir``.
    cache_dir : str or Path, optional
        Feature cache (default ``$CANAPY_CACHE_DIR`` or ``~/.cache/canapy/features``).
    registry_dir : str or Path, optional
        Model registry of the Train/Evaluate tabs (default as ``canapy models``:
        ``$CANAPY_REGISTRY`` or ``~/.local/share/canapy/registry``).
    state : AppState, optional
        Use this state instead of making one.
    tabs : list of (title, component class), optional
        Replaces :data:`TABS`.

    Examples
    --------
    In a notebook::

        import panel as pn
        pn.extension()
        from canapy.dashboards import CanapyApp
        CanapyApp(data_dir="my_corpus")
    """

    def __init__(
        self,
        data_dir: str | Path | None = None,
        run_root: str | Path | None = None,
        annot_format: str = "marron1csv",
        cache_dir: str | Path | None = None,
        registry_dir: str | Path | None = None,
        state: AppState | None = None,
        tabs: Sequence[tuple[str, Callable[..., pn.viewable.Viewer]]] | None = None,
        **params: Any,
    ) -> None:
        super().__init__(**params)
        self.state = state or AppState(
            data_dir=data_dir,
            run_root=run_root,
            annot_format=annot_format,
            cache_dir=cache_dir,
            dispatch=session_dispatch(),
            registry_dir=registry_dir,
        )
        if self.state.corpus is None and self.state.data_dir is not None:
            self.state.load_corpus()
        self.components = {title: cls(state=self.state) for title, cls in (tabs or TABS)}
        self.tabs = pn.Tabs(
            *self.components.items(), sizing_mode="stretch_width", css_classes=["canapy-tabs"]
        )
        self._progress = pn.indicators.Progress(
            value=0, max=100, width=220, bar_color="primary", css_classes=["canapy-progress"]
        )
        self._status = pn.pane.Markdown("", css_classes=["canapy-status"], margin=(0, 10))
        self._cancel = pn.widgets.Button(
            name="Cancel",
            button_type="warning",
            width=90,
            visible=False,
            css_classes=["canapy-cancel"],
        )
        self._cancel.on_click(lambda _: self.state.cancel())
        self._error = alert("canapy-error")
        header = pn.Row(
            pn.pane.Markdown("## Canapy", margin=(0, 20, 0, 10)),
            self._progress,
            self._cancel,
            self._status,
            sizing_mode="stretch_width",
            css_classes=["canapy-header"],
        )
        self._panel = pn.Column(
            header, self._error, self.tabs, sizing_mode="stretch_width", css_classes=["canapy-app"]
        )
        self.state.tasks.param.watch(
            self._show_status, ["busy", "progress", "status", "error", "timing"]
        )
        self._show_status()
        self.state.param.watch(self._show_tab, ["requested_tab"])

    def _show_tab(self, event: param.parameterized.Event) -> None:
        titles = list(self.components)
        if event.new in titles:
            self.tabs.active = titles.index(event.new)
        self.state.param.update(requested_tab="")

    def __panel__(self) -> pn.viewable.Viewable:
        return self._panel

    def _show_status(self, *_: Any) -> None:
        state = self.state.tasks
        self._progress.value = round(100 * state.progress)
        self._progress.active = state.busy and state.progress == 0
        self._cancel.visible = state.busy
        timing = f" <small>({state.timing})</small>" if state.timing and state.status else ""
        self._status.object = state.status + timing
        self._error.object = f"**Error:** {state.error}" if state.error else ""
        self._error.visible = bool(state.error)


def create_app(
    data_dir: str | Path | None = None,
    run_root: str | Path | None = None,
    annot_format: str = "marron1csv",
    cache_dir: str | Path | None = None,
    registry_dir: str | Path | None = None,
) -> CanapyApp:
    """Build a :class:`CanapyApp` for the current session (the server calls this per tab).

    Loads Panel's extensions and closes the state's threads when the session ends.
    """
    pn.extension("tabulator")
    app = CanapyApp(data_dir, run_root, annot_format, cache_dir, registry_dir)
    doc = pn.state.curdoc
    if doc is not None and doc.session_context is not None:
        doc.on_session_destroyed(lambda _ctx: app.state.close())
    return app
