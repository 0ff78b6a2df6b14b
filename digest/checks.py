"""Digest-wide warnings: implausible `published` months, repeated URLs, missing images.

These look across links and issues (or at the content folder), so they run after every
file has been read. They never stop a build; `digest check --strict` makes them fail.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path, PurePath
from urllib.parse import parse_qsl, unquote, urlsplit

from digest.assets import asset_dir
from digest.errors import Diagnostic, SourceText
from digest.markup import url_scheme
from digest.model import Issue, Link, ParsedIssue
from digest.parse import decode

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

_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
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


def check_issues(parsed: Sequence[ParsedIssue], content_dir: Path) -> list[Diagnostic]:
    """Every digest-wide warning for the issues read from `content_dir`, drafts included."""
    sources = _Sources(content_dir)
    issues = sorted((p.issue for p in parsed), key=lambda i: (i.date, i.slug))
    warnings: list[Diagnostic] = []
    for issue in issues:
        warnings += check_published(issue, sources)
        warnings += check_images(issue, content_dir, sources)
    warnings += check_duplicate_urls(issues, sources)
    return warnings


# -- published -------------------------------------------------------------------------


def check_published(issue: Issue, sources: _Sources) -> list[Diagnostic]:
    """Links published after their issue, or years before it (a "Nov 2002" in 2022)."""
    out: list[Diagnostic] = []
    oldest = _years_before(issue.date, PUBLISHED_YEARS_BEFORE)
    for _, _, link in issue.all_links():
        if link.published is None:
            continue
        if _published_after(link.published, issue.date):
            message = f"published {link.published} is after the issue date {issue.date}"
            hint = "check the year and month: an issue links articles published before it"
        elif _published_before(link.published, oldest):
            message = (
                f"published {link.published} is more than {PUBLISHED_YEARS_BEFORE} years "
                f"before the issue date {issue.date}"
            )
            hint = (
                f"a typo for {issue.date.year}? if the article really is that old, "
                "this warning can stay (it fails only `digest check --strict`)"
            )
        else:
            continue
        line, col = sources.locate(
            issue, link, _NATIVE_PUBLISHED, _legacy_published(link.published)
        )
        out.append(sources.diag(issue, message, line, col, hint))
    return out


def _published_after(published: str, date: dt.date) -> bool:
    if len(published) == len("YYYY-MM"):
        return published > date.isoformat()[:7]
    return published > date.isoformat()


def _published_before(published: str, oldest: dt.date) -> bool:
    # A month counts from its first day, so a month-only value is compared by month.
    return published[:7] < oldest.isoformat()[:7]


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
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url.strip()
    host = (parts.hostname or "").rstrip(".")
    stripped = True
    while stripped:
        stripped = False
        for prefix in _MOBILE_HOSTS:
            if host.startswith(prefix) and "." in host[len(prefix) :]:
                host, stripped = host[len(prefix) :], True
    if port is not None and port not in (80, 443):
        host += f":{port}"
    path = _upper_escapes(re.sub(r"/{2,}", "/", parts.path)).rstrip("/")
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


def _upper_escapes(text: str) -> str:
    return _PERCENT.sub(lambda m: m[0].upper(), text)


def check_duplicate_urls(issues: Sequence[Issue], sources: _Sources) -> list[Diagnostic]:
    """The same article linked twice in the digest; `issues` must be oldest first."""
    first: dict[str, tuple[Issue, Link]] = {}
    out: list[Diagnostic] = []
    for issue in issues:
        for _, _, link in issue.all_links():
            key = normalise_url(link.url)
            earlier = first.setdefault(key, (issue, link))
            if earlier[1] is link:
                continue
            where = f"{earlier[0].path}:{earlier[1].line}"
            message = f"URL already linked at {where}"
            if earlier[1].url != link.url:
                message += f" as '{earlier[1].url}'"
            line, col = sources.locate(issue, link, re.compile(re.escape(link.url)))
            out.append(
                sources.diag(
                    issue,
                    message,
                    line,
                    col,
                    "link each article once: remove this link or the earlier one "
                    "(merge their commentary if both have some)",
                )
            )
    return out


# -- images ------------------------------------------------------------------------


def check_images(issue: Issue, content_dir: Path, sources: _Sources) -> list[Diagnostic]:
    """Markdown images with a relative path whose file the site would not have."""
    if not any("![" in text for text in _markdown_texts(issue)):
        return []  # most issues have no images: skip reading the file again
    src = sources.get(issue)
    if src is None:
        return []
    out: list[Diagnostic] = []
    images_shown = PurePath(issue.path).parent.parent / "images"
    for lineno, col, ref in _image_refs(src.lines):
        site_path = _site_path(ref)
        if site_path is None or _site_has(site_path, content_dir):
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
        out.append(sources.diag(issue, message, lineno, col, hint))
    return out


def _markdown_texts(issue: Issue) -> Iterator[str]:
    yield issue.intro
    for section in issue.sections:
        yield section.note
        for sub in section.subtopics:
            yield sub.note
    for _, _, link in issue.all_links():
        yield link.title_md
        yield link.commentary


def _image_refs(lines: Sequence[str]) -> Iterator[tuple[int, int, str]]:
    """(line, column, path) of every Markdown image outside code, as written."""
    in_fence = False
    for lineno, line in enumerate(lines, start=1):
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        # Blank out code spans, keeping columns, so `![x](y)` in code is not an image.
        visible = _CODE_SPAN.sub(lambda m: " " * len(m[0]), line)
        for match in _IMAGE.finditer(visible):
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


# -- locating findings in the source -------------------------------------------------


@dataclass(slots=True)
class _Sources:
    """Issue files' text, read again only when a finding needs a line to quote."""

    content_dir: Path
    cache: dict[str, SourceText | None] = field(default_factory=dict)

    def get(self, issue: Issue) -> SourceText | None:
        """The issue file's text, or None if it cannot be read any more."""
        if issue.path not in self.cache:
            file = self.content_dir / "issues" / PurePath(issue.path).name
            try:
                text = decode(issue.path, file.read_bytes())
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
