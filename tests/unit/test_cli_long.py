"""`canapy annotate` on long files: streamed, gated, failures named, others written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from canapy.activity import load_gate
from canapy.cli import main
from canapy.synthetic import synth_song

CONFIG = """
[reservoir]
units = 60
[training]
models = ["syntactic"]
default_model = "syntactic"
validation_fraction = 0.0
[annotate]
stream_above_s = 8.0
block_s = 3.0
piece_s = 6.0
"""


@pytest.fixture
def run(tmp_path: Path, trained_run) -> Path:
    """A run folder trained on a 4-file example corpus with :data:`CONFIG` (trained once per
    session, copied): the annotation is what these tests check."""
    return trained_run(tmp_path / "run", CONFIG, n_files=4)


def test_annotate_streams_long_files_and_names_the_failures(run, tmp_path, capsys):
    gate = load_gate(run / "gate.json")
    assert gate.threshold > 0
    audio = tmp_path / "audio"
    audio.mkdir()
    rng = np.random.default_rng(3)
    song = np.concatenate([synth_song(rng)[0] for _ in range(3)])
    noise = (0.002 * rng.standard_normal(16000 * 20)).astype(np.float32)
    sf.write(audio / "long.wav", np.concatenate([song, noise]), 16000, subtype="FLOAT")
    sf.write(audio / "short.wav", synth_song(rng)[0], 16000, subtype="FLOAT")
    (audio / "zz_broken.wav").write_bytes(b"RIFF....WAVEfmt garbage")
    capsys.readouterr()
    outs = {}
    for flag in ([], ["--no-gate"]):
        out = tmp_path / f"out{len(flag)}"
        code = main(["annotate", str(run), str(audio), "-o", str(out), "--quiet", *flag])
        assert code == 2
        err = capsys.readouterr().err
        assert "zz_broken.wav" in err and "not annotated" in err
        assert sorted(p.name for p in out.iterdir()) == ["long.csv", "short.csv"]
        outs[bool(flag)] = pd.read_csv(out / "long.csv", dtype={"syll": str})
    gated, everything = outs[False], outs[True]
    # The trailing 20 s of noise are not sent through the model with the gate on.
    assert gated["end"].max() <= len(song) / 16000 + gate.margin_s + 0.05
    in_song = everything[everything["end"] <= len(song) / 16000]
    assert len(in_song) > 20
    assert len(gated) >= 0.95 * len(in_song)


def test_annotate_mirrors_sub_folders_in_process_and_on_workers(run, tmp_path, capsys, monkeypatch):
    import functools

    import canapy.distributed

    audio = tmp_path / "audio"
    rng = np.random.default_rng(5)
    for sub in ("a", "b", "b/deeper", ""):  # the same name in several folders
        (audio / sub).mkdir(parents=True, exist_ok=True)
        sf.write(audio / sub / "x.wav", synth_song(rng)[0], 16000, subtype="FLOAT")
    expected = ["a/x.csv", "b/deeper/x.csv", "b/x.csv", "x.csv"]
    in_process = tmp_path / "out"
    assert main(["annotate", str(run), str(audio), "-o", str(in_process), "--quiet"]) == 0
    written = sorted(p.relative_to(in_process).as_posix() for p in in_process.rglob("*.csv"))
    assert written == expected
    for name in expected:  # each one is its own file's annotation
        alone = tmp_path / "alone" / name
        wav = audio / Path(name).with_suffix(".wav")
        assert main(["annotate", str(run), str(wav), "-o", str(alone.parent), "--quiet"]) == 0
        assert (in_process / name).read_bytes() == alone.read_bytes()
    assert len({(in_process / n).read_bytes() for n in expected}) == len(expected)
    # Thread workers for speed; real worker processes are run in test_distributed.py.
    monkeypatch.setattr(
        canapy.distributed,
        "open_client",
        functools.partial(canapy.distributed.open_client, processes=False),
    )
    on_workers = tmp_path / "out_workers"
    args = ["annotate", str(run), str(audio), "-o", str(on_workers), "--quiet", "--workers", "2"]
    assert main(args) == 0
    for name in expected:
        assert (in_process / name).read_bytes() == (on_workers / name).read_bytes()
    assert sorted(p.relative_to(on_workers).as_posix() for p in on_workers.rglob("*.csv")) == (
        expected
    )
