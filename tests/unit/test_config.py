"""Config: defaults, TOML round trip, presets and rejection of bad keys/values."""

from __future__ import annotations

import tomllib

import pytest

from canapy.config import (
    PRESETS,
    apply_preset,
    config_from_dict,
    config_to_dict,
    default_config,
    load_config,
)
from canapy.config_file import render_template, save_config
from canapy.exceptions import ConfigError


def test_template_is_valid_toml_and_round_trips(tmp_path):
    text = render_template()
    assert "# Leak rate per frame" in text
    assert config_from_dict(tomllib.loads(text)) == default_config()
    path = tmp_path / "c.toml"
    cfg = config_from_dict(
        {
            "reservoir": {"units": 123},
            "training": {"models": ["syntactic"], "default_model": "syntactic"},
        }
    )
    save_config(cfg, path)
    assert load_config(path) == cfg


def test_unknown_key_suggests_the_right_one():
    with pytest.raises(ConfigError, match=r"reservoir\.'unit'.*did you mean 'units'"):
        config_from_dict({"reservoir": {"unit": 3}})
    with pytest.raises(ConfigError, match="unknown key section 'featurs'.*did you mean 'features'"):
        config_from_dict({"featurs": {}})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"reservoir": {"units": 3}}, r"reservoir.units: 3; allowed: 10..5000"),
        ({"reservoir": {"units": "many"}}, r"reservoir.units.*an integer"),
        ({"reservoir": {"leak_rate": 0}}, r"leak_rate"),
        ({"features": {"kind": "stft"}}, r'"logmel" or "mfcc"'),
        ({"features": {"hop_ms": 10, "win_ms": 5}}, r"features.win_ms"),
        ({"readout": {"ridge": float("nan")}}, r"NaN"),
        ({"training": {"models": ["bogus"]}}, r"training.models"),
        (
            {"training": {"default_model": "syntactic", "models": ["nonsyntactic"]}},
            r"training.default_model",
        ),
        ({"features": {"normalize": "yes"}}, r"true or false"),
    ],
)
def test_bad_values_are_rejected_with_what_is_allowed(data, message):
    with pytest.raises(ConfigError, match=message):
        config_from_dict(data)


def test_load_config_names_the_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[reservoir]\nunits = 1\n")
    with pytest.raises(ConfigError, match="bad.toml: invalid value for reservoir.units"):
        load_config(bad)
    broken = tmp_path / "broken.toml"
    broken.write_text("[reservoir\n")
    with pytest.raises(ConfigError, match="broken.toml: not a valid TOML"):
        load_config(broken)
    with pytest.raises(ConfigError, match="missing.toml: config file not found"):
        load_config(tmp_path / "missing.toml")


def test_presets_apply_and_unknown_preset_fails():
    for name in PRESETS:
        apply_preset(name).validate()
    assert apply_preset("zebra_finch").features.fmin == 300.0
    with pytest.raises(ConfigError, match="unknown preset 'owl'"):
        apply_preset("owl")


def test_config_is_frozen_and_serialisable():
    cfg = default_config()
    with pytest.raises(AttributeError, match="units"):
        cfg.reservoir.units = 5  # type: ignore[misc]
    assert config_to_dict(cfg)["training"]["models"] == ["syntactic", "nonsyntactic", "ensemble"]
