"""A learnable synthetic song generator, for the demo, the docs and fast tests.

Each label has its own acoustic signature (tone, chirp, harmonic stack, noise band...), so
a model that learns the labels from the spectrogram can be measured meaningfully. Songs
follow a Markov syntax of phrases of repeated syllables (``AAAB CC D``), with short gaps
inside phrases to make segmentation non-trivial, and quiet background noise.

Examples
--------
>>> import numpy as np
>>> y, seg = synth_song(np.random.default_rng(0))
>>> y.dtype, list(seg.columns)
(dtype('float32'), ['onset_s', 'offset_s', 'label'])
>>> bool((seg["offset_s"] > seg["onset_s"]).all())
True
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from canapy.exceptions import OutputError

__all__ = [
    "DEFAULT_VOCABULARY",
    "add_background_noise",
    "band_noise",
    "make_example_corpus",
    "ramp_envelope",
    "synth_song",
    "synth_syllable",
    "unlabelled_note",
    "write_songs",
]

logger = logging.getLogger(__name__)

DEFAULT_VOCABULARY: tuple[str, ...] = ("A", "B", "C", "D", "E", "F")
"""Labels with a hand-designed sound each (see :func:`synth_syllable`)."""

_SYNTAX_SEED = 20240601
"""Seed of the Markov transition matrix: the same vocabulary always has the same syntax."""

_BASE_DURATION_S = (0.060, 0.095, 0.125, 0.075, 0.105, 0.050)
_MIN_DURATION_S, _MAX_DURATION_S = 0.040, 0.150
_RAMP_S = 0.005
_SNR_DB = 25.0
_AMPLITUDE = 0.4


def _phase(freq_hz: np.ndarray, sample_rate: int) -> np.ndarray:
    """Phase of a tone of instantaneous frequency ``freq_hz`` (one value per sample)."""
    return 2 * np.pi * np.cumsum(freq_hz) / sample_rate


def band_noise(
    rng: np.random.Generator, n: int, sample_rate: int, low_hz: float, high_hz: float
) -> np.ndarray:
    """White noise band-passed to ``[low_hz, high_hz]`` by zeroing FFT bins, peak 1.

    >>> band_noise(np.random.default_rng(0), 1000, 16000, 4000.0, 6000.0).shape
    (1000,)
    """
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1.0 / sample_rate)
    spectrum[(freqs < low_hz) | (freqs > high_hz)] = 0
    out = np.fft.irfft(spectrum, n)
    return out / (np.max(np.abs(out)) + 1e-12)


def ramp_envelope(n: int, sample_rate: int) -> np.ndarray:
    """Flat envelope of ``n`` samples with raised-cosine ramps of 5 ms at both ends.

    >>> float(ramp_envelope(400, 16000)[200]), float(ramp_envelope(400, 16000)[0])
    (1.0, 0.0)
    """
    ramp = min(int(_RAMP_S * sample_rate), n // 2)
    env = np.ones(n)
    if ramp > 0:
        up = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, ramp))
        env[:ramp] = up
        env[n - ramp :] = up[::-1]
    return env


def synth_syllable(
    label_index: int, duration_s: float, sample_rate: int, rng: np.random.Generator
) -> np.ndarray:
    """One syllable of the ``label_index``-th vocabulary label, peak amplitude about 1.

    0: 2 kHz tone; 1: upward chirp 3→5 kHz; 2: harmonic stack at 1.2 kHz; 3: downward
    chirp 6→3 kHz; 4: two-tone (1.5 and 3.5 kHz); 5: noise burst band-passed to 4-6 kHz.
    Further labels get harmonic tones at distinct fundamentals. Frequencies are capped
    below Nyquist.

    Parameters
    ----------
    label_index : int
        Position of the label in the vocabulary.
    duration_s : float
        Duration in seconds.
    sample_rate : int
        Rate in Hz.
    rng : np.random.Generator
        Source of the noise of label 5 and of the small random phase.

    Returns
    -------
    np.ndarray, shape (round(duration_s * sample_rate),), float64
    """
    n = max(round(duration_s * sample_rate), 1)
    cap = 0.45 * sample_rate
    t = np.arange(n) / sample_rate
    phi0 = rng.uniform(0, 2 * np.pi)

    def sweep(f0: float, f1: float) -> np.ndarray:
        return np.sin(_phase(np.linspace(min(f0, cap), min(f1, cap), n), sample_rate) + phi0)

    makers: list[Callable[[], np.ndarray]] = [
        lambda: np.sin(2 * np.pi * min(2000.0, cap) * t + phi0),
        lambda: sweep(3000.0, 5000.0),
        lambda: sum(
            np.sin(2 * np.pi * k * 1200.0 * t + phi0) / k for k in range(1, 5) if k * 1200 < cap
        ),
        lambda: sweep(6000.0, 3000.0),
        lambda: (
            0.5 * np.sin(2 * np.pi * min(1500.0, cap) * t + phi0)
            + 0.5 * np.sin(2 * np.pi * min(3500.0, cap) * t)
        ),
        lambda: band_noise(rng, n, sample_rate, min(4000.0, cap * 0.8), min(6000.0, cap)),
    ]
    if label_index < len(makers):
        wave = np.asarray(makers[label_index](), dtype=np.float64)
    else:
        f0 = 700.0 + 450.0 * (label_index - len(makers))
        f0 = 300.0 + f0 % max(cap - 300.0, 1.0)
        wave = sum(np.sin(2 * np.pi * k * f0 * t + phi0) / k for k in (1, 2, 3) if k * f0 < cap)
        wave = np.asarray(wave, dtype=np.float64)
    wave = wave / (np.max(np.abs(wave)) + 1e-12)
    return wave * ramp_envelope(n, sample_rate)


def _transition_matrix(n_labels: int) -> np.ndarray:
    """Fixed phrase-to-phrase transition probabilities (no self-transition)."""
    rng = np.random.default_rng(_SYNTAX_SEED + n_labels)
    weights = rng.gamma(0.5, size=(n_labels, n_labels))
    np.fill_diagonal(weights, 0.0)
    if n_labels == 1:
        return np.ones((1, 1))
    return weights / weights.sum(axis=1, keepdims=True)


def _label_sequence(rng: np.random.Generator, n_labels: int, n_syllables: int) -> list[int]:
    """Phrases of 1-4 repeats of a label, labels chained by the Markov matrix."""
    trans = _transition_matrix(n_labels)
    seq: list[int] = []
    current = int(rng.integers(n_labels))
    while len(seq) < n_syllables:
        seq.extend([current] * int(rng.integers(1, 5)))
        current = int(rng.choice(n_labels, p=trans[current]))
    return seq[:n_syllables]


def synth_song(
    rng: np.random.Generator,
    sample_rate: int = 16000,
    n_syllables: tuple[int, int] = (20, 35),
    vocabulary: Sequence[str] = DEFAULT_VOCABULARY,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Synthesise one song and its annotation.

    Parameters
    ----------
    rng : np.random.Generator
        All randomness comes from here: same generator state, same song.
    sample_rate : int
        Rate in Hz.
    n_syllables : (int, int)
        Inclusive range of the number of syllables.
    vocabulary : sequence of str
        Labels; the i-th label gets the i-th sound of :func:`synth_syllable`.

    Returns
    -------
    y : np.ndarray, shape (n_samples,), float32
        Audio in [-1, 1].
    segments : pd.DataFrame
        Columns ``onset_s``, ``offset_s`` (float seconds) and ``label`` (str), in time order.
    """
    vocabulary = [str(v) for v in vocabulary]
    if not vocabulary:
        raise ValueError("vocabulary must hold at least one label")
    n = int(rng.integers(n_syllables[0], n_syllables[1] + 1))
    seq = _label_sequence(rng, len(vocabulary), n)
    pieces: list[np.ndarray] = []
    rows: list[tuple[float, float, str]] = []
    cursor = 0

    def silence(seconds: float) -> None:
        nonlocal cursor
        k = round(seconds * sample_rate)
        pieces.append(np.zeros(k))
        cursor += k

    silence(rng.uniform(0.3, 0.6))
    for i, lab in enumerate(seq):
        if i > 0:
            same_phrase = seq[i - 1] == lab
            silence(rng.uniform(0.005, 0.020) if same_phrase else rng.uniform(0.020, 0.060))
        base = _BASE_DURATION_S[lab % len(_BASE_DURATION_S)]
        dur = float(np.clip(base * rng.uniform(0.85, 1.15), _MIN_DURATION_S, _MAX_DURATION_S))
        syl = _AMPLITUDE * rng.uniform(0.7, 1.0) * synth_syllable(lab, dur, sample_rate, rng)
        rows.append((cursor / sample_rate, (cursor + len(syl)) / sample_rate, vocabulary[lab]))
        pieces.append(syl)
        cursor += len(syl)
    silence(rng.uniform(0.3, 0.6))
    y = add_background_noise(np.concatenate(pieces), rng, _SNR_DB, _AMPLITUDE)
    segments = pd.DataFrame(rows, columns=["onset_s", "offset_s", "label"])
    segments["label"] = segments["label"].astype(str)
    return y, segments


def add_background_noise(
    y: np.ndarray, rng: np.random.Generator, snr_db: float, amplitude: float
) -> np.ndarray:
    """Add white noise ``snr_db`` below a tone of peak ``amplitude``; clip to float32 [-1, 1].

    >>> y = add_background_noise(np.zeros(100), np.random.default_rng(0), 25.0, 0.4)
    >>> y.dtype, bool(0 < np.abs(y).max() < 0.1)
    (dtype('float32'), True)
    """
    noise_std = amplitude / np.sqrt(2) / 10 ** (snr_db / 20)
    y = y + noise_std * rng.standard_normal(len(y))
    return np.clip(y, -1.0, 1.0).astype(np.float32)


def write_songs(
    out_dir: str | Path,
    songs: Iterable[tuple[np.ndarray, pd.DataFrame]],
    sample_rate: int,
    n_annotated: int,
    readme: str,
    n_songs: int,
    overwrite: bool = False,
) -> Path:
    """Write ``song_000.wav``... and, for the first ``n_annotated``, their marron1csv files.

    Nothing is written when a file of the corpus already exists, unless ``overwrite``: an
    example must never land on top of a real corpus.

    Parameters
    ----------
    out_dir : str or Path
        Created if missing.
    songs : iterable of (audio, segments)
        Audio float in [-1, 1]; segments with columns ``onset_s, offset_s, label``.
    sample_rate : int
        Rate in Hz.
    n_annotated : int
        How many of the first songs get an annotation file.
    readme : str
        Text of ``README.txt``.
    n_songs : int
        How many songs ``songs`` holds (to check the names before writing anything).
    overwrite : bool
        Replace files of those names already in ``out_dir``.

    Returns
    -------
    Path
        ``out_dir``.
    """
    from canapy.corpus import write_annotation  # local: keeps this module light to import

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a folder; choose another folder")
    names = [f"song_{i:03d}{ext}" for i in range(n_songs) for ext in (".wav", ".csv")]
    taken = [n for n in [*names, "README.txt"] if (out / n).exists()]
    if taken and not overwrite:
        raise OutputError(
            f"{out / taken[0]}: already exists ({len(taken)} file(s) of the example would be "
            "overwritten); choose a new or empty folder for the example corpus"
        )
    out.mkdir(parents=True, exist_ok=True)
    n = 0
    for i, (y, segments) in enumerate(songs):
        wav = out / f"song_{i:03d}.wav"
        sf.write(wav, y, sample_rate, subtype="PCM_16")
        if i < n_annotated:
            write_annotation(segments, wav, out, annot_format="marron1csv")
        n += 1
    (out / "README.txt").write_text(readme, encoding="utf-8")
    logger.info("wrote %d synthetic songs to %s", n, out)
    return out


def unlabelled_note(n_files: int, n_unlabelled: int) -> str:
    """README sentence naming the songs left without annotation (empty if none).

    >>> unlabelled_note(2, 1)[:23]
    'song_002.wav .. song_00'
    """
    if not n_unlabelled:
        return ""
    return (
        f"song_{n_files:03d}.wav .. song_{n_files + n_unlabelled - 1:03d}.wav have no "
        "annotation: annotate them with a trained model.\n"
    )


_README = """Synthetic example corpus made by canapy.synthetic.make_example_corpus (seed {seed}).

song_XXX.wav  synthetic songs ({sample_rate} Hz, 16-bit PCM); labels {labels}, each with
              its own sound (tones, chirps, harmonic stack, noise band).
song_XXX.csv  their annotations, marron1csv layout: columns wave,start,end,syll (seconds).
{unlabelled}
Not real birds: for the tutorial and tests only.
"""


def make_example_corpus(
    out_dir: str | Path,
    n_files: int = 12,
    seed: int = 0,
    sample_rate: int = 16000,
    n_unlabelled: int = 2,
    overwrite: bool = False,
) -> Path:
    """Write an annotated synthetic corpus to ``out_dir``.

    Parameters
    ----------
    out_dir : str or Path
        Created if missing.
    n_files : int
        Annotated songs: ``song_000.wav`` + ``song_000.csv``, ...
    seed : int
        Same seed, same files.
    sample_rate : int
        Rate in Hz.
    n_unlabelled : int
        Extra songs without annotation (numbered after the annotated ones).
    overwrite : bool
        Replace files of those names already in ``out_dir``; by default an existing
        file is an :class:`~canapy.exceptions.OutputError` and nothing is written.

    Returns
    -------
    Path
        ``out_dir``.
    """
    rng = np.random.default_rng(seed)
    songs = (synth_song(rng, sample_rate=sample_rate) for _ in range(n_files + n_unlabelled))
    text = _README.format(
        seed=seed,
        sample_rate=sample_rate,
        labels=", ".join(DEFAULT_VOCABULARY),
        unlabelled=unlabelled_note(n_files, n_unlabelled),
    )
    return write_songs(
        out_dir, songs, sample_rate, n_files, text, n_files + n_unlabelled, overwrite
    )
