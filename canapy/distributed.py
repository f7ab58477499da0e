"""Run annotation and training on a Dask cluster (this machine or many).

- :func:`open_client` starts a :class:`dask.distributed.LocalCluster` of ``workers``
  processes on this machine, or connects to an existing scheduler (``dask scheduler`` /
  ``dask worker``, or dask-jobqueue on SLURM: see ``docs/howto-cluster.md``).
- :func:`dask_submitter` turns the client into the ``submit(fn, *args)`` function that
  :func:`canapy.batch.annotate_many` and :func:`canapy.workflow.fit_annotators` take:
  failing tasks are retried, tasks of a worker that dies are redone elsewhere (Dask's own
  bookkeeping), and results come back to this process, which writes every file.
- Training: :func:`file_sums` (feature scaling, one task per file) and
  :func:`group_normal_equations` (the ridge sums ``XᵀX``, ``XᵀY`` of a group of files run
  as one reservoir batch) are the tasks; the client adds them in file order, so the
  readout equals the single-process one to float tolerance.

Dask is imported only inside :func:`open_client`: the rest of Canapy does not need it.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from canapy.config import ReadoutConfig, ReservoirConfig
from canapy.exceptions import CanapyError
from canapy.features import FeatureExtractor
from canapy.models import EsnClassifier
from canapy.threads import limited_threads

__all__ = [
    "dask_submitter",
    "file_sums",
    "group_normal_equations",
    "in_order",
    "open_client",
    "share",
    "task_options",
]

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def open_client(
    workers: int | None = None,
    scheduler: str | None = None,
    threads_per_worker: int = 1,
    processes: bool = True,
    memory_limit: str | float | None = "auto",
) -> Iterator[Any]:
    """A :class:`dask.distributed.Client`, closed (with its local cluster) on exit.

    Parameters
    ----------
    workers : int, optional
        Start a local cluster of this many workers.
    scheduler : str, optional
        Address of a running scheduler (``tcp://host:8786``); takes precedence.
    threads_per_worker : int
        Threads per local worker (1: the reservoir loop is single-threaded).
    processes : bool
        Local workers are processes (True) or threads of this process.
    memory_limit : str or float, optional
        Per-worker memory limit of a local cluster (Dask's syntax).
    """
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - declared dependency
        raise CanapyError(
            "distributed runs need dask[distributed]: pip install 'dask[distributed]'"
        ) from exc
    if scheduler:
        try:
            client = Client(scheduler, timeout="30s")
        except (OSError, TimeoutError) as exc:
            raise CanapyError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from exc
        try:
            yield client
        finally:
            client.close()
        return
    if not workers or workers < 1:
        raise CanapyError(f"--workers must be at least 1, not {workers}")
    import dask

    # No Dask dashboard is served, so the workers' statistical profiler (a thread sampling
    # every task's stack every 10 ms) would only take CPU from the work.
    with dask.config.set({"distributed.worker.profile.enabled": False}):
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=threads_per_worker,
            processes=processes,
            memory_limit=memory_limit,
            dashboard_address=None,
        )
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def _pinned(fn: Callable, *args: Any) -> Any:
    """``fn(*args)`` with one BLAS thread (or ``CANAPY_THREADS``), whatever the worker's setup."""
    with limited_threads():
        return fn(*args)


def dask_submitter(client: Any, retries: int = 2) -> Callable[..., Any]:
    """``submit(fn, *args)`` on ``client``: a Dask future, retried ``retries`` times on error.

    Each task runs with :func:`canapy.threads.limited_threads` (one BLAS thread unless
    ``CANAPY_THREADS`` says otherwise): a worker started by hand, or a thread worker, would
    otherwise let every task spread BLAS threads over cores the other workers are using.
    Task keys start with ``fn``'s name (Dask's task stream and dashboard stay readable).
    Tasks are not ``pure``: the same arguments submitted twice run twice (a failed file can
    be resubmitted alone).
    """

    def submit(fn: Callable, *args: Any) -> Any:
        key = f"{getattr(fn, '__name__', 'task')}-{uuid.uuid4().hex}"
        return client.submit(_pinned, fn, *args, retries=retries, key=key)

    return submit


def _identity(obj: Any) -> Any:
    return obj


def share(client: Any, obj: Any) -> Any:
    """A future of ``obj`` held by every worker, for tasks to take as an argument.

    ``obj`` (e.g. the annotator) is sent once, then copied to each worker before the tasks
    start: every worker unpickles it once, and the scheduler, seeing it everywhere, places
    tasks by load rather than next to the only copy (which left one worker idle).
    It is computed by a task rather than scattered: if the workers holding it die, the
    scheduler computes it again instead of cancelling the tasks that need it (scattered
    data cannot be recomputed, see dask/distributed#3149).
    """
    future = client.submit(_identity, obj, pure=False)
    client.replicate([future])
    return future


def task_options(client: Any | None, model: Any = None) -> dict[str, Any]:
    """Keyword arguments that send a step's work to ``client``; ``{}`` without a client.

    ``submit`` (:func:`dask_submitter`) and, given a ``model``, ``model`` (a future of it
    held by every worker, :func:`share`): what :func:`canapy.workflow.annotate_files`,
    :func:`canapy.evaluation.predict_files` and :func:`canapy.workflow.train` take.
    """
    if client is None:
        return {}
    options: dict[str, Any] = {"submit": dask_submitter(client)}
    if model is not None:
        options["model"] = share(client, model)
    return options


def in_order(
    submit: Callable[..., Any], fn: Callable, args: Sequence[tuple], window: int = 4
) -> Iterator[Any]:
    """Results of ``fn(*a)`` for each ``a`` of ``args``, in order, ``window`` tasks in flight.

    The window bounds what waits in memory (results of tasks finished before their turn).
    """
    pending: list[Any] = []
    it = iter(args)
    for a in it:
        pending.append(submit(fn, *a))
        if len(pending) >= window:
            break
    for a in it:
        yield pending.pop(0).result()
        pending.append(submit(fn, *a))
    while pending:
        yield pending.pop(0).result()


def file_sums(extractor: FeatureExtractor, path: str | Path) -> tuple[int, np.ndarray, np.ndarray]:
    """Frame count, per-dimension sum and sum of squares (float64) of one file's features."""
    x = np.asarray(extractor(path), np.float64)
    return len(x), x.sum(axis=0), (x**2).sum(axis=0)


def group_normal_equations(
    reservoir: ReservoirConfig,
    readout: ReadoutConfig,
    classes: Sequence[str],
    mean: np.ndarray,
    scale: np.ndarray,
    extractor: FeatureExtractor,
    paths: Sequence[str | Path],
    targets: Sequence[np.ndarray],
) -> EsnClassifier:
    """An :class:`EsnClassifier` holding the ridge sums of a few files only (to :meth:`merge`).

    The files run through the reservoir as one batch, as in a single-process training
    (one file at a time is about 2.5 times slower per file). Its reservoir is dropped
    before it travels back: the client has its own.
    """
    clf = EsnClassifier(reservoir, readout).begin(classes, mean, scale)
    clf.partial_fit([extractor(p) for p in paths], list(targets))
    del clf.reservoir_
    return clf
