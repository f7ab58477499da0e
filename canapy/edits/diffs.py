"""Differences between two segment tables, matched by segment id.

Examples
--------
>>> old = pd.DataFrame({"segment_id": ["a.wav#0000"], "audio_path": ["/d/a.wav"],
...                     "onset_s": [0.1], "offset_s": [0.2], "label": ["A"]})
>>> diff_tables(old, old.assign(label="B"))[["segment_id", "change"]].values.tolist()
[['a.wav#0000', 'relabelled']]
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from canapy.segments import TIME_EPS, normalise_segments

__all__ = ["DIFF_COLUMNS", "diff_tables", "preview"]

DIFF_COLUMNS = [
    "segment_id",
    "wave",
    "change",
    "old_label",
    "new_label",
    "old_onset_s",
    "old_offset_s",
    "new_onset_s",
    "new_offset_s",
]


def diff_tables(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Segment-by-segment differences, matched by segment id.

    Returns
    -------
    DataFrame
        Columns :data:`DIFF_COLUMNS`; ``change`` is ``added``, ``removed``, ``relabelled``,
        ``moved`` or ``relabelled+moved``. Unchanged segments are left out. Sorted by file
        name then time.
    """
    a = normalise_segments(old).set_index("segment_id")
    b = normalise_segments(new).set_index("segment_id")
    both = a.join(b, how="outer", lsuffix="_a", rsuffix="_b", sort=False)
    in_a, in_b = both["label_a"].notna(), both["label_b"].notna()
    moved = (
        (both["onset_s_a"] - both["onset_s_b"]).abs().gt(TIME_EPS)
        | (both["offset_s_a"] - both["offset_s_b"]).abs().gt(TIME_EPS)
        | (both["audio_path_a"] != both["audio_path_b"])
    )
    relabelled = both["label_a"] != both["label_b"]
    change = np.select(
        [~in_a, ~in_b, relabelled & moved, relabelled, moved],
        ["added", "removed", "relabelled+moved", "relabelled", "moved"],
        default="",
    )
    path = both["audio_path_b"].where(in_b, both["audio_path_a"])
    out = pd.DataFrame(
        {
            "segment_id": both.index.astype(str),
            "wave": path.map(lambda s: Path(str(s)).name).to_numpy(),
            "change": change,
            "old_label": both["label_a"].to_numpy(),
            "new_label": both["label_b"].to_numpy(),
            "old_onset_s": both["onset_s_a"].to_numpy(),
            "old_offset_s": both["offset_s_a"].to_numpy(),
            "new_onset_s": both["onset_s_b"].to_numpy(),
            "new_offset_s": both["offset_s_b"].to_numpy(),
        },
        columns=DIFF_COLUMNS,
    )
    out = out[out["change"] != ""]
    time = out["new_onset_s"].fillna(out["old_onset_s"])
    order = np.lexsort((out["segment_id"].to_numpy(), time.to_numpy(), out["wave"].to_numpy()))
    return out.iloc[order].reset_index(drop=True)


def preview(segments: pd.DataFrame, edit: Callable[..., pd.DataFrame], *args, **kwargs) -> int:
    """Number of segments ``edit(segments, *args, **kwargs)`` would add, remove or change.

    The table is not modified. Useful before a class-level edit ("rename 'B' to 'C': 42
    segments will change").
    """
    return len(diff_tables(segments, edit(segments, *args, **kwargs)))
