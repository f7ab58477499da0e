"""Memory and speed of `canapy annotate` on hours-long recordings; streaming and Dask checks.

Builds long recordings in a temporary folder (never in the repository) by joining real
song, the test files of the Koumura Bird0 split (``../shared/data``), with stretches of
each file's own background noise (its unlabelled stretches, tiled), so that about a fifth
of the recording is song, as in a lab recording. Then:

1. trains the default annotators on the Bird0 training split (``canapy train``);
2. for each length (1 min ... 4 h): ``canapy annotate`` in a child process, with and
   without the activity gate: peak RSS, wall and CPU time, speed × real time, and the
   fraction of hand-labelled song segments inside the stretches the gate keeps;
3. streaming vs whole-file annotation of the 20 shared test files (gate off);
4. ``--workers 2`` vs one process: annotation files compared byte for byte, the readouts of
   ``canapy train --workers 2`` compared with the single-process ones, speed-up.

Results go to ``benchmarks/results/long-<date>.json`` (commit, CPU, threads, versions),
rewritten after each step so that a stopped run keeps what it measured. The machine may
be shared: CPU time is reported next to wall time.

Usage::

    python benchmarks/bench_long.py [--lengths 60,600,7200,14400] [--ungated 60,600]
        [--skip-dask] [--skip-equivalence]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
from run_metadata import RESULTS_DIR, collect_metadata, write_results

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "bengalese_finch" / "koumura_bird0"
THREAD_ENV = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def run_child(args: list[str]) -> dict:
    """Run ``canapy ARGS`` niced in a child process; its peak RSS, wall and CPU time."""
    cmd = ["nice", "-n", "10", sys.executable, "-m", "canapy", *args]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env={**os.environ, **THREAD_ENV}, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {err[-2000:]}")
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
    }


def song_and_noise(path: Path) -> tuple[np.ndarray, pd.DataFrame, np.ndarray, int]:
    """A file's samples, its segments, and its background noise (outside song, ±0.3 s)."""
    y, sr = sf.read(path, dtype="float32")
    segs = pd.read_csv(path.with_suffix(".csv"), dtype={"syll": str})
    quiet = np.ones(len(y), bool)
    for on, off in zip(segs["start"], segs["end"], strict=True):
        quiet[max(0, int((on - 0.3) * sr)) : int((off + 0.3) * sr)] = False
    return y, segs, y[quiet], sr


def build_recording(out: Path, seconds: float, files: list[Path], seed: int = 0) -> pd.DataFrame:
    """Write a ``seconds`` long PCM-16 WAV of song files and noise; its song segments."""
    rng = np.random.default_rng(seed)
    parts = [song_and_noise(p) for p in files]
    sr = parts[0][3]
    total = int(seconds * sr)
    written, k, rows = 0, 0, []
    with sf.SoundFile(out, "w", sr, 1, subtype="PCM_16") as fh:
        while written < total:
            y, segs, noise, _ = parts[k % len(parts)]
            k += 1
            gap = int(rng.uniform(15.0, 60.0) * sr)  # noise before each song file
            reps = np.tile(noise, gap // max(1, len(noise)) + 1)[:gap]
            chunk = np.concatenate([reps, y])[: total - written]
            fh.write(chunk)
            t0 = (written + gap) / sr
            for on, off, lab in zip(segs["start"], segs["end"], segs["syll"], strict=True):
                if (written + gap) + off * sr <= total:
                    rows.append((t0 + on, t0 + off, lab))
            written += len(chunk)
    return pd.DataFrame(rows, columns=["onset_s", "offset_s", "label"])


def corpus_dir(tmp: Path, name: str, files: list[Path]) -> Path:
    """A folder of symbolic links to audio files and their annotations."""
    folder = tmp / name
    folder.mkdir()
    for f in files:
        (folder / f.name).symlink_to(f)
        (folder / f.with_suffix(".csv").name).symlink_to(f.with_suffix(".csv"))
    return folder


def gate_recall(run: Path, wav: Path, truth: pd.DataFrame) -> dict:
    """Fraction of hand-labelled segments inside the kept stretches; kept fraction."""
    from canapy.activity import region_recall
    from canapy.streaming import plan_file
    from canapy.workflow import load_default_annotator, load_run_gate

    ann = load_default_annotator(run)
    plan = plan_file(wav, ann.sample_rate, ann.config.features, load_run_gate(run))
    return {
        "segments": len(truth),
        "recall": round(
            region_recall(plan.regions, truth["onset_s"], truth["offset_s"], ann.hop_s), 5
        ),
        "kept_fraction": round(plan.active_fraction, 4),
    }


def streaming_vs_whole(run: Path, files: list[Path]) -> dict:
    """Segments of whole-file vs streamed (gate off) annotation of each file."""
    from canapy.streaming import annotate_stream
    from canapy.workflow import load_default_annotator, predict_files

    ann = load_default_annotator(run)
    whole = predict_files(ann, files)
    same, agree, frames = 0, 0, 0
    for f in files:
        a, b = whole[str(f)], annotate_stream(ann, f)
        same += int(a.drop(columns="confidence").equals(b.drop(columns="confidence")))
        n = int(sf.info(f).frames / sf.info(f).samplerate / ann.hop_s) + 1
        la, lb = np.zeros(n, object), np.zeros(n, object)
        for lab, segs in ((la, a), (lb, b)):
            for on, off, name in segs[["onset_s", "offset_s", "label"]].itertuples(index=False):
                lab[round(on / ann.hop_s) : round(off / ann.hop_s)] = name
        agree += int((la == lb).sum())
        frames += n
    return {"files": len(files), "identical_files": same, "frame_agreement": agree / frames}


def readouts_equal(run_a: Path, run_b: Path) -> dict:
    """Largest difference between the readouts of two runs, relative to their scale."""
    from canapy.workflow import load_annotators

    out = {}
    a, b = load_annotators(run_a), load_annotators(run_b)
    for kind in ("syntactic", "nonsyntactic"):
        if kind in a:
            wa, wb = a[kind].estimator.Wout_, b[kind].estimator.Wout_
            out[kind] = float(np.abs(wa - wb).max() / np.abs(wa).max())
    return out


def same_bytes(a: Path, b: Path) -> bool:
    names = sorted(p.name for p in a.iterdir())
    return names == sorted(p.name for p in b.iterdir()) and all(
        (a / n).read_bytes() == (b / n).read_bytes() for n in names
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", default="60,600,7200,14400", help="seconds, gate on")
    parser.add_argument("--ungated", default="60,600", help="seconds, gate off")
    parser.add_argument("--skip-dask", action="store_true")
    parser.add_argument("--skip-equivalence", action="store_true")
    parser.add_argument("--run", help="use this trained run folder instead of training one")
    parser.add_argument("--json", type=Path, help="default: benchmarks/results/long-<date>.json")
    args = parser.parse_args()
    meta = collect_metadata()
    result: dict = {"recordings": []}
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    out_json = args.json or RESULTS_DIR / f"long-{stamp}.json"

    def save() -> None:
        write_results("long", result, out_json, meta)

    train = [DATA / f"Bird0_{i}.wav" for i in range(40)]
    test = [DATA / f"Bird0_{i}.wav" for i in range(40, 60)]
    with tempfile.TemporaryDirectory(prefix="canapy-bench-long-") as tmp_name:
        tmp = Path(tmp_name)
        cache = tmp / "cache"
        run = Path(args.run) if args.run else tmp / "run"
        train_dir = corpus_dir(tmp, "train", train)
        if not args.run:
            result["train"] = run_child(
                ["train", str(train_dir), "-o", str(run), "--quiet", "--cache-dir", str(cache)]
            )
            print("trained", result["train"], flush=True)
            save()
        lengths = [float(s) for s in args.lengths.split(",") if s]
        ungated = {float(s) for s in args.ungated.split(",") if s}
        for seconds in sorted(set(lengths) | ungated):
            wav_dir = tmp / f"rec_{int(seconds)}"
            wav_dir.mkdir()
            wav = wav_dir / f"long_{int(seconds)}s.wav"
            truth = build_recording(wav, seconds, test)
            row = {"seconds": seconds, "gate": gate_recall(run, wav, truth)}
            for gated in (True, False):
                if (gated and seconds not in lengths) or (not gated and seconds not in ungated):
                    continue
                out = tmp / f"out_{int(seconds)}_{gated}"
                cmd = ["annotate", str(run), str(wav_dir), "-o", str(out), "--quiet", "--no-cache"]
                fig = run_child(cmd + ([] if gated else ["--no-gate"]))
                fig["x_real_time"] = round(seconds / fig["wall_s"], 2)
                fig["x_real_time_cpu"] = round(seconds / fig["cpu_s"], 2)
                row["gated" if gated else "ungated"] = fig
                print(int(seconds), "gated" if gated else "ungated", fig, flush=True)
            wav.unlink()
            result["recordings"].append(row)
            save()
        if not args.skip_equivalence:
            result["streaming_vs_whole"] = streaming_vs_whole(run, test)
            print("streaming vs whole", result["streaming_vs_whole"], flush=True)
            save()
        if not args.skip_dask:
            test_dir = corpus_dir(tmp, "test", test)
            long_wav = test_dir / "long_600s.wav"
            build_recording(long_wav, 600, test, seed=1)
            one, two = tmp / "ann_1", tmp / "ann_2"
            base = ["annotate", str(run), str(test_dir), "--quiet", "--no-cache", "-o"]
            single = run_child([*base, str(one)])
            dask2 = run_child([*base, str(two), "--workers", "2"])
            run2 = tmp / "run2"  # same data and config as `run`, trained on 2 workers
            base = ["train", str(train_dir), "--quiet", "--cache-dir", str(cache), "-o"]
            train2 = run_child([*base, str(run2), "--workers", "2"])
            result["dask"] = {
                "annotate_single": single,
                "annotate_workers_2": dask2,
                "annotate_speedup_wall": round(single["wall_s"] / dask2["wall_s"], 2),
                "annotation_files_identical": same_bytes(one, two),
                "train_single": result.get("train"),
                "train_workers_2": train2,
                "readout_max_relative_difference": readouts_equal(run, run2),
            }
            print("dask", result["dask"], flush=True)
            save()
    print(f"results in {out_json}")


if __name__ == "__main__":
    main()
