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

import numpy as np
import pandas as pd
import param

from canapy.annotator import MODEL_KINDS
from canapy.audio import audio_info
from canapy.config import PRESETS, Config, apply_preset, config_from_dict, default_config
from canapy.exceptions import CanapyError, ModelError

__all__ = [
    "CLASS_OPERATIONS",
    "CONFIG_FIELDS",
    "TRASH_LABEL",
    "AppState",
    "Cancelled",
    "ConfigForm",
    "compare_summaries",
    "metrics_frame",
    "new_run_dir",
    "rank_by_confidence",
    "runs_table",
    "suspect_status",
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
TRASH_LABEL = "TRASH"
"""Label offered for noise and calls that are not syllables."""
CLASS_OPERATIONS = ("merge", "rename", "delete")
"""Class-level edits of the Re-annotate tab (``canapy.edits`` merge/rename/delete_label)."""
SUSPECT_SHOWN = ["wave", "start", "end", "syll", "suggested", "score", "status"]


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


def suspect_status(
    suspects: pd.DataFrame, table: pd.DataFrame, kept: Sequence[str] = ()
) -> pd.Series:
    """Review status of each suspect against the current segment table.

    ``accepted`` (its label is now the suggestion), ``edited`` (changed otherwise),
    ``removed`` (no longer in the table), ``kept`` (marked "keep original"), or ``""``
    (not reviewed yet). Derived from the table, so undoing an accepted suggestion makes it
    unreviewed again.

    Examples
    --------
    >>> sus = pd.DataFrame({"segment_id": ["a", "b", "c", "d"], "syll": list("AAAA"),
    ...                     "suggested": list("BBBB")})
    >>> table = pd.DataFrame({"segment_id": ["a", "b", "c"], "label": ["B", "C", "A"]})
    >>> suspect_status(sus, table, kept=["c"]).tolist()
    ['accepted', 'edited', 'kept', 'removed']
    """
    now = suspects["segment_id"].map(table.set_index("segment_id")["label"])
    syll, suggested = suspects["syll"].astype(str), suspects["suggested"].astype(str)
    status = np.select(
        [
            now.isna().to_numpy(),
            ((now == suggested) & (suggested != syll)).to_numpy(),
            (now != syll).to_numpy(),
            suspects["segment_id"].isin(list(kept)).to_numpy(),
        ],
        ["removed", "accepted", "edited", "kept"],
        default="",
    )
    return pd.Series(status, index=suspects.index, name="status", dtype=object)


def rank_by_confidence(predictions: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Files annotated by a model, least certain first.

    Parameters
    ----------
    predictions : mapping of str to DataFrame
        ``{audio_path: segments}`` with a ``confidence`` column (as from
        :func:`canapy.workflow.predict_files`).

    Returns
    -------
    DataFrame
        ``file, segments, mean_confidence, audio_path``; files without any segment
        (NaN confidence) first.

    Examples
    --------
    >>> segs = lambda *c: pd.DataFrame({"label": ["A"] * len(c), "confidence": c})
    >>> rank_by_confidence({"/x/a.wav": segs(0.9, 0.8), "/x/b.wav": segs(0.5)})["file"].tolist()
    ['b.wav', 'a.wav']
    """
    rows = [
        {
            "file": Path(path).name,
            "segments": len(segs),
            "mean_confidence": float(segs["confidence"].mean()) if len(segs) else np.nan,
            "audio_path": str(path),
        }
        for path, segs in predictions.items()
    ]
    table = pd.DataFrame(rows, columns=["file", "segments", "mean_confidence", "audio_path"])
    return table.sort_values("mean_confidence", na_position="first", kind="stable").reset_index(
        drop=True
    )


def compare_summaries(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> pd.DataFrame:
    """Held-out metrics of two runs side by side: ``metric, before, after, change``.

    Examples
    --------
    >>> row = compare_summaries({"frame_accuracy": 0.9}, {"frame_accuracy": 0.95}).iloc[0]
    >>> row["metric"], float(row["before"]), float(row["after"]), float(row["change"])
    ('frame_accuracy', 0.9, 0.95, 0.05)
    """
    before, after = dict(before or {}), dict(after or {})
    rows = []
    for metric in METRIC_COLUMNS:
        a, b = before.get(metric), after.get(metric)
        change = b - a if a is not None and b is not None else None
        rows.append({"metric": metric, "before": a, "after": b, "change": change})
    out = pd.DataFrame(rows, columns=["metric", "before", "after", "change"])
    for col in ("before", "after", "change"):
        out[col] = pd.to_numeric(out[col], errors="coerce").round(4)
    return out


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

    # -- re-annotation: the correction loop (Re-annotate tab) ------------------------------
    working = param.DataFrame(
        default=None, allow_None=True, doc="The segment table being edited (the undo history's)."
    )
    base_version = param.Integer(
        default=None, allow_None=True, doc="Store version the edits started from (None: none)."
    )
    history_info = param.Dict(default={}, doc="undo, redo (descriptions), n_changes.")
    versions = param.DataFrame(default=None, allow_None=True, doc="store.versions().")
    save_conflict = param.String(default="", doc="ConflictError message of the last save.")
    author = param.String(default="", doc="Author of saved versions (default: login name).")
    review_folds = param.Integer(default=5, bounds=(2, 20), doc="Folds of find_suspects.")
    review = param.Parameter(default=None, doc="The last canapy.review.ReviewResult.")
    suspects = param.DataFrame(default=None, allow_None=True, doc="Review rows + status.")
    suspect_label = param.String(default="", doc="Show suspects of this hand label ('' all).")
    kept = param.List(default=[], doc="Suspects marked 'keep original'.")
    current_suspect = param.String(default=None, allow_None=True)
    selected_segment = param.String(default=None, allow_None=True)
    review_window = param.NumericTuple(default=None, allow_None=True, length=2)
    unlabelled = param.DataFrame(default=None, allow_None=True, doc="rank_by_confidence().")
    unlabelled_predictions = param.Dict(default={}, doc="{audio_path: predicted segments}.")
    retrain_comparison = param.DataFrame(default=None, allow_None=True)
    retrain_label = param.String(default="")

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
        self._history: Any = None  # canapy.edits.EditHistory of the working table
        self._store: Any = None  # canapy.store.AnnotationStore of the data folder
        self._annotated: list[str] = []  # annotated files of the loaded version
        if not self.author:
            from canapy.store import default_author

            self.author = default_author()
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
            try:
                stored = _read_store(folder, corpus)
            except CanapyError as exc:
                warnings.append(f"annotation store not used: {exc}")
                stored = (None, corpus.segments, None, [str(p) for p in corpus.annotated])
            return corpus, "", warnings, total, stored

        def apply(result: tuple) -> None:
            corpus, error, warnings, total, *stored = result
            self.param.update(
                data_dir=folder,
                corpus=corpus,
                corpus_error=error,
                corpus_warnings=warnings,
                audio_seconds=total,
                review_path=str(corpus.audio_paths[0]) if corpus and corpus.audio_paths else None,
            )
            if stored:
                self._start_editing(*stored[0])

        return self._submit("loading the corpus", job, apply, done="corpus loaded")

    def refresh_runs(self) -> None:
        """Re-read the run folders under :attr:`run_root`."""
        self.runs = (
            runs_table(self.run_root) if self.run_root else pd.DataFrame(columns=RUN_COLUMNS)
        )

    # -- training -----------------------------------------------------------------------
    def train(self, corpus: Any = None, on_done: Callable[[Any], None] | None = None) -> Future:
        """Train the models of the current config on the corpus, into a new run folder.

        ``corpus`` replaces the loaded corpus (e.g. the corrected one); ``on_done(result)``
        runs after the new run became the active one.
        """
        from canapy.workflow import evaluate_annotators, train

        cfg = self.form.config
        if cfg is None:
            raise CanapyError(f"invalid configuration: {self.form.error}")
        if self.corpus is None:
            raise CanapyError(self.corpus_error or "no corpus loaded")
        if self.run_root is None:
            raise CanapyError("no folder for the runs (run_root)")
        corpus, cache = corpus if corpus is not None else self.corpus, self.cache_path
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
            if on_done is not None:
                on_done(result)

        return self._submit("training", job, apply, done=f"trained {run_dir.name}", cleanup=cleanup)

    # -- runs and evaluation --------------------------------------------------------------
    def select_run(self, run_dir: str | Path) -> Future | None:
        """Make a run active: load its models and evaluate them (see the module doc)."""
        from canapy.workflow import (
            evaluate_annotators,
            load_annotators,
            read_run,
            read_validation,
        )

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
            saved = read_validation(run_dir)
            if saved and set(saved) >= set(annotators):
                files = [str(p) for p in run.get("validation_files", [])]
                return annotators, saved, files, _heldout_label(files)
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

    def request_predictions(self, paths: Sequence[str | Path]) -> Future | None:
        """Predict ``paths`` with every model of the active run (kept in :attr:`predictions`)."""
        return self._ensure_predictions([str(p) for p in paths])

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
        from canapy.confusion import confusion_by_file
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

    # -- re-annotation: the working table and its undo history ------------------------------
    def _start_editing(
        self, store: Any, table: pd.DataFrame, base: int | None, annotated: Sequence[str]
    ) -> None:
        """Edit ``table`` (store version ``base``, or the original files if None)."""
        from canapy.edits import EditHistory

        self._store = store
        self._annotated = [str(p) for p in annotated]
        self._history = EditHistory(table, base_version=base)
        self.param.update(
            base_version=base,
            save_conflict="",
            kept=[],
            current_suspect=None,
            selected_segment=None,
            unlabelled=None,
            unlabelled_predictions={},
        )
        self.refresh_versions()
        self._sync_history()

    def _require_table(self) -> Any:
        if self._history is None:
            raise CanapyError(self.corpus_error or "no corpus loaded: nothing to edit")
        return self._history

    def _sync_history(self) -> None:
        """Publish the history's table, undo/redo state and review statuses."""
        h = self._history
        if h is None:
            return
        table = h.current
        info = {
            "undo": h.undo_description,
            "redo": h.redo_description,
            "n_changes": len(h.changes()),
        }
        updates: dict[str, Any] = {"working": table, "history_info": info}
        if self.review is not None:
            updates["suspects"] = self.review.segments.assign(
                status=suspect_status(self.review.segments, table, self.kept)
            )
        if self.selected_segment is not None and self.selected_segment not in set(
            table["segment_id"]
        ):
            updates["selected_segment"] = None
        self.param.update(updates)

    def _edit(self, description: str, edit: Callable[..., pd.DataFrame], *args: Any) -> None:
        """Apply a :mod:`canapy.edits` function through the undo history."""
        self._require_table().apply(edit, *args, description=description)
        self._sync_history()

    def working_corpus(self) -> Any:
        """The loaded corpus with the working table's segments (what training would see).

        Annotated files: those of the loaded version plus every file with a segment (e.g.
        a promoted recording).
        """
        from dataclasses import replace

        if self.corpus is None or self._history is None:
            raise CanapyError(self.corpus_error or "no corpus loaded")
        table = self._history.current
        files = set(self._annotated) | set(table["audio_path"])
        audio = {str(p): p for p in self.corpus.audio_paths}
        for f in files - set(audio):
            audio[f] = Path(f)
        ordered = sorted(audio.values(), key=lambda p: (p.name, str(p)))
        return replace(
            self.corpus,
            segments=table,
            audio_paths=tuple(ordered),
            annotated=tuple(p for p in ordered if str(p) in files),
        )

    def segments_of(self, path: str | Path | None) -> pd.DataFrame:
        """Working segments of one file (with ``segment_id``), in time order."""
        if self._history is None or path is None:
            return pd.DataFrame(columns=["segment_id", "onset_s", "offset_s", "label"])
        table = self._history.current
        target = str(Path(path).absolute())
        return table[table["audio_path"] == target].reset_index(drop=True)

    def undo(self) -> None:
        """Undo the last edit (segment, suggestion, class, promotion, restore...)."""
        self._require_table().undo()
        self._sync_history()

    def redo(self) -> None:
        """Redo the last undone edit."""
        self._require_table().redo()
        self._sync_history()

    # -- segment edits (the selected segment by default) --------------------------------
    def _segment(self, segment_id: str | None) -> str:
        sid = segment_id or self.selected_segment
        if not sid:
            raise CanapyError("select a segment first (click it in the table or the viewer)")
        return str(sid)

    def select_segment(self, segment_id: str | None) -> None:
        """Select a segment of the working table (and show its recording)."""
        if segment_id is None:
            self.selected_segment = None
            return
        rows = self._require_table().current
        row = rows[rows["segment_id"] == str(segment_id)]
        if not len(row):
            raise CanapyError(f"no segment {segment_id} in the working table")
        path = str(row["audio_path"].iloc[0])
        self.param.update(selected_segment=str(segment_id), review_path=path)

    def relabel_segment(self, label: str, segment_id: str | None = None) -> None:
        from canapy.edits import relabel

        sid = self._segment(segment_id)
        self._edit(f"relabel {sid} as {label!r}", relabel, [sid], label)

    def move_segment(self, onset_s: float, offset_s: float, segment_id: str | None = None) -> None:
        from canapy.edits import move

        sid = self._segment(segment_id)
        self._edit(f"move {sid} to {onset_s:.3f}-{offset_s:.3f} s", move, sid, onset_s, offset_s)

    def split_segment(self, t: float, segment_id: str | None = None) -> None:
        from canapy.edits import split

        sid = self._segment(segment_id)
        self._edit(f"split {sid} at {t:.3f} s", split, sid, t)

    def merge_with_next(self, segment_id: str | None = None) -> None:
        """Merge a segment with the next one of its recording (keeps the first's label)."""
        from canapy.edits import merge

        sid = self._segment(segment_id)
        table = self._require_table().current
        row = table[table["segment_id"] == sid]
        if not len(row):
            raise CanapyError(f"no segment {sid} in the working table")
        segs = self.segments_of(row["audio_path"].iloc[0])
        k = int(np.flatnonzero(segs["segment_id"].to_numpy() == sid)[0])
        if k + 1 >= len(segs):
            raise CanapyError(f"{sid} is the last segment of its recording: nothing to merge with")
        nxt = str(segs["segment_id"].iloc[k + 1])
        self._edit(f"merge {sid} with {nxt}", merge, [sid, nxt])

    def delete_segment(self, segment_id: str | None = None) -> None:
        from canapy.edits import delete

        sid = self._segment(segment_id)
        self._edit(f"delete {sid}", delete, [sid])

    def add_segment(
        self, onset_s: float, offset_s: float, label: str, path: str | Path | None = None
    ) -> str:
        """Add a segment to ``path`` (default: the recording shown); return its id."""
        from canapy.edits import add

        path = path or self.review_path
        if path is None:
            raise CanapyError("select a recording first")
        before = set(self._require_table().current["segment_id"])
        self._edit(
            f"add {label!r} at {onset_s:.3f} s in {Path(path).name}",
            add,
            path,
            onset_s,
            offset_s,
            label,
        )
        new = sorted(set(self._history.current["segment_id"]) - before)
        self.selected_segment = new[0] if new else None
        return self.selected_segment or ""

    # -- class edits ---------------------------------------------------------------------
    def class_edit(self, operation: str, labels: Sequence[str], into: str = "") -> tuple:
        """``(edit function, args, description)`` of a class-level edit.

        ``merge``: every label of ``labels`` becomes ``into``; ``rename``: the one label
        becomes ``into``; ``delete``: the segments of the one label are removed.
        """
        from canapy import edits

        labels = [str(x) for x in labels]
        if operation not in CLASS_OPERATIONS:
            raise CanapyError(f"unknown class operation {operation!r}; use {CLASS_OPERATIONS}")
        if not labels:
            raise CanapyError(f"choose the label(s) to {operation}")
        if operation in ("rename", "delete") and len(labels) != 1:
            raise CanapyError(f"{operation} works on one label at a time, got {labels}")
        if operation == "merge":
            return edits.merge_labels, (labels, into), f"merge {', '.join(labels)} into {into!r}"
        if operation == "rename":
            return edits.rename_label, (labels[0], into), f"rename {labels[0]!r} to {into!r}"
        return edits.delete_label, (labels[0],), f"delete label {labels[0]!r}"

    def preview_class_edit(self, operation: str, labels: Sequence[str], into: str = "") -> int:
        """Number of segments the class edit would change (nothing is modified)."""
        from canapy.edits import preview

        edit, args, _ = self.class_edit(operation, labels, into)
        return preview(self._require_table().current, edit, *args)

    def apply_class_edit(self, operation: str, labels: Sequence[str], into: str = "") -> int:
        """Apply a class edit (undoable); return the number of segments changed."""
        from canapy.edits import diff_tables

        edit, args, description = self.class_edit(operation, labels, into)
        before = self._require_table().current
        self._edit(description, edit, *args)
        return len(diff_tables(before, self._history.current))

    # -- suspects ----------------------------------------------------------------------
    def find_suspects(self) -> Future:
        """Run :func:`canapy.review.find_suspects` on the working table (background)."""
        from canapy.review import find_suspects

        cfg = self.form.config
        if cfg is None:
            raise CanapyError(f"invalid configuration: {self.form.error}")
        corpus, cache, folds = self.working_corpus(), self.cache_path, self.review_folds

        def job(progress: Callable[[float, str], None]) -> Any:
            return find_suspects(corpus, cfg, n_folds=folds, cache_dir=cache, progress=progress)

        def apply(result: Any) -> None:
            self.param.update(review=result, kept=[], current_suspect=None)
            self._sync_history()

        return self._submit(
            "finding suspicious labels", job, apply, done=f"review done ({folds} folds)"
        )

    def _suspect_row(self, segment_id: str | None) -> pd.Series:
        sid = segment_id or self.current_suspect
        if self.suspects is None:
            raise CanapyError("no review yet: click Find suspects")
        rows = self.suspects[self.suspects["segment_id"] == sid]
        if sid is None or not len(rows):
            raise CanapyError("select a suspect first")
        return rows.iloc[0]

    def select_suspect(self, segment_id: str | None) -> None:
        """Show a suspect: its recording, zoomed on it, the segment selected."""
        if segment_id is None:
            self.current_suspect = None
            return
        row = self._suspect_row(segment_id)
        start, end = float(row["start"]), float(row["end"])
        present = segment_id in set(self._require_table().current["segment_id"])
        self.param.update(
            current_suspect=str(segment_id),
            review_path=str(row["audio_path"]),
            review_window=(max(0.0, start - 0.6), end + 0.6),
            selected_segment=str(segment_id) if present else None,
        )

    def visible_suspects(self) -> pd.DataFrame:
        """Suspects shown: all, or those whose hand label is :attr:`suspect_label`."""
        if self.suspects is None:
            return pd.DataFrame(columns=["segment_id", "audio_path", *SUSPECT_SHOWN])
        if not self.suspect_label:
            return self.suspects
        return self.suspects[self.suspects["syll"] == self.suspect_label]

    def next_suspect(self, step: int = 1) -> str | None:
        """Go to the next (``step=-1``: previous) unreviewed suspect, most suspicious first."""
        shown = self.visible_suspects()
        if not len(shown):
            return None
        ids = list(shown["segment_id"])
        status = list(shown["status"])
        k = ids.index(self.current_suspect) if self.current_suspect in ids else -1
        order = range(k + 1, len(ids)) if step > 0 else range(k - 1, -1, -1)
        if k < 0 and step < 0:
            order = range(len(ids) - 1, -1, -1)
        for i in order:
            if not status[i]:
                self.select_suspect(ids[i])
                return ids[i]
        return None

    def accept_suggestion(self, segment_id: str | None = None, advance: bool = True) -> None:
        """Give a suspect its suggested label (:func:`canapy.review.apply_suggestions`)."""
        from dataclasses import replace

        from canapy.review import apply_suggestions

        row = self._suspect_row(segment_id)
        sid, history = str(row["segment_id"]), self._require_table()
        table = history.current
        now = table.loc[table["segment_id"] == sid, "label"]
        if not row["suggested"]:
            raise CanapyError(f"{sid}: the models have no suggestion for this segment")
        if row["suggested"] == row["syll"]:
            raise CanapyError(
                f"{sid}: the models agree with its label {row['syll']!r}: nothing to accept "
                "(keep it, or relabel it by hand)"
            )
        if not len(now):
            raise CanapyError(f"{sid} was removed since the review")
        if now.iloc[0] != row["syll"]:
            raise CanapyError(
                f"{sid} was relabelled {now.iloc[0]!r} since the review; its suggestion "
                f"({row['suggested']!r}) no longer applies — relabel it by hand if needed"
            )
        corpus = replace(self.corpus, segments=table)
        fixed = apply_suggestions(corpus, self.review.segments, segment_ids=[sid])
        history.push(fixed.segments, f"accept {row['suggested']!r} for {sid} (was {row['syll']!r})")
        self._sync_history()
        if advance:
            self.next_suspect()

    def keep_original(self, segment_id: str | None = None, advance: bool = True) -> None:
        """Mark a suspect reviewed without changing it."""
        sid = str(self._suspect_row(segment_id)["segment_id"])
        if sid not in self.kept:
            self.kept = [*self.kept, sid]
        self._sync_history()
        if advance:
            self.next_suspect()

    # -- unlabelled recordings -----------------------------------------------------------
    def _annotator(self) -> Any:
        if not self.annotators:
            raise CanapyError(
                "no active model: train one (Train tab) or click a run in its list first"
            )
        kind = self.eval_model if self.eval_model in self.annotators else None
        return self.annotators[kind or next(iter(self.annotators))]

    def annotate_unlabelled(self) -> Future:
        """Annotate the files without annotation with the active model; rank them."""
        from canapy.workflow import predict_files

        annotator = self._annotator()
        corpus = self.working_corpus()
        paths = list(corpus.unannotated_paths)
        if not paths:
            raise CanapyError("every recording of the corpus is annotated")
        cache, run = self.cache_path, self.active_run

        def job(progress: Callable[[float, str], None]) -> dict:
            return predict_files(annotator, paths, cache, progress)

        def apply(preds: dict) -> None:
            if run != self.active_run:
                return
            self.param.update(
                unlabelled_predictions=dict(preds), unlabelled=rank_by_confidence(preds)
            )

        return self._submit(f"annotating {len(paths)} recording(s)", job, apply)

    def promote(self, path: str | Path | None = None) -> int:
        """Add a predicted recording's segments to the working table (undoable).

        The recording then counts as annotated: it is edited, saved and trained on like
        the others. Returns the number of segments added.
        """
        from canapy.edits import add_segments

        path = str(path or self.review_path)
        segs = self.unlabelled_predictions.get(path)
        if segs is None:
            raise CanapyError(f"{Path(path).name}: no prediction to promote; annotate it first")
        if len(self.segments_of(path)):
            raise CanapyError(f"{Path(path).name} already has segments in the working table")
        self._edit(f"promote {Path(path).name} ({len(segs)} segments)", add_segments, path, segs)
        self.review_path = path
        return len(segs)

    # -- versions -------------------------------------------------------------------------
    def _require_store(self) -> Any:
        from canapy.store import AnnotationStore

        if self._store is None:
            if self.data_dir is None:
                raise CanapyError("no data folder: nowhere to keep versions")
            self._store = AnnotationStore.for_data_dir(self.data_dir)
        return self._store

    def refresh_versions(self) -> None:
        """Re-read the store's versions (empty before the first save)."""
        store = self._store
        if store is None or not store.exists:
            cols = ["id", "parent", "author", "created_at", "message", "n_segments", "is_head"]
            self.versions = pd.DataFrame(columns=cols)
            return
        self.versions = store.versions()

    def save_version(self, message: str, author: str | None = None) -> int:
        """Save the working table as a new store version; return its id.

        The first save creates the store (version 1 = the original annotation files).
        When another session saved since this one loaded its version, nothing is saved:
        :attr:`save_conflict` holds who saved what and when (see :meth:`reload_latest`),
        and the ConflictError is raised.
        """
        from canapy.exceptions import ConflictError, StoreError

        history, store = self._require_table(), self._require_store()
        author = author or self.author or None
        base = history.base_version
        if base is None:
            try:
                base = store.init_from(self.corpus, author=author)
            except StoreError:
                if not store.exists:
                    raise
                base = 1  # another session created it meanwhile: we edited version 1
        try:
            version = store.save(history.current, author, message or "edits", base_version=base)
        except ConflictError as exc:
            self.save_conflict = str(exc)
            self.refresh_versions()
            raise
        history.mark_saved(version)
        self.param.update(base_version=version, save_conflict="")
        self.refresh_versions()
        self._sync_history()
        return version

    def reload_latest(self) -> int:
        """Load the store's head into the editor (undoable: Undo gives your table back)."""
        store = self._require_store()
        history = self._require_table()
        head = store.head
        history.push(store.load(head), f"reload version {head}")
        history.mark_saved(head)
        self._annotated = [str(p) for p in store.annotated(head)]
        self.param.update(base_version=head, save_conflict="")
        self.refresh_versions()
        self._sync_history()
        return head

    def version_diff(self, version: int) -> pd.DataFrame:
        """:func:`canapy.edits.diff_tables` from a saved version to the working table."""
        from canapy.edits import diff_tables

        return diff_tables(self._require_store().load(version), self._require_table().current)

    def restore_version(self, version: int, author: str | None = None) -> int:
        """Make ``version`` the new head (:meth:`AnnotationStore.restore`) and edit it."""
        store = self._require_store()
        history = self._require_table()
        new = store.restore(version, author=author or self.author or None)
        history.push(store.load(new), f"restore version {version}")
        history.mark_saved(new)
        self._annotated = [str(p) for p in store.annotated(new)]
        self.param.update(base_version=new, save_conflict="")
        self.refresh_versions()
        self._sync_history()
        return new

    def export_version(
        self, out_dir: str | Path, annot_format: str = "marron1csv", version: int | None = None
    ) -> list[Path]:
        """Write a saved version (default: the head) as annotation files into ``out_dir``."""
        store = self._require_store()
        if not store.exists:
            raise CanapyError("nothing saved yet: save a version first")
        return store.export(version, out_dir, annot_format)

    # -- retraining -------------------------------------------------------------------------
    def retrain(self) -> Future:
        """Train on the corrected corpus into a new run; compare held-out metrics.

        Trains on the working table (the saved version if nothing changed since); the
        comparison (:attr:`retrain_comparison`) sets the previously active run's held-out
        summary beside the new run's.
        """
        history = self._require_table()
        corpus = self.working_corpus()
        default = self.form.config.training.default_model if self.form.config else None
        before = dict(self.heldout.get(default) or {}) if default else {}
        before_run = Path(self.active_run).name if self.active_run and before else None
        source = (
            f"version {history.base_version}"
            if history.base_version is not None and not history.dirty
            else "the working table (unsaved edits)"
            if history.dirty
            else "the original annotations"
        )

        def done(result: Any) -> None:
            after = result.validation.get(default).summary() if default in result.validation else {}
            self.retrain_comparison = compare_summaries(before, after)
            self.retrain_label = (
                f"{default} model, held-out files. Before: "
                f"{before_run or 'no active run'}; after: {result.run_dir.name}, trained on "
                f"{source}."
            )

        return self.train(corpus=corpus, on_done=done)


def _read_store(folder: str, corpus: Any) -> tuple:
    """``(store, table, base version or None, annotated files)`` to start editing from.

    The store's head when the data folder has one, else the original annotations.
    """
    from canapy.store import AnnotationStore

    store = AnnotationStore.for_data_dir(folder)
    if store.exists:
        head = store.head
        return store, store.load(head), head, [str(p) for p in store.annotated(head)]
    return store, corpus.segments, None, [str(p) for p in corpus.annotated]


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
