"""Responsiveness of the dashboard's spectrogram viewer on long recordings.

Times, for the longest recording of ../shared/data and for a synthetic multi-minute file:
building the viewer on the recording (audio load, decimated spectrogram, annotation tracks),
rendering it to a Bokeh model (what is sent to the browser), the size of that payload, and
redrawing a zoomed 2-second window at full resolution.

Usage: ``python benchmarks/bench_dashboard.py [--data ../shared/data] [--minutes 5]``

The figures, with the commit, CPU, load, thread settings and library versions, are written
to ``benchmarks/results/dashboard-<date>.json`` (or ``--json``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import holoviews as hv
import numpy as np
import soundfile as sf
from run_metadata import collect_metadata, write_results

from canapy.audio import audio_info
from canapy.corpus import load_corpus
from canapy.dashboards.plots import spectrogram_image, spectrogram_plot
from canapy.dashboards.viewer import SpectrogramViewer
from canapy.synthetic import synth_song

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _longest_recording(data: Path) -> Path:
    files = [p for p in data.rglob("*.wav") if p.with_suffix(".csv").exists()]
    return max(files, key=lambda p: audio_info(p)[1])


def _long_synthetic(folder: Path, minutes: float) -> tuple[Path, dict]:
    rng = np.random.default_rng(0)
    parts, rows, t = [], [], 0.0
    while t < minutes * 60:
        y, segs = synth_song(rng)
        parts.append(y)
        rows.append(segs.assign(onset_s=segs["onset_s"] + t, offset_s=segs["offset_s"] + t))
        t += len(y) / 16000
    path = folder / "long.wav"
    sf.write(path, np.concatenate(parts), 16000)
    import pandas as pd

    return path, {"reference": pd.concat(rows, ignore_index=True)}


def measure(path: Path, tracks: dict) -> dict:
    """Seconds to build, render and zoom the viewer on ``path``."""
    t0 = time.perf_counter()
    viewer = SpectrogramViewer(path=str(path), tracks=tracks)
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    model = hv.render(viewer._plot.object, backend="bokeh")
    render = time.perf_counter() - t0
    from bokeh.embed import json_item

    payload = len(json.dumps(json_item(model)))
    y, sr = sf.read(path, dtype="float32")
    mid = len(y) / sr / 2
    t0 = time.perf_counter()
    spectrogram_plot(spectrogram_image(y, sr, mid, mid + 2.0))
    zoom = time.perf_counter() - t0
    n_segments = sum(len(v) for v in tracks.values())
    return {
        "file": path.name,
        "duration_s": round(len(y) / sr, 1),
        "segments": n_segments,
        "build_s": round(build, 3),
        "render_s": round(render, 3),
        "payload_kB": round(payload / 1024),
        "zoom_redraw_s": round(zoom, 3),
    }


def main(argv: list[str] | None = None) -> int:
    """Print one line per measured recording."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument(
        "--json", type=Path, help="default: benchmarks/results/dashboard-<date>.json"
    )
    args = parser.parse_args(argv)
    meta = collect_metadata()
    hv.extension("bokeh", logo=False)
    results = []
    if args.data.is_dir():
        longest = _longest_recording(args.data)
        corpus = load_corpus(longest.parent)
        results.append(measure(longest, {"reference": corpus.segments_of(longest)}))
    with tempfile.TemporaryDirectory() as tmp:
        path, tracks = _long_synthetic(Path(tmp), args.minutes)
        results.append(measure(path, tracks))
    for r in results:
        print(json.dumps(r))
    print(f"written {write_results('dashboard', {'recordings': results}, args.json, meta)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
