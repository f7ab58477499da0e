"""Speed of ``canapy train`` and ``canapy annotate`` as a user runs them: whole processes.

Each step is a fresh ``canapy`` process (start-up, imports and model loading included),
timed for wall time, CPU time (user + system, from the child's resource usage) and peak
resident memory. Feature caches start empty where a user pays for them: training a new
corpus, annotating new recordings.

Steps (Koumura Bird0; Koumura & Okanoya 2016, figshare 10.6084/m9.figshare.3470165):

- ``train-60``: ``canapy train`` on the 60 files (default config: held-out measurement,
  syntactic + non-syntactic + ensemble models);
- ``annotate-30``: ``canapy annotate`` of ``Bird0_30``-``Bird0_59`` (311 s of audio) with
  that run's default model (chosen on its held-out files); ``annotate-30-ensemble`` and
  ``annotate-30-syntactic`` with ``--model ensemble`` / ``--model syntactic``;
- ``train-40`` / ``annotate-20``: the standard split (train 0-39, annotate 40-59);
- ``example``: ``canapy example`` then ``canapy train`` on it.

The original canapy's figures are quoted beside ours, not re-measured here: 8.6 s to fit
on the 60 Koumura files and 3.75 s to predict 30 of them (in-process), as measured with the
original code on a quiet 2-core machine and reported in Canapy issue 9.

Usage::

    python benchmarks/bench_speed.py [--data ../shared/data] [--json out.json]
        [--steps train-60,annotate-30,...] [--variant LABEL]

The "before" figures in ``docs/benchmarks.md`` come from an older checkout of the code::

    git worktree add ../before c79a8c6
    PYTHONPATH=../before python benchmarks/bench_speed.py --variant before-c79a8c6

The ``canapy`` processes run with ``python -P`` so that ``PYTHONPATH`` decides which code is
timed, and the result's ``metadata.commit`` is that code's commit (``benchmark_commit`` is
this script's).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import soundfile as sf
from run_metadata import canapy_command, collect_metadata, write_results

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
ALL_STEPS = (
    "train-60",
    "annotate-30",
    "annotate-30-ensemble",
    "annotate-30-syntactic",
    "train-40",
    "annotate-20",
    "example",
)
ORIGINAL_CANAPY = {
    "source": "Canapy issue 9, measured with the original canapy (birds-canopy/canapy) on a "
    "quiet 2-core machine, in-process",
    "fit_60_koumura_s": 8.6,
    "predict_30_koumura_s": 3.75,
}


def link_files(src: Path, names: list[str], dest: Path, with_labels: bool) -> Path:
    """A folder of symbolic links to ``names`` (+ their .csv) of ``src``; data is not copied."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in names:
        exts = (".wav", ".csv") if with_labels else (".wav",)
        for ext in exts:
            (dest / f"{name}{ext}").symlink_to(src / f"{name}{ext}")
    return dest


def audio_seconds(folder: Path) -> float:
    """Total duration of the .wav files of ``folder``."""
    return sum(sf.info(str(p)).duration for p in folder.glob("*.wav"))


def run_process(args: list[str], env: dict[str, str]) -> dict:
    """Run ``canapy args`` and return wall time, CPU time, peak RSS and the exit status."""
    cmd = canapy_command(*args)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    stdout, stderr = proc.stdout.read(), proc.stderr.read()  # small: --quiet
    proc.stdout.close()
    proc.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({code}):\n{stderr.decode()[-2000:]}")
    return {
        "command": "canapy " + " ".join(args),
        "wall_s": round(wall, 2),
        "cpu_user_s": round(usage.ru_utime, 2),
        "cpu_system_s": round(usage.ru_stime, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 0),
        "stdout_tail": stdout.decode()[-600:],
    }


def run_steps(steps: list[str], data: Path, work: Path, env: dict[str, str]) -> dict:
    """Run the requested steps in order (annotation steps train their model first)."""
    koumura = data / "bengalese_finch" / "koumura_bird0"
    names = [f"Bird0_{i}" for i in range(60)]
    results: dict[str, dict] = {}

    def cache(tag: str) -> list[str]:
        return ["--cache-dir", str(work / f"cache-{tag}")]  # a new, empty cache per step

    def train(tag: str, folder: Path, run: Path) -> dict:
        return run_process(["train", str(folder), "-o", str(run), "--quiet", *cache(tag)], env)

    corpus60 = link_files(koumura, names, work / "k60", True)
    corpus40 = link_files(koumura, names[:40], work / "k40", True)
    audio30 = link_files(koumura, names[30:], work / "k30", False)
    audio20 = link_files(koumura, names[40:], work / "k20", False)
    run60, run40 = work / "run60", work / "run40"
    for step in steps:
        if step == "train-60" or (step.startswith("annotate-30") and not run60.exists()):
            res = train(step, corpus60, run60)
            res["audio_s"] = round(audio_seconds(corpus60), 1)
            results.setdefault("train-60", res)
        if step == "train-40" or (step == "annotate-20" and not run40.exists()):
            res = train(step, corpus40, run40)
            res["audio_s"] = round(audio_seconds(corpus40), 1)
            results.setdefault("train-40", res)
        if step.startswith("annotate"):
            run, audio = (run40, audio20) if step == "annotate-20" else (run60, audio30)
            model = step.rsplit("-", 1)[1]
            extra = ["--model", model] if model in ("syntactic", "ensemble") else []
            out = work / f"out-{step}"
            res = run_process(
                ["annotate", str(run), str(audio), "-o", str(out), "--quiet", *cache(step), *extra],
                env,
            )
            res["audio_s"] = round(audio_seconds(audio), 1)
            res["x_real_time_wall"] = round(res["audio_s"] / res["wall_s"], 1)
            res["x_real_time_cpu"] = round(res["audio_s"] / max(res["cpu_s"], 1e-9), 1)
            results[step] = res
        if step == "example":
            folder = work / "example"
            made = run_process(["example", str(folder)], env)
            res = train("example", folder, work / "run-example")
            res["example_s"] = made["wall_s"]
            res["audio_s"] = round(audio_seconds(folder), 1)
            results["example"] = res
    return results


def main(argv: list[str] | None = None) -> int:
    """Run the speed benchmark, print a table and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--steps", default=",".join(ALL_STEPS))
    parser.add_argument("--json", type=Path, help="default: benchmarks/results/speed-<date>.json")
    parser.add_argument(
        "--variant",
        help="label of the code measured when it is not this checkout's (e.g. before-1535a18, "
        "with PYTHONPATH pointing at that checkout)",
    )
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"data folder {args.data} not found", file=sys.stderr)
        return 2
    steps = args.steps.split(",")
    unknown = sorted(set(steps) - set(ALL_STEPS))
    if unknown:
        parser.error(f"unknown steps {unknown}; choose from {list(ALL_STEPS)}")
    env = dict(os.environ)
    meta = collect_metadata()
    load_before = [round(x, 2) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory(prefix="canapy-speed-") as tmp:
        results = run_steps(steps, args.data, Path(tmp), env)
    load_after = [round(x, 2) for x in os.getloadavg()]
    print(f"{'step':<24}{'wall s':>9}{'CPU s':>9}{'peak MiB':>10}{'x RT (wall)':>13}")
    for step, r in results.items():
        xrt = r.get("x_real_time_wall", "")
        print(f"{step:<24}{r['wall_s']:>9.2f}{r['cpu_s']:>9.2f}{r['peak_rss_mb']:>10.0f}{xrt:>13}")
    print(
        f"original canapy (issue 9, in-process): fit 60 files "
        f"{ORIGINAL_CANAPY['fit_60_koumura_s']} s, predict 30 files "
        f"{ORIGINAL_CANAPY['predict_30_koumura_s']} s; load average {load_before} -> {load_after}"
    )
    path = write_results(
        "speed",
        {
            "load_average_before": load_before,
            "load_average_after": load_after,
            "original_canapy": ORIGINAL_CANAPY,
            "steps": results,
            **({"variant": args.variant} if args.variant else {}),
        },
        args.json,
        meta,
    )
    print(f"written {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
