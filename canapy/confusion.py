"""Where a confusion happens: frames of one class predicted as another, file by file.

Pure functions over segment tables, used by the dashboard's evaluation view and usable from a
notebook (no Panel import here).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from canapy.metrics import frames_from_segments

__all__ = ["confusion_by_file"]

_EMPTY = {"onset_s": [], "offset_s": [], "label": []}


def confusion_by_file(
    reference: pd.DataFrame,
    predicted: Mapping[str, pd.DataFrame],
    durations: Mapping[str, float],
    true_label: str,
    pred_label: str,
    silence_label: str = "SIL",
    hop_s: float = 0.001,
) -> pd.DataFrame:
    """Where frames of class ``true_label`` are predicted as ``pred_label``, file by file.

    Frames are laid on the same grid as :func:`canapy.metrics.evaluate_segments`, so the
    counts add up to one cell of its frame confusion matrix when ``predicted`` holds the
    predictions that were evaluated.

    Parameters
    ----------
    reference : pandas.DataFrame
        Reference segments (columns ``audio_path, onset_s, offset_s, label``).
    predicted : mapping of str to pandas.DataFrame
        Predicted segments (``onset_s, offset_s, label``) of each file, keyed by
        ``audio_path``; a missing file has no predicted segment.
    durations : mapping of str to float
        Duration in seconds of each file to search, keyed by ``audio_path``.
    true_label, pred_label : str
        The confusion-matrix cell (row, column); either may be ``silence_label``.
    silence_label : str
        Label of frames outside every segment.
    hop_s : float
        Frame step in seconds.

    Returns
    -------
    pandas.DataFrame
        Columns ``audio_path``, ``frames``, ``seconds`` (time of the confusion) and
        ``first_s`` (start of its first occurrence); only files where it happens, most
        frames first.

    Examples
    --------
    >>> ref = pd.DataFrame({"audio_path": ["x.wav"], "onset_s": [0.1], "offset_s": [0.3],
    ...                     "label": ["a"]})
    >>> hyp = {"x.wav": pd.DataFrame({"onset_s": [0.2], "offset_s": [0.3], "label": ["b"]})}
    >>> confusion_by_file(ref, hyp, {"x.wav": 0.5}, "a", "b", hop_s=0.01).round(3).values.tolist()
    [['x.wav', 10, 0.1, 0.2]]
    """
    rows = []
    paths = reference["audio_path"].astype(str)
    for path, duration in durations.items():
        ref = reference[(paths == str(path)).to_numpy()]
        hyp = predicted.get(str(path))
        hyp = pd.DataFrame(_EMPTY) if hyp is None else hyp
        t = frames_from_segments(ref, duration, hop_s, silence_label)
        p = frames_from_segments(hyp, duration, hop_s, silence_label)
        hit = np.flatnonzero((t == str(true_label)) & (p == str(pred_label)))
        if len(hit):
            rows.append((str(path), len(hit), len(hit) * hop_s, hit[0] * hop_s))
    out = pd.DataFrame(rows, columns=["audio_path", "frames", "seconds", "first_s"])
    return out.sort_values(
        ["frames", "audio_path"], ascending=[False, True], kind="stable"
    ).reset_index(drop=True)
