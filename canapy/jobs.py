"""Background jobs with progress and cancellation; annotation on a bounded process pool.

The service runs every annotation (a request's or a job's) on one pool of ``max_workers``
worker processes, so the number of recordings in memory at once is bounded and the event
loop stays free to answer ``/health``. The workers run at a lower CPU priority
(``worker_nice``): on a machine with as many busy cores as workers, the server process
still gets the CPU at once when a request arrives. A job's function receives a
``progress(fraction, message)`` callback; calling it after :meth:`JobManager.cancel`
raises :class:`JobCancelledError`, which is how a job stops between two files.

Examples
--------
>>> jobs = JobManager(max_workers=1)
>>> job = jobs.submit(lambda progress: progress(1.0, "done") or 42, "answer")
>>> jobs.wait(job.id).status, jobs.get(job.id).result
('done', 42)
>>> jobs.shutdown()
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import (
    CancelledError,
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
)
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from canapy.exceptions import CanapyError

__all__ = [
    "WORKER_NICE",
    "Job",
    "JobCancelledError",
    "JobManager",
    "exit_with_parent",
    "lower_priority",
]

logger = logging.getLogger(__name__)

ProgressFn = Callable[[float, str], None]
_MAX_FINISHED = 200
WORKER_NICE = 10
"""How much lower the annotation workers' CPU priority is than the server's (``os.nice``)."""


class JobCancelledError(CanapyError):
    """Raised inside a job's progress callback once the job was cancelled."""


def lower_priority(increment: int) -> None:
    """Initializer of an annotation worker: lower its CPU priority and tie it to the server.

    Unix niceness only ever goes up without privileges (19 at most); where it is not
    supported the worker keeps the server's priority. See :func:`exit_with_parent`.
    """
    if increment > 0:
        with contextlib.suppress(OSError, AttributeError):
            os.nice(increment)
    exit_with_parent()


def exit_with_parent() -> None:
    """Ask the kernel to end this process when the process that started it ends (Linux).

    A server stopped by a signal exits without shutting its worker pool down; a worker
    waiting for its next task would then wait forever, since its siblings keep the task
    queue open. ``prctl(PR_SET_PDEATHSIG, SIGTERM)`` ends it with the server, whatever
    ended the server. Elsewhere this does nothing.
    """
    import signal
    import sys

    if not sys.platform.startswith("linux"):
        return
    import ctypes

    parent = os.getppid()
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGTERM), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the server ended before the request took effect
        os._exit(0)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class Job:
    """State of one background job (read by ``GET /jobs/{id}``)."""

    id: str
    description: str
    status: str = "queued"
    """``queued``, ``running``, ``done``, ``failed`` or ``cancelled``."""
    progress: float = 0.0
    message: str = ""
    result: Any = None
    error: str | None = None
    created_at: str = field(default_factory=_now)
    finished_at: str | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event, repr=False)
    future: Future | None = field(default=None, repr=False)

    @property
    def finished(self) -> bool:
        """Whether the job ended (done, failed or cancelled)."""
        return self.status in ("done", "failed", "cancelled")

    def to_dict(self) -> dict[str, Any]:
        """JSON view without the result."""
        return {
            "id": self.id,
            "description": self.description,
            "status": self.status,
            "progress": round(self.progress, 4),
            "message": self.message,
            "error": self.error,
            "created_at": self.created_at,
            "finished_at": self.finished_at,
        }


class JobManager:
    """Runs functions on a bounded thread pool and tracks them as :class:`Job` objects.

    Parameters
    ----------
    max_workers : int
        Annotation worker processes, hence the number of annotations running at once.
    job_threads : int, optional
        Threads orchestrating jobs (default ``max_workers + 2``).
    processes : bool
        Annotate in worker processes (default); False runs :meth:`annotate` on threads.
    worker_nice : int
        Niceness added to the worker processes (:data:`WORKER_NICE`; 0 keeps the server's).
    """

    def __init__(
        self,
        max_workers: int = 2,
        job_threads: int | None = None,
        processes: bool = True,
        worker_nice: int = WORKER_NICE,
    ) -> None:
        self.max_workers = max_workers
        self.worker_nice = worker_nice
        self.job_threads = job_threads or max_workers + 2
        self.executor = ThreadPoolExecutor(self.job_threads, thread_name_prefix="canapy-job")
        self.processes = processes
        self._pool: Executor | None = None
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def run(self, fn: Callable[[], Any]) -> Future:
        """Run ``fn`` on a job thread; returns its future."""
        return self.executor.submit(fn)

    def annotate(self, fn: Callable[..., Any], *args: Any) -> Future:
        """Run ``fn(*args)`` on the bounded annotation pool (``fn`` must be picklable)."""
        with self._lock:
            if self._pool is None:
                if self.processes:
                    context = multiprocessing.get_context("spawn")  # no fork of a threaded server
                    self._pool = ProcessPoolExecutor(
                        self.max_workers,
                        mp_context=context,
                        initializer=lower_priority,
                        initargs=(self.worker_nice,),
                    )
                else:
                    self._pool = ThreadPoolExecutor(self.max_workers, "canapy-annotate")
            pool = self._pool
        return pool.submit(fn, *args)

    def submit(self, fn: Callable[[ProgressFn], Any], description: str) -> Job:
        """Start ``fn(progress)`` as a tracked job."""
        job = Job(uuid.uuid4().hex[:16], description)

        def progress(fraction: float, message: str) -> None:
            if job.cancel_event.is_set():
                raise JobCancelledError(f"job {job.id} was cancelled")
            job.progress, job.message = max(job.progress, float(fraction)), message

        def body() -> None:
            if job.cancel_event.is_set():
                return
            job.status = "running"
            try:
                job.result = fn(progress)
                job.status, job.progress = "done", 1.0
            except JobCancelledError:
                job.status = "cancelled"
            except CanapyError as exc:
                job.status, job.error = "failed", str(exc)
            except Exception as exc:  # a job must never take the server down
                logger.exception("job %s failed", job.id)
                job.status, job.error = "failed", f"internal error ({type(exc).__name__})"
            finally:
                job.finished_at = _now()

        with self._lock:
            self._forget_old()
            self._jobs[job.id] = job
        job.future = self.executor.submit(body)
        return job

    def _forget_old(self) -> None:
        finished = [j for j in self._jobs.values() if j.finished]
        for job in finished[: max(0, len(finished) - _MAX_FINISHED)]:
            del self._jobs[job.id]

    def get(self, job_id: str) -> Job | None:
        """The job ``job_id`` (None if unknown or forgotten)."""
        with self._lock:
            return self._jobs.get(job_id)

    def cancel(self, job_id: str) -> Job | None:
        """Ask a job to stop; a queued job never starts, a running one stops at its next
        progress report."""
        job = self.get(job_id)
        if job is not None and not job.finished:
            job.cancel_event.set()
            if job.future is not None and job.future.cancel():
                job.status, job.finished_at = "cancelled", _now()
        return job

    def wait(self, job_id: str, timeout: float | None = None) -> Job:
        """Block until the job ends (for scripts and tests)."""
        job = self.get(job_id)
        if job is None:
            raise KeyError(job_id)
        if job.future is not None:
            with contextlib.suppress(CancelledError):  # cancelled before it started
                job.future.exception(timeout)
        return job

    def running(self) -> int:
        """Number of jobs queued or running."""
        with self._lock:
            return sum(not j.finished for j in self._jobs.values())

    def shutdown(self) -> None:
        """Cancel pending work and stop the threads."""
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            job.cancel_event.set()
        self.executor.shutdown(wait=False, cancel_futures=True)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
