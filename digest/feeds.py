"""Feeds: issue-level RSS, Atom and JSON Feed, link-level RSS per site, topic and tag, OPML.

Every URL inside a feed is absolute (readers show items far from the site), every date
comes from content (same digest, same bytes), and each link's commentary is rendered once
however many feeds carry it.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.utils import format_datetime
from itertools import islice
from typing import Any, TypeVar
from urllib.parse import urljoin

from feedgen.feed import FeedGenerator
from feedgen.util import formatRFC2822
from lxml import etree  # type: ignore[import-untyped]  # no stubs; feedgen builds with it too

from digest import __version__, i18n, markup
from digest.config import SiteConfig
from digest.groups import Entry, Group
from digest.model import Digest, Issue, Link
from digest.render import Renderer
from digest.reuse import PageReuse
from digest.slug import slugify

JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
GENERATOR = "digest"

# A digest with no issues still gets valid feeds; their dates need a fixed value that
# does not depend on when the build ran.
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

# Characters XML 1.0 forbids: lxml refuses them, and one stray control character in
# commentary must not fail the build.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

# markdown-it writes every attribute double-quoted with `"` escaped, so this finds
# each href/src value exactly.
_ROOTED_URL = re.compile(r'(\s(?:href|src)=")/(?!/)')
_URL_ATTR = re.compile(r'(\s(?:href|src)=")([^"]*)(")')

# How feedgen's pretty-printed RSS closes: items are spliced in just before it.
_CHANNEL_END = b"  </channel>\n</rss>\n"


@dataclass(frozen=True, slots=True)
class FeedInfo:
    """One feed of the site, as listed in `/feeds.opml`."""

    path: str
    """Site path of the feed (`topics/cv/feed.xml`)."""
    title: str
    """Title shown to subscribers."""
    html_path: str
    """Site path of the page the feed follows."""


def xml_text(text: str) -> str:
    """`text` without the characters XML 1.0 cannot carry."""
    return _NOT_XML.sub("", text)


def rss_text(text: str) -> str:
    """Plain text for an RSS element some readers show as HTML (`<title>`, `<category>`).

    RSS does not say whether a title is text or HTML, and readers differ: with `<`
    escaped twice, a title reading `<img onerror=...>` stays text in both kinds (a
    reader that takes it as text shows `&lt;`). `&` is left alone: `Q&A` is common.
    """
    return xml_text(text).replace("<", "&lt;")


def absolute_urls(fragment: str, page_url: str) -> str:
    """Resolve every relative href/src of rendered HTML against `page_url`.

    `markup.render_block` already maps content paths (`./images/x.png`) to the site;
    what is left relative (`#anchor`, `//host/x`) means the page the HTML sits on.
    """

    def resolve(match: re.Match[str]) -> str:
        value = html.unescape(match.group(2))
        if markup.url_scheme(value) is not None:
            return match.group(0)
        return match.group(1) + html.escape(urljoin(page_url, value)) + match.group(3)

    return _URL_ATTR.sub(resolve, fragment)


@dataclass(frozen=True, slots=True)
class ItemFields:
    """What a link-level feed item holds, as feedgen's `rss_entry` would write it."""

    title: str
    """`<title>`; left out when empty."""
    link: str
    """`<link>`, the article; left out when empty."""
    description: str
    """`<description>`, HTML as text; left out when empty."""
    guid: str
    """`<guid isPermaLink="true">`, the link's anchor on its issue page."""
    categories: tuple[tuple[str, str], ...]
    """`<category domain=...>` as (term, domain), in order."""
    pub_date: str
    """`<pubDate>`, already in RFC 2822 form."""


def item_xml(fields: ItemFields) -> bytes:
    """An RSS `<item>` as feedgen writes it (through lxml) inside a pretty-printed channel."""
    if not (fields.title or fields.description):
        raise ValueError("Required fields not set")  # what feedgen says
    item = etree.Element("item")
    if fields.title:
        etree.SubElement(item, "title").text = fields.title
    if fields.link:
        etree.SubElement(item, "link").text = fields.link
    if fields.description:
        etree.SubElement(item, "description").text = fields.description
    guid = etree.SubElement(item, "guid")
    guid.text = fields.guid
    guid.attrib["isPermaLink"] = "true"
    for term, domain in fields.categories:
        category = etree.SubElement(item, "category")
        category.text = term
        category.attrib["domain"] = domain
    etree.SubElement(item, "pubDate").text = fields.pub_date
    etree.indent(item, space="  ", level=2)  # an item sits in rss > channel
    return b"    " + bytes(etree.tostring(item, encoding="UTF-8")) + b"\n"


def feed_datetime(date: dt.date) -> dt.datetime:
    """An issue date as the midnight UTC that every feed format needs."""
    return dt.datetime(date.year, date.month, date.day, tzinfo=dt.UTC)


_MADE: dict[tuple[str, object], tuple[tuple[object, ...], Any]] = {}
"""What `_made` made, by kind and key, with the objects it was made from."""

_T = TypeVar("_T")


def _made(kind: str, key: object, sources: tuple[object, ...], make: Callable[[], _T]) -> _T:
    """`make()`, or what it gave for `key` from the same `sources` in this process.

    Shared by the three issue feeds and the link feeds of one build, and kept between
    the builds of `digest serve`, which then makes again only what an edit changed.
    (The sources are compared by identity first: for unchanged issues, the same objects.)
    """
    known = _MADE.get((kind, key))
    if known is not None and known[0] == sources:
        return known[1]  # type: ignore[no-any-return]
    value = make()
    _MADE[kind, key] = (sources, value)
    return value


class FeedWriter:
    """Renders every feed of one site, sharing rendered HTML between them."""

    def __init__(
        self,
        config: SiteConfig,
        digest: Digest,
        groups: dict[str, list[Group]] | None = None,
        renderer: Renderer | None = None,
    ) -> None:
        self.config = config
        self.digest = digest
        self.labels = i18n.labels(config.language)
        # The page renderer owns the URL-quoting and grouping rules, and its rendered
        # Markdown: feeds reuse them rather than rendering every text again.
        self.renderer = renderer or Renderer(config, digest)
        self._origin = config.base_url[: len(config.base_url) - len(config.base_path)]
        self._groups = groups
        self._commentary: dict[tuple[str, str], str] = {}
        self._urls: dict[str, str] = {}
        self._rfc2822: dict[dt.date, str] = {}
        self._scheme = {"source": self.abs_url("sources/"), "tag": self.abs_url("tags/")}

    # -- URLs and HTML ---------------------------------------------------------------------

    def abs_url(self, path: str = "") -> str:
        """Absolute, percent-encoded URL of a site path; memoised (issue and tag URLs recur)."""
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = self.renderer.abs_url(path)
        return url

    def issue_url(self, issue: Issue) -> str:
        """Absolute URL of an issue's page."""
        return self.abs_url(f"issues/{issue.slug}/")

    def link_url(self, issue: Issue, link: Link) -> str:
        """Absolute URL of a link's anchor on its issue page."""
        return self.abs_url(f"issues/{issue.slug}/#{link.id}")

    def markdown(self, text: str, issue: Issue) -> str:
        """Markdown -> HTML with every URL absolute, as it reads on `issue`'s page."""
        if not text:
            return ""
        return absolute_urls(self.site_rooted(self.renderer.html(text)), self.issue_url(issue))

    def site_rooted(self, html_text: str) -> str:
        """Page HTML (URLs rooted at `/base/`) with those URLs made absolute."""
        origin = html.escape(self._origin)  # checked by the config; escaped all the same
        return _ROOTED_URL.sub(lambda m: m.group(1) + origin + "/", html_text)

    def commentary_html(self, issue: Issue, link: Link) -> str:
        """A link's commentary as HTML; memoised, since many feeds carry the same link."""
        key = (issue.slug, link.id)
        cached = self._commentary.get(key)
        if cached is None:
            cached = self._commentary[key] = self.markdown(link.commentary, issue)
        return cached

    def meta_line(self, link: Link) -> str:
        """`source · month` as plain text ('' when the link has neither)."""
        parts = [link.source or ""]
        if link.published:
            parts.append(i18n.format_month(link.published, self.config.language))
        return " · ".join(p for p in parts if p)

    def link_description(self, issue: Issue, link: Link) -> str:
        """Item description of a link-level feed: commentary, or a line saying where from."""
        commentary = self.commentary_html(issue, link)
        if commentary:
            return commentary.rstrip("\n")
        return f"<p>{html.escape(self.meta_line(link) or issue.title)}</p>"

    def link_card(self, issue: Issue, link: Link, level: int) -> str:
        """One link inside an issue's HTML: linked title, source, month, tags, commentary."""
        # Without links, as on pages: the title is a link itself.
        title = self.site_rooted(str(self.renderer.md_inline(link.title_md)))
        meta: list[str] = []
        if link.source:
            meta.append(self._group_link("sources", link.source, ""))
        if link.published:
            month = i18n.format_month(link.published, self.config.language)
            meta.append(html.escape(month))
        meta += [self._group_link("tags", tag, "#") for tag in link.tags]
        anchor = html.escape(self.link_url(issue, link))
        meta.append(f'<a href="{anchor}" title="{html.escape(self.labels["permalink"])}">#</a>')
        return (
            f'<h{level} id="{html.escape(link.id)}"><a href="{html.escape(markup.uri(link.url))}">'
            f"{title}</a></h{level}>\n<p>{' · '.join(meta)}</p>\n"
            + self.commentary_html(issue, link)
        )

    def _group_link(self, kind: str, name: str, prefix: str) -> str:
        """A tag or source: a link to its page, or plain text when its name has no slug."""
        slug = slugify(name)
        text = f"{prefix}{html.escape(name)}"
        if not slug:  # as on pages: no page to link to (`tags//` is none of the site's)
            return text
        return f'<a href="{html.escape(self.abs_url(f"{kind}/{slug}/"))}">{text}</a>'

    def issue_html(self, issue: Issue) -> str:
        """The whole issue as HTML for feed readers; memoised across the three formats."""
        return _made("issue html", issue.slug, (issue, self.config), lambda: self._html(issue))

    def _html(self, issue: Issue) -> str:
        out: list[str] = []
        if issue.intro:
            out.append(self.markdown(issue.intro, issue))
        for section in issue.sections:
            href = html.escape(self.abs_url(f"sections/{section.slug}/"))
            out.append(f'<h2><a href="{href}">{html.escape(section.name)}</a></h2>\n')
            if section.note:
                out.append(self.markdown(section.note, issue))
            out.extend(self.link_card(issue, link, 3) for link in section.links)
            for sub in section.subtopics:
                href = html.escape(self.abs_url(f"topics/{sub.slug}/"))
                out.append(f'<h3><a href="{href}">{html.escape(sub.name)}</a></h3>\n')
                if sub.note:
                    out.append(self.markdown(sub.note, issue))
                out.extend(self.link_card(issue, link, 4) for link in sub.links)
        return "".join(out)

    # -- feeds ------------------------------------------------------------------------------

    @property
    def author(self) -> str:
        """Who the feeds name as author: Atom requires one, so the site title stands in."""
        return self.config.author or self.config.title

    @property
    def description(self) -> str:
        """Channel description (required by RSS): the site's, else its title."""
        return self.config.description or self.config.title

    def feed_list(self) -> list[FeedInfo]:
        """Every feed the site has, in the order `/feeds.opml` lists them.

        The issue feed once, as RSS: `atom.xml` and `feed.json` carry the same items,
        and a reader importing the file subscribes to every entry, so listing all
        three showed each new issue three times.
        """
        site, labels = self.config.title, self.labels
        feeds = [
            FeedInfo("feed.xml", f"{site} ({labels['issue_feed']})", ""),
            FeedInfo("links.xml", f"{site} ({labels['links_feed']})", ""),
        ]
        feeds.extend(
            FeedInfo(f"{g.path}feed.xml", self.group_title(g), g.path) for g in self.groups()
        )
        return feeds

    def groups(self) -> list[Group]:
        """Topics, then tags: the groups that get a link-level feed."""
        groups = self._groups if self._groups is not None else self.renderer.groups
        return [*groups["topics"], *groups["tags"]]

    def group_title(self, group: Group) -> str:
        """Title of a topic or tag feed, the same the page's autodiscovery link shows."""
        return f"{self.config.title}: {group.name}"

    def new_rss(
        self, path: str, title: str, description: str, html_path: str, updated: dt.datetime
    ) -> Any:
        """A FeedGenerator with the channel fields every RSS feed of the site shares."""
        fg = FeedGenerator()
        fg.title(rss_text(title))
        # feedgen writes the LAST link as RSS <link> and the first rel=self as
        # atom:link, so self goes first.
        fg.link(href=self.abs_url(path), rel="self", type="application/rss+xml")
        fg.link(href=self.abs_url(html_path), rel="alternate", type="text/html")
        # Plain text by the spec, but many readers render it as HTML: escape it, so a
        # tag named `<a href=...>` stays text everywhere.
        fg.description(xml_text(html.escape(description, quote=False)))
        fg.language(self.config.language)
        fg.lastBuildDate(updated)
        fg.generator(GENERATOR, version=__version__)
        return fg

    def newest(self, issues: Iterable[Issue]) -> dt.datetime:
        """The date feeds report as their last update: the newest issue's."""
        dates = [issue.date for issue in issues]
        return feed_datetime(max(dates)) if dates else _EPOCH

    def add_issue_entry(self, fg: Any, issue: Issue, rss: bool) -> None:
        """One issue as an RSS item / Atom entry with its whole content."""
        fe = fg.add_entry(order="append")
        url = self.issue_url(issue)
        fe.title(rss_text(issue.title) if rss else xml_text(issue.title))  # Atom's: type=text
        fe.guid(url, permalink=True)
        # feedgen 1.0 drops rel/type from entry links; an Atom link without rel means
        # alternate (RFC 4287, 4.2.7.2), which is what this is.
        fe.link(href=url, rel="alternate", type="text/html")
        when = feed_datetime(issue.date)
        fe.published(when)  # also the RSS pubDate
        fe.updated(when)
        if issue.summary:
            # type=html so one escaping is right for both RSS <description> and Atom.
            fe.summary(xml_text(html.escape(issue.summary)), type="html")
        fe.content(xml_text(self.issue_html(issue)), type="html")

    def render_issue_rss(self, issues: list[Issue]) -> bytes:
        """`/feed.xml`: RSS 2.0, one item per issue with its full content."""
        fg = self.new_rss("feed.xml", self.config.title, self.description, "", self.newest(issues))
        for issue in issues:
            self.add_issue_entry(fg, issue, rss=True)
        return bytes(fg.rss_str(pretty=True))

    def render_atom(self, issues: list[Issue]) -> bytes:
        """`/atom.xml`: Atom 1.0, one entry per issue with its full content."""
        fg = FeedGenerator()
        fg.id(self.abs_url(""))
        fg.title(xml_text(self.config.title))
        if self.config.description:
            fg.subtitle(xml_text(self.config.description))
        fg.author(name=xml_text(self.author))
        fg.link(href=self.abs_url("atom.xml"), rel="self", type="application/atom+xml")
        fg.link(href=self.abs_url(""), rel="alternate", type="text/html")
        fg.language(self.config.language)
        fg.updated(self.newest(issues))
        fg.generator(GENERATOR, version=__version__)
        for issue in issues:
            self.add_issue_entry(fg, issue, rss=False)
        return bytes(fg.atom_str(pretty=True))

    def render_json_feed(self, issues: list[Issue]) -> bytes:
        """`/feed.json`: JSON Feed 1.1, one item per issue with its full content."""
        items: list[dict[str, Any]] = []
        for issue in issues:
            item: dict[str, Any] = {
                "id": self.issue_url(issue),
                "url": self.issue_url(issue),
                "title": issue.title,
                "content_html": self.issue_html(issue),
                "date_published": feed_datetime(issue.date).isoformat(),
            }
            if issue.summary:
                item["summary"] = issue.summary
            items.append(item)
        feed: dict[str, Any] = {
            "version": JSON_FEED_VERSION,
            "title": self.config.title,
            "home_page_url": self.abs_url(""),
            "feed_url": self.abs_url("feed.json"),
        }
        if self.config.description:
            feed["description"] = self.config.description
        feed["language"] = self.config.language
        feed["authors"] = [{"name": self.author}]
        feed["items"] = items
        return (json.dumps(feed, ensure_ascii=False, indent=2) + "\n").encode("utf-8")

    def render_link_rss(
        self, path: str, title: str, description: str, html_path: str, chosen: list[Entry]
    ) -> bytes:
        """A link-level RSS feed: one item per link, `<link>` the article, guid its anchor."""
        updated = self.newest(e.issue for e in chosen)
        channel = bytes(
            self.new_rss(path, title, description, html_path, updated).rss_str(pretty=True)
        )
        if not channel.endswith(_CHANNEL_END):  # a feedgen that writes differently
            raise RuntimeError(f"unexpected end of feedgen's RSS: {channel[-40:]!r}")
        items = b"".join(self.link_item(entry.issue, entry.link) for entry in chosen)
        return channel[: -len(_CHANNEL_END)] + items + _CHANNEL_END

    def link_item(self, issue: Issue, link: Link) -> bytes:
        """A link's `<item>`, as feedgen would write it inside a channel; memoised.

        Topic, tag and `/links.xml` feeds carry the same link with the same item, and
        feedgen's per-entry bookkeeping costs more than the XML: each item is made
        once, with the elements and order of feedgen's `rss_entry`.
        """
        return _made(
            "link item",
            (issue.slug, link.id),
            (issue, link, self.config),
            lambda: self._item(issue, link),
        )

    def _item(self, issue: Issue, link: Link) -> bytes:
        categories = [(link.source, self._scheme["source"])] if link.source else []
        categories.extend((tag, self._scheme["tag"]) for tag in dict.fromkeys(link.tags))
        fields = ItemFields(
            rss_text(link.title),
            markup.uri(link.url),
            xml_text(self.link_description(issue, link)),
            self.link_url(issue, link),
            tuple((rss_text(term), scheme) for term, scheme in categories),
            self.rfc2822(issue.date),
        )
        return item_xml(fields)

    def rfc2822(self, date: dt.date) -> str:
        """An issue date as RSS writes it, formatted the way feedgen does; memoised."""
        text = self._rfc2822.get(date)
        if text is None:
            text = self._rfc2822[date] = str(formatRFC2822(feed_datetime(date)))
        return text

    def render_opml(self, feeds: list[FeedInfo]) -> bytes:
        """`/feeds.opml`: OPML 2.0 listing every feed, topics and tags in their own folders."""
        root = ET.Element("opml", version="2.0")
        head = ET.SubElement(root, "head")
        ET.SubElement(head, "title").text = xml_text(
            f"{self.config.title} ({self.labels['feeds']})"
        )
        if self.digest.issues:
            modified = format_datetime(self.newest(self.digest.issues))
            ET.SubElement(head, "dateModified").text = modified
        if self.config.author:
            ET.SubElement(head, "ownerName").text = xml_text(self.config.author)
        ET.SubElement(head, "docs").text = "http://opml.org/spec2.opml"
        body = ET.SubElement(root, "body")
        folders = {
            "topics/": ET.Element("outline", text=self.labels["topics"]),
            "tags/": ET.Element("outline", text=self.labels["tags"]),
        }
        for feed in feeds:
            parent = next(
                (f for prefix, f in folders.items() if feed.path.startswith(prefix)), body
            )
            ET.SubElement(
                parent,
                "outline",
                text=xml_text(feed.title),
                title=xml_text(feed.title),
                type="rss",
                xmlUrl=self.abs_url(feed.path),
                htmlUrl=self.abs_url(feed.html_path),
            )
        body.extend(folder for folder in folders.values() if len(folder))
        ET.indent(root)
        return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True)) + b"\n"

    def render(self, reuse: PageReuse | None = None) -> dict[str, bytes | None]:
        """Every feed of the site, keyed by site path; None: the last build's is still right.

        With `reuse`, a feed whose items (issues, or links by their card hash) and
        channel are what the last build's file was made from is not made again.
        """
        limits = self.config.feeds
        issues = list(self.digest.issues[: limits.issues])
        out: dict[str, bytes | None] = {}
        for path, render in (
            ("feed.xml", self.render_issue_rss),
            ("atom.xml", self.render_atom),
            ("feed.json", self.render_json_feed),
        ):
            kept = reuse is not None and reuse.keep(path, issues, path)
            out[path] = None if kept else render(issues)
        link_feeds = [
            (
                "links.xml",
                f"{self.config.title} ({self.labels['links_feed']})",
                self.description,
                "",
                newest_entries(self.digest, limits.links),
            )
        ]
        for group in self.groups():
            cap = limits.topic if group.kind == "topics" else limits.tag
            link_feeds.append(
                (
                    f"{group.path}feed.xml",
                    self.group_title(group),
                    self.labels["feed_of"].format(name=group.name),
                    group.path,
                    list(group.entries[:cap]),
                )
            )
        for path, title, description, html_path, chosen in link_feeds:
            channel = (path, title, description, html_path)
            if reuse is not None and reuse.keep_cards(path, chosen, channel):
                out[path] = None
            else:
                out[path] = self.render_link_rss(path, title, description, html_path, chosen)
        out["feeds.opml"] = self.render_opml(self.feed_list())
        return out


def newest_entries(digest: Digest, count: int) -> list[Entry]:
    """`entries(digest)[:count]`, without making an Entry for every link of the digest."""
    every = (Entry(i, s, t, link) for i in digest.issues for s, t, link in i.all_links())
    return list(islice(every, max(count, 0)))


def render_feeds(
    config: SiteConfig,
    digest: Digest,
    groups: dict[str, list[Group]] | None = None,
    renderer: Renderer | None = None,
    reuse: PageReuse | None = None,
) -> dict[str, bytes | None]:
    """Every feed of the site (RSS, Atom, JSON Feed, link feeds, OPML), keyed by site path.

    `groups` is the page renderer's `collect_groups` result, when the caller has it, so a
    large digest is not grouped twice. With `reuse`, None marks a feed left as it was.
    """
    return FeedWriter(config, digest, groups, renderer).render(reuse)
