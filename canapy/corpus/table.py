"""The :class:`Corpus`: a validated segment table and the audio files it refers to.

Examples
--------
>>> from canapy.segments import empty_segments
>>> corpus = Corpus(segments=empty_segments(), audio_paths=(Path("/d/a.wav"),))
>>> corpus.unannotated_paths, corpus.labels
((PosixPath('/d/a.wav'),), [])
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from canapy.corpus.format_base import MARRON1CSV
from canapy.segments import validate_segments

__all__ = ["Corpus", "corpus_fingerprint"]


@dataclass(frozen=True, eq=False)
class Corpus:
    """Annotated segments and the audio files of a data folder.

    Attributes
    ----------
    segments : pd.DataFrame
        One row per segment, columns :data:`canapy.segments.SEGMENT_COLUMNS`, sorted
        by audio file name then onset.
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
            A segment table (:data:`canapy.segments.SEGMENT_COLUMNS`); validated and normalised
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
        >>> import numpy as np
        >>> from canapy.segments import empty_segments, segment_table
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
