"""Latency, throughput and memory of ``canapy serve``; the logreg kind next to the ESN.

On the gy6or6 standard split (train: day 23-03-12, test: day 24-03-12) it

1. trains the default ESN ensemble and the ``logreg`` kind on the training day and scores
   both on the test day (:func:`canapy.model_ops.compare_models`);
2. starts ``canapy serve --model RUN`` as a real uvicorn process (BLAS pinned to one thread)
   and measures ``POST /annotate`` one request at a time (latency, throughput in files and
   seconds of audio per second), then 4 concurrent requests while ``/health`` is polled
   every 50 ms (its latency), with the server's peak resident memory (VmHWM) and CPU time.

Usage::

    python benchmarks/bench_serve.py [--data ../shared/data] [--workers 2]
        [--json out.json]

The figures, with the commit, CPU, load, thread settings and library versions, go to
``benchmarks/results/serve-<date>.json`` (or ``--json``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_accuracy import DEFAULT_DATA, standard_split
from run_metadata import collect_metadata, write_results

from canapy.audio import audio_info
from canapy.config import config_from_dict
from canapy.corpus import load_corpus
from canapy.model_ops import compare_models
from canapy.workflow import train


def _proc_status(pid: int) -> dict[str, float]:
    """Peak/current RSS (MiB) and CPU seconds of a process, from /proc."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return {
        "peak_rss_mb": int(fields["VmHWM"].split()[0]) / 1024,
        "rss_mb": int(fields["VmRSS"].split()[0]) / 1024,
        "cpu_s": (int(stat[11]) + int(stat[12])) / tick,
    }


def _children(pid: int) -> list[int]:
    """Process ids of the direct children of ``pid`` (the annotation workers)."""
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        out.extend(int(c) for c in text)
    return out


def _tree_status(pid: int) -> dict[str, float]:
    """Server and worker processes: peak RSS of each summed, CPU seconds summed."""
    parts = [_proc_status(p) for p in [pid, *_children(pid)]]
    return {
        "server_peak_rss_mb": parts[0]["peak_rss_mb"],
        "workers_peak_rss_mb": [round(p["peak_rss_mb"], 1) for p in parts[1:]],
        "total_peak_rss_mb": round(sum(p["peak_rss_mb"] for p in parts), 1),
        "cpu_s": sum(p["cpu_s"] for p in parts),
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _summary(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    return {
        "n": len(values),
        "mean_ms": round(1000 * statistics.fmean(values), 1),
        "median_ms": round(1000 * statistics.median(values), 1),
        "p95_ms": round(1000 * values[min(len(values) - 1, int(0.95 * len(values)))], 1),
        "max_ms": round(1000 * values[-1], 1),
    }


def train_and_compare(data: Path, work: Path) -> tuple[Path, dict, list[Path]]:
    """Train ensemble + logreg on the training day; score both on the test day."""
    folder, train_files, test_files = standard_split("gy6or6", data)
    corpus = load_corpus(folder)
    cfg = config_from_dict(
        {
            "training": {
                "models": ["syntactic", "nonsyntactic", "ensemble", "logreg"],
                "default_model": "ensemble",
                "validation_fraction": 0.0,
            }
        }
    )
    t0, c0 = time.perf_counter(), time.process_time()
    result = train(corpus.subset(train_files), cfg, work / "run", work / "cache")
    train_wall, train_cpu = time.perf_counter() - t0, time.process_time() - c0
    test = corpus.subset(test_files)
    sources = [str(work / "run" / kind) for kind in ("ensemble", "syntactic", "logreg")]
    comparison = compare_models(sources, test, cache_dir=work / "cache")
    scores = {
        label: {k: round(v, 4) for k, v in row.items()}
        for label, row in comparison.summary_table().to_dict("index").items()
    }
    f1 = comparison.f1_table().round(3)
    accuracy = {
        "split": "gy6or6: train day 23-03-12 (10 files), test day 24-03-12 (10 files)",
        "train_wall_s_all_kinds": round(train_wall, 1),
        "train_cpu_s_all_kinds": round(train_cpu, 1),
        "test_scores": scores,
        "per_class_f1": {c: f1[c].dropna().to_dict() for c in f1.columns},
    }
    return result.run_dir, accuracy, test_files


def bench_service(run_dir: Path, files: list[Path], workers: int, cache: Path) -> dict:
    """Start a real server and measure it."""
    port = _free_port()
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    cmd = [sys.executable, "-m", "canapy", "serve", "--model", str(run_dir), "--port", str(port)]
    cmd += ["--workers", str(workers), "--cache-dir", str(cache)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        idle = _tree_status(proc.pid)
        health_idle = []
        for _ in range(20):
            t = time.perf_counter()
            httpx.get(f"{url}/health", timeout=10).raise_for_status()
            health_idle.append(time.perf_counter() - t)
            time.sleep(0.05)
        bodies = {f: f.read_bytes() for f in files}
        audio_s = {f: audio_info(f)[1] for f in files}

        def annotate(f: Path) -> float:
            t0 = time.perf_counter()
            r = httpx.post(f"{url}/annotate", files={"audio": (f.name, bodies[f])}, timeout=600)
            r.raise_for_status()
            return time.perf_counter() - t0

        annotate(files[0])  # load the model, warm the feature cache of the first file
        warm = _tree_status(proc.pid)
        t0 = time.perf_counter()
        sequential = [annotate(f) for f in files]
        seq_wall = time.perf_counter() - t0
        after_seq = _tree_status(proc.pid)

        health: list[float] = []
        stop = threading.Event()

        def poll() -> None:
            while not stop.is_set():
                t = time.perf_counter()
                httpx.get(f"{url}/health", timeout=10).raise_for_status()
                health.append(time.perf_counter() - t)
                time.sleep(0.05)

        poller = threading.Thread(target=poll)
        poller.start()
        burst = files[-4:]
        latencies: list[float] = []
        t0 = time.perf_counter()
        threads = [
            threading.Thread(target=lambda f=f: latencies.append(annotate(f))) for f in burst
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        burst_wall = time.perf_counter() - t0
        stop.set()
        poller.join()
        after_burst = _tree_status(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    total_audio = sum(audio_s.values())
    return {
        "workers": workers,
        "isolation": "worker processes (spawn)",
        "memory_peak_rss_mb (server process + each worker)": {
            "idle_after_start": idle,
            "after_model_load_and_one_file": warm,
            "after_sequential": after_seq,
            "after_4_concurrent": after_burst,
        },
        "sequential_annotate": {
            "files": len(files),
            "audio_s": round(total_audio, 1),
            "latency": _summary(sequential),
            "files_per_s": round(len(files) / seq_wall, 3),
            "audio_s_per_s": round(total_audio / seq_wall, 2),
            "server_and_workers_cpu_s": round(after_seq["cpu_s"] - warm["cpu_s"], 1),
            "wall_s": round(seq_wall, 1),
        },
        "health_idle": _summary(health_idle),
        "concurrent_4_annotate": {
            "latency": _summary(latencies),
            "wall_s": round(burst_wall, 1),
            "audio_s": round(sum(audio_s[f] for f in burst), 1),
            "server_and_workers_cpu_s": round(after_burst["cpu_s"] - after_seq["cpu_s"], 1),
            "health_during": _summary(health),
            "health_under_100ms_fraction": round(sum(h < 0.1 for h in health) / len(health), 3),
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, help="default: benchmarks/results/serve-<date>.json")
    args = parser.parse_args(argv)
    meta = collect_metadata()
    from threadpoolctl import threadpool_limits

    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp, threadpool_limits(1):
        work = Path(tmp)
        run_dir, accuracy, test_files = train_and_compare(args.data, work)
        print(json.dumps(accuracy["test_scores"], indent=2))
        service = bench_service(run_dir, test_files, args.workers, work / "cache")
    out = {
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "niceness": os.nice(0),
        "python": platform.python_version(),
        "model_served": "ensemble (default config), gy6or6 training day",
        "accuracy": accuracy,
        "service": service,
        "bench_process_peak_rss_mb": round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
        ),
    }
    print(json.dumps(service, indent=2))
    print(f"written {write_results('serve', out, args.json, meta)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
