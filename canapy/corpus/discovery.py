"""Finding audio and annotation files in a data folder, and matching them to each other.

Examples
--------
>>> candidate_stems("X.wav.not.mat", [".not.mat"])
['X.wav', 'X']
>>> candidate_stems("X.Table.1.selections.txt", [".txt"])
['X.Table.1.selections', 'X']
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from canapy.audio import AUDIO_EXTENSIONS
from canapy.exceptions import AnnotationError

__all__ = [
    "AudioIndex",
    "candidate_stems",
    "find_annotation_files",
    "find_audio_files",
    "is_audio",
    "visible_files",
]

_IGNORED_DIRS = {".canapy"}
_IGNORED_NAME = re.compile(r"^(readme|license|licence|changelog)", re.IGNORECASE)
_NAME_SUFFIXES = re.compile(
    r"(\.audacity|\.Table\.\d+\.selections|\.not|_annotations?|\.annot)$", re.IGNORECASE
)
_AUDIO_LIKE_EXT = re.compile(r"\.(wav|flac|ogg|npy|cbin|rec|mp3|aif+)$", re.IGNORECASE)


def visible_files(root: Path) -> list[Path]:
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
    files = [p.absolute() for p in visible_files(Path(audio_dir)) if is_audio(p)]
    return tuple(sorted(files, key=lambda p: (p.name, str(p))))


def is_audio(path: Path) -> bool:
    """Whether ``path`` has an audio file extension (:data:`canapy.audio.AUDIO_EXTENSIONS`)."""
    return path.suffix.lower() in AUDIO_EXTENSIONS


def find_annotation_files(data_dir: Path, extensions: Iterable[str]) -> list[Path]:
    """Files below ``data_dir`` ending in one of ``extensions`` (any case), sorted by path.

    README, LICENSE and CHANGELOG files are skipped.
    """
    exts = tuple(e.lower() for e in extensions)
    return [
        p
        for p in visible_files(data_dir)
        if p.name.lower().endswith(exts) and not _IGNORED_NAME.match(p.name)
    ]


def candidate_stems(name: str, exts: Iterable[str]) -> list[str]:
    """Audio stems an annotation file name may refer to, most specific first.

    Examples
    --------
    >>> candidate_stems("X.audacity.txt", [".txt"])
    ['X.audacity', 'X']
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
class AudioIndex:
    """Audio files found, by file name and by stem (several per name in a nested corpus).

    Matching follows the annotation's own location: an audio file named by a relative
    path (``day2/song.wav``) is looked up from the annotation's folder; among several
    files of the same name, the one beside the annotation (or in the same sub-folder of
    the audio folder) wins; a file in another folder is taken only when it is the only
    one of that name and the annotation's folder holds no audio at all (annotations kept
    apart from their audio). Otherwise nothing matches, or an ambiguity is an error.

    Examples
    --------
    >>> idx = AudioIndex.build([Path("/d/day1/song.wav"), Path("/d/day2/song.wav")], Path("/d"))
    >>> str(idx.match_name("song.wav", near=Path("/d/day2"), root=Path("/d")))
    '/d/day2/song.wav'
    >>> idx.match_name("song.wav", near=Path("/d/day3"), root=Path("/d"))
    Traceback (most recent call last):
    ...
    canapy.exceptions.AnnotationError: song.wav is ambiguous: ...
    """

    by_name: Mapping[str, tuple[Path, ...]]
    by_stem: Mapping[str, tuple[Path, ...]]
    folder: Path

    @classmethod
    def build(cls, paths: Iterable[Path], folder: Path) -> AudioIndex:
        by_name: dict[str, list[Path]] = {}
        by_stem: dict[str, list[Path]] = {}
        for p in paths:
            by_name.setdefault(p.name, []).append(p)
            by_stem.setdefault(p.stem, []).append(p)
        return cls(
            {k: tuple(v) for k, v in by_name.items()},
            {k: tuple(v) for k, v in by_stem.items()},
            folder,
        )

    def _choose(
        self, found: tuple[Path, ...], name: str, near: Path | None, root: Path | None
    ) -> Path | None:
        if not found or near is None:
            return found[0] if found else None
        preferred = [near]
        if root is not None:
            with contextlib.suppress(ValueError):
                preferred.append(self.folder / near.relative_to(root))
        for folder in preferred:
            for p in found:
                if p.parent == folder:
                    return p
        holds_audio = any(p.parent in preferred for group in self.by_name.values() for p in group)
        if len(found) == 1 and not holds_audio:
            return found[0]
        if len(found) > 1:
            where = ", ".join(str(p.parent) for p in found[:4])
            raise AnnotationError(
                f"{name} is ambiguous: files of that name in {where}; put the annotation "
                "beside its audio file, or name the audio with its path relative to the "
                "annotation (e.g. day2/song.wav)"
            )
        return None

    def match_name(
        self, name: str, near: Path | None = None, root: Path | None = None
    ) -> Path | None:
        """Audio file of that name (or stem, another extension), for an annotation in ``near``.

        ``name`` may be a path relative to ``near`` (``day2/song.wav``) or absolute;
        ``root`` is the data folder (to find the same sub-folder of the audio folder).
        Without ``near``, the first file of that name.
        """
        ref = Path(name)
        if near is not None and (ref.is_absolute() or len(ref.parts) > 1):
            target = (near / ref).absolute() if not ref.is_absolute() else ref
            target = Path(os.path.normpath(target))
            for p in self.by_name.get(ref.name, ()):
                if p == target:
                    return p
        base = ref.name
        found = (
            self.by_name.get(base)
            or self.by_stem.get(Path(base).stem)
            or self.by_stem.get(base, ())
        )
        return self._choose(tuple(found), base, near, root)

    def match_stems(
        self, stems: Iterable[str], near: Path | None = None, root: Path | None = None
    ) -> Path | None:
        """Audio file of the first of ``stems`` that has one (see :meth:`match_name`)."""
        for stem in stems:
            found = self.by_stem.get(stem) or self.by_name.get(stem)
            if found:
                chosen = self._choose(tuple(found), stem, near, root)
                if chosen is not None:
                    return chosen
        return None
