"""Latency, throughput and memory of ``canapy serve``; the logreg kind next to the ESN.

On the gy6or6 standard split (train: day 23-03-12, test: day 24-03-12) it

1. trains the default ESN ensemble and the ``logreg`` kind on the training day and scores
   both on the test day (:func:`canapy.model_ops.compare_models`);
2. starts ``canapy serve --model RUN`` as a real uvicorn process (BLAS pinned to one thread)
   and measures ``POST /annotate`` one request at a time (latency, throughput in files and
   seconds of audio per second), then bursts of 4 concurrent requests;
3. measures ``/health`` latency (median, p95, max over ``--probes`` probes) idle and during
   the bursts, from a separate process holding one keep-alive connection (a probe every
   20 ms), and the peak resident memory (VmHWM) and CPU time of the server and each worker.

The previous version probed with ``httpx.get`` (a new client per probe: an SSL context
built and a connection opened every time, ~30 ms of CPU on this machine, in the same
process as the upload threads); that figure is kept for comparison. Results go through
``run_metadata.write_results`` (commit, machine, load average, thread settings).

Usage::

    python benchmarks/bench_serve.py [--data ../shared/data] [--workers 2] [--probes 150]
        [--run RUN_DIR] [--worker-nice N] [--json out.json]

The figures, with the commit, CPU, load, thread settings and library versions, go to
``benchmarks/results/serve-<date>.json`` (or ``--json``).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
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
from run_metadata import canapy_command, collect_metadata, write_results

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


def _probe(url: str, n: int, interval_s: float, stop, count, out) -> None:
    """``/health`` probes from this (separate) process over ONE keep-alive connection.

    Runs until ``n`` probes are taken and, if ``stop`` is given, until it is set; puts
    ``{"latencies_s", "cpu_s"}`` on ``out``. ``count`` (a shared integer) follows the
    number of probes so the parent knows when it has enough.
    """
    import httpx

    latencies: list[float] = []
    with httpx.Client(base_url=url, timeout=30) as client:  # one TCP connection, reused
        client.get("/health").raise_for_status()  # connect before measuring
        c0 = time.process_time()
        while len(latencies) < n or (stop is not None and not stop.is_set()):
            t = time.perf_counter()
            client.get("/health").raise_for_status()
            latencies.append(time.perf_counter() - t)
            count.value = len(latencies)
            time.sleep(interval_s)
        out.put({"latencies_s": latencies, "cpu_s": time.process_time() - c0})


class HealthProbe:
    """A :func:`_probe` process (spawned: it shares no interpreter with the benchmark)."""

    def __init__(self, url: str, n: int, interval_s: float, until_stopped: bool) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.stop = ctx.Event() if until_stopped else None
        self.count, self.out = ctx.Value("i", 0), ctx.Queue()
        args = (url, n, interval_s, self.stop, self.count, self.out)
        self.proc = ctx.Process(target=_probe, args=args, daemon=True)
        self.proc.start()

    def result(self) -> dict:
        if self.stop is not None:
            self.stop.set()
        found = self.out.get(timeout=600)
        self.proc.join(timeout=60)
        return found


def _health_figures(found: dict) -> dict:
    values = found["latencies_s"]
    return {
        **_summary(values),
        "under_100ms_fraction": round(sum(v < 0.1 for v in values) / len(values), 3),
        "probe_process_cpu_s": round(found["cpu_s"], 2),
    }


def _new_client_per_probe(url: str, n: int) -> list[float]:
    """The previous measurement: ``httpx.get`` per probe (a new client, SSL context and
    connection every time, in the benchmark's own busy process)."""
    out = []
    for _ in range(n):
        t = time.perf_counter()
        httpx.get(f"{url}/health", timeout=30).raise_for_status()
        out.append(time.perf_counter() - t)
        time.sleep(0.05)
    return out


def _process_name(pid: int) -> str:
    cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    if "resource_tracker" in cmd:
        return "multiprocessing resource tracker"
    return "annotation worker" if "multiprocessing" in cmd else cmd[:60]


def _niceness(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


_LAUNCH = """
import sys
from pathlib import Path
import uvicorn
from canapy.service import create_app
from canapy.service_support import ServiceSettings
run, port, workers, cache, nice = sys.argv[1:]
settings = ServiceSettings(
    run_dir=Path(run), workers=int(workers), cache_dir=Path(cache), worker_nice=int(nice)
)
uvicorn.run(create_app(settings), host="127.0.0.1", port=int(port), log_level="warning")
"""
"""``canapy serve --model RUN`` with ``ServiceSettings.worker_nice`` chosen (no CLI option)."""


def bench_service(
    run_dir: Path,
    files: list[Path],
    workers: int,
    cache: Path,
    probes: int,
    worker_nice: int | None = None,
) -> dict:
    """Start a real server and measure it (``worker_nice``: None = the CLI's default)."""
    port = _free_port()
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    cmd = canapy_command("serve", "--model", str(run_dir), "--port", str(port))
    cmd += ["--workers", str(workers), "--cache-dir", str(cache)]
    if worker_nice is not None:
        cmd = [sys.executable, "-c", _LAUNCH, str(run_dir), str(port), str(workers), str(cache)]
        cmd.append(str(worker_nice))
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, timeout=600) as client:
            for _ in range(600):
                try:
                    if client.get("/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            idle = _tree_status(proc.pid)
            health_idle = _health_figures(HealthProbe(url, probes, 0.02, False).result())
            old_way = _summary(_new_client_per_probe(url, 20))
            bodies = {f: f.read_bytes() for f in files}
            audio_s = {f: audio_info(f)[1] for f in files}

            def annotate(f: Path) -> float:
                t0 = time.perf_counter()
                r = client.post("/annotate", files={"audio": (f.name, bodies[f])})
                r.raise_for_status()
                return time.perf_counter() - t0

            annotate(files[0])  # load the model, warm the feature cache of the first file
            warm = _tree_status(proc.pid)
            t0 = time.perf_counter()
            sequential = [annotate(f) for f in files]
            seq_wall = time.perf_counter() - t0
            after_seq = _tree_status(proc.pid)

            # 4 concurrent requests, again and again until the probe process (started
            # first, running all along) has taken `probes` probes.
            probe = HealthProbe(url, probes, 0.02, True)
            while probe.count.value < 3:
                time.sleep(0.05)
            burst = files[-4:]
            latencies: list[float] = []
            bursts = 0
            t0 = time.perf_counter()
            while bursts == 0 or probe.count.value < probes:
                threads = [
                    threading.Thread(target=lambda f=f: latencies.append(annotate(f)))
                    for f in burst
                ]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                bursts += 1
            burst_wall = time.perf_counter() - t0
            health_busy = _health_figures(probe.result())
            after_burst = _tree_status(proc.pid)
            children = _children(proc.pid)
            roles = {str(p): _process_name(p) for p in children}
            nice = {"server": _niceness(proc.pid), **{str(p): _niceness(p) for p in children}}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    total_audio = sum(audio_s.values())
    return {
        "workers": workers,
        "worker_nice": "canapy serve default" if worker_nice is None else worker_nice,
        "isolation": "worker processes (spawn), niced below the server",
        "child_processes": roles,
        "niceness": nice,
        "memory_peak_rss_mb (server process + each child)": {
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
        "health_probe": "a separate process, one keep-alive httpx connection, a probe every "
        "20 ms after the previous answer",
        "health_idle": health_idle,
        "health_idle_new_client_per_probe (the previous method)": old_way,
        "concurrent_4_annotate": {
            "bursts_of_4": bursts,
            "requests": len(latencies),
            "latency": _summary(latencies),
            "wall_s": round(burst_wall, 1),
            "audio_s": round(bursts * sum(audio_s[f] for f in burst), 1),
            "server_and_workers_cpu_s": round(after_burst["cpu_s"] - after_seq["cpu_s"], 1),
            "health_during": health_busy,
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--probes", type=int, default=150, help="/health probes per phase")
    parser.add_argument(
        "--worker-nice",
        type=int,
        help="niceness added to the annotation workers (default: canapy serve's, "
        "canapy.jobs.WORKER_NICE; 0 to measure without it)",
    )
    parser.add_argument(
        "--run",
        type=Path,
        help="serve this run folder (trained on the gy6or6 training day) instead of training "
        "one; skips the accuracy comparison",
    )
    parser.add_argument("--json", type=Path, help="default: benchmarks/results/serve-<date>.json")
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_limits

    meta = collect_metadata()
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp, threadpool_limits(1):
        work = Path(tmp)
        if args.run is None:
            run_dir, accuracy, test_files = train_and_compare(args.data, work)
            print(json.dumps(accuracy["test_scores"], indent=2))
        else:
            run_dir, accuracy = args.run, None
            test_files = standard_split("gy6or6", args.data)[2]
        service = bench_service(
            run_dir, test_files, args.workers, work / "cache", args.probes, args.worker_nice
        )
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
