"""The analysis on real song: the Koumura Bird0 map and the canary M1 syntax."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from canapy.analysis.syntax import analyze_syntax
from canapy.cli import main
from canapy.corpus import load_corpus

pytestmark = pytest.mark.integration


@pytest.mark.slow  # UMAP + HDBSCAN on real song: minutes of CPU on a busy 2-core machine
def test_koumura_map_clusters_follow_the_hand_labels(shared_data, tmp_path):
    """15 Bird0 training files, log-mel map: clusters agree with the labels (V > 0.8).

    The full figure (40 files, both representations) is in benchmarks/bench_analysis.py.
    """
    folder = shared_data / "bengalese_finch" / "koumura_bird0"
    data = tmp_path / "bird0"
    data.mkdir()
    for i in range(15):
        for ext in (".wav", ".csv"):
            (data / f"Bird0_{i}{ext}").symlink_to(folder / f"Bird0_{i}{ext}")
    out = tmp_path / "report"
    args = ["analyze", str(data), "--output", str(out), "--quiet", "--cache-dir", str(tmp_path)]
    assert main(args) == 0
    info = json.loads((out / "map.json").read_text())
    assert info["agreement_with_labels"]["v_measure"] > 0.8
    seg = pd.read_csv(out / "segments.csv", dtype={"syll": str})
    assert set(seg["syll"]) <= {str(d) for d in range(9)}  # "0" stays a string label
    assert seg[["x", "y", "cluster"]].notna().all().all()


@pytest.mark.slow  # reads all 459 real annotation files (seconds of CPU in crowsetta)
def test_canary_phrase_syntax_on_all_459_files(shared_data):
    folder = shared_data / "canary" / "m1_2016_spring_annotations"
    corpus = load_corpus(
        folder, annot_format="aud-seq", require_audio=False, overlap_tolerance_s=0.1
    )
    assert len(corpus.annotated) == 459
    syn = analyze_syntax(corpus.segments, unit="phrase")
    h = syn.conditional_entropy_bits
    assert h[0] > h[1] > h[2] > 0  # phrase order carries information, beyond one phrase
    assert 0 < syn.normalised_entropy_rate < 0.5  # canary phrase syntax is far from random
    assert syn.n_files == 459 and "SIL" not in syn.label_counts
    json.dumps(syn.to_dict(), allow_nan=False)
