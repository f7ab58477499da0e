"""Annotation granularity learnt from hand labels, and the settings that follow from it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from canapy.config import config_from_dict, default_config
from canapy.exceptions import ConfigError
from canapy.granularity import (
    GranularityReport,
    apply_granularity,
    describe_granularity,
    infer_granularity,
)
from canapy.synthetic import synth_song
from canapy.synthetic_canary import synth_canary_song


def _corpus(kinds: list[str], seed: int = 0) -> pd.DataFrame:
    """Segments of one song per entry of ``kinds`` ("finch" or "canary")."""
    rng = np.random.default_rng(seed)
    tables = []
    for i, kind in enumerate(kinds):
        if kind == "finch":
            _, seg = synth_song(rng)
        else:
            _, seg = synth_canary_song(rng, n_phrases=(8, 12))
        tables.append(seg.assign(audio_path=f"song_{i:03d}.wav"))
    return pd.concat(tables, ignore_index=True)


def test_finch_like_corpus_is_syllable_level():
    report = infer_granularity(_corpus(["finch"] * 8))
    assert report.granularity == report.inferred == "syllable"
    assert report.source == "inferred" and report.warning is None
    assert report.confidence > 0.9
    assert report.stats["syllable_files"] == 8 and report.stats["phrase_files"] == 0
    assert report.stats["same_label_neighbour_share"] > 0.2  # repeats of one label


def test_canary_like_corpus_is_phrase_level():
    report = infer_granularity(_corpus(["canary"] * 6))
    assert report.granularity == "phrase" and report.confidence > 0.9
    assert report.warning is None
    assert report.stats["same_label_neighbour_share"] == 0.0
    assert report.stats["long_segment_share"] > 0.4


def test_mixed_corpus_picks_the_majority_and_warns(caplog):
    report = infer_granularity(_corpus(["canary"] * 7 + ["finch"] * 3))
    assert report.granularity == "phrase"
    assert report.stats["phrase_files"] == 7 and report.stats["syllable_files"] == 3
    assert report.warning is not None and "mixed" in report.warning
    assert "3 of 10 files look syllable-level" in report.warning
    assert 0.5 <= report.confidence < 0.9
    assert "mixed" in caplog.text
    flipped = infer_granularity(_corpus(["canary"] * 3 + ["finch"] * 7))
    assert flipped.granularity == "syllable" and "mixed" in flipped.warning


def test_silence_segments_do_not_vote():
    segs = _corpus(["finch"] * 3)
    silences = pd.DataFrame(
        {"audio_path": "song_000.wav", "onset_s": [10.0], "offset_s": [20.0], "label": ["SIL"]}
    )
    report = infer_granularity(pd.concat([segs, silences]))
    assert report.stats["n_segments"] == len(segs)
    assert report.granularity == "syllable"


def test_config_overrides_the_inference_with_a_warning():
    segs = _corpus(["canary"] * 4)
    cfg = config_from_dict({"postprocess": {"granularity": "syllable"}})
    adapted, report = apply_granularity(cfg, segs)
    assert report.granularity == "syllable" and report.inferred == "phrase"
    assert report.source == "config" and "look phrase-level" in report.warning
    assert adapted.postprocess.min_gap_ms == 0.0
    assert "set by postprocess.granularity" in report.describe()


def test_bad_granularity_value_is_rejected():
    with pytest.raises(ConfigError, match="postprocess.granularity"):
        config_from_dict({"postprocess": {"granularity": "phrases"}})


def test_phrase_level_settings_bridge_gaps_and_absorb_blips():
    segs = _corpus(["canary"] * 6)
    cfg, report = apply_granularity(default_config(), segs)
    stats = report.stats
    assert cfg.postprocess.min_gap_ms == pytest.approx(
        min(max(stats["gap_q95_ms"], 20), 1000), abs=1e-3
    )
    assert cfg.postprocess.min_gap_ms > 60  # longer than any gap inside a phrase
    assert cfg.postprocess.min_duration_ms == pytest.approx(
        0.5 * stats["q01_duration_ms"], abs=1e-3
    )
    assert cfg.postprocess.min_duration_ms > default_config().postprocess.min_duration_ms
    assert cfg.training.boundary_ms == 0.0
    assert cfg.postprocess.granularity == "auto"  # a retraining on other data infers again
    assert report.parameters["min_gap_ms"] == cfg.postprocess.min_gap_ms


def test_syllable_level_settings_only_shrink():
    segs = _corpus(["finch"] * 4)
    cfg, report = apply_granularity(default_config(), segs)
    assert cfg == default_config()  # 40-150 ms syllables: the defaults already fit
    assert report.parameters["min_gap_ms"] == 0.0


def test_empty_corpus_changes_nothing():
    empty = pd.DataFrame(columns=["audio_path", "onset_s", "offset_s", "label"])
    cfg, report = apply_granularity(default_config(), empty)
    assert cfg == default_config() and report.inferred == "unknown"
    assert report.granularity == "syllable"


def test_report_round_trips_and_describes_itself():
    report = infer_granularity(_corpus(["canary"] * 3))
    _, report = apply_granularity(default_config(), _corpus(["canary"] * 3))
    again = GranularityReport.from_dict(report.to_dict())
    assert again.to_dict() == report.to_dict()
    line = describe_granularity(report.to_dict())
    assert line.startswith("phrase-level (inferred from 3 files")
    assert "merged across gaps" in line
    assert describe_granularity(None) == ""
