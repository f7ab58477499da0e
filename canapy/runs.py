"""The run folder: naming new runs, listing them, reading one back, loading its models.

A run folder (written by :func:`canapy.workflow.train`) holds one model folder per kind,
the resolved ``config.toml``, ``run.json`` (files, held-out summaries, timings) and
``validation.json`` (the full held-out results). This module is the one place that knows
that layout for readers: the CLI, the dashboard and notebooks all go through it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from canapy.annotator import Annotator
from canapy.exceptions import CanapyError, ModelError
from canapy.interface import check_annotator
from canapy.metrics import EvaluationResult
from canapy.persistence import list_models, load_model, read_metadata

__all__ = [
    "OPTIMISTIC",
    "RUN_COLUMNS",
    "RUN_FILE",
    "VALIDATION_FILE",
    "RunInfo",
    "ScoringPlan",
    "heldout_description",
    "load_annotators",
    "load_default_annotator",
    "new_run_dir",
    "read_run",
    "read_validation",
    "runs_table",
    "scoring_plan",
]

logger = logging.getLogger(__name__)

RUN_FILE = "run.json"
VALIDATION_FILE = "validation.json"
OPTIMISTIC = "training files (optimistic)"
RUN_COLUMNS = [
    "run",
    "created",
    "models",
    "default_model",
    "frame_accuracy",
    "syllable_error_rate",
    "onset_f1",
    "train_seconds",
    "n_files",
    "units",
    "leak_rate",
    "spectral_radius",
    "ridge",
    "n_mels",
    "hop_ms",
    "path",
]
"""Columns of :func:`runs_table`."""


@dataclass(frozen=True)
class RunInfo:
    """What ``run.json`` says about a run folder (see :func:`read_run`).

    ``validation`` holds the held-out summary (``EvaluationResult.summary()``) of each
    model kind measured during training; empty when nothing was held out.
    """

    path: Path
    default_model: str | None
    models: tuple[str, ...]
    sample_rate: int | None = None
    training_files: tuple[str, ...] = ()
    validation_files: tuple[str, ...] = ()
    validation: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    train_seconds: float | None = None
    fingerprint: str | None = None
    granularity: Mapping[str, Any] | None = None
    """The annotation granularity inferred at training (``GranularityReport.to_dict()``)."""
    model_sha256: Mapping[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The run folder's name (its creation time)."""
        return self.path.name


@dataclass(frozen=True)
class ScoringPlan:
    """Which files to score a reopened run on, and what the scores then mean.

    ``kind`` is ``"rescored"`` (the run's validation files, scored again by the saved
    models that were retrained on them: optimistic) or ``"training"`` (the run held out
    nothing: every annotated file).
    """

    paths: tuple[Path, ...]
    kind: str
    description: str


def new_run_dir(root: str | Path, now: dt.datetime | None = None) -> Path:
    """Create and return a fresh ``root/<YYYYmmdd-HHMMSS>`` folder (suffixed if taken).

    The folder is created here, so two sessions training at the same second never share
    it.

    Examples
    --------
    >>> import tempfile
    >>> root = tempfile.mkdtemp()
    >>> when = dt.datetime(2024, 5, 1, 12, 0, 0)
    >>> new_run_dir(root, when).name, new_run_dir(root, when).name
    ('20240501-120000', '20240501-120000-2')
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    for k in range(1, 1000):
        path = root / (stamp if k == 1 else f"{stamp}-{k}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path
    raise CanapyError(f"{root}: cannot create a new run folder for {stamp}")


def read_run(run_dir: str | Path) -> RunInfo:
    """The ``run.json`` of a run folder (ModelError if it is not one)."""
    path = Path(run_dir) / RUN_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(
            f"{run_dir}: not a Canapy run folder (no {RUN_FILE}); create one with `canapy train`"
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}: corrupt run file: {exc}") from None
    except IsADirectoryError:
        raise ModelError(f"{path}: a folder, not a run file") from None
    if not isinstance(data, dict) or not isinstance(data.get("models"), list):
        raise ModelError(f"{path}: corrupt run file: no list of models")
    return RunInfo(
        path=Path(run_dir),
        default_model=data.get("default_model"),
        models=tuple(data["models"]),
        sample_rate=data.get("sample_rate"),
        training_files=tuple(data.get("training_files", [])),
        validation_files=tuple(data.get("validation_files", [])),
        validation=dict(data.get("validation") or {}),
        train_seconds=data.get("train_seconds"),
        fingerprint=data.get("fingerprint"),
        granularity=data.get("granularity"),
        model_sha256=dict(data.get("model_sha256") or {}),
    )


def read_validation(run_dir: str | Path) -> dict[str, EvaluationResult]:
    """The full held-out results saved by training (empty if the run has none)."""
    from canapy.metrics import evaluation_from_dict

    path = Path(run_dir) / VALIDATION_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {kind: evaluation_from_dict(res) for kind, res in data.items()}
    except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ModelError(f"{path}: corrupt held-out results: {exc}") from None


def load_annotators(
    run_dir: str | Path, kinds: Sequence[str] | None = None
) -> dict[str, Annotator]:
    """Load the annotators of a run folder (all, or ``kinds``), verifying their hashes."""
    run = read_run(run_dir)
    wanted = list(kinds) if kinds else list(run.models)
    out = {}
    for kind in wanted:
        if kind not in run.models:
            raise ModelError(
                f"{run_dir}: no {kind!r} model in this run (available: {', '.join(run.models)})"
            )
        obj, meta = load_model(Path(run_dir) / kind)
        expected = run.model_sha256.get(kind)
        if expected is not None and meta.get("model_sha256") != expected:
            raise ModelError(
                f"{Path(run_dir) / kind}: this model is not the one {RUN_FILE} lists (a mixed "
                "run: its models come from different trainings); refusing to use it; "
                "train the run again with `canapy train`"
            )
        out[kind] = check_annotator(obj, str(Path(run_dir) / kind))
    return out


def load_default_annotator(run_dir: str | Path, kind: str | None = None) -> Annotator:
    """The run's default annotator, or the one named ``kind``."""
    kind = kind or read_run(run_dir).default_model
    if kind is None:
        raise ModelError(f"{run_dir}: the run names no default model; choose one with --model")
    return load_annotators(run_dir, [kind])[kind]


def heldout_description(files: Sequence[str | Path]) -> str:
    """What held-out scores of a training run mean, naming the held-out ``files``.

    Examples
    --------
    >>> heldout_description(["/d/a.wav"])[:30]
    'Held-out validation files (1):'
    >>> OPTIMISTIC in heldout_description([])
    True
    """
    if not files:
        return (
            f"Scored on the {OPTIMISTIC}: training held out no file "
            "(training.validation_fraction = 0 or fewer than 4 files)."
        )
    names = ", ".join(Path(p).name for p in files[:6]) + (", ..." if len(files) > 6 else "")
    return (
        f"Held-out validation files ({len(files)}): {names}. The models scored here were "
        "trained without them; the saved models were then retrained on every file."
    )


def scoring_plan(run: RunInfo, annotated: Sequence[Path]) -> ScoringPlan:
    """Files to score a reopened run's saved models on, when its held-out results are lost.

    The run's validation files that are still in the corpus (``annotated``, matched by
    file name so a moved data folder still works); if the run held out none of them,
    every annotated file.

    Examples
    --------
    >>> run = RunInfo(Path("r"), "ensemble", ("ensemble",), validation_files=("/old/b.wav",))
    >>> plan = scoring_plan(run, [Path("/d/a.wav"), Path("/d/b.wav")])
    >>> plan.kind, [p.name for p in plan.paths]
    ('rescored', ['b.wav'])
    >>> scoring_plan(RunInfo(Path("r"), None, ()), [Path("/d/a.wav")]).kind
    'training'
    """
    by_name = {Path(p).name: Path(p) for p in annotated}
    paths = tuple(by_name[Path(p).name] for p in run.validation_files if Path(p).name in by_name)
    if paths:
        return ScoringPlan(
            paths,
            "rescored",
            f"Validation files ({len(paths)}) re-scored with the saved models. "
            "Those were retrained on every file, these included, so the scores "
            "below are optimistic; the held-out scores measured during training "
            "are in the last table.",
        )
    paths = tuple(Path(p) for p in annotated)
    return ScoringPlan(
        paths,
        "training",
        f"Scored on the {OPTIMISTIC}: this run has no held-out validation "
        f"file, so all {len(paths)} annotated files were scored.",
    )


def runs_table(root: str | Path) -> pd.DataFrame:
    """One row per run folder under ``root``: date, models, held-out metrics, key config.

    Built from :func:`canapy.persistence.list_models` (model folders) grouped by their
    run folder, :func:`read_run` (held-out metrics of the default model, training time)
    and the default model's metadata (its config). Newest first; columns
    :data:`RUN_COLUMNS`.

    Examples
    --------
    >>> runs_table("/nonexistent").columns.tolist() == RUN_COLUMNS
    True
    """
    models = list_models(root)
    rows = []
    if len(models):
        models = models.assign(run_dir=[str(Path(p).parent) for p in models["path"]])
        for run_dir, group in models.groupby("run_dir", sort=False):
            try:
                run = read_run(run_dir)
                default = run.default_model or group["kind"].iloc[0]
                cfg = read_metadata(Path(run_dir) / default).get("config", {})
            except ModelError as exc:
                logger.warning("skipping %s: %s", run_dir, exc)
                continue
            heldout = run.validation.get(default) or {}
            created = pd.to_datetime(group["created_at"], utc=True, errors="coerce").min()
            reservoir, readout = cfg.get("reservoir", {}), cfg.get("readout", {})
            features = cfg.get("features", {})
            rows.append(
                {
                    "run": run.name,
                    "created": _local(created),
                    "models": ", ".join(run.models),
                    "default_model": default,
                    "frame_accuracy": heldout.get("frame_accuracy"),
                    "syllable_error_rate": heldout.get("syllable_error_rate"),
                    "onset_f1": heldout.get("onset_f1"),
                    "train_seconds": run.train_seconds,
                    "n_files": len(run.training_files),
                    "units": reservoir.get("units"),
                    "leak_rate": reservoir.get("leak_rate"),
                    "spectral_radius": reservoir.get("spectral_radius"),
                    "ridge": readout.get("ridge"),
                    "n_mels": features.get("n_mels"),
                    "hop_ms": features.get("hop_ms"),
                    "path": str(run_dir),
                }
            )
    table = pd.DataFrame(rows, columns=RUN_COLUMNS)
    for col in ("frame_accuracy", "syllable_error_rate", "onset_f1", "train_seconds"):
        table[col] = pd.to_numeric(table[col], errors="coerce")
    table["created"] = pd.to_datetime(table["created"])
    return table.sort_values("created", ascending=False, kind="stable").reset_index(drop=True)


def _local(when: pd.Timestamp) -> pd.Timestamp:
    """A UTC timestamp as naive local time (run folders are named in local time)."""
    if pd.isna(when):
        return pd.NaT
    return when.tz_convert(dt.datetime.now().astimezone().tzinfo).tz_localize(None)
