"""Feeds: strict validators (jing, xmllint, JSON Schema), RFC rules, and the model read back."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import jsonschema
import lxml.html
import pytest
from lxml import etree

from digest import feeds, markup
from digest.config import SiteConfig, load_config
from digest.feeds import absolute_urls, render_feeds
from digest.groups import Entry
from digest.load import load_digest
from digest.model import Digest, Issue, Link, Section, Subtopic
from digest.site import build

from .conftest import FIXTURES, ROOT, SHARED, run_digest

ATOM_RNC = SHARED / "schemas" / "atom.rnc"
JSON_FEED_SCHEMA = ROOT / "tests" / "schemas" / "jsonfeed-1.1.schema.json"
FEED_SITE = FIXTURES / "feeds" / "site"
SAMPLE_BASE = "https://example.org/ml/"
FEED_BASE = "https://example.org/feeds/"

ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT_ENCODED = "{http://purl.org/rss/1.0/modules/content/}encoded"


# -- helpers ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def feed_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The feed fixture site (two issues and a newer draft), built without drafts."""
    out = tmp_path_factory.mktemp("feeds") / "_site"
    build(FEED_SITE, out)
    return out


def site_url(base: str, path: str) -> str:
    """Absolute URL of a site path, percent-encoded the way the site writes it."""
    return base + quote(path, safe="/#")


def feed_files(site: Path) -> dict[str, str]:
    """Every feed in a built site by what it is: site path -> 'rss', 'atom' or 'json'."""
    found: dict[str, str] = {}
    for path in sorted(site.rglob("*")):
        rel = path.relative_to(site).as_posix()
        if path.suffix == ".xml":
            tag = etree.parse(str(path)).getroot().tag
            kind = {"rss": "rss", f"{ATOM}feed": "atom"}.get(tag)
            if kind:
                found[rel] = kind
        elif path.suffix == ".json":
            data = json.loads(path.read_text())
            if isinstance(data, dict) and "jsonfeed.org" in str(data.get("version")):
                found[rel] = "json"
    return found


def rss_files(site: Path) -> list[Path]:
    """The RSS feeds of a built site."""
    return [site / p for p, kind in feed_files(site).items() if kind == "rss"]


def html_of(fragment: str) -> Any:
    """An HTML fragment parsed as a browser would (one wrapping element)."""
    return lxml.html.fromstring(f"<div>{fragment}</div>")


def urls_in(fragment: str) -> list[str]:
    """Every href and src inside an HTML fragment."""
    root = html_of(fragment)
    return [el.get(attr) for attr in ("href", "src") for el in root.iter() if el.get(attr)]


def assert_absolute(url: str, where: str) -> None:
    """An URL a feed reader can follow wherever it shows the item."""
    parts = urlsplit(url)
    assert parts.scheme in ("http", "https", "mailto"), f"relative URL {url!r} in {where}"
    if parts.scheme != "mailto":
        assert parts.netloc, f"URL without host {url!r} in {where}"


def text_of(fragment: str) -> str:
    """Visible text of an HTML fragment, whitespace collapsed."""
    return " ".join(html_of(fragment).text_content().split())


def markdown_text(md: str) -> str:
    """What a reader sees of simple Markdown: link text without its URL."""
    return " ".join(re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", md).split())


def rfc822(text: str | None) -> dt.datetime:
    """An RFC 822 date, which must parse and carry a zone."""
    assert text, "missing date"
    when = parsedate_to_datetime(text)
    assert when.tzinfo is not None, text
    return when


def rfc3339(text: str | None) -> dt.datetime:
    """An RFC 3339 date-time with a zone (Atom, JSON Feed)."""
    assert text and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", text)
    return dt.datetime.fromisoformat(text)


def json_feed_validator() -> jsonschema.Draft202012Validator:
    """The JSON Feed 1.1 schema with URI and date-time formats really checked."""
    schema = json.loads(JSON_FEED_SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    checker = jsonschema.FormatChecker()

    # jsonschema only checks "uri" with an optional package; a URL in a feed must at
    # least have a scheme, which is what readers need.
    @checker.checks("uri")
    def is_uri(value: object) -> bool:
        return not isinstance(value, str) or bool(urlsplit(value).scheme)

    return jsonschema.Draft202012Validator(schema, format_checker=checker)


def items(path: Path) -> list[Any]:
    """The <item> elements of an RSS file."""
    return etree.parse(str(path)).getroot().findall("channel/item")


@pytest.fixture(scope="module")
def seed_issue() -> dict[str, Any]:
    """The sample content's one issue, through the public `digest dump` command."""
    result = run_digest("dump", str(ROOT / "content"))
    assert result.returncode == 0, result.stderr
    (issue,) = json.loads(result.stdout)["issues"]
    assert isinstance(issue, dict)
    return issue


def dumped_links(issue: dict[str, Any]) -> list[dict[str, Any]]:
    """An issue's links from the dump, in page order."""
    out: list[dict[str, Any]] = []
    for section in issue["sections"]:
        out.extend(section["links"])
        for sub in section["subtopics"]:
            out.extend(sub["links"])
    return out


# -- Atom ------------------------------------------------------------------------------------


def test_atom_passes_rfc4287_schema(sample_site: Path, feed_site: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty-atom.xml"
    empty.write_bytes(render_feeds(SiteConfig(), Digest(()))["atom.xml"])
    files = [sample_site / "atom.xml", feed_site / "atom.xml", empty]
    result = subprocess.run(
        ["jing", "-c", str(ATOM_RNC), *map(str, files)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("site_name", ["sample", "fixture"])
def test_atom_rules_the_schema_leaves_out(
    site_name: str, sample_site: Path, feed_site: Path
) -> None:
    site, base = (sample_site, SAMPLE_BASE) if site_name == "sample" else (feed_site, FEED_BASE)
    feed = etree.parse(str(site / "atom.xml")).getroot()
    entries = feed.findall(f"{ATOM}entry")
    assert entries
    # RFC 4287 4.1.1: an author on the feed, or on every entry.
    feed_author = feed.find(f"{ATOM}author/{ATOM}name")
    assert (feed_author is not None and feed_author.text) or all(
        e.find(f"{ATOM}author/{ATOM}name") is not None for e in entries
    )
    # 4.1.1: at most one alternate link per type and hreflang; a self link helps readers.
    assert feed.find(f"{ATOM}link[@rel='self']").get("href") == base + "atom.xml"
    ids = [feed.findtext(f"{ATOM}id")] + [e.findtext(f"{ATOM}id") for e in entries]
    assert len(set(ids)) == len(ids), ids
    feed_updated = rfc3339(feed.findtext(f"{ATOM}updated"))
    dates = []
    for entry in entries:
        alternates = [
            link for link in entry.findall(f"{ATOM}link") if link.get("rel") in (None, "alternate")
        ]
        # 4.1.2: an entry without content needs one; ours has both, pointing at the issue.
        assert len(alternates) == 1
        assert alternates[0].get("href") == entry.findtext(f"{ATOM}id")
        assert entry.findtext(f"{ATOM}id").startswith(base + "issues/")
        updated = rfc3339(entry.findtext(f"{ATOM}updated"))
        assert rfc3339(entry.findtext(f"{ATOM}published")) == updated
        content = entry.find(f"{ATOM}content")
        assert content is not None and content.get("type") == "html" and content.text
        for url in urls_in(content.text):
            assert_absolute(url, f"atom entry {entry.findtext(f'{ATOM}id')}")
        dates.append(updated)
    assert dates == sorted(dates, reverse=True), "newest issue first"
    assert feed_updated == dates[0], "the feed is as new as its newest issue, not 'now'"


# -- RSS --------------------------------------------------------------------------------------


def test_rss_feeds_are_well_formed(sample_site: Path, feed_site: Path) -> None:
    files = [*rss_files(sample_site), *rss_files(feed_site), sample_site / "feeds.opml"]
    result = subprocess.run(
        ["xmllint", "--noout", *map(str, files)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("site_name", ["sample", "fixture"])
def test_rss_structure(site_name: str, sample_site: Path, feed_site: Path) -> None:
    site, base = (sample_site, SAMPLE_BASE) if site_name == "sample" else (feed_site, FEED_BASE)
    files = rss_files(site)
    assert {"feed.xml", "links.xml"} <= {p.relative_to(site).as_posix() for p in files}
    for path in files:
        rel = path.relative_to(site).as_posix()
        root = etree.parse(str(path)).getroot()
        assert root.get("version") == "2.0"
        channel = root.find("channel")
        for required in ("title", "link", "description"):
            assert (channel.findtext(required) or "").strip(), f"{rel}: empty <{required}>"
        assert_absolute(channel.findtext("link"), rel)
        self_links = channel.findall(f"{ATOM}link[@rel='self']")
        assert [link.get("href") for link in self_links] == [site_url(base, rel)]
        assert channel.findtext("language") == "ko"
        build_date = rfc822(channel.findtext("lastBuildDate"))
        assert items(path), f"{rel} has no items"
        for item in items(path):
            guid = item.find("guid")
            assert guid is not None and guid.text, f"{rel}: item without guid"
            assert guid.get("isPermaLink") == "true"
            assert_absolute(guid.text, rel)
            assert_absolute(item.findtext("link"), rel)
            assert rfc822(item.findtext("pubDate")) <= build_date
            for html in (item.findtext("description"), item.findtext(CONTENT_ENCODED)):
                for url in urls_in(html or ""):
                    assert_absolute(url, f"{rel} item {guid.text}")


# -- JSON Feed --------------------------------------------------------------------------------


def test_json_feed_matches_schema(sample_site: Path, feed_site: Path) -> None:
    validator = json_feed_validator()
    for site, base in ((sample_site, SAMPLE_BASE), (feed_site, FEED_BASE)):
        feed = json.loads((site / "feed.json").read_text())
        errors = [e.message for e in validator.iter_errors(feed)]
        assert errors == []
        assert feed["feed_url"] == base + "feed.json"
        assert feed["home_page_url"] == base
        for item in feed["items"]:
            assert item["id"] == item["url"]
            for url in urls_in(item["content_html"]):
                assert_absolute(url, f"feed.json item {item['id']}")


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda f: f.update(version="https://jsonfeed.org/version/2"), "version"),
        (lambda f: f.pop("title"), "title"),
        (lambda f: f["items"][0].pop("content_html"), "content"),
        (lambda f: f["items"][0].pop("id"), "id"),
        (lambda f: f.update(authors=[{}]), "empty author"),
        (lambda f: f["items"][0].update(date_published="29 Dec 2022"), "date"),
        (lambda f: f["items"][0].update(url="issues/2022-12/"), "relative url"),
        (lambda f: f.update(contentHtml="x"), "unknown key"),
    ],
)
def test_json_feed_schema_rejects_broken_feeds(
    sample_site: Path, change: Any, problem: str
) -> None:
    feed = json.loads((sample_site / "feed.json").read_text())
    change(feed)
    assert not json_feed_validator().is_valid(feed), problem


def test_json_feed_schema_accepts_the_spec_example() -> None:
    example = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "My Example Feed",
        "home_page_url": "https://example.org/",
        "feed_url": "https://example.org/feed.json",
        "_blue_shed": {"about": "https://blueshed-podcasts.com/json-feed-extension-docs"},
        "items": [
            {"id": "2", "content_text": "This is a second item.", "url": "https://example.org/2"},
            {"id": "1", "content_html": "<p>Hello, world!</p>", "url": "https://example.org/1"},
        ],
    }
    assert [e.message for e in json_feed_validator().iter_errors(example)] == []


# -- OPML -------------------------------------------------------------------------------------


@pytest.mark.parametrize("site_name", ["sample", "fixture"])
def test_opml_lists_every_feed_and_only_those(
    site_name: str, sample_site: Path, feed_site: Path
) -> None:
    site, base = (sample_site, SAMPLE_BASE) if site_name == "sample" else (feed_site, FEED_BASE)
    root = etree.parse(str(site / "feeds.opml")).getroot()
    assert root.tag == "opml" and root.get("version") == "2.0"
    assert root.findtext("head/title")
    listed: dict[str, Any] = {}
    for outline in root.iter("outline"):
        if outline.get("xmlUrl") is None:
            assert outline.get("text") and len(outline), "a folder has a name and feeds"
            continue
        url = outline.get("xmlUrl")
        assert url.startswith(base) and url not in listed
        listed[unquote(url.removeprefix(base))] = outline
    # The issue feed once (RSS): its Atom and JSON forms have the same items, and a
    # reader importing the file would show every issue three times.
    feeds = feed_files(site)
    assert feeds.pop("atom.xml") == "atom" and feeds.pop("feed.json") == "json"
    assert sorted(listed) == sorted(feeds)
    for path, outline in listed.items():
        assert outline.get("type") == "rss"
        assert outline.get("text") and outline.get("title") == outline.get("text")
        html_url = outline.get("htmlUrl")
        assert html_url.startswith(base)
        page = unquote(html_url.removeprefix(base)) + "index.html"
        assert (site / page).is_file(), f"{path}: htmlUrl {html_url} is not a page"


# -- the model, read back ----------------------------------------------------------------------


def test_links_feed_carries_the_seed_issue(sample_site: Path, seed_issue: dict[str, Any]) -> None:
    issue = seed_issue
    links = dumped_links(issue)
    assert len(links) == 10
    got = items(sample_site / "links.xml")
    assert len(got) == 10
    issue_date = dt.datetime.fromisoformat(issue["date"]).replace(tzinfo=dt.UTC)
    for link, item in zip(links, got, strict=True):
        assert item.findtext("title") == link["title"]
        assert item.findtext("link") == link["url"]
        anchor = site_url(SAMPLE_BASE, f"issues/{issue['slug']}/#{link['id']}")
        assert item.findtext("guid") == anchor
        assert rfc822(item.findtext("pubDate")) == issue_date
        categories = [c.text for c in item.findall("category")]
        assert categories == [s for s in [link["source"]] if s] + link["tags"]
        description = item.findtext("description")
        if link["commentary"]:
            assert text_of(description) == markdown_text(link["commentary"])
            for url in re.findall(r"\]\(([^)]+)\)", link["commentary"]):
                assert url in urls_in(description)
        else:
            assert text_of(description), "an empty commentary still says something"
            if link["source"]:
                assert link["source"] in text_of(description)
    rlhf = next(i for i in got if i.findtext("link") == "https://huggingface.co/blog/rlhf")
    assert "정책 언어 모델" in text_of(rlhf.findtext("description"))


def test_issue_feeds_carry_the_whole_issue(sample_site: Path, seed_issue: dict[str, Any]) -> None:
    issue = seed_issue
    issue_url = SAMPLE_BASE + f"issues/{issue['slug']}/"
    (rss_item,) = items(sample_site / "feed.xml")
    atom = etree.parse(str(sample_site / "atom.xml")).getroot()
    (atom_entry,) = atom.findall(f"{ATOM}entry")
    (json_item,) = json.loads((sample_site / "feed.json").read_text())["items"]

    assert rss_item.findtext("title") == atom_entry.findtext(f"{ATOM}title") == issue["title"]
    assert json_item["title"] == issue["title"]
    assert rss_item.findtext("link") == rss_item.findtext("guid") == issue_url
    assert atom_entry.findtext(f"{ATOM}id") == json_item["id"] == issue_url
    assert json_item["date_published"].startswith(issue["date"])
    assert rss_item.findtext("description") == json_item["summary"] == "CALM, RLHF, Data2vec 2.0 외"
    assert atom_entry.findtext(f"{ATOM}summary") == json_item["summary"]

    contents = {
        rss_item.findtext(CONTENT_ENCODED),
        atom_entry.findtext(f"{ATOM}content"),
        json_item["content_html"],
    }
    assert len(contents) == 1, "the three formats carry the same HTML"
    content = contents.pop()
    root = html_of(content)
    hrefs = urls_in(content)
    for link in dumped_links(issue):
        assert link["url"] in hrefs, link["title"]
        assert site_url(issue_url, f"#{link['id']}") in hrefs
        heading = root.find(f".//*[@id='{link['id']}']")
        assert heading is not None and " ".join(heading.text_content().split()) == link["title"]
        if link["commentary"]:
            assert markdown_text(link["commentary"]) in " ".join(root.text_content().split())
    for section in issue["sections"]:
        assert SAMPLE_BASE + f"sections/{section['slug']}/" in hrefs
        for sub in section["subtopics"]:
            assert SAMPLE_BASE + f"topics/{sub['slug']}/" in hrefs


def test_images_and_relative_links_become_absolute(feed_site: Path) -> None:
    feed = json.loads((feed_site / "feed.json").read_text())
    newer, older = feed["items"]
    assert [newer["title"], older["title"]] == ["2023년 2월", "2023년 1월"]
    images = [img.get("src") for img in html_of(newer["content_html"]).iter("img")]
    assert images == [FEED_BASE + "images/cover.png", FEED_BASE + "images/diagram.png"]
    for image in images:
        assert (feed_site / image.removeprefix(FEED_BASE)).is_file()
    older_links = urls_in(older["content_html"])
    assert FEED_BASE + "issues/2023-02/" in older_links  # ../issues/2023-02/
    assert FEED_BASE + "issues/2023-01/#older-cv-paper" in older_links  # #older-cv-paper
    assert "https://example.com/older-nlp" in urls_in(newer["content_html"])  # //example.com
    assert "mailto:editor@example.org" in urls_in(newer["content_html"])
    link_items = {i.findtext("link"): i for i in items(feed_site / "links.xml")}
    commentary = link_items["https://example.com/newer-nlp"].findtext("description")
    assert FEED_BASE + "images/diagram.png" in urls_in(commentary)
    escaped = link_items["https://example.com/newer-mlops?a=1&b=2"].findtext("description")
    assert text_of(escaped) == "A & B < C, with a query link."
    assert "https://example.com/x?a=1&b=2" in urls_in(escaped)


def test_summary_is_escaped_once(feed_site: Path) -> None:
    rss = {i.findtext("guid"): i for i in items(feed_site / "feed.xml")}
    older = rss[FEED_BASE + "issues/2023-01/"]
    assert text_of(older.findtext("description")) == "Older issue & <friends>"
    atom = etree.parse(str(feed_site / "atom.xml")).getroot()
    summaries = [e.find(f"{ATOM}summary") for e in atom.findall(f"{ATOM}entry")]
    assert text_of(summaries[1].text) == "Older issue & <friends>"
    (older_json,) = [
        i for i in json.loads((feed_site / "feed.json").read_text())["items"] if "01" in i["id"]
    ]
    assert older_json["summary"] == "Older issue & <friends>"


def test_korean_tag_feed(sample_site: Path, seed_issue: dict[str, Any]) -> None:
    path = sample_site / "tags" / "강화학습" / "feed.xml"
    assert path.is_file()
    channel = etree.parse(str(path)).getroot().find("channel")
    encoded = "%EA%B0%95%ED%99%94%ED%95%99%EC%8A%B5"
    self_link = channel.find(f"{ATOM}link[@rel='self']").get("href")
    assert self_link == f"{SAMPLE_BASE}tags/{encoded}/feed.xml"
    assert channel.findtext("link") == f"{SAMPLE_BASE}tags/{encoded}/"
    assert channel.findtext("title") == "ML 읽을거리: 강화학습"
    issue = seed_issue
    expected = [link["url"] for link in dumped_links(issue) if "강화학습" in link["tags"]]
    assert [i.findtext("link") for i in items(path)] == expected
    assert len(expected) == 2


def test_topic_feeds_follow_the_taxonomy(sample_site: Path, seed_issue: dict[str, Any]) -> None:
    issue = seed_issue
    by_topic: dict[str, list[str]] = {}
    for section in issue["sections"]:
        for sub in section["subtopics"]:
            by_topic.setdefault(sub["slug"], []).extend(link["url"] for link in sub["links"])
    for slug, urls in by_topic.items():
        path = sample_site / "topics" / slug / "feed.xml"
        assert [i.findtext("link") for i in items(path)] == urls, slug


def test_pages_point_at_feeds_that_exist(sample_site: Path) -> None:
    pages = ["index.html", "issues/2022-12/index.html", "topics/cv/index.html"]
    pages.append("tags/강화학습/index.html")
    for page in pages:
        root = lxml.html.parse(str(sample_site / page)).getroot()
        feeds = [
            link.get("href")
            for link in root.iter("link")
            if link.get("rel") == "alternate"
            and link.get("type")
            in ("application/rss+xml", "application/atom+xml", "application/feed+json")
        ]
        assert len(feeds) >= 4, page
        for href in feeds:
            target = unquote(href.removeprefix("/ml/"))
            assert (sample_site / target).is_file(), f"{page}: {href}"
    tag_page = lxml.html.parse(str(sample_site / "tags/강화학습/index.html")).getroot()
    assert any(
        unquote(link.get("href")) == "/ml/tags/강화학습/feed.xml" for link in tag_page.iter("link")
    )


# -- drafts, caps, determinism -------------------------------------------------------------------


def test_drafts_appear_in_no_feed(feed_site: Path) -> None:
    feeds = feed_files(feed_site)
    assert "tags/draft-only-tag/feed.xml" not in feeds
    for path in [*feeds, "feeds.opml"]:
        data = (feed_site / path).read_text()
        for secret in ("draft-only", "초안", "2023-03-draft", "Draft Org"):
            assert secret not in data, f"{secret!r} leaked into {path}"
    updated = etree.parse(str(feed_site / "atom.xml")).getroot().findtext(f"{ATOM}updated")
    assert rfc3339(updated).date() == dt.date(2023, 2, 28), "a draft's date is not the update"


def test_caps_are_respected(tmp_path: Path) -> None:
    content = tmp_path / "content"
    shutil.copytree(FEED_SITE, content)
    with (content / "site.yaml").open("a") as f:
        f.write("feeds: {links: 3, issues: 1, topic: 1, tag: 1}\n")
    out = tmp_path / "out"
    build(content, out)
    assert [i.findtext("link") for i in items(out / "links.xml")] == [
        "https://example.com/newer-nlp",
        "https://example.com/newer-plain",
        "https://example.com/newer-mlops?a=1&b=2",
    ]
    assert len(items(out / "feed.xml")) == 1
    assert len(etree.parse(str(out / "atom.xml")).getroot().findall(f"{ATOM}entry")) == 1
    assert len(json.loads((out / "feed.json").read_text())["items"]) == 1
    for path in [*(out / "topics").glob("*/feed.xml"), *(out / "tags").glob("*/feed.xml")]:
        assert len(items(path)) == 1, path
    assert [i.findtext("link") for i in items(out / "tags/llm/feed.xml")] == [
        "https://example.com/newer-nlp"
    ]


def test_default_caps(tmp_path: Path) -> None:
    config = SiteConfig(base_url=FEED_BASE)
    assert (config.feeds.issues, config.feeds.links) == (20, 100)
    assert (config.feeds.topic, config.feeds.tag) == (50, 50)
    links = tuple(
        Link(
            f"l{n}", f"Link {n}", f"Link {n}", f"https://example.com/{n}", None, None, ("t",), "", 1
        )
        for n in range(60)
    )
    issues = tuple(
        Issue(
            f"2020-{n:02d}",
            f"Issue {n}",
            dt.date(2020, 1, 1) + dt.timedelta(days=30 * (30 - n)),
            "x.md",
            "",
            (
                Section(
                    "Research",
                    "Research",
                    "research",
                    "",
                    (),
                    (Subtopic("CV", "CV", "cv", "", links),),
                ),
            ),
        )
        for n in range(25)
    )
    out = render_feeds(config, Digest(issues))
    assert len(etree.fromstring(out["feed.xml"]).findall("channel/item")) == 20
    assert len(etree.fromstring(out["links.xml"]).findall("channel/item")) == 100
    assert len(etree.fromstring(out["topics/cv/feed.xml"]).findall("channel/item")) == 50
    assert len(etree.fromstring(out["tags/t/feed.xml"]).findall("channel/item")) == 50


def test_feeds_are_deterministic(sample_site: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    build(ROOT / "content", again, base_url=SAMPLE_BASE)
    feeds = feed_files(sample_site)
    assert sorted(feeds) == sorted(feed_files(again))
    for path in [*feeds, "feeds.opml"]:
        assert (sample_site / path).read_bytes() == (again / path).read_bytes(), path


def test_no_date_comes_from_the_clock(sample_site: Path, feed_site: Path) -> None:
    """Every date in every feed is an issue's date: feedgen's 'now' never leaks."""
    for site, issue_dates in (
        (sample_site, {dt.date(2022, 12, 29)}),
        (feed_site, {dt.date(2023, 1, 31), dt.date(2023, 2, 28)}),
    ):
        for path in [*feed_files(site), "feeds.opml"]:
            text = (site / path).read_text()
            rfc822_dates = re.findall(r"\w{3}, \d\d \w{3} \d{4} [\d:]{8} [+-]\d{4}", text)
            iso_dates = re.findall(r"\d{4}-\d\d-\d\dT[\d:]{8}(?:Z|[+-]\d\d:\d\d)", text)
            found = {rfc822(d).date() for d in rfc822_dates}
            found |= {rfc3339(d).date() for d in iso_dates}
            assert found and found <= issue_dates, (path, found)


# -- units ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ('<a href="#x">', '<a href="https://s.org/b/issues/i/#x">'),
        ('<a href="//cdn.org/p">', '<a href="https://cdn.org/p">'),
        ('<img src="img.png" alt="">', '<img src="https://s.org/b/issues/i/img.png" alt="">'),
        ('<a href="mailto:a@b.org">', '<a href="mailto:a@b.org">'),
        ('<a href="https://x.org/?a=1&amp;b=2">', '<a href="https://x.org/?a=1&amp;b=2">'),
        ('<a href="?a=1&amp;b=2">', '<a href="https://s.org/b/issues/i/?a=1&amp;b=2">'),
        ('<p>href="#not-an-attribute"</p>', '<p>href="#not-an-attribute"</p>'),
    ],
)
def test_absolute_urls(html: str, expected: str) -> None:
    assert absolute_urls(html, "https://s.org/b/issues/i/") == expected


def test_control_characters_do_not_break_xml(tmp_path: Path) -> None:
    link = Link(
        "a",
        "Bad\x0btitle",
        "Bad\x0btitle",
        "https://example.com/",
        None,
        "Org\x1b",
        ("t\x0c",),
        "text\x00 with\x08 controls",
        1,
    )
    issue = Issue(
        "2024-01",
        "Issue\x01",
        dt.date(2024, 1, 1),
        "x.md",
        "",
        (Section("Research", "Research", "research", "", (link,), ()),),
        summary="sum\x02",
    )
    out = render_feeds(SiteConfig(), Digest((issue,)))
    for path, data in out.items():
        if path.endswith((".xml", ".opml")):
            etree.fromstring(data)
    assert etree.fromstring(out["links.xml"]).findtext("channel/item/title") == "Badtitle"


def test_commentary_is_rendered_once_per_link(monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(FEED_SITE / "site.yaml")
    digest = load_digest(FEED_SITE, config).digest
    calls: list[str] = []
    real = markup.render_block

    def counting(text: str, base: str = "") -> str:
        calls.append(text)
        return real(text, base)

    monkeypatch.setattr(markup, "render_block", counting)
    out = render_feeds(config, digest)
    (newer,) = [i for i in digest.issues if i.slug == "2023-02"]
    link = newer.sections[0].subtopics[0].links[0]
    carried_by = [p for p, data in out.items() if link.url.encode() in data]
    assert len(carried_by) >= 6, carried_by  # issue feeds, links.xml, topic and tag feeds
    assert calls.count(link.commentary) == 1
    assert len(calls) == len(set(calls))


# -- link items: made once per link, byte for byte as feedgen writes them -----------------------


def _feedgen_link_rss(
    writer: feeds.FeedWriter, path: str, title: str, html_path: str, chosen: list[Entry]
) -> bytes:
    """A link feed as digest wrote it with one feedgen entry per link: the reference."""
    fg = writer.new_rss(path, title, "about", html_path, writer.newest(e.issue for e in chosen))
    for entry in chosen:
        issue, link = entry.issue, entry.link
        fe = fg.add_entry(order="append")
        fe.title(feeds.rss_text(link.title))
        fe.link(href=markup.uri(link.url))  # an ASCII URI, as on the pages
        fe.guid(writer.link_url(issue, link), permalink=True)
        fe.description(feeds.xml_text(writer.link_description(issue, link)))
        categories = []
        if link.source:
            categories.append(
                {"term": feeds.rss_text(link.source), "scheme": writer.abs_url("sources/")}
            )
        categories.extend(
            {"term": feeds.rss_text(tag), "scheme": writer.abs_url("tags/")}
            for tag in dict.fromkeys(link.tags)
        )
        if categories:
            fe.category(categories)
        fe.pubDate(feeds.feed_datetime(issue.date))
    return bytes(fg.rss_str(pretty=True))


def test_link_feeds_are_byte_identical_to_feedgen_entries() -> None:
    odd = [
        ("plain", "A title", "https://e.org/a", "Org", ("t",), "Some *commentary*."),
        ("amp", "Q&A <b> \"x\" 'y'", "https://e.org/?a=1&b=2", 'O"r&g', ("a&b", "a&b", "x"), ""),
        ("ctl", "\x0b", "https://e.org/c", None, ("",), "text\x00 \x08controls"),
        ("cr", "line\rbreak", "", "Org", (), "[rel](#other) and ![i](./images/x.png)"),
        (
            "ko",
            "한국어 제목 😀",
            "https://e.org/한",
            "카카오",
            ("강화학습",),
            "> quote\n\n```\n<x>\n```",
        ),
    ]
    links = tuple(
        Link(lid, title, title, url, "2023-01", source, tags, commentary, n + 1)
        for n, (lid, title, url, source, tags, commentary) in enumerate(odd)
    )
    issue = Issue(
        "2023-01",
        "Issue",
        dt.date(2023, 1, 2),
        "x.md",
        "",
        (Section("Research", "Research", "research", "", links, ()),),
    )
    writer = feeds.FeedWriter(SiteConfig(base_url=FEED_BASE), Digest((issue,)))
    chosen = [Entry(issue, issue.sections[0], None, link) for link in links]
    for _ in range(2):  # the second time, every item comes from the memo
        assert writer.render_link_rss("links.xml", "T", "about", "", chosen) == (
            _feedgen_link_rss(writer, "links.xml", "T", "", chosen)
        )


def test_a_title_with_a_link_is_not_a_link_inside_the_feed_title_link(tmp_path: Path) -> None:
    # The card's title is a link to the article: as on pages, links inside a title
    # are dropped (nested `<a>` is invalid HTML, and the inner one wins a click).
    from .conftest import copy_content

    content = copy_content(tmp_path / "content")
    issue = content / "issues" / "2022-12.md"
    text = issue.read_text(encoding="utf-8")
    first = re.search(r"^title: (.*)$", text.split("\n---\n", 2)[2], re.M)
    assert first is not None
    linked = "See [the paper](https://arxiv.org/abs/1) first"
    issue.write_text(text.replace(first[0], f"title: {linked}", 1), encoding="utf-8")
    out = tmp_path / "out"
    from digest.site import build

    build(content, out, use_cache=False)
    html = json.loads((out / "feed.json").read_text(encoding="utf-8"))["items"][0]
    fragment = lxml.html.fragment_fromstring(html["content_html"], create_parent="div")
    titles = [a for a in fragment.iter("a") if "See " in a.text_content()]
    assert titles and all(not a.findall(".//a") for a in titles)
    assert "See the paper first" in [a.text_content() for a in titles]


def test_a_link_whose_tags_share_a_slug_is_listed_once(tmp_path: Path) -> None:
    # `LLM` and `llm` are one tag page and one tag feed: the link was in both twice,
    # two items with one guid.
    from digest.site import build

    from .conftest import copy_content

    content = copy_content(tmp_path / "content")
    issue = content / "issues" / "2022-12.md"
    text = issue.read_text(encoding="utf-8")
    assert "tags: [llm, " in text
    issue.write_text(text.replace("tags: [llm, ", "tags: [llm, LLM, ", 1), encoding="utf-8")
    out = tmp_path / "out"
    build(content, out, use_cache=False)
    feed = etree.parse(str(out / "tags" / "llm" / "feed.xml"))
    guids = [g.text for g in feed.iter("guid")]
    assert guids and len(guids) == len(set(guids)), guids
    page = lxml.html.parse(str(out / "tags" / "llm" / "index.html"))
    permalinks = [a.get("href") for a in page.iter("a") if a.get("class") == "permalink"]
    assert permalinks and len(permalinks) == len(set(permalinks)), permalinks


def test_a_tag_without_a_slug_is_text_in_the_feeds_as_on_pages(tmp_path: Path) -> None:
    # The feeds linked `tags//`, a page the site does not have.
    from digest.site import build

    from .conftest import copy_content

    content = copy_content(tmp_path / "content")
    issue = content / "issues" / "2022-12.md"
    text = issue.read_text(encoding="utf-8")
    issue.write_text(text.replace("tags: [llm, ", 'tags: ["🙂", llm, ', 1), encoding="utf-8")
    out = tmp_path / "out"
    build(content, out, use_cache=False)
    for name in ("feed.xml", "atom.xml", "feed.json"):
        data = (out / name).read_text(encoding="utf-8")
        assert "#🙂" in data and "tags//" not in data, name


def test_a_non_ascii_article_url_is_an_ascii_uri_everywhere(tmp_path: Path) -> None:
    # RSS wants a URI in <link>; the card and the issue feeds linked the IRI as written,
    # while the same URL in commentary was percent-encoded (markdown-it): now all agree.
    from digest.site import build

    from .conftest import copy_content

    iri = "https://한국.kr/논문/모델?q=추천 시스템#요약"
    content = copy_content(tmp_path / "content")
    issue = content / "issues" / "2022-12.md"
    text = issue.read_text(encoding="utf-8")
    old = "url: https://ai.facebook.com/blog/ai-self-supervised-learning-data2vec/"
    assert old in text
    issue.write_text(
        text.replace(old, f'url: "{iri.replace(" ", "%20")}"', 1)
        + f"\nSee [the same paper](<{iri}>).\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    build(content, out, use_cache=False)
    page = lxml.html.parse(str(out / "issues" / "2022-12" / "index.html"))
    commentary = [a.get("href") for a in page.iter("a") if a.text == "the same paper"]
    assert len(commentary) == 1
    expected = commentary[0]
    assert expected.isascii() and "xn--" in expected
    assert urlsplit(expected).hostname == "한국.kr".encode("idna").decode()
    assert unquote(urlsplit(expected).path) == "/논문/모델"
    cards = [a.get("href") for a in page.iter("a") if a.get("class") == "link-url"]
    assert expected in cards
    assert not any(href and not href.isascii() for href in cards)
    links = etree.parse(str(out / "links.xml")).findall("channel/item/link")
    assert expected in [link.text for link in links]
    for name in ("feed.xml", "atom.xml", "feed.json"):
        data = (out / name).read_text(encoding="utf-8")
        assert "한국.kr" not in data and expected.replace("&", "&amp;") in data, name
