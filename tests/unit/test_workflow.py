"""Workflow helpers: adaptation to the corpus, sample rate, validation split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import soundfile as sf

from canapy.config import config_from_dict, default_config
from canapy.workflow import _split_validation, adapt_to_corpus, resolve_sample_rate


def test_songbird_durations_leave_the_defaults_alone():
    segs = pd.DataFrame({"onset_s": np.arange(50) * 0.2, "offset_s": np.arange(50) * 0.2 + 0.05})
    assert adapt_to_corpus(default_config(), segs) == default_config()


def test_very_short_calls_shrink_post_processing():
    segs = pd.DataFrame({"onset_s": np.arange(50) * 0.1, "offset_s": np.arange(50) * 0.1 + 0.004})
    cfg = adapt_to_corpus(default_config(), segs)
    assert cfg.postprocess.min_duration_ms == 2.0
    assert cfg.postprocess.smoothing_ms == 2.0
    assert cfg.training.boundary_ms == 1.0


def test_sample_rate_follows_the_corpus_unless_configured(tmp_path):
    for i, sr in enumerate([22050, 22050, 44100]):
        sf.write(tmp_path / f"{i}.wav", np.zeros(1000, np.float32), sr)
    paths = sorted(tmp_path.glob("*.wav"))
    assert resolve_sample_rate(default_config(), paths) == 22050
    assert resolve_sample_rate(config_from_dict({"audio": {"sample_rate": 16000}}), paths) == 16000


def test_validation_split_is_seeded_and_disjoint():
    paths = [f"f{i}" for i in range(10)]
    train, val = _split_validation(paths, 0.2, seed=1)
    assert len(val) == 2 and not set(train) & set(val)
    assert _split_validation(paths, 0.2, seed=1) == (train, val)
    assert _split_validation(paths[:3], 0.2, seed=1) == (paths[:3], [])
