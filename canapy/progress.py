"""Progress reporting: one callback type shared by the workflow, the CLI and the dashboard.

A long step takes a ``progress(fraction, message)`` callable, where ``fraction`` runs from
0 to 1. The workflow never draws anything itself: the CLI passes a tqdm bar
(:func:`terminal_progress`), the dashboard a callback that updates its state.

Examples
--------
>>> seen = []
>>> half = scaled(lambda f, msg: seen.append((round(f, 2), msg)), 0.5, 1.0)
>>> half(0.0, "start"); half(0.5, "middle"); half(2.0, "clipped")
>>> seen
[(0.5, 'start'), (0.75, 'middle'), (1.0, 'clipped')]
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator

__all__ = ["ProgressFn", "no_progress", "scaled", "terminal_progress"]

logger = logging.getLogger(__name__)

ProgressFn = Callable[[float, str], None]
"""``progress(fraction, message)``: ``fraction`` in [0, 1], ``message`` a short status."""


def no_progress(fraction: float, message: str) -> None:
    """Default progress callback: log at debug level, draw nothing.

    Parameters
    ----------
    fraction : float
        Share of the work done, from 0 to 1.
    message : str
        What is being done.

    Examples
    --------
    >>> no_progress(0.5, "half way")
    """
    logger.debug("%3.0f%% %s", 100 * fraction, message)


def scaled(progress: ProgressFn, lo: float, hi: float) -> ProgressFn:
    """Map a sub-step's progress from [0, 1] onto ``[lo, hi]`` of ``progress``.

    Parameters
    ----------
    progress : ProgressFn
        The callback of the whole task.
    lo, hi : float
        The share of the whole task this sub-step covers.

    Returns
    -------
    ProgressFn
        A callback for the sub-step; fractions outside [0, 1] are clipped.

    Examples
    --------
    >>> seen = []
    >>> scaled(lambda f, msg: seen.append(f), 0.2, 0.4)(0.5, "x")
    >>> seen
    [0.30000000000000004]
    """
    return lambda f, msg: progress(lo + (hi - lo) * min(1.0, max(0.0, f)), msg)


@contextlib.contextmanager
def terminal_progress(desc: str, quiet: bool = False) -> Iterator[ProgressFn]:
    """A tqdm bar on stderr driven by ``progress(fraction, message)`` callbacks.

    Parameters
    ----------
    desc : str
        Label shown before the bar.
    quiet : bool
        Draw nothing (the callback still accepts calls).

    Yields
    ------
    ProgressFn
        The callback to pass to the workflow; the bar is closed on exit.

    Examples
    --------
    >>> with terminal_progress("demo", quiet=True) as progress:
    ...     progress(0.5, "half way")
    """
    from tqdm import tqdm  # lazy: only commands that draw a bar pay for it

    bar = tqdm(
        total=100,
        desc=desc,
        disable=quiet,
        unit="%",
        leave=False,
        bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed} {postfix}",
    )

    def update(fraction: float, message: str) -> None:
        bar.n = round(100 * fraction)
        bar.set_postfix_str(message[:50], refresh=False)
        bar.refresh()

    try:
        yield update
    finally:
        bar.close()
