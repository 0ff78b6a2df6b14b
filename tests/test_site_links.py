"""Every internal link of the built site resolves: pages, assets, feeds and `#anchors`.

Fast and offline: each HTML page is parsed with html.parser, and every href, src,
srcset and form action that points into the site (root-relative under the base
path, relative, or absolute under the base URL) must name a file of the output
(a folder URL means its index.html; Korean paths are percent-decoded), and its
fragment an id on that page. Links that leave the base path are errors too.
The sitemap and the OPML file are checked the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

from .test_pages import build_rich_site

URL_ATTRS = {"href", "src", "action", "poster", "data"}


@dataclass
class ParsedPage:
    """What a page points at and the anchors it offers."""

    urls: list[tuple[str, str]] = field(default_factory=list)
    """(tag, URL) for every URL attribute, in document order."""
    ids: list[str] = field(default_factory=list)
    """Every id (and legacy `<a name>`), duplicates kept."""


class LinkParser(HTMLParser):
    """Collects URL attributes and ids of one HTML document."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = ParsedPage()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Record URLs (including each srcset candidate, og:url) and ids."""
        values = {k: v or "" for k, v in attrs}
        for name, value in values.items():
            if name in URL_ATTRS:
                self.page.urls.append((tag, value))
            elif name == "srcset":
                for candidate in value.split(","):
                    if candidate.strip():
                        self.page.urls.append((tag, candidate.split()[0]))
            elif name == "id" or (tag == "a" and name == "name"):
                self.page.ids.append(value)
        if tag == "meta" and values.get("property") == "og:url":
            self.page.urls.append((tag, values.get("content", "")))


@dataclass(frozen=True)
class BuiltSite:
    """An output folder and the base URL it was built for."""

    out: Path
    base_url: str

    @property
    def base_path(self) -> str:
        """The path part of the base URL (`/ml/`)."""
        return urlsplit(self.base_url).path

    def file_url(self, file: Path) -> str:
        """The URL a file is served at (`…/index.html` -> its folder URL)."""
        rel = file.relative_to(self.out).as_posix()
        return self.base_url + (
            rel.removesuffix("index.html") if rel.endswith("index.html") else rel
        )

    def target(self, url: str) -> tuple[Path | None, str]:
        """The output file an absolute URL names, or None if it leaves the site; its fragment."""
        parts = urlsplit(url)
        site = urlsplit(self.base_url)
        if (parts.scheme, parts.netloc) != (site.scheme, site.netloc):
            return None, parts.fragment
        path = unquote(parts.path)
        if not path.startswith(self.base_path):
            return None, parts.fragment
        rel = path[len(self.base_path) :]
        file = self.out / (rel + "index.html" if rel == "" or rel.endswith("/") else rel)
        return file, unquote(parts.fragment)


def parse(file: Path) -> ParsedPage:
    """Parse one HTML file."""
    parser = LinkParser()
    parser.feed(file.read_text(encoding="utf-8"))
    parser.close()
    return parser.page


def broken_links(site: BuiltSite) -> Iterator[str]:
    """Every internal URL of every page that does not resolve, as `page: url (why)`."""
    pages = {f: parse(f) for f in sorted(site.out.rglob("*.html"))}
    assert len(pages) > 10
    ids = {f: set(p.ids) for f, p in pages.items()}
    for file, parsed in pages.items():
        where = file.relative_to(site.out).as_posix()
        dupes = sorted({i for i in parsed.ids if parsed.ids.count(i) > 1})
        if dupes:
            yield f"{where}: duplicate ids {dupes}"
        # The 404 page is served at any missing URL: its links must not be page-relative.
        page_url = site.file_url(file)
        for tag, url in parsed.urls:
            parts = urlsplit(url)
            if parts.scheme and parts.scheme not in ("http", "https"):
                continue  # mailto: and the like
            if (parts.scheme or parts.netloc) and parts.netloc != urlsplit(site.base_url).netloc:
                continue  # another site
            if where == "404.html" and url and not url.startswith(("/", "#", "http")):
                yield f"{where}: {url} (relative URL on the 404 page)"
            if url == "#":
                yield f"{where}: <{tag} href='#'> (empty fragment)"
                continue
            absolute = urljoin(page_url, url)
            target, fragment = site.target(absolute)
            if target is None:
                if not parts.netloc:  # written as ours, but not under the base path
                    yield f"{where}: {url} (outside the base path {site.base_path})"
                continue  # an absolute link to elsewhere on the same host: an article
            if target.is_dir():
                yield f"{where}: {url} (a folder without its trailing slash)"
                continue
            if not target.is_file():
                yield f"{where}: {url} (no such file: {target.relative_to(site.out)})"
                continue
            if fragment:
                if target.suffix != ".html":
                    yield f"{where}: {url} (fragment on a non-HTML file)"
                elif fragment not in ids.get(target, set()):
                    yield f"{where}: {url} (no id {fragment!r} on that page)"
    yield from broken_listed_urls(site)


def broken_listed_urls(site: BuiltSite) -> Iterator[str]:
    """URLs listed by the sitemap, robots.txt and the OPML file that do not resolve."""
    listed: list[tuple[str, str]] = []
    sitemap = site.out / "sitemap.xml"
    listed += [("sitemap.xml", u) for u in re.findall(r"<loc>([^<]+)</loc>", sitemap.read_text())]
    robots = (site.out / "robots.txt").read_text()
    listed += [("robots.txt", u) for u in re.findall(r"(?m)^Sitemap: (\S+)", robots)]
    opml = site.out / "feeds.opml"
    if not opml.is_file():
        yield "feeds.opml (missing)"
    else:
        text = opml.read_text()
        listed += [("feeds.opml", u) for u in re.findall(r'(?:xmlUrl|htmlUrl)="([^"]+)"', text)]
    for where, url in listed:
        url = url.replace("&amp;", "&")
        target, _ = site.target(url)
        if target is None:
            yield f"{where}: {url} (not an absolute URL under {site.base_url})"
        elif not target.is_file():
            yield f"{where}: {url} (no such file)"


@pytest.fixture(scope="module")
def rich_site(tmp_path_factory: pytest.TempPathFactory) -> BuiltSite:
    """The paginated, multi-issue site of test_pages, under a base path."""
    out = build_rich_site(tmp_path_factory.mktemp("links"), "https://example.org/ml/")
    return BuiltSite(out, "https://example.org/ml/")


def test_sample_site_links_resolve(sample_site: Path) -> None:
    assert list(broken_links(BuiltSite(sample_site, "https://example.org/ml/"))) == []


def test_rich_site_links_resolve(rich_site: BuiltSite) -> None:
    assert list(broken_links(rich_site)) == []


def test_site_at_the_domain_root_links_resolve(tmp_path: Path) -> None:
    out = build_rich_site(tmp_path, "https://digest.example.com/")
    assert list(broken_links(BuiltSite(out, "https://digest.example.com/"))) == []


def test_the_checker_finds_broken_links(rich_site: BuiltSite, tmp_path: Path) -> None:
    """The checker itself: a page with every kind of mistake is reported in full."""
    import shutil

    out = tmp_path / "site"
    shutil.copytree(rich_site.out, out)
    bad = (
        '<a href="/ml/tags/없는-태그/">x</a>'
        '<a href="/ml/issues/2022-12/#no-such-anchor">x</a>'
        '<a href="#missing">x</a>'
        '<a href="/elsewhere/">x</a>'
        '<a href="/ml/issues/2022-12">x</a>'
        '<img src="../static/nope.png" alt="">'
        '<a href="https://other.example/x">fine: another site</a>'
        '<a href="/ml/tags/%EA%B0%95%ED%99%94%ED%95%99%EC%8A%B5/">fine: encoded Korean</a>'
    )
    page = out / "archive" / "index.html"
    page.write_text(page.read_text().replace("</main>", bad + "</main>"))
    problems = [p for p in broken_links(BuiltSite(out, rich_site.base_url)) if "archive/" in p]
    assert len(problems) == 6, problems
    for expected in (
        "없는-태그",
        "no-such-anchor",
        "'missing'",
        "outside",
        "trailing slash",
        "nope.png",
    ):
        assert any(expected in p for p in problems), expected
