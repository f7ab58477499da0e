"""The syllable map's state part and the selectable map builder: no server, no training."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from canapy.corpus import load_corpus
from canapy.dashboards.analysis_plots import (
    HOVERED_SOURCE,
    WEBGL_ABOVE,
    map_colors,
    selectable_map,
)
from canapy.dashboards.state import (
    COLOR_BY,
    MAP_COLUMNS,
    CorrectionState,
    MapState,
    TaskRunner,
    map_view,
)
from canapy.dashboards.state.correction import read_store
from canapy.exceptions import CanapyError
from canapy.synthetic import make_example_corpus


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return make_example_corpus(tmp_path_factory.mktemp("c"), n_files=4, n_unlabelled=0)


def _parts(folder: Path) -> MapState:
    corpus = load_corpus(folder)
    correction = CorrectionState(author="tester")
    correction.start(corpus, read_store(folder, corpus))
    return MapState(tasks=TaskRunner(), correction=correction)


@pytest.fixture(scope="module")
def mapped(folder, tmp_path_factory):
    """One map for the module (UMAP is the slow part); tests undo their edits."""
    smap = _parts(folder)
    smap.compute(cache_dir=tmp_path_factory.mktemp("cache"), n_neighbors=10).result()
    yield smap
    smap.tasks.close()


@pytest.mark.slow  # fits a UMAP map (numba compiles it on first use: many seconds of CPU)
def test_compute_maps_every_segment_but_silences(mapped):
    working = mapped.correction.working
    expected = set(working.loc[working["label"] != "SIL", "segment_id"])
    assert set(mapped.points["segment_id"]) == expected
    assert mapped.info["representation"] == "logmel"
    assert mapped.info["agreement_with_labels"]["v_measure"] > 0.6  # tones cluster by label
    view = mapped.view()
    assert list(view.columns) == MAP_COLUMNS and len(view) == len(expected)


@pytest.mark.slow  # fits a UMAP map (numba compiles it on first use: many seconds of CPU)
def test_lasso_relabel_is_one_undoable_edit(mapped):
    correction = mapped.correction
    before = correction.working.copy()
    view = mapped.view()
    chosen = list(view["segment_id"].iloc[:5])
    mapped.select(chosen)
    assert mapped.relabel_selection("Z") == 5
    after = correction.working.set_index("segment_id")
    assert (after.loc[chosen, "label"] == "Z").all()
    assert "relabel 5 segment(s)" in correction.history_info["undo"]
    assert (mapped.view().set_index("segment_id").loc[chosen, "label"] == "Z").all()
    correction.undo()
    pd.testing.assert_frame_equal(correction.working, before)  # one undo: all five back


@pytest.mark.slow  # fits a UMAP map (numba compiles it on first use: many seconds of CPU)
def test_relabel_needs_a_label_and_a_selection(mapped):
    mapped.select([])
    with pytest.raises(CanapyError, match="select points"):
        mapped.relabel_selection("Z")
    mapped.select(list(mapped.points["segment_id"].iloc[:2]))
    with pytest.raises(CanapyError, match="type the new label"):
        mapped.relabel_selection("  ")


@pytest.mark.slow  # fits a UMAP map (numba compiles it on first use: many seconds of CPU)
def test_clicking_a_point_opens_and_plays_its_segment(mapped):
    correction = mapped.correction
    sid = str(mapped.points["segment_id"].iloc[3])
    plays = correction.play_requests
    mapped.open_segment(sid)
    row = correction.working.set_index("segment_id").loc[sid]
    assert correction.selected_segment == sid
    assert correction.review_path == row["audio_path"]
    lo, hi = correction.review_window
    assert lo <= row["onset_s"] and hi >= row["offset_s"]
    assert correction.play_requests == plays + 1


def test_too_few_segments_is_a_message(folder):
    smap = _parts(folder)
    smap.ignore = sorted(set(smap.correction.working["label"]))
    with pytest.raises(CanapyError, match="at least 10"):
        smap.compute()
    smap.tasks.close()


def test_map_view_takes_prediction_and_suspicion_from_a_review():
    pts = pd.DataFrame(
        {
            "segment_id": ["s1", "s2"],
            "x": [0.0, 1.0],
            "y": [1.0, 0.0],
            "cluster": [0, -1],
            "knn_disagreement": [0.1, 0.9],
            "knn_label": ["A", "A"],
        }
    )
    work = pd.DataFrame(
        {
            "segment_id": ["s1", "s2"],
            "audio_path": ["a.wav", "a.wav"],
            "onset_s": [0.0, 0.5],
            "offset_s": [0.1, 0.6],
            "label": ["A", "B"],
        }
    )
    review = pd.DataFrame({"segment_id": ["s2"], "ensemble": ["C"], "score": [0.7]})
    view = map_view(pts, work, review)
    assert view["predicted"].tolist() == ["A", "C"]
    assert view["suspicion"].tolist() == [0.1, 0.7]
    assert map_view(None, work).empty


def _view(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "segment_id": [f"s{i}" for i in range(n)],
            "audio_path": "/d/a.wav",
            "onset_s": [0.1 * i for i in range(n)],
            "offset_s": [0.1 * i + 0.05 for i in range(n)],
            "label": [("A", "B", "C")[i % 3] for i in range(n)],
            "predicted": [("A", "C")[i % 2] for i in range(n)],
            "cluster": [i % 2 - 1 for i in range(n)],
            "suspicion": [i / max(1, n - 1) for i in range(n)],
            "x": [float(i) for i in range(n)],
            "y": [float(i % 5) for i in range(n)],
        }
    )


@pytest.mark.parametrize("choice", list(COLOR_BY))
def test_selectable_map_keeps_the_rows_in_order(choice):
    from bokeh.models import LassoSelectTool, TapTool

    view = _view(30)
    fig = selectable_map(view, COLOR_BY[choice])
    (renderer,) = fig.renderers
    data = renderer.data_source.data
    assert list(data["label"]) == list(view["label"]) and list(data["x"]) == list(view["x"])
    assert fig.select_one(LassoSelectTool) is not None and fig.select_one(TapTool) is not None
    assert len(set(data["color"])) > 1
    assert fig.output_backend == "canvas"


def test_selectable_map_uses_webgl_for_many_points():
    assert selectable_map(_view(WEBGL_ABOVE + 1)).output_backend == "webgl"


def test_map_colors_grey_noise_and_ramp_suspicion():
    assert map_colors(pd.Series(["0", "-1"]))[1] == "#cccccc"
    low, high = map_colors(pd.Series([0.0, 1.0]), continuous=True)
    assert low != high
    assert map_colors(pd.Series([float("nan")]), continuous=True) == [low]


@pytest.mark.slow  # fits a UMAP map (numba compiles it on first use: many seconds of CPU)
def test_the_map_stays_put_between_correction_rounds(folder, tmp_path):
    """Round 2 keeps the points of unchanged segments; a new session reuses the saved map."""
    from canapy.edits import move, relabel

    maps = tmp_path / "maps"
    cache = tmp_path / "cache"
    smap = _parts(folder)
    smap.maps_dir = str(maps)
    smap.compute(cache_dir=cache, n_neighbors=10).result()
    first = smap.points.set_index("segment_id")[["x", "y", "cluster"]]
    assert "n_kept" not in smap.info and (maps / "logmel" / "points.csv").is_file()

    ids = list(first.index)
    moved, relabelled = ids[0], ids[1:4]
    row = smap.correction.working.set_index("segment_id").loc[moved]
    smap.correction.edit("relabel", relabel, relabelled, "Z")
    smap.correction.edit(
        "move", move, moved, float(row["onset_s"]) + 0.004, float(row["offset_s"]) - 0.004
    )
    smap.compute(cache_dir=cache, n_neighbors=10).result()
    second = smap.points.set_index("segment_id")[["x", "y", "cluster"]]
    assert smap.info["n_kept"] == len(ids) - 1 and smap.info["n_placed"] == 1
    kept = [s for s in ids if s != moved]  # the relabelled ones too: a label moves nothing
    pd.testing.assert_frame_equal(second.loc[kept], first.loc[kept])
    assert (smap.view().set_index("segment_id").loc[relabelled, "label"] == "Z").all()
    smap.tasks.close()

    again = _parts(folder)  # a new session on the stored corpus (the edits were not saved)
    again.maps_dir = str(maps)
    again.compute(cache_dir=cache, n_neighbors=10).result()
    third = again.points.set_index("segment_id")[["x", "y", "cluster"]]
    assert again.info["n_kept"] == len(ids) - 1  # the moved segment is back where it was
    pd.testing.assert_frame_equal(third.loc[kept], second.loc[kept])
    again.compute(cache_dir=cache, n_neighbors=10, refit=True).result()
    assert "n_kept" not in again.info
    again.tasks.close()


@pytest.mark.slow  # fits a UMAP map (numba compiles it on first use: many seconds of CPU)
def test_hovering_a_point_gives_its_spectrogram(mapped):
    import base64
    import io

    from PIL import Image

    sid = str(mapped.points["segment_id"].iloc[2])
    mapped.hover(sid)
    assert mapped.hovered == sid
    assert mapped.hover_image.startswith("data:image/png;base64,")
    png = base64.b64decode(mapped.hover_image.split(",", 1)[1])
    assert Image.open(io.BytesIO(png)).size == (160, 80)
    assert mapped.thumbnail(sid) == mapped.hover_image  # kept, not redrawn
    with pytest.raises(CanapyError, match="no longer"):
        mapped.thumbnail("nope#0000")


def test_selectable_map_reports_the_hovered_row():
    from bokeh.models import CustomJS, HoverTool

    fig = selectable_map(_view(10))
    hovered = fig.select_one({"name": HOVERED_SOURCE})
    assert hovered is not None and dict(hovered.data) == {"index": []}
    callback = fig.select_one(HoverTool).callback
    assert isinstance(callback, CustomJS) and callback.args["hovered"] is hovered
