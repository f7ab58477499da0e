"""Typed, frozen configuration of a Canapy run.

Defaults live only here. A TOML file overrides any subset of them; unknown keys and bad
values are rejected with a message naming the key, the value and what is allowed.

Examples
--------
>>> cfg = default_config()
>>> cfg.features.hop_ms
2.0
>>> cfg2 = config_from_dict({"reservoir": {"units": 300}})
>>> cfg2.reservoir.units
300
"""

from __future__ import annotations

import dataclasses
import difflib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, get_type_hints

from canapy.exceptions import ConfigError

__all__ = [
    "GRANULARITIES",
    "PRESETS",
    "AnnotateConfig",
    "AudioConfig",
    "Config",
    "FeaturesConfig",
    "LogregConfig",
    "PostprocessConfig",
    "ReadoutConfig",
    "ReservoirConfig",
    "TrainingConfig",
    "apply_preset",
    "config_from_dict",
    "config_to_dict",
    "default_config",
    "load_config",
]

GRANULARITIES: tuple[str, ...] = ("auto", "syllable", "phrase")
"""Allowed values of ``postprocess.granularity``."""


@dataclass(frozen=True)
class AudioConfig:
    """How audio is loaded."""

    sample_rate: int = 0
    """Target sample rate in Hz; 0 means the most common rate found in the corpus."""

    def validate(self) -> None:
        _check(
            self.sample_rate == 0 or 4000 <= self.sample_rate <= 384000,
            "audio.sample_rate",
            self.sample_rate,
            "0 (auto) or 4000..384000 Hz",
        )


@dataclass(frozen=True)
class FeaturesConfig:
    """Spectral features computed with librosa."""

    kind: str = "logmel"
    """``"logmel"`` (log mel-band energies) or ``"mfcc"``."""
    n_mels: int = 40
    n_mfcc: int = 20
    deltas: int = 2
    """0: static only, 1: add Δ, 2: add Δ and Δ²."""
    hop_ms: float = 2.0
    win_ms: float = 12.0
    fmin: float = 500.0
    fmax: float = 0.0
    """Upper frequency in Hz; 0 means Nyquist."""
    normalize: bool = True
    """Standardise each feature dimension with statistics learnt on the training set."""

    def validate(self) -> None:
        _check(self.kind in ("logmel", "mfcc"), "features.kind", self.kind, '"logmel" or "mfcc"')
        _check(8 <= self.n_mels <= 256, "features.n_mels", self.n_mels, "8..256")
        _check(
            4 <= self.n_mfcc <= self.n_mels,
            "features.n_mfcc",
            self.n_mfcc,
            f"4..features.n_mels ({self.n_mels})",
        )
        _check(self.deltas in (0, 1, 2), "features.deltas", self.deltas, "0, 1 or 2")
        _check(0.25 <= self.hop_ms <= 50, "features.hop_ms", self.hop_ms, "0.25..50 ms")
        _check(
            self.hop_ms <= self.win_ms <= 200,
            "features.win_ms",
            self.win_ms,
            f"features.hop_ms ({self.hop_ms})..200 ms",
        )
        _check(0 <= self.fmin < 100000, "features.fmin", self.fmin, "0..100000 Hz")
        _check(
            self.fmax == 0 or self.fmax > self.fmin,
            "features.fmax",
            self.fmax,
            f"0 (Nyquist) or above features.fmin ({self.fmin})",
        )


@dataclass(frozen=True)
class ReservoirConfig:
    """Echo State Network reservoir hyper-parameters."""

    units: int = 600
    spectral_radius: float = 0.5
    leak_rate: float = 0.2
    """Leak rate per frame; a time constant of hop_ms / leak_rate."""
    input_scaling: float = 0.5
    input_connectivity: float = 0.1
    rc_connectivity: float = 0.05
    bidirectional: bool = True
    """Read each song forwards and backwards (two reservoirs, states concatenated)."""
    seed: int = 2024

    def validate(self) -> None:
        _check(10 <= self.units <= 5000, "reservoir.units", self.units, "10..5000")
        _check(
            0 < self.spectral_radius <= 2,
            "reservoir.spectral_radius",
            self.spectral_radius,
            "0 < value <= 2",
        )
        _check(0 < self.leak_rate <= 1, "reservoir.leak_rate", self.leak_rate, "0 < value <= 1")
        _check(
            0 < self.input_scaling <= 100,
            "reservoir.input_scaling",
            self.input_scaling,
            "0 < value <= 100",
        )
        _check(
            0 < self.input_connectivity <= 1,
            "reservoir.input_connectivity",
            self.input_connectivity,
            "0 < value <= 1",
        )
        _check(
            0 < self.rc_connectivity <= 1,
            "reservoir.rc_connectivity",
            self.rc_connectivity,
            "0 < value <= 1",
        )


@dataclass(frozen=True)
class ReadoutConfig:
    """Ridge-regression readout."""

    ridge: float = 1e-4
    """Tikhonov regularisation, relative to the mean diagonal of the state covariance."""
    include_input: bool = True
    """Feed the features themselves to the readout next to the reservoir states."""

    def validate(self) -> None:
        _check(0 < self.ridge <= 1e6, "readout.ridge", self.ridge, "0 < value <= 1e6")


@dataclass(frozen=True)
class TrainingConfig:
    """Which annotators to train and how the non-syntactic one samples its data."""

    models: tuple[str, ...] = ("syntactic", "nonsyntactic", "ensemble")
    """Subset of ``syntactic``, ``nonsyntactic``, ``ensemble`` (Echo State Networks) and
    ``logreg`` (logistic regression over stacked context frames, see ``[logreg]``)."""
    default_model: str = "auto"
    """Model used by ``annotate`` unless told otherwise: one of ``models``, or ``auto`` (the
    ensemble unless another model is clearly better on the held-out files, see
    :mod:`canapy.model_choice`)."""
    boundary_ms: float = 4.0
    """Frames within this distance of a syllable edge are trained as silence, teaching the
    model to separate syllables that touch; segments are widened back after decoding."""
    segments_per_class: int = 150
    """Non-syntactic model: segments drawn per class (with replacement), class-balanced."""
    context_ms: float = 20.0
    """Non-syntactic model: silence context kept around each drawn segment."""
    noise_std: float = 0.05
    """Non-syntactic model: Gaussian noise added to standardised features."""
    validation_fraction: float = 0.2
    """Share of annotated files held out to measure the models before they are retrained
    on every file; 0 skips the measurement (and halves training time)."""
    seed: int = 0

    def validate(self) -> None:
        allowed = ("syntactic", "nonsyntactic", "ensemble", "logreg")
        _check(
            len(self.models) > 0 and all(m in allowed for m in self.models),
            "training.models",
            list(self.models),
            f"a non-empty subset of {list(allowed)}",
        )
        _check(
            self.default_model in (*self.models, "auto"),
            "training.default_model",
            self.default_model,
            f"auto or one of training.models {list(self.models)}",
        )
        _check(0 <= self.boundary_ms <= 50, "training.boundary_ms", self.boundary_ms, "0..50 ms")
        _check(
            1 <= self.segments_per_class <= 100000,
            "training.segments_per_class",
            self.segments_per_class,
            "1..100000",
        )
        _check(0 <= self.context_ms <= 1000, "training.context_ms", self.context_ms, "0..1000 ms")
        _check(0 <= self.noise_std <= 10, "training.noise_std", self.noise_std, "0..10")
        _check(
            0 <= self.validation_fraction <= 0.5,
            "training.validation_fraction",
            self.validation_fraction,
            "0..0.5",
        )


@dataclass(frozen=True)
class LogregConfig:
    """The ``logreg`` model: logistic regression over a window of feature frames."""

    context_frames: int = 4
    """Frames taken on each side of the predicted frame (window of 2 * n + 1 frames)."""
    stride_frames: int = 3
    """Spacing of the context frames, in frames."""
    frames_per_class: int = 4000
    """Training frames sampled per class (class-balanced, seeded by training.seed)."""
    C: float = 1.0
    """Inverse regularisation strength of scikit-learn's LogisticRegression."""
    max_iter: int = 300

    def validate(self) -> None:
        _check(
            0 <= self.context_frames <= 50, "logreg.context_frames", self.context_frames, "0..50"
        )
        _check(1 <= self.stride_frames <= 50, "logreg.stride_frames", self.stride_frames, "1..50")
        _check(
            10 <= self.frames_per_class <= 10**6,
            "logreg.frames_per_class",
            self.frames_per_class,
            "10..1000000",
        )
        _check(0 < self.C <= 1e6, "logreg.C", self.C, "0 < value <= 1e6")
        _check(10 <= self.max_iter <= 100000, "logreg.max_iter", self.max_iter, "10..100000")


@dataclass(frozen=True)
class PostprocessConfig:
    """Turning frame predictions into segments."""

    silence_label: str = "SIL"
    """Tag of the silence / background class. Never used as a syllable label."""
    smoothing_ms: float = 6.0
    """Width of the moving average applied to class probabilities before decoding."""
    min_duration_ms: float = 16.0
    """Segments shorter than this are dropped (their time goes to the neighbours). Training
    caps it at half the corpus' shortest hand-labelled syllables (1st percentile). 16 ms,
    well below finch syllables (30-50 ms), removes most spurious splits: on the three shared
    finch splits (three birds, three labs) the syllable error rate falls by 20-50 % against
    8 ms."""
    min_gap_ms: float = 0.0
    """Two segments of the same label separated by a shorter gap are merged."""
    granularity: str = "auto"
    """Annotation granularity: "auto" (learnt from the hand labels), "syllable" (finch-like:
    short segments kept, no gap bridged) or "phrase" (canary-like: same-label pieces merged
    across the gaps inside a phrase, blips shorter than the shortest phrases absorbed)."""

    def validate(self) -> None:
        _check(
            bool(self.silence_label.strip()),
            "postprocess.silence_label",
            self.silence_label,
            "a non-empty string",
        )
        _check(
            0 <= self.smoothing_ms <= 500,
            "postprocess.smoothing_ms",
            self.smoothing_ms,
            "0..500 ms",
        )
        _check(
            0 <= self.min_duration_ms <= 5000,
            "postprocess.min_duration_ms",
            self.min_duration_ms,
            "0..5000 ms",
        )
        _check(
            0 <= self.min_gap_ms <= 5000, "postprocess.min_gap_ms", self.min_gap_ms, "0..5000 ms"
        )
        _check(
            self.granularity in GRANULARITIES,
            "postprocess.granularity",
            self.granularity,
            ", ".join(f'"{g}"' for g in GRANULARITIES),
        )


@dataclass(frozen=True)
class AnnotateConfig:
    """Annotating new recordings, long ones in particular."""

    gate: bool = True
    """Long files: send only the sound-bearing stretches (found by the activity gate
    calibrated on the training corpus) through the reservoirs; the rest is silence."""
    gate_recall: float = 0.995
    """Fraction of the training corpus' labelled segments the gate's threshold keeps."""
    gate_margin_ms: float = 500.0
    """Margin kept around each sound-bearing stretch (also warms the reservoirs up)."""
    stream_above_s: float = 60.0
    """Files longer than this are annotated block by block, with bounded memory."""
    block_s: float = 30.0
    """Streaming: audio run through the reservoirs at once (sets the memory used)."""
    piece_s: float = 300.0
    """Streaming: length of an independent piece (one task on a Dask cluster)."""

    def validate(self) -> None:
        _check(0.5 <= self.gate_recall <= 1.0, "annotate.gate_recall", self.gate_recall, "0.5..1")
        _check(
            0 <= self.gate_margin_ms <= 10000,
            "annotate.gate_margin_ms",
            self.gate_margin_ms,
            "0..10000 ms",
        )
        _check(self.stream_above_s >= 0, "annotate.stream_above_s", self.stream_above_s, ">= 0")
        _check(1 <= self.block_s <= 600, "annotate.block_s", self.block_s, "1..600 s")
        _check(
            self.block_s <= self.piece_s <= 86400,
            "annotate.piece_s",
            self.piece_s,
            f"annotate.block_s ({self.block_s})..86400 s",
        )


@dataclass(frozen=True)
class Config:
    """The whole configuration of a Canapy run."""

    audio: AudioConfig = field(default_factory=AudioConfig)
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    reservoir: ReservoirConfig = field(default_factory=ReservoirConfig)
    readout: ReadoutConfig = field(default_factory=ReadoutConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    postprocess: PostprocessConfig = field(default_factory=PostprocessConfig)
    logreg: LogregConfig = field(default_factory=LogregConfig)
    annotate: AnnotateConfig = field(default_factory=AnnotateConfig)

    def validate(self) -> Config:
        """Check every value; return ``self`` so calls can be chained."""
        for f in fields(self):
            getattr(self, f.name).validate()
        return self


PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    # Bengalese finch: short (20-150 ms) syllables, gaps down to a few ms.
    "bengalese_finch": {},
    # Zebra finch: longer harmonic stacks, similar gaps; lower fmin keeps the fundamentals.
    "zebra_finch": {"features": {"fmin": 300.0}},
    # Canary: phrases of repeated syllables, some of them very short (trills).
    "canary": {
        "features": {"fmin": 500.0, "hop_ms": 2.0},
        "reservoir": {"leak_rate": 0.1},
        "postprocess": {"min_duration_ms": 5.0},
    },
}


def _check(ok: bool, key: str, value: Any, allowed: str) -> None:
    if not ok:
        raise ConfigError(f"invalid value for {key}: {value!r}; allowed: {allowed}")


def default_config() -> Config:
    """Return the default configuration."""
    return Config()


def _coerce(value: Any, typ: Any, key: str) -> Any:
    """Convert a TOML value to the field's declared type or raise ConfigError."""
    if typ is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"invalid value for {key}: {value!r}; allowed: true or false")
    if typ is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"invalid value for {key}: {value!r}; allowed: an integer")
        return value
    if typ is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"invalid value for {key}: {value!r}; allowed: a number")
        if value != value:  # NaN
            raise ConfigError(f"invalid value for {key}: NaN; allowed: a number")
        return float(value)
    if typ is str:
        if not isinstance(value, str):
            raise ConfigError(f"invalid value for {key}: {value!r}; allowed: a string")
        return value
    if typ == tuple[str, ...]:
        if isinstance(value, str) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"invalid value for {key}: {value!r}; allowed: a list of strings")
        return tuple(value)
    raise ConfigError(f"unsupported type for {key}")  # pragma: no cover


def _unknown_key_message(key: str, allowed: list[str], where: str) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown key {where}{key!r}{hint} (allowed: {', '.join(allowed)})"


def _merge_section(section: Any, values: Mapping[str, Any], name: str) -> Any:
    if not isinstance(values, Mapping):
        raise ConfigError(f"[{name}] must be a table, got {values!r}")
    hints = get_type_hints(type(section))
    allowed = [f.name for f in fields(section)]
    changes = {}
    for key, value in values.items():
        if key not in allowed:
            raise ConfigError(_unknown_key_message(key, allowed, f"{name}."))
        changes[key] = _coerce(value, hints[key], f"{name}.{key}")
    return replace(section, **changes)


def config_from_dict(data: Mapping[str, Any], base: Config | None = None) -> Config:
    """Build a validated :class:`Config` from nested mappings (e.g. parsed TOML).

    Parameters
    ----------
    data : mapping
        ``{section: {key: value}}``; missing keys keep the value of ``base``.
    base : Config, optional
        Values to start from; the defaults if omitted.

    Raises
    ------
    ConfigError
        On an unknown section or key, a value of the wrong type or out of range.
    """
    cfg = base if base is not None else default_config()
    sections = [f.name for f in fields(cfg)]
    changes = {}
    for name, values in data.items():
        if name not in sections:
            raise ConfigError(_unknown_key_message(name, sections, "section "))
        changes[name] = _merge_section(getattr(cfg, name), values, name)
    return replace(cfg, **changes).validate()


def apply_preset(name: str, base: Config | None = None) -> Config:
    """Return ``base`` (or the defaults) with the preset ``name`` applied."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; allowed: {', '.join(sorted(PRESETS))}")
    return config_from_dict(PRESETS[name], base)


def config_to_dict(cfg: Config) -> dict[str, dict[str, Any]]:
    """Plain nested dict of ``cfg`` (tuples become lists), ready for TOML or JSON."""
    out: dict[str, dict[str, Any]] = {}
    for f in fields(cfg):
        section = dataclasses.asdict(getattr(cfg, f.name))
        out[f.name] = {k: list(v) if isinstance(v, tuple) else v for k, v in section.items()}
    return out


def load_config(path: str | Path, preset: str | None = None) -> Config:
    """Read a TOML config file, on top of the defaults (and of ``preset`` if given).

    Raises
    ------
    ConfigError
        If the file is missing, not valid TOML or has bad keys or values; the message
        starts with the file's path.
    """
    path = Path(path)
    base = apply_preset(preset) if preset else default_config()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not a valid TOML file: {exc}") from None
    try:
        return config_from_dict(data, base)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
