"""Segments -> per-frame class targets (pure functions)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from canapy.exceptions import AnnotationError

__all__ = ["check_silence_label", "frame_targets", "make_classes", "silence_quiet_frames"]


def check_silence_label(segments: pd.DataFrame, silence_label: str) -> None:
    """Refuse hand segments labelled with the silence tag (they would train as background).

    A label equal to ``postprocess.silence_label`` is ambiguous: it may be a real
    syllable class (``SIL`` in the canary annotations) or marked silence. Rather than
    silently merge it into the background class, training stops and says how to choose.

    Parameters
    ----------
    segments : pd.DataFrame
        Segment table with ``audio_path`` and ``label`` columns.
    silence_label : str
        The silence tag of the config.

    Raises
    ------
    AnnotationError
        Naming the label, how many segments and which files have it, and the fixes.

    Examples
    --------
    >>> seg = pd.DataFrame({"audio_path": ["/d/a.wav"], "label": ["SIL"]})
    >>> check_silence_label(seg, "_silence_")
    >>> check_silence_label(seg, "SIL")
    Traceback (most recent call last):
    ...
    canapy.exceptions.AnnotationError: label 'SIL' of 1 segment(s) in a.wav is also ...
    """
    hit = segments[segments["label"].astype(str) == silence_label]
    if hit.empty:
        return
    files = sorted({Path(str(p)).name for p in hit["audio_path"]})
    shown = ", ".join(files[:5]) + (f" and {len(files) - 5} more" if len(files) > 5 else "")
    raise AnnotationError(
        f"label {silence_label!r} of {len(hit)} segment(s) in {shown} is also the silence "
        "tag (postprocess.silence_label), so these segments would be trained as background; "
        f"if {silence_label!r} is a real syllable class, set postprocess.silence_label to a "
        'tag no file uses (e.g. "_silence_") in your config; if they mark silence, rename '
        "or delete those segments"
    )


def make_classes(labels: Sequence[str], silence_label: str) -> list[str]:
    """Class list used by the models: the silence tag first, then sorted labels.

    >>> make_classes(["b", "a", "b"], "SIL")
    ['SIL', 'a', 'b']
    """
    uniq = sorted({str(lab) for lab in labels} - {silence_label})
    return [silence_label, *uniq]


def frame_targets(
    onsets_s: Sequence[float],
    offsets_s: Sequence[float],
    labels: Sequence[str],
    n: int,
    hop_s: float,
    classes: Sequence[str],
    boundary_s: float = 0.0,
) -> np.ndarray:
    """Class index of each of ``n`` frames (frame ``i`` centred at ``i * hop_s``).

    Frames outside every segment get class 0 (silence). With ``boundary_s > 0`` each
    segment is shrunk by that much on both sides (never below a third of its length), so
    that touching syllables are separated by a few silence frames in the targets.

    Examples
    --------
    >>> frame_targets([0.01], [0.03], ["a"], 5, 0.01, ["SIL", "a"]).tolist()
    [0, 1, 1, 0, 0]
    """
    index = {c: i for i, c in enumerate(classes)}
    out = np.zeros(n, dtype=np.int64)
    times = np.arange(n) * hop_s
    for on, off, lab in zip(onsets_s, offsets_s, labels, strict=True):
        shrink = min(boundary_s, (off - on) / 3.0)
        lo = np.searchsorted(times, on + shrink - 1e-9, side="left")
        hi = np.searchsorted(times, off - shrink - 1e-9, side="left")
        if hi <= lo:  # segment shorter than a frame: keep its nearest frame
            lo = min(n - 1, round((on + off) / 2 / hop_s))
            hi = lo + 1
        out[lo:hi] = index[str(lab)]
    return out


def silence_quiet_frames(
    targets: np.ndarray, loudness: np.ndarray, min_frames: int, fraction: float = 0.25
) -> np.ndarray:
    """Targets with the quiet stretches inside segments turned into silence (class 0).

    For phrase-level labels: a phrase spans its syllables *and* the silent gaps between
    them; training those gaps as silence teaches the model the sounds, not the phrase's
    extent, and keeps phrase edges sharp (decoding bridges the gaps again). A frame is
    quiet below ``quiet + fraction * (loud - quiet)``, ``quiet`` being the median loudness
    outside segments and ``loud`` the 90th percentile inside; only runs of at least
    ``min_frames`` quiet frames change. Returns a new array.

    Parameters
    ----------
    targets : int ndarray, shape (n,)
        Class per frame, 0 for silence.
    loudness : ndarray, shape (n,)
        Per-frame loudness (e.g. :func:`canapy.features.frame_loudness`).
    min_frames : int
        Shortest quiet run turned into silence.
    fraction : float
        Position of the threshold between the quiet and loud levels.

    Examples
    --------
    >>> t = np.array([0, 0, 1, 1, 1, 1, 1, 1, 0, 0])
    >>> loud = np.array([0, 0, 9, 9, 0, 0, 9, 9, 0, 0.0])
    >>> silence_quiet_frames(t, loud, 2).tolist()
    [0, 0, 1, 1, 0, 0, 1, 1, 0, 0]
    """
    targets = np.asarray(targets).copy()
    loudness = np.asarray(loudness, np.float64)[: len(targets)]
    inside = targets != 0
    if not inside.any():
        return targets
    outside = loudness[~inside]
    quiet = float(np.median(outside)) if len(outside) >= 10 else float(np.percentile(loudness, 10))
    loud = float(np.percentile(loudness[inside], 90))
    if loud <= quiet:
        return targets
    mask = inside & (loudness < quiet + fraction * (loud - quiet))
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
        if b - a >= min_frames:
            targets[a:b] = 0
    return targets
