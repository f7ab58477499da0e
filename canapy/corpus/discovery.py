"""Finding audio and annotation files in a data folder, and matching them to each other.

Examples
--------
>>> candidate_stems("X.wav.not.mat", [".not.mat"])
['X.wav', 'X']
>>> candidate_stems("X.Table.1.selections.txt", [".txt"])
['X.Table.1.selections', 'X']
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from canapy.audio import AUDIO_EXTENSIONS

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
    """Audio files found, by file name and by stem."""

    by_name: Mapping[str, Path]
    by_stem: Mapping[str, Path]
    folder: Path

    @classmethod
    def build(cls, paths: Iterable[Path], folder: Path) -> AudioIndex:
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
