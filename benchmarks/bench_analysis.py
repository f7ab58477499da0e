"""Syllable map and syntax figures on the real data (issue 11's "must hold" figures).

1. **Map vs hand labels**: on the Koumura Bird0 training files (``Bird0_0``-``Bird0_39``;
   Koumura & Okanoya 2016, figshare 10.6084/m9.figshare.3470165, CC BY 4.0), fit the
   syllable map (default :class:`canapy.analysis.syllable_map.SyllableMap`) on each
   representation and report the V-measure of its HDBSCAN clusters against the hand labels.
   The ``reservoir`` representation uses a syntactic model trained on the same files with the
   default config (its reservoir is label-free; only the readout learns the labels).
2. **Scale**: wall and CPU seconds and peak RSS of each stage of the map (log-mel patches,
   UMAP, HDBSCAN, kNN/outlier evidence, ``transform``) on 5,000 and 50,000 segments, and
   the clusters' V-measure against the labels. Koumura has ~3,000 segments, so these are
   real Bird0 segments (all 60 files, real audio and labels) drawn with replacement, each
   edge moved by N(0, 3 ms) (seeded; time jitter only, no pitch jitter). Each size runs
   in its own process (``ru_maxrss`` is that process' peak), BLAS pinned to one thread,
   feature cache warm, numba compilation timed apart.
   **Plot** (``--parts plot``): payload and headless-Chromium render time of the
   dashboard's map plot at the largest size, WebGL and canvas.
3. **Syntax on canary**: load the 459 Audacity files of canary M1 (Giraudon et al. 2021,
   zenodo 10.5281/zenodo.6521932; phrase-level, overlaps up to 0.1 s trimmed) and compute
   every syntax figure; time both steps.
4. **Map evidence in the review**: relabel 5 % of the Bird0 training segments (seeded, as
   ``bench_review.py``), run the 5-fold review, and compare precision@N (N = number
   relabelled) of the review score, the map's kNN label disagreement, the within-class
   outlier score and their combinations.

Usage::

    python benchmarks/bench_analysis.py [--data ../shared/data] [--json out.json]
        [--parts canary map scale plot review] [--model RUN_DIR] [--cache-dir DIR]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # a script: pin BLAS before numpy loads
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from run_metadata import collect_metadata, write_results

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
PARTS = ("canary", "map", "scale", "plot", "review")


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _since(t: tuple[float, float]) -> dict[str, float]:
    return {
        "wall_s": round(time.perf_counter() - t[0], 2),
        "cpu_s": round(time.process_time() - t[1], 2),
    }


def bird0_train(data: Path):
    from canapy.corpus import load_corpus

    folder = data / "bengalese_finch" / "koumura_bird0"
    return load_corpus(folder).subset([folder / f"Bird0_{i}.wav" for i in range(40)])


def train_model(corpus, cache: Path):
    """Default-config syntactic annotator trained on every file of ``corpus``."""
    from canapy.config import default_config
    from canapy.workflow import fit_annotators, resolve_sample_rate

    cfg = default_config()
    cfg = replace(cfg, training=replace(cfg.training, models=("syntactic",)))
    files = list(corpus.annotated)
    return fit_annotators(corpus, files, cfg, resolve_sample_rate(cfg, files), cache)["syntactic"]


def map_agreement(corpus, annotator, cache: Path) -> tuple[dict, dict]:
    """V-measure of the map's clusters per representation; also the vectors."""
    from sklearn.metrics import homogeneity_completeness_v_measure

    from canapy.analysis.embedding import corpus_representation
    from canapy.analysis.syllable_map import SyllableMap

    labels = corpus.segments["label"].astype(str).to_numpy()
    out, vectors = {}, {}
    for rep in ("logmel", "reservoir"):
        t = _clock()
        X = corpus_representation(corpus.segments, rep, annotator=annotator, cache_dir=cache)
        vec_time = _since(t)
        t = _clock()
        smap = SyllableMap().fit(X)
        h, c, v = homogeneity_completeness_v_measure(labels, smap.clusters_)
        out[rep] = {
            "v_measure": round(v, 4),
            "homogeneity": round(h, 4),
            "completeness": round(c, 4),
            "n_clusters": len(set(smap.clusters_.tolist()) - {-1}),
            "noise_share": round(float(np.mean(smap.clusters_ == -1)), 4),
            "dim": int(X.shape[1]),
            "vectors_time": vec_time,
            "map_time": _since(t),
            "params": smap.get_params() | {"min_cluster_size_used": smap.min_cluster_size_},
        }
        vectors[rep] = (X, smap)
        print(f"  {rep}: V-measure {v:.3f}", file=sys.stderr, flush=True)
    return out, vectors


def bird0_all(data: Path):
    """Every annotated Bird0 file (60 files, ~3,000 segments): the pool of the scale step."""
    from canapy.corpus import load_corpus

    return load_corpus(data / "bengalese_finch" / "koumura_bird0")


def jittered_segments(segments, n: int, seed: int, jitter_s: float = 0.003):
    """``n`` real segments drawn with replacement, each edge moved by N(0, ``jitter_s``).

    Real audio and real labels, so the map and its V-measure mean something at any size;
    the time jitter (edges kept at least 5 ms apart) makes every drawn copy a slightly
    different patch. No pitch jitter: that would need new audio.
    """
    rng = np.random.default_rng(seed)
    rows = segments.iloc[rng.integers(0, len(segments), n)].reset_index(drop=True)
    on = rows["onset_s"].to_numpy() + rng.normal(0, jitter_s, n)
    off = rows["offset_s"].to_numpy() + rng.normal(0, jitter_s, n)
    on = np.maximum(on, 0.0)
    rows["onset_s"], rows["offset_s"] = on, np.maximum(off, on + 0.005)
    rows["segment_id"] = [f"scale#{i:06d}" for i in range(n)]
    return rows


def _peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def scale_child(data: Path, cache: Path, n: int, points_out: Path | None = None) -> dict:
    """Map ``n`` jittered real Bird0 segments, stage by stage (run in a fresh process).

    Stages: log-mel patches (features read from the warm cache, resized), UMAP (with the
    standardisation and PCA), HDBSCAN, kNN disagreement + within-class outlier scores,
    ``transform`` of 1,000 segments. Numba compiles UMAP's code on first use: a fit on 4,500
    random points (and a transform) first takes most of that out of the UMAP figure and
    reports it apart. Peak RSS is the
    process' peak after each stage (it only grows).
    """
    from sklearn.metrics import v_measure_score

    from canapy.analysis.embedding import corpus_representation
    from canapy.analysis.evidence import map_evidence
    from canapy.analysis.syllable_map import SyllableMap

    segments = jittered_segments(bird0_all(data).segments, n, seed=n)
    labels = segments["label"].astype(str).to_numpy()
    out: dict = {"n_segments": n, "stages": {}}
    stages = out["stages"]
    t = _clock()
    # above 4,096 points UMAP leaves exact neighbours for NN-descent: compile that path too
    warm = np.random.default_rng(0).normal(size=(4500, 20)).astype(np.float32)
    SyllableMap(n_neighbors=10).fit(warm).transform(warm[:100])
    stages["warm-up: numba compilation (4,500 random points)"] = _since(t) | {
        "peak_rss_mb": _peak_mb()
    }
    t = _clock()
    X = corpus_representation(segments, "logmel", cache_dir=cache)
    stages["logmel patches"] = _since(t) | {"peak_rss_mb": _peak_mb()}
    smap = SyllableMap().fit(X)
    stages["umap (standardise, PCA 50, UMAP)"] = smap.fit_seconds_["umap"]
    stages["hdbscan"] = smap.fit_seconds_["hdbscan"] | {"peak_rss_mb": _peak_mb()}
    t = _clock()
    map_evidence(smap.embedding_, labels)
    stages["knn + outlier evidence"] = _since(t) | {"peak_rss_mb": _peak_mb()}
    t = _clock()
    smap.transform(X[:1000])
    stages["transform 1000"] = _since(t) | {"peak_rss_mb": _peak_mb()}
    fit = [smap.fit_seconds_["umap"], smap.fit_seconds_["hdbscan"]]
    out.update(
        fit={k: round(sum(f[k] for f in fit), 2) for k in ("wall_s", "cpu_s")},
        evidence=stages["knn + outlier evidence"],
        transform_1000=stages["transform 1000"],
        dim=int(X.shape[1]),
        patch_mb=round(X.nbytes / 2**20, 1),
        min_cluster_size=smap.min_cluster_size_,
        min_samples=smap.min_samples_,
        n_clusters=len(set(smap.clusters_.tolist()) - {-1}),
        noise_share=round(float(np.mean(smap.clusters_ == -1)), 4),
        v_measure_vs_labels=round(float(v_measure_score(labels, smap.clusters_)), 4),
        total_cpu_s=round(sum(v["cpu_s"] for v in stages.values()), 1),
        peak_rss_mb=_peak_mb(),
    )
    if points_out is not None:
        np.savez(
            points_out, points=smap.embedding_, clusters=smap.clusters_, labels=labels.astype(str)
        )
    return out


def scale(data: Path, cache: Path, sizes: list[int], plot_dir: Path | None = None) -> list[dict]:
    """:func:`scale_child` for each size, each in its own process."""
    from canapy.analysis.embedding import corpus_representation

    t = _clock()
    corpus_representation(bird0_all(data).segments, "logmel", cache_dir=cache)
    print(f"  features of the 60 Bird0 files: {_since(t)}", file=sys.stderr)
    out = []
    for n in sizes:
        cmd = [sys.executable, __file__, "--scale-child", str(n), "--data", str(data)]
        cmd += ["--cache-dir", str(cache)]
        if plot_dir is not None:
            cmd += ["--points-out", str(plot_dir / f"points-{n}.npz")]
        res = subprocess.run(cmd, capture_output=True, text=True, check=True)
        out.append(json.loads(res.stdout.strip().splitlines()[-1]))
        print(f"  map of {n} segments: {out[-1]['total_cpu_s']} s CPU", file=sys.stderr)
    return out


PLOT_RENDER_JS = """() => {
    const docs = (window.Bokeh && Bokeh.documents) || [];
    return docs.length > 0 && docs[0].is_idle;
}"""


def plot_timing(points_file: Path, backends: tuple[str, ...] = ("webgl", "canvas")) -> dict:
    """Payload and browser render time of the dashboard's map plot of ``points_file``.

    The figure is :func:`canapy.dashboards.analysis_plots.selectable_map`; its payload is
    the size of its JSON document (``json_item``), what a session sends for the plot.
    Saved as a standalone HTML page with inline BokehJS, it is loaded in headless Chromium;
    the time is from navigation to the Bokeh document idle (drawn), median of 3 loads.
    """
    import pandas as pd
    from bokeh.embed import file_html, json_item
    from bokeh.resources import INLINE
    from playwright.sync_api import sync_playwright

    from canapy.dashboards.analysis_plots import selectable_map

    saved = np.load(points_file, allow_pickle=False)
    n = len(saved["points"])
    view = pd.DataFrame(
        {
            "segment_id": [f"s{i}" for i in range(n)],
            "audio_path": [f"/data/Bird0_{i % 60}.wav" for i in range(n)],
            "onset_s": np.linspace(0, 9.0, n),
            "offset_s": np.linspace(0.05, 9.05, n),
            "label": saved["labels"],
            "predicted": saved["labels"],
            "cluster": saved["clusters"],
            "suspicion": np.zeros(n),
            "x": saved["points"][:, 0],
            "y": saved["points"][:, 1],
        }
    )
    out: dict = {"n_points": n}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
            ],
        )
        page = browser.new_page(viewport={"width": 900, "height": 700})
        for backend in backends:
            fig = selectable_map(view, "label")
            fig.output_backend = backend
            t = _clock()
            payload = len(json.dumps(json_item(fig)).encode())
            build = _since(t)
            html = file_html(fig, INLINE, "map")
            path = Path(tmp) / f"{backend}.html"
            path.write_text(html, encoding="utf-8")
            times = []
            for _ in range(3):
                start = time.perf_counter()
                page.goto(path.as_uri())
                page.wait_for_function(PLOT_RENDER_JS, timeout=600_000, polling=50)
                times.append(round(time.perf_counter() - start, 2))
            webgl = page.evaluate("() => !!document.createElement('canvas').getContext('webgl2')")
            out[backend] = {
                "payload_mb": round(payload / 2**20, 2),
                "build_and_serialise": build,
                "render_wall_s": times,
                "render_wall_median_s": sorted(times)[1],
                "browser_has_webgl2": webgl,
            }
            print(f"  plot {n} points, {backend}: {out[backend]}", file=sys.stderr)
        browser.close()
    return out


def canary_syntax(data: Path) -> dict:
    from canapy.analysis.syntax import analyze_syntax
    from canapy.corpus import load_corpus

    folder = data / "canary" / "m1_2016_spring_annotations"
    t = _clock()
    corpus = load_corpus(
        folder, annot_format="aud-seq", require_audio=False, overlap_tolerance_s=0.1
    )
    load = _since(t)
    t = _clock()
    syn = analyze_syntax(corpus.segments, unit="phrase")
    analyse = _since(t)
    d = syn.to_dict()
    d.pop("transitions")
    top = syn.transitions[1].sort_values("count", ascending=False).head(10)
    d["top_transitions"] = [
        {"from": c[0], "to": n, "count": int(k), "p": round(p, 3)}
        for c, n, k, p in top[["context", "next", "count", "probability"]].itertuples(index=False)
    ]
    return {
        "files": len(corpus.annotated),
        "segments": len(corpus.segments),
        "load": load,
        "analyse": analyse,
        "figures": d,
    }


def precision_at(ranking: np.ndarray, is_bad: np.ndarray, n: int) -> float:
    """Share of corrupted segments among the ``n`` highest-ranked (stable for ties)."""
    order = np.argsort(-ranking, kind="stable")
    return round(float(is_bad[order[:n]].mean()), 4)


def review_with_map(data: Path, corpus, vectors: dict, cache: Path, folds: int) -> dict:
    """Precision@N of the review score, the map evidence and their combinations."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_review import corrupt_labels

    from canapy.analysis.evidence import map_evidence
    from canapy.config import default_config
    from canapy.review import find_suspects

    corrupted, bad_ids = corrupt_labels(corpus, 0.05, 0)
    t = _clock()
    review = find_suspects(corrupted, default_config(), n_folds=folds, cache_dir=cache, seed=0)
    review_time = _since(t)
    seg = corrupted.segments
    result = {"n_corrupted": len(bad_ids), "review_time": review_time, "variants": {}}
    by_id = review.segments.set_index("segment_id")
    score = by_id.loc[seg["segment_id"], "score"].to_numpy(float)
    is_bad = seg["segment_id"].isin(bad_ids).to_numpy()
    n = len(bad_ids)
    result["variants"]["review score"] = precision_at(score, is_bad, n)
    for rep, (_X, smap) in vectors.items():
        ev = map_evidence(smap.embedding_, seg["label"].astype(str).to_numpy())
        knn = ev["knn_disagreement"].to_numpy()
        lof = ev["class_outlier"].to_numpy()
        v = result["variants"]
        v[f"{rep}: kNN disagreement"] = precision_at(knn, is_bad, n)
        v[f"{rep}: class outlier"] = precision_at(lof, is_bad, n)
        v[f"{rep}: mean(review, kNN)"] = precision_at((score + knn) / 2, is_bad, n)
        v[f"{rep}: review + 0.25 kNN"] = precision_at(score + 0.25 * knn, is_bad, n)
        v[f"{rep}: max(review, kNN)"] = precision_at(np.maximum(score, knn), is_bad, n)
        right = (
            ev["knn_label"].to_numpy()
            == seg["segment_id"]
            .map(dict(zip(corpus.segments["segment_id"], corpus.segments["label"], strict=True)))
            .to_numpy()
        )[is_bad]
        result[f"{rep}: kNN label right on corrupted"] = round(float(right.mean()), 4)
    return result


def main(argv: list[str] | None = None) -> int:
    """Run every part, print the figures, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--json", type=Path, help="default: results/analysis-<date>.json")
    parser.add_argument("--cache-dir", type=Path, help="feature cache (default: temporary)")
    parser.add_argument(
        "--parts",
        nargs="+",
        choices=PARTS,
        default=list(PARTS),
        help="parts to run (default all; run them in separate processes to go faster)",
    )
    parser.add_argument(
        "--model", type=Path, help="run folder of a model trained on Bird0_0-39 (default: train)"
    )
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 50000])
    parser.add_argument("--scale-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--points-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.scale_child:
        result = scale_child(args.data, args.cache_dir, args.scale_child, args.points_out)
        print(json.dumps(result))
        return 0
    if not args.data.is_dir():
        print(f"data folder {args.data} not found", file=sys.stderr)
        return 2
    meta = collect_metadata()
    res: dict = {"parts": args.parts}
    with tempfile.TemporaryDirectory() as tmp:
        cache = args.cache_dir or Path(tmp)
        if "canary" in args.parts:
            print("canary syntax...", file=sys.stderr, flush=True)
            res["canary_syntax"] = canary_syntax(args.data)
        if {"map", "review"} & set(args.parts):
            corpus = bird0_train(args.data)
            res["bird0_train_segments"] = len(corpus.segments)
            t = _clock()
            if args.model:
                from canapy.runs import load_default_annotator

                annotator = load_default_annotator(args.model, "syntactic")
            else:
                print("training the model for the reservoir representation...", file=sys.stderr)
                annotator = train_model(corpus, cache)
                res["model_training"] = _since(t)
            res["map_vs_labels"], vectors = map_agreement(corpus, annotator, cache)
        if {"scale", "plot"} & set(args.parts):
            print("map at scale (jittered real Bird0 segments)...", file=sys.stderr, flush=True)
            plot_dir = Path(tmp) if "plot" in args.parts else None
            res["map_scale_synthetic"] = scale(args.data, cache, args.sizes, plot_dir)
            if plot_dir is not None:
                n = max(args.sizes)
                res["map_plot"] = plot_timing(plot_dir / f"points-{n}.npz")
        if "review" in args.parts:
            print("review with map evidence...", file=sys.stderr, flush=True)
            res["review_with_map"] = review_with_map(args.data, corpus, vectors, cache, args.folds)
    print(json.dumps(res, indent=2, default=str))
    print(f"written {write_results('analysis', res, args.json, meta)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
