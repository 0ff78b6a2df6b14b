"""Stats of the output folder's files, taken here or ahead by a helper process."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from digest.live import FileStat, LiveFiles, StatAhead

from .test_cache import edit_issue, files, make_site


@pytest.fixture
def ahead() -> Iterator[StatAhead]:
    helper = StatAhead()
    yield helper
    helper.close()


def folder(root: Path) -> list[str]:
    """A few files, a folder where a file was, and a symlink; their relative paths."""
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "index.html").write_text("x")
    (root / "a" / "b" / "index.html").write_text("y")
    os.link(root / "a" / "index.html", root / "linked.html")
    (root / "dir.html").mkdir()
    (root / "symlink.html").symlink_to(root / "a" / "index.html")
    return ["a/index.html", "a/b/index.html", "linked.html", "dir.html", "gone.html"]


def answers(live: LiveFiles, paths: list[str]) -> list[tuple[bool, FileStat | None]]:
    return [(live.exists(p), live.stats.get(p)) for p in paths]


def test_answers_ahead_are_the_files_own(tmp_path: Path, ahead: StatAhead) -> None:
    expected = folder(tmp_path)
    asked = ["symlink.html", *expected, "not-asked.html", "a/index.html"]
    here = answers(LiveFiles(str(tmp_path)), asked)
    there = answers(LiveFiles(str(tmp_path), ahead, expected), asked)
    assert there == here
    # A symlink is not a file of the site, even to one of its files.
    assert [found for found, _ in here] == [False, True, True, True, False, False, False, True]
    stat_a = here[1][1]
    assert stat_a is not None and stat_a.nlink == 2  # a/index.html and linked.html


def test_relative_roots_are_the_askers(
    tmp_path: Path, ahead: StatAhead, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The build server moves to each client's folder after forking its helper: a
    # relative output folder is the client's, not the helper's.
    expected = folder(tmp_path / "site")
    monkeypatch.chdir(tmp_path)
    there = answers(LiveFiles("site", ahead, expected), expected)
    assert there == answers(LiveFiles(str(tmp_path / "site")), expected)
    assert [found for found, _ in there] == [True, True, True, False, False]


def test_the_helper_stops_as_soon_as_it_is_closed() -> None:
    helper = StatAhead()
    helper.close()
    assert helper._process.exitcode == 0  # ended by itself, not killed after a timeout


def test_an_answer_never_read_does_not_block_the_next(tmp_path: Path, ahead: StatAhead) -> None:
    # A build that finds nothing changed asks and never reads; with a large site the
    # helper's answer does not fit in the pipe, and it waits to send it.
    expected = folder(tmp_path)
    many = [f"missing/{n}.html" for n in range(60_000)]
    LiveFiles(str(tmp_path), ahead, many)  # asked, never read
    live = LiveFiles(str(tmp_path), ahead, expected)
    assert answers(live, expected) == answers(LiveFiles(str(tmp_path)), expected)


def test_a_forked_worker_leaves_the_answer_to_the_process_that_asked(
    tmp_path: Path, ahead: StatAhead
) -> None:
    # The feeds-and-search process of a big build is forked while the answer may be
    # unread: if it read it, the build (and the next one's question) would wait forever.
    import multiprocessing

    expected = folder(tmp_path)
    live = LiveFiles(str(tmp_path), ahead, expected)
    context = multiprocessing.get_context("fork")
    child = context.Process(target=lambda: os._exit(0 if live.exists("a/index.html") else 1))
    child.start()
    child.join(timeout=30)
    assert child.exitcode == 0
    assert ahead._conn.poll(10)  # the answer is still there for this process
    assert answers(live, expected) == answers(LiveFiles(str(tmp_path)), expected)


def test_a_file_changed_after_the_last_build_is_not_that_builds(
    tmp_path: Path, ahead: StatAhead
) -> None:
    expected = folder(tmp_path)
    finished = os.stat(tmp_path / "a" / "b" / "index.html").st_ctime_ns
    time.sleep(0.05)  # the clock behind ctimes ticks coarsely
    with (tmp_path / "a" / "index.html").open("a") as f:
        f.write("edited by hand")  # a/index.html and linked.html: one file, two names
    for live in (
        LiveFiles(str(tmp_path), changed_after=finished),
        LiveFiles(str(tmp_path), ahead, expected, changed_after=finished),
    ):
        assert [live.exists(p) for p in expected] == [False, True, False, False, False]
        assert list(live.stats) == ["a/b/index.html"]


def test_without_its_helper_a_build_looks_itself(tmp_path: Path) -> None:
    expected = folder(tmp_path)
    helper = StatAhead()
    helper.close()
    live = LiveFiles(str(tmp_path), helper, expected)
    assert answers(live, expected) == answers(LiveFiles(str(tmp_path)), expected)


def test_rebuilds_with_stats_taken_ahead_equal_cold_builds(
    tmp_path: Path, ahead: StatAhead
) -> None:
    from digest.site import build

    from .test_cache import add_issue

    content = make_site(tmp_path / "warm")
    out = tmp_path / "warm" / "_site"
    build(content, out, stat_ahead=ahead)
    edit_issue(content)
    build(content, out, stat_ahead=ahead)
    # Gone since the last build, and an archive page that could be kept: made again.
    (out / "archive" / "index.html").unlink()
    issue = content / "issues" / "2023-01.md"
    issue.write_text(issue.read_text(encoding="utf-8").replace("코멘트", "메모"), "utf-8")
    build(content, out, stat_ahead=ahead)
    add_issue(content)
    build(content, out, stat_ahead=ahead)
    cold = make_site(tmp_path / "cold")
    (cold / "issues" / "2023-01.md").write_bytes(issue.read_bytes())
    add_issue(cold)
    build(cold, tmp_path / "cold" / "_site", use_cache=False)
    assert files(out) == files(tmp_path / "cold" / "_site")
