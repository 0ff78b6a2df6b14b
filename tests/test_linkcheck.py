"""`digest check --external`, against a web server on this machine (no network needed)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from digest import cli, linkcheck
from digest.cache import Store
from digest.checks import dead_links, external_links
from digest.linkcheck import Answer, ask, ask_all, recent, remember


class _Site(BaseHTTPRequestHandler):
    """Pages that answer as real sites do."""

    seen: ClassVar[list[tuple[str, str]]] = []
    busy = 0
    most_at_once = 0
    lock = threading.Lock()

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def do_GET(self) -> None:
        self._answer(body=True)

    def _answer(self, body: bool) -> None:
        with _Site.lock:
            _Site.seen.append((self.command, self.path))
            _Site.busy += 1
            _Site.most_at_once = max(_Site.most_at_once, _Site.busy)
        try:
            status, location = self._status()
        finally:
            # Counted as done before a byte is sent: once the client has its answer it may
            # ask the next, and this thread must not still be counted busy then.
            with _Site.lock:
                _Site.busy -= 1
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        length = 2 if body and not location else 0
        self.send_header("Content-Length", str(length))
        self.end_headers()
        if length:
            self.wfile.write(b"ok")

    def _status(self) -> tuple[int, str]:
        """The status for this request, and where it redirects to (or "")."""
        path = self.path
        if path == "/slow":
            time.sleep(1.5)
        elif path.startswith("/page"):
            time.sleep(0.05)  # long enough for requests to overlap if nothing held them back
        if path.startswith("/page") or path == "/slow":
            return 200, ""
        if path == "/moved":
            return 301, "/page"
        if path == "/no-head":
            return (405 if self.command == "HEAD" else 200), ""
        if path == "/robots-not-welcome":
            return 403, ""
        if path == "/gone":
            return 410, ""
        return 404, ""

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def site() -> Iterator[str]:
    """A web server on 127.0.0.1, as `http://127.0.0.1:PORT`."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Site.seen, _Site.busy, _Site.most_at_once = [], 0, 0
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def closed_port() -> int:
    """A port on this machine where nothing listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_answers(site: str) -> None:
    assert ask(f"{site}/page").ok
    assert ask(f"{site}/moved").ok  # redirects are followed
    assert ask(f"{site}/no-head").ok  # GET when HEAD is refused
    missing, gone = ask(f"{site}/missing"), ask(f"{site}/gone")
    assert (missing.status, missing.dead, gone.status, gone.dead) == (404, True, 410, True)
    refused = ask(f"http://127.0.0.1:{closed_port()}/")
    assert (refused.status, refused.reason, refused.dead) == (None, "connection refused", True)
    # Not sure: the site may just refuse robots, or be slow today.
    forbidden = ask(f"{site}/robots-not-welcome")
    assert (forbidden.status, forbidden.ok, forbidden.dead) == (403, False, False)
    slow = ask(f"{site}/slow", timeout=0.3)
    assert (slow.status, slow.reason, slow.dead) == (None, "timed out", False)
    assert ("HEAD", "/no-head") in _Site.seen and ("GET", "/no-head") in _Site.seen
    assert ("GET", "/page") not in _Site.seen  # HEAD was enough


def test_every_address_is_asked_once_and_a_site_never_more_than_twice_at_once(site: str) -> None:
    urls = [f"{site}/page{n}" for n in range(12)] + [f"{site}/slow"] * 3
    done: list[tuple[int, int]] = []
    answers = ask_all(urls, progress=lambda n, total: done.append((n, total)))
    assert sorted(answers) == sorted(set(urls)) and all(a.ok for a in answers.values())
    assert sorted(path for _, path in _Site.seen) == sorted(u[len(site) :] for u in set(urls))
    assert _Site.most_at_once <= linkcheck.PER_SITE
    assert done[-1] == (13, 13)


def write_content(tmp_path: Path, site: str, port: int) -> Path:
    content = tmp_path / "content"
    (content / "issues").mkdir(parents=True)
    (content / "issues" / "2022-12.md").write_text(
        f"""---
date: 2022-12-29
---
## Research
### NLP

---
url: {site}/page
title: Alive
---
See also [a moved page]({site}/moved) and [a gone one]({site}/gone).

---
url: {site}/missing
title: Gone
---
Not sure: [robots]({site}/robots-not-welcome). ![A chart]({site}/page/chart.png)

---
url: http://127.0.0.1:{port}/x
title: Nobody home
---
""",
        encoding="utf-8",
    )
    return content


def test_dead_links_are_warned_about_where_they_are_written(content: Path, site: str) -> None:
    from digest.load import load_paths

    digest, _ = load_paths([content])
    found = external_links(digest.issues, content)
    assert len(found) == 7  # the image too
    warnings = sorted(dead_links(found, ask_all(found)), key=lambda d: (d.line, d.col))
    before_gone = f"See also [a moved page]({site}/moved) and [a gone one]("
    assert [(d.line, d.col, d.message.split("' is dead: ")[1]) for d in warnings] == [
        (11, len(before_gone) + 1, "HTTP 410"),
        (14, 6, "HTTP 404"),
        (20, 6, "connection refused"),
    ]
    assert all(d.severity == "warning" and d.source_line for d in warnings)


def test_offline_nothing_is_dead() -> None:
    answers = {u: Answer(u, None, "no such host") for u in ("https://a.org/", "https://b.org/")}
    found = {u: [] for u in answers}
    assert dead_links(found, answers) == []


@pytest.fixture
def content(tmp_path: Path, site: str) -> Path:
    """`write_content` with the test server and a closed port."""
    return write_content(tmp_path, site, closed_port())


def test_check_external_on_the_command_line(
    content: Path, site: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    assert cli.main(["check", "--content", str(content)]) == 0
    assert "dead" not in capsys.readouterr().err  # only when asked: it needs the network
    assert cli.main(["check", "--content", str(content), "--external", "-v"]) == 0
    out = capsys.readouterr()
    assert out.err.count(": warning: link '") == 3
    assert "asked 7 URLs on 2 sites: 3 dead, 1 not sure" in out.out
    assert f"  not sure: {site}/robots-not-welcome (HTTP 403)" in out.out
    assert cli.main(["check", "--content", str(content), "--external", "--strict"]) == 1
    # The three that answered well are not asked again for a day.
    assert (
        "asked 4 URLs on 2 sites: 3 dead, 1 not sure (-v lists them); "
        "3 more answered well in the last day, not asked again (--recheck asks them)"
    ) in capsys.readouterr().out


def test_good_answers_are_remembered_for_a_day(
    content: Path, site: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    check = ["check", "--content", str(content), "--external", "--format", "json"]
    good = {f"{site}/page", f"{site}/moved", f"{site}/page/chart.png"}

    def run(*more: str) -> tuple[dict[str, object], set[str]]:
        _Site.seen = []
        assert cli.main([*check, *more]) == 0
        report = json.loads(capsys.readouterr().out)
        return report["external"], {site + path for _, path in _Site.seen}

    first, asked = run()
    assert (first["asked"], first["remembered"]) == (7, 0) and good <= asked
    second, asked = run()
    # Dead and doubtful addresses are asked every time; the warnings stay the same.
    assert (second["asked"], second["remembered"], second["dead"]) == (4, 3, 3)
    assert not good & asked and f"{site}/gone" in asked
    third, asked = run("--recheck")
    assert (third["asked"], third["remembered"]) == (7, 0) and good <= asked
    # A day later they are asked again.
    monkeypatch.setattr(linkcheck, "REMEMBERED_FOR", 0)
    fourth, asked = run()
    assert (fourth["asked"], fourth["remembered"]) == (7, 0) and good <= asked


def test_only_recent_good_answers_are_remembered(tmp_path: Path, site: str) -> None:
    store = Store(tmp_path, "links")
    now = time.time()
    remember(store, {f"{site}/page": Answer(f"{site}/page", 200, "HTTP 200")}, [], now)
    remember(
        store, {f"{site}/gone": Answer(f"{site}/gone", 410, "HTTP 410")}, [f"{site}/page"], now
    )
    assert recent(store, [f"{site}/page", f"{site}/gone"], now) == {
        f"{site}/page": Answer(f"{site}/page", 200, "HTTP 200")  # never a dead one
    }
    assert recent(store, [f"{site}/page"], now + linkcheck.REMEMBERED_FOR) == {}
    assert recent(store, [f"{site}/page"], now - 60) == {}  # the clock went back: ask


def test_check_external_as_json(
    content: Path, site: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["check", "--content", str(content), "--external", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["warnings"] == 3
    assert report["external"] == {
        "asked": 7,
        "remembered": 0,
        "sites": 2,
        "dead": 3,
        "not_sure": [{"url": f"{site}/robots-not-welcome", "reason": "HTTP 403"}],
    }


def test_all_remembered(tmp_path: Path, site: str, capsys: pytest.CaptureFixture[str]) -> None:
    content = write_content(tmp_path, site, closed_port())
    text = (content / "issues" / "2022-12.md").read_text()
    (content / "issues" / "2022-12.md").write_text(text.split("See also")[0])
    check = ["check", "--content", str(content), "--external", "--strict"]
    assert cli.main(check) == 0
    assert "asked 1 URL on 1 site: 0 dead, 0 not sure\n" in capsys.readouterr().out
    _Site.seen = []
    assert cli.main(check) == 0  # nothing asked is not "offline"
    out = capsys.readouterr().out
    assert "asked no site: all 1 URL answered well in the last day, not asked again" in out
    assert _Site.seen == []
