"""A phrase-level, canary-like synthetic corpus: syllables repeated into annotated phrases.

Canary song is annotated by *phrase*: one segment per train of repeated syllables, the
silent gaps between the syllables included. This generator makes such songs: each phrase
type has its own syllable (several types share a frequency band and differ only by their
shape), repeated with 10-60 ms gaps into a phrase; phrases follow a sparse Markov syntax
without self-transitions; a rare short call appears between phrases. The annotation holds
one segment per phrase, as a canary annotator would draw it.

Phrase durations, the gaps between phrases, the number of phrases per song and the
sparseness of the phrase-to-phrase transitions come from :data:`CANARY_STATISTICS`, summary
numbers of real canary annotations (canary M1, Giraudon et al. 2021, zenodo
10.5281/zenodo.6521932) computed by ``benchmarks/canary_statistics.py``. Syllable shapes and
within-phrase gaps are design choices (the annotations hold no syllable-level information).

Examples
--------
>>> import numpy as np
>>> y, seg = synth_canary_song(np.random.default_rng(0), n_phrases=(4, 6))
>>> list(seg.columns), bool((seg["label"].to_numpy()[1:] != seg["label"].to_numpy()[:-1]).all())
(['onset_s', 'offset_s', 'label'], True)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from canapy.synthetic import (
    add_background_noise,
    band_noise,
    ramp_envelope,
    unlabelled_note,
    write_songs,
)

__all__ = [
    "CALL_LABEL",
    "CANARY_STATISTICS",
    "CANARY_SYLLABLES",
    "SyllableType",
    "canary_syntax",
    "make_canary_corpus",
    "synth_canary_song",
    "synth_canary_syllable",
]

logger = logging.getLogger(__name__)

CANARY_STATISTICS: dict[str, float] = {
    # Written by benchmarks/canary_statistics.py (benchmarks/results/canary_statistics.json)
    # from 459 annotated songs, 13148 phrases, 28 phrase types of canary M1.
    "phrases_per_song_q05": 10.0,
    "phrases_per_song_q50": 28.0,
    "log_phrase_duration_std": 0.7302,
    "type_median_duration_q05_s": 0.172,
    "type_median_duration_q95_s": 1.2869,
    "short_phrase_share": 0.0138,
    "short_phrase_duration_q05_s": 0.0418,
    "short_phrase_duration_q95_s": 0.0948,
    "gap_touching_share": 0.3469,
    "log_gap_positive_mean": -2.786,
    "log_gap_positive_std": 0.9943,
    "successors_for_90pct_q50": 2.0,
    "first_onset_q05_s": 0.2199,
}
"""Summary numbers of the real canary annotations that set the generator's parameters."""

CALL_LABEL = "call"
"""Label of the rare short calls dropped between phrases."""

_SNR_DB = 18.0
_AMPLITUDE = 0.4
_SYNTAX_SEED = 20250309
_WITHIN_GAP_S = (0.010, 0.060)
"""Silent gaps between the syllables of a phrase (not in the annotations: a design choice)."""
_CALL_SHARE = 0.03
"""Calls per phrase transition: about twice the real share of phrases under 100 ms (1.4 %),
so that 30 songs hold a dozen calls to learn from."""
_MAX_GAP_S = 1.0
_Z90 = 1.6449
"""Standard normal quantile of 0.95: (q95 - q05) spans 2 × 1.645 standard deviations."""


@dataclass(frozen=True)
class SyllableType:
    """The sound of one syllable type.

    Attributes
    ----------
    label : str
        Phrase label.
    shape : str
        ``up``, ``down``, ``flat`` (with vibrato), ``u`` (down then up), ``trill`` (fast
        frequency modulation), ``noise`` (band-passed noise) or ``stack`` (harmonics).
    f_lo, f_hi : float
        Frequency range in Hz.
    duration_s : float
        Typical syllable duration.
    """

    label: str
    shape: str
    f_lo: float
    f_hi: float
    duration_s: float


CANARY_SYLLABLES: tuple[SyllableType, ...] = (
    # four types in the 2-3.5 kHz band, told apart by their shape only
    SyllableType("A", "up", 2000.0, 3500.0, 0.060),
    SyllableType("B", "down", 2000.0, 3500.0, 0.070),
    SyllableType("C", "flat", 2600.0, 2900.0, 0.045),
    SyllableType("D", "u", 2000.0, 3400.0, 0.090),
    # four in the 4-6 kHz band
    SyllableType("E", "up", 4000.0, 6000.0, 0.030),
    SyllableType("F", "trill", 4200.0, 5800.0, 0.080),
    SyllableType("G", "noise", 4000.0, 6000.0, 0.040),
    SyllableType("K", "down", 4000.0, 6000.0, 0.050),
    # four lower ones, two of them harmonic stacks
    SyllableType("H", "stack", 1100.0, 1100.0, 0.100),
    SyllableType("I", "down", 1500.0, 2400.0, 0.025),
    SyllableType("J", "stack", 1600.0, 1600.0, 0.055),
    SyllableType("L", "up", 1300.0, 2300.0, 0.070),
)
"""The phrase types: twelve syllables, each sharing its band with at least two others."""

_CALL = SyllableType(CALL_LABEL, "trill", 2200.0, 3300.0, 0.060)
"""The call shares the 2-3.5 kHz band with four phrase types (a fast trill, unlike them)."""


def synth_canary_syllable(
    kind: SyllableType, sample_rate: int, rng: np.random.Generator, duration_s: float
) -> np.ndarray:
    """One rendition of a syllable type, peak about 1, with a random pitch shift of ±5 %.

    Parameters
    ----------
    kind : SyllableType
        The sound to make.
    sample_rate : int
        Rate in Hz.
    rng : np.random.Generator
        Jitter and noise source.
    duration_s : float
        Duration in seconds.

    Returns
    -------
    np.ndarray, shape (round(duration_s * sample_rate),), float64
    """
    n = max(round(duration_s * sample_rate), 1)
    cap = 0.45 * sample_rate
    jitter = rng.uniform(0.95, 1.05)
    lo, hi = min(kind.f_lo * jitter, cap), min(kind.f_hi * jitter, cap)
    u = np.linspace(0.0, 1.0, n)
    phi0 = rng.uniform(0, 2 * np.pi)
    if kind.shape == "noise":
        wave = band_noise(rng, n, sample_rate, lo, hi)
    elif kind.shape == "stack":
        t = np.arange(n) / sample_rate
        wave = sum(np.sin(2 * np.pi * k * lo * t + phi0) / k for k in (1, 2, 3) if k * lo < cap)
    else:
        freq = {
            "up": lo + (hi - lo) * u,
            "down": hi - (hi - lo) * u,
            "flat": (lo + hi) / 2 + (hi - lo) / 2 * np.sin(2 * np.pi * 30.0 * u * duration_s),
            "u": hi - (hi - lo) * np.sin(np.pi * u),
            "trill": (lo + hi) / 2 + (hi - lo) / 2 * np.sin(2 * np.pi * 120.0 * u * duration_s),
        }[kind.shape]
        wave = np.sin(2 * np.pi * np.cumsum(freq) / sample_rate + phi0)
    wave = np.asarray(wave, dtype=np.float64)
    wave = wave / (np.max(np.abs(wave)) + 1e-12)
    return wave * ramp_envelope(n, sample_rate)


def canary_syntax(n_types: int, seed: int = _SYNTAX_SEED) -> np.ndarray:
    """Phrase-to-phrase transition matrix, shape ``(n_types, n_types)``, no self-transition.

    Each type has a few preferred successors (as many as real canaries need to cover 90 %
    of their transitions, :data:`CANARY_STATISTICS`) and a small chance of any other.

    >>> m = canary_syntax(5)
    >>> bool(np.allclose(m.sum(axis=1), 1)), float(np.trace(m))
    (True, 0.0)
    """
    if n_types < 2:
        raise ValueError("a phrase syntax without self-transitions needs at least two types")
    rng = np.random.default_rng(seed + n_types)
    k = int(min(n_types - 1, CANARY_STATISTICS["successors_for_90pct_q50"]))
    m = np.full((n_types, n_types), 0.1 / max(1, n_types - 1 - k))
    for a in range(n_types):
        others = [b for b in range(n_types) if b != a]
        chosen = rng.choice(others, size=k, replace=False)
        m[a, chosen] = 0.9 * rng.dirichlet(np.full(k, 2.0))
    np.fill_diagonal(m, 0.0)
    return m / m.sum(axis=1, keepdims=True)


def _type_durations(n_types: int, seed: int = _SYNTAX_SEED) -> tuple[np.ndarray, float]:
    """Median phrase duration of each type and the within-type spread (log std).

    Medians are spread log-uniformly over the real types' 5-95 % range; the within-type
    spread is what remains of the real log-duration variance once the between-type
    variance is taken out.
    """
    lo = np.log(CANARY_STATISTICS["type_median_duration_q05_s"])
    hi = np.log(CANARY_STATISTICS["type_median_duration_q95_s"])
    medians = np.exp(np.linspace(lo, hi, n_types))
    np.random.default_rng(seed).shuffle(medians)
    between = (hi - lo) / (2 * _Z90)
    within = np.sqrt(max(CANARY_STATISTICS["log_phrase_duration_std"] ** 2 - between**2, 0.01))
    return medians, float(within)


def _between_gap(rng: np.random.Generator) -> float:
    """Silence between two phrases: touching, or log-normal as in the real annotations."""
    if rng.random() < CANARY_STATISTICS["gap_touching_share"]:
        return 0.0
    gap = rng.lognormal(
        CANARY_STATISTICS["log_gap_positive_mean"], CANARY_STATISTICS["log_gap_positive_std"]
    )
    return float(np.clip(gap, _WITHIN_GAP_S[0], _MAX_GAP_S))


def synth_canary_song(
    rng: np.random.Generator,
    sample_rate: int = 16000,
    n_phrases: tuple[int, int] | None = None,
    syllables: tuple[SyllableType, ...] = CANARY_SYLLABLES,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Synthesise one canary-like song and its phrase-level annotation.

    Parameters
    ----------
    rng : np.random.Generator
        All randomness comes from here: same generator state, same song.
    sample_rate : int
        Rate in Hz.
    n_phrases : (int, int), optional
        Inclusive range of the number of phrases (calls not counted); default the real
        songs' 5 % quantile to their median (10-28).
    syllables : tuple of SyllableType
        Phrase types (at least two).

    Returns
    -------
    y : np.ndarray, shape (n_samples,), float32
        Audio in [-1, 1].
    segments : pd.DataFrame
        One row per phrase or call: ``onset_s``, ``offset_s`` (float seconds), ``label``.
    """
    if n_phrases is None:
        n_phrases = (
            int(CANARY_STATISTICS["phrases_per_song_q05"]),
            int(CANARY_STATISTICS["phrases_per_song_q50"]),
        )
    syntax = canary_syntax(len(syllables))
    medians, within = _type_durations(len(syllables))
    call_lo = CANARY_STATISTICS["short_phrase_duration_q05_s"]
    call_hi = CANARY_STATISTICS["short_phrase_duration_q95_s"]
    pieces: list[np.ndarray] = []
    rows: list[tuple[float, float, str]] = []
    cursor = 0

    def add(wave: np.ndarray) -> int:
        nonlocal cursor
        pieces.append(wave)
        cursor += len(wave)
        return cursor

    def silence(seconds: float) -> None:
        add(np.zeros(round(seconds * sample_rate)))

    def utter(kind: SyllableType, duration_s: float) -> None:
        level = _AMPLITUDE * rng.uniform(0.6, 1.0)
        add(level * synth_canary_syllable(kind, sample_rate, rng, duration_s))

    silence(rng.uniform(CANARY_STATISTICS["first_onset_q05_s"], 0.6))
    current = int(rng.integers(len(syllables)))
    for p in range(int(rng.integers(n_phrases[0], n_phrases[1] + 1))):
        if p > 0:
            silence(_between_gap(rng))
            if rng.random() < _CALL_SHARE:
                start = cursor
                utter(_CALL, rng.uniform(call_lo, call_hi))
                rows.append((start / sample_rate, cursor / sample_rate, CALL_LABEL))
                silence(max(_between_gap(rng), _WITHIN_GAP_S[1]))
            current = int(rng.choice(len(syllables), p=syntax[current]))
        kind = syllables[current]
        target = medians[current] * np.exp(within * rng.standard_normal())
        start = cursor
        while True:
            utter(kind, kind.duration_s * rng.uniform(0.85, 1.15))
            if (cursor - start) / sample_rate >= target:
                break
            silence(rng.uniform(*_WITHIN_GAP_S))
        rows.append((start / sample_rate, cursor / sample_rate, kind.label))
    silence(rng.uniform(0.3, 0.6))
    y = add_background_noise(np.concatenate(pieces), rng, _SNR_DB, _AMPLITUDE)
    segments = pd.DataFrame(rows, columns=["onset_s", "offset_s", "label"])
    segments["label"] = segments["label"].astype(str)
    return y, segments


_README = """Canary-like synthetic corpus made by canapy.synthetic_canary.make_canary_corpus
(seed {seed}). Annotated by PHRASE, as canary song is: one segment per train of repeated
syllables, the 10-60 ms silent gaps between the syllables included.

song_XXX.wav  synthetic songs ({sample_rate} Hz, 16-bit PCM); phrase types {labels}
              (several share a frequency band), and a rare short "{call}".
song_XXX.csv  their annotations, marron1csv layout: columns wave,start,end,syll (seconds).
{unlabelled}
Phrase durations, gaps between phrases, song lengths and the sparseness of the syntax
follow summary statistics of real canary annotations (canary M1, Giraudon et al. 2021,
zenodo 10.5281/zenodo.6521932). Not real birds: for tests and benchmarks only.
"""


def make_canary_corpus(
    out_dir: str | Path,
    n_files: int = 40,
    seed: int = 0,
    sample_rate: int = 16000,
    n_unlabelled: int = 2,
    n_phrases: tuple[int, int] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write an annotated, phrase-level canary-like corpus to ``out_dir``.

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
    n_phrases : (int, int), optional
        Range of phrases per song (see :func:`synth_canary_song`).
    overwrite : bool
        Replace files of those names already in ``out_dir``; by default an existing
        file is an :class:`~canapy.exceptions.OutputError` and nothing is written.

    Returns
    -------
    Path
        ``out_dir``.
    """
    rng = np.random.default_rng(seed)
    songs = (
        synth_canary_song(rng, sample_rate=sample_rate, n_phrases=n_phrases)
        for _ in range(n_files + n_unlabelled)
    )
    text = _README.format(
        seed=seed,
        sample_rate=sample_rate,
        labels=", ".join(s.label for s in CANARY_SYLLABLES),
        call=CALL_LABEL,
        unlabelled=unlabelled_note(n_files, n_unlabelled),
    )
    return write_songs(
        out_dir, songs, sample_rate, n_files, text, n_files + n_unlabelled, overwrite
    )
