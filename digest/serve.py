"""`digest serve`: build, serve the output under its base path, rebuild on change, live reload.

The site is built with base_url's host swapped for the local address but its path kept
(http://127.0.0.1:8000/ml-digest/), so base-path bugs show up here, not after deploying.
Served HTML gets one extra `<script>` (never written to the built files) that listens for
rebuilds over Server-Sent Events: a good build reloads the page, a failed one shows its
errors over the page while the last good site stays served.
"""

from __future__ import annotations

import contextlib
import errno
import json
import mimetypes
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, quote, unquote, urlsplit

from digest.assets import asset_dir
from digest.cache import SaveLater
from digest.errors import ContentErrors, Diagnostic, OutputError, plural
from digest.live import StatAhead
from digest.load import display_path, site_config
from digest.site import SITE_MARKER, Collector, build
from digest.workers import sigterm_as_interrupt

EXIT_OK, EXIT_USAGE = 0, 2

EVENTS_PATH = "/__digest/events"
"""Server-Sent Events: one message per build, `{"version", "errors"}`."""
STATUS_PATH = "/__digest/status"
"""The same message as JSON, for tools and tests."""
SCRIPT_PATH = "/__digest/live.js"
"""The live-reload script, a file rather than inline so a strict CSP still allows it."""
KEEPALIVE_SECONDS = 15.0
WATCH_START_SECONDS = 15.0

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    ".opml": "text/x-opml; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".woff2": "font/woff2",
    ".webmanifest": "application/manifest+json",
}
"""What static hosts send; the system's mimetypes table varies between machines."""

LIVE_RELOAD_JS = """\
(function () {
  "use strict";
  var me = document.currentScript;
  var version = me ? me.getAttribute("data-version") : null;
  var overlay = null;
  function show(errors) {
    if (!errors.length) {
      if (overlay) { overlay.remove(); overlay = null; }
      return;
    }
    if (!overlay) {
      overlay = document.createElement("div");
      overlay.id = "digest-error-overlay";
      overlay.setAttribute("role", "alert");
      overlay.style.cssText = "position:fixed;inset:0;z-index:2147483647;overflow:auto;" +
        "box-sizing:border-box;padding:1.5rem;background:rgba(24,24,27,.96);color:#fafafa;" +
        "font:14px/1.5 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;" +
        "word-break:normal;text-align:left";
      var title = document.createElement("p");
      title.style.cssText = "margin:0 0 1rem;font-weight:bold;color:#fca5a5";
      title.textContent = "digest: the build failed. The last good site is still " +
        "served; fix the problems below and save to reload.";
      var close = document.createElement("button");
      close.type = "button";
      close.textContent = "Hide";
      close.style.cssText = "float:right;font:inherit;padding:.2rem .8rem";
      close.addEventListener("click", function () { overlay.style.display = "none"; });
      var pre = document.createElement("pre");
      pre.style.cssText = "margin:0;white-space:pre-wrap";
      overlay.append(close, title, pre);
      document.body.appendChild(overlay);
    }
    overlay.style.display = "";
    overlay.querySelector("pre").textContent = errors.join("\\n\\n");
  }
  var source = new EventSource("/__digest/events");
  source.onmessage = function (event) {
    var state = JSON.parse(event.data);
    if (state.version !== version) { location.reload(); return; }
    show(state.errors);
  };
})();
"""

WAITING_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>digest serve: waiting for a good build</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>Waiting for a good build</h1>
<p>The content has errors, so there is no site to show yet. Fix them (they are listed
here and in the terminal) and save: this page reloads by itself.</p></main></body></html>
"""


@dataclass
class BuildState:
    """The latest build as the request threads see it; changed only by `publish`."""

    out_dir: Path
    """Folder the site is written to and served from."""
    base_path: str = "/"
    """Where the site lives on this server, e.g. `/ml-digest/`."""
    boot: str = field(default_factory=lambda: secrets.token_hex(4))
    """Changes when the server restarts, so pages from an old server reload too."""
    builds: int = 0
    """Good builds so far; part of the version pages compare against."""
    errors: tuple[str, ...] = ()
    """Formatted problems of the latest build; empty when it succeeded."""
    generation: int = 0
    """Bumped on every publish, to wake event streams."""
    stopping: bool = False
    """Set at shutdown so event streams end."""
    cond: threading.Condition = field(default_factory=threading.Condition)

    @property
    def version(self) -> str:
        """Identifies the site being served: a page from another version reloads."""
        return f"{self.boot}-{self.builds}"

    @property
    def has_site(self) -> bool:
        """True once a good build (this run's or an earlier one's) is in the folder."""
        return (self.out_dir / SITE_MARKER).is_file()

    def publish(self, errors: Sequence[str] = (), base_path: str | None = None) -> None:
        """Record a build's outcome: no errors means a new good site to reload into."""
        with self.cond:
            if not errors:
                self.builds += 1
            # The served path follows site.yaml, but a failed build keeps the last good
            # site where it was (unless there is none yet: then wait at the new path).
            if base_path is not None and (not errors or not self.has_site):
                self.base_path = base_path
            self.errors = tuple(errors)
            self.generation += 1
            self.cond.notify_all()

    def stop(self) -> None:
        """Wake and end every event stream."""
        with self.cond:
            self.stopping = True
            self.cond.notify_all()

    def message(self) -> str:
        """The event-stream / status payload."""
        return json.dumps({"version": self.version, "errors": list(self.errors)})


def content_type(path: Path) -> str:
    """The Content-Type for a served file, utf-8 for text."""
    known = CONTENT_TYPES.get(path.suffix.lower())
    if known:
        return known
    guess = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"{guess}; charset=utf-8" if guess.startswith("text/") else guess


def inject_live_reload(html: bytes, version: str) -> bytes:
    """`html` with the live-reload script before `</body>` (or at the end)."""
    tag = f'<script src="{SCRIPT_PATH}" data-version="{version}"></script>'.encode()
    at = html.lower().rfind(b"</body>")
    return html + tag if at < 0 else html[:at] + tag + html[at:]


def local_base_url(base_path: str, host: str, port: int) -> str:
    """base_url for this server: the local address, the configured path."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"  # browsers cannot open 0.0.0.0 everywhere; this machine can
    elif host == "::":
        host = "::1"
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}{base_path}"


class SiteServer(ThreadingHTTPServer):
    """A threaded HTTP server that knows the build state."""

    daemon_threads = True
    request_queue_size = 128  # a burst of page loads must not overflow the listen backlog

    def __init__(self, address: tuple[str, int], state: BuildState, verbose: bool) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.state = state
        self.verbose = verbose
        super().__init__(address, SiteRequestHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up mid-response are normal; anything else is worth a line."""
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            return
        print(f"error while serving a request: {exc!r}", file=sys.stderr)


class SiteRequestHandler(BaseHTTPRequestHandler):
    """Serves files of the output folder under the base path, and the live-reload endpoints."""

    server: SiteServer
    server_version = "digest-serve"
    # A client that sends half a request is dropped after this many seconds instead of
    # holding a thread (and a file descriptor) for ever. The event stream only writes.
    timeout = 30

    def do_GET(self) -> None:
        """Answer a GET."""
        self._handle(head=False)

    def do_HEAD(self) -> None:
        """Answer a HEAD: the headers a GET would get."""
        self._handle(head=True)

    def log_message(self, format: str, *args: Any) -> None:
        """Log requests only with -v: a page load is dozens of lines."""
        if self.server.verbose:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    # -- routing -------------------------------------------------------------------

    def _handle(self, head: bool) -> None:
        state = self.server.state
        if not self._host_allowed():
            self._plain(HTTPStatus.MISDIRECTED_REQUEST, "misdirected: not this server's host", head)
            return
        url = urlsplit(self.path)
        if url.path == EVENTS_PATH and not head:
            self._events()
            return
        if url.path == STATUS_PATH:
            self._send(HTTPStatus.OK, state.message().encode(), "application/json", head)
            return
        if url.path == SCRIPT_PATH:
            self._send(HTTPStatus.OK, LIVE_RELOAD_JS.encode(), CONTENT_TYPES[".js"], head)
            return
        try:
            path = unquote(url.path, errors="strict")
        except UnicodeDecodeError:
            self._plain(HTTPStatus.BAD_REQUEST, "bad request: the path is not UTF-8", head)
            return
        # Decoded before checking, so `%2e%2e` and `%2f` cannot sneak a `..` past it.
        parts = path.split("/")
        if "\x00" in path or "\\" in path or any(p in (".", "..") for p in parts):
            self._plain(HTTPStatus.FORBIDDEN, "forbidden: the path leaves the site", head)
            return
        base = state.base_path
        if not path.startswith(base):
            if path in ("/", base.rstrip("/")):
                self._redirect(base)
            else:
                self._plain(
                    HTTPStatus.NOT_FOUND, f"not found: this server serves the site at {base}", head
                )
            return
        if not state.has_site:
            self._html(HTTPStatus.SERVICE_UNAVAILABLE, WAITING_PAGE.encode(), head)
            return
        self._file(path[len(base) :], url, head)

    def _host_allowed(self) -> bool:
        """Whether the request names this machine, when the server listens on it only.

        A web page can point a name it controls at 127.0.0.1 (DNS rebinding) and then
        read this server as its own origin: drafts, and the status with local paths.
        Such a request still names the attacker's host, so it is refused.
        """
        listening = self.server.server_address[0]
        if listening not in ("127.0.0.1", "::1", "localhost"):
            return True  # --host 0.0.0.0 or a LAN address: other names are expected
        host = (self.headers.get("Host") or "").strip().lower()
        name = host[1:].partition("]")[0] if host.startswith("[") else host.partition(":")[0]
        return name in ("127.0.0.1", "localhost", "::1", "")

    def _file(self, rel: str, url: SplitResult, head: bool) -> None:
        state = self.server.state
        version = state.version  # read before the file: a newer file only costs one reload
        root = state.out_dir.resolve()
        try:
            target = (root / rel).resolve()
            if not target.is_relative_to(root):  # a symlink pointing out of the site
                self._plain(HTTPStatus.FORBIDDEN, "forbidden: the path leaves the site", head)
                return
            if target.is_dir():
                if rel and not rel.endswith("/"):
                    self._redirect(url.path + "/" + (f"?{url.query}" if url.query else ""))
                    return
                target = target / "index.html"
            hidden = any(p.startswith(".") for p in target.relative_to(root).parts)
            found = target.is_file() and not hidden
        except (OSError, RuntimeError):  # a name too long, a symlink loop: no such page
            found = False
        if not found:
            self._not_found(root, version, head)
            return
        try:
            data = target.read_bytes()
        except OSError:  # swapped away by a rebuild between the check and the read
            self._not_found(root, version, head)
            return
        if target.suffix == ".html":
            self._html(HTTPStatus.OK, data, head, version)
        else:
            self._send(HTTPStatus.OK, data, content_type(target), head)

    def _not_found(self, root: Path, version: str, head: bool) -> None:
        page = root / "404.html"
        if page.is_file():
            self._html(HTTPStatus.NOT_FOUND, page.read_bytes(), head, version)
        else:
            self._plain(HTTPStatus.NOT_FOUND, "not found", head)

    def _events(self) -> None:
        state = self.server.state
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        seen = -1
        try:
            self.wfile.write(b"retry: 1000\n\n")
            while True:
                with state.cond:
                    if state.generation == seen and not state.stopping:
                        state.cond.wait(KEEPALIVE_SECONDS)
                    if state.stopping:
                        return
                    generation, message = state.generation, state.message()
                if generation != seen:
                    self.wfile.write(f"data: {message}\n\n".encode())
                    seen = generation
                else:
                    self.wfile.write(b": keep-alive\n\n")
                self.wfile.flush()
        except (ConnectionError, TimeoutError):
            return

    # -- responses -------------------------------------------------------------------

    def _html(
        self, status: HTTPStatus, data: bytes, head: bool, version: str | None = None
    ) -> None:
        data = inject_live_reload(data, version or self.server.state.version)
        self._send(status, data, CONTENT_TYPES[".html"], head)

    def _plain(self, status: HTTPStatus, text: str, head: bool) -> None:
        self._send(status, (text + "\n").encode(), CONTENT_TYPES[".txt"], head)

    def _redirect(self, location: str) -> None:
        self.send_response(HTTPStatus.FOUND)
        # Percent-encoded: a header is Latin-1, and a base path may be Korean.
        self.send_header("Location", quote(location, safe="/%?&=#:;,+@!$'()*~"))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _send(self, status: HTTPStatus, data: bytes, ctype: str, head: bool) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            # Always fresh: a reload after a rebuild must show the rebuilt file.
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            if not head:
                self.wfile.write(data)
        except (ConnectionError, TimeoutError):
            pass


# -- building and watching ----------------------------------------------------------


Report = Callable[[Sequence[Diagnostic]], None]


def _print_plain(diagnostics: Sequence[Diagnostic]) -> None:
    for d in diagnostics:
        print(d.format(), file=sys.stderr)


class DevServer:
    """Builds, serves and rebuilds one content folder."""

    def __init__(
        self,
        content: Path,
        out: Path,
        drafts: bool,
        report: Report,
    ) -> None:
        self.content = content
        self.out = out
        self.drafts = drafts
        self.report = report
        self.state = BuildState(out)
        self.host = "127.0.0.1"
        self.port = 0
        self.served_base: str | None = None
        """The base path of the last good build, to say when site.yaml moves it."""
        self.stop_event = threading.Event()
        self.watching = threading.Event()
        self.lock = threading.Lock()
        self.stat_ahead: StatAhead | None = None
        """Looks at the output folder's files while a rebuild works (see `StatAhead`)."""
        self.collector = Collector()
        self._collect_later: threading.Timer | None = None

    def rebuild(self) -> bool:
        """Build into the output folder; on failure keep the last good site and say why."""
        if self._collect_later is not None:
            self._collect_later.cancel()  # the editor is at work: not idle yet
        # One build at a time: two would race for the same scratch folder.
        with self.lock:
            later = SaveLater()
            try:
                return self._rebuild(later)
            finally:
                # The page is reloading (or showing the errors) now: meanwhile the
                # cache is written, failed builds' too (their Markdown, say).
                later.flush()
                if self.collector.built():
                    self.collector.collect()
                else:
                    self._collect_later = threading.Timer(
                        Collector.IDLE_SECONDS, self.collect_when_idle
                    )
                    self._collect_later.daemon = True
                    self._collect_later.start()

    def close(self) -> None:
        """Stop the helpers: the pending collection, the stat helper."""
        if self._collect_later is not None:
            self._collect_later.cancel()
        if self.stat_ahead is not None:
            self.stat_ahead.close()

    def collect_when_idle(self) -> None:
        """Collect what the rebuilds left, unless one is running (it will call this again)."""
        if self.lock.acquire(blocking=False):
            try:
                self.collector.collect()
            finally:
                self.lock.release()

    def _rebuild(self, later: SaveLater) -> bool:
        start = time.perf_counter()
        base_path: str | None = None
        base_url: str | None = None
        try:
            config = site_config(self.content)
            base_path = config.base_path
            base_url = local_base_url(base_path, self.host, self.port)
            with later:
                result = build(
                    self.content,
                    self.out,
                    drafts=self.drafts,
                    base_url=base_url,
                    stat_ahead=self.stat_ahead,
                )
        except ContentErrors as exc:
            self.report(exc.diagnostics)
            errors = [d.format() for d in exc.diagnostics]
        except OutputError as exc:
            errors = [f"error: {exc}"]
            print(errors[0], file=sys.stderr)
        except Exception as exc:  # a template or asset mistake must not stop the server
            import jinja2

            if isinstance(exc, jinja2.TemplateError):
                from digest.render import template_error

                diagnostic = template_error(exc)
                self.report([diagnostic])
                errors = [diagnostic.format()]
            else:
                traceback.print_exc()
                errors = [_describe(exc)]
        else:
            self.report(result.warnings)
            issues, links = result.issues, result.links
            print(
                f"built {plural(issues, 'issue')}, {plural(links, 'link')} "
                f"in {time.perf_counter() - start:.2f}s",
                flush=True,
            )
            moved = self.served_base not in (None, base_path)
            self.served_base = base_path
            self.state.publish(base_path=base_path)
            if moved and base_url is not None:  # site.yaml's base path changed
                print(f"serving {base_url} (the base path moved)", flush=True)
            return True
        if self.state.has_site:
            print("build failed; still serving the last good site", file=sys.stderr, flush=True)
        else:
            print("build failed; no site to serve until it is fixed", file=sys.stderr, flush=True)
        self.state.publish(errors, base_path)
        return False

    def watched(self) -> list[Path]:
        """Content, templates and static folders (the shipped ones and a site's own)."""
        folders = [
            self.content,
            asset_dir("templates"),
            asset_dir("static"),
            self.content.resolve().parent / "templates",
        ]
        out: list[Path] = []
        for folder in folders:
            folder = folder.resolve()
            if folder.is_dir() and folder not in out:
                out.append(folder)
        return out

    def _roots(self) -> list[tuple[Path, int]]:
        """The folders to watch, each with its inode (a folder made anew is another)."""
        roots = []
        for folder in self.watched():
            with contextlib.suppress(OSError):
                roots.append((folder, folder.stat().st_ino))
        return roots

    def watch(self) -> None:
        """Rebuild after every batch of changes until stopped."""
        import watchfiles

        out = self.out.resolve()
        scratch = f".{out.name}.tmp-"

        class SiteFilter(watchfiles.DefaultFilter):
            # The output folder and its scratch copies change on every build: ignoring
            # them keeps an --out inside the content folder from rebuilding forever.
            def __call__(self, change: Any, path: str) -> bool:
                p = Path(path)
                if p == out or out in p.parents or p.name.startswith(scratch):
                    return False
                if any(part.startswith(scratch) or part == ".digest-cache" for part in p.parts):
                    return False
                return bool(super().__call__(change, path))

        polling = None  # let watchfiles choose (it honours WATCHFILES_FORCE_POLLING)
        # Set when the watched folders changed: rebuild once the new watches are live, so
        # that nothing written while they were being set is missed.
        pending = False
        while not self.stop_event.is_set():
            roots = self._roots()
            watched = {folder for folder, _ in roots}
            try:
                for changes in watchfiles.watch(
                    *(folder for folder, _ in roots),
                    watch_filter=SiteFilter(),
                    stop_event=self.stop_event,
                    raise_interrupt=False,
                    force_polling=polling,
                    # An empty batch every 200 ms tells us the watcher is live (see `serve`).
                    rust_timeout=200,
                    yield_on_timeout=True,
                    # A batch ends after 5 ms without changes (watchfiles waits 50): an
                    # editor's save is a burst of writes and a rename, done in under a
                    # millisecond, and the editor waits for the rebuild. A batch that a
                    # slower tool splits (a checkout, say) only rebuilds once more.
                    step=5,
                ):
                    self.watching.set()
                    if changes or pending:
                        names = sorted({display_path(Path(p)) for _, p in changes})
                        more = f" and {len(names) - 3} more" if len(names) > 3 else ""
                        if names:
                            print(f"changed: {', '.join(names[:3])}{more}", flush=True)
                        pending = False
                        self.rebuild()
                        if any(Path(p) in watched for _, p in changes):
                            pending = True  # a watched folder itself went, its watch with it
                            break
                    elif self._roots() != roots:
                        # A templates/ folder made, or the content folder removed or made
                        # anew: the watches are on what was there. Watch what is there now.
                        print("changed: the folders watched", flush=True)
                        pending = True
                        break
                else:
                    return
            except OSError as exc:
                if polling:
                    raise
                # inotify limits run out on busy machines; polling is slower but works.
                print(f"warning: cannot watch files ({exc}); polling instead", file=sys.stderr)
                polling = True


def _describe(exc: Exception) -> str:
    """One line for an unexpected build failure, with a file and line when it has them."""
    filename = getattr(exc, "filename", None)
    lineno = getattr(exc, "lineno", None)
    where = f"{filename}:{lineno}: " if filename and lineno else ""
    return f"{where}error: {type(exc).__name__}: {exc}"


def serve(
    content: Path,
    out: Path | None,
    host: str = "127.0.0.1",
    port: int = 8000,
    drafts: bool = False,
    verbose: bool = False,
    report: Report | None = None,
) -> int:
    """Build, serve on host:port and rebuild on change until interrupted; an exit code."""
    scratch = None
    if out is None:
        # A private folder: serving builds with a local base_url, which must never end
        # up in the _site that gets deployed.
        scratch = Path(tempfile.mkdtemp(prefix="digest-serve-"))
        out = scratch / "site"
    dev = DevServer(content, out, drafts, report or _print_plain)
    try:
        server = SiteServer((host, port), dev.state, verbose)
    except OSError as exc:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
        why = "the port is in use" if exc.errno == errno.EADDRINUSE else exc.strerror
        print(
            f"error: cannot listen on {host}:{port}: {why}; try another --port "
            "(--port 0 picks a free one)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    dev.host, dev.port = host, int(server.server_address[1])
    previous = sigterm_as_interrupt()  # so that the temporary site is removed
    watcher = threading.Thread(target=dev.watch, name="digest-watch", daemon=True)
    # Forked now, before the first build and the server's threads: a small process.
    with contextlib.suppress(OSError, ValueError):  # no fork here: rebuilds look themselves
        dev.stat_ahead = StatAhead()
    try:
        # Watch before the first build, so an edit made while it runs is not missed; the
        # watcher starts slowly (it imports and sets up inotify), so wait until it is live.
        watcher.start()
        if not dev.watching.wait(WATCH_START_SECONDS):
            print("warning: file watching has not started; rebuilds may lag", file=sys.stderr)
        dev.rebuild()
        url = local_base_url(dev.state.base_path, host, dev.port)
        if host not in ("127.0.0.1", "localhost", "::1"):
            print(f"warning: listening on {host}: other machines can read this site")
        print(f"serving {url} (Ctrl+C to stop)", flush=True)
        server.serve_forever(poll_interval=0.25)
    except KeyboardInterrupt:
        pass
    finally:
        dev.stop_event.set()
        dev.state.stop()
        server.server_close()
        if watcher.is_alive():
            watcher.join(timeout=2)
        dev.close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    print("stopped", flush=True)
    return EXIT_OK
