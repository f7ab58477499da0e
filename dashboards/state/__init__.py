"""The per-session state of the dashboard, in parts (no widgets, unit-testable).

- :class:`~.session.AppState`: data, runs, evaluation focus; holds the parts below.
- :class:`~.tasks.TaskRunner` (``state.tasks``): background work, progress, cancel.
- :class:`~.form.ConfigForm` (``state.form``): the editable config.
- :class:`~.correction.CorrectionState` (``state.correction``): the working table, its
  undo history, saved versions, the retrain comparison.
- :class:`~.review.ReviewState` (``state.review``): suspects and unlabelled recordings.
- :class:`~.syllable_map.MapState` (``state.syllable_map``): the map of the working
  table, the points selected on it.
- :class:`~.syntax.SyntaxState` (``state.syntax``): song syntax of the hand labels, the
  model's output and any opened annotation set.
- :class:`~.registry.RegistryState` (``state.registry``): the model registry's versions,
  registering and promoting, comparing versions on the same files.
"""

from canapy.runs import OPTIMISTIC, RUN_COLUMNS, new_run_dir, runs_table

from .correction import CLASS_OPERATIONS, TRASH_LABEL, CorrectionState, StoredTable
from .form import CONFIG_FIELDS, ConfigForm
from .registry import (
    REGISTRY_COLUMNS,
    ComparedScores,
    RegistryState,
    heldout_paths,
    name_problem,
    source_options,
)
from .review import ReviewState
from .session import AppState, LoadedCorpus
from .syllable_map import COLOR_BY, MAP_COLUMNS, MapState, map_view
from .syntax import WORKING_SET, SyntaxState, predictions_table
from .tables import (
    METRIC_COLUMNS,
    SUSPECT_SHOWN,
    compare_summaries,
    metrics_frame,
    rank_by_confidence,
    suspect_status,
)
from .tasks import Cancelled, Dispatch, TaskRunner, describe_error

__all__ = [
    "CLASS_OPERATIONS",
    "COLOR_BY",
    "CONFIG_FIELDS",
    "MAP_COLUMNS",
    "METRIC_COLUMNS",
    "OPTIMISTIC",
    "REGISTRY_COLUMNS",
    "RUN_COLUMNS",
    "SUSPECT_SHOWN",
    "TRASH_LABEL",
    "WORKING_SET",
    "AppState",
    "Cancelled",
    "ComparedScores",
    "ConfigForm",
    "CorrectionState",
    "Dispatch",
    "LoadedCorpus",
    "MapState",
    "RegistryState",
    "ReviewState",
    "StoredTable",
    "SyntaxState",
    "TaskRunner",
    "compare_summaries",
    "describe_error",
    "heldout_paths",
    "map_view",
    "metrics_frame",
    "name_problem",
    "new_run_dir",
    "predictions_table",
    "rank_by_confidence",
    "runs_table",
    "source_options",
    "suspect_status",
]
