"""Summary statistics of real canary phrase annotations, for the canary-like generator.

Reads the Audacity label tracks of canary M1 (Giraudon et al. 2021, zenodo
10.5281/zenodo.6521932) in ``../shared/data/canary/m1_2016_spring_annotations`` with
Canapy's own corpus reader (crowsetta ``aud-seq``) and writes a small JSON of summary
numbers: phrase durations, gaps between phrases, phrases per song, how concentrated the
phrase-to-phrase transitions are, and how rare and short the shortest phrases are.
:mod:`canapy.synthetic_canary` takes its parameters from these numbers (no file is copied).

Touching pieces of one label (gap <= ``--merge-gap`` s, an annotator splitting a phrase)
are merged into one phrase first; the silence and noise tags are left out.

Usage::

    python benchmarks/canary_statistics.py [--data ../shared/data]
        [--out benchmarks/results/canary_statistics.json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from canapy.corpus import load_corpus
from canapy.io_utils import atomic_write_json

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CANARY = Path("canary") / "m1_2016_spring_annotations"
IGNORED = {"SIL", "TRASH"}


def phrases_of(segments: pd.DataFrame, merge_gap_s: float) -> list[pd.DataFrame]:
    """Per file, its phrases in time order with touching same-label pieces merged."""
    out = []
    for _, g in segments.groupby("audio_path", sort=True):
        g = g[~g["label"].isin(IGNORED)].sort_values("onset_s")
        rows: list[list] = []
        for on, off, lab in zip(g["onset_s"], g["offset_s"], g["label"], strict=True):
            if rows and rows[-1][2] == lab and on - rows[-1][1] <= merge_gap_s:
                rows[-1][1] = max(rows[-1][1], off)
            else:
                rows.append([on, off, lab])
        if rows:
            out.append(pd.DataFrame(rows, columns=["onset_s", "offset_s", "label"]))
    return out


def quantiles(x: np.ndarray, qs: tuple[float, ...] = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)):
    """``{"q05": value, ...}`` rounded to 4 decimals."""
    return {f"q{round(100 * q):02d}": round(float(np.quantile(x, q)), 4) for q in qs}


def summarise(songs: list[pd.DataFrame], first_onsets: np.ndarray) -> dict:
    """The summary numbers of a list of phrase tables (one per song)."""
    allp = pd.concat(songs, ignore_index=True)
    dur = (allp["offset_s"] - allp["onset_s"]).to_numpy()
    gaps = np.concatenate(
        [s["onset_s"].to_numpy()[1:] - s["offset_s"].to_numpy()[:-1] for s in songs]
    )
    gaps = np.maximum(gaps, 0.0)
    positive = gaps[gaps > 0.001]
    labels = sorted(allp["label"].unique())
    index = {lab: i for i, lab in enumerate(labels)}
    counts = np.zeros((len(labels), len(labels)))
    for s in songs:
        seq = [index[x] for x in s["label"]]
        for a, b in itertools.pairwise(seq):
            counts[a, b] += 1
    out_total = counts.sum(axis=1)
    rows = counts[out_total >= 20] / out_total[out_total >= 20, None]
    entropy = [-(p[p > 0] * np.log2(p[p > 0])).sum() for p in rows]
    successors_90 = [int(np.searchsorted(np.cumsum(np.sort(p)[::-1]), 0.9) + 1) for p in rows]
    share = allp["label"].value_counts(normalize=True).to_numpy()
    per_label_median = allp.assign(d=dur).groupby("label")["d"].median().to_numpy()
    log_dur = np.log(dur)
    short = dur < 0.1
    return {
        "source": str(CANARY),
        "n_songs": len(songs),
        "n_phrases": len(allp),
        "n_phrase_types": len(labels),
        "phrases_per_song": quantiles(
            np.array([len(s) for s in songs]), (0.05, 0.25, 0.5, 0.75, 0.95)
        ),
        "phrase_duration_s": quantiles(dur),
        "log_phrase_duration": {
            "mean": round(float(log_dur.mean()), 4),
            "std": round(float(log_dur.std()), 4),
        },
        "per_type_median_duration_s": quantiles(per_label_median, (0.05, 0.25, 0.5, 0.75, 0.95)),
        "short_phrase_share": round(float(short.mean()), 4),
        "short_phrase_duration_s": quantiles(dur[short], (0.05, 0.5, 0.95)) if short.any() else {},
        "gap_touching_share": round(float((gaps <= 0.001).mean()), 4),
        "gap_positive_s": quantiles(positive, (0.05, 0.25, 0.5, 0.75, 0.95)),
        "log_gap_positive": {
            "mean": round(float(np.log(positive).mean()), 4),
            "std": round(float(np.log(positive).std()), 4),
        },
        "same_label_neighbour_share": round(float(np.trace(counts) / max(1.0, counts.sum())), 4),
        "transition_entropy_bits": quantiles(np.array(entropy), (0.25, 0.5, 0.75)),
        "successors_for_90pct": quantiles(np.array(successors_90, float), (0.25, 0.5, 0.75)),
        "type_share_sorted": [round(float(x), 4) for x in share],
        "first_onset_s": quantiles(first_onsets, (0.05, 0.5, 0.95)),
    }


def main(argv: list[str] | None = None) -> int:
    """Read the canary annotations, print and write the summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent / "results" / "canary_statistics.json",
    )
    parser.add_argument("--merge-gap", type=float, default=0.010)
    args = parser.parse_args(argv)
    folder = args.data / CANARY
    if not folder.is_dir():
        print(f"canary annotations not found in {folder}", file=sys.stderr)
        return 2
    corpus = load_corpus(
        folder, annot_format="aud-seq", require_audio=False, overlap_tolerance_s=0.2
    )
    songs = phrases_of(corpus.segments, args.merge_gap)
    firsts = np.array([s["onset_s"].iloc[0] for s in songs])
    summary = summarise(songs, firsts)
    summary["merge_gap_s"] = args.merge_gap
    print(json.dumps(summary, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(args.out, summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
