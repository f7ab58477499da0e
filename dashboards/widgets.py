"""Widget factories shared by the tabs: tables, buttons, cards, typed text.

Every tab builds its tables and cards the same way (read-only Tabulator without index,
fixed cards with a CSS class the browser tests can find); keeping the factories here keeps
the page consistent.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import panel as pn

__all__ = ["alert", "button", "card", "fit_table", "table", "table_height", "typed"]


def table(css: str, value: pd.DataFrame | None = None, **kw: Any) -> pn.widgets.Tabulator:
    """A read-only table without index, as wide as its container unless told otherwise."""
    kw.setdefault("sizing_mode", "stretch_width")
    return pn.widgets.Tabulator(
        pd.DataFrame() if value is None else value,
        show_index=False,
        disabled=True,
        css_classes=[css],
        **kw,
    )


def table_height(df: pd.DataFrame, max_rows: int = 10) -> int:
    """Pixel height of a table showing ``df``'s rows, at most ``max_rows`` of them."""
    return 42 + 30 * max(1, min(len(df), max_rows))


def fit_table(widget: pn.widgets.Tabulator, df: pd.DataFrame, max_rows: int = 10) -> None:
    """Set a table's data and fit its height to at most ``max_rows`` rows."""
    widget.value = df
    widget.height = table_height(df, max_rows)


def button(name: str, css: str, **kw: Any) -> pn.widgets.Button:
    """A button with a CSS class (the browser tests click through it)."""
    return pn.widgets.Button(name=name, css_classes=[css], **kw)


def workers_input(tasks: Any) -> pn.widgets.IntInput:
    """How many local Dask workers train and annotate (``tasks.workers``; 0: in process)."""
    return pn.widgets.IntInput.from_param(
        tasks.param.workers,
        name="Dask workers (0: here)",
        width=150,
        css_classes=["canapy-workers"],
        description="Run the work on this many Dask worker processes of this machine "
        "(canapy.distributed); 0 keeps it in the dashboard's process.",
    )


def card(title: str, *objects: Any, css: str, **kw: Any) -> pn.Card:
    """A non-collapsible card, as wide as its container unless told otherwise."""
    kw.setdefault("sizing_mode", "stretch_width")
    return pn.Card(*objects, title=title, collapsible=False, css_classes=[css], **kw)


def typed(widget: pn.widgets.TextInput) -> str:
    """What the user typed in a text box, even before the box lost the focus."""
    return str(widget.value_input or widget.value or "").strip()


def alert(css: str, alert_type: str = "danger", **kw: Any) -> pn.pane.Alert:
    """A hidden, full-width message box (shown when it gets a message)."""
    kw.setdefault("sizing_mode", "stretch_width")
    return pn.pane.Alert("", alert_type=alert_type, visible=False, css_classes=[css], **kw)
