"""Shared pytest helpers."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
"""Real recordings and annotation samples (``../shared/data`` beside the repository)."""

TINY_CONFIG = {
    "reservoir": {"units": 100},
    "training": {"models": ["syntactic"], "default_model": "syntactic", "validation_fraction": 0.0},
}
"""A config for tests where the model's size is not what is tested: one 100-unit model."""


def missing_shared_data(path: Path = SHARED_DATA) -> str | None:
    """Why the real-data tests cannot run (``None`` when ``path`` is there).

    Under CI (the ``CI`` environment variable set) a missing folder is a failure, never a
    skip: a green CI run must have run the real-data tests.
    """
    if path.is_dir():
        return None
    return f"shared data folder {path} not found (it sits beside the repo, as ../shared/data)"


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist (``-n 2``) the worker processes already share the cores: each runs
    Canapy's independent work (forward/backward reservoir passes, ...) in one thread instead
    of two, unless ``CANAPY_PIPELINE_THREADS`` is set."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        os.environ.setdefault("CANAPY_PIPELINE_THREADS", "1")


def pytest_collection_finish(session: pytest.Session) -> None:
    """Move what collection imported (hundreds of thousands of module, class and function
    objects: panel, bokeh, pandas, ...) out of the garbage collector's reach: it lives until
    the end anyway, and each full collection would otherwise traverse it again (~0.2 s each,
    about 10 per worker in the quick loop)."""
    import gc

    gc.collect()
    gc.freeze()


SLOW_DOCTEST_MODULES = {"syllable_map.py"}
"""Modules whose doctests fit a UMAP map (numba compiles it: many seconds of CPU)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``slow`` every browser test (it serves the dashboard and drives Chromium) and the
    doctests of ``SLOW_DOCTEST_MODULES`` (the collection of ``canapy/`` included)."""
    for item in items:
        if item.get_closest_marker("slow") is not None:
            continue
        is_ui = item.get_closest_marker("ui") is not None
        is_doctest = isinstance(item, pytest.DoctestItem)
        if is_ui or (is_doctest and item.path.name in SLOW_DOCTEST_MODULES):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def shared_data() -> Path:
    """``SHARED_DATA``; skip the test when the folder is absent (fail under ``CI``)."""
    why = missing_shared_data()
    if why is not None:
        if os.environ.get("CI"):
            pytest.fail(f"{why}; CI is set, so the real-data tests must run")
        pytest.skip(why)
    return SHARED_DATA


def _copy_of(made: dict, key: tuple, make: Callable[[], Path], dest: Path) -> Path:
    """Copy to ``dest`` the folder ``make()`` returns, calling ``make`` once per ``key``."""
    import shutil

    if key not in made:
        made[key] = make()
    shutil.copytree(made[key], dest)
    return Path(dest)


@pytest.fixture(scope="session")
def example_corpus(tmp_path_factory):
    """``example_corpus(dest, **kwargs)``: a copy of ``make_example_corpus(**kwargs)`` at ``dest``.

    Each distinct corpus is synthesised once per test session and copied for every test
    that asks (tests may damage their copy): synthesis is ~50 ms, a copy ~2 ms.
    """
    from canapy.synthetic import make_example_corpus

    made: dict[tuple, Path] = {}

    def copy(dest: Path, **kwargs) -> Path:
        def make() -> Path:
            return make_example_corpus(tmp_path_factory.mktemp("example") / "data", **kwargs)

        return _copy_of(made, tuple(sorted(kwargs.items())), make, dest)

    return copy


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, example_corpus):
    """``trained_run(dest, config_toml=None, **kwargs)``: a copy, at ``dest``, of the run
    folder that ``canapy train --no-cache --quiet --config CONFIG`` makes from
    ``make_example_corpus(**kwargs)`` (``config_toml`` is the config file's text;
    ``None``: ``TINY_CONFIG``).

    For tests where a run is an input, not what is tested: each distinct (config text,
    corpus) is trained once per test session and copied for every test that asks (tests may
    damage their copy). The run's ``training_files`` name the session's own copy of the
    corpus, which no test touches.
    """
    import tomli_w

    from canapy.cli import main

    made: dict[tuple, Path] = {}

    def copy(dest: Path, config_toml: str | None = None, **kwargs) -> Path:
        config_toml = tomli_w.dumps(TINY_CONFIG) if config_toml is None else config_toml

        def make() -> Path:
            root = tmp_path_factory.mktemp("trained")
            data = example_corpus(root / "data", **kwargs)
            (root / "config.toml").write_text(config_toml)
            argv = ["train", str(data), "-o", str(root / "run"), "--config"]
            code = main([*argv, str(root / "config.toml"), "--no-cache", "--quiet"])
            assert code == 0, "the shared test run failed to train"
            return root / "run"

        return _copy_of(made, (config_toml, tuple(sorted(kwargs.items()))), make, dest)

    return copy


@pytest.fixture
def tiny_config_toml(tmp_path) -> Path:
    """``TINY_CONFIG`` written as a ``config.toml`` for ``canapy train --config``."""
    import tomli_w

    path = tmp_path / "tiny.toml"
    path.write_bytes(tomli_w.dumps(TINY_CONFIG).encode())
    return path
