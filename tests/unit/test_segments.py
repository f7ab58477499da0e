"""The segment-table contract: columns, normalisation, validation, CSV names."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from canapy import segments as contract
from canapy.exceptions import AnnotationError


def _table(**changes: list) -> pd.DataFrame:
    base = {
        "segment_id": ["b.wav#0000", "a.wav#0001", "a.wav#0000"],
        "audio_path": ["/d/b.wav", "/d/a.wav", "/d/a.wav"],
        "onset_s": [0.1, 0.3, 0.1],
        "offset_s": [0.2, 0.4, 0.3],
        "label": [" A", 7, "B"],
    }
    return pd.DataFrame(base | changes)


def test_normalise_orders_types_and_strips():
    out = contract.normalise_segments(_table().assign(extra=1))
    assert list(out.columns) == contract.SEGMENT_COLUMNS
    assert out["segment_id"].tolist() == ["a.wav#0000", "a.wav#0001", "b.wav#0000"]
    assert out["label"].tolist() == ["B", "7", "A"]
    with pytest.raises(AnnotationError, match=r"lacks column\(s\) \['label'\]"):
        contract.normalise_segments(_table().drop(columns="label"))


def test_touching_is_valid_within_the_time_slack():
    touching = _table(offset_s=[0.2, 0.4, 0.3 + contract.TIME_EPS / 2])
    assert len(contract.validate_segments(touching)) == 3
    overlapping = _table(offset_s=[0.2, 0.4, 0.3 + 10 * contract.TIME_EPS])
    with pytest.raises(AnnotationError, match="a.wav#0001 .* overlaps segment a.wav#0000"):
        contract.validate_segments(overlapping)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"segment_id": ["x", "x", "y"]}, "duplicate segment id"),
        ({"onset_s": [0.1, np.nan, 0.1]}, "not a number"),
        ({"onset_s": [-0.1, 0.3, 0.1]}, "negative time"),
        ({"label": ["A", " ", "B"]}, "empty label"),
    ],
)
def test_validation_names_the_problem(changes, match):
    with pytest.raises(AnnotationError, match=match):
        contract.validate_segments(_table(**changes))


def test_csv_names_only_at_the_boundary():
    table = contract.segment_table(Path("/d/a.wav"), np.array([0.1]), np.array([0.2]), ["A"])
    csv = contract.to_csv_columns(table)
    assert list(csv.columns) == ["segment_id", "wave", "start", "end", "syll"]
    pd.testing.assert_frame_equal(contract.from_csv_columns(csv), table)
    assert list(contract.CSV_COLUMNS) == list(contract.SCORED_COLUMNS)
    assert contract.SEGMENT_COLUMNS[1:] == list(contract.SCORED_COLUMNS)
    assert len(contract.empty_segments()) == 0
