"""How many BLAS / OpenMP threads Canapy's numerical work may use.

The reservoir recursion is sequential and made of small products: extra BLAS threads
would only spin-wait between steps, and on a machine whose cores are shared with other
processes spinning threads slow everyone down. The large products (input drive, ridge
normal equations) are a minor share of the work. So training and annotation run with one
BLAS thread unless ``CANAPY_THREADS`` says otherwise (e.g. ``CANAPY_THREADS=2`` on an idle
two-core machine).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import TypeVar

from canapy.exceptions import ConfigError

__all__ = [
    "ENV_VAR",
    "PIPELINE_ENV_VAR",
    "blas_threads",
    "limited_threads",
    "pipeline_threads",
    "run_concurrently",
]

T = TypeVar("T")

ENV_VAR = "CANAPY_THREADS"
"""Environment variable giving the number of BLAS / OpenMP threads."""


def blas_threads() -> int:
    """Thread count for BLAS / OpenMP pools: ``$CANAPY_THREADS`` or 1.

    >>> blas_threads() >= 1
    True
    """
    return _threads_from_env(ENV_VAR, 1)


def _threads_from_env(name: str, default: int) -> int:
    value = os.environ.get(name, str(default)).strip()
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise ConfigError(f"{name}={value!r}: expected a positive whole number of threads")
    return n


@contextlib.contextmanager
def limited_threads(n: int | None = None) -> Iterator[int]:
    """Limit BLAS / OpenMP thread pools to ``n`` (default :func:`blas_threads`) inside a block.

    >>> with limited_threads(1) as n:
    ...     n
    1
    """
    from threadpoolctl import threadpool_limits

    n = blas_threads() if n is None else n
    with threadpool_limits(limits=n):
        yield n


PIPELINE_ENV_VAR = "CANAPY_PIPELINE_THREADS"
"""Environment variable giving the number of Python threads a pipeline may run at once."""


def pipeline_threads() -> int:
    """Threads for independent pieces of work (``$CANAPY_PIPELINE_THREADS``, default 2).

    The reservoir's sparse products, numpy's element-wise functions, the FFTs and the
    single-threaded BLAS products all release the GIL, so independent pieces of work (the
    forward and backward reservoir passes, the next file's states while the current one is
    added to the normal equations, two groups of files) can run on two cores at once.
    Unlike spinning BLAS threads, a thread waiting for its input sleeps, so this costs
    nothing when other processes hold the cores. Capped by the cores this process may use.

    >>> 1 <= pipeline_threads() <= max(1, len(os.sched_getaffinity(0)))
    True
    """
    n = _threads_from_env(PIPELINE_ENV_VAR, 2)
    return max(1, min(n, len(os.sched_getaffinity(0))))


def run_concurrently(*calls: Callable[[], T]) -> list[T]:
    """Results of ``calls``, run in parallel threads when :func:`pipeline_threads` allows.

    The first call runs in the calling thread; exceptions propagate.

    >>> run_concurrently(lambda: 1, lambda: 2)
    [1, 2]
    """
    if len(calls) < 2 or pipeline_threads() < 2:
        return [call() for call in calls]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=len(calls) - 1, thread_name_prefix="canapy") as pool:
        futures = [pool.submit(call) for call in calls[1:]]
        first = calls[0]()
        return [first, *(f.result() for f in futures)]
