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
4. ``--workers 2`` vs one process on the same input: 30 Koumura files, and a 2 h recording
   (split into pieces, the tasks); annotation files compared byte for byte; the readouts
   of ``canapy train --workers 2`` compared with the single-process ones; speed-up (wall)
   and the CPU of both.

Results go to ``benchmarks/results/long-<date>.json`` through
``run_metadata.write_results`` (commit, CPU, load, threads, versions); each section also
says when, at what commit and at what load it was measured, because ``--into`` adds
sections to an existing result file. The machine may be shared: CPU time is reported next
to wall time.

Usage::

    python benchmarks/bench_long.py [--lengths 60,600,7200,14400] [--ungated ...]
        [--run RUN] [--skip-dask] [--skip-equivalence] [--into results/long-X.json]
        [--merge results/long-Y.json ...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
from run_metadata import canapy_command, collect_metadata, write_results

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "bengalese_finch" / "koumura_bird0"
THREAD_ENV = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def run_child(args: list[str]) -> dict:
    """Run ``canapy ARGS`` at niceness 10 in a child process; its peak RSS, wall and CPU time.

    Niceness 10 whatever this script's own (``nice`` adds to it: a niced benchmark must not
    starve its children at 19 on a busy machine).
    """
    cmd = ["nice", "-n", str(max(0, 10 - os.nice(0))), *canapy_command(*args)]
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
    from canapy.runs import load_default_annotator
    from canapy.streaming import plan_file
    from canapy.workflow import load_run_gate

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
    from canapy.runs import load_default_annotator
    from canapy.streaming import annotate_stream
    from canapy.workflow import predict_files

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
    from canapy.runs import load_annotators

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


def measured_now() -> dict:
    """When and at what load a section was measured (a result file may gather several runs)."""
    meta = collect_metadata()
    return {k: meta[k] for k in ("date_utc", "commit", "load_average_1_5_15")}


def recordings(run: Path, tmp: Path, test: list[Path], lengths, ungated) -> Iterator[dict]:
    """One table row per recording length: gate recall, gated and ungated figures."""
    for seconds in sorted(set(lengths) | set(ungated)):
        wav_dir = tmp / f"rec_{int(seconds)}"
        wav_dir.mkdir()
        wav = wav_dir / f"long_{int(seconds)}s.wav"
        truth = build_recording(wav, seconds, test)
        row = {"seconds": seconds, "measured": measured_now(), "gate": gate_recall(run, wav, truth)}
        for gated in (True, False):
            if seconds not in (lengths if gated else ungated):
                continue
            out = tmp / f"out_{int(seconds)}_{gated}"
            cmd = ["annotate", str(run), str(wav_dir), "-o", str(out), "--quiet", "--no-cache"]
            fig = run_child(cmd + ([] if gated else ["--no-gate"]))
            fig["x_real_time"] = round(seconds / fig["wall_s"], 2)
            fig["x_real_time_cpu"] = round(seconds / fig["cpu_s"], 2)
            row["gated" if gated else "ungated"] = fig
            print(int(seconds), "gated" if gated else "ungated", fig, flush=True)
        wav.unlink()
        yield row


def dask_comparison(
    run: Path, tmp: Path, out: dict, save, workers: int, long_s: float, train_dir: Path | None
) -> None:
    """One process vs ``workers`` Dask workers: 30 files, a long file, training; into ``out``.

    ``save()`` is called after each case (a busy machine may not let all of them finish).
    """
    files = [DATA / f"Bird0_{i}.wav" for i in range(30, 60)]
    out.update(measured=measured_now(), workers=workers)
    long_dir = tmp / "dask_long"
    long_dir.mkdir()
    build_recording(long_dir / f"long_{int(long_s)}s.wav", long_s, files[10:], seed=1)
    cases = {"files_30": corpus_dir(tmp, "dask_files", files), f"long_{int(long_s)}s": long_dir}
    for name, folder in cases.items():
        one, many = tmp / f"{name}_1", tmp / f"{name}_{workers}"
        base = ["annotate", str(run), str(folder), "--quiet", "--no-cache", "-o"]
        single = run_child([*base, str(one)])
        print(name, "one process", single, flush=True)
        dask = run_child([*base, str(many), "--workers", str(workers)])
        print(name, f"{workers} workers", dask, flush=True)
        out[name] = {
            "single": single,
            "workers": dask,
            "speedup_wall": round(single["wall_s"] / dask["wall_s"], 2),
            "cpu_ratio": round(dask["cpu_s"] / single["cpu_s"], 2),
            "annotation_files_identical": same_bytes(one, many),
        }
        save()
    if train_dir is None:
        return
    cache = tmp / "cache"
    # Both from a warm feature cache (filled by the first run below): the same work.
    base = ["train", str(train_dir), "--quiet", "--cache-dir", str(cache), "-o"]
    run_child([*base, str(tmp / "train_warm_up")])
    single = run_child([*base, str(tmp / "train_1")])
    print("train one process", single, flush=True)
    dask = run_child([*base, str(tmp / f"train_{workers}"), "--workers", str(workers)])
    print(f"train {workers} workers", dask, flush=True)
    out["train"] = {
        "single": single,
        "workers": dask,
        "speedup_wall": round(single["wall_s"] / dask["wall_s"], 2),
        "cpu_ratio": round(dask["cpu_s"] / single["cpu_s"], 2),
        "readout_max_relative_difference": readouts_equal(
            tmp / "train_1", tmp / f"train_{workers}"
        ),
    }
    save()


def merge_results(result: dict, meta: dict, files: list[Path]) -> None:
    """Add the recordings rows and sections of other result files to ``result``."""
    rows = {row["seconds"]: row for row in result.get("recordings", [])}
    for path in files:
        doc = json.loads(path.read_text(encoding="utf-8"))
        for row in doc.get("recordings", []):
            rows.setdefault(row["seconds"], row)
        for key in ("streaming_vs_whole", "dask", "train"):
            if key in doc and key not in result:
                result[key] = doc[key]
        meta.setdefault("merged_from", []).append(
            {"file": path.name, "commit": doc["metadata"]["commit"]}
        )
    result["recordings"] = [rows[k] for k in sorted(rows)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", default="60,600,7200,14400", help="seconds, gate on")
    parser.add_argument("--ungated", default="60,600,7200,14400", help="seconds, gate off")
    parser.add_argument("--skip-dask", action="store_true")
    parser.add_argument("--skip-equivalence", action="store_true")
    parser.add_argument("--workers", type=int, default=2, help="Dask workers to compare")
    parser.add_argument(
        "--dask-long", type=float, default=7200, help="seconds of the long file of the Dask check"
    )
    parser.add_argument("--skip-dask-train", action="store_true")
    parser.add_argument(
        "--merge",
        nargs="*",
        default=[],
        help="long-*.json files measured separately (e.g. lengths run in parallel): their "
        "rows and sections are added, each keeping its own measurement stamp",
    )
    parser.add_argument("--run", help="use this trained run folder instead of training one")
    parser.add_argument(
        "--into", help="add to this result file (its other sections are kept) instead of a new one"
    )
    args = parser.parse_args()
    meta = collect_metadata()
    path = Path(args.into) if args.into else None
    result: dict = {}
    if path is not None:
        previous = json.loads(path.read_text(encoding="utf-8"))
        result = {k: v for k, v in previous.items() if k not in ("benchmark", "metadata")}
        meta = previous["metadata"]
        meta.setdefault("later_commands", []).append(collect_metadata()["command"])

    def save() -> None:
        nonlocal path
        path = write_results("long", result, path=path, meta=meta)

    if args.merge:
        merge_results(result, meta, [Path(f) for f in args.merge])
        save()

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
        ungated = [float(s) for s in args.ungated.split(",") if s]
        if lengths or ungated:
            result["recordings"] = []
        for row in recordings(run, tmp, test, lengths, ungated):
            result["recordings"].append(row)
            save()
        if not args.skip_equivalence:
            result["streaming_vs_whole"] = streaming_vs_whole(run, test)
            print("streaming vs whole", result["streaming_vs_whole"], flush=True)
            save()
        if not args.skip_dask:
            result["dask"] = {}
            dask_comparison(
                run,
                tmp,
                result["dask"],
                save,
                args.workers,
                args.dask_long,
                None if args.skip_dask_train else train_dir,
            )
    print(f"results in {path}")


if __name__ == "__main__":
    main()
