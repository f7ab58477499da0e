"""A validated table of annotated segments and the audio files it refers to.

Annotations are read in Canapy's own ``marron1csv`` layout (one CSV per audio file, columns
``wave,start,end,syll``) or in any format crowsetta knows. Every file is checked (times,
order, overlaps, audio present and long enough); an error names the file and the row.

The segment table has the columns :data:`SEGMENT_COLUMNS`. Labels are always strings
(``"0"`` stays ``"0"``). A segment id ``"<audio file name>#<k>"`` numbers the segments of a
file in time order; it is stable as long as the annotation of that file does not change.

Examples
--------
>>> import tempfile
>>> from canapy.synthetic import make_example_corpus
>>> folder = make_example_corpus(tempfile.mkdtemp(), n_files=2, n_unlabelled=1)
>>> corpus = load_corpus(folder)
>>> len(corpus.audio_paths), len(corpus.annotated), corpus.unannotated_paths[0].name
(3, 2, 'song_002.wav')
>>> corpus.segments["segment_id"].iloc[0]
'song_000.wav#0000'
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import logging
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from canapy.audio import AUDIO_EXTENSIONS, audio_info
from canapy.exceptions import AnnotationError, AudioError, CanapyError
from canapy.io_utils import atomic_open
from canapy.segments import SEGMENT_COLUMNS, empty_segments, segment_table, validate_segments

__all__ = [
    "MARRON1CSV",
    "SEGMENT_COLUMNS",
    "Corpus",
    "corpus_fingerprint",
    "load_corpus",
    "readable_formats",
    "writable_formats",
    "write_annotation",
]

logger = logging.getLogger(__name__)

MARRON1CSV = "marron1csv"
_MARRON_COLUMNS = ["wave", "start", "end", "syll"]
_OVERSHOOT_S = 0.010
"""A segment may end this much past the end of its audio; it is then clipped."""
_IGNORED_DIRS = {".canapy"}
_IGNORED_NAME = re.compile(r"^(readme|license|licence|changelog)", re.IGNORECASE)
_BIRDSONGREC = "birdsong-recognition-dataset"
_BIRDSONGREC_RATE = 32000
"""Every file of the BirdsongRecognition data set is sampled at 32 kHz."""
_RAVEN_STANDARD = {"selection", "view", "channel"}
_NAME_SUFFIXES = re.compile(
    r"(\.audacity|\.Table\.\d+\.selections|\.not|_annotations?|\.annot)$", re.IGNORECASE
)
_AUDIO_LIKE_EXT = re.compile(r"\.(wav|flac|ogg|npy|cbin|rec|mp3|aif+)$", re.IGNORECASE)


# --------------------------------------------------------------------------------------
# formats
# --------------------------------------------------------------------------------------
def _crowsetta() -> Any:
    import crowsetta  # imported lazily: slow, and only needed for foreign formats

    return crowsetta


def readable_formats() -> list[str]:
    """Annotation formats :func:`load_corpus` reads: ``marron1csv`` and crowsetta's.

    Examples
    --------
    >>> readable_formats()[0]
    'marron1csv'
    """
    return [MARRON1CSV, *_crowsetta().formats.as_list()]


def writable_formats() -> list[str]:
    """Annotation formats :func:`write_annotation` writes.

    Examples
    --------
    >>> "simple-seq" in writable_formats()
    True
    """
    return [MARRON1CSV, *sorted(_WRITERS)]


def _check_format(annot_format: str, allowed: list[str]) -> None:
    if annot_format not in allowed:
        raise AnnotationError(
            f"unknown annotation format {annot_format!r}; allowed: {', '.join(allowed)}"
        )


def _format_exts(annot_format: str) -> tuple[str, ...]:
    if annot_format == MARRON1CSV:
        return (".csv",)
    ext = _crowsetta().formats.by_name(annot_format).ext
    return (ext,) if isinstance(ext, str) else tuple(ext)


# --------------------------------------------------------------------------------------
# finding files
# --------------------------------------------------------------------------------------
def _visible_files(root: Path) -> list[Path]:
    """Files below ``root``, skipping hidden folders and ``.canapy``, sorted by path."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(
            d for d in dirnames if not d.startswith(".") and d not in _IGNORED_DIRS
        )
        out.extend(Path(dirpath) / f for f in filenames if not f.startswith("."))
    return sorted(out)


def find_audio_files(audio_dir: str | Path) -> tuple[Path, ...]:
    """Absolute paths of the audio files below ``audio_dir``, sorted by file name."""
    files = [p.absolute() for p in _visible_files(Path(audio_dir)) if _is_audio(p)]
    return tuple(sorted(files, key=lambda p: (p.name, str(p))))


def _is_audio(path: Path) -> bool:
    return path.suffix.lower() in AUDIO_EXTENSIONS


def _find_annotation_files(data_dir: Path, annot_format: str) -> list[Path]:
    exts = tuple(e.lower() for e in _format_exts(annot_format))
    return [
        p
        for p in _visible_files(data_dir)
        if p.name.lower().endswith(exts) and not _IGNORED_NAME.match(p.name)
    ]


def _candidate_stems(name: str, exts: Iterable[str]) -> list[str]:
    """Audio stems an annotation file name may refer to, most specific first.

    Examples
    --------
    >>> _candidate_stems("X.wav.not.mat", [".not.mat"])
    ['X.wav', 'X']
    >>> _candidate_stems("X.Table.1.selections.txt", [".txt"])
    ['X.Table.1.selections', 'X']
    """
    stem = name
    for ext in sorted(exts, key=len, reverse=True):
        if stem.lower().endswith(ext.lower()):
            stem = stem[: -len(ext)]
            break
    out = [stem]
    for pattern in (_NAME_SUFFIXES, _AUDIO_LIKE_EXT):
        stripped = pattern.sub("", out[-1])
        if stripped and stripped != out[-1]:
            out.append(stripped)
    return out


@dataclass(frozen=True)
class _AudioIndex:
    """Audio files found, by file name and by stem."""

    by_name: Mapping[str, Path]
    by_stem: Mapping[str, Path]
    folder: Path

    @classmethod
    def build(cls, paths: Iterable[Path], folder: Path) -> _AudioIndex:
        by_name: dict[str, Path] = {}
        by_stem: dict[str, Path] = {}
        for p in paths:
            by_name.setdefault(p.name, p)
            by_stem.setdefault(p.stem, p)
        return cls(by_name, by_stem, folder)

    def match_name(self, name: str) -> Path | None:
        """Audio file of that name, or of that stem with another audio extension."""
        base = Path(name).name
        if base in self.by_name:
            return self.by_name[base]
        return self.by_stem.get(Path(base).stem) or self.by_stem.get(base)

    def match_stems(self, stems: Iterable[str]) -> Path | None:
        for stem in stems:
            found = self.by_stem.get(stem) or self.by_name.get(stem)
            if found is not None:
                return found
        return None


# --------------------------------------------------------------------------------------
# raw segments of one annotation
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _RawAnnotation:
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


def _read_marron1csv(path: Path, index: _AudioIndex) -> list[_RawAnnotation]:
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        df = pd.DataFrame()
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
        raise AnnotationError(f"{path}: not a readable CSV file: {_one_line(exc)}") from exc
    df.columns = [str(c).strip() for c in df.columns]
    if not set(_MARRON_COLUMNS) <= set(df.columns):
        found = ",".join(df.columns) if len(df.columns) else "no columns"
        raise AnnotationError(
            f"{path}: not a marron1csv annotation "
            f"(columns {','.join(_MARRON_COLUMNS)} expected, found {found})"
        )
    rows = np.arange(1, len(df) + 1)
    if len(df) == 0:
        return [
            _RawAnnotation(path, "", (), (), (), (), tuple(_candidate_stems(path.name, [".csv"])))
        ]
    out = []
    waves = df["wave"].str.strip()
    for wave in dict.fromkeys(waves):
        mask = (waves == wave).to_numpy()
        sub = df[mask]
        if not wave:
            raise AnnotationError(f"{path} row {int(rows[mask][0])}: empty wave (audio file name)")
        out.append(
            _RawAnnotation(
                path,
                wave,
                tuple(sub["start"]),
                tuple(sub["end"]),
                tuple(sub["syll"]),
                tuple(int(r) for r in rows[mask]),
            )
        )
    return out


def _split_options(
    options: Mapping[str, Any], *funcs: Callable[..., Any], fmt: str
) -> list[dict[str, Any]]:
    """Send each option to the first of ``funcs`` whose signature accepts it."""
    params = [set(inspect.signature(f).parameters) - {"self", "cls"} for f in funcs]
    out: list[dict[str, Any]] = [{} for _ in funcs]
    for key, value in options.items():
        for i, names in enumerate(params):
            if key in names:
                out[i][key] = value
                break
        else:
            allowed = sorted(set().union(*params) - {"annot_path"})
            raise AnnotationError(
                f"unknown option {key!r} for annotation format {fmt!r}; "
                f"allowed: {', '.join(allowed)}"
            )
    return out


def _raven_annot_col(path: Path) -> str:
    """Column of a Raven selection table holding the labels.

    crowsetta expects ``Annotation``; many tables use another name (``Species``...): take
    the first column that is neither a standard Raven column nor a measurement ``(unit)``.
    """
    with path.open(encoding="utf-8", errors="replace") as fh:
        header = [c.strip() for c in fh.readline().rstrip("\r\n").split("\t")]
    if "Annotation" in header:
        return "Annotation"
    for col in header:
        if col and col.lower() not in _RAVEN_STANDARD and "(" not in col:
            return col
    return "Annotation"


def _birdsongrec_rate(obj: Any, index: _AudioIndex) -> int:
    for seq in obj.sequences:
        audio = index.match_name(str(seq.wav_file))
        if audio is not None:
            with contextlib.suppress(AudioError):
                return audio_info(audio)[0]
    logger.warning(
        "%s: no audio found to read the sample rate from; assuming %d Hz",
        obj.annot_path,
        _BIRDSONGREC_RATE,
    )
    return _BIRDSONGREC_RATE


def _annots_to_raw(annots: list[Any], path: Path, exts: tuple[str, ...]) -> list[_RawAnnotation]:
    out = []
    for annot in annots:
        if getattr(annot, "seq", None) is not None:
            seqs = annot.seq if isinstance(annot.seq, list) else [annot.seq]
            onsets = [x for s in seqs for x in np.asarray(s.onsets_s, dtype=object)]
            offsets = [x for s in seqs for x in np.asarray(s.offsets_s, dtype=object)]
            labels = [x for s in seqs for x in np.asarray(s.labels, dtype=object)]
        else:
            boxes = annot.bboxes or []
            onsets = [b.onset for b in boxes]
            offsets = [b.offset for b in boxes]
            labels = [b.label for b in boxes]
        notated = getattr(annot, "notated_path", None)
        out.append(
            _RawAnnotation(
                path,
                str(notated) if notated is not None else "",
                tuple(onsets),
                tuple(offsets),
                tuple(labels),
                tuple(range(1, len(onsets) + 1)),
                () if notated is not None else tuple(_candidate_stems(path.name, exts)),
            )
        )
    return out


def _read_crowsetta(
    path: Path, fmt: str, index: _AudioIndex, options: Mapping[str, Any]
) -> list[_RawAnnotation]:
    cls = _crowsetta().formats.by_name(fmt)
    file_kw, annot_kw = _split_options(options, cls.from_file, cls.to_annot, fmt=fmt)
    if fmt == "raven" and "annot_col" not in file_kw:
        file_kw["annot_col"] = _raven_annot_col(path)
    if fmt == _BIRDSONGREC and "wav_path" not in file_kw:
        file_kw["wav_path"] = index.folder
    if fmt == "textgrid" and "tier" not in annot_kw:
        annot_kw["tier"] = 0  # first interval tier; crowsetta's default merges all tiers
    if "round_times" in inspect.signature(cls.to_annot).parameters:
        annot_kw.setdefault("round_times", False)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            obj = cls.from_file(path, **file_kw)
            if fmt == _BIRDSONGREC and "samplerate" not in annot_kw:
                annot_kw["samplerate"] = _birdsongrec_rate(obj, index)
            annots = obj.to_annot(**annot_kw)
    except CanapyError:
        raise
    except Exception as exc:  # crowsetta raises many types (pandera, ValueError, KeyError...)
        raise AnnotationError(f"{path.name}: cannot read as {fmt!r}: {_one_line(exc)}") from exc
    annots = annots if isinstance(annots, list) else [annots]
    return _annots_to_raw(annots, path, _format_exts(fmt))


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300] + ("..." if len(text) > 300 else "")


# --------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------
def _where(raw: _RawAnnotation, row: int, root: Path) -> str:
    return f"{_display(raw.annot_path, root)} row {row}"


def _display(path: Path, root: Path) -> str:
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
    raw: _RawAnnotation,
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
        if overlap <= 1e-9:
            continue
        nested = offsets[k] <= offsets[k - 1] or onsets[k] <= onsets[k - 1]
        if overlap > tolerance_s + 1e-9 or nested:
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


def _validate_rows(
    raw: _RawAnnotation, root: Path, overlap_tolerance_s: float = 0.0
) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray]:
    """Parse and check times and labels; return them sorted by onset, with row numbers."""
    onsets = np.array([_as_float(v) for v in raw.onsets], dtype=float)
    offsets = np.array([_as_float(v) for v in raw.offsets], dtype=float)
    labels: list[str] = []
    for i, row in enumerate(raw.rows):
        where = _where(raw, row, root)
        for name, value, parsed in (
            ("start", raw.onsets[i], onsets[i]),
            ("end", raw.offsets[i], offsets[i]),
        ):
            if not np.isfinite(parsed):
                raise AnnotationError(f"{where}: {name} is empty or not a number ({value!r})")
        label = raw.labels[i]
        label = "" if label is None or (isinstance(label, float) and np.isnan(label)) else label
        label = str(label).strip()
        if not label:
            raise AnnotationError(f"{where}: empty label")
        if onsets[i] < 0 or offsets[i] < 0:
            raise AnnotationError(
                f"{where}: negative time (start {onsets[i]:.6g}, end {offsets[i]:.6g})"
            )
        if offsets[i] <= onsets[i]:
            raise AnnotationError(f"{where}: end ({offsets[i]:.6g}) <= start ({onsets[i]:.6g})")
        labels.append(label)
    order = np.argsort(onsets, kind="stable")
    onsets, offsets, rows = onsets[order], offsets[order], np.asarray(raw.rows)[order]
    labels = [labels[i] for i in order]
    offsets = _resolve_overlaps(onsets, offsets, rows, raw, root, overlap_tolerance_s)
    return onsets, offsets, labels, rows


def _resolve_audio(
    raw: _RawAnnotation, index: _AudioIndex, require_audio: bool, root: Path
) -> tuple[Path, bool]:
    """Audio file of an annotation and whether it exists."""
    found = index.match_name(raw.audio_ref) if raw.audio_ref else index.match_stems(raw.by_stem)
    if found is not None:
        return found, True
    if raw.audio_ref:
        ref = Path(raw.audio_ref)
        guess = ref if ref.is_absolute() else raw.annot_path.parent / ref.name
    else:
        guess = raw.annot_path.parent / f"{raw.by_stem[-1]}.wav"
    if require_audio:
        first = f"{_where(raw, raw.rows[0], root)}" if raw.rows else _display(raw.annot_path, root)
        raise AnnotationError(
            f"{first}: audio file {guess.name!r} not found in {index.folder} "
            "(pass require_audio=False to load annotations without their audio)"
        )
    return guess.absolute(), False


def _check_duration(
    onsets: np.ndarray,
    offsets: np.ndarray,
    rows: np.ndarray,
    raw: _RawAnnotation,
    audio: Path,
    root: Path,
) -> np.ndarray:
    """Clip offsets that overshoot the audio by at most 10 ms; raise beyond."""
    if len(offsets) == 0:
        return offsets
    try:
        duration = audio_info(audio)[1]
    except AudioError as exc:
        raise AnnotationError(f"{_display(raw.annot_path, root)}: {exc}") from exc
    k = int(np.argmax(offsets))
    if offsets[k] > duration + _OVERSHOOT_S or onsets[-1] >= duration:
        bad = (
            int(np.argmax(offsets > duration + _OVERSHOOT_S))
            if offsets[k] > duration + _OVERSHOOT_S
            else len(onsets) - 1
        )
        raise AnnotationError(
            f"{_where(raw, int(rows[bad]), root)}: segment ends at {offsets[bad]:.6g} s, "
            f"past the end of {audio.name} ({duration:.6g} s)"
        )
    return np.minimum(offsets, duration)


# --------------------------------------------------------------------------------------
# Corpus
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Corpus:
    """Annotated segments and the audio files of a data folder.

    Attributes
    ----------
    segments : pd.DataFrame
        One row per segment, columns :data:`SEGMENT_COLUMNS`, sorted by audio file name
        then onset.
    audio_paths : tuple of Path
        Every audio file found, annotated or not, sorted by name.
    annotated : tuple of Path
        Audio files that have an annotation file (possibly with zero segments).
    annot_format : str
        Format the annotations were read from.
    problems : tuple of str
        Messages of the files skipped with ``skip_bad=True``.
    """

    segments: pd.DataFrame
    audio_paths: tuple[Path, ...]
    annotated: tuple[Path, ...] = ()
    annot_format: str = MARRON1CSV
    problems: tuple[str, ...] = ()

    @property
    def annotated_paths(self) -> tuple[Path, ...]:
        """Audio files that have an annotation (alias of :attr:`annotated`)."""
        return self.annotated

    @property
    def unannotated_paths(self) -> tuple[Path, ...]:
        """Audio files found without any annotation file."""
        done = set(self.annotated)
        return tuple(p for p in self.audio_paths if p not in done)

    @property
    def labels(self) -> list[str]:
        """Sorted unique labels."""
        return sorted(set(self.segments["label"]))

    def subset(self, paths: Iterable[str | Path]) -> Corpus:
        """A new corpus restricted to the given audio files (matched by absolute path)."""
        keep = {Path(p).absolute() for p in paths}
        mask = self.segments["audio_path"].map(lambda s: Path(s) in keep).astype(bool)
        return replace(
            self,
            segments=self.segments[mask.to_numpy()].reset_index(drop=True),
            audio_paths=tuple(p for p in self.audio_paths if p in keep),
            annotated=tuple(p for p in self.annotated if p in keep),
        )

    def with_segments(
        self, segments: pd.DataFrame, annotated: Iterable[str | Path] | None = None
    ) -> Corpus:
        """A new corpus with another segment table (e.g. an edited or stored version).

        Parameters
        ----------
        segments : DataFrame
            A segment table (:data:`SEGMENT_COLUMNS`); validated and normalised
            (:func:`canapy.segments.validate_segments`).
        annotated : iterable of str or Path, optional
            The annotated audio files. Default: those of this corpus plus every file
            that has a segment (e.g. a newly proofread recording).

        Returns
        -------
        Corpus
            Its audio files are this corpus' plus those named in ``segments`` and
            ``annotated``; paths sorted by file name, then full path.

        Raises
        ------
        AnnotationError
            If ``segments`` is not a valid segment table.

        Examples
        --------
        >>> corpus = Corpus(segments=empty_segments(), audio_paths=(Path("/d/b.wav"),))
        >>> table = segment_table(Path("/d/a.wav"), np.array([0.1]), np.array([0.2]), ["A"])
        >>> new = corpus.with_segments(table)
        >>> [p.name for p in new.audio_paths], [p.name for p in new.annotated]
        (['a.wav', 'b.wav'], ['a.wav'])
        """
        table = validate_segments(segments)
        if annotated is None:
            files = {str(p) for p in self.annotated} | set(table["audio_path"])
        else:
            files = {str(p) for p in annotated}
        audio = {str(p): p for p in self.audio_paths}
        for f in sorted((files | set(table["audio_path"])) - set(audio)):
            audio[f] = Path(f)
        ordered = sorted(audio.values(), key=lambda p: (p.name, str(p)))
        return replace(
            self,
            segments=table,
            audio_paths=tuple(ordered),
            annotated=tuple(p for p in ordered if str(p) in files),
        )

    def segments_of(self, path: str | Path) -> pd.DataFrame:
        """Segments of one audio file, in time order (a new frame)."""
        target = str(Path(path).absolute())
        sub = self.segments[self.segments["audio_path"] == target]
        return sub.reset_index(drop=True)

    def summary(self) -> pd.DataFrame:
        """Per label: ``count``, ``total_duration_s``, ``mean_duration_s``, ``min_duration_s``.

        Indexed by label, sorted by label.
        """
        dur = self.segments["offset_s"] - self.segments["onset_s"]
        frame = pd.DataFrame({"label": self.segments["label"], "duration": dur})
        grouped = frame.groupby("label", sort=True)["duration"]
        out = pd.DataFrame(
            {
                "count": grouped.size(),
                "total_duration_s": grouped.sum(),
                "mean_duration_s": grouped.mean(),
                "min_duration_s": grouped.min(),
            }
        )
        out.index.name = "label"
        return out

    def check(self, min_count: int = 5, min_duration_s: float = 0.005) -> list[str]:
        """Human-readable warnings: rare labels and very short segments.

        Parameters
        ----------
        min_count : int
            Labels with fewer segments are reported, with the files they occur in.
        min_duration_s : float
            Segments shorter than this are reported.
        """
        out = []
        seg = self.segments
        names = seg["audio_path"].map(lambda s: Path(s).name)
        for label, count in self.summary()["count"].items():
            if count < min_count:
                files = sorted(set(names[seg["label"] == label]))
                shown = ", ".join(files[:5]) + (", ..." if len(files) > 5 else "")
                out.append(
                    f"label {label!r} has only {count} segment(s) (< {min_count}), in {shown}"
                )
        dur = seg["offset_s"] - seg["onset_s"]
        for row in seg[(dur < min_duration_s).to_numpy()].itertuples(index=False):
            out.append(
                f"{Path(row.audio_path).name}: segment {row.segment_id} ({row.label!r} at "
                f"{row.onset_s:.3f} s) lasts {(row.offset_s - row.onset_s) * 1e3:.1f} ms "
                f"(< {min_duration_s * 1e3:.1f} ms)"
            )
        return out


def load_corpus(
    data_dir: str | Path,
    audio_dir: str | Path | None = None,
    annot_format: str = MARRON1CSV,
    *,
    skip_bad: bool = False,
    require_audio: bool = True,
    format_options: Mapping[str, Any] | None = None,
    overlap_tolerance_s: float = 0.0,
) -> Corpus:
    """Find audio and annotation files and build a validated :class:`Corpus`.

    Parameters
    ----------
    data_dir : str or Path
        Folder searched (recursively, skipping hidden folders and ``.canapy``) for
        annotation files.
    audio_dir : str or Path, optional
        Folder searched for audio files; defaults to ``data_dir``.
    annot_format : str
        ``marron1csv`` or a crowsetta format name (see :func:`readable_formats`).
    skip_bad : bool
        Skip a bad annotation file with a warning (kept in ``Corpus.problems``) instead of
        raising.
    require_audio : bool
        If False, annotations whose audio is missing are kept; their ``audio_path`` is
        the path the annotation names (or derives from its own name).
    format_options : mapping, optional
        Extra keyword arguments of the crowsetta reader (``from_file`` or ``to_annot``),
        e.g. ``{"columns_map": {...}}`` for simple-seq, ``{"annot_col": "Species"}`` for
        raven, ``{"tier": "words"}`` for textgrid, ``{"samplerate": 32000}`` for
        birdsong-recognition-dataset.
    overlap_tolerance_s : float
        Overlaps between consecutive segments up to this duration are trimmed (both
        boundaries moved to the middle of the overlap); longer ones raise. Hand-made
        Audacity annotations of canary phrases often overlap by 10-60 ms.

    Returns
    -------
    Corpus

    Raises
    ------
    AnnotationError
        Unknown format, no annotation file, or a bad file (unless ``skip_bad``).
    """
    _check_format(annot_format, readable_formats())
    data_dir = Path(data_dir).absolute()
    audio_root = Path(audio_dir).absolute() if audio_dir is not None else data_dir
    for folder in {data_dir, audio_root}:
        if not folder.is_dir():
            raise AnnotationError(f"{folder}: folder not found")
    options = dict(format_options or {})
    if annot_format == MARRON1CSV and options:
        raise AnnotationError(f"marron1csv takes no format options, got {sorted(options)}")
    audio_paths = find_audio_files(audio_root)
    index = _AudioIndex.build(audio_paths, audio_root)
    annot_files = _find_annotation_files(data_dir, annot_format)
    if not annot_files:
        raise AnnotationError(
            f"{data_dir}: no annotation file found for format {annot_format!r} "
            f"(files ending in {', '.join(_format_exts(annot_format))})"
        )

    tables: dict[Path, pd.DataFrame] = {}
    owner: dict[Path, Path] = {}
    problems: list[str] = []
    for path in annot_files:
        try:
            if annot_format == MARRON1CSV:
                raws = _read_marron1csv(path, index)
            else:
                raws = _read_crowsetta(path, annot_format, index, options)
            new = _validate_file(raws, index, require_audio, data_dir, owner, overlap_tolerance_s)
        except AnnotationError as exc:
            if not skip_bad:
                raise
            logger.warning("skipped %s", exc)
            problems.append(str(exc))
            continue
        for audio, table in new.items():
            tables[audio] = table
            owner[audio] = path
    annotated = tuple(sorted(tables, key=lambda p: (p.name, str(p))))
    frames = [tables[p] for p in annotated if len(tables[p])]
    segments = pd.concat(frames, ignore_index=True) if frames else empty_segments()
    logger.info(
        "loaded %d segments of %d annotated files (%d audio files) from %s",
        len(segments),
        len(annotated),
        len(audio_paths),
        data_dir,
    )
    return Corpus(segments, audio_paths, annotated, annot_format, tuple(problems))


def _validate_file(
    raws: list[_RawAnnotation],
    index: _AudioIndex,
    require_audio: bool,
    root: Path,
    owner: Mapping[Path, Path],
    overlap_tolerance_s: float = 0.0,
) -> dict[Path, pd.DataFrame]:
    """Validated segment tables of one annotation file, keyed by audio path."""
    out: dict[Path, pd.DataFrame] = {}
    for raw in raws:
        onsets, offsets, labels, rows = _validate_rows(raw, root, overlap_tolerance_s)
        audio, exists = _resolve_audio(raw, index, require_audio, root)
        if audio in owner or audio in out:
            other = owner.get(audio, raw.annot_path)
            raise AnnotationError(
                f"{_display(raw.annot_path, root)}: {audio.name} is annotated twice "
                f"(also in {_display(other, root)})"
            )
        if exists:
            offsets = _check_duration(onsets, offsets, rows, raw, audio, root)
        out[audio] = segment_table(audio, onsets, offsets, labels)
    return out


# --------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------
def _segments_for(segments: pd.DataFrame, audio_path: Path) -> pd.DataFrame:
    missing = {"onset_s", "offset_s", "label"} - set(segments.columns)
    if missing:
        raise AnnotationError(f"segments lack column(s) {sorted(missing)}")
    if "audio_path" in segments.columns and len(segments):
        same = segments["audio_path"].map(lambda s: Path(str(s)).name == audio_path.name)
        segments = segments[same.to_numpy(dtype=bool)]
    raw = _RawAnnotation(
        audio_path,
        audio_path.name,
        tuple(segments["onset_s"]),
        tuple(segments["offset_s"]),
        tuple(segments["label"]),
        tuple(range(1, len(segments) + 1)),
    )
    onsets, offsets, labels, _ = _validate_rows(raw, audio_path.parent)
    return pd.DataFrame({"onset_s": onsets, "offset_s": offsets, "label": labels})


def _write_marron1csv(seg: pd.DataFrame, audio: Path, out_dir: Path) -> Path:
    target = out_dir / f"{audio.stem}.csv"
    table = pd.DataFrame(
        {
            "wave": [audio.name] * len(seg),
            "start": seg["onset_s"].round(6),
            "end": seg["offset_s"].round(6),
            "syll": seg["label"].astype(str),
        }
    )
    with atomic_open(target, "w") as fh:
        table.to_csv(fh, index=False, lineterminator="\n", float_format="%.6f")
    return target


@contextlib.contextmanager
def _temp_dir(out_dir: Path) -> Any:
    tmp = Path(tempfile.mkdtemp(prefix=".canapy-write-", dir=out_dir))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _write_via_tmp(target: Path, write: Callable[[Path], Path | None]) -> Path:
    """Let ``write`` produce a file in a temporary folder beside ``target``, then rename."""
    with _temp_dir(target.parent) as tmp:
        produced = write(tmp / target.name) or tmp / target.name
        os.replace(produced, target)
    return target


def _nyquist(audio: Path) -> float:
    with contextlib.suppress(AudioError):
        return audio_info(audio)[0] / 2.0
    return 0.0


def _w_simple_seq(seg: pd.DataFrame, audio: Path, out_dir: Path) -> Path:
    cls = _crowsetta().formats.by_name("simple-seq")

    def write(tmp: Path) -> None:
        obj = cls(
            onsets_s=seg["onset_s"].to_numpy(),
            offsets_s=seg["offset_s"].to_numpy(),
            labels=np.asarray(seg["label"], dtype=str),
            annot_path=tmp,
            notated_path=audio,
        )
        obj.to_file(tmp)

    return _write_via_tmp(out_dir / f"{audio.stem}.csv", write)


def _w_aud_seq(seg: pd.DataFrame, audio: Path, out_dir: Path) -> Path:
    cls = _crowsetta().formats.by_name("aud-seq")

    def write(tmp: Path) -> None:
        obj = cls(
            start_times=seg["onset_s"].to_numpy(),
            end_times=seg["offset_s"].to_numpy(),
            labels=np.asarray(seg["label"], dtype=str),
            annot_path=tmp,
            notated_path=audio,
        )
        obj.to_file(tmp)

    return _write_via_tmp(out_dir / f"{audio.stem}.audacity.txt", write)


def _w_generic_seq(seg: pd.DataFrame, audio: Path, out_dir: Path) -> Path:
    crowsetta = _crowsetta()
    cls = crowsetta.formats.by_name("generic-seq")
    target = out_dir / f"{audio.stem}.csv"

    def write(tmp: Path) -> None:
        seq = crowsetta.Sequence.from_keyword(
            onsets_s=seg["onset_s"].to_numpy(),
            offsets_s=seg["offset_s"].to_numpy(),
            labels=np.asarray(seg["label"], dtype=str),
        )
        annot = crowsetta.Annotation(annot_path=target, notated_path=audio, seq=seq)
        cls(annots=[annot]).to_file(tmp, basename=True)

    return _write_via_tmp(target, write)


def _w_raven(seg: pd.DataFrame, audio: Path, out_dir: Path) -> Path:
    cls = _crowsetta().formats.by_name("raven")

    def write(tmp: Path) -> None:
        n = len(seg)
        df = pd.DataFrame(
            {
                "Selection": np.arange(1, n + 1),
                "View": ["Spectrogram 1"] * n,
                "Channel": [1] * n,
                "begin_time_s": seg["onset_s"].to_numpy(),
                "end_time_s": seg["offset_s"].to_numpy(),
                "low_freq_hz": np.zeros(n),
                "high_freq_hz": np.full(n, _nyquist(audio)),
                "annotation": np.asarray(seg["label"], dtype=str),
            }
        )
        cls(df=df, annot_path=tmp, annot_col="Annotation", audio_path=audio).to_file(tmp)

    return _write_via_tmp(out_dir / f"{audio.stem}.Table.1.selections.txt", write)


def _w_notmat(seg: pd.DataFrame, audio: Path, out_dir: Path) -> Path:
    cls = _crowsetta().formats.by_name("notmat")
    long = sorted({lab for lab in seg["label"] if len(lab) != 1})
    if long:
        raise AnnotationError(
            f"{audio.name}: notmat (evsonganaly) labels must be single characters, found {long[:5]}"
        )
    try:
        rate = audio_info(audio)[0]
    except AudioError as exc:
        raise AnnotationError(
            f"cannot write notmat without the audio's sample rate: {exc}"
        ) from exc

    def write(tmp: Path) -> Path:
        obj = cls(
            onsets=seg["onset_s"].to_numpy(),
            offsets=seg["offset_s"].to_numpy(),
            labels=np.asarray(list(seg["label"]), dtype="<U1"),
            annot_path=tmp,
            audio_path=audio,
        )
        obj.to_file(
            samp_freq=rate,
            threshold=5000,
            min_syl_dur=0.02,
            min_silent_dur=0.002,
            fname=audio,
            dst=tmp.parent,
        )
        return tmp.parent / f"{audio.name}.not.mat"

    return _write_via_tmp(out_dir / f"{audio.name}.not.mat", write)


_WRITERS: dict[str, Callable[[pd.DataFrame, Path, Path], Path]] = {
    "aud-seq": _w_aud_seq,
    "generic-seq": _w_generic_seq,
    "notmat": _w_notmat,
    "raven": _w_raven,
    "simple-seq": _w_simple_seq,
}


def write_annotation(
    segments: pd.DataFrame,
    audio_path: str | Path,
    out_dir: str | Path,
    annot_format: str = MARRON1CSV,
) -> Path:
    """Write the annotation of one audio file, atomically.

    Parameters
    ----------
    segments : pd.DataFrame
        Columns ``onset_s``, ``offset_s``, ``label``; if it has an ``audio_path`` column,
        only the rows of ``audio_path`` (matched by file name) are written.
    audio_path : str or Path
        The annotated audio file.
    out_dir : str or Path
        Folder of the annotation file (created if missing).
    annot_format : str
        One of :func:`writable_formats`. File names: marron1csv, simple-seq and
        generic-seq ``<stem>.csv``; aud-seq ``<stem>.audacity.txt``; raven
        ``<stem>.Table.1.selections.txt``; notmat ``<audio name>.not.mat``.

    Returns
    -------
    Path
        The file written. An existing file is replaced in one rename, never half-written.

    Raises
    ------
    AnnotationError
        Unwritable format, or invalid segments.
    """
    _check_format(annot_format, writable_formats())
    audio = Path(audio_path).absolute()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    seg = _segments_for(segments, audio)
    if annot_format == MARRON1CSV:
        return _write_marron1csv(seg, audio, out)
    try:
        return _WRITERS[annot_format](seg, audio, out)
    except CanapyError:
        raise
    except Exception as exc:  # crowsetta validation errors come in many types
        raise AnnotationError(
            f"{audio.name}: cannot write as {annot_format!r}: {_one_line(exc)}"
        ) from exc


# --------------------------------------------------------------------------------------
# fingerprint
# --------------------------------------------------------------------------------------
def corpus_fingerprint(corpus: Corpus) -> str:
    """SHA-256 of the audio file names and sizes and of the segment table.

    Independent of folder locations and modification times, so the same data gives the
    same fingerprint on every machine.
    """
    h = hashlib.sha256()
    for path in sorted(corpus.audio_paths, key=lambda p: p.name):
        size = path.stat().st_size if path.exists() else -1
        h.update(json.dumps(["audio", path.name, size]).encode())
    seg = corpus.segments
    names = seg["audio_path"].map(lambda s: Path(s).name)
    table = pd.DataFrame(
        {"name": names, "onset": seg["onset_s"], "offset": seg["offset_s"], "label": seg["label"]}
    ).sort_values(["name", "onset", "offset"], kind="stable")
    for name, onset, offset, label in table.itertuples(index=False):
        h.update(json.dumps(["seg", name, f"{onset:.6f}", f"{offset:.6f}", str(label)]).encode())
    return h.hexdigest()
