"""Pages rendered by forked workers are the same bytes, and their errors the same diagnostics."""

from __future__ import annotations

import multiprocessing
import multiprocessing.process
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import jinja2
import pytest

from digest import render, streams, workers
from digest.errors import OutputError
from digest.render import template_error
from digest.site import Forked, build

from .conftest import ROOT, copy_content
from .test_cache import files


def with_template(root: Path, name: str, text: str) -> tuple[Path, Path]:
    """A content folder under `root`, and the site template `name` (with `text`) beside it."""
    content = copy_content(root / "content")
    templates = root / "templates"
    templates.mkdir()
    (templates / name).write_text(text)
    return content, templates / name


def test_workers_render_the_same_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    content = copy_content(tmp_path / "content")
    build(content, tmp_path / "one", use_cache=False)  # few pages: rendered in this process
    forked: list[int] = []
    real = render._render_forked

    def spy(jobs: list[render.PageJob], workers: int, *notes: Any) -> object:
        forked.append(len(jobs))
        return real(jobs, max(workers, 2), *notes)

    taken: list[bytes] = []
    take = render.Renderer._take_card

    def spy_take(self: render.Renderer, handed: bytes) -> None:
        taken.append(handed)
        take(self, handed)

    monkeypatch.setattr(render, "PARALLEL_PAGES", 1)
    monkeypatch.setattr(render, "_render_forked", spy)
    monkeypatch.setattr(render.Renderer, "_take_card", spy_take)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    result = build(content, tmp_path / "two", use_cache=False)
    # The workers render every page but the groups' (rendered here, from the cards
    # the workers made with the issue pages: each link's, once).
    kinds = ("sections", "topics", "tags", "sources")
    group_pages = [p for kind in kinds for p in (tmp_path / "two" / kind).glob("*/**/index.html")]
    assert forked and forked[0] == result.kinds["pages"] - len(group_pages) > 5
    assert len(taken) == result.links
    assert files(tmp_path / "two") == files(tmp_path / "one")


@pytest.mark.parametrize("name", ["issue.html", "group.html"])  # in a worker, and here
def test_a_template_error_in_a_forked_build_is_located(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    content, template = with_template(
        tmp_path,
        name,
        "{% extends 'base.html' %}{% block main %}\n\n{{ nope() }}{% endblock %}",
    )
    monkeypatch.setattr(render, "PARALLEL_PAGES", 1)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    with pytest.raises(jinja2.TemplateError) as caught:
        build(content, tmp_path / "out", use_cache=False)
    if name == "issue.html":  # located in the worker, whose traceback stays there
        assert isinstance(caught.value, render.TemplateFailed)
    diagnostic = template_error(caught.value)
    assert (diagnostic.path, diagnostic.line) == (str(template), 3)
    assert "'nope' is undefined" in diagnostic.message
    assert not (tmp_path / "out").exists()


def test_the_feeds_process_hands_back_every_output_and_key() -> None:
    big = bytes(range(256)) * (3 * streams.PIPE_BYTES // 256) + b"tail"
    outputs: dict[str, bytes | None] = {
        "feed.xml": b"<rss/>",
        "kept.xml": None,
        "search/d/0.json": big,
        "empty": b"",
    }
    forked = Forked(lambda: (outputs, {"feed.xml": "key1"}))
    try:
        assert forked.result() == (outputs, {"feed.xml": "key1"})
    finally:
        forked.close()


def test_an_error_while_the_outputs_are_sent_is_raised_not_taken_for_an_output(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = streams.send

    def send(fd: int, kind: bytes, data: bytes) -> None:
        if data == b"boom":
            raise RuntimeError("sending broke")
        real(fd, kind, data)

    monkeypatch.setattr(streams, "send", send)  # the forked process has it too
    forked = Forked(lambda: ({"a.xml": b"fine", "b.xml": b"boom"}, {}))
    try:
        with pytest.raises(RuntimeError, match="sending broke"):
            forked.result()
    finally:
        forked.close()


def _fail_with_value_error(*args: object) -> NoReturn:
    raise ValueError("feeds broke")


@pytest.mark.parametrize(
    ("broken", "error", "message"),
    [
        (lambda *args: os._exit(3), OutputError, "a build worker process died"),
        (_fail_with_value_error, ValueError, "feeds broke"),
    ],
    ids=["dies", "raises"],
)
def test_a_failure_in_the_feeds_process_fails_the_build(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    broken: Callable[..., object],
    error: type[Exception],
    message: str,
) -> None:
    import digest.feeds

    content = copy_content(tmp_path / "content")
    out = tmp_path / "out"
    build(content, out, use_cache=False)
    before = files(out)
    monkeypatch.setattr(digest.feeds, "render_feeds", broken)
    monkeypatch.setattr(render, "PARALLEL_PAGES", 1)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    with pytest.raises(error, match=message):
        build(content, out, use_cache=False)
    assert files(out) == before


def _in_a_worker_only(parent: int, action: Callable[[], object]) -> Callable[..., bytes]:
    real = render.Renderer.page

    def page(self: render.Renderer, *args: object, **kwargs: object) -> bytes:
        if os.getpid() != parent:
            action()
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    return page


@pytest.mark.parametrize(
    ("action", "error", "message"),
    [
        (lambda: os._exit(3), OutputError, "a page worker process died"),
        (lambda: int("x"), ValueError, "invalid literal"),
    ],
    ids=["dies", "raises"],
)
def test_a_failing_page_worker_fails_the_build_and_keeps_the_site(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    action: Callable[[], object],
    error: type[Exception],
    message: str,
) -> None:
    content = copy_content(tmp_path / "content")
    out = tmp_path / "out"
    build(content, out, use_cache=False)
    before = files(out)
    monkeypatch.setattr(render.Renderer, "page", _in_a_worker_only(os.getpid(), action))
    monkeypatch.setattr(render, "PARALLEL_PAGES", 1)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    with pytest.raises(error, match=message):
        build(content, out, use_cache=False)
    assert files(out) == before


def test_a_failure_rendering_group_pages_here_stops_the_page_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    content, _ = with_template(tmp_path, "group.html", "{{ nope() }}")
    slow = _in_a_worker_only(os.getpid(), lambda: time.sleep(0.1))  # still busy when it fails
    monkeypatch.setattr(render.Renderer, "page", slow)
    monkeypatch.setattr(render, "PARALLEL_PAGES", 1)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    with pytest.raises(jinja2.TemplateError):
        build(content, tmp_path / "out", use_cache=False)
    assert multiprocessing.active_children() == []


@pytest.mark.parametrize("size", [0, 1, 3 * streams.PIPE_BYTES + 5])
def test_frames_arrive_whole_and_in_order(size: int) -> None:
    read, write = streams.pipe()
    payload = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    pid = os.fork()
    if pid == 0:  # the writer: more than the pipe holds, so the reader must drain it
        os.close(read)
        streams.send(write, b"P", payload)
        streams.send(write, b"D", b"end")
        os._exit(0)
    os.close(write)
    try:
        assert streams.receive(read) == (b"P", payload)
        assert streams.receive(read) == (b"D", b"end")
        with pytest.raises(EOFError):
            streams.receive(read)
    finally:
        os.close(read)
        os.waitpid(pid, 0)


def test_templates_compile_while_issues_parse_and_errors_still_show_where_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from digest import load

    content, template = with_template(
        tmp_path, "group.html", "{% extends 'base.html' %}\n{% block main %}{% if %}"
    )
    calls: list[int] = []
    real = render.compile_templates

    def spy(*args: object) -> None:
        calls.append(len(render._COMPILED))
        real(*args)  # type: ignore[arg-type]
        calls.append(len(render._COMPILED))

    monkeypatch.setattr(render, "compile_templates", spy)
    monkeypatch.setattr(render, "_COMPILED", {})
    monkeypatch.setattr(load, "PARALLEL_FROM", 1)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    with pytest.raises(jinja2.TemplateSyntaxError) as caught:
        build(content, tmp_path / "out", use_cache=False)
    # Called once, while the workers parsed; it compiled all but the broken template.
    assert calls == [0, len(render.PAGE_TEMPLATES) - 1]
    diagnostic = template_error(caught.value)
    assert (diagnostic.path, diagnostic.line) == (str(template), 2)


def _interrupt_after_first_start(
    monkeypatch: pytest.MonkeyPatch,
) -> list[multiprocessing.process.BaseProcess]:
    """Make Ctrl-C come right after the next process starts (before any other does)."""
    real = multiprocessing.process.BaseProcess.start
    started: list[multiprocessing.process.BaseProcess] = []

    def start(self: multiprocessing.process.BaseProcess) -> None:
        real(self)
        started.append(self)
        if len(started) == 1:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", start)
    return started


def test_ctrl_c_while_the_feeds_process_starts_stops_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # Ctrl-C right after the fork, before the parent had its handle: the process was
    # left working (here: for a minute) with nothing to stop it.
    started = _interrupt_after_first_start(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        Forked(lambda: (time.sleep(60), ({}, {}))[1])
    [process] = started
    process.join(timeout=10)
    assert not process.is_alive()


def test_ctrl_c_while_workers_send_large_results_stops_them_all() -> None:
    # With multiprocessing.Pool, terminate() after Ctrl-C could wait for ever for a lock
    # held by a worker blocked sending a large result: a CI run's build hung on it.
    # Here every worker is blocked so, its pipe full, when the interrupt comes.
    code = """
import multiprocessing, time
from digest import streams, workers
def meanwhile():
    time.sleep(0.5)
    raise KeyboardInterrupt
try:
    list(workers.fork_map(lambda i: b"x" * (3 * streams.PIPE_BYTES), 16, 2, meanwhile))
except KeyboardInterrupt:
    print("interrupted", len(multiprocessing.active_children()))
"""
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.stdout.split() == ["interrupted", "0"], done.stderr


def test_fork_map_keeps_order_and_raises_what_a_worker_raised() -> None:
    assert list(workers.fork_map(lambda i: i * i, 50, 3)) == [i * i for i in range(50)]
    with pytest.raises(ZeroDivisionError):
        list(workers.fork_map(lambda i: 1 // (i - 30), 50, 2))
