"""Digest-wide warnings: implausible `published` months, repeated URLs, missing images,
links into the site that go nowhere.

These look across links and issues (or at the content folder), so they run after every
file has been read. They never stop a build; `digest check --strict` makes them fail.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from itertools import chain
from pathlib import Path, PurePath
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote, urlsplit

from digest.assets import asset_dir
from digest.cache import Store
from digest.errors import Diagnostic, SourceText
from digest.groups import group_digest
from digest.markup import url_scheme
from digest.model import Digest, Issue, Link, ParsedIssue
from digest.parse import decode, fence_closes, fence_opened

if TYPE_CHECKING:
    from digest.linkcheck import Answer

PUBLISHED_YEARS_BEFORE = 3
"""A link published more than this many years before its issue is probably a typo."""

LINK_SPAN = 40
"""How many lines after a link's first line may still hold its fields."""

_TRACKING_PARAM = re.compile(
    r"^(?:utm_\w+|fbclid|gclid|dclid|gbraid|wbraid|msclkid|yclid|igshid|mc_cid|mc_eid"
    r"|_ga|_gl|_hsenc|_hsmi|mkt_tok|ref_src|ref_url)$",
    re.IGNORECASE,
)
"""Query parameters that say how a reader arrived, not what they read."""
_MOBILE_PARAMS = {"m": {"0", "1"}}
"""Blogger-style `?m=1` / `?m=0` switch the layout, not the article."""
_MOBILE_HOSTS = ("www.", "m.", "mobile.")
_PERCENT = re.compile(r"%[0-9a-fA-F]{2}")
_SLASHES = re.compile(r"/{2,}")
_PLAIN_URL = re.compile(
    r"https?://([a-z0-9-]+(?:\.[a-z0-9-]+)+)(/[A-Za-z0-9/._~%!$&'()*+,;=:@-]*)?"
)
"""Most URLs: no port, user, query or fragment, lower-case ASCII host; `urlsplit` and
`parse_qsl` would find the host and path they match here, at a fraction of the cost."""

_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
_IMAGE = re.compile(r"!\[(?:[^\]\\]|\\.)*\]\([ \t]*<?(?P<src>[^)\s>]+)")
_NATIVE_PUBLISHED = re.compile(r"^published[ \t]*:[ \t]*[\"']?(?P<at>\S)")
_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def _legacy_published(published: str) -> re.Pattern[str]:
    """The `(Mon YYYY` a legacy link wrote its `published` month as: `(Nov 2002, Org)`."""
    month = _MONTH_NAMES[int(published[5:7]) - 1]
    return re.compile(
        rf"\([ \t]*(?P<at>{month}[a-z]*\.?[ \t]+{published[:4]})(?![0-9])", re.IGNORECASE
    )


@dataclass(frozen=True, slots=True)
class IssueFindings:
    """What the digest-wide checks need of one issue file, found once per version of it.

    A pure function of the file (its path, text and parsed issue), so it can be cached
    by the file's content key; only what depends on other files or on the content
    folder (repeated URLs, which images exist) is decided on every run.
    """

    url_keys: tuple[str, ...]
    """`normalise_url` of each link's URL, in `Issue.all_links` order."""
    published: tuple[Diagnostic, ...]
    """Warnings about implausible `published` months."""
    images: tuple[tuple[str, Diagnostic], ...]
    """Relative Markdown images: (site path, the warning to give if the site lacks it)."""
    site_links: tuple[tuple[str, Diagnostic], ...] = ()
    """Markdown links into the site: (destination as written, where it is written)."""

    def __reduce__(self) -> tuple[type[IssueFindings], tuple[object, ...]]:
        # A cached build unpickles one of these per issue: through the constructor,
        # that costs a third of the dataclass's field-by-field __setstate__.
        return IssueFindings, (self.url_keys, self.published, self.images, self.site_links)


def check_issues(
    parsed: Sequence[ParsedIssue],
    content_dir: Path,
    cache: Store | None = None,
    keys: Mapping[str, str] | None = None,
    known: Mapping[str, IssueFindings] | None = None,
    per_page: int = 50,
) -> list[Diagnostic]:
    """Every digest-wide warning for the issues read from `content_dir`, drafts included.

    With `cache` and `keys` (each issue file's content key by its path), each file's
    `IssueFindings` are kept in `cache` and found again only when the file changes.
    `known` has findings made already (by `issue_findings`, as the file was parsed).
    `per_page` is the site's, for links to a group's later pages.
    """
    sources = _Sources(content_dir, cache, keys or {})
    issues = sorted((p.issue for p in parsed), key=lambda i: (i.date, i.slug))
    known = known or {}
    found = [_cached_findings(issue, sources, known.get(issue.path)) for issue in issues]
    warnings: list[Diagnostic] = []
    for findings in found:
        warnings += findings.published
        warnings += (d for site_path, d in findings.images if not _site_has(site_path, content_dir))
    warnings += _duplicate_urls(issues, [f.url_keys for f in found], sources)
    if any(f.site_links for f in found):  # most digests never link to themselves
        pages = _SitePages(issues, content_dir, per_page)
        for issue, findings in zip(issues, found, strict=True):
            for ref, where in findings.site_links:
                problem = pages.problem(issue, ref, where)
                if problem is not None:
                    warnings.append(problem)
    return warnings


def _cached_findings(
    issue: Issue, sources: _Sources, known: IssueFindings | None = None
) -> IssueFindings:
    key, store = sources.key(issue), sources.store
    stored = None
    if known is None and key is not None and store is not None:
        stored = store.get(("checks", key))
    findings = known or stored
    # An entry that does not fit the issue (a store shared with another taxonomy, say)
    # must never pair URL keys with the wrong links: find them again instead.
    if not isinstance(findings, IssueFindings) or len(findings.url_keys) != issue.link_count:
        findings = _findings(issue, sources)
    if key is not None and store is not None and findings is not stored:
        store.put(("checks", key), findings)
    return findings


def issue_findings(issue: Issue, data: bytes) -> IssueFindings:
    """The `IssueFindings` of an issue just parsed from `data` (its file's bytes).

    Made where the file is parsed, so a cold build's parse workers make them in
    parallel, and from the very bytes parsed.
    """
    return _findings(issue, _Sources(Path(), files={issue.path: data}))


def _findings(issue: Issue, sources: _Sources) -> IssueFindings:
    links = issue.links()
    # Every Markdown text of the issue at once: most have no image and no link into
    # the site, and then the file is not read again to find them.
    markdown = "\n".join(_markdown_texts(issue, links))
    return IssueFindings(
        tuple([normalise_url(link.url) for link in links]),
        tuple(_published(issue, links, sources)),
        tuple(_image_findings(issue, sources) if "![" in markdown else ()),
        tuple(_site_links(issue, sources) if _MAYBE_SITE_LINK.search(markdown) else ()),
    )


# -- published -------------------------------------------------------------------------


def _published(issue: Issue, links: Sequence[Link], sources: _Sources) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    # A month counts from its first day, so a month-only value is compared by month.
    day = issue.date.isoformat()
    oldest = _years_before(issue.date, PUBLISHED_YEARS_BEFORE).isoformat()[:7]
    for link in links:
        published = link.published
        if published is None:
            continue
        if published > (day[:7] if len(published) == len("YYYY-MM") else day):
            message = f"published {published} is after the issue date {issue.date}"
            hint = "check the year and month: an issue links articles published before it"
        elif published[:7] < oldest:
            message = (
                f"published {published} is more than {PUBLISHED_YEARS_BEFORE} years "
                f"before the issue date {issue.date}"
            )
            hint = (
                f"a typo for {issue.date.year}? if the article really is that old, "
                "this warning can stay (it fails only `digest check --strict`)"
            )
        else:
            continue
        line, col = sources.locate(issue, link, _NATIVE_PUBLISHED, _legacy_published(published))
        out.append(sources.diag(issue, message, line, col, hint))
    return out


def _years_before(date: dt.date, years: int) -> dt.date:
    try:
        return date.replace(year=date.year - years)
    except ValueError:  # 29 February
        return date.replace(year=date.year - years, day=28)


# -- duplicate URLs ------------------------------------------------------------------


@lru_cache(maxsize=1 << 16)  # `digest serve` rebuilds check the same URLs again and again
def normalise_url(url: str) -> str:
    """A key under which two spellings of the same article's URL are equal.

    Scheme, `www.`/`m.` hosts, default ports, doubled and trailing slashes, the case of
    percent escapes, tracking parameters (`utm_*`, `fbclid`, ...), mobile switches
    (`?m=1`), parameter order and plain `#fragments` do not tell two articles apart.
    """
    url = url.strip()
    plain = _PLAIN_URL.fullmatch(url)
    if plain:
        return _host_key(plain[1]) + _path_key(plain[2] or "")
    return _normalise_split(url)


def _normalise_split(url: str) -> str:
    """`normalise_url` of a stripped URL, by the standard library's URL parser."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    host = _host_key((parts.hostname or "").rstrip("."))
    if port is not None and port not in (80, 443):
        host += f":{port}"
    path = _path_key(parts.path)
    query = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not _TRACKING_PARAM.match(k) and v not in _MOBILE_PARAMS.get(k, ())
    )
    # `#!/route` and `#/route` select content in single-page apps; other fragments do not.
    fragment = parts.fragment if parts.fragment.startswith(("!", "/")) else ""
    key = host + path
    if query:
        key += "?" + "&".join(f"{k}={v}" for k, v in query)
    return key + (f"#{fragment}" if fragment else "")


def _host_key(host: str) -> str:
    stripped = host.startswith(_MOBILE_HOSTS)
    while stripped:
        stripped = False
        for prefix in _MOBILE_HOSTS:
            if host.startswith(prefix) and "." in host[len(prefix) :]:
                host, stripped = host[len(prefix) :], True
    return host


def _path_key(path: str) -> str:
    if "//" in path:
        path = _SLASHES.sub("/", path)
    if "%" in path:
        path = _PERCENT.sub(lambda m: m[0].upper(), path)
    return path.rstrip("/")


def _duplicate_urls(
    issues: Sequence[Issue], url_keys: Sequence[tuple[str, ...]], sources: _Sources
) -> list[Diagnostic]:
    every = list(chain.from_iterable(url_keys))
    if len(set(every)) == len(every):
        return []
    # Counting runs in C; only the few issues that hold a repeated URL are walked.
    repeated = {key for key, n in Counter(every).items() if n > 1}
    first: dict[str, tuple[Issue, Link]] = {}
    out: list[Diagnostic] = []
    for issue, keys in zip(issues, url_keys, strict=True):
        if repeated.isdisjoint(keys):
            continue
        for index, (link, key) in enumerate(zip(issue.links(), keys, strict=True)):
            if key not in repeated:
                continue
            earlier = first.setdefault(key, (issue, link))
            if earlier[1] is link:
                continue
            where = f"{earlier[0].path}:{earlier[1].line}"
            message = f"URL already linked at {where}"
            if earlier[1].url != link.url:
                message += f" as '{earlier[1].url}'"
            line, col, source_line = sources.url_at(issue, index, link)
            hint = (
                "link each article once: remove this link or the earlier one "
                "(merge their commentary if both have some)"
            )
            out.append(Diagnostic(issue.path, line, col, message, hint, "warning", source_line))
    return out


# -- images ------------------------------------------------------------------------


def _image_findings(issue: Issue, sources: _Sources) -> Iterator[tuple[str, Diagnostic]]:
    """Every relative image, with the warning it gets if the site has no such file."""
    src = sources.get(issue)
    if src is None:
        return
    images_shown = PurePath(issue.path).parent.parent / "images"
    for lineno, col, ref in _refs(src.lines, _IMAGE):
        site_path = _site_path(ref)
        if site_path is None:
            continue
        if site_path.startswith("images/"):
            shown = images_shown / site_path.removeprefix("images/")
            message = f"image '{ref}' not found: there is no {shown.as_posix()}"
            hint = f"add the file to {images_shown.as_posix()}/ or fix the name"
        else:
            name = posixpath.basename(site_path) or "file"
            message = (
                f"image '{ref}' not found: only {images_shown.as_posix()}/ is copied to the site"
            )
            hint = f"put the file in {images_shown.as_posix()}/ and write ./images/{name}"
        yield site_path, sources.diag(issue, message, lineno, col, hint)


def _markdown_texts(issue: Issue, links: Sequence[Link]) -> list[str]:
    texts = [issue.intro]
    for section in issue.sections:
        texts.append(section.note)
        texts.extend(sub.note for sub in section.subtopics)
    for link in links:
        texts += (link.title_md, link.commentary)
    return texts


def _refs(lines: Sequence[str], *patterns: re.Pattern[str]) -> Iterator[tuple[int, int, str]]:
    """(line, column, `src`) of every match of the `patterns` outside code, as written."""
    fence: str | None = None  # the open code block's, by the readers' own rule
    for lineno, line in enumerate(lines, start=1):
        if fence is not None:
            if fence_closes(line, fence):
                fence = None
            continue
        fence = fence_opened(line)
        if fence is not None or "]" not in line:
            continue  # in code, or no link, image or definition on the line
        # Blank out code spans, keeping columns, so `![x](y)` in code is not an image.
        visible = _CODE_SPAN.sub(lambda m: " " * len(m[0]), line)
        for pattern in patterns:
            for match in pattern.finditer(visible):
                yield lineno, match.start("src") + 1, match["src"]


def _site_path(ref: str) -> str | None:
    """The site path a relative image reference resolves to; None for absolute URLs.

    Mirrors `markup.resolve_site_url`: relative references resolve against the site root,
    so `./images/x.png`, `images/x.png` and `/images/x.png` all mean `images/x.png`.
    """
    if url_scheme(ref) is not None or ref.startswith(("//", "#")):
        return None
    path = unquote(ref.split("#", 1)[0].split("?", 1)[0]).strip()
    while path.startswith(("./", "../")):
        path = path.split("/", 1)[1]
    path = posixpath.normpath(path.lstrip("/"))
    return "" if path in (".", "") else path


def _site_has(site_path: str, content_dir: Path) -> bool:
    if not site_path or site_path.startswith("../"):
        return False
    if site_path.startswith("images/"):
        return (content_dir / site_path).is_file()
    if site_path.startswith("static/"):
        return (asset_dir("static") / site_path.removeprefix("static/")).is_file()
    return site_path == "favicon.ico"


# -- links into the site ------------------------------------------------------------

_LINK = re.compile(r"(?<!!)\[(?:[^\]\\]|\\.)*\]\([ \t]*<?(?P<src>[^)\s>]+)")
"""A Markdown link, `[text](destination)` (not an image)."""
_LINK_DEFINITION = re.compile(r"^ {0,3}\[(?:[^\]\\]|\\.)+\]:[ \t]*<?(?P<src>[^\s>]+)")
"""A link reference definition, `[label]: destination`."""
_MAYBE_SITE_LINK = re.compile(r"\]\([ \t]*+<?+(?!https?:)|\]:[ \t]*+<?+(?!https?:)")
"""A link or definition whose destination is not an http(s) address: look closer."""


def _site_links(issue: Issue, sources: _Sources) -> Iterator[tuple[str, Diagnostic]]:
    """Every Markdown link into this site: its destination as written, and where it is."""
    src = sources.get(issue)
    if src is None:
        return
    for lineno, col, ref in _refs(src.lines, _LINK, _LINK_DEFINITION):
        if ref.startswith("#") or _site_path(ref) is not None:
            yield ref, sources.diag(issue, "", lineno, col, "")


@dataclass(slots=True)
class _SitePages:
    """What pages and files the published site has (drafts aside), worked out once."""

    issues: Sequence[Issue]
    """Every issue read, drafts too, oldest first."""
    content_dir: Path
    per_page: int
    _group_pages: dict[str, int] | None = None
    _by_slug: dict[str, Issue] | None = None

    def problem(self, issue: Issue, ref: str, where: Diagnostic) -> Diagnostic | None:
        """The warning for the link `ref` written in `issue`, if it goes nowhere."""
        fragment = unquote(ref.partition("#")[2])
        site_path = _site_path(ref)
        target = issue if site_path is None else self.issue_at(site_path)
        if target is not None and target.draft and not issue.draft:
            message = f"link '{ref}' goes to a draft: issue {target.slug} is not published"
            hint = "publish that issue first (remove `draft: true`), or link to it later"
        elif target is not None:  # an issue page: its anchors are known too
            if not fragment or fragment in _anchors(target):
                return None
            message = f"link '{ref}' goes to no anchor: issue {target.slug} has no '#{fragment}'"
            hint = (
                "an anchor is a link's id (after the # of its permalink) or a heading's "
                "(#sec_research); copy it from the issue page"
            )
        elif site_path is None or self.has(site_path):
            return None
        else:
            message = f"link '{ref}' goes to no page or file of this site"
            hint = (
                "a path is read from the site's root (./ and ../ are dropped, and digest "
                "adds base_url's path): write it as /issues/<slug>/, /tags/<slug>/, …, or "
                "a full https:// address for another site"
            )
        return replace(where, message=message, hint=hint)

    def issue_at(self, site_path: str) -> Issue | None:
        """The issue whose page is at `site_path` (`issues/<slug>/`), if any."""
        parts = site_path.removesuffix("index.html").rstrip("/").split("/")
        if len(parts) != 2 or parts[0] != "issues":
            return None
        if self._by_slug is None:
            self._by_slug = {issue.slug: issue for issue in self.issues}
        return self._by_slug.get(parts[1])

    def has(self, site_path: str) -> bool:
        """True if the site has a page or file at `site_path` (issue pages aside)."""
        path = site_path.removesuffix("index.html")
        if path.rstrip("/") in _SITE_PAGES or path in _SITE_FILES:
            return True
        if path.startswith(("images/", "static/")) or path == "favicon.ico":
            return _site_has(path, self.content_dir)
        # A group's pages (`tags/llm/`, `tags/llm/page/2/`) and a topic's or tag's feed.
        parts = path.rstrip("/").split("/")
        pages = self.group_pages().get("/".join(parts[:2]) + "/") if len(parts) > 1 else None
        rest = parts[2:]
        if pages is None:
            return False
        if rest == ["feed.xml"]:
            return parts[0] in ("topics", "tags")
        if len(rest) == 2 and rest[0] == "page" and rest[1].isdigit():
            return 2 <= int(rest[1]) <= pages
        return not rest

    def group_pages(self) -> dict[str, int]:
        """How many pages each group has, by its path (`tags/llm/`)."""
        if self._group_pages is None:
            # The published digest as the build has it (newest first): the renderer
            # then reuses this grouping (see `group_digest`) instead of making another.
            published = Digest(tuple(i for i in reversed(self.issues) if not i.draft))
            groups = group_digest(published)
            self._group_pages = {
                group.path: max(1, -(-len(group.entries) // self.per_page))
                for kind_groups in groups.values()
                for group in kind_groups
            }
        return self._group_pages


_SITE_PAGES = {"", "archive", "search", "sections", "topics", "tags", "sources"}
"""Pages every site has, by site path without the trailing slash."""
_SITE_FILES = {
    "feed.xml",
    "atom.xml",
    "feed.json",
    "links.xml",
    "feeds.opml",
    "sitemap.xml",
    "robots.txt",
    "404.html",
}
"""Files at the site's root besides the pages."""


def _anchors(issue: Issue) -> set[str]:
    """The ids an issue page has: its links', its headings' and the main content's."""
    ids = {"main_content", *(link.id for link in issue.links())}
    for section in issue.sections:
        ids.add(f"sec_{section.slug}")
        ids.update(f"sec_{section.slug}_{sub.slug}" for sub in section.subtopics)
    return ids


# -- addresses on other sites (`digest check --external`) ---------------------------


def external_links(issues: Sequence[Issue], content_dir: Path) -> dict[str, list[Diagnostic]]:
    """Every http(s) address the digest links to, with where each is written.

    Links' `url:` fields, and Markdown links and images in commentary, notes and
    intros. The places are warnings without a message yet (see `dead_links`).
    """
    sources = _Sources(content_dir)
    found: dict[str, list[Diagnostic]] = {}
    seen: set[tuple[str, int, int]] = set()

    def add(url: str, where: Diagnostic) -> None:
        if (where.path, where.line, where.col) not in seen:  # a legacy bullet is both
            seen.add((where.path, where.line, where.col))
            found.setdefault(url, []).append(where)

    for issue in sorted(issues, key=lambda i: (i.date, i.slug)):
        for index, link in enumerate(issue.links()):
            line, col, source_line = sources.url_at(issue, index, link)
            add(link.url, Diagnostic(issue.path, line, col, "", "", "warning", source_line))
        src = sources.get(issue)
        for lineno, col, ref in _refs(src.lines, _LINK, _LINK_DEFINITION, _IMAGE) if src else ():
            if url_scheme(ref) in ("http", "https"):
                add(ref, sources.diag(issue, "", lineno, col, ""))
    return found


def dead_links(
    found: Mapping[str, list[Diagnostic]], answers: Mapping[str, Answer]
) -> list[Diagnostic]:
    """A warning at each place a dead address (see `Answer.dead`) is written."""
    from digest.linkcheck import anyone_answered

    if not anyone_answered(answers.values()):
        return []  # this machine is offline, not the digest dead
    out: list[Diagnostic] = []
    for url, places in found.items():
        answer = answers.get(url)
        if answer is not None and answer.dead:
            message = f"link '{url}' is dead: {answer.reason}"
            hint = (
                "find where the article moved (or an archived copy) and link that, or drop the link"
            )
            out += (replace(where, message=message, hint=hint) for where in places)
    return out


# -- locating findings in the source -------------------------------------------------


@dataclass(slots=True)
class _Sources:
    """Issue files' text, read again only when a finding needs a line to quote."""

    content_dir: Path
    store: Store | None = None
    """Where findings are kept between runs, by each file's content key."""
    keys: Mapping[str, str] = field(default_factory=dict)
    """Each issue file's content key, by its path."""
    cache: dict[str, SourceText | None] = field(default_factory=dict)
    files: Mapping[str, bytes] = field(default_factory=dict)
    """Issue files' bytes already in memory, by path: read from them, not from disk."""

    def key(self, issue: Issue) -> str | None:
        """The content key `issue`'s findings are stored under; None without a store."""
        return self.keys.get(issue.path) if self.store is not None else None

    def url_at(self, issue: Issue, index: int, link: Link) -> tuple[int, int, str]:
        """Line, column and quoted line of link `index`'s URL; remembered in the store.

        Only a repeated URL is looked for in the source, so most links never are; an
        unchanged file's repeated links are not looked for again on the next run.
        """
        key = self.key(issue)
        memo: dict[int, tuple[int, int, str]] | None = None
        if key is not None and self.store is not None:
            stored = self.store.get(("checks-at", key))
            memo = stored if isinstance(stored, dict) else None
            if memo is not None and index in memo:
                return memo[index]
        line, col = self.locate(issue, link, re.compile(re.escape(link.url)))
        src = self.get(issue)
        if src is None:
            return line, col, ""
        found = src.diag("", line, col)
        at = (found.line, found.col, found.source_line)
        if key is not None and self.store is not None:
            self.store.put(("checks-at", key), {**(memo or {}), index: at})
        return at

    def get(self, issue: Issue) -> SourceText | None:
        """The issue file's text, or None if it cannot be read any more."""
        if issue.path not in self.cache:
            file = self.content_dir / "issues" / PurePath(issue.path).name
            try:
                data = self.files.get(issue.path)
                text = decode(issue.path, file.read_bytes() if data is None else data)
            except Exception:  # gone or changed since it was parsed: report without a quote
                self.cache[issue.path] = None
            else:
                self.cache[issue.path] = SourceText(issue.path, text)
        return self.cache[issue.path]

    def locate(self, issue: Issue, link: Link, *patterns: re.Pattern[str]) -> tuple[int, int]:
        """Line and column of the first pattern found among the lines that write `link`."""
        src = self.get(issue)
        if src is None:
            return link.line, 1
        last = min(link.line + LINK_SPAN, len(src.lines))
        for pattern in patterns:
            for lineno in range(link.line, last + 1):
                line = src.line(lineno)
                if lineno > link.line and line.rstrip() == "---":
                    break  # the end of a native link block: its fields are all above
                match = pattern.search(line)
                if match:
                    at = match.start("at") if "at" in pattern.groupindex else match.start()
                    return lineno, at + 1
        return link.line, 1

    def diag(self, issue: Issue, message: str, line: int, col: int, hint: str) -> Diagnostic:
        """A warning at `line:col` of the issue's file, quoting the line when it can."""
        src = self.get(issue)
        if src is None:
            return Diagnostic(issue.path, line, col, message, hint, "warning")
        return src.diag(message, line, col, hint=hint, severity="warning")
