"""Components of the Re-annotate tab, one :class:`panel.viewable.Viewer` each.

Each holds the session's :class:`~canapy.dashboards.state.AppState` and talks only to it
(mostly ``state.correction`` and ``state.review``); none reaches into another's widgets.
Feedback goes through ``state.tasks`` (``message``, ``error``, ``busy``).
"""

from .classes import ClassEditsPanel
from .editor import EditorPanel
from .files import RecordingsPanel, files_table
from .keys import SHORTCUTS, KeyShortcuts, KeysPanel
from .map import SyllableMapPanel
from .retrain import RetrainPanel
from .status import EditStatusPanel
from .suspects import SuspectsPanel
from .unlabelled import UnlabelledPanel
from .versions import VersionsPanel

__all__ = [
    "SHORTCUTS",
    "ClassEditsPanel",
    "EditStatusPanel",
    "EditorPanel",
    "KeyShortcuts",
    "KeysPanel",
    "RecordingsPanel",
    "RetrainPanel",
    "SuspectsPanel",
    "SyllableMapPanel",
    "UnlabelledPanel",
    "VersionsPanel",
    "files_table",
]
