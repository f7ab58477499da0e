"""``canapy example``: the finch-like (default) and canary-like corpora."""

from __future__ import annotations

import pandas as pd

from canapy.cli import main


def test_example_kinds(tmp_path, capsys):
    assert main(["example", str(tmp_path / "finch"), "--n-files", "2"]) == 0
    assert "synthetic example corpus" in capsys.readouterr().out
    finch = pd.read_csv(tmp_path / "finch" / "song_000.csv", dtype={"syll": str})
    assert main(["example", str(tmp_path / "canary"), "--kind", "canary", "--n-files", "2"]) == 0
    assert "phrase-level, canary-like" in capsys.readouterr().out
    canary = pd.read_csv(tmp_path / "canary" / "song_000.csv", dtype={"syll": str})
    assert (canary["end"] - canary["start"]).median() > 3 * (finch["end"] - finch["start"]).median()
    assert sorted(p.name for p in (tmp_path / "canary").glob("*.csv")) == [
        "song_000.csv",
        "song_001.csv",
    ]
