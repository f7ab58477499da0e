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


def _field_docs(cls: type) -> dict[str, str]:
    """Attribute docstrings (the string literal after each field) of a dataclass."""
    import ast
    import inspect
    import textwrap

    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = tree.body[0].body  # type: ignore[attr-defined]
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
    for f in fields(cfg):
        section = getattr(cfg, f.name)
        docs = _field_docs(type(section))
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
