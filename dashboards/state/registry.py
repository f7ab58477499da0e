"""The model registry in the dashboard: register a run, promote a version, compare versions.

:class:`RegistryState` (``state.registry``) has no widget. Every action is a call into
:mod:`canapy.registry` and :mod:`canapy.model_ops`, the code ``canapy models register``,
``promote`` and ``compare`` run, so the dashboard and the command line cannot disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import param

from canapy.exceptions import CanapyError

from .tasks import Progress, TaskRunner

__all__ = [
    "REGISTRY_COLUMNS",
    "ComparedScores",
    "RegistryState",
    "heldout_paths",
    "name_problem",
    "source_options",
    "versions_frame",
]

REGISTRY_COLUMNS = ["name", "version", "kind", "promoted", "created", "heldout_ser", "ref"]
"""Columns of :attr:`RegistryState.versions` (``heldout_ser``: the card's held-out SER)."""


def name_problem(name: str) -> str:
    """Why ``name`` cannot be a model name ("" if it can, or if nothing is typed yet).

    Examples
    --------
    >>> name_problem("bird/test"), name_problem("")
    ('', '')
    >>> name_problem("bird/../x")[:20]
    "invalid model name '"
    """
    from canapy.registry import validate_name

    if not name.strip():
        return ""
    try:
        validate_name(name.strip())
    except CanapyError as exc:
        return str(exc)
    return ""


def versions_frame(table: pd.DataFrame) -> pd.DataFrame:
    """:meth:`canapy.registry.Registry.table` in the dashboard's columns, newest first.

    Examples
    --------
    >>> versions_frame(pd.DataFrame()).columns.tolist() == REGISTRY_COLUMNS
    True
    """
    if table.empty:
        return pd.DataFrame(columns=REGISTRY_COLUMNS)
    out = pd.DataFrame(
        {
            "name": table["name"].astype(str),
            "version": table["version"].astype(int),
            "kind": table["kind"].astype(str),
            "promoted": table["promoted"].astype(bool),
            "created": table["registered_at"].astype(str),
            "heldout_ser": pd.to_numeric(table.get("syllable_error_rate"), errors="coerce"),
            "ref": table["ref"].astype(str),
        }
    )
    return out.sort_values(["name", "version"], ascending=[True, False], ignore_index=True)


def source_options(versions: pd.DataFrame, runs: pd.DataFrame | None) -> dict[str, str]:
    """What the comparison can score: ``{shown text: source}`` for ``compare_models``.

    Registry versions (source ``name@N``) first, then the run folders (source: the
    folder, whose default model is used).

    Examples
    --------
    >>> versions = pd.DataFrame({"ref": ["b/t@2"], "promoted": [True]})
    >>> runs = pd.DataFrame({"run": ["2026-11-29_10-00-00"], "path": ["/r/2026-11-29_10-00-00"]})
    >>> source_options(versions, runs)
    {'b/t@2 (promoted)': 'b/t@2', 'run 2026-11-29_10-00-00': '/r/2026-11-29_10-00-00'}
    """
    out = {}
    for row in versions.itertuples(index=False):
        out[f"{row.ref} (promoted)" if row.promoted else str(row.ref)] = str(row.ref)
    if runs is not None:
        for row in runs.itertuples(index=False):
            out[f"run {row.run}"] = str(row.path)
    return out


def heldout_paths(run_dir: str | Path | None, corpus: Any) -> tuple[Path, ...]:
    """The files ``run_dir`` held out at training that ``corpus`` still has (may be none).

    The saved models of a run were retrained on every file afterwards, these included
    (:func:`canapy.runs.scoring_plan`); a comparison on them favours that run's models.
    """
    from canapy.runs import read_run, scoring_plan

    if run_dir is None or corpus is None:
        return ()
    plan = scoring_plan(read_run(run_dir), list(corpus.annotated))
    return plan.paths if plan.kind == "rescored" else ()


@dataclass(frozen=True)
class ComparedScores:
    """A finished comparison: the :class:`canapy.model_ops.ModelComparison` and its files."""

    comparison: Any
    description: str

    def summary(self) -> pd.DataFrame:
        """One row per model: SER, frame accuracy, onset and offset F1."""
        return self.comparison.summary_table().reset_index()

    def per_class(self) -> pd.DataFrame:
        """Per-class frame F1: one row per label, one column per model."""
        return self.comparison.f1_table().reset_index()


class RegistryState(param.Parameterized):
    """The registry's versions, the name being typed, and the last comparison.

    Parameters
    ----------
    root : str or Path, optional
        Registry folder (default :func:`canapy.registry.default_registry_dir`, as the CLI).
    tasks : TaskRunner, optional
        Runs registering and comparing off the event loop.

    Examples
    --------
    >>> import tempfile
    >>> reg = RegistryState(root=tempfile.mkdtemp())
    >>> len(reg.versions), reg.can_register
    (0, False)
    >>> reg.model_name = "bird/../x"
    >>> reg.name_error[:20], reg.can_register
    ("invalid model name '", False)
    >>> reg.tasks.close()
    """

    root = param.String(doc="Registry folder.")
    tasks = param.ClassSelector(class_=TaskRunner)
    versions = param.DataFrame(default=None, allow_None=True, doc="See REGISTRY_COLUMNS.")
    model_name = param.String(default="", doc="Model name typed by the user.")
    name_error = param.String(default="", doc="Why the typed name is invalid ('' if valid).")
    last_registered = param.String(default="", doc="Reference registered last, e.g. a/b@2.")
    compared = param.ClassSelector(class_=ComparedScores, default=None, allow_None=True)

    def __init__(
        self, root: str | Path | None = None, tasks: TaskRunner | None = None, **params: Any
    ) -> None:
        from canapy.registry import default_registry_dir

        root = str(root) if root is not None else str(default_registry_dir())
        super().__init__(root=root, tasks=tasks or TaskRunner(), **params)
        self.refresh()

    @property
    def registry(self) -> Any:
        """The :class:`canapy.registry.Registry` of :attr:`root`."""
        from canapy.registry import Registry

        return Registry(self.root)

    @property
    def can_register(self) -> bool:
        """A valid name is typed and nothing else runs."""
        return bool(self.model_name.strip()) and not self.name_error and not self.tasks.busy

    @param.depends("model_name", watch=True)
    def _check_name(self) -> None:
        self.name_error = name_problem(self.model_name)

    def refresh(self) -> None:
        """Re-read the registry's versions (a damaged registry is reported, not raised)."""
        try:
            table = self.registry.table()
        except CanapyError as exc:
            self.tasks.error = str(exc)
            table = pd.DataFrame()
        self.versions = versions_frame(table)

    def register(
        self, run_dir: str | Path, kind: str | None = None, promote: bool = False, message: str = ""
    ) -> Future:
        """Register model ``kind`` of ``run_dir`` (default: the run's default) as the next
        version of :attr:`model_name` (:func:`canapy.model_ops.register_run`); promote it if asked.

        Raises
        ------
        CanapyError
            Invalid name (the message of :func:`canapy.registry.validate_name`).
        """
        from canapy.model_ops import register_run
        from canapy.registry import format_ref, validate_name

        name = validate_name(self.model_name.strip())
        registry = self.registry

        def job(progress: Progress) -> str:
            progress(0.1, f"registering {Path(run_dir).name} as {name}")
            registered = register_run(
                run_dir, name, kind=kind or None, registry=registry, message=message
            )
            if promote:
                registry.promote(*registered)
            return format_ref(*registered)

        def apply(ref: str) -> None:
            self.last_registered = ref
            self.refresh()

        promoted = " and promoting" if promote else ""
        return self.tasks.submit(f"registering{promoted} {name}", job, apply)

    def promote(self, ref: str) -> str:
        """Make ``ref`` (``name@N``) the promoted version of its name; returns ``ref``."""
        self.registry.promote(ref)
        self.refresh()
        return ref

    def compare(
        self,
        sources: Sequence[str],
        corpus: Any = None,
        paths: Sequence[str | Path] | None = None,
        folder: str | Path | None = None,
        annot_format: str = "marron1csv",
        cache_dir: str | Path | None = None,
    ) -> Future:
        """Score ``sources`` on the same files (:func:`canapy.model_ops.compare_models`).

        The files: the annotated files of ``folder`` when given (loaded in the
        background), else ``paths`` of ``corpus``, else every annotated file of ``corpus``.
        The result lands in :attr:`compared`.
        """
        from canapy.model_ops import compare_models
        from canapy.progress import scaled

        sources = list(dict.fromkeys(sources))
        if len(sources) < 2:
            raise CanapyError("pick two or more versions or runs to compare")
        if folder is None and corpus is None:
            raise CanapyError("no labelled files to score: load a corpus or give a folder")
        registry = self.registry
        cache = Path(cache_dir) if cache_dir else None

        def job(progress: Progress) -> ComparedScores:
            from canapy.corpus import load_corpus

            data = load_corpus(folder, annot_format=annot_format) if folder else corpus
            if paths is not None and folder is None:
                data = data.subset([Path(p) for p in paths])
            found = compare_models(sources, data, registry, cache, scaled(progress, 0.05, 1.0))
            where = f"`{folder}`" if folder else f"`{Path(found.files[0]).parent}`"
            text = f"{len(found.files)} annotated file(s) of {where}, {len(data.segments)} segments"
            return ComparedScores(found, text)

        def apply(result: ComparedScores) -> None:
            self.compared = result

        return self.tasks.submit(f"comparing {len(sources)} models", job, apply)
