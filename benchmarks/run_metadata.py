"""What a benchmark result must say about where it was measured (shared by the benchmarks).

Commit, CPU model and core count, machine load, thread settings, Python and library
versions, the command line: timing figures mean little without them, and the machine is
often shared. Every benchmark writes its result through :func:`write_results` into
``benchmarks/results/``; ``benchmarks/make_tables.py`` builds the README/docs tables from
those files and nothing else.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import resource
import shlex
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from canapy.io_utils import atomic_write_text
from canapy.persistence import library_versions

RESULTS_DIR = Path(__file__).resolve().parent / "results"
EXTRA_LIBRARIES = ("canapy", "soundfile", "threadpoolctl")
THREAD_VARIABLES = (
    "CANAPY_THREADS",
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "PYTHONDONTWRITEBYTECODE",
)


def canapy_command(*args: str) -> list[str]:
    """``python -P -m canapy ARGS``: the ``canapy`` this benchmark imports.

    ``-P`` keeps the working directory off ``sys.path``: run from a checkout, ``-m`` would
    otherwise import that checkout's ``canapy`` before the one ``PYTHONPATH`` names (how an
    older commit is measured), and time the wrong code.
    """
    return [sys.executable, "-P", "-m", "canapy", *args]


def _code_root() -> Path:
    """The checkout of the ``canapy`` package measured (``PYTHONPATH`` may name another)."""
    import canapy

    return Path(canapy.__file__).resolve().parents[1]


def _commit(root: Path | None = None) -> str:
    root = Path(__file__).resolve().parents[1] if root is None else root
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "describe", "--always", "--dirty", "--abbrev=12"],
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _versions() -> dict[str, str]:
    out = library_versions()  # the libraries every model's metadata records
    for name in EXTRA_LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _blas() -> list[dict]:
    from threadpoolctl import threadpool_info

    keep = ("internal_api", "num_threads", "version", "architecture")
    return [{k: pool.get(k) for k in keep} for pool in threadpool_info()]


def _repo_relative(argv: list[str]) -> list[str]:
    """``argv`` with the script given relative to the repository root (portable commands)."""
    root = Path(__file__).resolve().parents[1]
    out = list(argv)
    if out and Path(out[0]).resolve().is_relative_to(root):
        out[0] = str(Path(out[0]).resolve().relative_to(root))
    return out


def cpu_seconds() -> float:
    """User + system CPU time of this process so far (wall time misleads on a busy machine)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def score_row(summary: dict) -> dict:
    """The accuracy figures of an ``EvaluationResult.summary()``, rounded for a result file."""
    return {
        key: round(summary[key], 4)
        for key in ("frame_accuracy", "syllable_error_rate", "onset_f1", "offset_f1")
    }


def collect_metadata() -> dict:
    """Command line, commit, machine, load, threads and library versions (JSON-ready)."""
    code = _code_root()
    return {
        "date_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": shlex.join(["python", *_repo_relative(sys.argv)]),
        "commit": _commit(code),  # the code measured
        "benchmark_commit": _commit(),  # this script's checkout
        "code": str(code),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "nice": os.nice(0),
        "platform": platform.platform(),
        "thread_settings": {v: os.environ.get(v) for v in THREAD_VARIABLES},
        "blas_pools": _blas(),
        "libraries": _versions(),
    }


def write_results(
    name: str, payload: dict, path: Path | None = None, meta: dict | None = None
) -> Path:
    """Write ``payload`` and ``meta`` to ``path`` or ``results/<name>-<date>.json``.

    ``meta`` should be :func:`collect_metadata` taken when the benchmark started (the
    commit measured); it is collected now if not given.
    """
    if path is None:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        path = RESULTS_DIR / f"{name}-{stamp}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"benchmark": name, "metadata": meta or collect_metadata(), **payload}
    atomic_write_text(path, json.dumps(document, indent=2) + "\n")
    return path
