"""The session's state: data, runs and evaluation focus, made of parts.

:class:`AppState` holds everything a browser session (or a notebook) works on and has no
widget: the tabs only display it and call its methods. Its parts, each a small
Parameterized of its own, are :attr:`AppState.tasks` (background work, progress,
cancel), :attr:`AppState.form` (the config), :attr:`AppState.correction` (the working
table, its undo history and versions) and :attr:`AppState.review` (suspects and
unlabelled recordings). Every computation is a call into :mod:`canapy`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pandas as pd
import param

from canapy.analysis.mapping import MAPS_SUBDIR
from canapy.audio import audio_info
from canapy.exceptions import CanapyError, ModelError
from canapy.progress import scaled
from canapy.runs import RUN_COLUMNS, heldout_description, new_run_dir, runs_table

from .correction import TRASH_LABEL, CorrectionState
from .form import ConfigForm
from .loading import LoadedCorpus, load_data_folder
from .predictions import PredictionsMixin
from .registry import RegistryState
from .review import ReviewState
from .syllable_map import MapState
from .syntax import SyntaxState
from .tables import compare_summaries
from .tasks import Dispatch, Progress, TaskRunner

__all__ = ["AppState", "LoadedCorpus"]

logger = logging.getLogger(__name__)


class AppState(PredictionsMixin, param.Parameterized):
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
    registry_dir : str or Path, optional
        Model registry (:attr:`registry`); default as ``canapy models``.

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

    tasks = param.ClassSelector(class_=TaskRunner, doc="Background work and its progress.")
    form = param.ClassSelector(class_=ConfigForm, doc="The config being edited.")
    correction = param.ClassSelector(class_=CorrectionState, doc="The working table.")
    review = param.ClassSelector(class_=ReviewState, doc="Suspects and unlabelled files.")
    syllable_map = param.ClassSelector(class_=MapState, doc="The map of the working table.")
    syntax = param.ClassSelector(class_=SyntaxState, doc="Song syntax of annotation sets.")
    registry = param.ClassSelector(class_=RegistryState, doc="Registered model versions.")

    corpus = param.Parameter(default=None, doc="The loaded canapy.corpus.Corpus.")
    corpus_error = param.String(default="")
    corpus_warnings = param.List(default=[], doc="Skipped files and corpus.check() warnings.")
    audio_seconds = param.Number(default=0.0, doc="Total duration of the audio files.")

    runs = param.DataFrame(default=None, allow_None=True)
    active_run = param.String(default=None, allow_None=True)
    annotators = param.Dict(default={})
    evaluation = param.Dict(default={}, doc="{kind: EvaluationResult} of the active run.")
    evaluation_paths = param.List(default=[])
    evaluation_label = param.String(default="")
    heldout = param.Dict(default={}, doc="Held-out summaries saved in the run's run.json.")
    granularity = param.Dict(default={}, doc="The active run's granularity report (run.json).")
    eval_model = param.String(default=None, allow_None=True)

    predictions = param.Dict(default={}, doc="{kind: {audio_path: segments}} of the run.")
    frame_proba = param.Dict(default={}, doc="{kind: {audio_path: (T, n_classes)}} behind them.")
    confusion_cell = param.Tuple(default=None, allow_None=True, length=2)
    confusion_files = param.DataFrame(default=None, allow_None=True)
    focus_path = param.String(default=None, allow_None=True)
    focus_window = param.NumericTuple(default=None, allow_None=True, length=2)
    requested_tab = param.String(default="", doc="A tab a component asks the app to show.")
    label_colors = param.Dict(default={}, doc="label → colour, one map for every tab and plot.")

    def __init__(
        self,
        data_dir: str | Path | None = None,
        run_root: str | Path | None = None,
        annot_format: str = "marron1csv",
        cache_dir: str | Path | None = None,
        dispatch: Dispatch | None = None,
        registry_dir: str | Path | None = None,
        **params: Any,
    ) -> None:
        from canapy.workflow import default_cache_dir

        if run_root is None and data_dir is not None:
            run_root = Path(data_dir) / ".canapy" / "runs"
        tasks, form, correction = TaskRunner(dispatch), ConfigForm(), CorrectionState()
        super().__init__(
            data_dir=None if data_dir is None else str(data_dir),
            run_root=None if run_root is None else str(run_root),
            annot_format=annot_format,
            cache_dir=str(cache_dir or default_cache_dir()),
            tasks=tasks,
            form=form,
            correction=correction,
            review=ReviewState(tasks=tasks, form=form, correction=correction),
            syllable_map=MapState(
                tasks=tasks,
                correction=correction,
                maps_dir=None if run_root is None else str(Path(run_root) / MAPS_SUBDIR),
            ),
            syntax=SyntaxState(tasks=tasks, correction=correction),
            registry=RegistryState(registry_dir, tasks),
            **params,
        )
        self._trained: dict[str, Any] = {}  # run_dir -> RunEvaluation of runs trained here
        self.refresh_runs()

    # -- derived ------------------------------------------------------------------------
    @property
    def can_train(self) -> bool:
        """A corpus is loaded, the config is valid and nothing else runs."""
        return self.corpus is not None and self.form.config is not None and not self.tasks.busy

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
        tracks = {"reference": self.with_confidence(path, self.reference(path))}
        for kind in self.annotators:
            segs = self.predictions.get(kind, {}).get(str(path))
            if segs is not None:
                tracks[kind] = segs
        return tracks

    # -- the task runner, for notebooks and scripts ---------------------------------------
    def wait(self, timeout: float | None = None) -> None:
        """Block until the work submitted so far has finished (see :meth:`TaskRunner.wait`)."""
        self.tasks.wait(timeout)

    def cancel(self) -> None:
        """Ask the running task to stop at its next progress report."""
        self.tasks.cancel()

    def close(self) -> None:
        """Cancel running work and release the threads (the session is gone)."""
        self.tasks.close()

    # -- data ---------------------------------------------------------------------------
    def load_corpus(self, data_dir: str | Path | None = None) -> Future:
        """(Re)load the annotated corpus of ``data_dir`` (default: the current one)."""
        folder = str(data_dir) if data_dir is not None else self.data_dir
        fmt = self.annot_format
        if folder is None:
            self.corpus_error = "no data folder: give one to open a corpus"
            raise CanapyError(self.corpus_error)

        def apply(loaded: LoadedCorpus) -> None:
            self.param.update(
                data_dir=folder,
                corpus=loaded.corpus,
                corpus_error=loaded.error,
                corpus_warnings=list(loaded.warnings),
                audio_seconds=loaded.audio_seconds,
            )
            self.correction.missing = loaded.error or "no corpus loaded: nothing to edit"
            if loaded.stored is not None:
                self.review.reset()
                self.correction.start(loaded.corpus, loaded.stored)

        return self.tasks.submit(
            "loading the corpus",
            lambda p: load_data_folder(folder, fmt, p),
            apply,
            done="corpus loaded",
        )

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
        from canapy.workflow import RunEvaluation, evaluate_annotators, train

        cfg = self.form.config
        if cfg is None:
            raise CanapyError(f"invalid configuration: {self.form.error}")
        if self.corpus is None:
            raise CanapyError(self.corpus_error or "no corpus loaded")
        if self.run_root is None:
            raise CanapyError("no folder for the runs (run_root)")
        corpus, cache = corpus if corpus is not None else self.corpus, self.cache_path
        run_dir = new_run_dir(self.run_root)

        def job(progress: Progress) -> tuple:
            with self.tasks.distributed(progress) as extra:  # Dask workers if asked for
                result = train(corpus, cfg, run_dir, cache, scaled(progress, 0.0, 0.9), **extra)
            if result.validation:
                files = tuple(result.validation_files)
                found = RunEvaluation(
                    result.run_dir,
                    result.annotators,
                    result.validation,
                    files,
                    "heldout",
                    heldout_description(files),
                )
                return result, found
            paths = list(corpus.annotated)  # nothing held out: score the training files
            results = evaluate_annotators(
                result.annotators, corpus, paths, cache, scaled(progress, 0.9, 1.0)
            )
            found = RunEvaluation(
                result.run_dir,
                result.annotators,
                results,
                tuple(map(str, paths)),
                "training",
                heldout_description([]),
            )
            return result, found

        def cleanup() -> None:
            with contextlib.suppress(OSError):
                run_dir.rmdir()  # only if still empty: a failed run leaves no folder

        def apply(outcome: tuple) -> None:
            result, found = outcome
            self._trained[str(result.run_dir)] = found
            self.refresh_runs()
            self._activate(found)
            if on_done is not None:
                on_done(result)

        return self.tasks.submit(
            "training", job, apply, done=f"trained {run_dir.name}", cleanup=cleanup
        )

    def retrain(self) -> Future:
        """Train on the corrected corpus into a new run; compare held-out metrics.

        Trains on the working table (the saved version if nothing changed since); the
        comparison (``correction.retrain_comparison``) sets the previously active run's
        held-out summary beside the new run's.
        """
        correction = self.correction
        corpus = correction.working_corpus()
        source = correction.training_source()
        default = self._compared_model()
        before = dict(self.heldout.get(default) or {}) if default else {}
        before_run = Path(self.active_run).name if self.active_run and before else None

        def done(result: Any) -> None:
            nonlocal default
            default = default or getattr(result.default_choice, "model", None)
            after = result.validation.get(default).summary() if default in result.validation else {}
            correction.param.update(
                retrain_comparison=compare_summaries(before, after),
                retrain_label=(
                    f"{default} model, held-out files. Before: "
                    f"{before_run or 'no active run'}; after: {result.run_dir.name}, trained on "
                    f"{source}."
                ),
            )

        return self.train(corpus=corpus, on_done=done)

    def _compared_model(self) -> str | None:
        """The configured default model, or (``auto``) the active run's."""
        from canapy.runs import read_run

        configured = self.form.config.training.default_model if self.form.config else None
        if configured != "auto":
            return configured
        return read_run(self.active_run).default_model if self.active_run else None

    # -- runs and evaluation --------------------------------------------------------------
    def select_run(self, run_dir: str | Path) -> Future | None:
        """Make a run active: load its models and scores (:func:`evaluate_saved_run`)."""
        from canapy.workflow import evaluate_saved_run

        run_dir = str(run_dir)
        if run_dir == self.active_run and self.evaluation:
            return None
        if run_dir in self._trained:  # trained in this session: held-out results in memory
            self._activate(self._trained[run_dir])
            return None
        if self.corpus is None:
            raise CanapyError(self.corpus_error or "no corpus loaded")
        corpus, cache = self.corpus, self.cache_path

        def job(progress: Progress) -> Any:
            return evaluate_saved_run(run_dir, corpus, cache, progress)

        return self.tasks.submit(
            f"evaluating {Path(run_dir).name}",
            job,
            self._activate,
            done=f"evaluated {Path(run_dir).name}",
        )

    def _activate(self, found: Any) -> None:
        """Make the run of ``found`` (a :class:`canapy.workflow.RunEvaluation`) active."""
        from canapy.runs import read_run

        run_dir = str(found.run_dir)
        try:
            run = read_run(run_dir)
        except ModelError:
            run = None
        kinds = list(found.results) or list(found.annotators)
        default = run.default_model if run else None
        eval_model = default if default in kinds else (kinds[0] if kinds else None)
        self.param.update(
            active_run=run_dir,
            annotators=dict(found.annotators),
            evaluation=dict(found.results),
            evaluation_paths=[str(p) for p in found.paths],
            evaluation_label=found.description,
            heldout=dict(run.validation) if run else {},
            granularity=dict(run.granularity or {}) if run else {},
            predictions={},
            frame_proba={},
            confusion_cell=None,
            confusion_files=None,
            eval_model=eval_model,
        )
        per_file = self.evaluation[eval_model].per_file if eval_model in self.evaluation else None
        if per_file is not None and len(per_file):
            self.select_file(per_file["audio_path"].iloc[0])  # the worst file first

    def annotator(self) -> Any:
        """The active run's model chosen in :attr:`eval_model` (or its first one)."""
        if not self.annotators:
            raise CanapyError(
                "no active model: train one (Train tab) or click a run in its list first"
            )
        return self.annotators[self._eval_kind()]

    def _eval_kind(self) -> str | None:
        """:attr:`eval_model` if the active run has it, else its first model (None: none)."""
        if self.eval_model in self.annotators:
            return self.eval_model
        return next(iter(self.annotators), None)

    def annotate_unlabelled(self) -> Future:
        """Annotate the files without annotation with the active model; rank them."""
        annotator, run = self.annotator(), self.active_run
        return self.review.annotate_unlabelled(
            annotator, self.cache_path, still_current=lambda: run == self.active_run
        )

    def find_suspects(self) -> Future:
        """Review the working table for suspicious labels (see :class:`ReviewState`)."""
        return self.review.find_suspects(self.cache_path)

    # -- focus: what the Evaluate tab's viewer shows --------------------------------------
    def select_file(
        self, path: str | Path, window: tuple[float, float] | None = None
    ) -> Future | None:
        """Show ``path`` (optionally the ``window`` in seconds) with every model's output."""
        path = str(path)
        self.param.update(focus_path=path, focus_window=window)
        return self._ensure_predictions([path])

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

        return self.tasks.submit_view(
            f"finding {true_label} -> {pred_label} in the files", job, apply
        )

    @param.depends("corpus", "annotators", watch=True)
    def _extend_colors(self) -> None:
        """Give every label of the corpus and the models a colour (kept once given)."""
        from ..colors import extend_colors

        labels = list(self.corpus.labels) if self.corpus is not None else []
        for annotator in self.annotators.values():
            labels += list(getattr(annotator, "labels", []))
        colors = extend_colors(self.label_colors, [*labels, TRASH_LABEL])
        if colors != self.label_colors:
            self.label_colors = colors

    @param.depends("eval_model", watch=True)
    def _reset_confusion(self) -> None:
        self.param.update(confusion_cell=None, confusion_files=None)
