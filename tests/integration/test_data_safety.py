"""Bad input, races and kills never lose or corrupt the user's data (issue 8).

Each case breaks something on purpose (corrupt, NaN, lying headers, symlinks, a full disk,
concurrent writers, kill -9 at random points) and checks: the exit status, a one-line
``canapy: error:`` naming the file, no partial or mixed output, and the original files
byte-identical (hashed before and after). Trainings use a 50-unit reservoir. The slowest
parts (subprocess kills, a served dashboard) are marked ``slow``.
"""

from __future__ import annotations

import argparse
import errno
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from canapy.cli import main
from canapy.corpus import load_corpus
from canapy.exceptions import CanapyError, OutputError
from canapy.io_utils import TEMP_SUFFIX, atomic_directory
from canapy.runs import load_annotators, read_run
from canapy.synthetic import make_example_corpus

TINY = """\
[reservoir]
units = 50
[training]
models = ["syntactic", "nonsyntactic"]
default_model = "syntactic"
validation_fraction = 0.0
segments_per_class = 20
"""


def tree_hashes(folder: Path) -> dict[str, str]:
    """sha256 of every file below ``folder`` (hidden ``.canapy`` folder excluded)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and ".canapy" not in p.parts
    }


@pytest.fixture
def corpus(tmp_path, example_corpus):
    return example_corpus(tmp_path / "data", n_files=4, n_unlabelled=1, seed=3)


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return path


def run_cli(capsys, *argv) -> tuple[int, str]:
    """Exit status and the last stderr line (asserted traceback-free)."""
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err.strip().splitlines()
    assert "Traceback" not in "\n".join(err)
    return code, (err[-1] if err else "")


def train(capsys, data, out, config, *extra):
    return run_cli(
        capsys, "train", data, "--output", out, "--config", config, "--quiet", "--no-cache", *extra
    )


@pytest.fixture
def run_dir(tmp_path, trained_run):
    """A run trained with ``TINY`` on a corpus equal to ``corpus`` (trained once, copied)."""
    return trained_run(tmp_path / "run", TINY, n_files=4, n_unlabelled=1, seed=3)


# -- 1, 4, 8: nothing is ever written into the originals -------------------------------
def test_annotate_into_the_data_folder_is_refused(run_dir, corpus, tmp_path, capsys):
    before = tree_hashes(corpus)
    link = tmp_path / "link"
    link.symlink_to(corpus)
    for out in (corpus, link, corpus / "sub"):
        code, line = run_cli(capsys, "annotate", run_dir, corpus, "--output", out, "--no-cache")
        assert code == 2 and line.startswith("canapy: error: refusing") and str(out) in line
    assert tree_hashes(corpus) == before


def test_history_export_through_a_symlink_is_refused(corpus, tmp_path, capsys):
    assert run_cli(capsys, "history", corpus, "init")[0] == 0
    before = tree_hashes(corpus)
    link = tmp_path / "link"
    link.symlink_to(corpus)
    code, line = run_cli(capsys, "history", corpus, "export", "1", link)
    assert code == 2 and "refusing" in line and str(corpus.resolve()) in line
    assert tree_hashes(corpus) == before
    assert run_cli(capsys, "history", corpus, "export", "1", tmp_path / "out")[0] == 0


def test_review_output_inside_the_data_is_refused(corpus, config, capsys):
    code, line = run_cli(capsys, "review", corpus, "--output", corpus / "s.csv", "--config", config)
    assert code == 2 and "refusing" in line


def test_train_output_inside_the_data_is_refused(corpus, tmp_path, config, capsys, monkeypatch):
    import canapy.workflow

    def never(*_a, **_k):
        raise AssertionError("trained before checking the output")

    monkeypatch.setattr(canapy.workflow, "_train_into", never)
    before = tree_hashes(corpus)
    link = tmp_path / "link"
    link.symlink_to(corpus)
    for out in (corpus, corpus / "run", link / "run"):
        code, line = train(capsys, corpus, out, config)
        assert code == 2 and line.startswith("canapy: error: refusing to write a run folder")
        assert str(out) in line and "inside the data folder" in line
    audio = tmp_path / "audio"
    audio.mkdir()
    code, line = train(capsys, corpus, audio / "run", config, "--audio-dir", audio)
    assert code == 2 and "refusing" in line and str(audio) in line
    assert tree_hashes(corpus) == before


def test_example_never_overwrites(corpus, capsys):
    before = tree_hashes(corpus)
    code, line = run_cli(capsys, "example", corpus, "--n-files", "4")
    assert code == 2 and "already exists" in line and "song_000" in line
    assert tree_hashes(corpus) == before


def test_dash_example_never_writes_into_a_real_corpus(corpus):
    from canapy.dashboards.server import resolve_paths

    (corpus / "README.txt").unlink()  # a real corpus, not the example
    before = tree_hashes(corpus)
    args = argparse.Namespace(data_dir=str(corpus), output=None, example=True)
    with pytest.raises(CanapyError, match="not empty"):
        resolve_paths(args)
    assert tree_hashes(corpus) == before


# -- 2: pairing follows the annotation's own folder ----------------------------------
def test_labels_go_to_the_audio_beside_them(tmp_path):
    src = make_example_corpus(tmp_path / "src", n_files=2, n_unlabelled=0)
    data = tmp_path / "nested"
    for day in ("day1", "day2"):
        (data / day).mkdir(parents=True)
    shutil.copy(src / "song_000.wav", data / "day1" / "song.wav")
    shutil.copy(src / "song_001.wav", data / "day2" / "song.wav")
    csv = (src / "song_001.csv").read_text().replace("song_001.wav", "song.wav")
    (data / "day2" / "song.csv").write_text(csv)
    corpus = load_corpus(data)
    assert [p.parent.name for p in corpus.annotated] == ["day2"]
    assert set(corpus.segments["audio_path"].map(lambda p: Path(p).parent.name)) == {"day2"}
    day1 = (src / "song_000.csv").read_text().replace("song_000.wav", "song.wav")
    (data / "day1" / "song.csv").write_text(day1)
    both = load_corpus(data)  # both annotated: no "annotated twice"
    assert sorted(p.parent.name for p in both.annotated) == ["day1", "day2"]


# -- 3: run folders whole, locked, checked --------------------------------------------
def test_mixed_run_is_refused(run_dir, corpus, tmp_path, config, capsys):
    other = make_example_corpus(tmp_path / "other", n_files=4, seed=9)
    out2 = tmp_path / "run2"
    assert train(capsys, other, out2, config)[0] == 0
    shutil.rmtree(run_dir / "nonsyntactic")
    shutil.copytree(out2 / "nonsyntactic", run_dir / "nonsyntactic")
    code, line = run_cli(capsys, "evaluate", run_dir, corpus, "--no-cache", "--quiet")
    assert code == 2 and "mixed run" in line and "nonsyntactic" in line
    code, line = run_cli(
        capsys, "annotate", run_dir, corpus, "-o", tmp_path / "a", "--model", "nonsyntactic"
    )
    assert code == 2 and "mixed run" in line


def test_concurrent_train_to_one_folder_fails_clearly(corpus, tmp_path, config, capsys):
    out = tmp_path / "run"
    with atomic_directory(out, "run folder") as first:  # another process is writing it
        (first / "mine").write_text("first writer")
        code, line = train(capsys, corpus, out, config)
    assert code == 2 and "another Canapy process" in line and str(out) in line
    assert os.listdir(out) == ["mine"]  # the first writer's folder, untouched


def test_output_that_is_a_file_fails_before_training(corpus, tmp_path, config, capsys, monkeypatch):
    import canapy.workflow

    def never(*_a, **_k):
        raise AssertionError("trained before checking the output")

    monkeypatch.setattr(canapy.workflow, "_train_into", never)
    out = tmp_path / "file"
    out.write_text("x")
    code, line = train(capsys, corpus, out, config)
    assert code == 2 and str(out) in line and "not a folder" in line


def test_full_disk_leaves_no_half_run(corpus, tmp_path, config, capsys, monkeypatch):
    import canapy.workflow

    def full(_cfg, path):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(canapy.workflow, "save_config", full)
    out = tmp_path / "run"
    code, line = train(capsys, corpus, out, config)
    assert code == 1 and "No space left on device" in line and "config.toml" in line
    assert not out.exists() and not list(tmp_path.glob(f".run.*{TEMP_SUFFIX}"))


def test_full_disk_on_a_small_tmpfs(corpus, tmp_path, config, capsys):
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root / CAP_SYS_ADMIN)")
    try:
        code, line = train(capsys, corpus, mount / "run", config)
        assert code == 1 and "No space left" in line
        assert list(mount.iterdir()) in ([], [mount / ".run.lock"])
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_orphans_of_a_killed_training_are_removed(corpus, tmp_path, config, capsys):
    orphan = tmp_path / f".run.abc123{TEMP_SUFFIX}"
    orphan.mkdir()
    (orphan / "half.joblib").write_bytes(b"x")
    keep = tmp_path / f".other.abc{TEMP_SUFFIX}"
    keep.mkdir()
    assert train(capsys, corpus, tmp_path / "run", config)[0] == 0
    assert not orphan.exists() and keep.exists()


def test_annotate_removes_only_old_orphans(run_dir, corpus, tmp_path, capsys):
    out = tmp_path / "annotations"
    out.mkdir()
    old = out / f".song_000.csv.k1ll3d{TEMP_SUFFIX}"
    fresh = out / f".song_001.csv.wr1t1ng{TEMP_SUFFIX}"
    for path in (old, fresh):
        path.write_text("wave,start")
    os.utime(old, (time.time() - 2 * 3600,) * 2)
    assert run_cli(capsys, "annotate", run_dir, corpus, "-o", out, "--no-cache")[0] == 0
    assert not old.exists() and fresh.exists()


# -- 5, 6, 10: bad labels and bad audio ------------------------------------------------
def _set_label(csv: Path, row: int, label: str) -> None:
    lines = csv.read_text().splitlines()
    cells = lines[row].split(",")
    cells[3] = label
    lines[row] = ",".join(cells)
    csv.write_text("\n".join(lines) + "\n")


def test_a_label_equal_to_the_silence_tag_is_refused(corpus, tmp_path, config, capsys):
    _set_label(corpus / "song_001.csv", 2, "SIL")
    code, line = train(capsys, corpus, tmp_path / "run", config)
    assert code == 2 and "'SIL'" in line and "song_001.wav" in line
    assert "postprocess.silence_label" in line
    assert not (tmp_path / "run").exists()


def _write(path: Path, y: np.ndarray, rate: int = 16000) -> None:
    sf.write(path, y.astype(np.float32), rate, subtype="FLOAT")


@pytest.mark.parametrize(
    "damage",
    ["nan", "inf", "huge", "truncated", "header-lies"],
)
def test_bad_samples_are_named_and_skipped(corpus, tmp_path, config, capsys, damage):
    wav = corpus / "song_002.wav"
    y, rate = sf.read(wav, dtype="float32")
    if damage in ("nan", "inf", "huge"):
        y[len(y) // 2] = {"nan": np.nan, "inf": np.inf, "huge": 1e30}[damage]
        _write(wav, y, rate)
    elif damage == "truncated":
        wav.write_bytes(wav.read_bytes()[: wav.stat().st_size * 2 // 3])
    else:  # a header claiming more data than the file holds
        raw = bytearray(wav.read_bytes())
        pos = raw.index(b"data")
        raw[pos + 4 : pos + 8] = (len(raw) * 4).to_bytes(4, "little")
        wav.write_bytes(bytes(raw))
    before = tree_hashes(corpus)
    code, line = train(capsys, corpus, tmp_path / "run", config)
    assert code == 2 and "song_002.wav" in line and line.startswith("canapy: error:")
    code = main(
        [
            "train", str(corpus), "-o", str(tmp_path / "run"), "--config", str(config),
            "--quiet", "--no-cache", "--skip-bad",
        ]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 0 and "warning: skipped" in err and "song_002.wav" in err
    assert sum("song_002" in ln for ln in err.splitlines()) == 1
    assert "song_002.wav" not in read_run(tmp_path / "run").training_files[0]
    assert tree_hashes(corpus) == before


def test_a_tab_label_names_the_row_and_can_be_dropped(corpus, tmp_path, config, capsys):
    _set_label(corpus / "song_001.csv", 3, "\t")
    code, line = train(capsys, corpus, tmp_path / "run", config)
    assert code == 2 and "song_001.csv row 3" in line and "--drop-bad-rows" in line
    code = main(
        [
            "train", str(corpus), "-o", str(tmp_path / "run"), "--config", str(config),
            "--quiet", "--no-cache", "--drop-bad-rows",
        ]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 0 and "song_001.csv row 3" in err and "row dropped" in err
    assert len(read_run(tmp_path / "run").training_files) == 4  # the file is kept


# -- 7: one-line errors at the CLI boundary --------------------------------------------
def test_os_and_json_errors_are_one_line(run_dir, corpus, tmp_path, config, capsys):
    ghost = tmp_path / "audio"
    ghost.mkdir()
    (ghost / "ghost.wav").symlink_to(tmp_path / "nowhere.wav")
    code, line = run_cli(capsys, "annotate", run_dir, ghost, "-o", tmp_path / "o", "--no-cache")
    assert code != 0 and "ghost.wav" in line
    code, line = run_cli(capsys, "train", corpus, "-o", tmp_path / "r", "--config", tmp_path)
    assert code != 0 and str(tmp_path) in line
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    code, line = run_cli(capsys, "config", "init", blocker / "c.toml")
    assert code != 0 and "blocker" in line
    code, line = run_cli(
        capsys, "evaluate", run_dir, corpus, "--json", tmp_path, "--no-cache", "--quiet"
    )
    assert code != 0 and "--json" in line
    (run_dir / "run.json").write_text("{not json")
    code, line = run_cli(capsys, "evaluate", run_dir, corpus, "--no-cache", "--quiet")
    assert code == 2 and "run.json" in line


def test_debug_shows_the_traceback(tmp_path):
    assert main(["example", str(tmp_path / "x"), "--n-files", "1"]) == 0
    with pytest.raises(OutputError):
        main(["--debug", "example", str(tmp_path / "x"), "--n-files", "1"])
    with pytest.raises(IsADirectoryError):
        main(["--verbose", "config", "show", "--config", str(tmp_path)])


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_permission_error_names_the_file(corpus, tmp_path, config, capsys):
    (corpus / "song_001.csv").chmod(0)
    try:
        code, line = train(capsys, corpus, tmp_path / "run", config)
        assert code != 0 and "song_001.csv" in line
    finally:
        (corpus / "song_001.csv").chmod(0o644)


# -- 9: the annotation store fails loudly when damaged ---------------------------------
@pytest.mark.parametrize("damage", ["head-garbage", "head-past-last", "metadata-missing"])
def test_damaged_store_fails_loudly(corpus, capsys, damage):
    assert run_cli(capsys, "history", corpus, "init")[0] == 0
    store = corpus / ".canapy" / "store"
    if damage == "head-garbage":
        (store / "HEAD").write_text('{"head": "x"}')
    elif damage == "head-past-last":
        (store / "HEAD").write_text('{"head": 7}')
    else:
        (store / "versions" / "000001.json").unlink()
    code, line = run_cli(capsys, "history", corpus, "list")
    assert code == 2 and line.startswith("canapy: error:")
    assert "HEAD" in line or "000001.json" in line


def test_store_save_removes_orphan_temps(corpus):
    from canapy.store import AnnotationStore

    store = AnnotationStore.for_data_dir(corpus)
    store.init_from(load_corpus(corpus))
    orphan = store.root / f".HEAD.x1y2z3{TEMP_SUFFIX}"
    orphan.write_text("{")
    table = store.load()
    table.loc[0, "label"] = "renamed"
    store.save(table, None, "rename one", base_version=1)
    assert not orphan.exists() and store.head == 2


# -- the helpers ---------------------------------------------------------------------
def test_atomic_directory_rolls_back_and_replaces(tmp_path):
    target = tmp_path / "run"
    with pytest.raises(RuntimeError), atomic_directory(target) as tmp:
        (tmp / "half").write_text("x")
        raise RuntimeError
    assert not target.exists() and not list(tmp_path.glob(f"*{TEMP_SUFFIX}"))
    for text in ("old", "new"):
        with atomic_directory(target) as tmp:
            (tmp / "f").write_text(text)
    assert (target / "f").read_text() == "new" and os.listdir(tmp_path) == ["run"]
    with pytest.raises(OutputError), atomic_directory(target / "f"):
        pass


# -- 4: the remote dashboard needs explicit origins and a token -------------------------
def test_allow_remote_needs_origins(corpus):
    from canapy.dashboards.server import serve_from_args

    args = argparse.Namespace(
        data_dir=str(corpus), output=None, format="marron1csv", port=0, address="0.0.0.0",
        allow_remote=True, origin=None, token=None, no_browser=True, example=False,
    )  # fmt: skip
    with pytest.raises(CanapyError, match="--origin"):
        serve_from_args(args)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=180) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.slow
def test_remote_dashboard_refuses_requests_without_the_token(corpus, tmp_path):
    port = _free_port()
    token = "t0ken-for-the-safety-test"
    cmd = [
        sys.executable, "-m", "canapy", "dash", str(corpus), "--no-browser", "--port", str(port),
        "--address", "0.0.0.0", "--allow-remote", "--origin", f"localhost:{port}",
        "--token", token, "--output", str(tmp_path / "runs"),
    ]  # fmt: skip
    log = tmp_path / "dash.log"
    with log.open("w") as out:  # a file, not a pipe: a full pipe would block the server
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, text=True)
    try:
        for _ in range(600):  # the server says when it listens (imports are slow)
            started = [ln for ln in log.read_text().splitlines() if "canapy dashboard:" in ln]
            if started or proc.poll() is not None:
                break
            time.sleep(0.5)
        assert started, log.read_text()
        assert f"token={token}" in started[0]
        base = f"http://127.0.0.1:{port}/"
        assert _status(base) == 403
        assert _status(base + "?token=wrong") == 403
        assert _status(base + f"?token={token}") == 200
        ws = socket.create_connection(("127.0.0.1", port), timeout=180)
        ws.sendall(
            (
                f"GET /ws HTTP/1.1\r\nHost: localhost:{port}\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                f"Sec-WebSocket-Version: 13\r\nOrigin: http://localhost:{port}\r\n\r\n"
            ).encode()
        )
        answer = ws.recv(200).decode(errors="replace")
        ws.close()
        assert " 101 " not in answer.splitlines()[0]  # no WebSocket without the token
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


# -- kill -9 at random points: nothing lost, nothing half-written ------------------------
def _cli(*argv) -> list[str]:
    return [sys.executable, "-m", "canapy", *[str(a) for a in argv]]


def _kill_after(cmd: list[str], delay: float) -> int:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    proc.kill()
    return proc.wait()


KILLS = 6


@pytest.mark.slow
def test_kill_during_train_leaves_the_old_run_or_the_new_one(corpus, tmp_path, config):
    rng = np.random.default_rng(8)
    out = tmp_path / "run"
    before = tree_hashes(corpus)
    cache = tmp_path / "cache"
    subprocess.run(_cli("train", corpus, "-o", out, "--config", config, "--quiet",
                        "--cache-dir", cache), check=True)  # fmt: skip
    survived = 0
    for _ in range(KILLS):
        _kill_after(
            _cli("train", corpus, "-o", out, "--config", config, "--quiet", "--cache-dir", cache),
            float(rng.uniform(1.0, 12.0)),
        )
        info = read_run(out)  # the run is whole: old or new, never mixed
        assert set(load_annotators(out)) == set(info.models)
        survived += 1
    assert survived == KILLS and tree_hashes(corpus) == before
    done = subprocess.run(_cli("train", corpus, "-o", out, "--config", config, "--quiet",
                               "--cache-dir", cache))  # fmt: skip
    assert done.returncode == 0
    assert not list(tmp_path.glob(f".run.*{TEMP_SUFFIX}"))  # orphans cleaned


@pytest.mark.slow
def test_kill_during_annotate_leaves_whole_files(run_dir, corpus, tmp_path):
    import pandas as pd

    rng = np.random.default_rng(5)
    before = tree_hashes(corpus)
    out = tmp_path / "annotations"
    for _ in range(KILLS):
        _kill_after(_cli("annotate", run_dir, corpus, "-o", out, "--quiet"),
                    float(rng.uniform(1.0, 8.0)))  # fmt: skip
        for csv in out.glob("*.csv") if out.exists() else ():
            table = pd.read_csv(csv)
            assert list(table.columns) == ["wave", "start", "end", "syll"]
    assert tree_hashes(corpus) == before


@pytest.mark.slow
def test_kill_during_store_saves_loses_no_version(corpus, tmp_path):
    from canapy.store import AnnotationStore

    store = AnnotationStore.for_data_dir(corpus)
    store.init_from(load_corpus(corpus))
    script = (
        "import sys\nfrom canapy.store import AnnotationStore\n"
        f"s = AnnotationStore.for_data_dir({str(corpus)!r})\n"
        "while True:\n    s.save(s.load(), None, 'loop', base_version=s.head)\n"
    )
    rng = np.random.default_rng(2)
    for _ in range(KILLS):
        heads = store.head
        _kill_after([sys.executable, "-c", script], float(rng.uniform(1.5, 4.0)))
        table = store.versions()
        assert table["id"].tolist() == list(range(1, store.head + 1)) and store.head >= heads
        store.load()  # the head's content matches its sha256
    json.loads((store.root / "HEAD").read_text())
