"""Fixtures of the unit tests: a small trained run shared by the registry and service tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from canapy.config import config_from_dict
from canapy.corpus import load_corpus
from canapy.synthetic import make_example_corpus
from canapy.workflow import train


@pytest.fixture(scope="session")
def small_run(tmp_path_factory) -> dict[str, Path]:
    """A synthetic corpus and a run with an ESN (syntactic) and a logreg model.

    Small reservoirs; trained once per test session. Returns ``data``, ``run``, ``cache``.
    """
    root = tmp_path_factory.mktemp("small-run")
    data = make_example_corpus(root / "data", n_files=6, seed=1)
    cfg = config_from_dict(
        {
            "reservoir": {"units": 60},
            "training": {
                "models": ["syntactic", "logreg"],
                "default_model": "syntactic",
                "validation_fraction": 0.2,
            },
            "logreg": {"frames_per_class": 500},
        }
    )
    cache = root / "cache"
    train(load_corpus(data), cfg, root / "run", cache_dir=cache)
    return {"data": data, "run": root / "run", "cache": cache}
