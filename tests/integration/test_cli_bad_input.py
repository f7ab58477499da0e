"""Bad input gives a one-line error naming the file (and row), never a traceback."""

from __future__ import annotations

import shutil

import pytest

from canapy.cli import main


@pytest.fixture
def corpus(tmp_path, tiny_config_toml, example_corpus):
    """A 4-file example corpus (as ``canapy example DIR --n-files 4`` writes it); ``_train``
    trains on it with the tiny config (one 100-unit model): these tests are about bad
    input, not the model."""
    return example_corpus(tmp_path / "data", n_files=4)


@pytest.fixture
def run(tmp_path, trained_run):
    """A run trained with the tiny config on a corpus equal to ``corpus`` (trained once per
    session, copied): for the tests where the run is an input."""
    return trained_run(tmp_path / "run", n_files=4)


def _train(data, tmp_path, *extra):
    config = [] if "--config" in extra else ["--config", str(tmp_path / "tiny.toml")]
    args = ["train", str(data), "--output", str(tmp_path / "run"), "--quiet", "--no-cache"]
    return main([*args, *config, *extra])


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert err, "no error printed"
    assert "Traceback" not in "\n".join(err)
    return err[-1]


def _edit_csv(path, row, column, value):
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[row].split(",")
    cells[header.index(column)] = value
    lines[row] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(
    ("breaker", "expected"),
    [
        (lambda d: (d / "song_001.wav").write_bytes(b"RIFF\x00\x00garbage"), "song_001.wav"),
        (lambda d: (d / "song_001.wav").write_bytes(b""), "song_001.wav"),
        (lambda d: _edit_csv(d / "song_002.csv", 3, "end", "0.0001"), "song_002.csv row 3"),
        (lambda d: _edit_csv(d / "song_002.csv", 3, "start", "nan"), "song_002.csv row 3"),
        (lambda d: _edit_csv(d / "song_002.csv", 4, "start", "0.0"), "song_002.csv"),
        (lambda d: (d / "song_003.wav").unlink(), "song_003"),
        (lambda d: (d / "notes.csv").write_text("a,b\n1,2\n"), "notes.csv"),
    ],
    ids=["corrupt", "empty", "end<=start", "nan", "overlap", "missing-audio", "not-annotation"],
)
def test_bad_file_is_named_and_skippable(corpus, tmp_path, capsys, breaker, expected):
    breaker(corpus)
    assert _train(corpus, tmp_path) == 2
    line = _error_line(capsys)
    assert line.startswith("canapy: error:") and expected in line
    assert _train(corpus, tmp_path, "--skip-bad") == 0
    assert "skipped" in capsys.readouterr().err


def test_truncated_audio_is_reported(corpus, tmp_path, capsys):
    wav = corpus / "song_000.wav"
    wav.write_bytes(wav.read_bytes()[: len(wav.read_bytes()) // 3])
    assert _train(corpus, tmp_path) == 2
    assert "song_000" in _error_line(capsys)


def test_unknown_format_and_bad_config(corpus, tmp_path, capsys):
    assert _train(corpus, tmp_path, "--format", "nope") == 2
    assert "unknown annotation format 'nope'" in _error_line(capsys)
    cfg = tmp_path / "c.toml"
    cfg.write_text("[reservoir]\nspectral_radius = -1\n")
    assert _train(corpus, tmp_path, "--config", str(cfg)) == 2
    line = _error_line(capsys)
    assert "c.toml" in line and "reservoir.spectral_radius" in line


def test_missing_folders_and_runs(tmp_path, capsys):
    assert main(["train", str(tmp_path / "nowhere"), "--output", str(tmp_path / "r")]) == 2
    assert "nowhere" in _error_line(capsys)
    assert main(["annotate", str(tmp_path), str(tmp_path), "--output", str(tmp_path / "o")]) == 2
    assert "not a Canapy run folder" in _error_line(capsys)


def test_tampered_model_is_refused(corpus, run, tmp_path, capsys):
    model = run / "syntactic" / "model.joblib"
    model.write_bytes(model.read_bytes() + b"x")
    assert (
        main(
            [
                "annotate",
                str(run),
                str(corpus),
                "--output",
                str(tmp_path / "o"),
                "--no-cache",
            ]
        )
        == 2
    )
    assert "sha256" in _error_line(capsys)


def test_annotate_never_half_writes_existing_files(corpus, run, tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    out.mkdir()
    shutil.copy(corpus / "song_000.csv", out / "song_000.csv")
    before = (out / "song_000.csv").read_bytes()

    import os

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):  # --debug: the CLI boundary re-raises it
        main(
            [
                "--debug",
                "annotate",
                str(run),
                str(corpus / "song_000.wav"),
                "--output",
                str(out),
                "--no-cache",
                "--quiet",
            ]
        )
    assert (out / "song_000.csv").read_bytes() == before
    assert [p.name for p in out.iterdir()] == ["song_000.csv"]


def test_small_overlaps_can_be_tolerated(corpus, tmp_path, capsys):
    csv = corpus / "song_002.csv"
    lines = csv.read_text().splitlines()
    prev_end = float(lines[1].split(",")[2])
    _edit_csv(csv, 2, "start", f"{prev_end - 0.003:.6f}")
    assert _train(corpus, tmp_path) == 2
    assert "song_002.csv" in _error_line(capsys)
    assert _train(corpus, tmp_path, "--overlap-tolerance", "0.005") == 0
