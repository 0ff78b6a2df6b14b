"""Forked worker processes: Ctrl-C is the main process's to handle, not theirs."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from multiprocessing.pool import Pool


def ignore_interrupts() -> None:
    """Leave Ctrl-C to the main process, which stops its workers itself.

    The terminal sends SIGINT to the whole process group: a worker that died of it
    printed a traceback, and one that died inside a pool's queue could leave the
    main process waiting for it for ever.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextmanager
def fork_pool(workers: int) -> Iterator[Pool]:
    """A pool of forked workers (they start in milliseconds, importing nothing), stopped on exit.

    Leaving the block terminates the workers, whether the work is done, failed or
    was interrupted: nothing is left running behind a Ctrl-C.
    """
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(workers, initializer=ignore_interrupts) as pool:
        yield pool
