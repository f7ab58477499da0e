"""The config form: the editable part of a Config, validated by the core."""

from __future__ import annotations

from typing import Any

import param

from canapy.annotator import MODEL_KINDS
from canapy.config import (
    GRANULARITIES,
    PRESETS,
    Config,
    apply_preset,
    config_from_dict,
    default_config,
)
from canapy.exceptions import CanapyError

__all__ = ["CONFIG_FIELDS", "ConfigForm"]


CONFIG_FIELDS: dict[str, str] = {
    "features_kind": "Features",
    "features_n_mels": "Mel bands",
    "features_hop_ms": "Hop (ms)",
    "features_win_ms": "Window (ms)",
    "features_fmin": "Lowest frequency (Hz)",
    "reservoir_units": "Reservoir units",
    "reservoir_spectral_radius": "Spectral radius",
    "reservoir_leak_rate": "Leak rate",
    "reservoir_input_scaling": "Input scaling",
    "reservoir_bidirectional": "Bidirectional",
    "readout_ridge": "Ridge",
    "training_models": "Models",
    "training_default_model": "Default model",
    "training_validation_fraction": "Held-out fraction",
    "postprocess_min_duration_ms": "Min. segment (ms)",
    "postprocess_granularity": "Granularity",
}
"""Editable config values: ``<section>_<key>`` -> label shown in the editor."""


def _split(name: str) -> tuple[str, str]:
    section, key = name.split("_", 1)
    return section, key


class ConfigForm(param.Parameterized):
    """The editable part of a :class:`canapy.config.Config`, validated by the core.

    Values carry no bounds of their own: :func:`canapy.config.config_from_dict` checks
    them, and its message lands in :attr:`error` (and :attr:`config` becomes None).

    Examples
    --------
    >>> form = ConfigForm()
    >>> form.reservoir_units = 5
    >>> form.config is None, form.error.startswith("invalid value for reservoir.units")
    (True, True)
    >>> form.reservoir_units = 100
    >>> form.config.reservoir.units, form.error
    (100, '')
    """

    preset = param.Selector(default="default", objects=["default", *sorted(PRESETS)])
    features_kind = param.Selector(default="logmel", objects=["logmel", "mfcc"])
    features_n_mels = param.Integer(default=None, allow_None=True)
    features_hop_ms = param.Number(default=None, allow_None=True)
    features_win_ms = param.Number(default=None, allow_None=True)
    features_fmin = param.Number(default=None, allow_None=True)
    reservoir_units = param.Integer(default=None, allow_None=True)
    reservoir_spectral_radius = param.Number(default=None, allow_None=True)
    reservoir_leak_rate = param.Number(default=None, allow_None=True)
    reservoir_input_scaling = param.Number(default=None, allow_None=True)
    reservoir_bidirectional = param.Boolean(default=True)
    readout_ridge = param.Number(default=None, allow_None=True)
    training_models = param.ListSelector(default=list(MODEL_KINDS), objects=list(MODEL_KINDS))
    training_default_model = param.Selector(default="auto", objects=["auto", *MODEL_KINDS])
    training_validation_fraction = param.Number(default=None, allow_None=True)
    postprocess_min_duration_ms = param.Number(default=None, allow_None=True)
    postprocess_granularity = param.Selector(default="auto", objects=list(GRANULARITIES))

    preset_note = param.String(default="", doc="What choosing the preset changed.")
    config = param.Parameter(default=None, doc="The validated Config, or None if invalid.")
    error = param.String(default="", doc="ConfigError message of the current values.")

    def __init__(self, base: Config | None = None, **params: Any) -> None:
        super().__init__(**params)
        self._base = base or default_config()
        self.load(self._base)

    def base(self) -> Config:
        """The preset (or default) config the editable values are applied on."""
        return apply_preset(self.preset) if self.preset != "default" else default_config()

    def load(self, cfg: Config) -> None:
        """Show the values of ``cfg``."""
        values = {}
        for name in CONFIG_FIELDS:
            section, key = _split(name)
            value = getattr(getattr(cfg, section), key)
            values[name] = list(value) if isinstance(value, tuple) else value
        self.param.update(values)  # one batch: widgets follow, validation runs once
        self._validate()

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """The editable values as ``{section: {key: value}}`` for ``config_from_dict``."""
        out: dict[str, dict[str, Any]] = {}
        for name in CONFIG_FIELDS:
            section, key = _split(name)
            out.setdefault(section, {})[key] = getattr(self, name)
        return out

    @param.depends("preset", watch=True)
    def _on_preset(self) -> None:
        base = self.base()
        before = self.to_dict()
        self.load(base)
        changed = sum(
            before[section][key] != value
            for section, values in self.to_dict().items()
            for key, value in values.items()
        )
        if self.preset == "default":
            note = f"Defaults restored ({changed} value(s) changed)."
        elif base == default_config():
            note = f"The {self.preset!r} preset is the default configuration: nothing to change."
        else:
            note = f"Preset {self.preset!r}: {changed} value(s) changed."
        self.preset_note = note

    @param.depends(*CONFIG_FIELDS, watch=True)
    def _validate(self) -> None:
        try:
            cfg = config_from_dict(self.to_dict(), self.base())
        except CanapyError as exc:
            self.param.update(config=None, error=str(exc))
        else:
            self.param.update(config=cfg, error="")
