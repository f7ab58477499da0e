"""Scoring predicted segments against reference segments, file by file and pooled."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from canapy.exceptions import AnnotationError
from canapy.metrics.frames import (
    class_report,
    confusion,
    frame_accuracy,
    frame_codes,
    n_frames,
    sort_by_onset,
)
from canapy.metrics.result import EvaluationResult
from canapy.metrics.sequences import (
    count_matches,
    error_ratio,
    scores_from_counts,
    segment_error_counts,
    syllable_error_rate,
)
from canapy.segments import SCORED_COLUMNS, TIME_EPS, require_columns

__all__ = ["evaluate_segments"]


def evaluate_segments(
    reference: pd.DataFrame,
    predicted: pd.DataFrame,
    durations: Mapping[str, float],
    silence_label: str = "SIL",
    hop_s: float = 0.001,
    tolerance_s: float = 0.01,
) -> EvaluationResult:
    """Score predicted segments against reference segments, file by file and pooled.

    Parameters
    ----------
    reference, predicted : pandas.DataFrame
        Segment tables (columns ``audio_path, onset_s, offset_s, label``).
    durations : mapping of str to float
        Duration in seconds of every evaluated file, keyed by ``audio_path``. These keys
        are the evaluated files: a file without predicted segments counts as all
        deletions, one without reference segments as all insertions.
    silence_label : str
        Label of frames outside every segment (must not be used by any segment).
    hop_s : float
        Step of the common frame grid, in seconds.
    tolerance_s : float
        Onset/offset matching tolerance, in seconds.

    Returns
    -------
    EvaluationResult

    Raises
    ------
    AnnotationError
        If a table lacks a column, or has segments in a file missing from ``durations``.

    Examples
    --------
    >>> ref = pd.DataFrame({"audio_path": ["x.wav"] * 3, "onset_s": [0.1, 0.3, 0.5],
    ...                     "offset_s": [0.2, 0.4, 0.6], "label": ["a", "b", "c"]})
    >>> res = evaluate_segments(ref, ref.drop(index=1), {"x.wav": 1.0}, hop_s=0.01)
    >>> round(res.syllable_error_rate, 4), res.frame_accuracy
    (0.3333, 0.9)
    """
    require_columns(reference, SCORED_COLUMNS, "reference")
    require_columns(predicted, SCORED_COLUMNS, "predicted")
    files = sorted(str(f) for f in durations)
    ref = reference.assign(
        audio_path=reference["audio_path"].astype(str), label=reference["label"].astype(str)
    )
    hyp = predicted.assign(
        audio_path=predicted["audio_path"].astype(str), label=predicted["label"].astype(str)
    )
    for name, df in (("reference", ref), ("predicted", hyp)):
        unknown = sorted(set(df["audio_path"]) - set(files))
        if unknown:
            raise AnnotationError(
                f"{name} segments refer to {len(unknown)} file(s) missing from durations, "
                f"e.g. {unknown[0]!r}; pass the duration of every annotated file"
            )
        if (df["label"] == silence_label).any():
            raise AnnotationError(
                f"{name} segments use the silence label {silence_label!r} as a label; "
                "drop those rows or choose another silence_label"
            )

    classes = [silence_label, *sorted(set(ref["label"]) | set(hyp["label"]))]
    code_of = {c: i for i, c in enumerate(classes)}
    ref_groups = dict(tuple(ref.groupby("audio_path", sort=False)))
    hyp_groups = dict(tuple(hyp.groupby("audio_path", sort=False)))
    empty = ref.iloc[:0]

    true_frames, pred_frames, rows = [], [], []
    ref_seqs, hyp_seqs = [], []
    onset_counts = np.zeros(3, dtype=np.int64)  # n_ref, n_hyp, n_match
    offset_counts = np.zeros(3, dtype=np.int64)
    tol = tolerance_s + TIME_EPS
    for f in files:
        r = sort_by_onset(ref_groups.get(f, empty))
        h = sort_by_onset(hyp_groups.get(f, empty))
        n = n_frames(float(durations[f]), hop_s)
        t_codes, p_codes = (
            frame_codes(
                d["onset_s"].to_numpy(float),
                d["offset_s"].to_numpy(float),
                d["label"].map(code_of).to_numpy(np.int64),
                n,
                hop_s,
            )
            for d in (r, h)
        )
        true_frames.append(t_codes)
        pred_frames.append(p_codes)
        r_labels, h_labels = r["label"].tolist(), h["label"].tolist()
        ref_seqs.append(r_labels)
        hyp_seqs.append(h_labels)
        edits = segment_error_counts(r_labels, h_labels)
        on = [np.sort(r["onset_s"].to_numpy(float)), np.sort(h["onset_s"].to_numpy(float))]
        off = [np.sort(r["offset_s"].to_numpy(float)), np.sort(h["offset_s"].to_numpy(float))]
        on_counts = np.array([len(on[0]), len(on[1]), count_matches(on[0], on[1], tol)])
        onset_counts += on_counts
        offset_counts += [len(off[0]), len(off[1]), count_matches(off[0], off[1], tol)]
        rows.append(
            {
                "audio_path": f,
                "n_ref": len(r_labels),
                "n_hyp": len(h_labels),
                "edit_distance": edits,
                "ser": error_ratio(edits, len(r_labels)),
                "frame_accuracy": frame_accuracy(t_codes, p_codes),
                "onset_f1": scores_from_counts(*(int(x) for x in on_counts))["f1"],
            }
        )

    y_true = np.concatenate(true_frames) if true_frames else np.zeros(0, np.int64)
    y_pred = np.concatenate(pred_frames) if pred_frames else np.zeros(0, np.int64)
    # Integer codes keep sklearn fast on millions of frames; names are put back after.
    idx = list(range(len(classes)))
    per_class = class_report(y_true, y_pred, labels=idx)
    per_class.index = pd.Index(classes, name="label")
    conf, counts = (
        confusion(y_true, y_pred, labels=idx, normalize=norm) for norm in ("true", None)
    )
    for m in (conf, counts):
        m.index = pd.Index(classes, name="true")
        m.columns = pd.Index(classes, name="predicted")

    per_file = pd.DataFrame(
        rows,
        columns=[
            "audio_path",
            "n_ref",
            "n_hyp",
            "edit_distance",
            "ser",
            "frame_accuracy",
            "onset_f1",
        ],
    )
    per_file = per_file.sort_values(
        ["ser", "audio_path"], ascending=[False, True], kind="stable"
    ).reset_index(drop=True)
    return EvaluationResult(
        frame_accuracy=frame_accuracy(y_true, y_pred),
        syllable_error_rate=syllable_error_rate(ref_seqs, hyp_seqs),
        onset=scores_from_counts(*(int(x) for x in onset_counts)),
        offset=scores_from_counts(*(int(x) for x in offset_counts)),
        per_class=per_class,
        confusion=conf,
        confusion_counts=counts,
        per_file=per_file,
    )
