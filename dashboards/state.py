"""The per-session state of the dashboard: data, configuration, runs, evaluation.

:class:`AppState` holds everything a browser session (or a notebook) works on and has no
widget: the tabs only display it and call its methods. Long work (loading the corpus,
training, evaluating, annotating) goes to a thread executor owned by the state; the
results come back through ``dispatch``, which the served app sets to "run this on the
session's event loop" (in a notebook or a test, results are applied at once).

Every computation is a call into :mod:`canapy` (``corpus``, ``workflow``, ``metrics``,
``persistence``); nothing here re-implements them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
import param

from canapy.annotator import MODEL_KINDS
from canapy.audio import audio_info
from canapy.config import PRESETS, Config, apply_preset, config_from_dict, default_config
from canapy.exceptions import CanapyError, ModelError

__all__ = [
    "CONFIG_FIELDS",
    "AppState",
    "Cancelled",
    "ConfigForm",
    "metrics_frame",
    "new_run_dir",
    "runs_table",
]

logger = logging.getLogger(__name__)

Dispatch = Callable[[Callable[[], None]], None]

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
METRIC_COLUMNS = ["frame_accuracy", "syllable_error_rate", "onset_f1", "offset_f1", "n_files"]
OPTIMISTIC = "training files (optimistic)"


class Cancelled(Exception):  # noqa: N818 - reads better at the raise site than CancelledError
    """Raised inside a task's progress callback when the user cancelled the task."""


def _immediate(fn: Callable[[], None]) -> None:
    fn()


# --------------------------------------------------------------------------- pure helpers


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


def runs_table(root: str | Path) -> pd.DataFrame:
    """One row per run folder under ``root``: date, models, held-out metrics, key config.

    Built from :func:`canapy.persistence.list_models` (model folders) grouped by their
    run folder, :func:`canapy.workflow.read_run` (held-out metrics of the default model,
    training time) and the default model's metadata (its config). Newest first.
    """
    from canapy.persistence import list_models, read_metadata
    from canapy.workflow import read_run

    models = list_models(root)
    rows = []
    if len(models):
        models = models.assign(run_dir=[str(Path(p).parent) for p in models["path"]])
        for run_dir, group in models.groupby("run_dir", sort=False):
            try:
                run = read_run(run_dir)
                default = run.get("default_model") or group["kind"].iloc[0]
                cfg = read_metadata(Path(run_dir) / default).get("config", {})
            except ModelError as exc:
                logger.warning("skipping %s: %s", run_dir, exc)
                continue
            heldout = (run.get("validation") or {}).get(default) or {}
            created = pd.to_datetime(group["created_at"], utc=True, errors="coerce").min()
            rows.append(
                {
                    "run": Path(run_dir).name,
                    "created": _local(created),
                    "models": ", ".join(run.get("models", [])),
                    "default_model": default,
                    "frame_accuracy": heldout.get("frame_accuracy"),
                    "syllable_error_rate": heldout.get("syllable_error_rate"),
                    "onset_f1": heldout.get("onset_f1"),
                    "train_seconds": run.get("train_seconds"),
                    "n_files": len(run.get("training_files", [])),
                    "units": cfg.get("reservoir", {}).get("units"),
                    "leak_rate": cfg.get("reservoir", {}).get("leak_rate"),
                    "spectral_radius": cfg.get("reservoir", {}).get("spectral_radius"),
                    "ridge": cfg.get("readout", {}).get("ridge"),
                    "n_mels": cfg.get("features", {}).get("n_mels"),
                    "hop_ms": cfg.get("features", {}).get("hop_ms"),
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


def metrics_frame(results: Mapping[str, Any]) -> pd.DataFrame:
    """Headline metrics, one row per model, from ``{kind: EvaluationResult}``.

    Examples
    --------
    >>> metrics_frame({}).columns.tolist()
    ['model', 'frame_accuracy', 'syllable_error_rate', 'onset_f1', 'offset_f1', 'n_files']
    """
    rows = [
        {"model": kind, **{c: res.summary()[c] for c in METRIC_COLUMNS}}
        for kind, res in results.items()
    ]
    return pd.DataFrame(rows, columns=["model", *METRIC_COLUMNS])


# --------------------------------------------------------------------------- config form

CONFIG_FIELDS: dict[str, str] = {
    "features_kind": "Features",
    "features_n_mels": "Mel bands",
    "features_hop_ms": "Hop (ms)",
    "features_win_ms": "Window (ms)",
    "features_fmin": "Lowest frequency (Hz)",
    "reservoir_units": "Reservoir units",
    "reservoir_spectral_radius": "Spectral radius",
    "reservoir_leak_rate": "Leak rate",
    "reservoir_input_scaling": "Input scaling",
    "reservoir_bidirectional": "Bidirectional",
    "readout_ridge": "Ridge",
    "training_models": "Models",
    "training_default_model": "Default model",
    "training_validation_fraction": "Held-out fraction",
    "postprocess_min_duration_ms": "Min. segment (ms)",
}
"""Editable config values: ``<section>_<key>`` -> label shown in the editor."""


def _split(name: str) -> tuple[str, str]:
    section, key = name.split("_", 1)
    return section, key


class ConfigForm(param.Parameterized):
    """The editable part of a :class:`canapy.config.Config`, validated by the core.

    Values carry no bounds of their own: :func:`canapy.config.config_from_dict` checks
    them, and its message lands in :attr:`error` (and :attr:`config` becomes None).

    Examples
    --------
    >>> form = ConfigForm()
    >>> form.reservoir_units = 5
    >>> form.config is None, form.error.startswith("invalid value for reservoir.units")
    (True, True)
    >>> form.reservoir_units = 100
    >>> form.config.reservoir.units, form.error
    (100, '')
    """

    preset = param.Selector(default="default", objects=["default", *sorted(PRESETS)])
    features_kind = param.Selector(default="logmel", objects=["logmel", "mfcc"])
    features_n_mels = param.Integer(default=None, allow_None=True)
    features_hop_ms = param.Number(default=None, allow_None=True)
    features_win_ms = param.Number(default=None, allow_None=True)
    features_fmin = param.Number(default=None, allow_None=True)
    reservoir_units = param.Integer(default=None, allow_None=True)
    reservoir_spectral_radius = param.Number(default=None, allow_None=True)
    reservoir_leak_rate = param.Number(default=None, allow_None=True)
    reservoir_input_scaling = param.Number(default=None, allow_None=True)
    reservoir_bidirectional = param.Boolean(default=True)
    readout_ridge = param.Number(default=None, allow_None=True)
    training_models = param.ListSelector(default=list(MODEL_KINDS), objects=list(MODEL_KINDS))
    training_default_model = param.Selector(default="ensemble", objects=list(MODEL_KINDS))
    training_validation_fraction = param.Number(default=None, allow_None=True)
    postprocess_min_duration_ms = param.Number(default=None, allow_None=True)

    config = param.Parameter(default=None, doc="The validated Config, or None if invalid.")
    error = param.String(default="", doc="ConfigError message of the current values.")

    def __init__(self, base: Config | None = None, **params: Any) -> None:
        super().__init__(**params)
        self._base = base or default_config()
        self.load(self._base)

    def base(self) -> Config:
        """The preset (or default) config the editable values are applied on."""
        return apply_preset(self.preset) if self.preset != "default" else default_config()

    def load(self, cfg: Config) -> None:
        """Show the values of ``cfg``."""
        values = {}
        for name in CONFIG_FIELDS:
            section, key = _split(name)
            value = getattr(getattr(cfg, section), key)
            values[name] = list(value) if isinstance(value, tuple) else value
        self.param.update(values)  # one batch: widgets follow, validation runs once
        self._validate()

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """The editable values as ``{section: {key: value}}`` for ``config_from_dict``."""
        out: dict[str, dict[str, Any]] = {}
        for name in CONFIG_FIELDS:
            section, key = _split(name)
            out.setdefault(section, {})[key] = getattr(self, name)
        return out

    @param.depends("preset", watch=True)
    def _on_preset(self) -> None:
        self.load(self.base())

    @param.depends(*CONFIG_FIELDS, watch=True)
    def _validate(self) -> None:
        try:
            cfg = config_from_dict(self.to_dict(), self.base())
        except CanapyError as exc:
            self.param.update(config=None, error=str(exc))
        else:
            self.param.update(config=cfg, error="")


# --------------------------------------------------------------------------- state


class AppState(param.Parameterized):
    """Everything one session works on; no widgets, so it is unit-testable.

    Parameters
    ----------
    data_dir : str or Path, optional
        Annotated corpus to open (see :func:`canapy.corpus.load_corpus`).
    run_root : str or Path, optional
        Folder of the run folders; default ``data_dir/.canapy/runs``.
    annot_format : str
        Annotation format of ``data_dir``.
    cache_dir : str or Path, optional
        Feature cache; default :func:`canapy.workflow.default_cache_dir`.
    dispatch : callable, optional
        ``dispatch(fn)`` runs ``fn()`` where state may be changed (the session's event
        loop); default: at once, in the calling thread.

    Examples
    --------
    >>> state = AppState()
    >>> state.can_train, state.form.config.reservoir.units
    (False, 600)
    >>> state.close()
    """

    data_dir = param.String(default=None, allow_None=True)
    annot_format = param.String(default="marron1csv")
    run_root = param.String(default=None, allow_None=True)
    cache_dir = param.String(default=None, allow_None=True)

    corpus = param.Parameter(default=None, doc="The loaded canapy.corpus.Corpus.")
    corpus_error = param.String(default="")
    corpus_warnings = param.List(default=[], doc="Skipped files and corpus.check() warnings.")
    audio_seconds = param.Number(default=0.0, doc="Total duration of the audio files.")

    form = param.ClassSelector(class_=ConfigForm)

    busy = param.Boolean(default=False, doc="A long task (load, train, evaluate) is running.")
    task = param.String(default="")
    progress = param.Number(default=0.0, bounds=(0.0, 1.0))
    status = param.String(default="")
    error = param.String(default="", doc="Message of the last failed task.")
    view_status = param.String(default="", doc="Status of the viewer's background work.")

    runs = param.DataFrame(default=None, allow_None=True)
    active_run = param.String(default=None, allow_None=True)
    annotators = param.Dict(default={})
    evaluation = param.Dict(default={}, doc="{kind: EvaluationResult} of the active run.")
    evaluation_paths = param.List(default=[])
    evaluation_label = param.String(default="")
    heldout = param.Dict(default={}, doc="Held-out summaries saved in the run's run.json.")
    eval_model = param.String(default=None, allow_None=True)

    predictions = param.Dict(default={}, doc="{kind: {audio_path: segments}} of the run.")
    confusion_cell = param.Tuple(default=None, allow_None=True, length=2)
    confusion_files = param.DataFrame(default=None, allow_None=True)
    focus_path = param.String(default=None, allow_None=True)
    focus_window = param.NumericTuple(default=None, allow_None=True, length=2)

    review_path = param.String(default=None, allow_None=True)

    def __init__(
        self,
        data_dir: str | Path | None = None,
        run_root: str | Path | None = None,
        annot_format: str = "marron1csv",
        cache_dir: str | Path | None = None,
        dispatch: Dispatch | None = None,
        **params: Any,
    ) -> None:
        from canapy.workflow import default_cache_dir

        if run_root is None and data_dir is not None:
            run_root = Path(data_dir) / ".canapy" / "runs"
        super().__init__(
            data_dir=None if data_dir is None else str(data_dir),
            run_root=None if run_root is None else str(run_root),
            annot_format=annot_format,
            cache_dir=str(cache_dir or default_cache_dir()),
            form=ConfigForm(),
            **params,
        )
        self.dispatch: Dispatch = dispatch or _immediate
        self._work = ThreadPoolExecutor(1, thread_name_prefix="canapy-work")
        self._view = ThreadPoolExecutor(1, thread_name_prefix="canapy-view")
        self._cancel = threading.Event()
        self._closed = False
        # run_dir -> (TrainResult, results, scored paths, label) of the runs trained here
        self._trained: dict[str, tuple] = {}
        self.refresh_runs()

    # -- derived ------------------------------------------------------------------------
    @property
    def can_train(self) -> bool:
        """A corpus is loaded, the config is valid and nothing else runs."""
        return self.corpus is not None and self.form.config is not None and not self.busy

    @property
    def cache_path(self) -> Path:
        return Path(self.cache_dir)

    def reference(self, path: str | Path) -> pd.DataFrame:
        """Reference segments of one file (empty if there is no corpus)."""
        if self.corpus is None:
            return pd.DataFrame(columns=["onset_s", "offset_s", "label"])
        return self.corpus.segments_of(path)

    def tracks_for(self, path: str | Path) -> dict[str, pd.DataFrame]:
        """Annotation tracks of a file: the reference, then each model's prediction."""
        tracks = {"reference": self.reference(path)}
        for kind in self.annotators:
            segs = self.predictions.get(kind, {}).get(str(path))
            if segs is not None:
                tracks[kind] = segs
        return tracks

    # -- task machinery -----------------------------------------------------------------
    def _make_progress(self) -> Callable[[float, str], None]:
        last = [0.0, -1.0]

        def progress(fraction: float, message: str) -> None:
            if self._cancel.is_set():
                raise Cancelled(message)
            now = time.monotonic()
            if now - last[0] < 0.1 and fraction - last[1] < 0.01 and fraction < 1.0:
                return  # throttle: a few updates per second are plenty for a progress bar
            last[:] = [now, fraction]
            self._send(
                lambda: self.param.update(progress=min(1.0, max(0.0, fraction)), status=message)
            )

        return progress

    def _send(self, fn: Callable[[], None]) -> None:
        if self._closed:
            return
        try:
            self.dispatch(fn)
        except Exception:  # the session may be gone while a task finishes
            logger.debug("could not dispatch an update", exc_info=True)

    def _submit(
        self,
        task: str,
        job: Callable[[Callable[[float, str], None]], Any],
        apply: Callable[[Any], None],
        done: str = "",
        cleanup: Callable[[], None] | None = None,
    ) -> Future:
        """Run ``job(progress)`` on the work thread; then ``apply(result)`` via dispatch."""
        if self.busy:
            raise CanapyError(f"busy with {self.task}: wait for it to finish or cancel it")
        self._cancel.clear()
        self.param.update(busy=True, task=task, progress=0.0, status=f"{task}...", error="")

        def finish(**values: Any) -> None:
            self.param.update(busy=False, task="", **values)

        def run() -> Any:
            try:
                result = job(self._make_progress())
            except Cancelled:
                if cleanup:
                    cleanup()
                self._send(lambda: finish(progress=0.0, status=f"{task} cancelled"))
                raise
            except Exception as exc:
                if cleanup:
                    cleanup()
                if not isinstance(exc, CanapyError):
                    logger.exception("%s failed", task)
                message = str(exc)
                if not isinstance(exc, CanapyError):
                    message = f"{type(exc).__name__}: {exc}"
                self._send(lambda: finish(progress=0.0, status=f"{task} failed", error=message))
                raise

            def complete() -> None:
                try:
                    apply(result)
                except Exception as exc:
                    logger.exception("applying the result of %s failed", task)
                    finish(status=f"{task} failed", error=f"{type(exc).__name__}: {exc}")
                else:
                    finish(progress=1.0, status=done or f"{task} done")

            self._send(complete)
            return result

        return self._work.submit(run)

    def _submit_view(
        self, message: str, job: Callable[[], Any], apply: Callable[[Any], None]
    ) -> Future:
        """Light work for the viewer (predictions of a file) on its own thread."""
        self.view_status = message

        def run() -> Any:
            try:
                result = job()
            except Exception as exc:
                logger.exception("%s failed", message)
                failed = f"{message} failed: {exc}"
                self._send(lambda: setattr(self, "view_status", failed))
                raise

            def complete() -> None:
                apply(result)
                self.view_status = ""

            self._send(complete)
            return result

        return self._view.submit(run)

    def wait(self, timeout: float | None = None) -> None:
        """Block until the work submitted so far has finished (for notebooks and scripts).

        With the default ``dispatch`` the results are applied by then; in a served
        session they are applied on the event loop just after.
        """
        self._work.submit(lambda: None).result(timeout)
        self._view.submit(lambda: None).result(timeout)

    def cancel(self) -> None:
        """Ask the running task to stop at its next progress report."""
        if self.busy:
            self._cancel.set()
            self.status = f"cancelling {self.task}..."

    def close(self) -> None:
        """Cancel running work and release the threads (the session is gone)."""
        self._cancel.set()
        self._closed = True
        self._work.shutdown(wait=False, cancel_futures=True)
        self._view.shutdown(wait=False, cancel_futures=True)

    # -- data ---------------------------------------------------------------------------
    def load_corpus(self, data_dir: str | Path | None = None) -> Future:
        """(Re)load the annotated corpus of ``data_dir`` (default: the current one)."""
        from canapy.corpus import load_corpus

        folder = str(data_dir) if data_dir is not None else self.data_dir
        fmt = self.annot_format
        if folder is None:
            self.corpus_error = "no data folder: give one to open a corpus"
            raise CanapyError(self.corpus_error)

        def job(progress: Callable[[float, str], None]) -> tuple:
            try:
                corpus = load_corpus(folder, annot_format=fmt, skip_bad=True)
            except CanapyError as exc:
                return None, str(exc), [], 0.0
            warnings = [f"skipped: {p}" for p in corpus.problems] + corpus.check()
            total = 0.0
            for k, path in enumerate(corpus.audio_paths):
                progress(k / max(1, len(corpus.audio_paths)), f"reading {path.name}")
                with contextlib.suppress(CanapyError):
                    total += audio_info(path)[1]
            return corpus, "", warnings, total

        def apply(result: tuple) -> None:
            corpus, error, warnings, total = result
            self.param.update(
                data_dir=folder,
                corpus=corpus,
                corpus_error=error,
                corpus_warnings=warnings,
                audio_seconds=total,
                review_path=str(corpus.audio_paths[0]) if corpus and corpus.audio_paths else None,
            )

        return self._submit("loading the corpus", job, apply, done="corpus loaded")

    def refresh_runs(self) -> None:
        """Re-read the run folders under :attr:`run_root`."""
        self.runs = (
            runs_table(self.run_root) if self.run_root else pd.DataFrame(columns=RUN_COLUMNS)
        )

    # -- training -----------------------------------------------------------------------
    def train(self) -> Future:
        """Train the models of the current config on the corpus, into a new run folder."""
        from canapy.workflow import evaluate_annotators, train

        cfg = self.form.config
        if cfg is None:
            raise CanapyError(f"invalid configuration: {self.form.error}")
        if self.corpus is None:
            raise CanapyError(self.corpus_error or "no corpus loaded")
        if self.run_root is None:
            raise CanapyError("no folder for the runs (run_root)")
        corpus, cache = self.corpus, self.cache_path
        run_dir = new_run_dir(self.run_root)

        def job(progress: Callable[[float, str], None]) -> tuple:
            result = train(corpus, cfg, run_dir, cache, _scaled(progress, 0.0, 0.9))
            if result.validation:
                return (
                    result,
                    result.validation,
                    result.validation_files,
                    _heldout_label(result.validation_files),
                )
            paths = list(corpus.annotated)  # nothing held out: score the training files
            results = evaluate_annotators(
                result.annotators, corpus, paths, cache, _scaled(progress, 0.9, 1.0)
            )
            return result, results, [str(p) for p in paths], _heldout_label([])

        def cleanup() -> None:
            with contextlib.suppress(OSError):
                run_dir.rmdir()  # only if still empty: a failed run leaves no folder

        def apply(outcome: tuple) -> None:
            result = outcome[0]
            self._trained[str(result.run_dir)] = outcome
            self.refresh_runs()
            self._activate(str(result.run_dir), result.annotators, *outcome[1:])

        return self._submit("training", job, apply, done=f"trained {run_dir.name}", cleanup=cleanup)

    # -- runs and evaluation --------------------------------------------------------------
    def select_run(self, run_dir: str | Path) -> Future | None:
        """Make a run active: load its models and evaluate them (see the module doc)."""
        from canapy.workflow import evaluate_annotators, load_annotators, read_run

        run_dir = str(run_dir)
        if run_dir == self.active_run and self.evaluation:
            return None
        if run_dir in self._trained:  # trained in this session: held-out results in memory
            result, *evaluation = self._trained[run_dir]
            self._activate(run_dir, result.annotators, *evaluation)
            return None
        if self.corpus is None:
            raise CanapyError(self.corpus_error or "no corpus loaded")
        corpus, cache = self.corpus, self.cache_path

        def job(progress: Callable[[float, str], None]) -> tuple:
            progress(0.0, f"loading the models of {Path(run_dir).name}")
            annotators = load_annotators(run_dir)
            run = read_run(run_dir)
            by_name = {p.name: p for p in corpus.annotated}
            paths = [
                by_name[Path(p).name]
                for p in run.get("validation_files", [])
                if Path(p).name in by_name
            ]
            if paths:
                label = (
                    f"Validation files ({len(paths)}) re-scored with the saved models. "
                    "Those were retrained on every file, these included, so the scores "
                    "below are optimistic; the held-out scores measured during training "
                    "are in the last table."
                )
            else:
                paths = list(corpus.annotated)
                label = (
                    f"Scored on the {OPTIMISTIC}: this run has no held-out validation "
                    f"file, so all {len(paths)} annotated files were scored."
                )
            results = evaluate_annotators(annotators, corpus, paths, cache, progress)
            return annotators, results, [str(p) for p in paths], label

        def apply(result: tuple) -> None:
            annotators, results, paths, label = result
            self._activate(run_dir, annotators, results, paths, label)

        return self._submit(
            f"evaluating {Path(run_dir).name}", job, apply, done=f"evaluated {Path(run_dir).name}"
        )

    def _activate(
        self,
        run_dir: str,
        annotators: Mapping[str, Any],
        results: Mapping[str, Any],
        paths: Sequence[str],
        label: str,
    ) -> None:
        from canapy.workflow import read_run

        try:
            run = read_run(run_dir)
        except ModelError:
            run = {}
        kinds = list(results) or list(annotators)
        default = run.get("default_model")
        eval_model = default if default in kinds else (kinds[0] if kinds else None)
        self.param.update(
            active_run=run_dir,
            annotators=dict(annotators),
            evaluation=dict(results),
            evaluation_paths=[str(p) for p in paths],
            evaluation_label=label,
            heldout=dict(run.get("validation") or {}),
            predictions={},
            confusion_cell=None,
            confusion_files=None,
            eval_model=eval_model,
        )
        per_file = self.evaluation[eval_model].per_file if eval_model in self.evaluation else None
        if per_file is not None and len(per_file):
            self.select_file(per_file["audio_path"].iloc[0])  # the worst file first

    # -- focus: what the Evaluate tab's viewer shows --------------------------------------
    def select_file(
        self, path: str | Path, window: tuple[float, float] | None = None
    ) -> Future | None:
        """Show ``path`` (optionally the ``window`` in seconds) with every model's output."""
        path = str(path)
        self.param.update(focus_path=path, focus_window=window)
        return self._ensure_predictions([path])

    def _ensure_predictions(self, paths: Sequence[str]) -> Future | None:
        from canapy.workflow import predict_files

        missing = {
            k: [p for p in paths if p not in self.predictions.get(k, {})] for k in self.annotators
        }
        missing = {k: v for k, v in missing.items() if v}
        if not missing:
            return None
        annotators, cache, run = dict(self.annotators), self.cache_path, self.active_run

        def job() -> dict[str, dict[str, pd.DataFrame]]:
            return {k: predict_files(annotators[k], v, cache) for k, v in missing.items()}

        def apply(new: dict[str, dict[str, pd.DataFrame]]) -> None:
            if run != self.active_run:
                return  # the user switched runs meanwhile
            merged = {k: dict(v) for k, v in self.predictions.items()}
            for k, preds in new.items():
                merged.setdefault(k, {}).update(preds)
            self.predictions = merged

        n = len({p for v in missing.values() for p in v})
        return self._submit_view(f"annotating {n} file(s)", job, apply)

    def select_confusion(self, true_label: str, pred_label: str) -> Future | None:
        """Find the files where ``true_label`` frames are predicted as ``pred_label``.

        Uses the saved model :attr:`eval_model`'s predictions on the evaluated files (the
        held-out models of a fresh training are not kept by the core); sets
        :attr:`confusion_files` and focuses the worst file on the first occurrence.
        """
        from canapy.dash_support import confusion_by_file
        from canapy.workflow import predict_files

        kind = self.eval_model
        if kind is None or kind not in self.annotators or self.corpus is None:
            return None
        self.confusion_cell = (str(true_label), str(pred_label))
        paths = list(self.evaluation_paths)
        annotator, cache, run = self.annotators[kind], self.cache_path, self.active_run
        have = dict(self.predictions.get(kind, {}))
        missing = [p for p in paths if p not in have]
        reference = self.corpus.subset(paths).segments
        silence = annotator.config.postprocess.silence_label

        def job() -> tuple:
            new = predict_files(annotator, missing, cache) if missing else {}
            durations = {p: audio_info(p)[1] for p in paths}
            files = confusion_by_file(
                reference, {**have, **new}, durations, str(true_label), str(pred_label), silence
            )
            return new, files

        def apply(result: tuple) -> None:
            new, files = result
            if run != self.active_run or self.confusion_cell != (str(true_label), str(pred_label)):
                return  # the user moved on meanwhile
            if new:
                merged = {k: dict(v) for k, v in self.predictions.items()}
                merged.setdefault(kind, {}).update(new)
                self.predictions = merged
            self.confusion_files = files
            if len(files):
                first = float(files["first_s"].iloc[0])
                self.select_file(files["audio_path"].iloc[0], (max(0.0, first - 1.0), first + 1.0))

        return self._submit_view(f"finding {true_label} -> {pred_label} in the files", job, apply)

    @param.depends("eval_model", watch=True)
    def _reset_confusion(self) -> None:
        self.param.update(confusion_cell=None, confusion_files=None)


def _scaled(
    progress: Callable[[float, str], None], lo: float, hi: float
) -> Callable[[float, str], None]:
    return lambda f, msg: progress(lo + (hi - lo) * min(1.0, max(0.0, f)), msg)


def _heldout_label(files: Sequence[str]) -> str:
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
