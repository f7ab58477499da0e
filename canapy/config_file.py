"""The configuration as a commented TOML file: the template and the file of a run.

Kept apart from :mod:`canapy.config` (the typed tree, its validation and reading) so that
module stays one job: this one writes.

Examples
--------
>>> text = render_template()
>>> "[reservoir]" in text and "# Echo State Network reservoir." in text
True
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from canapy.config import PRESETS, Config, config_to_dict, default_config

__all__ = ["render_template", "save_config"]

_SECTION_DOCS = {
    "audio": "How audio files are loaded.",
    "features": "Spectral features (log-mel bands with deltas).",
    "reservoir": "Echo State Network reservoir.",
    "readout": "Ridge-regression readout.",
    "training": "Which annotators are trained, and how.",
    "postprocess": "Frame predictions -> segments.",
    "logreg": "The logreg model (when training.models lists it).",
    "annotate": "Annotating new recordings (long files, activity gate).",
}


def _field_docs(classes: list[type]) -> dict[str, dict[str, str]]:
    """Attribute docstrings (the string literal after each field) of dataclasses, by name.

    The source of each module involved is parsed once: ``inspect.getsource`` of a class
    parses its whole module again for every class, which made saving a config cost tens
    of milliseconds per training.
    """
    import ast
    import inspect
    import sys

    docs: dict[str, dict[str, str]] = {}
    for module_name in {cls.__module__ for cls in classes}:
        tree = ast.parse(inspect.getsource(sys.modules[module_name]))
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                docs[node.name] = _attribute_docs(node.body)
    return {cls.__name__: docs.get(cls.__name__, {}) for cls in classes}


def _attribute_docs(body: list) -> dict[str, str]:
    import ast

    docs: dict[str, str] = {}
    for node, nxt in zip(body, [*body[1:], None], strict=False):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(nxt, ast.Expr)
            and isinstance(nxt.value, ast.Constant)
        ):
            docs[node.target.id] = " ".join(str(nxt.value.value).split())
    return docs


def render_template(cfg: Config | None = None) -> str:
    """A commented TOML text holding every key of ``cfg`` (default: the defaults)."""
    import tomli_w

    cfg = cfg or default_config()
    lines = [
        "# Canapy configuration. Every key is optional: delete what you do not change.",
        f"# Presets (canapy train --preset NAME): {', '.join(sorted(PRESETS))}.",
        "",
    ]
    all_docs = _field_docs([type(getattr(cfg, f.name)) for f in fields(cfg)])
    for f in fields(cfg):
        docs = all_docs[type(getattr(cfg, f.name)).__name__]
        lines.append(f"# {_SECTION_DOCS[f.name]}")
        lines.append(f"[{f.name}]")
        for key, value in config_to_dict(cfg)[f.name].items():
            if key in docs:
                lines.append(f"# {docs[key]}")
            lines.append(tomli_w.dumps({key: value}).strip())
        lines.append("")
    return "\n".join(lines)


def save_config(cfg: Config, path: str | Path) -> None:
    """Write ``cfg`` as a commented TOML file, atomically."""
    from canapy.io_utils import atomic_write_text

    atomic_write_text(Path(path), render_template(cfg))
