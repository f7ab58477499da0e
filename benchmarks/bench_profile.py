"""Where the time of ``canapy train`` and ``canapy annotate`` goes (cProfile, by part).

Each step is a fresh ``canapy`` process run under ``python -m cProfile`` with one pipeline
thread (``CANAPY_PIPELINE_THREADS=1``: cProfile sees only the main thread, so all the work
must run there) and an empty feature cache, on Koumura Bird0:

- ``train-60``: ``canapy train`` on the 60 files (default config);
- ``annotate-30-ensemble``: ``canapy annotate --model ensemble`` of ``Bird0_30``-``Bird0_59``
  with that run.

The profile is split into parts, each from named functions (see :data:`PARTS`): the
reservoir's sparse kernel and the rest of its loop, ``XᵀX``, the FFTs and the rest of the
features, imports, and everything else. Profiling slows Python-level code more than the
kernels, so the shares, not the totals, are what to read; ``bench_speed.py`` gives the
unprofiled times.

Usage: ``python benchmarks/bench_profile.py [--data ../shared/data] [--json out.json]``;
the result goes to ``benchmarks/results/profile-<date>.json``.
"""

from __future__ import annotations

import argparse
import os
import pstats
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench_speed import DEFAULT_DATA, audio_seconds, link_files
from run_metadata import canapy_command, collect_metadata, write_results


@dataclass(frozen=True)
class Part:
    """A share of the profile: ``column`` (``tottime`` or ``cumtime``) summed over the
    functions called ``function`` in a file ending with ``file`` (for built-ins: whose
    description contains ``function``), less the part ``minus`` nested inside them."""

    label: str
    column: str
    function: str
    file: str | None = None
    minus: Part | None = None

    def seconds(self, stats: pstats.Stats) -> float:
        """This part's seconds in ``stats`` (the nested part excluded)."""
        index = 2 if self.column == "tottime" else 3
        total = 0.0
        for (filename, _line, name), row in stats.stats.items():  # type: ignore[attr-defined]
            named = (self.function in name) if filename == "~" else (name == self.function)
            in_file = self.file is None or filename.replace(os.sep, "/").endswith(self.file)
            if named and in_file:
                total += row[index]
        return total - (self.minus.seconds(stats) if self.minus else 0.0)


_KERNEL = Part("reservoir: sparse kernel (csr_matvecs)", "tottime", "csr_matvecs")
_FFT = Part("FFT", "tottime", "pocketfft")
PARTS = (
    _KERNEL,
    Part(
        "reservoir: rest of the loop (input drive, tanh, leak, copies)",
        "cumtime",
        "_run_pieces",
        "canapy/reservoir.py",
        minus=_KERNEL,
    ),
    Part("XᵀX (syrk)", "tottime", "_gram", "canapy/models.py"),
    _FFT,
    Part(
        "features: mel, deltas, noise floor",
        "cumtime",
        "compute_features",
        "canapy/features.py",
        minus=_FFT,
    ),
    Part("imports", "cumtime", "_find_and_load"),
)
"""The parts the profile is split into, in the table's order."""


def breakdown(profile: Path) -> dict[str, float]:
    """Seconds per part of :data:`PARTS`, ``other`` and ``total`` for a cProfile file."""
    stats = pstats.Stats(str(profile))
    parts = {part.label: part.seconds(stats) for part in PARTS}
    total = stats.total_tt  # type: ignore[attr-defined]
    parts["other (readouts, decoding, I/O, Python)"] = total - sum(parts.values())
    parts["total (profiled)"] = total
    return {k: round(v, 2) for k, v in parts.items()}


def profile_process(args: list[str], out: Path) -> dict:
    """Run ``canapy ARGS`` under cProfile into ``out``; its wall time and parts."""
    cmd = canapy_command(*args)
    cmd[2:2] = ["-m", "cProfile", "-o", str(out)]  # python -P -m cProfile -o OUT -m canapy
    env = {**os.environ, "CANAPY_PIPELINE_THREADS": "1"}
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    return {
        "command": "canapy " + " ".join(args),
        "wall_s": round(wall, 2),
        "parts_s": breakdown(out),
    }


def main(argv: list[str] | None = None) -> int:
    """Profile the two steps, print the parts and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--json", type=Path, help="default: benchmarks/results/profile-<date>.json")
    args = parser.parse_args(argv)
    koumura = args.data / "bengalese_finch" / "koumura_bird0"
    if not koumura.is_dir():
        print(f"{koumura} not found", file=sys.stderr)
        return 2
    meta = collect_metadata()
    names = [f"Bird0_{i}" for i in range(60)]
    steps: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="canapy-profile-") as tmp:
        work = Path(tmp)
        corpus = link_files(koumura, names, work / "k60", True)
        audio = link_files(koumura, names[30:], work / "k30", False)
        run = work / "run"
        train = ["train", str(corpus), "-o", str(run), "--quiet", "--cache-dir", str(work / "c1")]
        steps["train-60"] = profile_process(train, work / "train.prof")
        steps["train-60"]["audio_s"] = round(audio_seconds(corpus), 1)
        annotate = [
            "annotate",
            str(run),
            str(audio),
            "-o",
            str(work / "out"),
            "--quiet",
            "--model",
            "ensemble",
            "--cache-dir",
            str(work / "c2"),
        ]
        steps["annotate-30-ensemble"] = profile_process(annotate, work / "annotate.prof")
        steps["annotate-30-ensemble"]["audio_s"] = round(audio_seconds(audio), 1)
    for step, res in steps.items():
        print(f"{step} (profiled wall {res['wall_s']} s):")
        for part, seconds in res["parts_s"].items():
            print(f"  {part:<64}{seconds:>8.2f} s")
    path = write_results("profile", {"pipeline_threads": 1, "steps": steps}, args.json, meta)
    print(f"written {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
