"""canapy.spectrum.energy_band: the frequency band a recording's sounds occupy."""

from __future__ import annotations

import numpy as np
import pytest

from canapy.spectrum import energy_band


def _song(freq_hz: float, sr: int = 32000, seconds: float = 3.0, hum_hz: float = 0.0):
    """Tone bursts at ``freq_hz`` (on half the time), a constant hum, faint noise."""
    t = np.arange(int(seconds * sr)) / sr
    rng = np.random.default_rng(0)
    y = np.where((t % 0.25) < 0.12, 0.5 * np.sin(2 * np.pi * freq_hz * t), 0.0)
    y += 0.3 * np.sin(2 * np.pi * hum_hz * t) if hum_hz else 0.0
    return (y + 0.005 * rng.standard_normal(len(t))).astype(np.float32), sr


@pytest.mark.parametrize("freq", [1200.0, 3000.0, 7000.0])
def test_the_band_holds_the_song_and_little_else(freq):
    low, high = energy_band(*_song(freq))
    assert low < freq < high and high - low <= 1500.0


def test_a_constant_hum_is_background_not_song():
    low, high = energy_band(*_song(5000.0, hum_hz=300.0))
    assert 300.0 < low < 5000.0 < high


def test_silence_or_a_short_clip_gives_the_whole_range():
    assert energy_band(np.zeros(32000, np.float32), 32000) == (0.0, 16000.0)
    assert energy_band(np.ones(10, np.float32), 32000) == (0.0, 16000.0)


def test_bengalese_finch_song_sits_between_half_a_and_ten_khz(shared_data):
    from canapy.audio import load_audio

    files = sorted((shared_data / "bengalese_finch").rglob("*.wav"))[:3]
    assert files
    for path in files:
        low, high = energy_band(*load_audio(path))
        assert 0.0 <= low <= 1500.0 and 5000.0 <= high <= 11000.0, path.name
