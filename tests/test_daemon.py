"""`digest build --daemon`: a build server that stays makes the builds a fresh process would."""

from __future__ import annotations

import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from digest.cache import CACHE_DIR_NAME
from digest.daemon import LOCK_NAME, SOCKET_NAME

from .conftest import ROOT
from .test_cache import CHANGES, files, make_site


def digest(*args: str, cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a fresh process, with extra environment variables."""
    return subprocess.run(
        [sys.executable, "-m", "digest", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
    )


def server_pid(content: Path) -> int | None:
    """The running server's pid, from its lock file; None when none runs."""
    cache = content.parent / CACHE_DIR_NAME
    if not (cache / SOCKET_NAME).exists():
        return None
    return int((cache / LOCK_NAME).read_text())


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A server started by this test process is its child: a zombie once it has exited.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1][0] != "Z"
    except OSError:
        return False


@pytest.fixture
def servers() -> Iterator[list[Path]]:
    """Content folders whose servers are stopped (killed, if need be) after the test."""
    started: list[Path] = []
    yield started
    for content in started:
        pid = server_pid(content)
        digest("daemon", "stop", "--content", str(content))
        if pid is None:
            continue
        if not gone(pid):  # it closes its helper after removing its socket
            os.kill(pid, signal.SIGKILL)


def started(tmp_path: Path, servers: list[Path]) -> tuple[Path, tuple[str, ...], int]:
    """A content folder built through a server it started: the folder, the build's
    arguments and the server's pid."""
    content = make_site(tmp_path)
    servers.append(content)
    args = ("build", "--content", str(content), "--out", str(tmp_path / "_site"), "--daemon")
    done = digest(*args)
    assert done.returncode == 0, done.stderr
    pid = server_pid(content)
    assert pid is not None
    return content, args, pid


def gone(pid: int) -> bool:
    """Wait up to 10 s for the process to end; whether it did."""
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    return not alive(pid)


def test_builds_through_the_server_equal_cold_builds_after_every_change(
    tmp_path: Path, servers: list[Path]
) -> None:
    content = make_site(tmp_path / "warm")
    servers.append(content)
    out = tmp_path / "warm" / "_site"
    first = digest("build", "--content", str(content), "--out", str(out), "--daemon")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("built 3 issues"), first.stdout
    pid = server_pid(content)
    assert pid is not None and alive(pid)
    applied: list[str] = []
    for change in ["edit", "add", "delete", "config", "template", "touch", "rename"]:
        CHANGES[change](content)
        applied.append(change)
        warm = digest("build", "--content", str(content), "--out", str(out), "--daemon")
        assert warm.returncode == 0, warm.stderr
        assert "(nothing changed)" not in warm.stdout
        cold_content = make_site(tmp_path / f"cold-{len(applied)}")
        for name in applied:
            CHANGES[name](cold_content)
        cold_out = tmp_path / f"cold-{len(applied)}" / "_site"
        cold = digest("build", "--content", str(cold_content), "--out", str(cold_out), "--no-cache")
        assert cold.returncode == 0, cold.stderr
        assert files(out) == files(cold_out), applied
    assert server_pid(content) == pid  # one server ran every build
    status = digest("daemon", "status", "--content", str(content))
    assert status.returncode == 0
    assert f"pid {pid}, 8 builds" in status.stdout, status.stdout


def test_the_client_prints_and_exits_as_a_build_in_its_own_process(
    tmp_path: Path, servers: list[Path]
) -> None:
    # Relative paths are the client's (its working folder), and so are its messages.
    content = make_site(tmp_path)
    servers.append(content)
    (content / "issues" / "2023-01.md").write_text(
        "---\ndate: 2023-01-31\n---\n## Research\n### NLP\n\n---\nurl: javascript:alert(1)\n"
        "title: Bad\n---\n",
        encoding="utf-8",
    )
    args = ("build", "--content", "content", "--out", "public")
    local = digest(*args, cwd=tmp_path)
    assert local.returncode == 1
    through = digest(*args, "--daemon", cwd=tmp_path)
    assert server_pid(content) is not None
    assert (through.returncode, through.stdout, through.stderr) == (
        local.returncode,
        local.stdout,
        local.stderr,
    )
    assert "content/issues/2023-01.md:8:6: error:" in through.stderr, through.stderr
    assert not (tmp_path / "public").exists()  # nothing written
    # Colour follows the client's settings, not the server's, build by build.
    coloured = digest(*args, "--daemon", cwd=tmp_path, FORCE_COLOR="1")
    assert "\x1b[" in coloured.stderr
    assert "\x1b[" not in digest(*args, "--daemon", cwd=tmp_path).stderr
    # Fixed: the site is built where the client said, with its output line.
    (content / "issues" / "2023-01.md").unlink()
    fixed = digest(*args, "--daemon", cwd=tmp_path)
    assert fixed.returncode == 0, fixed.stderr
    assert re.fullmatch(r"built 2 issues, .* -> public( \(\d+ warnings\))?\n", fixed.stdout)
    assert (tmp_path / "public" / "index.html").is_file()
    # A rebuild after an edit leaves what it did not change as it was.
    kept = {p: p.stat().st_mtime_ns for p in (tmp_path / "public").rglob("*.css")}
    CHANGES["add"](content)
    assert digest(*args, "--daemon", cwd=tmp_path).returncode == 0
    assert kept and {p: p.stat().st_mtime_ns for p in kept} == kept


def test_files_are_made_with_the_clients_umask(tmp_path: Path, servers: list[Path]) -> None:
    content = make_site(tmp_path)
    servers.append(content)
    out = tmp_path / "_site"

    def build(umask: int) -> None:
        args = ["build", "--daemon", "--content", str(content), "--out", str(out)]
        done = subprocess.run(
            [sys.executable, "-m", "digest", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            preexec_fn=lambda: os.umask(umask),
        )
        assert done.returncode == 0, done.stderr

    build(0o022)  # starts the server with this umask
    assert stat.S_IMODE((out / "index.html").stat().st_mode) == 0o644
    CHANGES["edit"](content)
    build(0o077)
    assert stat.S_IMODE((out / "index.html").stat().st_mode) == 0o600
    assert stat.S_IMODE((content.parent / CACHE_DIR_NAME / SOCKET_NAME).stat().st_mode) == 0o600


def test_a_client_running_other_code_gets_a_new_server(tmp_path: Path, servers: list[Path]) -> None:
    content, args, old = started(tmp_path, servers)
    # Another sys.path (a package installed, a virtual environment): other code may run.
    extra = tmp_path / "extra"
    extra.mkdir()
    done = digest(*args, PYTHONPATH=str(extra))
    assert done.returncode == 0, done.stderr
    new = server_pid(content)
    assert new is not None and new != old
    assert gone(old)


def test_clients_starting_at_once_share_one_server(tmp_path: Path, servers: list[Path]) -> None:
    content = make_site(tmp_path)
    servers.append(content)
    outs = [tmp_path / f"_site{i}" for i in range(3)]
    build = [sys.executable, "-m", "digest", "build", "--daemon", "--content", str(content)]
    clients = [
        subprocess.Popen(
            [*build, "--out", str(out)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for out in outs
    ]
    for client in clients:
        _, stderr = client.communicate(timeout=120)
        assert client.returncode == 0, stderr
        assert "building in this process" not in stderr
    assert files(outs[0]) == files(outs[1]) == files(outs[2])
    status = digest("daemon", "status", "--content", str(content))
    assert ", 3 builds in" in status.stdout, status.stdout  # all three ran in one server
    # The servers the other two started saw it listen and went.
    deadline = time.monotonic() + 10
    while len(servers_of(content)) > 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert servers_of(content) == [server_pid(content)]


def servers_of(content: Path) -> list[int]:
    """The pids of live build server processes started for `content` (not their helpers)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                command = (proc / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if (
                "digest.daemon" in command
                and repr(str(content)) in command
                and alive(int(proc.name))
            ):
                pids.append(int(proc.name))
    return [pid for pid in pids if parent(pid) not in pids]


def parent(pid: int) -> int | None:
    """A process's parent's pid; None if it has gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().split(") ")[-1].split()[1])
    except (OSError, ValueError):
        return None


@pytest.mark.parametrize("how", ["killed", "cache deleted"])
def test_an_unreachable_server_is_replaced(tmp_path: Path, servers: list[Path], how: str) -> None:
    content, args, old = started(tmp_path, servers)
    if how == "killed":
        os.kill(old, signal.SIGKILL)
        assert gone(old)
        assert (content.parent / CACHE_DIR_NAME / SOCKET_NAME).exists()  # left behind
    else:
        shutil.rmtree(tmp_path / CACHE_DIR_NAME)  # the socket with it: no client reaches it
    CHANGES["edit"](content)
    done = digest(*args)
    assert done.returncode == 0, done.stderr
    assert "building in this process" not in done.stderr
    new = server_pid(content)
    assert new is not None and new != old
    # The one whose socket was deleted noticed, and went without removing the new one's.
    assert gone(old)
    assert server_pid(content) == new
    assert digest(*args).returncode == 0
    status = digest("daemon", "status", "--content", str(content))
    assert f"pid {new}, 2 builds" in status.stdout, status.stdout


def test_status_stop_and_the_idle_timeout(tmp_path: Path, servers: list[Path]) -> None:
    content, _, _ = started(tmp_path, servers)
    stopped = digest("daemon", "stop", "--content", str(content))
    assert stopped.stdout == f"stopped the build server for {content}\n"
    assert not (content.parent / CACHE_DIR_NAME / SOCKET_NAME).exists()
    none = digest("daemon", "status", "--content", str(content))
    assert (none.returncode, none.stdout) == (1, f"no build server runs for {content}\n")
    again = digest("daemon", "stop", "--content", str(content))
    assert (again.returncode, again.stdout) == (0, f"no build server runs for {content}\n")
    # In the foreground, with a short idle time: it stops by itself, its socket removed.
    run = digest("daemon", "run", "--content", str(content), "--idle", "0.01")
    assert run.returncode == 0, run.stderr
    assert "stopping: idle" in run.stdout
    assert not (content.parent / CACHE_DIR_NAME / SOCKET_NAME).exists()


def test_sigterm_stops_the_server_cleanly(tmp_path: Path, servers: list[Path]) -> None:
    content, _, pid = started(tmp_path, servers)
    os.kill(pid, signal.SIGTERM)
    assert gone(pid)
    assert not (content.parent / CACHE_DIR_NAME / SOCKET_NAME).exists()
    log = (content.parent / CACHE_DIR_NAME / "daemon.log").read_text()
    assert "Traceback" not in log, log


def test_no_cache_builds_in_the_clients_own_process(tmp_path: Path) -> None:
    content = make_site(tmp_path)
    out = tmp_path / "_site"
    done = digest("build", "--content", str(content), "--out", str(out), "--no-cache", "--daemon")
    assert done.returncode == 0, done.stderr
    assert server_pid(content) is None
    assert not (content.parent / CACHE_DIR_NAME).exists()


def test_a_deep_content_folder_is_served_too(tmp_path: Path, servers: list[Path]) -> None:
    # A socket's path holds at most 107 bytes; neither the absolute nor the relative
    # path to this one fits.
    deep = tmp_path.joinpath(*["a-rather-long-folder-name"] * 5)
    content = make_site(deep)
    servers.append(content)
    other = tmp_path / "elsewhere"
    other.mkdir()
    args = ("build", "--content", str(content), "--out", str(deep / "_site"), "--daemon")
    done = digest(*args, cwd=other)
    assert done.returncode == 0, done.stderr
    assert "building in this process" not in done.stderr
    assert server_pid(content) is not None
    assert len(bytes(deep / CACHE_DIR_NAME / SOCKET_NAME)) > 107


def test_too_deep_a_folder_without_proc_is_said_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Not Linux: no short path to a deep socket. No server is started that no client
    # could reach (the client would wait for it to listen, then give up).
    import argparse

    from digest import daemon

    monkeypatch.setattr(daemon, "PROC_FD", str(tmp_path / "no-proc"))
    deep = tmp_path.joinpath(*["a-rather-long-folder-name"] * 5)
    content = make_site(deep)
    args = argparse.Namespace(content=content, out=deep / "_site", no_cache=False)
    with pytest.raises(daemon.Unavailable, match="too long for a socket"):
        daemon.build_through_server(args)
    assert not (deep / CACHE_DIR_NAME).exists()


def test_without_a_server_the_build_runs_here_and_says_why(tmp_path: Path) -> None:
    content = make_site(tmp_path)
    (tmp_path / CACHE_DIR_NAME / "daemon.log").mkdir(parents=True)  # the server cannot start
    out = tmp_path / "_site"
    done = digest("build", "--content", str(content), "--out", str(out), "--daemon")
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith("warning: cannot start the build server: [Errno 21]")
    assert "daemon.log'; building in this process\n" in done.stderr
    assert done.stdout.startswith("built 3 issues")
    assert (out / "index.html").is_file()
    assert server_pid(content) is None
