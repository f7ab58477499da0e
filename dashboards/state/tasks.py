"""Running long work off the event loop: busy flag, progress, status, cancel.

A :class:`TaskRunner` owns two single-thread executors: one for the session's long tasks
(loading, training, evaluating, reviewing; one at a time, cancellable) and one for the
viewer's light work (predicting a file). Work threads never change state themselves:
their results go through ``dispatch``, which the served app sets to "run this on the
session's event loop" (in a notebook or a test, results are applied at once).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import param

from canapy.exceptions import CanapyError

__all__ = ["Cancelled", "Dispatch", "Progress", "TaskRunner", "describe_error", "timing_text"]

logger = logging.getLogger(__name__)

Dispatch = Callable[[Callable[[], None]], None]
Progress = Callable[[float, str], None]


class Cancelled(Exception):  # noqa: N818 - reads better at the raise site than CancelledError
    """Raised inside a task's progress callback when the user cancelled the task."""


def _immediate(fn: Callable[[], None]) -> None:
    fn()


def describe_error(exc: BaseException, doing: str = "") -> str:
    """The message shown for ``exc``: a user error as is, a bug with its type (and logged).

    A :class:`~canapy.exceptions.CanapyError` names the problem and the fix; anything else
    is a bug, logged with its traceback.

    Examples
    --------
    >>> describe_error(CanapyError("no corpus loaded"))
    'no corpus loaded'
    >>> describe_error(KeyError("x"), "testing")
    "KeyError: 'x'"
    """
    if isinstance(exc, CanapyError):
        return str(exc)
    logger.error("%s failed", doing or "an action", exc_info=exc)
    return f"{type(exc).__name__}: {exc}"


def _clock(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}" if whole >= 60 else f"{whole} s"


def timing_text(elapsed_s: float, fraction: float) -> str:
    """Elapsed time, and the time left once a little progress gives an estimate.

    Examples
    --------
    >>> timing_text(3.2, 0.0)
    '3 s elapsed'
    >>> timing_text(30.0, 0.25)
    '30 s elapsed, about 1:30 left'
    """
    text = f"{_clock(elapsed_s)} elapsed"
    if 0.02 <= fraction < 1.0 and elapsed_s >= 2.0:
        text += f", about {_clock(elapsed_s * (1.0 - fraction) / fraction)} left"
    return text


class TaskRunner(param.Parameterized):
    """Runs the session's work on background threads and reports it as params.

    Examples
    --------
    >>> runner = TaskRunner()
    >>> runner.submit("adding", lambda progress: 1 + 1, lambda r: None).result()
    2
    >>> runner.status, runner.busy
    ('adding done', False)
    >>> runner.close()
    """

    busy = param.Boolean(default=False, doc="A long task (load, train, evaluate) is running.")
    task = param.String(default="", doc="What the running task does.")
    progress = param.Number(default=0.0, bounds=(0.0, 1.0))
    status = param.String(default="")
    timing = param.String(default="", doc="Elapsed time and ETA of the running task.")
    error = param.String(default="", doc="Message of the last failed task or action.")
    view_status = param.String(default="", doc="Status of the viewer's background work.")
    message = param.String(default="", doc="Feedback of the last action (see run_action).")
    message_kind = param.Selector(default="info", objects=["info", "success", "danger"])
    workers = param.Integer(
        default=0,
        bounds=(0, 64),
        doc="Dask workers on this machine for training and annotating (0: in this process).",
    )
    worker_processes = param.Boolean(
        default=True, doc="Local Dask workers are processes (False: threads of this one)."
    )

    def __init__(self, dispatch: Dispatch | None = None, **params: Any) -> None:
        super().__init__(**params)
        self.dispatch: Dispatch = dispatch or _immediate
        self._work = ThreadPoolExecutor(1, thread_name_prefix="canapy-work")
        self._view = ThreadPoolExecutor(1, thread_name_prefix="canapy-view")
        self._cancel = threading.Event()
        self._closed = False

    def _make_progress(self) -> Progress:
        last = [0.0, -1.0]
        started = time.monotonic()

        def progress(fraction: float, message: str) -> None:
            if self._cancel.is_set():
                raise Cancelled(message)
            now = time.monotonic()
            if now - last[0] < 0.1 and fraction - last[1] < 0.01 and fraction < 1.0:
                return  # throttle: a few updates per second are plenty for a progress bar
            last[:] = [now, fraction]
            fraction = min(1.0, max(0.0, fraction))
            timing = timing_text(now - started, fraction)
            self.send(lambda: self.param.update(progress=fraction, status=message, timing=timing))

        return progress

    def send(self, fn: Callable[[], None]) -> None:
        """Run ``fn()`` where state may change (through ``dispatch``), unless closed."""
        if self._closed:
            return
        try:
            self.dispatch(fn)
        except Exception:  # the session may be gone while a task finishes
            logger.debug("could not dispatch an update", exc_info=True)

    def submit(
        self,
        task: str,
        job: Callable[[Progress], Any],
        apply: Callable[[Any], None],
        done: str = "",
        cleanup: Callable[[], None] | None = None,
    ) -> Future:
        """Run ``job(progress)`` on the work thread; then ``apply(result)`` via dispatch.

        Raises CanapyError when another task runs. A failed or cancelled job runs
        ``cleanup()``, sets :attr:`status` (and :attr:`error`) and re-raises in the future.
        """
        if self.busy:
            raise CanapyError(f"busy with {self.task}: wait for it to finish or cancel it")
        self._cancel.clear()
        self.param.update(
            busy=True, task=task, progress=0.0, status=f"{task}...", error="", timing=""
        )

        started = time.monotonic()

        def finish(**values: Any) -> None:
            took = f"took {_clock(time.monotonic() - started)}"
            self.param.update(busy=False, task="", timing=took, **values)

        def run() -> Any:
            try:
                result = job(self._make_progress())
            except Cancelled:
                if cleanup:
                    cleanup()
                self.send(lambda: finish(progress=0.0, status=f"{task} cancelled"))
                raise
            except Exception as exc:
                if cleanup:
                    cleanup()
                message = describe_error(exc, task)
                self.send(lambda: finish(progress=0.0, status=f"{task} failed", error=message))
                raise

            def complete() -> None:
                try:
                    apply(result)
                except Exception as exc:
                    logger.exception("applying the result of %s failed", task)
                    finish(status=f"{task} failed", error=f"{type(exc).__name__}: {exc}")
                else:
                    finish(progress=1.0, status=done or f"{task} done")

            self.send(complete)
            return result

        return self._work.submit(run)

    @contextlib.contextmanager
    def distributed(self, progress: Progress, model: Any = None) -> Iterator[dict[str, Any]]:
        """Keyword arguments that send one task's work to :attr:`workers` local Dask workers.

        ``{}`` when :attr:`workers` is 0 (the work stays in this process); otherwise
        :func:`canapy.distributed.task_options` of a local cluster started for the task
        (``model`` is copied to every worker). The cluster is closed when the task ends,
        is cancelled (at its next progress report) or fails: no worker outlives its task.
        """
        if not self.workers:
            yield {}
            return
        from canapy.distributed import open_client, task_options

        progress(0.0, f"starting {self.workers} Dask worker(s)")
        with open_client(workers=self.workers, processes=self.worker_processes) as client:
            yield task_options(client, model)

    def submit_view(
        self, message: str, job: Callable[[], Any], apply: Callable[[Any], None]
    ) -> Future:
        """Light work for the viewer (predictions of a file) on its own thread."""
        self.view_status = message

        def run() -> Any:
            try:
                result = job()
            except Exception as exc:
                logger.exception("%s failed", message)
                failed = f"{message} failed: {exc}"
                self.send(lambda: setattr(self, "view_status", failed))
                raise

            def complete() -> None:
                apply(result)
                self.view_status = ""

            self.send(complete)
            return result

        return self._view.submit(run)

    def run_action(
        self,
        action: Callable[..., Any],
        *args: Any,
        ok: str | Callable[[Any], str] = "",
        inline: bool = False,
    ) -> Any:
        """Call ``action(*args)`` for a button or a key; never raises.

        A :class:`~canapy.exceptions.CanapyError` (the user can fix it) lands in
        :attr:`message` with ``inline=True``, else in :attr:`error`; anything else is a
        bug, logged with its traceback and shown in :attr:`error`. On success, ``ok``
        (a text, or a function of the result) becomes the :attr:`message`.

        Returns
        -------
        The action's result, or None when it failed.

        Examples
        --------
        >>> runner = TaskRunner()
        >>> runner.run_action(int, "x1", inline=True) is None, runner.error[:10]
        (True, 'ValueError')
        >>> runner.run_action(int, "12", ok=lambda n: f"got {n}"), runner.message
        (12, 'got 12')
        >>> runner.close()
        """
        try:
            result = action(*args)
        except Exception as exc:
            text = describe_error(exc, getattr(action, "__name__", "an action"))
            if inline and isinstance(exc, CanapyError):
                self.param.update(message=text, message_kind="danger")
            else:
                self.error = text
            return None
        text = ok(result) if callable(ok) else ok
        if text:
            self.param.update(message=text, message_kind="success")
        elif self.message_kind == "danger":
            self.message = ""
        return result

    def wait(self, timeout: float | None = None) -> None:
        """Block until the work submitted so far has finished (for notebooks and scripts).

        With the default ``dispatch`` the results are applied by then; in a served
        session they are applied on the event loop just after.
        """
        self._work.submit(lambda: None).result(timeout)
        self._view.submit(lambda: None).result(timeout)

    def cancel(self) -> None:
        """Ask the running task to stop at its next progress report."""
        if self.busy:
            self._cancel.set()
            self.status = f"cancelling {self.task}..."

    def close(self) -> None:
        """Cancel running work and release the threads (the session is gone)."""
        self._cancel.set()
        self._closed = True
        self._work.shutdown(wait=False, cancel_futures=True)
        self._view.shutdown(wait=False, cancel_futures=True)
