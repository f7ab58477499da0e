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
from collections.abc import Iterator

from canapy.exceptions import ConfigError

__all__ = ["ENV_VAR", "blas_threads", "limited_threads"]

ENV_VAR = "CANAPY_THREADS"
"""Environment variable giving the number of BLAS / OpenMP threads."""


def blas_threads() -> int:
    """Thread count for BLAS / OpenMP pools: ``$CANAPY_THREADS`` or 1.

    >>> blas_threads() >= 1
    True
    """
    value = os.environ.get(ENV_VAR, "1").strip()
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise ConfigError(f"{ENV_VAR}={value!r}: expected a positive whole number of threads")
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
