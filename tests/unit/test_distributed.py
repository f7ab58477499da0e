"""Annotation and training on a Dask LocalCluster give the single-process results."""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from canapy.batch import annotate_many, local_submit
from canapy.config import default_config
from canapy.corpus import load_corpus
from canapy.distributed import dask_submitter, in_order, open_client, share
from canapy.streaming import StreamSettings
from canapy.synthetic import make_example_corpus, synth_song
from canapy.workflow import fit_annotators

pytest.importorskip("dask.distributed")

RATE = 16000
SMALL = StreamSettings(block_s=3.0, piece_s=8.0, context_s=1.0, scan_block_s=4.0)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("dist")
    corpus = load_corpus(make_example_corpus(root / "corpus", n_files=5, seed=0))
    cfg = default_config()
    cfg = replace(
        cfg,
        reservoir=replace(cfg.reservoir, units=60),
        training=replace(cfg.training, models=("syntactic",), default_model="syntactic"),
    )
    audio = root / "audio"
    audio.mkdir()
    rng = np.random.default_rng(7)
    for k in range(5):  # short files, and one long one (streamed in pieces)
        sf.write(audio / f"s{k}.wav", synth_song(rng, RATE)[0], RATE, subtype="FLOAT")
    long = np.concatenate([synth_song(rng, RATE)[0] for _ in range(4)])
    sf.write(audio / "long.wav", long, RATE, subtype="FLOAT")
    (audio / "broken.wav").write_bytes(b"RIFF not really a wav file")
    return corpus, cfg, sorted(audio.iterdir())


@pytest.fixture(scope="module")
def annotator(setup):
    corpus, cfg, _ = setup
    return fit_annotators(corpus, list(corpus.annotated), cfg, RATE)["syntactic"]


def _annotate(ann, files, out: Path, submit=local_submit, model=None):
    return annotate_many(
        ann, files, out, settings=SMALL, stream_above_s=10.0, submit=submit, model=model
    )


def _same_files(a: Path, b: Path) -> None:
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir()) and len(names) == 6
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_in_order_keeps_order_with_a_window():
    out = list(in_order(local_submit, lambda x: x * 2, [(k,) for k in range(10)], window=3))
    assert out == [2 * k for k in range(10)]


@pytest.mark.slow
def test_local_cluster_annotation_and_training_match_single_process(setup, annotator, tmp_path):
    corpus, cfg, files = setup
    single = _annotate(annotator, files, tmp_path / "single")
    assert list(single.failed) == [str(files[0])]  # broken.wav, reported by name
    assert "broken.wav" in single.failed[str(files[0])]
    assert len(single.streamed) == 1
    with open_client(workers=2, processes=False) as client:
        submit = dask_submitter(client)
        report = _annotate(annotator, files, tmp_path / "dask", submit, share(client, annotator))
        assert report.failed.keys() == single.failed.keys()
        _same_files(tmp_path / "single", tmp_path / "dask")
        paths = list(corpus.annotated)
        here = fit_annotators(corpus, paths, cfg, RATE)["syntactic"].estimator
        there = fit_annotators(corpus, paths, cfg, RATE, submit=submit)["syntactic"].estimator
    np.testing.assert_array_equal(here.mean_, there.mean_)
    np.testing.assert_array_equal(here.scale_, there.scale_)
    np.testing.assert_allclose(here.Wout_, there.Wout_, rtol=1e-4, atol=1e-5)


def _slow_piece(*args):
    """A task slow enough for a worker to be killed while it runs."""
    from canapy.streaming import pieces_proba

    time.sleep(1.5)
    return pieces_proba(*args)


def _profiler_enabled() -> bool:
    import dask

    return bool(dask.config.get("distributed.worker.profile.enabled"))


def _kill_a_busy_worker(client, killed: list) -> None:
    """Wait until a worker runs a piece task, then kill its process (SIGKILL).

    Patient (up to 3 min): on a loaded machine the workers start and receive the model
    slowly, and the piece tasks come after the short files and the scan.
    """
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        for address, keys in client.processing().items():
            if any("_slow_piece" in str(k) for k in keys):
                pid = client.run(os.getpid, workers=[address])[address]
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
        time.sleep(0.05)


@pytest.mark.slow
def test_killed_worker_tasks_are_redone(setup, annotator, tmp_path):
    import sys

    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests
    files = setup[2]
    _annotate(annotator, files, tmp_path / "single")
    with open_client(workers=2, processes=True, memory_limit="1GB") as client:
        assert not any(client.run(_profiler_enabled).values())  # no dashboard: no profiler
        base = dask_submitter(client)
        from canapy import streaming

        def submit(fn, *args):  # stretch the piece tasks so that the kill lands mid-run
            return base(_slow_piece if fn is streaming.pieces_proba else fn, *args)

        killed: list[int] = []
        killer = threading.Thread(target=_kill_a_busy_worker, args=(client, killed))
        killer.start()
        report = _annotate(annotator, files, tmp_path / "dask", submit, share(client, annotator))
        killer.join()
        assert killed and killed[0] not in client.run(os.getpid).values()  # it did die
    assert {Path(p).name for p in report.failed} == {"broken.wav"}, report.failed
    _same_files(tmp_path / "single", tmp_path / "dask")


def _largest_blas_pool() -> int:
    from threadpoolctl import threadpool_info

    return max((pool["num_threads"] for pool in threadpool_info()), default=1)


def test_shared_object_is_on_every_worker_and_tasks_run_with_pinned_threads():
    from canapy.threads import blas_threads

    with open_client(workers=2, processes=False) as client:
        shared = share(client, {"model": 1})
        assert len(client.who_has([shared])[shared.key]) == 2  # no worker fetches it mid-run
        task = dask_submitter(client)(_largest_blas_pool)
        assert task.key.startswith("_largest_blas_pool-")
        assert task.result() <= blas_threads()
