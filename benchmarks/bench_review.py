"""Does the cross-validated review find wrong hand labels, and does accepting its suggestions
repair the training data?

On the Koumura Bird0 standard split (train ``Bird0_0``-``Bird0_39``, test ``Bird0_40``-
``Bird0_59``; Koumura & Okanoya 2016, figshare 10.6084/m9.figshare.3470165, CC BY 4.0):

1. relabel a random (seeded) 5 % of the training segments to another label;
2. run :func:`canapy.review.find_suspects` (5 folds, default config) on the corrupted
   training files and measure precision and recall of the corrupted segments among the
   top-N suspects (N = number corrupted);
3. train the default annotators on (a) the clean, (b) the corrupted and (c) the
   corrupted-then-corrected training data — (c) accepts the top-N suggestions — and report
   the syllable error rate and frame accuracy of each on the (clean) test split.

Usage::

    python benchmarks/bench_review.py [--data ../shared/data] [--json review.json]
        [--rate 0.05] [--seed 0] [--folds 5] [--cache-dir DIR]

The figures, with the commit, CPU, load, thread settings and library versions, are written
to ``benchmarks/results/review-<date>.json`` (or ``--json``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from run_metadata import collect_metadata, write_results

from canapy.config import default_config
from canapy.corpus import Corpus, load_corpus
from canapy.review import apply_suggestions, find_suspects
from canapy.workflow import evaluate_annotators, fit_annotators, resolve_sample_rate

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def corrupt_labels(corpus: Corpus, rate: float, seed: int) -> tuple[Corpus, list[str]]:
    """A copy of ``corpus`` with ``rate`` of its segments given another (random) label.

    Returns the new corpus and the ids of the corrupted segments.
    """
    rng = np.random.default_rng(seed)
    seg = corpus.segments.copy()
    labels = sorted(set(seg["label"]))
    n = max(1, round(rate * len(seg)))
    rows = np.sort(rng.choice(len(seg), size=n, replace=False))
    new = seg["label"].to_numpy(dtype=object).copy()
    for i in rows:
        new[i] = str(rng.choice([lab for lab in labels if lab != new[i]]))
    seg["label"] = new
    return replace(corpus, segments=seg), seg["segment_id"].iloc[rows].tolist()


def train_and_test(
    train_corpus: Corpus, clean: Corpus, train: list[Path], test: list[Path], cache: Path
) -> dict:
    """Fit the default annotators on ``train`` files of ``train_corpus``; score on ``test``."""
    cfg = default_config()
    rate = resolve_sample_rate(cfg, train)
    annotators = fit_annotators(train_corpus, train, cfg, rate, cache)
    results = evaluate_annotators(annotators, clean, test, cache)
    return {
        kind: {
            "syllable_error_rate": round(res.syllable_error_rate, 4),
            "frame_accuracy": round(res.frame_accuracy, 4),
        }
        for kind, res in results.items()
    }


def _share(mask) -> float | None:
    return round(float(mask.mean()), 4) if len(mask) else None


def run(
    data: Path, rate: float, seed: int, folds: int, cache: Path, suspects: Path | None = None
) -> dict:
    """The whole benchmark; returns the figures (and writes the ranked suspects if asked)."""
    folder = data / "bengalese_finch" / "koumura_bird0"
    train = [folder / f"Bird0_{i}.wav" for i in range(40)]
    test = [folder / f"Bird0_{i}.wav" for i in range(40, 60)]
    clean = load_corpus(folder)
    clean_train = clean.subset(train)
    corrupted, bad_ids = corrupt_labels(clean_train, rate, seed)
    n_bad = len(bad_ids)
    ids, labels = clean_train.segments["segment_id"], clean_train.segments["label"]
    truth = dict(zip(ids, labels, strict=True))

    t0 = time.perf_counter()
    review = find_suspects(corrupted, default_config(), n_folds=folds, cache_dir=cache, seed=seed)
    review_s = time.perf_counter() - t0
    if suspects is not None:
        review.segments.assign(corrupted=review.segments["segment_id"].isin(bad_ids)).to_csv(
            suspects, index=False
        )
    ranked = review.segments
    top = ranked.head(n_bad)
    hits = top["segment_id"].isin(bad_ids)
    flagged = ranked[ranked["score"] >= 0.5]
    flagged_hits = flagged["segment_id"].isin(bad_ids)
    right_fix = (top["suggested"] == top["segment_id"].map(truth))[hits]

    corrected = apply_suggestions(corrupted, review, segment_ids=top["segment_id"])
    labels_now = dict(
        zip(corrected.segments["segment_id"], corrected.segments["label"], strict=True)
    )
    still_wrong = sum(labels_now[s] != truth[s] for s in truth)

    models, seconds = {}, {}
    variants = (("a_clean", clean), ("b_corrupted", corrupted), ("c_corrected", corrected))
    for name, corpus in variants:
        t0 = time.perf_counter()
        models[name] = train_and_test(corpus, clean, train, test, cache)
        seconds[name] = round(time.perf_counter() - t0, 1)
        print(f"  trained and tested on {name} data", file=sys.stderr, flush=True)
    return {
        "data_set": "koumura_bird0",
        "train_files": len(train),
        "test_files": len(test),
        "train_segments": len(clean_train.segments),
        "corruption_rate": rate,
        "seed": seed,
        "folds": review.n_folds,
        "n_corrupted": n_bad,
        "review_seconds": round(review_s, 1),
        "precision_at_n": round(float(hits.mean()), 4),
        "recall_at_n": round(float(hits.sum() / n_bad), 4),
        "suggestion_correct_among_hits": _share(right_fix),
        "n_score_ge_0.5": len(flagged),
        "precision_score_ge_0.5": _share(flagged_hits),
        "recall_score_ge_0.5": round(float(flagged_hits.sum() / n_bad), 4),
        "wrong_labels_before_correction": n_bad,
        "wrong_labels_after_correction": int(still_wrong),
        "merge_candidates": review.merge_candidates.head(5).to_dict("records"),
        "models": models,
        "train_and_test_seconds": seconds,
    }


def print_report(res: dict) -> None:
    """Human-readable table of :func:`run`'s figures."""
    print(
        f"\n== review on Koumura Bird0: {res['train_files']} training files, "
        f"{res['train_segments']} segments, {res['n_corrupted']} relabelled "
        f"({100 * res['corruption_rate']:.0f} %, seed {res['seed']}); "
        f"{res['folds']}-fold review in {res['review_seconds']} s"
    )
    print(f"precision@N (N={res['n_corrupted']})   {res['precision_at_n']:.3f}")
    print(f"recall@N                    {res['recall_at_n']:.3f}")
    print(f"right suggestion among hits {res['suggestion_correct_among_hits']}")
    print(
        f"score >= 0.5: {res['n_score_ge_0.5']} segments, precision "
        f"{res['precision_score_ge_0.5']}, recall {res['recall_score_ge_0.5']}"
    )
    print(
        f"wrong training labels: {res['wrong_labels_before_correction']} before, "
        f"{res['wrong_labels_after_correction']} after accepting the top-N suggestions"
    )
    kinds = list(next(iter(res["models"].values())))
    print(f"\n{'training data':<14}" + "".join(f"{'SER ' + k:>20}" for k in kinds) + "   frame acc")
    for name, figures in res["models"].items():
        ser = "".join(f"{figures[k]['syllable_error_rate']:>20.4f}" for k in kinds)
        print(f"{name:<14}{ser}   {figures[kinds[-1]]['frame_accuracy']:.4f}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the table, optionally write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--json", type=Path, help="default: benchmarks/results/review-<date>.json")
    parser.add_argument("--rate", type=float, default=0.05, help="share of labels corrupted")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--cache-dir", type=Path, help="feature cache (default: temporary)")
    parser.add_argument("--suspects", type=Path, help="write the ranked suspects to this CSV")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"data folder {args.data} not found", file=sys.stderr)
        return 2
    meta = collect_metadata()
    with tempfile.TemporaryDirectory() as tmp:
        cache = args.cache_dir or Path(tmp)
        res = run(args.data, args.rate, args.seed, args.folds, cache, args.suspects)
    print_report(res)
    print(f"written {write_results('review', res, args.json, meta)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
