"""`digest build --daemon`: a build server that stays, so a rebuild skips start-up and loading.

A fresh `digest build` after an edit spends most of its time starting Python, importing
and reading the cache back in; `digest serve` pays that once and then rebuilds in a
fraction of it. The build server does the same for `digest build`. The first
`digest build --daemon` starts it in the background (one per content folder; its socket,
lock and log are in `.digest-cache/`), and it runs that build and every later `--daemon`
one: the client sends its working folder, options, umask and terminal, prints what the
server's build printed and exits with its code, as if it had built the site itself.

The server stops after IDLE_MINUTES without a request, on `digest daemon stop`, and when
a client runs other code or another Python than it does (the server's loaded code and
caches would not be that client's); the client then starts a new one.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from digest.cache import cache_dir_for, code_identity, fingerprint

if TYPE_CHECKING:
    from digest.live import StatAhead

SOCKET_NAME = "daemon.sock"
LOCK_NAME = "daemon.lock"
"""Held by the running server, with its pid in it: one server per content folder."""
LOG_NAME = "daemon.log"
"""The background server's own output: why it failed to start, if it did."""
IDLE_MINUTES = 30.0
START_SECONDS = 15.0
"""How long a client waits for the server it started to listen."""
STOP_SECONDS = 10.0
"""How long a new server waits for the old one to let go of the lock."""
CHECK_SECONDS = 5.0
"""How often an idle server checks that its socket file is still there."""
MAX_ADDRESS = 100
"""Bytes of a socket path used as it is (the limit is 107 on Linux, 103 on macOS)."""
PROC_FD = "/proc/self/fd"
"""Where Linux gives a short path to an open folder, for sockets deeper than that."""
PASSED_ENV = ("NO_COLOR", "FORCE_COLOR", "TERM")
"""The client's environment variables a build reads (colour); the rest is the server's."""


class Unavailable(Exception):
    """No build server can be reached or started; the message says why."""


def identity() -> str:
    """This code, this Python and its installed packages: what server and client must share.

    sys.path[0] (the script's folder, or the working folder with `-m`) is left out: it
    differs between the client and the server it starts, and when it holds the code
    that runs, `code_identity` names that code.
    """
    folders: list[tuple[str, int | None]] = []
    for entry in sys.path[1:]:
        try:
            folders.append((entry, os.stat(entry).st_mtime_ns))  # changes on every install
        except OSError:
            folders.append((entry, None))
    cache_home = (os.environ.get("XDG_CACHE_HOME"), os.environ.get("HOME"))
    return fingerprint(code_identity(), sys.executable, sys.version, folders, cache_home)


def supported() -> bool:
    """Unix sockets and file locks: not on Windows."""
    return hasattr(socket, "AF_UNIX") and sys.platform != "win32"


# -- the client ----------------------------------------------------------------------------


def build_through_server(args: argparse.Namespace) -> int:
    """Run `digest build` (parsed `args`) in the content folder's build server; its exit code.

    Starts the server if none runs, or if the one that runs is out of date. Raises
    Unavailable when it cannot be reached; the caller then builds in this process.
    """
    umask = os.umask(0)
    os.umask(umask)
    request = {
        "op": "build",
        "identity": identity(),
        "cwd": os.getcwd(),
        "args": {
            key: str(value) if isinstance(value, Path) else value
            for key, value in vars(args).items()
            if key not in ("func", "daemon", "stat_ahead")
        },
        "env": {key: os.environ.get(key) for key in PASSED_ENV},
        "tty": [sys.stdout.isatty(), sys.stderr.isatty()],
        "umask": umask,
    }
    content = Path(args.content)
    _socket_path(content)  # before starting a server that no client could reach
    for _ in range(3):  # a stale server, then one that quit as we came: start anew
        try:
            conn = _connect(content)
        except Unavailable:
            conn = _start(content)
        with conn:
            answer = _exchange(conn, request)
        if "exit" in answer:
            return int(answer["exit"])
        if "stale" in answer:
            _wait_stopped(content)
    raise Unavailable(f"the build server kept stopping; see {cache_dir_for(content) / LOG_NAME}")


def ask_server(content: Path, op: str) -> dict[str, Any]:
    """Send `op` ("status" or "stop") to the content folder's server; Unavailable if none."""
    with _connect(content) as conn:
        answer = _exchange(conn, {"op": op})
    if op == "stop" and "exit" in answer:
        _wait_stopped(content)
    return answer


def _socket_path(content: Path) -> Path:
    """The server's socket file; Unavailable if no client could reach it (too deep)."""
    path = cache_dir_for(content) / SOCKET_NAME
    if len(bytes(path)) > MAX_ADDRESS and not os.path.isdir(PROC_FD):
        raise Unavailable(f"the path of {path} is too long for a socket")
    return path


def _connect(content: Path) -> socket.socket:
    """A connection to the content folder's server; Unavailable if none listens."""
    path = _socket_path(content)
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        if len(bytes(path)) <= MAX_ADDRESS:
            conn.connect(str(path))
        else:
            # A socket's address holds 107 bytes at most; Linux reaches a file at any
            # depth through a short path to an open handle on its folder.
            folder = os.open(path.parent, getattr(os, "O_PATH", os.O_RDONLY) | os.O_DIRECTORY)
            try:
                conn.connect(f"{PROC_FD}/{folder}/{SOCKET_NAME}")
            finally:
                os.close(folder)
    except OSError as exc:
        conn.close()
        raise Unavailable(f"no build server listens at {path}") from exc
    return conn


def _start(content: Path) -> socket.socket:
    """Start a server in the background and connect to it once it listens."""
    import subprocess

    cache = cache_dir_for(content)
    # The server imports this very code: the same sys.path, whatever the working folder.
    code = (
        f"import sys; sys.path[:] = {sys.path!r}; "
        f"from digest.daemon import main; main({str(content.resolve())!r})"
    )
    try:
        cache.mkdir(parents=True, exist_ok=True)
        log_fd = os.open(cache / LOG_NAME, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(log_fd, "wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-c", code],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                cwd=cache,
                start_new_session=True,  # not stopped by the terminal's Ctrl+C
            )
    except OSError as exc:
        raise Unavailable(f"cannot start the build server: {exc}") from exc
    deadline = time.monotonic() + START_SECONDS
    while True:
        with contextlib.suppress(Unavailable):
            return _connect(content)
        # Exit 0: another client's server won the lock; it is about to listen.
        failed = proc.poll() not in (None, 0)
        if failed or time.monotonic() > deadline:
            if not failed:
                proc.kill()
            why = [""]
            with contextlib.suppress(OSError):
                why += (cache / LOG_NAME).read_text(errors="replace").strip().splitlines()
            last = f": {why[-1]}" if why[-1] else ""
            raise Unavailable(f"the build server did not start{last}")
        time.sleep(0.005)


def _exchange(conn: socket.socket, request: dict[str, Any]) -> dict[str, Any]:
    """Send the request; relay the server's output; return its last message.

    That is {"exit": code}, {"status": {...}}, {"stale": True} when the server found
    itself out of date and is stopping, or {} when it went away: either way the
    request was not run.
    """
    stream = conn.makefile("rwb")
    stream.write(json.dumps(request).encode() + b"\n")
    stream.flush()
    for line in stream:
        message = json.loads(line)
        if "out" in message:
            sys.stdout.write(message["out"])
        elif "err" in message:
            sys.stderr.write(message["err"])
        elif "flush" in message:
            sys.stdout.flush()
            sys.stderr.flush()
        elif "stale" in message:
            return {"stale": True}
        else:
            return dict(message)
    return {}


def _wait_stopped(content: Path) -> None:
    """Wait until no server listens for `content` (it removes its socket as it stops)."""
    deadline = time.monotonic() + STOP_SECONDS
    path = cache_dir_for(content) / SOCKET_NAME
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.01)


# -- the server ----------------------------------------------------------------------------


class _Relay:
    """A text stream that sends what is written to the client, as out or err messages."""

    def __init__(self, client: _Connection, kind: str, tty: bool) -> None:
        self.client = client
        self.kind = kind
        self.tty = tty
        self.encoding = "utf-8"
        self.errors = "strict"

    def write(self, text: str) -> int:
        self.client.send({self.kind: text})
        return len(text)

    def flush(self) -> None:
        self.client.send({"flush": True})

    def isatty(self) -> bool:
        return self.tty


class _Connection:
    """One client's connection; sends stop quietly once the client has gone (Ctrl+C)."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self.lock = threading.Lock()  # the progress line is written from its own thread
        self.gone = False

    def send(self, message: dict[str, Any]) -> None:
        with self.lock:
            if self.gone:
                return
            try:
                self.conn.sendall(json.dumps(message).encode() + b"\n")
            except OSError:
                self.gone = True  # the build goes on: it leaves the site whole either way


class BuildServer:
    """Runs builds of one content folder, one at a time, for the clients that connect."""

    def __init__(self, content: Path, idle_minutes: float) -> None:
        from digest.live import StatAhead
        from digest.site import Collector

        self.content = content.resolve()
        self.cache = cache_dir_for(self.content)
        self.idle = idle_minutes * 60
        self.identity = identity()
        self.collector = Collector()
        self.stat_ahead: StatAhead | None = None
        """Looks at the output folder's files while a build works, as under `digest serve`."""
        with contextlib.suppress(OSError, ValueError):  # no fork here: builds look themselves
            self.stat_ahead = StatAhead()
        self.builds = 0
        self.started = time.time()

    def run(self, listener: socket.socket, socket_id: tuple[int, int] | None) -> None:
        """Answer requests until idle for `idle` seconds, told to stop, out of date or
        unreachable (its socket file, `socket_id`, removed)."""
        last = time.monotonic()
        while True:
            wait = last + self.idle - time.monotonic()
            if wait <= 0:
                print("stopping: idle", flush=True)
                return
            wait = min(wait, CHECK_SECONDS)
            waiting = self.collector.uncollected > 0
            if waiting:  # garbage left for an idle moment: this is one, if nobody asks
                wait = min(wait, self.collector.IDLE_SECONDS)
            listener.settimeout(wait)
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                if waiting:
                    self.collector.collect()
                if _file_id(self.cache / SOCKET_NAME) != socket_id:
                    # .digest-cache/ deleted, say: no client can reach this server, and
                    # the next one starts another, which must not be confused with it.
                    print("stopping: its socket was removed", flush=True)
                    return
                continue
            with conn:
                conn.settimeout(None)
                if not self._answer(conn):
                    return
            last = time.monotonic()

    def close(self) -> None:
        """Stop the helper process."""
        if self.stat_ahead is not None:
            self.stat_ahead.close()

    def _answer(self, conn: socket.socket) -> bool:
        """Answer one request; False when the server should stop."""
        if not _same_user(conn):
            return True
        client = _Connection(conn)
        try:
            request = json.loads(conn.makefile("rb").readline())
        except (OSError, ValueError):  # not a client of ours, or gone already
            return True
        op = request.get("op") if isinstance(request, dict) else None
        if op == "status":
            client.send({"status": self.status()})
        elif op == "stop":
            print("stopping: asked to", flush=True)
            client.send({"exit": 0})
            return False
        elif op == "build":
            if request.get("identity") != self.identity:
                # The client runs other code or another Python: a new server must run it.
                print("stopping: a client runs other code", flush=True)
                client.send({"stale": True})
                return False
            self._build(request, client)
        return True

    def _build(self, request: dict[str, Any], client: _Connection) -> None:
        """Build as `digest build` would in the client's folder, relaying what it prints."""
        from digest import cli
        from digest.cache import SaveLater

        args = argparse.Namespace(**request["args"])
        args.content, args.out = Path(args.content), Path(args.out)
        args.no_cache = False  # a --no-cache build runs in the client's own process
        args.daemon = False
        args.func = cli.cmd_build
        args.stat_ahead = self.stat_ahead
        out = _Relay(client, "out", request["tty"][0])
        err = _Relay(client, "err", request["tty"][1])
        later = SaveLater()
        try:
            with (
                _client_settings(request),
                later,
                contextlib.redirect_stdout(out),
                contextlib.redirect_stderr(err),
            ):
                if args.content.resolve() != self.content:  # cannot be, but never build it
                    raise OSError(f"it serves {self.content}, not {args.content}")
                try:
                    code = cli.call(args)
                except Exception:  # as a build in the client would: say it all
                    traceback.print_exc()
                    code = 1
        except OSError as exc:  # the client's folder went, say
            err.write(f"error: the build server cannot run this build: {exc}\n")
            code = cli.EXIT_USAGE
        client.send({"exit": code})
        # The client is done: now the cache is written and the garbage collected.
        try:
            later.flush()
        except OSError as exc:  # a full disk, say: the site's own writes report that
            print(f"warning: the cache was not saved: {exc}", flush=True)
        self.builds += 1
        if self.collector.built():
            self.collector.collect()

    def status(self) -> dict[str, Any]:
        """The pid, content folder, builds run, uptime and memory, for `digest daemon status`."""
        import resource

        rss = 0
        with contextlib.suppress(OSError), open("/proc/self/statm") as f:
            rss = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        return {
            "pid": os.getpid(),
            "content": str(self.content),
            "builds": self.builds,
            "seconds": round(time.time() - self.started, 1),
            "rss_mb": round(rss / 2**20, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }


@contextlib.contextmanager
def _client_settings(request: dict[str, Any]) -> Iterator[None]:
    """The client's working folder, umask and colour settings, for one build."""
    saved_env = {key: os.environ.get(key) for key in PASSED_ENV}
    saved_cwd = os.getcwd()
    os.chdir(request["cwd"])
    saved_umask = os.umask(int(request["umask"]))
    try:
        for key, value in request["env"].items():
            if key in PASSED_ENV:
                _set_env(key, value)
        yield
    finally:
        os.umask(saved_umask)
        os.chdir(saved_cwd)
        for key, value in saved_env.items():
            _set_env(key, value)


def _set_env(key: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(key, None)
    else:
        os.environ[key] = value


def _same_user(conn: socket.socket) -> bool:
    """Only this user's processes may ask (the socket file is theirs alone too)."""
    import struct

    if not hasattr(socket, "SO_PEERCRED"):
        return True  # not Linux: the socket file's mode guards it
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _, uid, _ = struct.unpack("3i", creds)
    return bool(uid == os.getuid())


def serve_builds(content: Path, idle_minutes: float = IDLE_MINUTES) -> int:
    """Run the build server for `content` in this process until it stops; an exit code."""
    import fcntl
    import signal

    from digest.workers import sigterm_as_interrupt

    cache = cache_dir_for(content)
    cache.mkdir(parents=True, exist_ok=True)
    # Bound and reached by a path relative to the cache folder: short, whatever its path.
    os.chdir(cache)
    # Made first: its helper process is forked, and must not hold the lock or the socket.
    server = BuildServer(content, idle_minutes)
    lock = os.open(LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + STOP_SECONDS
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                # Another server has the lock: one that serves (started by a client at
                # the same time as this one), or one on its way out, whose place to take.
                if _listening() or time.monotonic() > deadline:
                    print(f"a build server already runs for {content}", flush=True)
                    return 0
                time.sleep(0.01)
        os.ftruncate(lock, 0)
        os.write(lock, f"{os.getpid()}\n".encode())
        with contextlib.suppress(FileNotFoundError):
            os.unlink(SOCKET_NAME)  # left by a server that was killed
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        umask = os.umask(0o177)  # the socket file: this user only
        try:
            listener.bind(SOCKET_NAME)
        finally:
            os.umask(umask)
        listener.listen(16)
        socket_id = _file_id(SOCKET_NAME)
        try:
            print(f"build server for {server.content}: pid {os.getpid()}", flush=True)
            previous = sigterm_as_interrupt()  # so that the socket file is removed
            try:
                server.run(listener, socket_id)
            finally:
                if previous is not None:
                    signal.signal(signal.SIGTERM, previous)
        finally:
            # Before the lock goes (a new server may then bind), and only if still ours.
            with contextlib.suppress(OSError):
                os.chdir(cache)
                if _file_id(SOCKET_NAME) == socket_id:
                    os.unlink(SOCKET_NAME)
            listener.close()
    finally:
        os.close(lock)
        server.close()
    return 0


def _file_id(path: str | Path) -> tuple[int, int] | None:
    """A file's device and inode: which file a path names now; None if none."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _listening() -> bool:
    """Whether a server listens on the socket in the working folder (the cache)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(SOCKET_NAME)
        except OSError:
            return False
    return True


def main(content: str, idle_minutes: float = IDLE_MINUTES) -> None:
    """The background server's entry point (see `_start`)."""
    try:
        code = serve_builds(Path(content), idle_minutes)
    except KeyboardInterrupt:  # SIGTERM
        code = 0
    except BaseException:
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # skip tearing down the site held in memory
