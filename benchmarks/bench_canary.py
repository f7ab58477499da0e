"""Phrase-level accuracy of Canapy on the canary-like synthetic corpus.

Writes the corpus with :func:`canapy.synthetic_canary.make_canary_corpus` (40 songs, seed
0), trains the default annotators on songs 0-29 and tests them on the unseen songs 30-39,
through the workflow functions ``canapy train`` and ``canapy evaluate`` use (default
config: no preset, no flag; the granularity is inferred from the hand labels). Prints and
writes a JSON result with the commit, CPU, threads, library versions, the inferred
granularity and, per model, frame accuracy, syllable error rate, onset/offset F1, training
and annotation times (wall and CPU seconds).

Usage::

    python benchmarks/bench_canary.py [--out benchmarks/results/canary.json]
        [--models syntactic,nonsyntactic,ensemble] [--corpus DIR] [--threads 1]

The must-hold figures (issue 9): syllable error rate <= 0.05, frame accuracy >= 0.97.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from run_metadata import collect_metadata, cpu_seconds, score_row, write_results


def run(corpus_dir: Path, models: list[str], cache_dir: Path) -> dict:
    """Train on songs 0-29, evaluate on songs 30-39; return the figures."""
    from canapy.audio import audio_info
    from canapy.config import config_from_dict
    from canapy.corpus import load_corpus
    from canapy.workflow import evaluate_annotators, fit_annotators, resolve_sample_rate

    corpus = load_corpus(corpus_dir)
    paths = sorted(corpus.annotated, key=lambda p: p.name)
    train_files, test_files = paths[:30], paths[30:40]
    cfg = config_from_dict({"training": {"models": models, "default_model": models[-1]}})
    sample_rate = resolve_sample_rate(cfg, train_files)
    granularity = None
    try:  # the inference exists from the phrase-level work on; older code has none
        from canapy.granularity import apply_granularity

        granularity = apply_granularity(cfg, corpus.subset(train_files).segments)[1].to_dict()
    except ImportError:
        pass
    w0, c0 = time.perf_counter(), cpu_seconds()
    annotators = fit_annotators(corpus, train_files, cfg, sample_rate, cache_dir)
    train_wall, train_cpu = time.perf_counter() - w0, cpu_seconds() - c0
    test_audio_s = sum(audio_info(p)[1] for p in test_files)
    rows = {}
    for kind, ann in annotators.items():
        w0, c0 = time.perf_counter(), cpu_seconds()
        result = evaluate_annotators({kind: ann}, corpus, test_files, cache_dir)[kind]
        wall, cpu = time.perf_counter() - w0, cpu_seconds() - c0
        summary = result.summary()
        rows[kind] = {
            **score_row(summary),
            "annotate_wall_s": round(wall, 2),
            "annotate_cpu_s": round(cpu, 2),
            "annotate_x_real_time": round(test_audio_s / wall, 1),
            "predicted_segments": summary["n_hyp_segments"],
        }
    return {
        "corpus": "canapy.synthetic_canary.make_canary_corpus(n_files=40, seed=0)",
        "train_files": len(train_files),
        "test_files": len(test_files),
        "test_reference_segments": len(corpus.subset(test_files).segments),
        "test_audio_seconds": round(test_audio_s, 1),
        "granularity": granularity,
        "train_wall_s_all_models": round(train_wall, 1),
        "train_cpu_s_all_models": round(train_cpu, 1),
        "models": rows,
    }


def main(argv: list[str] | None = None) -> int:
    """Build the corpus (unless given), run the benchmark, print and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--out", type=Path, help="result file (default: results/canary-<UTC date>.json)"
    )
    parser.add_argument("--models", default="syntactic,nonsyntactic,ensemble")
    parser.add_argument("--corpus", type=Path, help="existing corpus folder (else a temp one)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    args = parser.parse_args(argv)
    meta = collect_metadata()  # before the (long) run: the code measured
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=args.threads), tempfile.TemporaryDirectory() as tmp:
        corpus_dir = args.corpus
        if corpus_dir is None or not corpus_dir.is_dir():
            from canapy.synthetic_canary import make_canary_corpus

            corpus_dir = make_canary_corpus(corpus_dir or Path(tmp) / "corpus", n_files=40)
        result = run(corpus_dir, args.models.split(","), Path(tmp) / "cache")
    result["blas_threads"] = args.threads
    print(json.dumps(result, indent=2))
    print(f"written {write_results('canary', result, args.out, meta)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
