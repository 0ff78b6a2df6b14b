"""What the output folder holds: its files' stats, taken as page reuse asks or ahead.

A rebuild keeps thousands of pages as they are, and checks each one's file first
(a stat: 20-30 ms of a 1,000-issue rebuild). `digest serve` has a core to spare
while it rebuilds, so a small helper process takes those stats while the build
loads and keys its pages (see `StatAhead`).

A file is the last build's only if nothing changed it after that build finished:
writing, renaming, linking or removing a file sets its ctime to now, adding or
removing a name sets its folder's, and nothing can set either back. So a page
deleted, replaced, edited or added by hand is made again, as a cold build would.
"""

from __future__ import annotations

import os
import signal
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from digest.workers import start


@dataclass(frozen=True, slots=True)
class FileStat:
    """What writing needs to know of a live file: its inode, names and last inode change."""

    ino: int
    nlink: int
    ctime_ns: int

    @classmethod
    def of(cls, st: os.stat_result) -> FileStat:
        """The parts of a stat that matter here."""
        return cls(st.st_ino, st.st_nlink, st.st_ctime_ns)


def _ids(root: str, path: str) -> tuple[int, int, int] | None:
    """(inode, names, ctime) of the regular file `path` under `root`; None if none is there.

    A symlink is not a file of the site (a build never makes one): not followed.
    """
    try:
        st = os.lstat(f"{root}/{path}")
    except OSError:
        return None
    return (st.st_ino, st.st_nlink, st.st_ctime_ns) if stat.S_ISREG(st.st_mode) else None


def untouched(root: str, paths: Sequence[str], finished: int) -> bool:
    """True if `root` holds the files `paths` and their folders as they were at `finished`."""
    for path in paths:
        ids = _ids(root, path)
        if ids is None or ids[2] > finished:
            return False
    return _folders_untouched(root, _folders(paths), finished)


def moved_untouched(root: str, paths: Sequence[str], finished: int, marker: str) -> bool:
    """True if no name was added to or removed from the site `root` since `finished`.

    For a site moved aside whole since, as the replaced site is (it becomes the
    spare): the move set the ctime of `root` itself, so its own names are listed
    and compared with those of `paths` (and the `marker` file) instead.
    """
    folders = _folders(paths)
    folders.discard("")
    try:
        names = set(os.listdir(root))
    except OSError:
        return False
    tops = {path.partition("/")[0] for path in paths}
    return names <= tops | {marker} and _folders_untouched(root, folders, finished)


def _folders(paths: Sequence[str]) -> set[str]:
    """Every folder that holds one of `paths`, the root ('') included."""
    folders = {""}
    for path in paths:
        folder = path.rpartition("/")[0]
        while folder not in folders:
            folders.add(folder)
            folder = folder.rpartition("/")[0]
    return folders


def _folders_untouched(root: str, folders: set[str], finished: int) -> bool:
    for folder in folders:
        try:
            if os.lstat(f"{root}/{folder}" if folder else root).st_ctime_ns > finished:
                return False
        except OSError:
            return False
    return True


class LiveFiles:
    """Which files the output folder holds, as page reuse asks; their stats for writing."""

    def __init__(
        self,
        root: str,
        ahead: StatAhead | None = None,
        expected: Sequence[str] = (),
        changed_after: int | None = None,
    ) -> None:
        self.root = root
        self.changed_after = changed_after
        """When the last build finished: a file changed later is not that build's (None: any)."""
        self.stats: dict[str, FileStat] = {}
        """The stats of the files found, for `write_outputs`."""
        self._ahead = ahead if ahead is not None and expected else None
        self._expected = expected
        self._known: dict[str, FileStat | None] | None = None
        self._pid = os.getpid()
        if self._ahead is not None:
            self._ahead.ask(root, expected)

    def exists(self, path: str) -> bool:
        """True if `path` is a file in the output folder, as the last build left it."""
        if self._ahead is not None and self._known is None and os.getpid() == self._pid:
            # Only the process that asked reads the answer (a build's forked workers
            # look themselves): one read by a fork would leave this one waiting.
            self._known = self._answers(self._ahead)
        found = self._known.get(path, _UNKNOWN) if self._known is not None else _UNKNOWN
        if found is _UNKNOWN:
            ids = _ids(self.root, path)
            found = FileStat(*ids) if ids is not None else None
        if not isinstance(found, FileStat):
            return False
        if self.changed_after is not None and found.ctime_ns > self.changed_after:
            return False  # changed by hand (see the module's docstring): made again
        self.stats[path] = found
        return True

    def _answers(self, ahead: StatAhead) -> dict[str, FileStat | None]:
        answers = ahead.answer()
        if answers is None or len(answers) != len(self._expected):
            return {}  # the helper is gone: every file is looked at here
        return {
            path: FileStat(*ids) if ids is not None else None
            for path, ids in zip(self._expected, answers, strict=True)
        }


_UNKNOWN: Any = object()
"""Not among the files asked about ahead."""


class StatAhead:
    """A helper process that stats output files while this one builds.

    `digest serve` starts it once, before its first build: forking the server later,
    with a large site in memory, costs more than the stats save. Each rebuild asks
    about the files the last one wrote and reads the answers when it first needs one;
    the stats are as fresh as those the build would take itself (after it started).
    """

    def __init__(self) -> None:
        import multiprocessing

        context = multiprocessing.get_context("fork")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_answer_loop, args=(child, self._conn), daemon=True)
        try:
            start(self._process)
        finally:
            child.close()
        self._asked = False

    def ask(self, root: str, paths: Sequence[str]) -> None:
        """Have the files `paths` under `root` looked at (the answers come in that order)."""
        try:
            # An answer a build asked for but did not read (it found nothing changed,
            # or failed) is read first: the helper may be waiting to send it.
            self.answer()
            # Absolute: the helper's working folder is where the asker was when it forked
            # (the build server moves to each client's).
            self._conn.send((os.path.abspath(root), list(paths)))
            self._asked = True
        except (OSError, ValueError):
            pass  # the helper is gone: `answer` says so

    def answer(self) -> list[tuple[int, int, int] | None] | None:
        """The answers to the question asked last; None if none is due or the helper is gone."""
        if not self._asked:
            return None
        self._asked = False
        try:
            answers: list[tuple[int, int, int] | None] = self._conn.recv()
        except (OSError, EOFError, ValueError):
            return None
        return answers

    def close(self) -> None:
        """Stop the helper."""
        self._conn.close()
        self._process.join(timeout=2)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()


def _answer_loop(conn: Any, asker: Any) -> None:
    from digest.workers import ignore_interrupts

    # The fork holds a copy of the asker's end too: closed, so that the asker closing
    # its own (`close`) ends this loop at once rather than after `close`'s timeout.
    asker.close()

    ignore_interrupts()  # it ends when the server closes the pipe
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the server's handler it inherited
    while True:
        try:
            root, paths = conn.recv()
        except (EOFError, OSError):
            return
        conn.send([_ids(root, path) for path in paths])
