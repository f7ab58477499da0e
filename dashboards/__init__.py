"""Canapy's Panel dashboard (installed as ``canapy.dashboards``).

``canapy dash`` serves it; in Jupyter, after ``pn.extension()``::

    from canapy.dashboards import CanapyApp
    CanapyApp(data_dir="my_corpus")
"""

from __future__ import annotations

from .app import CanapyApp, create_app

__all__ = ["CanapyApp", "create_app"]
