"""End to end through the CLI and a real uvicorn process: train the logreg kind, register,
serve, and check that ``POST /annotate`` returns what ``canapy annotate`` writes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import joblib
import pytest

from canapy.cli import main

SMALL_CONFIG = """
[reservoir]
units = 50
[training]
validation_fraction = 0.2
models = ["syntactic", "logreg"]
default_model = "logreg"
[logreg]
frames_per_class = 400
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("serve-cli")
    assert main(["example", str(root / "data"), "--n-files", "6", "--seed", "3"]) == 0
    (root / "small.toml").write_text(SMALL_CONFIG)
    common = ["--cache-dir", str(root / "cache"), "--quiet"]
    argv = ["train", str(root / "data"), "--output", str(root / "run"), "--model-kind"]
    assert main([*argv, "logreg,syntactic", "--config", str(root / "small.toml"), *common]) == 0
    return root


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_cli_registry_actions(trained, capsys):
    root, reg = trained, str(trained / "reg")
    run = json.loads((root / "run" / "run.json").read_text())
    assert run["models"] == ["syntactic", "logreg"] and run["default_model"] == "logreg"
    assert main(["models", "register", str(root / "run"), "--name", "b/lr", "--registry", reg]) == 0
    assert main(["models", "register", str(root / "run"), "--name", "b/lr", "--registry", reg]) == 0
    argv = ["models", "register", str(root / "run"), "--kind", "syntactic", "--name", "b/syn"]
    assert main([*argv, "--registry", reg, "--promote"]) == 0
    assert main(["models", "promote", "b/lr@2", "--registry", reg]) == 0
    capsys.readouterr()
    assert main(["models", "list", "--registry", reg]) == 0
    listing = capsys.readouterr().out
    assert "b/lr@1" in listing and "b/lr@2" in listing and "b/syn@1" in listing
    assert main(["models", "show", "b/lr", "--registry", reg, "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert card["ref"] == "b/lr@2" and card["promoted"] and card["kind"] == "logreg"
    out = root / "cmp.json"
    argv = ["models", "compare", "b/lr@1", "b/syn@1", "--data", str(root / "data")]
    assert main([*argv, "--registry", reg, "--json", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "per-class F1" in printed and "b/syn@1" in printed
    assert set(json.loads(out.read_text())["summary"]) == {"b/lr@1", "b/syn@1"}
    portable = root / "b-lr.canapy.npz"
    assert main(["models", "export", "b/lr@1", "--portable", str(portable), "--registry", reg]) == 0
    other = str(root / "other-reg")
    assert main(["models", "import", str(portable), "--registry", other]) == 0
    assert "imported" in capsys.readouterr().out
    assert main(["models", "remove", "b/lr@1", "--registry", reg]) == 0
    assert main(["models", "remove", "b/lr@2", "--registry", reg]) == 2  # promoted
    assert "promoted version" in capsys.readouterr().err
    assert main(["models", str(root)]) == 0  # the old listing of run folders
    assert "logreg" in capsys.readouterr().out


def test_crafted_run_is_refused_by_annotate(trained, tmp_path, capsys):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(trained / "run", run)
    marker = tmp_path / "code-ran"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    joblib.dump(Evil(), run / "logreg" / "model.joblib")
    meta = json.loads((run / "logreg" / "metadata.json").read_text())
    import hashlib

    meta["model_sha256"] = hashlib.sha256(
        (run / "logreg" / "model.joblib").read_bytes()
    ).hexdigest()
    (run / "logreg" / "metadata.json").write_text(json.dumps(meta))
    argv = ["annotate", str(run), str(trained / "data"), "--output", str(tmp_path / "out")]
    assert main([*argv, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "canapy models trust" in err and "refuses" in err
    assert not marker.exists()


def test_remote_address_needs_allow_remote_and_token(trained, capsys, monkeypatch):
    monkeypatch.delenv("CANAPY_SERVE_TOKEN", raising=False)
    argv = ["serve", "--model", str(trained / "run"), "--address", "0.0.0.0"]
    assert main(argv) == 2
    assert "--allow-remote" in capsys.readouterr().err
    assert main([*argv, "--allow-remote"]) == 2
    assert "bearer token" in capsys.readouterr().err


@pytest.mark.slow  # starts a real uvicorn server process
def test_real_uvicorn_serves_what_canapy_annotate_writes(trained, tmp_path):
    root = trained
    reg = root / "serve-reg"
    argv = ["models", "register", str(root / "run"), "--name", "s/lr", "--registry", str(reg)]
    assert main([*argv, "--promote"]) == 0
    out = tmp_path / "cli-out"
    argv = ["annotate", str(root / "run"), str(root / "data"), "--output", str(out)]
    assert main([*argv, "--cache-dir", str(root / "cache"), "--quiet"]) == 0  # logreg: default
    port = _free_port()
    cmd = [sys.executable, "-m", "canapy", "serve", "--registry", str(reg), "--port", str(port)]
    cmd += ["--data-root", str(root / "data"), "--cache-dir", str(root / "cache")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, proc.stderr.read().decode()
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.3)
        for wav in sorted((root / "data").glob("*.wav"))[:3]:
            expected = (out / f"{wav.stem}.csv").read_bytes()
            upload = httpx.post(
                f"{url}/annotate", files={"audio": (wav.name, wav.read_bytes())}, timeout=120
            )
            assert upload.status_code == 200 and upload.content == expected
            by_path = httpx.post(f"{url}/annotate", data={"path": str(wav)}, timeout=120)
            assert by_path.content == expected
        models = httpx.get(f"{url}/models", timeout=10).json()["models"]
        assert [m["ref"] for m in models] == ["s/lr@1"] and models[0]["kind"] == "logreg"
        outside = httpx.post(f"{url}/annotate", data={"path": str(Path.home())}, timeout=10)
        assert outside.status_code == 403 and outside.json()["error"] == "PathNotAllowedError"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
