"""Load any audio file as mono float32 samples at a target rate.

Supported files: everything libsndfile reads (``.wav``, ``.flac``, ``.ogg``) and ``.npy``
arrays of samples. A ``.npy`` file holds a 1-D array, or a 2-D ``(n_samples, n_channels)``
array; its sample rate is read from a sidecar ``<file>.npy.json`` (``{"sample_rate": N}``)
or, without one, assumed to be the requested target rate.

Every problem (missing, unreadable, empty file, NaN samples, unsupported extension) raises
:class:`canapy.exceptions.AudioError` with a one-line message that starts with the file path.

Examples
--------
>>> import tempfile, pathlib, numpy as np, soundfile as sf
>>> path = pathlib.Path(tempfile.mkdtemp()) / "tone.wav"
>>> sf.write(path, 0.5 * np.sin(np.arange(8000) / 5.0), 8000)
>>> audio_info(path)
(8000, 1.0)
>>> y, sr = load_audio(path, sample_rate=16000)
>>> y.dtype, y.shape, sr
(dtype('float32'), (16000,), 16000)
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import soundfile as sf

from canapy.exceptions import AudioError

__all__ = [
    "AUDIO_EXTENSIONS",
    "MAX_ABS_SAMPLE",
    "MAX_SAMPLE_RATE",
    "MIN_SAMPLE_RATE",
    "audio_info",
    "check_audio",
    "check_header",
    "is_audio_file",
    "load_audio",
    "read_span",
    "resample",
]

logger = logging.getLogger(__name__)

AUDIO_EXTENSIONS: tuple[str, ...] = (".wav", ".flac", ".ogg", ".npy")
"""File extensions (lower case) recognised as audio."""

_RESAMPLE_QUALITY = "soxr_hq"


def resample(y: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """``y`` resampled from ``orig_sr`` to ``target_sr`` Hz with soxr (high quality).

    The same samples as ``librosa.resample(y, orig_sr=..., target_sr=...,
    res_type="soxr_hq")``: soxr's output fitted to ``ceil(len(y) * target_sr / orig_sr)``
    samples. soxr is called directly because importing librosa's resampler costs over a
    second of start-up (``tests/unit/test_spectral.py`` compares the two).

    >>> resample(np.ones(100, np.float32), 8000, 16000).shape
    (200,)
    """
    import soxr  # imported when a file needs it

    y = np.asarray(y, np.float32)
    if int(orig_sr) == int(target_sr):
        return y
    n_samples = int(np.ceil(len(y) * (float(target_sr) / orig_sr)))
    out = np.asarray(soxr.resample(y, orig_sr, target_sr, quality=_RESAMPLE_QUALITY), np.float32)
    if len(out) >= n_samples:
        return out[:n_samples]
    return np.pad(out, (0, n_samples - len(out)))


MIN_SAMPLE_RATE = 1_000
"""Lowest native sample rate accepted (Hz): below it a header is taken as corrupt."""
MAX_SAMPLE_RATE = 1_000_000
"""Highest native sample rate accepted (Hz)."""

# Bytes per sample of uncompressed libsndfile subtypes, to check a header's length claim.
_SUBTYPE_BYTES = {
    "PCM_S8": 1,
    "PCM_U8": 1,
    "ULAW": 1,
    "ALAW": 1,
    "PCM_16": 2,
    "PCM_24": 3,
    "PCM_32": 4,
    "FLOAT": 4,
    "DOUBLE": 8,
}
_PLAIN_CONTAINERS = frozenset({"WAV", "WAVEX", "RF64", "W64", "AIFF", "AU", "RAW"})


def is_audio_file(path: str | Path) -> bool:
    """Whether ``path`` has one of :data:`AUDIO_EXTENSIONS` (case-insensitive).

    Examples
    --------
    >>> is_audio_file("a/b.WAV"), is_audio_file("b.csv")
    (True, False)
    """
    return Path(path).suffix.lower() in AUDIO_EXTENSIONS


def _check_path(path: Path) -> None:
    if not is_audio_file(path):
        raise AudioError(
            f"{path}: unsupported audio file extension {path.suffix!r}; "
            f"supported: {', '.join(AUDIO_EXTENSIONS)}"
        )
    if not path.is_file():
        raise AudioError(f"{path}: audio file not found")


def _npy_sidecar_rate(path: Path) -> int | None:
    """Sample rate declared in ``<path>.json``, or None when there is no sidecar."""
    sidecar = path.with_name(path.name + ".json")
    if not sidecar.is_file():
        return None
    try:
        rate = json.loads(sidecar.read_text(encoding="utf-8"))["sample_rate"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise AudioError(
            f"{path}: cannot read the sample rate from {sidecar.name} "
            f'(expected {{"sample_rate": N}}): {exc}'
        ) from exc
    if isinstance(rate, bool) or not isinstance(rate, int) or rate <= 0:
        raise AudioError(f"{path}: invalid sample_rate {rate!r} in {sidecar.name}")
    return rate


def _npy_rate(path: Path, sample_rate: int | None) -> int:
    rate = _npy_sidecar_rate(path)
    if rate is not None:
        return rate
    if sample_rate:
        return int(sample_rate)
    raise AudioError(
        f"{path}: unknown sample rate of a .npy file; write {path.name}.json "
        '({"sample_rate": N}) beside it or give a target sample rate'
    )


def _load_npy(path: Path, mmap: bool) -> np.ndarray:
    try:
        data = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise AudioError(f"{path}: unreadable .npy file: {exc}") from exc
    if data.ndim not in (1, 2) or not np.issubdtype(data.dtype, np.number):
        raise AudioError(
            f"{path}: a .npy audio file must hold a numeric 1-D or (n_samples, n_channels) "
            f"array, found dtype {data.dtype} shape {data.shape}"
        )
    return data


MAX_ABS_SAMPLE = 1e10
"""Float samples larger than this are refused as corrupt (full scale is 1.0; integer
samples stored as floats reach 32768 or 2**31)."""


def check_audio(path: str | Path) -> tuple[int, float]:
    """Read every sample of an audio file to check it; its native rate and duration.

    Catches what the header cannot tell: a truncated file, NaN or infinite samples,
    absurd magnitudes (e.g. 1e30). Costs one read of the file, no resampling.

    Raises
    ------
    AudioError
        Naming the file and the problem.
    """
    y, rate = load_audio(path)
    return rate, len(y) / rate


def audio_info(path: str | Path, sample_rate: int | None = None) -> tuple[int, float]:
    """Native sample rate and duration of an audio file, without decoding it.

    Parameters
    ----------
    path : str or Path
        Audio file.
    sample_rate : int, optional
        Rate assumed for a ``.npy`` file without a ``.npy.json`` sidecar.

    Returns
    -------
    sample_rate : int
        Native rate in Hz.
    duration_s : float
        Duration in seconds.

    Raises
    ------
    AudioError
        Missing, unreadable or unsupported file.
    """
    path = Path(path)
    _check_path(path)
    if path.suffix.lower() == ".npy":
        rate, n = check_header(path, sample_rate)
        return rate, n / rate
    info = _soundfile_info(path)
    return int(info.samplerate), float(info.frames) / info.samplerate


def _soundfile_info(path: Path):
    """``sf.info`` of a file whose header passed :func:`check_header`."""
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise AudioError(f"{path}: unreadable or corrupt audio file: {exc}") from exc
    _check_rate(path, int(info.samplerate))
    nbytes = _SUBTYPE_BYTES.get(info.subtype) if info.format in _PLAIN_CONTAINERS else None
    if nbytes is not None:  # uncompressed: the samples must fit in the file
        size = path.stat().st_size
        needed = info.frames * info.channels * nbytes
        if needed > size:
            raise AudioError(
                f"{path}: corrupt header: it claims {info.frames} samples "
                f"({info.frames / info.samplerate:.1f} s) but the file ({size} bytes) can hold "
                f"at most {size // (info.channels * nbytes)}"
            )
    if path.suffix.lower() == ".wav" and _wav_truncated(path):
        raise AudioError(f"{path}: truncated audio file (fewer samples than its header declares)")
    return info


def _check_rate(path: Path, rate: int) -> None:
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise AudioError(
            f"{path}: corrupt header or unusable file: sample rate {rate} Hz is outside "
            f"{MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz"
        )


def check_header(path: str | Path, sample_rate: int | None = None) -> tuple[int, int]:
    """Validate an audio file's header before anything is allocated.

    Refuses native sample rates outside :data:`MIN_SAMPLE_RATE`..:data:`MAX_SAMPLE_RATE`
    and (uncompressed files) a length that the file size cannot hold, with a one-line
    :class:`~canapy.exceptions.AudioError` naming the file.

    Parameters
    ----------
    path : str or Path
        Audio file.
    sample_rate : int, optional
        Rate assumed for a ``.npy`` file without a sidecar.

    Returns
    -------
    (int, int)
        Native sample rate and number of samples.
    """
    path = Path(path)
    _check_path(path)
    if path.suffix.lower() == ".npy":
        rate = _npy_rate(path, sample_rate)
        _check_rate(path, rate)
        return rate, int(_load_npy(path, mmap=True).shape[0])
    info = _soundfile_info(path)
    return int(info.samplerate), int(info.frames)


def _wav_truncated(path: Path) -> bool:
    """Whether a RIFF/WAVE file's data chunk is shorter than its header declares.

    libsndfile silently reads what is there, so a truncated copy (interrupted transfer)
    would otherwise go unnoticed. Streaming writers put 0 or 0xFFFFFFFF as the size:
    those are not flagged.
    """
    size = path.stat().st_size
    with path.open("rb") as fh:
        header = fh.read(12)
        if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
            return False
        pos = 12
        while pos + 8 <= size:
            fh.seek(pos)
            chunk = fh.read(8)
            chunk_id, chunk_size = chunk[:4], int.from_bytes(chunk[4:8], "little")
            if chunk_id == b"data":
                if chunk_size in (0, 0xFFFFFFFF):
                    return False
                return pos + 8 + chunk_size > size
            pos += 8 + chunk_size + (chunk_size & 1)
    return False


def _read_soundfile(path: Path) -> tuple[np.ndarray, int]:
    _soundfile_info(path)  # refuse absurd headers before allocating anything
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError, ValueError) as exc:
        raise AudioError(f"{path}: unreadable, corrupt or truncated audio file: {exc}") from exc
    return data, int(rate)


def _to_mono_float(data: np.ndarray) -> np.ndarray:
    """Down-mix ``(n,)`` or ``(n, channels)`` samples to ``(n,)`` float32 in [-1, 1]."""
    data = np.asarray(data)
    if np.issubdtype(data.dtype, np.integer):
        scale = float(np.iinfo(data.dtype).max) + 1.0
        data = data.astype(np.float64) / scale
    if data.ndim == 2:
        data = data.mean(axis=1)
    return np.asarray(data, dtype=np.float32)


def load_audio(path: str | Path, sample_rate: int | None = None) -> tuple[np.ndarray, int]:
    """Read an audio file as mono float32 samples, resampled to ``sample_rate``.

    Parameters
    ----------
    path : str or Path
        Audio file, one of :data:`AUDIO_EXTENSIONS`.
    sample_rate : int, optional
        Target rate in Hz; None or 0 keeps the native rate.

    Returns
    -------
    y : np.ndarray, shape (n_samples,), float32
        Samples, channels averaged.
    sample_rate : int
        Rate of ``y`` in Hz.

    Raises
    ------
    AudioError
        Missing, unreadable, truncated or empty file, NaN/inf samples, unsupported extension.
    """
    path = Path(path)
    _check_path(path)
    if path.suffix.lower() == ".npy":
        rate = _npy_rate(path, sample_rate)
        _check_rate(path, rate)
        data = _load_npy(path, mmap=False)
    else:
        data, rate = _read_soundfile(path)
    if data.shape[0] == 0:
        raise AudioError(f"{path}: empty audio file (0 samples)")
    if not np.all(np.isfinite(data)):
        raise AudioError(f"{path}: audio contains NaN or infinite samples")
    peak = float(np.max(np.abs(data))) if np.issubdtype(data.dtype, np.floating) else 0.0
    if peak > MAX_ABS_SAMPLE:
        raise AudioError(
            f"{path}: absurd sample values (peak {peak:.3g}; float audio is expected within "
            f"[-1, 1], at most {MAX_ABS_SAMPLE:g}): a corrupt or mis-scaled file"
        )
    y = _to_mono_float(data)
    if sample_rate and int(sample_rate) != rate:
        logger.debug("resampling %s from %d Hz to %d Hz", path, rate, sample_rate)
        y = resample(y, rate, int(sample_rate))
        rate = int(sample_rate)
    return y, rate


def read_span(
    path: str | Path, start: int, stop: int, sample_rate: int | None = None
) -> np.ndarray:
    """Samples ``start:stop`` of a file as mono float32 at ``sample_rate``, zeros outside.

    Only the requested stretch is read, so memory does not depend on the file's length.
    Indices count samples at ``sample_rate`` (the native rate if None) and may lie before
    0 or past the end: those samples are zeros. When the file must be resampled, the
    stretch is read with about 10 ms of extra context on both sides, resampled, and trimmed;
    inside a file this matches :func:`load_audio` to float tolerance.

    Parameters
    ----------
    path : str or Path
        Audio file (header already checked with :func:`check_header`).
    start, stop : int
        Sample indices at the target rate, ``start <= stop``.
    sample_rate : int, optional
        Target rate.

    Returns
    -------
    ndarray, shape (stop - start,), float32

    Examples
    --------
    >>> import tempfile, pathlib, soundfile as sf
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "ramp.wav"
    >>> sf.write(path, np.full(100, 0.5), 8000)
    >>> read_span(path, -2, 2).tolist(), read_span(path, 98, 102).tolist()
    ([0.0, 0.0, 0.5, 0.5], [0.5, 0.5, 0.0, 0.0])
    """
    path = Path(path)
    native, n_native = check_header(path, sample_rate)
    target = int(sample_rate) if sample_rate else native
    out = np.zeros(stop - start, np.float32)
    if target == native:
        lo, hi = max(0, start), min(n_native, stop)
        if hi > lo:
            out[lo - start : hi - start] = _read_native(path, lo, hi, sample_rate)
        return out
    import math

    g = math.gcd(native, target)
    t_step, n_step = target // g, native // g
    pad = max(1, math.ceil(0.01 * target / t_step))  # in units of t_step samples
    k0 = start // t_step - pad
    k1 = -(-stop // t_step) + pad
    lo, hi = max(0, k0 * n_step), min(n_native, k1 * n_step)
    if hi <= lo:
        return out
    y = resample(_read_native(path, lo, hi, sample_rate), native, target)
    first = lo // n_step * t_step  # target index of y[0] (lo is a multiple of n_step)
    a, b = max(start, first), min(stop, first + len(y), -(-n_native * target // native))
    if b > a:
        out[a - start : b - start] = y[a - first : b - first]
    return out


def _read_native(path: Path, lo: int, hi: int, sample_rate: int | None) -> np.ndarray:
    """Native-rate mono float32 samples ``lo:hi`` (inside the file)."""
    if path.suffix.lower() == ".npy":
        data = _load_npy(path, mmap=True)[lo:hi]
    else:
        try:
            data = sf.read(str(path), start=lo, stop=hi, dtype="float32", always_2d=True)[0]
        except (sf.LibsndfileError, RuntimeError, OSError, ValueError) as exc:
            raise AudioError(f"{path}: unreadable or corrupt audio file: {exc}") from exc
    y = _to_mono_float(data)
    if not np.all(np.isfinite(y)):
        raise AudioError(f"{path}: audio contains NaN or infinite samples")
    return y
