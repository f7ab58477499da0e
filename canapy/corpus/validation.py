"""Checking the raw segments read from one annotation file, with errors naming the row.

A format reader (:mod:`canapy.corpus.formats`) returns :class:`RawAnnotation` objects:
the times and labels as found in the file. :func:`validate_rows` parses and checks them,
:func:`resolve_audio` finds their audio file and :func:`check_duration` checks them
against it.

Examples
--------
>>> raw = RawAnnotation(Path("/d/a.csv"), "a.wav", ("0.3", "0.1"), ("0.4", "0.2"),
...                     ("B", "A"), (1, 2))
>>> onsets, offsets, labels, rows = validate_rows(raw, Path("/d"))
>>> onsets.tolist(), labels, rows.tolist()
([0.1, 0.3], ['A', 'B'], [2, 1])
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from canapy.audio import check_audio
from canapy.corpus.discovery import AudioIndex
from canapy.exceptions import AnnotationError, AudioError
from canapy.segments import TIME_EPS

__all__ = [
    "OVERSHOOT_S",
    "RawAnnotation",
    "check_duration",
    "display_path",
    "one_line",
    "resolve_audio",
    "validate_rows",
]

OVERSHOOT_S = 0.010
"""A segment may end this much past the end of its audio; it is then clipped."""


@dataclass(frozen=True)
class RawAnnotation:
    """Segments of one audio file as read from an annotation file, before validation.

    ``rows`` are the 1-based row numbers reported in error messages.
    """

    annot_path: Path
    audio_ref: str
    """How the annotation names its audio (file name, path, or a derived name)."""
    onsets: tuple[Any, ...]
    offsets: tuple[Any, ...]
    labels: tuple[Any, ...]
    rows: tuple[int, ...]
    by_stem: tuple[str, ...] = ()
    """Candidate audio stems when the annotation does not name its audio."""


def one_line(exc: BaseException) -> str:
    """An exception's message on one line, at most ~300 characters (for user errors)."""
    text = " ".join(str(exc).split())
    return text[:300] + ("..." if len(text) > 300 else "")


def _where(raw: RawAnnotation, row: int, root: Path) -> str:
    return f"{display_path(raw.annot_path, root)} row {row}"


def display_path(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` when inside it, else in full (for messages)."""
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _as_float(value: Any) -> float:
    if value is None:
        return float("nan")
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return float("nan")
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _resolve_overlaps(
    onsets: np.ndarray,
    offsets: np.ndarray,
    rows: np.ndarray,
    raw: RawAnnotation,
    root: Path,
    tolerance_s: float,
) -> np.ndarray:
    """Raise on overlapping segments; trim overlaps up to ``tolerance_s`` at their middle.

    ``onsets`` are sorted. A segment nested in the previous one is always an error. Returns
    new offsets; trimmed onsets are written into ``onsets``, a copy owned by the caller.
    """
    offsets = offsets.copy()
    for k in range(1, len(onsets)):
        overlap = offsets[k - 1] - onsets[k]
        if overlap <= TIME_EPS:
            continue
        nested = offsets[k] <= offsets[k - 1] or onsets[k] <= onsets[k - 1]
        if overlap > tolerance_s + TIME_EPS or nested:
            hint = (
                ""
                if nested
                else f"; pass overlap_tolerance_s >= {overlap:.3f} to trim such overlaps"
            )
            raise AnnotationError(
                f"{_where(raw, int(rows[k]), root)}: segment {onsets[k]:.6g}-{offsets[k]:.6g} s "
                f"overlaps the segment of row {int(rows[k - 1])} "
                f"({onsets[k - 1]:.6g}-{offsets[k - 1]:.6g} s){hint}"
            )
        middle = (onsets[k] + offsets[k - 1]) / 2.0
        offsets[k - 1] = middle
        onsets[k] = middle
    return offsets


def _row_problem(
    label: Any, onset_text: Any, offset_text: Any, onset: float, offset: float
) -> str | None:
    """What is wrong with one row, or None."""
    for name, value, parsed in (("start", onset_text, onset), ("end", offset_text, offset)):
        if not np.isfinite(parsed):
            return f"{name} is empty or not a number ({value!r})"
    text = "" if label is None or (isinstance(label, float) and np.isnan(label)) else str(label)
    if not text.strip():
        return f"empty label ({text!r})" if text else "empty label"
    if onset < 0 or offset < 0:
        return f"negative time (start {onset:.6g}, end {offset:.6g})"
    if offset <= onset:
        return f"end ({offset:.6g}) <= start ({onset:.6g})"
    return None


def validate_rows(
    raw: RawAnnotation,
    root: Path,
    overlap_tolerance_s: float = 0.0,
    dropped: list[str] | None = None,
) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray]:
    """Parse and check times and labels; return them sorted by onset, with row numbers.

    A bad row (empty or whitespace label, time not a number, negative, end <= start)
    raises :class:`AnnotationError` naming the file and row; if ``dropped`` is a list,
    the row is dropped instead and its message appended to ``dropped``.
    """
    onsets = np.array([_as_float(v) for v in raw.onsets], dtype=float)
    offsets = np.array([_as_float(v) for v in raw.offsets], dtype=float)
    labels: list[str] = []
    keep: list[int] = []
    for i, row in enumerate(raw.rows):
        problem = _row_problem(raw.labels[i], raw.onsets[i], raw.offsets[i], onsets[i], offsets[i])
        if problem is None:
            labels.append(str(raw.labels[i]).strip())
            keep.append(i)
            continue
        where = _where(raw, row, root)
        if dropped is None:
            raise AnnotationError(
                f"{where}: {problem}; fix the row, or pass --drop-bad-rows "
                "(drop_bad_rows=True) to drop such rows with a warning"
            )
        dropped.append(f"{where}: {problem}; row dropped")
    onsets, offsets = onsets[keep], offsets[keep]
    kept_rows = np.asarray(raw.rows, dtype=int)[keep]
    order = np.argsort(onsets, kind="stable")
    onsets, offsets, rows = onsets[order], offsets[order], kept_rows[order]
    labels = [labels[i] for i in order]
    offsets = _resolve_overlaps(onsets, offsets, rows, raw, root, overlap_tolerance_s)
    return onsets, offsets, labels, rows


def resolve_audio(
    raw: RawAnnotation, index: AudioIndex, require_audio: bool, root: Path
) -> tuple[Path, bool]:
    """Audio file of an annotation and whether it exists."""
    near = raw.annot_path.parent.absolute()
    try:
        found = (
            index.match_name(raw.audio_ref, near, root)
            if raw.audio_ref
            else index.match_stems(raw.by_stem, near, root)
        )
    except AnnotationError as exc:
        raise AnnotationError(f"{display_path(raw.annot_path, root)}: {exc}") from None
    if found is not None:
        return found, True
    if raw.audio_ref:
        ref = Path(raw.audio_ref)
        guess = ref if ref.is_absolute() else raw.annot_path.parent / ref.name
    else:
        guess = raw.annot_path.parent / f"{raw.by_stem[-1]}.wav"
    if require_audio:
        first = (
            f"{_where(raw, raw.rows[0], root)}" if raw.rows else display_path(raw.annot_path, root)
        )
        raise AnnotationError(
            f"{first}: audio file {guess.name!r} not found in {index.folder} "
            "(pass require_audio=False to load annotations without their audio)"
        )
    return guess.absolute(), False


def check_duration(
    onsets: np.ndarray,
    offsets: np.ndarray,
    rows: np.ndarray,
    raw: RawAnnotation,
    audio: Path,
    root: Path,
) -> np.ndarray:
    """Check the audio's samples; clip offsets that overshoot it by at most 10 ms.

    The audio is read whole (:func:`canapy.audio.check_audio`), so a truncated file or
    NaN/inf/absurd samples are caught here, at loading, where ``skip_bad`` can skip the
    file, rather than in the middle of training.
    """
    try:
        duration = check_audio(audio)[1]
    except AudioError as exc:
        raise AnnotationError(f"{display_path(raw.annot_path, root)}: {exc}") from exc
    if len(offsets) == 0:
        return offsets
    k = int(np.argmax(offsets))
    if offsets[k] > duration + OVERSHOOT_S or onsets[-1] >= duration:
        bad = (
            int(np.argmax(offsets > duration + OVERSHOOT_S))
            if offsets[k] > duration + OVERSHOOT_S
            else len(onsets) - 1
        )
        raise AnnotationError(
            f"{_where(raw, int(rows[bad]), root)}: segment ends at {offsets[bad]:.6g} s, "
            f"past the end of {audio.name} ({duration:.6g} s)"
        )
    return np.minimum(offsets, duration)
