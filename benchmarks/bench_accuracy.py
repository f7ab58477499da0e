"""Accuracy, speed and memory of Canapy on the standard splits of ../shared/data.

For each data set (Koumura Bird0, gy6or6, avn G402) it trains the default annotators on the
training split as ``canapy train`` does (no flag, no preset: the defaults must adapt; the
default model chosen on held-out training files), annotates the test split and prints frame
accuracy, syllable error rate, onset F1, training time, annotation speed (seconds of audio
per second) and peak memory (resident set size of this process).

The figures, with the commit, CPU, load, thread settings and library versions, are written
to ``benchmarks/results/accuracy-<date>.json`` (or ``--json``).

Usage::

    python benchmarks/bench_accuracy.py [--data ../shared/data] [--json results.json]
        [--sets koumura,gy6or6,avn] [--models syntactic,nonsyntactic,ensemble]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

from run_metadata import collect_metadata, cpu_seconds, score_row, write_results

from canapy.audio import audio_info
from canapy.config import config_from_dict
from canapy.corpus import load_corpus
from canapy.workflow import evaluate_annotators, train

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def standard_split(name: str, data: Path) -> tuple[Path, list[Path], list[Path]]:
    """Folder, training files and test files of a standard split (shared/data/README.md)."""
    if name == "koumura":
        folder = data / "bengalese_finch" / "koumura_bird0"
        train = [folder / f"Bird0_{i}.wav" for i in range(40)]
        test = [folder / f"Bird0_{i}.wav" for i in range(40, 60)]
    elif name == "gy6or6":
        folder = data / "bengalese_finch" / "bfsongrepo_gy6or6"
        files = sorted(folder.glob("*.wav"))
        train = [f for f in files if "_230312_" in f.name]
        test = [f for f in files if "_240312_" in f.name]
    elif name == "avn":
        folder = data / "zebra_finch" / "avn_G402"
        files = sorted(folder.glob("*.wav"))
        train, test = files[:20], files[20:]
    else:
        raise SystemExit(f"unknown data set {name!r}")
    return folder, train, test


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(name: str, data: Path, models: list[str], cache_dir: Path, work: Path) -> dict:
    """Train on the training split as ``canapy train`` does, evaluate on the test split.

    Training is the user's path (:func:`canapy.workflow.train`: held-out measurement on 20 %
    of the training files, the default model chosen on it, final models on every training
    file), so the ``default`` row is the model ``canapy annotate`` would use.
    """
    folder, train_files, test_files = standard_split(name, data)
    corpus = load_corpus(folder)
    cfg = config_from_dict({"training": {"models": models}})
    t0, c0 = time.perf_counter(), cpu_seconds()
    trained = train(corpus.subset(train_files), cfg, work / f"run-{name}", cache_dir)
    annotators = trained.annotators
    train_s, train_cpu = time.perf_counter() - t0, cpu_seconds() - c0
    test_audio_s = sum(audio_info(p)[1] for p in test_files)
    rows = {}
    for kind, ann in annotators.items():
        t0, c0 = time.perf_counter(), cpu_seconds()
        result = evaluate_annotators({kind: ann}, corpus, test_files, cache_dir)[kind]
        annot_s, annot_cpu = time.perf_counter() - t0, cpu_seconds() - c0
        rows[kind] = {
            **score_row(result.summary()),
            "annotate_audio_s_per_s": round(test_audio_s / annot_s, 1),
            "annotate_audio_s_per_cpu_s": round(test_audio_s / annot_cpu, 1),
        }
    choice = trained.default_choice
    return {
        "data_set": name,
        "default_model": choice.model if choice else None,
        "default_model_reason": choice.reason if choice else None,
        "train_files": len(train_files),
        "test_files": len(test_files),
        "train_seconds_canapy_train": round(train_s, 1),
        "train_cpu_seconds_canapy_train": round(train_cpu, 1),
        "test_audio_seconds": round(test_audio_s, 1),
        "models": rows,
        "peak_rss_mb": round(peak_rss_mb(), 0),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print one table per data set."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--sets", default="koumura,gy6or6,avn")
    parser.add_argument("--models", default="syntactic,nonsyntactic,ensemble")
    parser.add_argument(
        "--json", type=Path, help="default: benchmarks/results/accuracy-<date>.json"
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        help="feature cache (default: a fresh temporary folder, so feature "
        "extraction is part of the measured training time)",
    )
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"data folder {args.data} not found", file=sys.stderr)
        return 2
    models = args.models.split(",")
    meta = collect_metadata()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        cache = args.cache_dir or Path(tmp)
        for name in args.sets.split(","):
            res = run_one(name, args.data, models, cache, Path(tmp))
            results.append(res)
            print(
                f"\n== {name}: {res['train_files']} train / {res['test_files']} test files, "
                f"{res['test_audio_seconds']} s test audio; canapy train (features, held-out "
                f"measurement, all models) {res['train_seconds_canapy_train']} s wall, "
                f"{res['train_cpu_seconds_canapy_train']} s CPU; peak RSS "
                f"{res['peak_rss_mb']:.0f} MiB; default model: {res['default_model']} "
                f"({res['default_model_reason']})"
            )
            print(
                f"{'model':<14}{'frame acc':>10}{'SER':>8}{'onset F1':>10}{'offset F1':>10}"
                f"{'annot. x RT':>13}"
            )
            for kind, r in res["models"].items():
                print(
                    f"{kind:<14}{r['frame_accuracy']:>10.4f}{r['syllable_error_rate']:>8.4f}"
                    f"{r['onset_f1']:>10.4f}{r['offset_f1']:>10.4f}"
                    f"{r['annotate_audio_s_per_s']:>13.1f}",
                    flush=True,
                )
    path = write_results("accuracy", {"data_sets": results}, args.json, meta)
    print(f"written {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
