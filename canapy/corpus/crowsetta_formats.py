"""The annotation formats read (and some written) through crowsetta, one class each.

:class:`CrowsettaFormat` reads any crowsetta format; a subclass only adds what its
format needs (a default option, a writer).

Examples
--------
>>> SimpleSeq().name, SimpleSeq().writable, TextGrid().writable
('simple-seq', True, False)
>>> Raven().extensions
('.txt',)
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from canapy.audio import audio_info
from canapy.corpus.discovery import AudioIndex, candidate_stems
from canapy.corpus.format_base import AnnotationFormat
from canapy.corpus.validation import RawAnnotation, one_line
from canapy.exceptions import AnnotationError, AudioError, CanapyError

__all__ = [
    "AudBbox",
    "AudSeq",
    "BirdsongRecognition",
    "CrowsettaFormat",
    "GenericSeq",
    "Notmat",
    "Raven",
    "SimpleSeq",
    "TextGrid",
    "Timit",
    "Yarden",
]

logger = logging.getLogger(__name__)

_BIRDSONGREC_RATE = 32000
"""Every file of the BirdsongRecognition data set is sampled at 32 kHz."""
_RAVEN_STANDARD = {"selection", "view", "channel"}


def _crowsetta() -> Any:
    import crowsetta  # imported lazily: slow, and only needed for these formats

    return crowsetta


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


def _annots_to_raw(annots: list[Any], path: Path, exts: tuple[str, ...]) -> list[RawAnnotation]:
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
            RawAnnotation(
                path,
                str(notated) if notated is not None else "",
                tuple(onsets),
                tuple(offsets),
                tuple(labels),
                tuple(range(1, len(onsets) + 1)),
                () if notated is not None else tuple(candidate_stems(path.name, exts)),
            )
        )
    return out


@contextlib.contextmanager
def _temp_dir(out_dir: Path) -> Iterator[Path]:
    tmp = Path(tempfile.mkdtemp(prefix=".canapy-write-", dir=out_dir))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class CrowsettaFormat(AnnotationFormat):
    """A format read (and, if :meth:`produce` is defined, written) by crowsetta.

    Subclasses set ``name`` (crowsetta's name) and may override :meth:`file_options`,
    :meth:`annot_options`, and, to make the format writable, :meth:`target` and
    :meth:`produce`.
    """

    @property
    def extensions(self) -> tuple[str, ...]:  # type: ignore[override]
        """crowsetta's extension(s) of the format."""
        ext = self.crowsetta_class().ext
        return (ext,) if isinstance(ext, str) else tuple(ext)

    @property
    def writable(self) -> bool:
        """Whether :meth:`produce` is implemented."""
        return type(self).produce is not CrowsettaFormat.produce

    def crowsetta_class(self) -> Any:
        """crowsetta's class of this format."""
        return _crowsetta().formats.by_name(self.name)

    def check_options(self, options: Mapping[str, Any]) -> None:
        """Options must be keyword arguments of crowsetta's ``from_file`` or ``to_annot``."""
        cls = self.crowsetta_class()
        _split_options(options, cls.from_file, cls.to_annot, fmt=self.name)

    def file_options(self, path: Path, index: AudioIndex, options: dict[str, Any]) -> None:
        """Complete the keyword arguments of crowsetta's ``from_file`` (in place)."""

    def annot_options(self, obj: Any, index: AudioIndex, options: dict[str, Any]) -> None:
        """Complete the keyword arguments of ``to_annot`` of the object read (in place)."""

    def read(
        self, path: Path, index: AudioIndex, options: Mapping[str, Any]
    ) -> list[RawAnnotation]:
        """Read with crowsetta (``from_file`` then ``to_annot``); errors on one line."""
        cls = self.crowsetta_class()
        file_kw, annot_kw = _split_options(options, cls.from_file, cls.to_annot, fmt=self.name)
        self.file_options(path, index, file_kw)
        if "round_times" in inspect.signature(cls.to_annot).parameters:
            annot_kw.setdefault("round_times", False)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                obj = cls.from_file(path, **file_kw)
                self.annot_options(obj, index, annot_kw)
                annots = obj.to_annot(**annot_kw)
        except CanapyError:
            raise
        except Exception as exc:  # crowsetta raises many types (pandera, ValueError, KeyError)
            raise AnnotationError(
                f"{path.name}: cannot read as {self.name!r}: {one_line(exc)}"
            ) from exc
        annots = annots if isinstance(annots, list) else [annots]
        return _annots_to_raw(annots, path, self.extensions)

    def target(self, audio: Path, out_dir: Path) -> Path:
        """The file :meth:`write` writes for ``audio``."""
        return out_dir / f"{audio.stem}{self.extensions[0]}"

    def produce(self, segments: pd.DataFrame, audio: Path, tmp: Path) -> Path | None:
        """Write the file at ``tmp`` (or return where crowsetta put it)."""
        raise NotImplementedError

    def write(self, segments: pd.DataFrame, audio: Path, out_dir: Path) -> Path:
        """Let crowsetta write into a temporary folder beside the target, then rename."""
        target = self.target(audio, out_dir)
        try:
            with _temp_dir(target.parent) as tmp:
                produced = self.produce(segments, audio, tmp / target.name) or tmp / target.name
                os.replace(produced, target)
        except CanapyError:
            raise
        except Exception as exc:  # crowsetta validation errors come in many types
            raise AnnotationError(
                f"{audio.name}: cannot write as {self.name!r}: {one_line(exc)}"
            ) from exc
        return target


class AudBbox(CrowsettaFormat):
    """Audacity label track with frequency boxes (``aud-bbox``), read only."""

    name = "aud-bbox"


class AudSeq(CrowsettaFormat):
    """Audacity label track (``aud-seq``), written as ``<stem>.audacity.txt``."""

    name = "aud-seq"

    def target(self, audio: Path, out_dir: Path) -> Path:
        return out_dir / f"{audio.stem}.audacity.txt"

    def produce(self, segments: pd.DataFrame, audio: Path, tmp: Path) -> None:
        self.crowsetta_class()(
            start_times=segments["onset_s"].to_numpy(),
            end_times=segments["offset_s"].to_numpy(),
            labels=np.asarray(segments["label"], dtype=str),
            annot_path=tmp,
            notated_path=audio,
        ).to_file(tmp)


class BirdsongRecognition(CrowsettaFormat):
    """The BirdsongRecognition data set's XML (``birdsong-recognition-dataset``), read only.

    Audio is looked up in the audio folder; the sample rate is read from it (32 kHz if
    none is found).
    """

    name = "birdsong-recognition-dataset"

    def file_options(self, path: Path, index: AudioIndex, options: dict[str, Any]) -> None:
        options.setdefault("wav_path", index.folder)

    def annot_options(self, obj: Any, index: AudioIndex, options: dict[str, Any]) -> None:
        if "samplerate" in options:
            return
        for seq in obj.sequences:
            audio = index.match_name(str(seq.wav_file))
            if audio is not None:
                with contextlib.suppress(AudioError):
                    options["samplerate"] = audio_info(audio)[0]
                    return
        logger.warning(
            "%s: no audio found to read the sample rate from; assuming %d Hz",
            obj.annot_path,
            _BIRDSONGREC_RATE,
        )
        options["samplerate"] = _BIRDSONGREC_RATE


class GenericSeq(CrowsettaFormat):
    """crowsetta's generic CSV (``generic-seq``), written as ``<stem>.csv``."""

    name = "generic-seq"

    def produce(self, segments: pd.DataFrame, audio: Path, tmp: Path) -> None:
        crowsetta = _crowsetta()
        seq = crowsetta.Sequence.from_keyword(
            onsets_s=segments["onset_s"].to_numpy(),
            offsets_s=segments["offset_s"].to_numpy(),
            labels=np.asarray(segments["label"], dtype=str),
        )
        target = self.target(audio, tmp.parent.parent)
        annot = crowsetta.Annotation(annot_path=target, notated_path=audio, seq=seq)
        self.crowsetta_class()(annots=[annot]).to_file(tmp, basename=True)


class Notmat(CrowsettaFormat):
    """evsonganaly ``.not.mat`` (``notmat``), written as ``<audio name>.not.mat``.

    Labels must be single characters; writing needs the audio's sample rate.
    """

    name = "notmat"

    def target(self, audio: Path, out_dir: Path) -> Path:
        return out_dir / f"{audio.name}.not.mat"

    def write(self, segments: pd.DataFrame, audio: Path, out_dir: Path) -> Path:
        long = sorted({lab for lab in segments["label"] if len(lab) != 1})
        if long:
            raise AnnotationError(
                f"{audio.name}: notmat (evsonganaly) labels must be single characters, "
                f"found {long[:5]}"
            )
        return super().write(segments, audio, out_dir)

    def produce(self, segments: pd.DataFrame, audio: Path, tmp: Path) -> Path:
        try:
            rate = audio_info(audio)[0]
        except AudioError as exc:
            raise AnnotationError(
                f"cannot write notmat without the audio's sample rate: {exc}"
            ) from exc
        obj = self.crowsetta_class()(
            onsets=segments["onset_s"].to_numpy(),
            offsets=segments["offset_s"].to_numpy(),
            labels=np.asarray(list(segments["label"]), dtype="<U1"),
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


class Raven(CrowsettaFormat):
    """Raven selection table (``raven``), written as ``<stem>.Table.1.selections.txt``.

    The label column defaults to ``Annotation``, else the first column that is neither a
    standard Raven column nor a measurement ``(unit)`` (``Species``...).
    """

    name = "raven"

    def file_options(self, path: Path, index: AudioIndex, options: dict[str, Any]) -> None:
        if "annot_col" not in options:
            options["annot_col"] = self.label_column(path)

    @staticmethod
    def label_column(path: Path) -> str:
        """Column of a Raven selection table holding the labels."""
        with path.open(encoding="utf-8", errors="replace") as fh:
            header = [c.strip() for c in fh.readline().rstrip("\r\n").split("\t")]
        if "Annotation" in header:
            return "Annotation"
        for col in header:
            if col and col.lower() not in _RAVEN_STANDARD and "(" not in col:
                return col
        return "Annotation"

    def target(self, audio: Path, out_dir: Path) -> Path:
        return out_dir / f"{audio.stem}.Table.1.selections.txt"

    def produce(self, segments: pd.DataFrame, audio: Path, tmp: Path) -> None:
        nyquist = 0.0
        with contextlib.suppress(AudioError):
            nyquist = audio_info(audio)[0] / 2.0
        n = len(segments)
        df = pd.DataFrame(
            {
                "Selection": np.arange(1, n + 1),
                "View": ["Spectrogram 1"] * n,
                "Channel": [1] * n,
                "begin_time_s": segments["onset_s"].to_numpy(),
                "end_time_s": segments["offset_s"].to_numpy(),
                "low_freq_hz": np.zeros(n),
                "high_freq_hz": np.full(n, nyquist),
                "annotation": np.asarray(segments["label"], dtype=str),
            }
        )
        cls = self.crowsetta_class()
        cls(df=df, annot_path=tmp, annot_col="Annotation", audio_path=audio).to_file(tmp)


class SimpleSeq(CrowsettaFormat):
    """crowsetta's simple CSV (``simple-seq``), written as ``<stem>.csv``."""

    name = "simple-seq"

    def produce(self, segments: pd.DataFrame, audio: Path, tmp: Path) -> None:
        self.crowsetta_class()(
            onsets_s=segments["onset_s"].to_numpy(),
            offsets_s=segments["offset_s"].to_numpy(),
            labels=np.asarray(segments["label"], dtype=str),
            annot_path=tmp,
            notated_path=audio,
        ).to_file(tmp)


class TextGrid(CrowsettaFormat):
    """Praat TextGrid (``textgrid``), read only; the first interval tier by default."""

    name = "textgrid"

    def annot_options(self, obj: Any, index: AudioIndex, options: dict[str, Any]) -> None:
        options.setdefault("tier", 0)  # crowsetta's default merges all tiers


class Timit(CrowsettaFormat):
    """TIMIT ``.phn``/``.wrd`` transcriptions (``timit``), read only."""

    name = "timit"


class Yarden(CrowsettaFormat):
    """The ``.mat`` annotations of Cohen et al. canary data (``yarden``), read only."""

    name = "yarden"
