"""`digest serve`: HTTP behaviour, and live reload and the error overlay in a real browser.

The server runs as a user runs it, in its own process (`python -m digest serve --port 0`),
on a private copy of the sample content. The browser is Debian's Chromium driven by
Playwright (never `playwright install`).
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from digest.serve import content_type, inject_live_reload, local_base_url

from .conftest import CHROMIUM, CHROMIUM_ARGS, ROOT, copy_content

ISSUE_FILE = Path("content/issues/2022-12.md")
RLHF_TITLE = "Illustrating Reinforcement Learning from Human Feedback (RLHF)"
TAGS_LINE = "tags: [rlhf, llm, 강화학습]"
WAIT = 30.0
"""Seconds to wait for a rebuild: generous, since CI machines can be slow."""


class Server:
    """A `digest serve` subprocess and what it printed."""

    def __init__(self, cwd: Path, *args: str, own_group: bool = False) -> None:
        self.cwd = cwd
        self.lines: list[str] = []
        self.url = ""
        self._ready = threading.Event()
        env = {**os.environ, "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "digest", "serve", "--port", "0", *args],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            # As a terminal runs it (Ctrl-C signals the whole group), when asked.
            start_new_session=own_group,
            preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
            if own_group
            else None,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            match = re.match(r"serving (http://\S+) ", line)
            if match:
                self.url = match[1]
                self._ready.set()
        self._ready.set()

    def wait_ready(self) -> str:
        """The URL the server printed, once it is listening."""
        assert self._ready.wait(WAIT), "server did not start:\n" + self.output
        assert self.url, "server exited:\n" + self.output
        return self.url

    @property
    def output(self) -> str:
        """Everything the server printed so far."""
        return "".join(self.lines)

    @property
    def root(self) -> str:
        """`http://127.0.0.1:PORT` without the base path."""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    def stop(self) -> int:
        """Stop it as `kill` would; the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    """GET without following redirects: status, headers, body."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=WAIT)
    try:
        conn.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""))
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def raw_get(root: str, path: str, host: str | None = None) -> int:
    """GET a path exactly as written (no client-side `..` normalising); the status."""
    parts = urlsplit(root)
    with socket.create_connection((parts.hostname, parts.port), timeout=WAIT) as sock:
        sock.sendall(f"GET {path} HTTP/1.0\r\nHost: {host or parts.netloc}\r\n\r\n".encode())
        head = sock.recv(64).decode("latin-1")
    return int(head.split()[1])


def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Poll `condition` until true, failing after WAIT seconds."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Server]:
    """A server on a private content copy, building into tmp_path/site."""
    copy_content(tmp_path / "content")
    server = Server(tmp_path, "--content", "content", "--out", "site")
    server.wait_ready()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def shared_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the read-only HTTP tests."""
    tmp = tmp_path_factory.mktemp("serve")
    copy_content(tmp / "content")
    server = Server(tmp, "--content", "content", "--out", "site")
    server.wait_ready()
    yield server
    server.stop()


# -- HTTP -----------------------------------------------------------------------------


def test_prints_the_local_url_with_the_configured_base_path(shared_site: Server) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/ml-digest/", shared_site.url)
    assert re.search(r"^built 1 issue, 10 links in \d+\.\d\ds$", shared_site.output, re.M)


def test_serves_under_the_base_path_with_local_absolute_urls(shared_site: Server) -> None:
    status, headers, body = get(shared_site.url)
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    html = body.decode()
    assert f'<link rel="canonical" href="{shared_site.url}">' in html
    assert 'href="/ml-digest/static/style.css"' in html
    status, headers, _ = get(shared_site.root + "/")
    assert (status, headers["Location"]) == (302, "/ml-digest/")
    status, _, _ = get(shared_site.root + "/issues/2022-12/")  # outside the base path
    assert status == 404
    status, headers, _ = get(shared_site.url + "issues/2022-12")
    assert (status, headers["Location"]) == (302, "/ml-digest/issues/2022-12/")


def test_live_reload_script_is_served_but_never_written(shared_site: Server) -> None:
    _, _, body = get(shared_site.url + "issues/2022-12/")
    assert b'<script src="/__digest/live.js" data-version="' in body
    assert body.rstrip().endswith(b"</body>\n</html>") or body.rstrip().endswith(b"</html>")
    on_disk = shared_site.cwd / "site" / "issues" / "2022-12" / "index.html"
    assert b"__digest" not in on_disk.read_bytes()
    for built in (shared_site.cwd / "site").rglob("*"):
        if built.is_file():
            assert b"/__digest/" not in built.read_bytes(), built
    status, headers, _ = get(shared_site.root + "/__digest/live.js")
    assert status == 200 and headers["Content-Type"] == "text/javascript; charset=utf-8"
    _, _, feed = get(shared_site.url + "feed.xml")
    assert b"__digest" not in feed


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("", "text/html; charset=utf-8"),
        ("404.html", "text/html; charset=utf-8"),
        ("feed.xml", "application/xml; charset=utf-8"),
        ("atom.xml", "application/xml; charset=utf-8"),
        ("links.xml", "application/xml; charset=utf-8"),
        ("sitemap.xml", "application/xml; charset=utf-8"),
        ("feed.json", "application/json; charset=utf-8"),
        ("feeds.opml", "text/x-opml; charset=utf-8"),
        ("robots.txt", "text/plain; charset=utf-8"),
        ("favicon.ico", "image/x-icon"),
        ("static/favicon.svg", "image/svg+xml"),
        ("static/style.css", "text/css; charset=utf-8"),
        ("static/search.js", "text/javascript; charset=utf-8"),
    ],
)
def test_content_types(shared_site: Server, path: str, expected: str) -> None:
    status, headers, body = get(shared_site.url + path)
    assert status == 200, path
    assert headers["Content-Type"] == expected
    assert headers["Cache-Control"] == "no-store"
    assert int(headers["Content-Length"]) == len(body)


def test_content_type_table() -> None:
    assert content_type(Path("x.opml")) == "text/x-opml; charset=utf-8"
    assert content_type(Path("x.PNG")) == "image/png"
    assert content_type(Path("x.unknown-ext")) == "application/octet-stream"


def test_missing_page_is_the_site_404(shared_site: Server) -> None:
    status, headers, body = get(shared_site.url + "no/such/page/")
    assert status == 404
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert b"/__digest/live.js" in body
    status, _, _ = get(shared_site.url + ".digest-site")  # the build's marker file
    assert status == 404


@pytest.mark.parametrize(
    "path",
    [
        "/ml-digest/../../../../etc/passwd",
        "/ml-digest/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/ml-digest/%2E%2E/%2E%2E/etc/passwd",
        "/ml-digest/..%2f..%2f..%2fetc/passwd",
        "/ml-digest/.%2e/.%2e/etc/passwd",
        "/ml-digest/static/..%5c..%5cetc%5cpasswd",
        "/ml-digest/%00/etc/passwd",
        "/ml-digest/./index.html",
        "/../etc/passwd",
    ],
)
def test_refuses_paths_that_leave_the_site(shared_site: Server, path: str) -> None:
    assert raw_get(shared_site.root, path) == 403


def test_refuses_symlinks_that_point_out_of_the_site(shared_site: Server, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the web")
    (tmp_path / "secret-folder").mkdir()
    (tmp_path / "secret-folder" / "index.html").write_text("<p>private</p>")
    site = shared_site.cwd / "site"
    (site / "leak.txt").symlink_to(secret)
    (site / "leak").symlink_to(tmp_path / "secret-folder", target_is_directory=True)
    try:
        assert raw_get(shared_site.root, "/ml-digest/leak.txt") == 403
        assert raw_get(shared_site.root, "/ml-digest/leak/") == 403
        assert raw_get(shared_site.root, "/ml-digest/leak/index.html") == 403
    finally:
        (site / "leak.txt").unlink()
        (site / "leak").unlink()


def test_head_and_other_methods(shared_site: Server) -> None:
    parts = urlsplit(shared_site.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=WAIT)
    conn.request("HEAD", parts.path)
    response = conn.getresponse()
    assert response.status == 200 and response.read() == b""
    assert int(response.getheader("Content-Length") or 0) > 0
    conn.close()
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=WAIT)
    conn.request("POST", parts.path, body=b"x")
    assert conn.getresponse().status == 501
    conn.close()


def test_survives_a_burst_of_concurrent_requests(shared_site: Server) -> None:
    paths = ["", "issues/2022-12/", "feed.xml", "static/style.css", "archive/", "nope/"]
    expected = {p: get(shared_site.url + p) for p in paths}

    def fetch(n: int) -> tuple[str, int, int]:
        path = paths[n % len(paths)]
        status, _, body = get(shared_site.url + path)
        return path, status, len(body)

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(fetch, range(200)))
    assert len(results) == 200
    for path, status, size in results:
        assert (status, size) == (expected[path][0], len(expected[path][2])), path
    assert get(shared_site.url)[0] == 200  # still up


def test_status_endpoint_and_last_good_site_on_errors(site: Server) -> None:
    import json

    def status() -> dict[str, object]:
        return dict(json.loads(get(site.root + "/__digest/status")[2]))

    first = status()
    assert first["errors"] == []
    issue = site.cwd / ISSUE_FILE
    good = issue.read_text(encoding="utf-8")
    issue.write_text(good.replace(TAGS_LINE, "tags: rlhf"), encoding="utf-8")
    wait_for(lambda: bool(status()["errors"]), "the errors of the broken build")
    broken = status()
    assert broken["version"] == first["version"]  # nothing new to reload into
    line = good.split("\n").index(TAGS_LINE) + 1
    errors = broken["errors"]
    assert isinstance(errors, list)
    assert errors[0].startswith(f"{ISSUE_FILE}:{line}:7: error: 'tags' must be a list")
    code, _, body = get(site.url + "issues/2022-12/")
    assert code == 200 and RLHF_TITLE.encode() in body  # the last good site
    issue.write_text(good, encoding="utf-8")
    wait_for(lambda: status()["errors"] == [], "the fixed build")
    assert status()["version"] != first["version"]


def test_a_broken_start_waits_for_a_good_build(tmp_path: Path) -> None:
    content = copy_content(tmp_path / "content")
    issue = content / "issues" / "2022-12.md"
    good = issue.read_text(encoding="utf-8")
    issue.write_text(good.replace(TAGS_LINE, "tags: rlhf"), encoding="utf-8")
    server = Server(tmp_path, "--content", "content")
    try:
        url = server.wait_ready()
        assert "error: 'tags' must be a list" in server.output
        assert "build failed; no site to serve until it is fixed" in server.output
        code, _, body = get(url + "issues/2022-12/")
        assert code == 503 and b"/__digest/live.js" in body
        issue.write_text(good, encoding="utf-8")
        try:
            wait_for(lambda: get(url + "issues/2022-12/")[0] == 200, "the first good build")
        except AssertionError:
            raise AssertionError(server.output) from None
    finally:
        assert server.stop() == 0
    # Without --out the site went to a temporary folder, removed on exit; _site is untouched.
    assert not (tmp_path / "_site").exists()
    assert "stopped" in server.output


def test_port_in_use_is_a_usage_error(tmp_path: Path) -> None:
    copy_content(tmp_path / "content")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "digest", "serve", "--port", str(port)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert f"error: cannot listen on 127.0.0.1:{port}: the port is in use" in result.stderr


def test_helpers() -> None:
    assert local_base_url("/ml/", "127.0.0.1", 8000) == "http://127.0.0.1:8000/ml/"
    assert local_base_url("/", "0.0.0.0", 80) == "http://127.0.0.1:80/"
    assert local_base_url("/x/", "::1", 8000) == "http://[::1]:8000/x/"
    html = b"<html><body><p>x</p></BODY></html>"
    assert inject_live_reload(html, "v1") == (
        b'<html><body><p>x</p><script src="/__digest/live.js" data-version="v1"></script>'
        b"</BODY></html>"
    )
    assert inject_live_reload(b"<p>no body</p>", "v").endswith(b"</script>")


# -- a real browser -------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's Chromium, headless, driven by Playwright."""
    # Never skipped: scripts/test.sh installs Chromium, so a missing one is a failure.
    assert CHROMIUM.exists(), "needs Debian's chromium (scripts/test.sh installs it)"
    from playwright import sync_api

    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def test_browser_reloads_on_change_and_shows_errors_in_an_overlay(
    site: Server, browser: object
) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    page = browser.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("console", lambda m: m.type == "error" and problems.append(m.text))
    page.goto(site.url + "issues/2022-12/")
    expect(page.locator("h1")).to_contain_text("2022년 12월")
    rlhf = page.get_by_role("link", name=RLHF_TITLE, exact=True)
    expect(rlhf).to_be_visible()

    def mark_page() -> None:
        # Survives only until a reload: tells a reload apart from an in-place change.
        page.evaluate("window.__notReloaded = true")

    def reloaded() -> bool:
        return bool(page.evaluate("window.__notReloaded === undefined"))

    issue = site.cwd / ISSUE_FILE
    text = issue.read_text(encoding="utf-8")
    line = text.split("\n").index(TAGS_LINE) + 1

    # 1. Edit a file: the open page reloads by itself and shows the change.
    mark_page()
    edited = text.replace(f"title: {RLHF_TITLE}", "title: RLHF, edited live")
    issue.write_text(edited, encoding="utf-8")
    expect(page.get_by_role("link", name="RLHF, edited live", exact=True)).to_be_visible(
        timeout=WAIT * 1000
    )
    assert reloaded()

    # 2. Break it: an overlay names the file and line; the page stays the last good one.
    mark_page()
    issue.write_text(edited.replace(TAGS_LINE, "tags: rlhf"), encoding="utf-8")
    overlay = page.locator("#digest-error-overlay")
    expect(overlay).to_be_visible(timeout=WAIT * 1000)
    expect(overlay).to_contain_text(f"{ISSUE_FILE}:{line}:7: error: 'tags' must be a list")
    expect(overlay).to_contain_text("hint: write tags: [rlhf, llm]")
    assert not reloaded()
    _, _, body = get(site.url + "issues/2022-12/")
    assert b"RLHF, edited live" in body  # the last good site is still served
    # A page opened while the content is broken shows the overlay at once.
    other = browser.new_page()
    other.goto(site.url)
    expect(other.locator("#digest-error-overlay")).to_contain_text(f"{ISSUE_FILE}:{line}:7")
    other.close()

    # 3. Fix it: the page reloads and the overlay is gone.
    issue.write_text(text, encoding="utf-8")
    expect(overlay).to_have_count(0, timeout=WAIT * 1000)
    expect(rlhf).to_be_visible()
    assert reloaded()
    assert problems == []
    page.close()


def test_browser_reloads_on_template_changes(tmp_path: Path, browser: object) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    # A site's own templates/ beside its content folder override the shipped ones.
    copy_content(tmp_path / "content")
    shipped = Path(__file__).resolve().parents[1] / "templates"
    shutil.copytree(shipped, tmp_path / "templates")
    server = Server(tmp_path, "--content", "content")
    try:
        url = server.wait_ready()
        page = browser.new_page()
        page.goto(url)
        base = tmp_path / "templates" / "base.html"
        html = base.read_text(encoding="utf-8")
        assert "</main>" in html
        base.write_text(
            html.replace("</main>", '<p id="from-template">changed</p></main>', 1),
            encoding="utf-8",
        )
        expect(page.locator("#from-template")).to_have_text("changed", timeout=WAIT * 1000)
        # A template error is shown too, and fixing it reloads.
        base.write_text(html.replace("</main>", "{% if %}</main>", 1), encoding="utf-8")
        expect(page.locator("#digest-error-overlay")).to_contain_text(
            "base.html", timeout=WAIT * 1000
        )
        base.write_text(html, encoding="utf-8")
        expect(page.locator("#digest-error-overlay")).to_have_count(0, timeout=WAIT * 1000)
        expect(page.locator("#from-template")).to_have_count(0)
        page.close()
    finally:
        server.stop()


def test_urlopen_sees_the_same_site(shared_site: Server) -> None:
    # The stdlib client (redirects followed) as a sanity check of the base-path redirect.
    with urllib.request.urlopen(shared_site.root + "/", timeout=WAIT) as response:
        assert response.url == shared_site.url
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(shared_site.url + "missing.png", timeout=WAIT)
    assert info.value.code == 404


def test_watches_content_templates_and_static(tmp_path: Path) -> None:
    from digest.assets import asset_dir
    from digest.serve import DevServer

    content = copy_content(tmp_path / "content")
    (tmp_path / "templates").mkdir()
    dev = DevServer(content, tmp_path / "site", drafts=False, report=lambda d: None)
    assert dev.watched() == [
        content.resolve(),
        asset_dir("templates").resolve(),
        asset_dir("static").resolve(),
        (tmp_path / "templates").resolve(),
    ]


def test_garbage_is_collected_when_the_editor_pauses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A full collection walks the whole site in memory (0.7 s at 5,000 issues): saves in
    # quick succession must not wait for it, yet it must happen.
    import digest.serve as serve
    import digest.site as site

    collections: list[int] = []
    monkeypatch.setattr(site, "collect_garbage", lambda: collections.append(1))
    monkeypatch.setattr(site.Collector, "IDLE_SECONDS", 60.0)  # the test says when it pauses
    dev = serve.DevServer(copy_content(tmp_path / "content"), tmp_path / "site", False, print)
    try:
        assert dev.rebuild()
        assert dev.rebuild()
        assert collections == [1, 1]  # quick collections: right after each rebuild
        monkeypatch.setattr(site.Collector, "LONG", 0.0)  # as if each took long
        collections.clear()
        assert dev.rebuild()
        assert collections == []  # not right after the rebuild
        with dev.lock:  # a rebuild is running: it will ask again when done
            dev.collect_when_idle()
        assert collections == []
        dev.collect_when_idle()  # the pause
        assert collections == [1]
        for _ in range(site.Collector.EVERY - 1):
            assert dev.rebuild()
        assert collections == [1]
        assert dev.rebuild()  # never a pause: collected every few rebuilds all the same
        assert collections == [1, 1]
    finally:
        dev.close()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_signal_to_the_group_stops_the_server_and_its_helper_quietly(
    tmp_path: Path, sig: signal.Signals
) -> None:
    # Ctrl-C (or `timeout digest serve`) signals the whole process group: the stat helper
    # died of SIGINT, or ran the SIGTERM handler it inherited from the server, with a
    # traceback under the server's "stopped".
    content = copy_content(tmp_path / "content")
    server = Server(tmp_path, "--content", str(content), own_group=True)
    server.wait_ready()
    os.killpg(server.proc.pid, sig)
    assert server.proc.wait(timeout=WAIT) in (0, 130)
    time.sleep(0.5)  # the reader thread takes the last lines
    assert "stopped" in server.output and "Traceback" not in server.output, server.output


def test_requests_for_another_host_are_refused(shared_site: Server) -> None:
    # DNS rebinding: a page on attacker.example pointed its name at 127.0.0.1 and read
    # the preview (drafts) and the status (local paths) as its own origin.
    base = urlsplit(shared_site.url).path
    port = urlsplit(shared_site.url).port
    for path in (base, "/__digest/status", "/__digest/events"):
        assert raw_get(shared_site.root, path, host=f"attacker.example:{port}") == 421, path
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost"):
        assert raw_get(shared_site.root, base, host=host) == 200, host


@pytest.mark.parametrize("name", ["a" * 300, "loop"])
def test_a_path_the_disk_cannot_resolve_is_not_found(shared_site: Server, name: str) -> None:
    # A name over 255 bytes, or a symlink loop in the output: the connection was dropped.
    if name == "loop":
        site = shared_site.cwd / "site"
        with contextlib.suppress(FileExistsError):
            (site / "loop").symlink_to("loop")
    base = urlsplit(shared_site.url).path
    assert raw_get(shared_site.root, f"{base}{name}") == 404


def test_a_korean_base_path_is_redirected_to_percent_encoded(tmp_path: Path) -> None:
    # The Location header is Latin-1: the redirect from / sent nothing at all.
    content = copy_content(tmp_path / "content")
    site_yaml = content / "site.yaml"
    text = site_yaml.read_text(encoding="utf-8").replace("/ml-digest/", "/읽을거리/")
    site_yaml.write_text(text, encoding="utf-8")
    server = Server(tmp_path, "--content", str(content))
    try:
        server.wait_ready()
        status, headers, _ = get(server.root + "/")
        assert status == 302 and headers["Location"] == "/%EC%9D%BD%EC%9D%84%EA%B1%B0%EB%A6%AC/"
    finally:
        server.stop()


def test_folders_made_or_made_anew_while_serving_are_watched(tmp_path: Path) -> None:
    # The watches were set once, on what was there: a templates/ folder made while
    # serving was never watched, and a content folder made anew left the server on
    # "no issues folder" for good.
    content = copy_content(tmp_path / "content")
    server = Server(tmp_path, "--content", str(content))
    try:
        url = server.wait_ready()
        templates = tmp_path / "templates"
        templates.mkdir()
        footer = (ROOT / "templates" / "_footer.html").read_text(encoding="utf-8")
        (templates / "_footer.html").write_text(footer + "<p>OWN FOOTER 1</p>", "utf-8")
        wait_for(lambda: b"OWN FOOTER 1" in get(url)[2], "the new templates folder")
        (templates / "_footer.html").write_text(footer + "<p>OWN FOOTER 2</p>", "utf-8")
        wait_for(lambda: b"OWN FOOTER 2" in get(url)[2], "an edit in it")
        shutil.rmtree(content)
        wait_for(lambda: "no issues folder" in server.output, "the content folder gone")
        copy_content(content)
        issue = content / "issues" / "2022-12.md"
        issue.write_text(issue.read_text("utf-8").replace("CALM, RLHF", "MADE ANEW, RLHF"))
        wait_for(lambda: "MADE ANEW" in get(url)[2].decode(), "the content folder made anew")
    finally:
        server.stop()
