"""Byte frames through a pipe: how forked workers hand back pages, outputs and results.

A page goes through the pipe as it is: no pickling on either side, and the reader
gets it as the bytes the kernel copied it into (no zeroed buffer first, no copy
after). Through a process pool's result queue each page was copied four times more,
a tenth of a large build.
"""

from __future__ import annotations

import os
import struct

_HEADER = struct.Struct("<cQ")
"""A frame's kind (one byte) and its length."""

PIPE_BYTES = 1 << 20
"""The pipe buffer asked for (Linux): a writer runs this far ahead of its reader."""


def pipe() -> tuple[int, int]:
    """A pipe (read end, write end) with a buffer as large as the system allows."""
    read, write = os.pipe()
    try:
        import fcntl

        fcntl.fcntl(write, getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_BYTES)
    except (ImportError, OSError):
        pass  # not Linux, or a lower limit: the default buffer works, only slower
    return read, write


def send(fd: int, kind: bytes, data: bytes) -> None:
    """Write one frame to `fd`."""
    write_all(fd, _HEADER.pack(kind, len(data)))
    write_all(fd, data)


def receive(fd: int) -> tuple[bytes, bytes]:
    """Read one frame from `fd`; EOFError if the writer closed its end first."""
    kind, size = _HEADER.unpack(_read_exactly(fd, _HEADER.size))
    return kind, _read_exactly(fd, size)


def write_all(fd: int, data: bytes) -> None:
    """Write all of `data` to `fd` (a write may take only part of it)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read_exactly(fd: int, size: int) -> bytes:
    # Most frames come in one read (the pipe holds a megabyte); the rest in pieces.
    parts = []
    while size:
        got = os.read(fd, size)
        if not got:
            raise EOFError("the writing process ended")
        parts.append(got)
        size -= len(got)
    return parts[0] if len(parts) == 1 else b"".join(parts)
