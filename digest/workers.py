"""Forked worker processes: how they start, hand back results, and leave Ctrl-C to the main one."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

T = TypeVar("T")


def ignore_interrupts() -> None:
    """Leave Ctrl-C to the main process, which stops its workers itself.

    The terminal sends SIGINT to the whole process group: a worker that died of it
    printed a traceback, and one that died inside a pool's queue could leave the
    main process waiting for it for ever.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def sigterm_as_interrupt() -> Any:
    """Let `kill` stop a long-running command as Ctrl-C does, so that it cleans up.

    Returns the handler it replaced, to put back, or None where handlers cannot be
    set (not the main thread: a server run from a test's thread).
    """

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:
        return None


@contextmanager
def interrupts_held() -> Iterator[None]:
    """Hold Ctrl-C back until the block is done, then raise it as usual.

    A worker process is started inside: an interrupt in the middle of a start left a
    forked worker that nothing had a handle on, working on (the feeds process ran to
    its end) with the terminal's pipes open. A worker forked here inherits the
    holding handler until it ignores SIGINT itself, so it prints no traceback either.
    Only the main thread can set handlers, and only Python's own handler is held (not
    SIGINT ignored, as under nohup).
    """
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not callable(previous):
        yield
        return
    caught: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if caught:
            previous(signal.SIGINT, None)


def start(process: BaseProcess) -> None:
    """Start `process` with Ctrl-C held back; if one came meanwhile, stop it and raise."""
    try:
        with interrupts_held():
            process.start()
    except BaseException:
        if process.pid is not None:
            process.terminate()
            process.join()
        raise


def fork_map(
    function: Callable[[int], T],
    count: int,
    processes: int,
    meanwhile: Callable[[], object] | None = None,
    chunk: int | None = None,
    raw: bool = False,
    name: str = "worker",
    notes: Callable[[], Iterable[bytes]] | None = None,
    on_note: Callable[[bytes], object] | None = None,
) -> Generator[T, None, None]:
    """`function(0)`, `function(1)`, ... in order, worked out in `processes` forked workers.

    Forked, the workers inherit `function` and all it reads; chunks of `chunk`
    indices (by default a few per worker) are dealt out in turn, and each worker sends
    its results back a chunk at a time through a pipe of its own (see `streams`):
    pickled, or with `raw` (results that are bytes, as pages are) one frame each, as
    they are. With `raw`, a worker sends what `notes()` returns after each result,
    before that result, and `on_note` is given each here before the result is yielded.
    `meanwhile` runs here once the workers have started. A generator, so
    results can be used (pages written) while the rest are worked out. Nothing is
    shared but those pipes: with multiprocessing.Pool, a Ctrl-C while a worker was
    sending a large result could hang the build for good (its terminate() waited for a
    lock that worker held). However the generator ends, no worker outlives it.
    """
    import multiprocessing
    import pickle

    from digest import streams
    from digest.errors import OutputError

    size = chunk or max(1, -(-count // (processes * 4)))
    chunks = [(i, min(i + size, count)) for i in range(0, count, size)]
    context = multiprocessing.get_context("fork")
    started: list[tuple[BaseProcess, int]] = []
    try:
        for number in range(processes):
            read, write = streams.pipe()
            try:
                process = context.Process(
                    target=_map_worker,
                    args=(
                        function,
                        chunks[number::processes],
                        raw,
                        write,
                        [r for _, r in started],
                        notes,
                    ),
                    daemon=True,
                )
                start(process)
            except BaseException:
                os.close(read)
                raise
            finally:
                os.close(write)
            started.append((process, read))
        if meanwhile is not None:
            meanwhile()
        for number, (first, stop) in enumerate(chunks):
            read = started[number % processes][1]
            for _ in range(stop - first if raw else 1):
                try:
                    kind, data = streams.receive(read)
                    while kind == b"N":
                        if on_note is not None:
                            on_note(data)
                        kind, data = streams.receive(read)
                except EOFError:
                    raise OutputError(f"a {name} process died") from None
                if kind == b"X":
                    raise pickle.loads(data)
                if raw:
                    yield cast(T, data)
                else:
                    yield from pickle.loads(data)
    finally:
        for worker, read in started:
            if worker.is_alive():
                worker.terminate()
            worker.join()
            os.close(read)


def _map_worker(
    function: Callable[[int], object],
    chunks: list[tuple[int, int]],
    raw: bool,
    fd: int,
    others: list[int],
    notes: Callable[[], Iterable[bytes]] | None,
) -> None:
    import pickle

    from digest import streams

    ignore_interrupts()  # the parent stops this process
    for other in others:  # the parent's ends of the other workers' pipes
        os.close(other)
    try:
        for first, stop in chunks:
            if raw:
                for index in range(first, stop):
                    result = cast(bytes, function(index))
                    for note in notes() if notes is not None else ():
                        streams.send(fd, b"N", note)
                    streams.send(fd, b"R", result)
            else:
                done = [function(i) for i in range(first, stop)]
                streams.send(fd, b"R", pickle.dumps(done, protocol=pickle.HIGHEST_PROTOCOL))
    except BaseException as exc:  # raised again in the parent
        streams.send(fd, b"X", pickle.dumps(exc))
