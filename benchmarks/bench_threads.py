"""BLAS / OpenMP threads: ``canapy train`` with Canapy's choice and with 2 threads, on a
quiet machine and while another process keeps every core busy.

``canapy.threads`` runs the numerical work with one BLAS thread unless ``CANAPY_THREADS``
says otherwise. This benchmark checks that choice where it matters to a user: each run is a
fresh ``canapy train`` process on the gy6or6 day-1 files (day 23-03-12, 10 files; Nicholson,
Queen & Sober 2017, figshare 10.6084/m9.figshare.4805749, CC BY 4.0), default config, with
an empty feature cache, timed for wall and CPU time (user + system of the child):

- ``canapy``: ``CANAPY_THREADS`` unset (Canapy's choice, 1 thread);
- ``2-threads``: ``CANAPY_THREADS=2``;

each ``quiet`` (nothing started by the benchmark) and ``busy`` (one CPU-burning process
per core, a numpy loop on one thread each, started before the run and stopped after it).
The other users of a shared machine are not controlled: the load average is recorded
before each run.

Usage::

    python benchmarks/bench_threads.py [--data ../shared/data] [--repeat 1] [--json out.json]

The figures go to ``benchmarks/results/threads-<date>.json`` (or ``--json``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_speed import audio_seconds, link_files, run_process
from run_metadata import collect_metadata, write_results

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
GY6OR6 = Path("bengalese_finch") / "bfsongrepo_gy6or6"
DAY_1 = "gy6or6_baseline_230312_"
SETTINGS = {"canapy": None, "2-threads": "2"}
"""Setting name -> value of ``CANAPY_THREADS`` (None: unset, Canapy's choice)."""
BURN = (
    "import numpy as np\n"
    "a = np.random.default_rng(0).random((200, 200))\n"
    "while True:\n"
    "    a = np.tanh(a @ a.T / 200.0)\n"
)
"""A process that keeps one core busy until it is stopped (numpy, one BLAS thread)."""


class Burners:
    """One CPU-burning child process per core while the ``with`` block runs."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.procs: list[subprocess.Popen] = []

    def __enter__(self) -> Burners:
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
        self.procs = [
            subprocess.Popen([sys.executable, "-c", BURN], env=env) for _ in range(self.n)
        ]
        time.sleep(1.0)  # let them reach the loop before the timed run starts
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            proc.wait()


def train_once(corpus: Path, work: Path, tag: str, threads: str | None) -> dict:
    """One timed ``canapy train`` process with ``CANAPY_THREADS`` set to ``threads``."""
    env = {k: v for k, v in os.environ.items() if k != "CANAPY_THREADS"}
    if threads is not None:
        env["CANAPY_THREADS"] = threads
    load = [round(x, 2) for x in os.getloadavg()]
    args = ["train", str(corpus), "-o", str(work / f"run-{tag}"), "--quiet"]
    res = run_process([*args, "--cache-dir", str(work / f"cache-{tag}")], env)
    res.pop("stdout_tail")
    res["load_average_before"] = load
    res["CANAPY_THREADS"] = threads
    return res


def main(argv: list[str] | None = None) -> int:
    """Run the four (setting, machine) cases ``--repeat`` times, print and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--json", type=Path, help="default: benchmarks/results/threads-<date>.json")
    args = parser.parse_args(argv)
    source = args.data / GY6OR6
    if not source.is_dir():
        print(f"data folder {source} not found", file=sys.stderr)
        return 2
    names = sorted(p.stem for p in source.glob(f"{DAY_1}*.wav"))
    meta = collect_metadata()
    cores = os.cpu_count() or 1
    cases: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="canapy-threads-") as tmp:
        work = Path(tmp)
        corpus = link_files(source, names, work / "day1", True)
        audio = round(audio_seconds(corpus), 1)
        for rep in range(args.repeat):
            for machine in ("quiet", "busy"):
                for setting, threads in SETTINGS.items():
                    tag = f"{machine}-{setting}-{rep}"
                    if machine == "busy":
                        with Burners(cores):
                            res = train_once(corpus, work, tag, threads)
                    else:
                        res = train_once(corpus, work, tag, threads)
                    cases.append({"machine": machine, "setting": setting, "repeat": rep, **res})
                    print(
                        f"{machine:<6}{setting:<11}wall {res['wall_s']:>7.2f} s  "
                        f"CPU {res['cpu_s']:>7.2f} s  load {res['load_average_before']}"
                    )
    payload = {
        "data": f"{GY6OR6} day 23-03-12 ({len(names)} files, {audio:g} s of audio)",
        "train_files": len(names),
        "audio_s": audio,
        "busy_processes": cores,
        "cases": cases,
    }
    print(f"written {write_results('threads', payload, args.json, meta)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
