"""What a figures table is, for ``make_tables.py`` and the ``tables_*.py`` modules.

A :class:`Table` names the benchmark whose result files it reads and the function that
turns the result into Markdown rows. To add a table: write the function in the
``tables_*.py`` module of its area, add one entry to that module's ``TABLES`` dict, put a
``<!-- table:NAME -->`` / ``<!-- /table:NAME -->`` pair in the document and run
``python benchmarks/make_tables.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Table:
    """One generated block.

    Parameters
    ----------
    benchmark : str
        Result files read: ``benchmarks/results/<benchmark>-*.json`` whose ``benchmark``
        field is this name.
    render : callable
        ``render(doc) -> list of Markdown lines`` for the newest matching result, or, with
        ``every``, ``render(docs)`` over every matching result, newest first.
    needs : str, optional
        Only results holding this top-level key (a benchmark whose parts run separately).
    variant : str, optional
        Only results whose ``variant`` field is this (e.g. the code before a change);
        without it, only results with no ``variant``.
    every : bool
        Pass every matching result (rows gathered from several runs), not only the newest.
    """

    benchmark: str
    render: Callable
    needs: str | None = None
    variant: str | None = None
    every: bool = False


def row(cells: list[str]) -> str:
    """One Markdown table row."""
    return "| " + " | ".join(cells) + " |"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A Markdown table: header, rule, rows."""
    return [row(header), row(["---"] * len(header)), *(row(r) for r in rows)]


def seconds(x: float | None) -> str:
    """``12.3 s``, or ``—`` when not measured."""
    return "—" if x is None else f"{x:g} s"


def mib(x: float | None) -> str:
    """Megabytes as the benchmarks record them (``ru_maxrss`` / 1024), or ``—``."""
    return "—" if x is None else f"{x:.0f} MiB"
