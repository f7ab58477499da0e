"""Canapy: train Echo State Network annotators of animal vocalisations.

The core package never imports Panel, Bokeh or HoloViews; the dashboard lives in
:mod:`canapy.dashboards`.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
