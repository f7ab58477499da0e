"""The syllable map of the working table: its points, the colouring, the lasso selection.

:class:`MapState` computes the map through :func:`canapy.analysis.mapping.map_segments`
(in the background), joins the points to the *current* working table so colours follow
every edit, and turns a selection of points into edits of ``state.correction``
(:func:`canapy.edits.relabel`, one undoable step).

The map stays put between correction rounds: the first map of a session (or the one saved
under ``maps_dir`` by an earlier session) is reused, and later rounds only place new or
changed segments into it (:func:`canapy.analysis.mapping.place_segments`); ``refit=True``
fits a new one. Hovering a point asks for its spectrogram thumbnail
(:func:`canapy.analysis.thumbnails.segment_thumbnail`), made for that point only.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import param

from canapy.exceptions import CanapyError

from .correction import CorrectionState
from .tasks import TaskRunner

__all__ = ["COLOR_BY", "MAP_COLUMNS", "MapState", "map_view"]

logger = logging.getLogger(__name__)

COLOR_BY = {
    "hand label": "label",
    "predicted label": "predicted",
    "cluster": "cluster",
    "suspicion": "suspicion",
}
"""What the points can be coloured by -> the :func:`map_view` column."""

MAP_COLUMNS = [
    "segment_id",
    "audio_path",
    "onset_s",
    "offset_s",
    "label",
    "predicted",
    "cluster",
    "suspicion",
    "x",
    "y",
]
"""Columns of :func:`map_view`."""

_PLAY_MARGIN_S = 0.4
"""Context shown around a segment opened from the map."""
_THUMBNAILS_KEPT = 256
"""Hover thumbnails kept in memory (least recently hovered dropped first)."""


def map_view(
    points: pd.DataFrame | None, working: pd.DataFrame | None, review: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The map's points joined to the current labels, one row per segment still present.

    Parameters
    ----------
    points : DataFrame
        ``segment_id, x, y, cluster, knn_disagreement, knn_label`` as computed.
    working : DataFrame
        The working segment table (``segment_id, audio_path, onset_s, offset_s, label``).
    review : DataFrame, optional
        :attr:`canapy.review.ReviewResult.segments`: gives the predicted label
        (``ensemble``) and the suspicion (``score``); without it, the map's own evidence is
        used (``knn_label``, ``knn_disagreement``).

    Returns
    -------
    DataFrame
        Columns :data:`MAP_COLUMNS`, in the order of ``points``.

    Examples
    --------
    >>> pts = pd.DataFrame({"segment_id": ["s1", "s2"], "x": [0.0, 1.0], "y": [0.0, 1.0],
    ...                     "cluster": [0, 1], "knn_disagreement": [0.0, 0.5],
    ...                     "knn_label": ["A", "A"]})
    >>> work = pd.DataFrame({"segment_id": ["s2"], "audio_path": ["a.wav"],
    ...                      "onset_s": [0.1], "offset_s": [0.2], "label": ["B"]})
    >>> map_view(pts, work)[["segment_id", "label", "predicted", "suspicion"]].values.tolist()
    [['s2', 'B', 'A', 0.5]]
    """
    if points is None or working is None or not len(points):
        return pd.DataFrame(columns=MAP_COLUMNS)
    cols = ["segment_id", "audio_path", "onset_s", "offset_s", "label"]
    view = points.merge(working[cols], on="segment_id", how="inner", sort=False)
    view["predicted"] = view["knn_label"].astype(str)
    view["suspicion"] = view["knn_disagreement"].astype(float)
    if review is not None and len(review):
        rev = review.set_index("segment_id")
        known = view["segment_id"].isin(rev.index)
        ids = view.loc[known, "segment_id"]
        view.loc[known, "predicted"] = rev.loc[ids, "ensemble"].astype(str).to_numpy()
        view.loc[known, "suspicion"] = rev.loc[ids, "score"].astype(float).to_numpy()
    view["cluster"] = view["cluster"].astype(int)
    return view[MAP_COLUMNS].reset_index(drop=True)


class MapState(param.Parameterized):
    """The map of the working table and the points selected on it (no widgets).

    ``tasks`` runs the computation; ``correction`` is the table mapped and edited.
    """

    tasks = param.ClassSelector(class_=TaskRunner)
    correction = param.ClassSelector(class_=CorrectionState)

    representation = param.Selector(
        default="auto",
        objects=["auto", "logmel", "reservoir"],
        doc="Segment vectors (auto: the active model's reservoir states, else log-mel).",
    )
    color_by = param.Selector(default="hand label", objects=list(COLOR_BY))
    points = param.DataFrame(
        default=None, allow_None=True, doc="segment_id, x, y, cluster and the map evidence."
    )
    info = param.Dict(default={}, doc="map_segments info: representation, clusters, V-measure.")
    selection = param.List(default=[], doc="segment_id of the selected points.")
    ignore = param.List(default=["SIL"], doc="Labels left out of the map.")
    maps_dir = param.String(
        default=None,
        allow_None=True,
        doc="Folder of saved maps (RUN_ROOT/.maps); None: maps live only in this session.",
    )
    hovered = param.String(default=None, allow_None=True, doc="segment_id under the mouse.")
    hover_image = param.String(default="", doc="PNG data URI of the hovered segment.")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._fitted: tuple[str, Any, pd.DataFrame] | None = None  # key, SyllableMap, points
        self._extractor: Any = None
        self._thumbnails: OrderedDict[str, str] = OrderedDict()

    def compute(
        self,
        annotator: Any = None,
        cache_dir: Path | None = None,
        n_neighbors: int = 15,
        refit: bool = False,
        model_id: str | None = None,
    ) -> Any:
        """Map the working table's segments (background).

        Reuses this session's map, else the one saved under :attr:`maps_dir`, placing only
        new or changed segments into it (:func:`canapy.analysis.mapping.place_segments`);
        fits a new map (and saves it) when there is none of this representation and
        model, or when ``refit``. ``model_id`` names the annotator (run and model) for
        reservoir maps.
        """
        from canapy.analysis.embedding import logmel_extractor
        from canapy.analysis.mapping import (
            map_key,
            points_table,
            remap_segments,
            resolve_representation,
        )

        table = self.correction.history.current
        table = table[~table["label"].astype(str).isin(self.ignore)].reset_index(drop=True)
        if len(table) < 10:
            raise CanapyError(f"only {len(table)} segments: the map needs at least 10")
        rep = resolve_representation(self.representation, annotator)
        key = map_key(rep, model_id)
        fitted = self._fitted if not refit and self._fitted and self._fitted[0] == key else None
        folder = Path(self.maps_dir) / key if self.maps_dir else None
        params = {"n_neighbors": n_neighbors, "seed": 0}

        def job(progress: Callable[[float, str], None]) -> tuple:
            prior = fitted[1:] if fitted else None
            if prior is None and not refit and folder is not None:
                prior = _load_saved(folder, key, params)
            mapped = remap_segments(
                table,
                prior,
                annotator=annotator,
                representation=rep,
                map_params=params,
                cache_dir=cache_dir,
                progress=progress,
            )
            points = points_table(table, mapped)
            note = _save(folder, key, rep, mapped, points, "n_kept" not in mapped.info)
            return table["segment_id"].to_numpy(), mapped, points, note

        def apply(result: tuple) -> None:
            ids, mapped, reference, note = result
            self._fitted = (key, mapped.smap, reference)
            self._extractor = logmel_extractor(annotator=annotator, cache_dir=cache_dir)
            self._thumbnails.clear()
            points = pd.DataFrame(
                {
                    "segment_id": ids,
                    "x": mapped.points[:, 0].astype(float),
                    "y": mapped.points[:, 1].astype(float),
                    "cluster": np.asarray(mapped.clusters, int),
                }
            )
            points = pd.concat([points, mapped.evidence.reset_index(drop=True)], axis=1)
            info = {**mapped.info, "saved": note}
            self.param.update(points=points, info=info, selection=[], hovered=None)

        return self.tasks.submit(
            f"mapping {len(table)} segments", job, apply, done=f"map of {len(table)} segments"
        )

    def thumbnail(self, segment_id: str) -> str:
        """PNG data URI of a mapped segment's spectrogram (kept for the last few hovered).

        Raises
        ------
        CanapyError
            No map computed yet, or the segment is not in the working table.
        """
        from canapy.analysis.thumbnails import segment_thumbnail

        segment_id = str(segment_id)
        if segment_id in self._thumbnails:
            self._thumbnails.move_to_end(segment_id)
            return self._thumbnails[segment_id]
        if self._extractor is None:
            raise CanapyError("compute the map first")
        table = self.correction.history.current
        rows = table[table["segment_id"] == segment_id]
        if not len(rows):
            raise CanapyError(f"segment {segment_id} is no longer in the working table")
        uri = segment_thumbnail(rows.iloc[0], self._extractor)
        self._thumbnails[segment_id] = uri
        while len(self._thumbnails) > _THUMBNAILS_KEPT:
            self._thumbnails.popitem(last=False)
        return uri

    def hover(self, segment_id: str | None) -> None:
        """The mouse is over ``segment_id``'s point: show its spectrogram thumbnail."""
        if segment_id is None or segment_id == self.hovered:
            return
        try:
            image = self.thumbnail(segment_id)
        except (CanapyError, OSError) as exc:  # a file gone since the map: say it, go on
            logger.warning("no thumbnail for %s: %s", segment_id, exc)
            image = ""
        self.param.update(hovered=str(segment_id), hover_image=image)

    def view(self, review: pd.DataFrame | None = None) -> pd.DataFrame:
        """:func:`map_view` of the current points and working table."""
        return map_view(self.points, self.correction.working, review)

    def select(self, segment_ids: list[str]) -> None:
        """Select points (a lasso or box selection on the map)."""
        self.selection = [str(s) for s in segment_ids]

    def open_segment(self, segment_id: str) -> None:
        """Show a segment in the viewer, selected, and play it (a click on its point)."""
        correction = self.correction
        correction.select_segment(segment_id)
        table = correction.history.current
        row = table[table["segment_id"] == str(segment_id)].iloc[0]
        on, off = float(row["onset_s"]), float(row["offset_s"])
        correction.review_window = (max(0.0, on - _PLAY_MARGIN_S), off + _PLAY_MARGIN_S)
        correction.play_requests += 1

    def relabel_selection(self, label: str) -> int:
        """Give every selected segment ``label``, in one undoable edit; return how many.

        Raises
        ------
        CanapyError
            No label, or no selected point left in the working table.
        """
        from canapy.edits import relabel

        label = str(label).strip()
        if not label:
            raise CanapyError("type the new label of the selected points first")
        present = set(self.correction.history.current["segment_id"])
        ids = [s for s in self.selection if s in present]
        if not ids:
            raise CanapyError("select points on the map first (lasso or box select)")
        self.correction.edit(
            f"relabel {len(ids)} segment(s) selected on the map as {label!r}", relabel, ids, label
        )
        return len(ids)


def _load_saved(folder: Path, key: str, params: dict[str, Any]) -> tuple[Any, pd.DataFrame] | None:
    """The map saved in ``folder`` if it is this key's with these settings, else None."""
    from canapy.analysis.mapping import load_mapped

    if not folder.is_dir():
        return None
    try:
        smap, points, meta = load_mapped(folder)
    except (CanapyError, OSError, ValueError) as exc:
        logger.warning("not reusing the saved map %s: %s", folder, exc)
        return None
    if meta.get("map_key") != key or meta.get("params", {}).get("n_neighbors") != params.get(
        "n_neighbors"
    ):
        return None
    return smap, points


def _save(
    folder: Path | None, key: str, rep: str, mapped: Any, points: pd.DataFrame, fitted: bool
) -> str:
    """Save a new map (or the new points of a reused one); a note of what happened."""
    from canapy.analysis.mapping import save_mapped, save_points

    if folder is None:
        return "not saved (no run folder)"
    try:
        if fitted:
            save_mapped(folder, mapped.smap, points, {"map_key": key, "representation": rep})
        else:
            save_points(folder, points)
    except (CanapyError, OSError) as exc:  # a read-only run folder: the map still shows
        logger.warning("could not save the map in %s: %s", folder, exc)
        return f"not saved: {exc}"
    return str(folder)
