"""Tests of canapy.audio."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from canapy.audio import (
    AUDIO_EXTENSIONS,
    audio_info,
    check_header,
    is_audio_file,
    load_audio,
    read_span,
    resample,
)
from canapy.exceptions import AudioError
from canapy.synthetic import synth_song

RATE = 16000


@pytest.fixture
def song() -> np.ndarray:
    y, _ = synth_song(np.random.default_rng(1), sample_rate=RATE, n_syllables=(5, 6))
    return y


def test_wav_roundtrip_and_info(tmp_path: Path, song: np.ndarray) -> None:
    path = tmp_path / "a.wav"
    sf.write(path, song, RATE, subtype="PCM_16")
    rate, duration = audio_info(path)
    assert rate == RATE
    assert duration == pytest.approx(len(song) / RATE)
    y, sr = load_audio(path)
    assert sr == RATE and y.dtype == np.float32 and y.ndim == 1
    assert np.max(np.abs(y - song)) < 1e-3


@pytest.mark.parametrize("ext", [".flac", ".ogg"])
def test_other_containers(tmp_path: Path, song: np.ndarray, ext: str) -> None:
    path = tmp_path / f"a{ext}"
    sf.write(path, song, RATE)
    y, sr = load_audio(path)
    assert sr == RATE and len(y) == pytest.approx(len(song), abs=2048)


def test_stereo_is_downmixed_by_mean(tmp_path: Path) -> None:
    left = np.full(1000, 0.5)
    right = np.full(1000, -0.1)
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([left, right], axis=1), RATE, subtype="FLOAT")
    y, _ = load_audio(path)
    assert y.shape == (1000,)
    np.testing.assert_allclose(y, 0.2, atol=1e-6)


def test_resampling(tmp_path: Path) -> None:
    t = np.arange(RATE) / RATE
    path = tmp_path / "tone.wav"
    sf.write(path, 0.5 * np.sin(2 * np.pi * 1000 * t), RATE, subtype="FLOAT")
    y, sr = load_audio(path, sample_rate=8000)
    assert sr == 8000 and len(y) == 8000 and y.dtype == np.float32
    peak = np.argmax(np.abs(np.fft.rfft(y)))
    assert abs(peak * 8000 / len(y) - 1000) < 5
    _, sr_same = load_audio(path, sample_rate=RATE)
    assert sr_same == RATE


@pytest.mark.parametrize(
    ("orig", "target", "n", "expected"),
    [(44100, 32000, 44102, 32002), (16000, 22050, 44100, 60776), (16000, 8000, 16000, 8000)],
)
def test_resampled_length_is_the_ceiling(orig, target, n, expected):
    """``ceil(n * target / orig)`` samples, as librosa gives (soxr alone rounds: 32001 and
    60775 for the first two), so frame counts agree with the file's duration."""
    y = resample(np.random.default_rng(0).normal(size=n).astype(np.float32), orig, target)
    assert y.dtype == np.float32 and len(y) == expected


def test_npy_with_sidecar(tmp_path: Path, song: np.ndarray) -> None:
    path = tmp_path / "a.npy"
    np.save(path, np.stack([song, song], axis=1))
    (tmp_path / "a.npy.json").write_text(json.dumps({"sample_rate": 22050}))
    assert audio_info(path) == (22050, len(song) / 22050)
    y, sr = load_audio(path)
    assert sr == 22050 and y.shape == song.shape
    y2, sr2 = load_audio(path, sample_rate=11025)
    assert sr2 == 11025 and len(y2) == pytest.approx(len(song) / 2, abs=2)


def test_npy_without_sidecar(tmp_path: Path, song: np.ndarray) -> None:
    path = tmp_path / "b.npy"
    np.save(path, song)
    y, sr = load_audio(path, sample_rate=RATE)
    assert sr == RATE and len(y) == len(song)
    assert audio_info(path, sample_rate=RATE)[0] == RATE
    with pytest.raises(AudioError, match=r"b\.npy.*sample rate"):
        load_audio(path)


def test_npy_int16_is_scaled(tmp_path: Path) -> None:
    path = tmp_path / "i.npy"
    np.save(path, np.array([16384, -32768], dtype=np.int16))
    y, _ = load_audio(path, sample_rate=RATE)
    np.testing.assert_allclose(y, [0.5, -1.0])


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.wav"
    with pytest.raises(AudioError, match="not found") as err:
        load_audio(path)
    assert str(err.value).startswith(str(path)) and "not found" in str(err.value)
    with pytest.raises(AudioError, match=r"nope\.wav"):
        audio_info(path)


def test_unsupported_extension(tmp_path: Path) -> None:
    path = tmp_path / "a.mp4"
    path.write_bytes(b"x")
    with pytest.raises(AudioError, match=r"\.mp4") as err:
        load_audio(path)
    msg = str(err.value)
    assert msg.startswith(str(path)) and ".mp4" in msg
    assert all(ext in msg for ext in AUDIO_EXTENSIONS)


def test_corrupt_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.wav"
    path.write_bytes(b"RIFF\x00\x00garbage")
    with pytest.raises(AudioError, match=r"bad\.wav") as err:
        load_audio(path)
    assert str(err.value).startswith(str(path)) and "\n" not in str(err.value)
    with pytest.raises(AudioError, match=r"bad\.wav"):
        audio_info(path)


def test_truncated_file(tmp_path: Path, song: np.ndarray) -> None:
    full = tmp_path / "full.wav"
    sf.write(full, song, RATE, subtype="PCM_16")
    cut = tmp_path / "cut.wav"
    cut.write_bytes(full.read_bytes()[: 44 + 1000])
    with pytest.raises(AudioError, match=r"cut\.wav.*truncated"):
        load_audio(cut)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    sf.write(path, np.zeros(0), RATE)
    with pytest.raises(AudioError, match=r"empty\.wav.*empty"):
        load_audio(path)
    zero = tmp_path / "zero.wav"
    zero.write_bytes(b"")
    with pytest.raises(AudioError, match=r"zero\.wav"):
        load_audio(zero)


def test_nan_samples(tmp_path: Path) -> None:
    data = np.zeros(100, dtype=np.float32)
    data[10] = np.nan
    path = tmp_path / "nan.wav"
    sf.write(path, data, RATE, subtype="FLOAT")
    with pytest.raises(AudioError, match=r"nan\.wav.*NaN"):
        load_audio(path)
    npy = tmp_path / "inf.npy"
    np.save(npy, np.array([0.0, np.inf]))
    with pytest.raises(AudioError, match=r"inf\.npy.*NaN or infinite"):
        load_audio(npy, sample_rate=RATE)


def test_is_audio_file() -> None:
    assert is_audio_file("x.FLAC") and not is_audio_file("x.csv")


def _patched_wav(tmp_path: Path, name: str, offset: int, value: int) -> Path:
    """A 1 s, 16 kHz PCM WAV with one little-endian uint32 of its header overwritten."""
    import struct

    path = tmp_path / name
    sf.write(path, np.zeros(RATE, np.float32), RATE, subtype="PCM_16")
    data = bytearray(path.read_bytes())
    if offset < 0:  # the data chunk's size field
        offset = data.find(b"data") + 4
    data[offset : offset + 4] = struct.pack("<I", value)
    path.write_bytes(bytes(data))
    return path


def test_absurd_sample_rate_is_refused_before_allocating(tmp_path: Path) -> None:
    import tracemalloc

    path = _patched_wav(tmp_path, "one_hz.wav", 24, 1)  # fmt chunk: sample rate = 1 Hz
    tracemalloc.start()
    try:
        with pytest.raises(AudioError, match=r"one_hz\.wav.*sample rate 1 Hz"):
            load_audio(path, sample_rate=32000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20e6
    with pytest.raises(AudioError, match="one_hz.wav"):
        audio_info(path)


def test_length_the_file_cannot_hold_is_refused(tmp_path: Path) -> None:
    path = _patched_wav(tmp_path, "long_claim.wav", -1, 10**9)  # data chunk claims 1 GB
    for call in (audio_info, load_audio, check_header):
        with pytest.raises(AudioError, match=r"long_claim\.wav.*(truncated|claims)"):
            call(path)


def test_read_span_matches_load_audio_with_zeros_outside(tmp_path: Path, song: np.ndarray) -> None:
    path = tmp_path / "a.wav"
    sf.write(path, song, RATE, subtype="FLOAT")
    whole, _ = load_audio(path)
    np.testing.assert_array_equal(read_span(path, 100, 900), whole[100:900])
    edge = read_span(path, len(whole) - 5, len(whole) + 5)
    np.testing.assert_array_equal(edge[:5], whole[-5:])
    assert not edge[5:].any()
    # Resampled stretches match the whole-file resampling inside the file.
    whole8k, _ = load_audio(path, sample_rate=8000)
    span = read_span(path, 1000, 3000, sample_rate=8000)
    np.testing.assert_allclose(span, whole8k[1000:3000], atol=1e-4)
