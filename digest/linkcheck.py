"""`digest check --external`: do the addresses the digest links to still answer?

The only part of digest that goes to the network, and only when asked. Each address
is asked once (HEAD, then GET where a server refuses HEAD), a few at a time and at
most two at once per site, redirects followed. Only a definite answer makes a link
dead: the page is gone (404, 410) or its site is (no such host, connection refused).
Anything else (403 to robots, 429, 5xx, a timeout, a TLS failure) says nothing sure
about the article, so it is listed, not warned about: `--strict` fails only on what
an editor can fix. An address that answered well is not asked again for a day
(`recent`, `remember`): an editor fixing dead links runs the check again and again.
"""

from __future__ import annotations

import socket
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.client import HTTPMessage
from typing import IO
from urllib.parse import urlsplit

from digest import __version__
from digest.cache import Store
from digest.markup import uri

TIMEOUT = 15.0
"""Seconds to wait for a site to answer."""
WORKERS = 8
"""Addresses asked at once."""
PER_SITE = 2
"""Addresses asked at once of one site: never a burst at anyone's server."""
GONE = (404, 410)
"""Statuses that mean the page is gone."""
USER_AGENT = f"digest/{__version__} (link check)"
"""How requests introduce themselves."""
REMEMBERED_FOR = 24 * 60 * 60
"""Seconds an address that answered well is not asked again."""


@dataclass(frozen=True, slots=True)
class Answer:
    """What one address answered."""

    url: str
    """The address as written in the digest."""
    status: int | None
    """The HTTP status after redirects; None when no answer came."""
    reason: str
    """In words: `HTTP 404`, `no such host`, `timed out`, ..."""

    @property
    def ok(self) -> bool:
        """True if the page answered (2xx, after redirects)."""
        return self.status is not None and 200 <= self.status < 300

    @property
    def dead(self) -> bool:
        """True if the page or its site is certainly gone."""
        return self.status in GONE or self.reason in ("no such host", "connection refused")


def anyone_answered(answers: Iterable[Answer]) -> bool:
    """True if any site answered at all; if none did, this machine is offline."""
    return any(answer.status is not None for answer in answers)


def recent(store: Store, urls: Iterable[str], now: float) -> dict[str, Answer]:
    """The answers `store` has of `urls`, by address: those that were good, lately."""
    known = _known(store, urls, now)
    return {url: Answer(url, status, reason) for url, (_, status, reason) in known.items()}


def remember(store: Store, answers: Mapping[str, Answer], urls: Iterable[str], now: float) -> None:
    """Keep the good `answers`, asked at `now`, and those of `urls` still recent."""
    kept = _known(store, urls, now)
    # Only good answers: a dead or doubtful address is asked again each time.
    kept.update((url, (now, a.status, a.reason)) for url, a in answers.items() if a.ok and a.status)
    store.put("answers", kept)


def _known(store: Store, urls: Iterable[str], now: float) -> dict[str, tuple[float, int, str]]:
    """What `store` remembers of `urls`, by address: (when asked, status, reason), if recent."""
    known: dict[str, tuple[float, int, str]] = store.get("answers") or {}
    recent = (url for url in urls if url in known and 0 <= now - known[url][0] < REMEMBERED_FOR)
    return {url: known[url] for url in recent}


def ask_all(
    urls: Iterable[str],
    timeout: float = TIMEOUT,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Answer]:
    """The answer of every address in `urls`, by address; `progress(done, total)` as they come."""
    todo = sorted(set(urls))
    sites: dict[str, threading.Semaphore] = {
        site_of(url): threading.Semaphore(PER_SITE) for url in todo
    }
    answers: dict[str, Answer] = {}

    def one(url: str) -> Answer:
        with sites[site_of(url)]:
            return ask(url, timeout)

    pool = ThreadPoolExecutor(WORKERS)
    try:
        for done, answer in enumerate(pool.map(one, todo), start=1):
            answers[answer.url] = answer
            if progress is not None:
                progress(done, len(todo))
    finally:
        # Not `with`: after Ctrl-C it would wait for every request in flight to time out.
        pool.shutdown(wait=False, cancel_futures=True)
    return answers


def ask(url: str, timeout: float = TIMEOUT) -> Answer:
    """What `url` answers: HEAD first, GET if the server will not answer HEAD."""
    answer = _request(url, "HEAD", timeout)
    if answer.status is not None and not answer.ok and answer.status not in GONE:
        # Many servers answer HEAD with 403, 405 or 501 and GET with the page.
        answer = _request(url, "GET", timeout)
    return answer


class _KeepHead(urllib.request.HTTPRedirectHandler):
    """Follow a redirect with the request's own method: urllib turns HEAD into GET."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        """The request that follows the redirect, HEAD kept HEAD."""
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and req.get_method() == "HEAD":
            new.method = "HEAD"
        return new


_OPENER = urllib.request.build_opener(_KeepHead)


def _request(url: str, method: str, timeout: float) -> Answer:
    request = urllib.request.Request(uri(url), method=method, headers={"User-Agent": USER_AGENT})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return Answer(url, response.status, f"HTTP {response.status}")
    except urllib.error.HTTPError as exc:
        exc.close()
        return Answer(url, exc.code, f"HTTP {exc.code}")
    except urllib.error.URLError as exc:
        return Answer(url, None, _why(exc.reason))
    except (OSError, ValueError) as exc:  # a timeout while reading, a malformed address
        return Answer(url, None, _why(exc))


def _why(reason: object) -> str:
    """A failure to connect, in a few words."""
    if isinstance(reason, socket.gaierror):
        # Only "no such name" is sure: offline, every lookup fails ("try again").
        return "no such host" if reason.errno == socket.EAI_NONAME else "name lookup failed"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(reason, ssl.SSLError):
        return f"TLS error ({reason.reason or reason})"
    return str(reason) or type(reason).__name__


def site_of(url: str) -> str:
    """The site an address is on (its host and port)."""
    return urlsplit(url).netloc.lower()
