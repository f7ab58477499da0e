"""The annotation service through FastAPI's TestClient: every endpoint and error."""

from __future__ import annotations

import json
import os
import threading
import time

import pytest
from fastapi.testclient import TestClient

from canapy.jobs import WORKER_NICE, JobManager
from canapy.model_ops import load_source, register_run
from canapy.registry import Registry
from canapy.service import create_app
from canapy.service_support import ServiceSettings
from canapy.workflow import annotate_files

TOKEN = "s3cret-token-0123456789"


@pytest.fixture(scope="module")
def registry(small_run, tmp_path_factory):
    reg = Registry(tmp_path_factory.mktemp("reg"))
    register_run(small_run["run"], "bird/syn", kind="syntactic", registry=reg)
    register_run(small_run["run"], "bird/lr", kind="logreg", registry=reg)
    register_run(small_run["run"], "bird/lr", kind="logreg", registry=reg)
    reg.promote("bird/lr@1")
    return reg


@pytest.fixture(scope="module")
def client(small_run, registry):
    settings = ServiceSettings(
        registry=registry.root,
        data_roots=(small_run["data"],),
        cache_dir=small_run["cache"],
        max_upload_bytes=2_000_000,
    )
    with TestClient(create_app(settings)) as c:
        yield c


def _wav(small_run, i=0):
    return sorted(small_run["data"].glob("*.wav"))[i]


def _upload(path):
    return {"audio": (path.name, path.read_bytes(), "audio/wav")}


def test_health(client):
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["workers"] == 2


def test_annotation_workers_run_at_a_lower_priority():
    jobs = JobManager(max_workers=1)
    try:
        assert jobs.annotate(os.nice, 0).result(timeout=300) == min(19, os.nice(0) + WORKER_NICE)
    finally:
        jobs.shutdown()


_WORKERS_THEN_WAIT = """
import sys, time
from canapy.jobs import JobManager
jobs = JobManager(max_workers=2)
for f in [jobs.annotate(time.sleep, 0.5) for _ in range(2)]:
    f.result(timeout=300)
print("ready", flush=True)
time.sleep(600)
"""


def _worker_children(pid: int) -> list[int]:
    """Processes started by ``pid`` that are multiprocessing workers (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if ppid == pid and b"multiprocessing" in cmd and b"resource_tracker" not in cmd:
            found.append(int(entry))
    return found


@pytest.mark.slow  # starts a server-like process and its two worker processes
@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads worker processes in /proc")
def test_annotation_workers_end_with_a_killed_server():
    """A server ended by a signal leaves no worker process behind (they would wait forever)."""
    import signal
    import subprocess
    import sys

    server = subprocess.Popen(
        [sys.executable, "-c", _WORKERS_THEN_WAIT], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout.readline().strip() == "ready"
        workers = _worker_children(server.pid)
        assert len(workers) == 2
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()
    deadline = time.monotonic() + 120  # a bound for a loaded machine, not a speed check
    while any(os.path.exists(f"/proc/{w}") for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = [w for w in workers if os.path.exists(f"/proc/{w}")]
    for w in alive:  # never leave them running, even when the test fails
        os.kill(w, signal.SIGKILL)
    assert alive == []


def test_models_list_and_card(client):
    rows = client.get("/models").json()["models"]
    assert [r["ref"] for r in rows] == ["bird/lr@1", "bird/lr@2", "bird/syn@1"]
    assert [r["promoted"] for r in rows] == [True, False, False]
    card = client.get("/models/bird/lr/2").json()
    assert card["kind"] == "logreg" and card["version"] == 2 and card["lineage"]["n_files"] == 6
    missing = client.get("/models/bird/lr/9")
    assert missing.status_code == 404 and "no version 9" in missing.json()["detail"]
    assert client.get("/models/nobody/1").status_code == 404


def test_annotate_upload_equals_canapy_annotate(client, small_run, registry, tmp_path):
    wav = _wav(small_run)
    annotator, _ = load_source("bird/syn@1", registry)
    written = annotate_files(annotator, [wav], tmp_path, "marron1csv", small_run["cache"])
    response = client.post("/annotate", files=_upload(wav), data={"model": "bird/syn@1"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content == written[0].read_bytes()


def test_annotate_by_path_default_model_and_formats(client, small_run):
    wav = _wav(small_run, 1)
    as_json = client.post("/annotate", data={"path": str(wav), "format": "json"})
    doc = as_json.json()
    assert doc["model_kind"] == "logreg"  # the promoted model
    assert doc["segments"] and all(0 <= s["confidence"] <= 1 for s in doc["segments"])
    assert all(s["onset_s"] < s["offset_s"] for s in doc["segments"])
    audacity = client.post("/annotate", data={"path": str(wav), "format": "aud-seq"})
    assert audacity.status_code == 200
    assert len(audacity.text.strip().splitlines()) == len(doc["segments"])


@pytest.mark.parametrize(
    ("data", "status", "words"),
    [
        ({"path": "/etc/passwd"}, 403, "outside the data roots"),
        ({"path": "{data}/../../../etc/passwd"}, 403, "outside the data roots"),
        ({"path": "{data}/missing.wav"}, 400, "no such file"),
        ({"path": "{data}"}, 400, "not a file"),
        ({"path": "{wav}", "model": "nobody"}, 404, "no model named 'nobody'"),
        ({"path": "{wav}", "model": "bird/lr@7"}, 404, "no version 7"),
        ({"path": "{wav}", "format": "docx"}, 400, "unknown output format"),
        ({}, 400, "exactly one of"),
    ],
)
def test_annotate_errors_are_json_4xx(client, small_run, data, status, words):
    fill = {"data": str(small_run["data"]), "wav": str(_wav(small_run))}
    data = {k: v.format(**fill) for k, v in data.items()}
    response = client.post("/annotate", data=data)
    assert response.status_code == status
    body = response.json()
    assert words in body["detail"] and body["error"] and "Traceback" not in response.text


def test_bad_uploads(client):
    not_audio = client.post("/annotate", files={"audio": ("song.wav", b"<html>", "audio/wav")})
    assert not_audio.status_code == 415 and "not readable audio" in not_audio.json()["detail"]
    assert "/tmp" not in not_audio.json()["detail"]
    wrong_name = client.post("/annotate", files={"audio": ("notes.txt", b"abc", "text/plain")})
    assert wrong_name.status_code == 415 and "not an audio file name" in wrong_name.text
    big = client.post("/annotate", files={"audio": ("big.wav", b"0" * 4_000_000, "audio/wav")})
    assert big.status_code == 413 and "upload limit" in big.json()["detail"]


def test_jobs_folder_progress_result_and_cancel(client, small_run):
    started = client.post("/jobs", data={"path": str(small_run["data"]), "model": "bird/syn"})
    assert started.status_code == 202
    job_id = started.json()["id"]
    assert started.json()["n_files"] == 8
    for _ in range(600):
        status = client.get(f"/jobs/{job_id}").json()
        if status["status"] in ("done", "failed", "cancelled"):
            break
        time.sleep(0.1)
    assert status["status"] == "done" and status["progress"] == 1.0
    files = client.get(f"/jobs/{job_id}/result").json()["files"]
    assert sorted(files) == sorted(p.name for p in small_run["data"].glob("*.wav"))
    assert files["song_000.wav"]["content"].startswith("wave,start,end,syll\n")
    gone = client.get("/jobs/nope")
    assert gone.status_code == 404 and "no job" in gone.json()["detail"]
    assert client.delete("/jobs/nope").status_code == 404


def test_cancelled_job_stops_and_has_no_result(small_run, registry):
    gate = threading.Event()
    settings = ServiceSettings(registry=registry.root, data_roots=(small_run["data"],), workers=1)
    app = create_app(settings)
    with TestClient(app) as client:
        for _ in range(app.state.jobs.job_threads):  # occupy every job thread: the job waits
            app.state.jobs.run(gate.wait)
        job_id = client.post("/jobs", data={"path": str(small_run["data"])}).json()["id"]
        cancelled = client.delete(f"/jobs/{job_id}").json()
        gate.set()
        app.state.jobs.wait(job_id, timeout=60)
        assert cancelled["status"] == "cancelled"
        assert client.get(f"/jobs/{job_id}").json()["status"] == "cancelled"
        assert client.get(f"/jobs/{job_id}/result").status_code == 409


def test_upload_job(client, small_run):
    wav = _wav(small_run, 2)
    started = client.post("/jobs", files=_upload(wav), data={"format": "json"})
    app_jobs = client.app.state.jobs
    app_jobs.wait(started.json()["id"], timeout=120)
    result = client.get(f"/jobs/{started.json()['id']}/result").json()
    assert json.loads(result["files"][wav.name]["content"])["audio"] == wav.name


def test_token_is_required_when_configured(small_run, registry):
    settings = ServiceSettings(registry=registry.root, token=TOKEN)
    with TestClient(create_app(settings)) as client:
        assert client.get("/health").status_code == 200  # liveness stays open
        refused = client.get("/models")
        assert refused.status_code == 401 and "bearer token" in refused.json()["detail"]
        wrong = client.get("/models", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        ok = client.get("/models", headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200


def test_served_run_folder_without_registry(small_run):
    settings = ServiceSettings(run_dir=small_run["run"], cache_dir=small_run["cache"])
    with TestClient(create_app(settings)) as client:
        rows = client.get("/models").json()["models"]
        assert [(r["name"], r["version"], r["default"]) for r in rows] == [
            ("syntactic", "local", True),
            ("logreg", "local", False),
        ]
        assert client.get("/models/logreg/local").json()["kind"] == "logreg"
        wav = _wav(small_run)
        as_json = client.post("/annotate", files=_upload(wav), data={"format": "json"}).json()
        assert as_json["model_kind"] == "syntactic"
        unknown = client.post("/annotate", files=_upload(wav), data={"model": "bird/syn"})
        assert unknown.status_code == 404 and "served models: syntactic, logreg" in unknown.text
        by_path = client.post("/annotate", data={"path": str(wav)})
        assert by_path.status_code == 403 and "--data-root" in by_path.json()["detail"]


def test_no_default_model_is_a_clear_error(small_run, tmp_path):
    reg = Registry(tmp_path / "reg")
    register_run(small_run["run"], "x/syn", registry=reg)
    with TestClient(create_app(ServiceSettings(registry=reg.root))) as client:
        wav = _wav(small_run)
        response = client.post("/annotate", files=_upload(wav))
        assert response.status_code == 404 and "no default model" in response.json()["detail"]


def test_openapi_docs(client):
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/health", "/models", "/annotate", "/jobs", "/jobs/{job_id}"} <= set(paths)


def test_default_model_is_the_most_recently_promoted(small_run, tmp_path):
    from canapy.service_support import ModelProvider

    reg = Registry(tmp_path / "reg")
    register_run(small_run["run"], "a/syn", registry=reg)
    register_run(small_run["run"], "b/lr", kind="logreg", registry=reg)
    reg.promote("b/lr@1")
    reg.promote("a/syn@1")
    provider = ModelProvider(ServiceSettings(registry=reg.root))
    assert provider.resolve(None) == ("a/syn", "1")
    assert reg.info("a/syn")["promotions"][-1]["version"] == 1
    ref, folder = provider.get("b/lr")
    assert ref == "b/lr@1" and folder == reg.version_dir("b/lr", 1)
