"""Model actions shared by the CLI, the dashboard and the service: one function per action.

- :func:`resolve_source` — a run folder, a model folder or a registry reference -> a model
  folder; :func:`load_source` loads its annotator (signature checked first).
- :func:`register_run` — register one model of a run, with its lineage (data fingerprint
  and the annotation-store version it was trained from, found by :func:`store_lineage`).
- :func:`compare_models` — score several models on the same files (SER, frame accuracy,
  per-class F1), as a :class:`ModelComparison`.
- :func:`export_portable` / :func:`import_portable` — the pickle-free exchange format.
- :func:`trust_run` — sign the model files of a run the user made or checked.

Registry promotion, listing and removal are :meth:`Registry.promote`, :meth:`Registry.table`
and :meth:`Registry.remove`.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from canapy.corpus import Corpus, corpus_fingerprint
from canapy.evaluation import evaluate_annotators
from canapy.exceptions import CanapyError, ModelError, RegistryError
from canapy.interface import SongAnnotator, check_annotator
from canapy.metrics import EvaluationResult
from canapy.persistence import METADATA_FILE, load_model, read_metadata, save_model, trust_model
from canapy.portable import read_portable, write_portable
from canapy.registry import Registry, format_ref, parse_ref
from canapy.runs import RUN_FILE, read_run

__all__ = [
    "ModelComparison",
    "ModelSource",
    "compare_models",
    "export_portable",
    "import_portable",
    "load_source",
    "register_run",
    "resolve_source",
    "store_lineage",
    "trust_run",
]

logger = logging.getLogger(__name__)

ProgressFn = Callable[[float, str], None]
_MAX_STORE_VERSIONS = 200
_LOCAL_KEYS = ("model_signature", "model_sha256", "model_file")


@dataclass(frozen=True)
class ModelSource:
    """Where a model lives: its folder, a display label and (if registered) its reference."""

    folder: Path
    label: str
    ref: str | None = None


def resolve_source(
    source: str | Path, registry: Registry | None = None, kind: str | None = None
) -> ModelSource:
    """A run folder (``kind`` or its default model), a model folder, or ``name[@N]``.

    Raises
    ------
    ModelError
        A folder that holds neither a run nor a model, or an unknown kind.
    RegistryError
        Not a folder, and not a known registry reference.
    """
    path = Path(source)
    if path.is_dir():
        if (path / METADATA_FILE).is_file():
            return ModelSource(path, path.name)
        if (path / RUN_FILE).is_file():
            run = read_run(path)
            chosen = kind or run.default_model
            if chosen not in run.models:
                raise ModelError(
                    f"{path}: no {chosen!r} model in this run (available: {', '.join(run.models)})"
                )
            return ModelSource(path / chosen, f"{path.name}/{chosen}")
        raise ModelError(f"{path}: neither a run folder (run.json) nor a model folder")
    registry = registry or Registry()
    try:
        name, version = registry.resolve(str(source))
    except RegistryError as exc:
        raise RegistryError(f"{source}: no such run folder, and {exc}") from None
    ref = format_ref(name, version)
    return ModelSource(registry.version_dir(name, version), ref, ref)


def load_source(
    source: str | Path, registry: Registry | None = None, kind: str | None = None
) -> tuple[SongAnnotator, ModelSource]:
    """Load the annotator of :func:`resolve_source` (signature checked before unpickling)."""
    where = resolve_source(source, registry, kind)
    obj, _ = load_model(where.folder)
    return check_annotator(obj, str(where.folder)), where


def store_lineage(training_files: Sequence[str | Path], fingerprint: str | None) -> dict:
    """The annotation store and version a run was trained from, found by fingerprint.

    Looks for the store of the training files' data folder and returns the newest version
    whose corpus has the run's data fingerprint: ``{"annotation_store": path or None,
    "store_version": int or None}`` (None: trained from files no store version holds, e.g.
    the original annotation files before any store existed).
    """
    from canapy.store import AnnotationStore

    out: dict[str, Any] = {"annotation_store": None, "store_version": None}
    if not training_files or not fingerprint:
        return out
    data_dir = Path(os.path.commonpath([str(Path(p).absolute().parent) for p in training_files]))
    for folder in (data_dir, *list(data_dir.parents)[:2]):
        store = AnnotationStore.for_data_dir(folder)
        if not store.exists:
            continue
        out["annotation_store"] = str(store.root)
        head = store.head
        for version in range(head, max(0, head - _MAX_STORE_VERSIONS), -1):
            try:
                if corpus_fingerprint(store.as_corpus(version)) == fingerprint:
                    out["store_version"] = version
                    return out
            except CanapyError as exc:
                logger.debug("store version %s unreadable: %s", version, exc)
        return out
    return out


def register_run(
    run_dir: str | Path,
    name: str,
    *,
    kind: str | None = None,
    registry: Registry | None = None,
    message: str = "",
    store_version: int | None = None,
) -> tuple[str, int]:
    """Register one model of a run (``kind``, default the run's default) as ``name@next``.

    The card records the run's held-out metrics, config, data fingerprint and the
    annotation-store version the run was trained from (``store_version`` if given, else
    found by :func:`store_lineage`).
    """
    registry = registry or Registry()
    source = resolve_source(Path(run_dir), registry, kind)
    run = read_run(run_dir) if (Path(run_dir) / RUN_FILE).is_file() else None
    lineage = store_lineage(run.training_files if run else [], run.fingerprint if run else None)
    if store_version is not None:
        lineage["store_version"] = int(store_version)
    lineage["run"] = str(Path(run_dir).absolute())
    return registry.register(
        source.folder, name, message=message, lineage=lineage, source=str(source.folder)
    )


@dataclass
class ModelComparison:
    """Scores of several models on the same files (see :func:`compare_models`)."""

    results: dict[str, EvaluationResult]
    files: list[str] = field(default_factory=list)

    def summary_table(self) -> pd.DataFrame:
        """One row per model: SER, frame accuracy, onset/offset F1, segment counts."""
        cols = ["syllable_error_rate", "frame_accuracy", "onset_f1", "offset_f1"]
        rows = {label: {c: res.summary()[c] for c in cols} for label, res in self.results.items()}
        table = pd.DataFrame.from_dict(rows, orient="index", columns=cols)
        table.index.name = "model"
        return table

    def f1_table(self) -> pd.DataFrame:
        """Per-class frame F1: one row per class, one column per model."""
        table = pd.DataFrame({label: res.per_class["f1"] for label, res in self.results.items()})
        table.index.name = "label"
        return table

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: files, summary and per-class F1 per model, and every full result."""
        f1 = self.f1_table()
        return {
            "files": self.files,
            "summary": {k: res.summary() for k, res in self.results.items()},
            "per_class_f1": {
                c: {str(k): (None if pd.isna(v) else float(v)) for k, v in f1[c].items()}
                for c in f1.columns
            },
            "results": {k: res.to_dict() for k, res in self.results.items()},
        }


def compare_models(
    sources: Sequence[str | Path],
    corpus: Corpus,
    registry: Registry | None = None,
    cache_dir: Path | None = None,
    progress: ProgressFn | None = None,
) -> ModelComparison:
    """Score two or more models (registry references, run or model folders) on every
    annotated file of ``corpus``."""
    if len(sources) < 1:
        raise CanapyError("give at least one model to compare")
    annotators: dict[str, SongAnnotator] = {}
    for source in sources:
        ann, where = load_source(source, registry)
        annotators[where.label] = ann
    paths = list(corpus.annotated)
    if not paths:
        raise CanapyError("the comparison corpus has no annotated file")
    kwargs = {"progress": progress} if progress else {}
    results = evaluate_annotators(annotators, corpus, paths, cache_dir, **kwargs)
    return ModelComparison(results, [str(p) for p in paths])


def _portable_metadata(folder: Path, ref: str | None) -> dict[str, Any]:
    meta = {k: v for k, v in read_metadata(folder).items() if k not in _LOCAL_KEYS}
    card_path = folder / "card.json"
    if ref and card_path.is_file():
        import json

        card = json.loads(card_path.read_text(encoding="utf-8"))
        meta["registry"] = {k: card.get(k) for k in ("ref", "message", "lineage", "metrics")}
    return meta


def export_portable(
    source: str | Path,
    path: str | Path,
    registry: Registry | None = None,
    kind: str | None = None,
) -> Path:
    """Write a model (run, model folder or ``name[@N]``) as a pickle-free portable file.

    The model is loaded (signature checked) and its state and metadata written with
    :func:`canapy.portable.write_portable`; local signature fields are left out.
    """
    ann, where = load_source(source, registry, kind)
    return write_portable(ann, path, _portable_metadata(where.folder, where.ref))


def import_portable(
    path: str | Path,
    *,
    output: str | Path | None = None,
    registry: Registry | None = None,
    name: str | None = None,
    message: str = "",
) -> ModelSource:
    """Verify a portable file and save it locally as a signed joblib model.

    With ``output``, a model folder is written there (usable as ``canapy serve --model``);
    otherwise the model is registered as a new version of ``name`` (default: the name it
    had in the exporter's registry, else the file name).
    """
    obj, meta = read_portable(path)
    check_annotator(obj, str(path))
    meta = {k: v for k, v in meta.items() if k not in _LOCAL_KEYS}
    meta["imported_from"] = str(Path(path).absolute())
    if output is not None:
        folder = save_model(obj, output, meta)
        return ModelSource(folder, folder.name)
    previous = (meta.get("registry") or {}).get("ref")
    if name is None:
        stem = Path(path).name.split(".")[0]
        name = parse_ref(previous)[0] if previous else stem
    registry = registry or Registry()
    lineage = dict((meta.get("registry") or {}).get("lineage") or {})
    lineage["imported_from"] = meta["imported_from"]
    with tempfile.TemporaryDirectory(prefix="canapy-import-") as tmp:
        folder = save_model(obj, Path(tmp) / "model", meta)
        name, version = registry.register(
            folder, name, message=message or f"imported from {Path(path).name}", lineage=lineage
        )
    ref = format_ref(name, version)
    return ModelSource(registry.version_dir(name, version), ref, ref)


def trust_run(source: str | Path) -> list[Path]:
    """Sign every model folder of a run (or one model folder) with this user's key.

    Only for models the user made or whose origin was checked: nothing is unpickled, the
    files only have to match the sha256 their metadata records.
    """
    path = Path(source)
    if (path / METADATA_FILE).is_file():
        folders = [path]
    elif (path / RUN_FILE).is_file():
        folders = [path / kind for kind in read_run(path).models]
    else:
        raise ModelError(f"{path}: neither a run folder (run.json) nor a model folder")
    for folder in folders:
        trust_model(folder)
    return folders
