"""Hostile content never becomes live markup: every payload of tests/payloads.py, every field.

The hostile site is built once per worker and checked three ways: by parsing every output
(HTML with lxml.html, feeds with lxml.etree, JSON with json), by a real browser that loads
every page over http and watches for dialogs and a canary, and field by field at the
parser (bad link URLs and ids are content errors).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import lxml.etree  # type: ignore[import-untyped]
import lxml.html  # type: ignore[import-untyped]
import pytest

from digest import markup
from digest.config import SiteConfig
from digest.errors import ContentErrors
from digest.parse import read_issue
from digest.site import build

from .conftest import CHROMIUM_ARGS, ROOT
from .payloads import (
    BAD_IDS,
    BAD_URLS,
    CANARY,
    EVALUATED,
    HOSTILE_FILE_STEMS,
    HOSTILE_HTTP_URLS,
    PAYLOADS,
    Payload,
)

BASE_URL = "https://example.org/ml/"
BASE_PATH = "/ml/"
SAFE_SCHEMES = {None, "http", "https", "mailto"}
SEARCH_SCRIPT = BASE_PATH + "static/search.js"

# Elements no content may ever produce (the templates use none of them either).
FORBIDDEN_TAGS = frozenset(
    [
        "iframe",
        "frame",
        "frameset",
        "object",
        "embed",
        "applet",
        "style",
        "base",
        "svg",
        "math",
        "template",
        "textarea",
        "select",
        "option",
        "marquee",
        "video",
        "audio",
        "source",
        "track",
        "isindex",
        "xmp",
        "plaintext",
        "noembed",
        "noframes",
        "portal",
        "dialog",
        "details",
        "body-in-body",
        "mglyph",
        "animate",
        "set",
        "handler",
    ]
)
URL_ATTRS = frozenset(
    [
        "href",
        "src",
        "action",
        "formaction",
        "cite",
        "poster",
        "background",
        "data",
        "longdesc",
        "ping",
        "manifest",
        "codebase",
        "lowsrc",
        "dynsrc",
        "xlink:href",
    ]
)
SITE_LINK_RELS = frozenset({"canonical", "alternate", "icon", "stylesheet", "prev", "next"})
FORM_CONTROLS = frozenset({"input", "button", "label"})
_TABLE_ALIGN = r"text-align:\s*(left|right|center);?"  # markdown-it's table cells
_FORTY_NINE = re.compile(r"(?<![\d.,])49(?![\d.,])")


def browser_scheme(url: str) -> str | None:
    """The scheme a browser reads from an attribute value (WHATWG URL), lowercased."""
    url = url.strip("".join(map(chr, range(0x21))))
    url = re.sub(r"[\t\n\r]", "", url)
    match = re.match(r"([a-zA-Z][a-zA-Z0-9+.\-]*):", url)
    return match.group(1).lower() if match else None


def yaml_str(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text)


# -- the hostile content folder -----------------------------------------------------------


def _native_issue(n: int, p: Payload) -> str:
    date = dt.date(2020, 1, 1) + dt.timedelta(days=n)
    line = p.text if p.inline else f"heading {n:03d}"
    url = HOSTILE_HTTP_URLS[n % len(HOSTILE_HTTP_URLS)]
    return "\n".join(
        [
            "---",
            f"title: {yaml_str(p.text)}",
            f"date: {date.isoformat()}",
            f"summary: {yaml_str(p.text)}",
            "---",
            p.text,
            "",
            f"## {line}",
            p.text,
            "",
            f"### {line}",
            p.text,
            "",
            "---",
            f"url: https://example.org/{n:03d}",
            f"title: {yaml_str(p.text)}",
            f"source: {yaml_str(p.text)}",
            f"tags: [{yaml_str(p.text)}]",
            "published: 2022-12",
            "---",
            p.text,
            "",
            "---",
            f"url: {yaml_str(url)}",
            f"title: link {n:03d}",
            "---",
            f"[hostile href {n:03d}]({url.replace(' ', '%20')})",
            "",
        ]
    )


def _legacy_issue(k: int, group: list[Payload]) -> str:
    first = group[0]
    out = [f"# {first.text if first.inline else 'Legacy'}", ""]
    for p in group:
        out += [p.text, ""]
    for i, p in enumerate(group):
        heading = p.text if p.inline else f"legacy heading {k}-{i}"
        title = p.text if p.inline and not re.search(r"[\[\]\n]", p.text) else f"legacy {k}-{i}"
        out += [
            f"## {heading}",
            f"### {heading}",
            f"* [{title} (Dec 2022)](https://example.org/legacy/{k}/{i}) : "
            + (p.text if p.inline else "see below"),
            "  * " + (p.text if p.inline else "nested"),
            p.text,
            "",
        ]
    return "\n".join(out)


def write_hostile_content(folder: Path) -> Path:
    """A content folder with every payload in every field, native and legacy."""
    issues = folder / "issues"
    issues.mkdir(parents=True)
    (folder / "images").mkdir()
    title = f'ML <script>{CANARY}()</script> "><b>'
    author = "{{ 7*7 }}</title><script>" + CANARY + "()</script>"
    description = f'" onmouseover={CANARY}() x="<img src=x>'
    section = f"Research<svg onload={CANARY}()>"
    (folder / "site.yaml").write_text(
        "\n".join(
            [
                f"title: {yaml_str(title)}",
                f"base_url: {BASE_URL}",
                "language: ko",
                f"author: {yaml_str(author)}",
                f"description: {yaml_str(description)}",
                "taxonomy:",
                "  sections:",
                f"    - name: {yaml_str(section)}",
                "      slug: research",
                "      aliases: [Research]",
                "  subtopics:",
                "    - name: NLP",
                "      slug: nlp",
                "",
            ]
        ),
        encoding="utf-8",
    )
    for n, p in enumerate(PAYLOADS):
        (issues / f"p{n:03d}.md").write_text(_native_issue(n, p), encoding="utf-8")
    for k in range(0, len(PAYLOADS), 6):
        group = list(PAYLOADS[k : k + 6])
        day = dt.date(2019, 1, 1) + dt.timedelta(days=k)
        (issues / f"legacy-{day.isoformat()}.md").write_text(
            _legacy_issue(k, group), encoding="utf-8"
        )
    for n, stem in enumerate(HOSTILE_FILE_STEMS):
        (issues / f"{stem}.md").write_text(
            "\n".join(
                [
                    "---",
                    f"date: 2018-01-{n + 1:02d}",
                    "---",
                    "## Research",
                    "---",
                    f"url: https://example.org/stem/{n}",
                    "title: a link",
                    "---",
                    "",
                ]
            ),
            encoding="utf-8",
        )
    return folder


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hostile content built under `<root>/ml/`, so `<root>` can be served as is."""
    tmp = tmp_path_factory.mktemp("hostile")
    content = write_hostile_content(tmp / "content")
    out = tmp / "root" / "ml"
    result = build(content, out)
    assert result.digest is not None and result.digest.issues, "the hostile site is empty"
    return out


def site_files(site: Path, *suffixes: str) -> Iterator[Path]:
    """Every output file with one of the suffixes, sorted."""
    for path in sorted(site.rglob("*")):
        if path.is_file() and path.suffix in suffixes:
            yield path


# -- HTML checks ---------------------------------------------------------------------------


def html_problems(root: lxml.html.HtmlElement, where: str, page: bool) -> list[str]:
    """Everything in a parsed HTML tree that hostile content could have put there.

    `page` is True for a site page (its own search script, search form and head links are
    allowed), False for HTML from a feed (none of those).
    """
    problems: list[str] = []
    for el in root.iter():
        if not isinstance(el.tag, str):  # comments, processing instructions
            if CANARY in (el.text or ""):
                problems.append(f"{where}: comment or PI carries the canary: {el.text!r}")
            continue
        tag = el.tag.lower().rpartition("}")[2]
        if tag in FORBIDDEN_TAGS:
            problems.append(f"{where}: forbidden element <{tag}>")
        if tag == "script" and not (
            page and el.get("src") == SEARCH_SCRIPT and not (el.text or "").strip()
        ):
            problems.append(f"{where}: script element {lxml.html.tostring(el)[:120]!r}")
        if tag == "form" and not (page and el.get("action") == BASE_PATH + "search/"):
            problems.append(f"{where}: form with action {el.get('action')!r}")
        if tag in FORM_CONTROLS and not (page and _in_site_form(el)):
            problems.append(f"{where}: form control <{tag}> outside the site's search form")
        if tag == "meta" and el.get("http-equiv") is not None:
            problems.append(f"{where}: <meta http-equiv={el.get('http-equiv')!r}>")
        if tag == "link" and not (page and set((el.get("rel") or "").split()) <= SITE_LINK_RELS):
            problems.append(f"{where}: <link rel={el.get('rel')!r}>")
        for name, value in el.attrib.items():
            name = name.lower().rpartition("}")[2] if name.startswith("{") else name.lower()
            if name.startswith("on"):
                problems.append(f"{where}: event handler {name}={value!r} on <{tag}>")
            elif name in ("srcdoc", "formaction"):
                problems.append(f"{where}: attribute {name} on <{tag}>")
            elif name == "style" and not re.fullmatch(
                r"text-align:\s*(left|right|center);?", value
            ):
                problems.append(f"{where}: style attribute {value!r} on <{tag}>")
            elif name in URL_ATTRS and browser_scheme(value) not in SAFE_SCHEMES:
                problems.append(f"{where}: {name}={value!r} on <{tag}>")
            elif name == "srcset":
                for candidate in value.split(","):
                    if browser_scheme(candidate.strip()) not in SAFE_SCHEMES:
                        problems.append(f"{where}: srcset {value!r}")
    for text in root.itertext():
        if _FORTY_NINE.search(text):
            problems.append(f"{where}: '49' in the text (was {{{{ 7*7 }}}} evaluated?): {text!r}")
    return problems


def _in_site_form(el: lxml.html.HtmlElement) -> bool:
    return any(
        a.tag == "form" and a.get("action") == BASE_PATH + "search/" for a in el.iterancestors()
    )


def parse_page(path: Path) -> lxml.html.HtmlElement:
    """A site page, parsed as HTML."""
    return lxml.html.document_fromstring(path.read_bytes())


def parse_fragment(text: str) -> lxml.html.HtmlElement:
    """An HTML fragment (feed content), parsed inside a wrapper <div>."""
    # lxml refuses the control characters HTML parsers drop; they carry no markup.
    text = re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f]", "", text or "")
    return lxml.html.fragment_fromstring(text, create_parent="div")


# -- unit level: the Markdown renderer and the readers --------------------------------------


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: p.name)
def test_markdown_never_emits_live_markup(payload: Payload) -> None:
    for html in (
        markup.render_block(payload.text, BASE_PATH),
        markup.render_inline(payload.text, BASE_PATH),
    ):
        assert html_problems(parse_fragment(html), payload.name, page=False) == []
        # Raw HTML is escaped, never passed through: no tag of the payload survives.
        assert "<script" not in html.lower()


@pytest.mark.parametrize(
    "html",
    [
        "<script>x()</script>",
        "<img src=x onerror=x()>",
        '<a href="jAvA&#x09;ScRiPt:x()">x</a>',
        '<a href=" &#106;avascript:x()">x</a>',
        "<iframe srcdoc=x></iframe>",
        '<p style="background:url(x)">x</p>',
        '<form action="https://evil.example/"><input></form>',
        '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
        "<svg><animate onbegin=x()></svg>",
        "<p>{{ 7*7 }} is 49</p>",
    ],
)
def test_the_checker_catches_live_markup(html: str) -> None:
    # A positive control: the checks used on the built site do find each of these.
    assert html_problems(parse_fragment(html), "control", page=False)


def test_raw_html_is_shown_as_text() -> None:
    html = markup.render_block("<b>bold</b> and <script>x()</script>")
    assert html == "<p>&lt;b&gt;bold&lt;/b&gt; and &lt;script&gt;x()&lt;/script&gt;</p>\n"


@pytest.mark.parametrize(
    "url",
    [
        "javascript:x()",
        "JAVASCRIPT:x()",
        "java\tscript:x()",
        "\x01javascript:x()",
        " javascript:x()",
        "vbscript:x",
        "data:text/html,x",
        "file:///etc/passwd",
    ],
)
def test_unsafe_url_schemes_are_refused(url: str) -> None:
    assert not markup.is_safe_url(url)


@pytest.mark.parametrize(
    "url", ["https://x.org/", "http://x.org", "mailto:a@b.c", "/a", "#x", "a/b", "//x.org/"]
)
def test_safe_urls_are_kept(url: str) -> None:
    assert markup.is_safe_url(url)


def _native_with_link(field_lines: list[str]) -> bytes:
    return "\n".join(
        ["---", "date: 2023-01-01", "---", "## Research", "---", *field_lines, "---", ""]
    ).encode()


@pytest.mark.parametrize("url", BAD_URLS, ids=repr)
def test_link_url_must_be_http_native(url: str) -> None:
    data = _native_with_link([f"url: {yaml_str(url)}", "title: t"])
    with pytest.raises(ContentErrors) as info:
        read_issue("x.md", data, SiteConfig())
    assert any("'url'" in d.message and d.line == 6 for d in info.value.diagnostics)


@pytest.mark.parametrize("url", [u for u in BAD_URLS if not re.search(r"[\s()<>]", u)], ids=repr)
def test_link_url_must_be_http_legacy(url: str) -> None:
    data = f"# T\n## Research\n* [Title (Dec 2022)]({url})\n".encode()
    with pytest.raises(ContentErrors) as info:
        read_issue("2023-01.md", data, SiteConfig())
    assert any("URL" in d.message and d.line == 3 for d in info.value.diagnostics)


@pytest.mark.parametrize("value", BAD_IDS, ids=repr)
def test_ids_that_are_not_slugs_are_refused(value: str) -> None:
    data = _native_with_link(["url: https://x.org/", "title: t", f"id: {yaml_str(value)}"])
    with pytest.raises(ContentErrors) as info:
        read_issue("x.md", data, SiteConfig())
    assert any("'id'" in d.message for d in info.value.diagnostics)


@pytest.mark.parametrize("payload", [p for p in PAYLOADS if p.inline], ids=lambda p: p.name)
def test_default_ids_from_hostile_titles_are_slugs(payload: Payload) -> None:
    data = _native_with_link(["url: https://x.org/", f"title: {yaml_str(payload.text)}"])
    issue = read_issue("x.md", data, SiteConfig()).issue
    link_id = issue.sections[0].links[0].id
    assert re.fullmatch(r"[\w-]+", link_id) and "_" not in link_id, link_id


# -- the hostile site, parsed ----------------------------------------------------------------


def test_every_page_is_free_of_live_markup(hostile_site: Path) -> None:
    pages = list(site_files(hostile_site, ".html"))
    assert len(pages) > len(PAYLOADS) * 3
    problems = [
        problem
        for page in pages
        for problem in html_problems(
            parse_page(page), page.relative_to(hostile_site).as_posix(), page=True
        )
    ]
    assert problems == []


def test_no_template_expression_is_evaluated(hostile_site: Path) -> None:
    for path in sorted(hostile_site.rglob("*")):
        if path.is_file():
            data = path.read_bytes().decode("utf-8", "replace")
            for marker in EVALUATED:
                assert marker not in data, f"{path}: {marker!r}"
    # The Jinja-looking text is shown as written.
    texts = {
        p.name: _texts(parse_page(hostile_site / f"issues/p{n:03d}/index.html"))
        for n, p in enumerate(PAYLOADS)
    }
    for name in ("jinja-math", "jinja-config", "jinja-raw", "jinja-for", "jinja-comment"):
        payload = next(p for p in PAYLOADS if p.name == name)
        assert payload.text in texts[name], name


def _texts(tree: lxml.html.HtmlElement) -> set[str]:
    """The full text of every element of a tree."""
    return {el.text_content().strip() for el in tree.iter() if isinstance(el.tag, str)}


@pytest.mark.parametrize("index", range(len(PAYLOADS)), ids=lambda i: PAYLOADS[i].name)
def test_plain_fields_stay_text(hostile_site: Path, index: int) -> None:
    payload = PAYLOADS[index]
    tree = parse_page(hostile_site / f"issues/p{index:03d}/index.html")
    texts = _texts(tree)
    expected = _as_parsed(payload.text.strip())
    if payload.inline:
        # title, summary and the source and tag of its link are plain text.
        assert expected in texts, "issue title / source"
        assert "#" + expected in texts or expected in texts, "tag"
        title = tree.find(".//title")
        assert title is not None and expected in title.text_content()
    attributes = [v for el in tree.iter() if isinstance(el.tag, str) for v in el.attrib.values()]
    assert any(expected in v for v in attributes) or not payload.inline, "text in attributes"


def _as_parsed(text: str) -> str:
    """Text as an HTML parser gives it back: CR and NUL are normalised by the parser."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _feed_html_problems(tree: lxml.etree._ElementTree, where: str) -> list[str]:
    problems: list[str] = []
    if tree.docinfo.internalDTD is not None or tree.docinfo.doctype:
        problems.append(f"{where}: a DOCTYPE in a feed")
    for el in tree.iter():
        if not isinstance(el.tag, str):
            continue
        local = lxml.etree.QName(el).localname
        for name in ("href", "src", "url", "xmlUrl", "htmlUrl"):
            value = el.get(name)
            if value is not None and browser_scheme(value) not in ("http", "https"):
                problems.append(f"{where}: <{local} {name}={value!r}>")
        if local in ("link", "guid", "loc", "comments") and el.get("href") is None:
            text = (el.text or "").strip()
            if browser_scheme(text) not in ("http", "https"):
                problems.append(f"{where}: <{local}>{text!r}")
        kind = el.get("type")
        # RSS does not say whether a title or category is text or HTML, and some
        # readers show it as HTML: it must be inert read either way.
        rss_text = tree.getroot().tag == "rss" and local in ("title", "category")
        if (
            local in ("description", "encoded")
            or (local in ("content", "summary", "subtitle", "title", "rights") and kind == "html")
            or rss_text
        ):
            fragment = parse_fragment(el.text or "")
            problems += html_problems(fragment, f"{where} <{local}>", page=False)
        elif kind == "xhtml":
            inner = "".join(lxml.etree.tostring(child, encoding="unicode") for child in el)
            problems += html_problems(parse_fragment(inner), f"{where} <{local}>", page=False)
        for text in (el.text, el.tail):
            if text and any(marker in text for marker in EVALUATED):
                problems.append(f"{where}: evaluated template text in <{local}>")
    return problems


def test_feeds_and_xml_are_well_formed_and_inert(hostile_site: Path) -> None:
    files = list(site_files(hostile_site, ".xml", ".opml"))
    names = {p.relative_to(hostile_site).as_posix() for p in files}
    assert {"sitemap.xml", "feed.xml", "atom.xml", "links.xml"} <= names
    parser = lxml.etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    problems: list[str] = []
    for path in files:
        tree = lxml.etree.parse(str(path), parser)
        problems += _feed_html_problems(tree, path.relative_to(hostile_site).as_posix())
    assert problems == []


def test_sitemap_lists_only_site_urls(hostile_site: Path) -> None:
    tree = lxml.etree.parse(str(hostile_site / "sitemap.xml"))
    locs = [el.text or "" for el in tree.iter("{*}loc")]
    assert locs and all(loc.startswith(BASE_URL) for loc in locs)
    assert not any(re.search(r"[\s<>\"']", loc) for loc in locs)


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _strict_json(data: bytes) -> object:
    def refuse(name: str) -> object:
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(data.decode("utf-8"), parse_constant=refuse)


def test_json_outputs_are_valid_and_inert(hostile_site: Path) -> None:
    files = list(site_files(hostile_site, ".json"))
    names = {p.relative_to(hostile_site).as_posix() for p in files}
    assert "feed.json" in names and any(n.startswith("search/") for n in names)
    for path in files:
        data = _strict_json(path.read_bytes())
        for text in _strings(data):
            assert not any(marker in text for marker in EVALUATED), path
    feed = _strict_json((hostile_site / "feed.json").read_bytes())
    assert isinstance(feed, dict)
    problems: list[str] = []
    for key in ("home_page_url", "feed_url", "icon", "favicon"):
        if key in feed and browser_scheme(feed[key]) not in ("http", "https"):
            problems.append(f"feed.json {key}={feed[key]!r}")
    for item in feed["items"]:
        for key in ("url", "external_url", "image"):
            if key in item and browser_scheme(item[key]) not in ("http", "https"):
                problems.append(f"feed.json item {key}={item[key]!r}")
        problems += html_problems(
            parse_fragment(item.get("content_html", "")), f"feed.json {item['id']}", page=False
        )
    assert problems == []


def test_search_data_keeps_payloads_as_text(hostile_site: Path) -> None:
    strings: set[str] = set()
    for path in site_files(hostile_site / "search", ".json"):
        strings.update(_strings(_strict_json(path.read_bytes())))
    script = next(p for p in PAYLOADS if p.name == "script")
    # Text as written (the browser inserts it with textContent), not HTML-escaped twice.
    assert any(script.text in s for s in strings)
    assert not any("&amp;" in s for s in strings)


def test_site_config_values_are_escaped(hostile_site: Path) -> None:
    tree = parse_page(hostile_site / "index.html")
    title = tree.find(".//title")
    assert title is not None and f"ML <script>{CANARY}()</script>" in title.text_content()
    assert html_problems(tree, "index.html", page=True) == []


def test_a_base_url_with_quotes_and_ampersands_stays_inside_attributes(tmp_path: Path) -> None:
    # site.yaml's base_url reaches every page's links: those made in Python (cards, tag
    # and source links) must be escaped like those made in templates.
    from .conftest import copy_content

    content = copy_content(tmp_path / "content")
    out = tmp_path / "out"
    build(content, out, base_url='https://e.org/a"b&c<d/', use_cache=False)
    pages = sorted(out.rglob("*.html"))
    assert len(pages) > 20
    for page in pages:
        tree = parse_page(page)
        site_links = [a.get("href") for a in tree.iter("a") if a.get("href", "").startswith("/")]
        assert site_links, page
        assert all(href.startswith('/a"b&c<d/') for href in site_links), page


def test_hostile_file_names_stay_inside_attributes(hostile_site: Path) -> None:
    archive = parse_page(hostile_site / "archive/index.html")
    hrefs = {a.get("href") for a in archive.iter("a")}
    for stem in HOSTILE_FILE_STEMS:
        assert (hostile_site / "issues" / stem / "index.html").is_file()
        assert any(stem in (h or "") or _quoted(stem) in (h or "") for h in hrefs), stem


def _quoted(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="/")


# -- the hostile site in a real browser -------------------------------------------------------

BROWSER_ARGS = [
    *CHROMIUM_ARGS,
    # No request ever leaves the machine: hostile content links to other hosts.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]

PROBE_JS = """
() => {
  const safe = new Set(['http:', 'https:', 'mailto:']);
  const bad = [];
  for (const el of document.querySelectorAll('*')) {
    for (const type of ['mouseover', 'mouseenter', 'focus', 'focusin', 'animationstart']) {
      el.dispatchEvent(new Event(type));
    }
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      if (name.startsWith('on')) bad.push(`${el.tagName} ${name}=${attr.value}`);
      if (['href', 'src', 'action', 'formaction', 'xlink:href', 'data', 'poster'].includes(name)) {
        let protocol;
        try { protocol = new URL(attr.value, document.baseURI).protocol; }
        catch (e) { protocol = 'invalid:'; }
        if (!safe.has(protocol)) bad.push(`${el.tagName} ${name}=${attr.value} (${protocol})`);
      }
    }
  }
  for (const el of document.querySelectorAll('iframe,object,embed,style,base,svg,math,frame')) {
    bad.push(`element ${el.tagName}`);
  }
  for (const el of document.scripts) {
    if (!el.src.endsWith('/static/search.js')) bad.push(`script ${el.outerHTML.slice(0, 80)}`);
  }
  for (const el of document.querySelectorAll('a[href], input, button')) {
    el.focus({preventScroll: true});
  }
  return {bad, hits: window.__hits || 0};
}
"""

TRAP_JS = f"""
window.{CANARY} = function () {{ window.__hits = (window.__hits || 0) + 1; }};
"""

DRIVER = """
import asyncio, functools, json, sys, threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from playwright.async_api import async_playwright

job = json.load(sys.stdin)

class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=job["root"]))
threading.Thread(target=server.serve_forever, daemon=True).start()
origin = f"http://127.0.0.1:{server.server_address[1]}"

async def main():
    report = {"loaded": 0, "dialogs": [], "hits": [], "bad": [], "failed": []}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=job["args"])
        context = await browser.new_context()
        await context.add_init_script(job["trap"])
        queue = [(u, None) for u in job["pages"]] + [(u, q) for u, q in job["typed"]]

        async def worker():
            page = await context.new_page()
            page.on("dialog", lambda d, page=page: (
                report["dialogs"].append(f"{page.url}: {d.message}"),
                asyncio.ensure_future(d.dismiss())))
            while queue:
                path, typed = queue.pop()
                try:
                    await page.goto(origin + path, wait_until="load")
                    if "/search/" in path:
                        await page.wait_for_timeout(job["settle_ms"])
                    if typed is not None:
                        await page.fill("#search-q", typed)
                        await page.keyboard.press("Enter")
                        await page.wait_for_load_state("load")
                        await page.wait_for_timeout(job["settle_ms"])
                    result = await page.evaluate(job["probe"])
                except Exception as exc:
                    report["failed"].append(f"{path}: {exc}")
                    continue
                report["loaded"] += 1
                if result["hits"]:
                    report["hits"].append(path)
                report["bad"] += [f"{path}: {b}" for b in result["bad"]]

        await asyncio.gather(*[worker() for _ in range(job["tabs"])])
        await browser.close()
    print(json.dumps(report))

asyncio.run(main())
server.shutdown()
"""


def test_hostile_site_in_a_real_browser(hostile_site: Path) -> None:
    from urllib.parse import quote

    root = hostile_site.parent
    # A positive control outside the site: proves the canary, the dialog listener and the
    # DOM probe do catch live markup.
    (root / "control").mkdir(exist_ok=True)
    (root / "control" / "index.html").write_text(
        f'<!doctype html><title>c</title><img src="x" onerror="{CANARY}()">'
        '<script>alert("control")</script><a href="javascript:void 0">x</a>'
    )
    pages = ["/control/"] + [
        BASE_PATH + quote(p.relative_to(hostile_site).as_posix().removesuffix("index.html"))
        for p in site_files(hostile_site, ".html")
    ]
    queries = [p.text for p in PAYLOADS] + ["pwned", "script", "강화학습", "onerror"]
    pages += [BASE_PATH + "search/?q=" + quote(q, safe="") for q in queries]
    typed = [(BASE_PATH + "search/", q) for q in queries[::6]]
    job = {
        "root": str(root),
        "args": BROWSER_ARGS,
        "trap": TRAP_JS,
        "probe": PROBE_JS,
        "pages": pages,
        "typed": typed,
        "tabs": 4,
        "settle_ms": 150,
    }
    result = subprocess.run(
        [sys.executable, "-c", DRIVER],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["failed"] == []
    assert report["loaded"] == len(pages) + len(typed)
    control = [b for b in report["bad"] if b.startswith("/control/")]
    assert report["hits"] == ["/control/"] and len(control) == 3, report  # the harness works
    assert [d for d in report["dialogs"] if not d.endswith("/control/: control")] == []
    assert len(report["dialogs"]) == 1
    assert [b for b in report["bad"] if not b.startswith("/control/")] == []


# -- the dev server: only the output folder, under load -----------------------------------------

SECRET = "SECRET-TOKEN-0xC0FFEE"


class DevServer:
    """`python -m digest serve --port 0` on a copy of the sample content, as a user runs it."""

    def __init__(self, tmp: Path) -> None:
        import shutil
        import threading

        self.tmp = tmp
        shutil.copytree(ROOT / "content", tmp / "content")
        (tmp / "secret.txt").write_text(SECRET)
        (tmp / "private").mkdir()
        (tmp / "private" / "index.html").write_text(SECRET)
        self.out = tmp / "out"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "digest", "serve", "--port", "0", "--out", str(self.out)],
            cwd=tmp,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)},
        )
        self.url = ""
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        assert self.ready.wait(60), "digest serve did not start"
        assert self.url, "digest serve printed no URL"
        match = re.match(r"http://127\.0\.0\.1:(\d+)(/.*)$", self.url)
        assert match, self.url
        self.port, self.base = int(match[1]), match[2]

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            match = re.match(r"serving (http://\S+)", line)
            if match:
                self.url = match[1]
                self.ready.set()
        self.ready.set()

    def raw(self, target: str, timeout: float = 30) -> tuple[int, dict[str, str], bytes]:
        """Send `GET target` exactly as given (no client-side normalisation)."""
        import socket

        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
            request = f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
            sock.sendall(request.encode("latin-1"))
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body

    def stop(self) -> None:
        import signal

        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    """A running dev server with symlinks planted in its output folder."""
    server = DevServer(tmp_path_factory.mktemp("serve"))
    (server.out / "leak.txt").symlink_to(server.tmp / "secret.txt")
    (server.out / "leak").symlink_to(server.tmp / "private", target_is_directory=True)
    (server.out / "passwd").symlink_to("/etc/passwd")
    yield server
    server.stop()


TRAVERSALS = [
    "{base}../secret.txt",
    "{base}../../../../../../etc/passwd",
    "{base}%2e%2e/secret.txt",
    "{base}%2E%2E/%2E%2E/%2E%2E/%2E%2E/etc/passwd",
    "{base}..%2fsecret.txt",
    "{base}..%2Fsecret.txt",
    "{base}%2e%2e%2fsecret.txt",
    "{base}%2e%2e%5csecret.txt",
    "{base}..\\secret.txt",
    "{base}.%2e/secret.txt",
    "{base}static/%2e%2e/%2e%2e/secret.txt",
    "{base}%c0%ae%c0%ae/secret.txt",
    "{base}%252e%252e/secret.txt",
    "{base}/../secret.txt",
    "{base}%2f..%2fsecret.txt",
    "{base}/%2e%2e/secret.txt",
    "{base}leak.txt",
    "{base}leak/",
    "{base}leak/index.html",
    "{base}passwd",
    "{base}.digest-site",
    "{base}%00../secret.txt",
    "/../secret.txt",
    "/%2e%2e/secret.txt",
    "//etc/passwd",
    "{base}/etc/passwd",
    "{base}//etc/passwd",
    "http://127.0.0.1{base}../secret.txt",
    "http://evil.example/../secret.txt",
]


@pytest.mark.parametrize("template", TRAVERSALS)
def test_dev_server_never_serves_outside_the_output(dev_server: DevServer, template: str) -> None:
    status, _, body = dev_server.raw(template.format(base=dev_server.base))
    assert status in (301, 302, 400, 403, 404), status
    assert SECRET.encode() not in body and b"root:x:0:0" not in body


def test_dev_server_content_types(dev_server: DevServer) -> None:
    expected = {
        "": "text/html; charset=utf-8",
        "static/style.css": "text/css; charset=utf-8",
        "static/search.js": "text/javascript; charset=utf-8",
        "feed.xml": "application/xml; charset=utf-8",
        "sitemap.xml": "application/xml; charset=utf-8",
        "feed.json": "application/json; charset=utf-8",
        "favicon.ico": "image/x-icon",
        "static/favicon.svg": "image/svg+xml",
        "robots.txt": "text/plain; charset=utf-8",
    }
    for path, ctype in expected.items():
        status, headers, _ = dev_server.raw(dev_server.base + path)
        assert (status, headers.get("content-type")) == (200, ctype), path
        assert headers.get("x-content-type-options") == "nosniff", path


def test_dev_server_survives_a_burst_and_idle_connections(dev_server: DevServer) -> None:
    import socket
    from concurrent.futures import ThreadPoolExecutor

    paths = ["", "issues/2022-12/", "feed.xml", "static/style.css", "search/", "nope/"]
    expected = {p: dev_server.raw(dev_server.base + p) for p in paths}
    # A few clients that connect and never send a request must not starve the others.
    idle = [socket.create_connection(("127.0.0.1", dev_server.port)) for _ in range(8)]
    try:

        def fetch(n: int) -> tuple[str, int, bytes]:
            path = paths[n % len(paths)]
            status, _, body = dev_server.raw(dev_server.base + path)
            return path, status, body

        with ThreadPoolExecutor(max_workers=32) as pool:
            results = list(pool.map(fetch, range(300)))
    finally:
        for sock in idle:
            sock.close()
    assert len(results) == 300
    for path, status, body in results:
        assert status == expected[path][0] and len(body) == len(expected[path][2]), path
    assert dev_server.raw(dev_server.base)[0] == 200
    assert dev_server.proc.poll() is None


# -- files planted next to the content --------------------------------------------------------


class _Mkdir:
    """Unpickling this runs os.mkdir(path): what a planted pickle could do, harmlessly."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.mkdir, (self.path,))


def test_planted_build_cache_files_never_run_code(tmp_path: Path) -> None:
    # The build cache lives beside the content folder, where a pull request can add files
    # (`git add -f` beats .gitignore). Whatever is there must be data, never code.
    import pickle
    import shutil

    from .conftest import run_digest

    repo = tmp_path / "repo"
    content = repo / "content"
    shutil.copytree(ROOT / "content", content)
    out = repo / "_site"
    before = set(repo.rglob("*"))
    assert run_digest("build", "--content", str(content), "--out", str(out)).returncode == 0
    written = [
        p for p in repo.rglob("*") if p.is_file() and p not in before and not p.is_relative_to(out)
    ]
    flag = tmp_path / "code-ran"
    planted = pickle.dumps(_Mkdir(str(flag)), protocol=pickle.HIGHEST_PROTOCOL)
    for path in written:  # everything the build kept beside the content: the cache
        path.write_bytes(planted)
    issue = content / "issues" / "2022-12.md"
    issue.write_text(issue.read_text(encoding="utf-8") + "\nmore\n", encoding="utf-8")
    result = run_digest("build", "--content", str(content), "--out", str(out))
    assert not flag.exists(), f"a planted file ran code: {[str(p) for p in written]}"
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("slug", ["../../outside", "a/../../b", "..", ".", "x?y#z"])
def test_taxonomy_slugs_in_site_yaml_must_be_slugs(tmp_path: Path, slug: str) -> None:
    # Slugs become output folders and URLs: a bad one is a content error in site.yaml,
    # never a file written elsewhere nor a broken URL.
    import shutil

    from .conftest import run_digest

    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    site_yaml = content / "site.yaml"
    text = site_yaml.read_text(encoding="utf-8").replace("slug: research", f"slug: {slug!r}")
    site_yaml.write_text(text, encoding="utf-8")
    result = run_digest("build", "--content", str(content), "--out", str(tmp_path / "out"))
    assert result.returncode == 1, result.stderr
    assert re.search(r"site\.yaml:\d+:\d+: error: .*slug", result.stderr), result.stderr
    assert not (tmp_path / "outside").exists() and not (tmp_path / "out").exists()


# -- values that reach outputs without the pages' escaping --------------------------------


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("base_url", 'https://x"onmouseover="alert(1)"y/', "'base_url' must be an http(s) URL"),
        ("base_url", "https://example.org/a b/", "'base_url' must be an http(s) URL"),
        ("base_url", "https://example.org/ml/?q=1", "'base_url' must be an http(s) URL"),
        ("language", "ko\x01", "'language' must be a language tag"),
        ("language", 'ko" onload="x', "'language' must be a language tag"),
        ("title_pattern", "{year.__class__.__mro__}", "is not {year}, {month} or {day}"),
        ("title_pattern", "{year:{month.real}}", "is not {year}, {month} or {day}"),
    ],
)
def test_site_yaml_values_that_outputs_carry_raw_are_checked(
    key: str, value: str, message: str
) -> None:
    # base_url's origin goes into feeds' HTML as is, language into feeds' XML (where a
    # control character stopped the build with a traceback), and a title pattern is
    # filled in by Python, which would look up `{year.__class__}`.
    from digest.config import parse_config

    text = f"title: T\n{key}: {json.dumps(value)}\n"
    with pytest.raises(ContentErrors) as caught:
        parse_config("site.yaml", text)
    [problem] = caught.value.diagnostics
    at_value = (2, len(f"{key}: ") + 1)
    assert (problem.line, problem.col) == at_value and message in problem.message, problem


@pytest.mark.parametrize(
    "value",
    [
        "https://example.org/",
        "http://127.0.0.1:8000/ml/",
        "https://[::1]:8080/x/",
        "https://example.org/한국어/",
        "https://example.org/%ED%95%9C/",
    ],
)
def test_ordinary_base_urls_are_accepted(value: str) -> None:
    from digest.config import parse_config

    assert parse_config("site.yaml", f"base_url: {value}\n").base_url.startswith(value)


def test_a_hostile_base_url_flag_is_a_usage_error(tmp_path: Path) -> None:
    from .conftest import run_digest

    out = tmp_path / "out"
    args = ("build", "--out", str(out), "--base-url", 'https://x"onmouseover="alert(1)/')
    result = run_digest(*args)
    assert result.returncode == 2 and "--base-url" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and not out.exists()


def test_the_feeds_escape_the_origin_they_put_in_html(tmp_path: Path) -> None:
    # The build API takes any base_url (the CLI and site.yaml check it): the origin
    # that feeds put before site-rooted links must stay inside its attribute.
    from .conftest import copy_content

    content = copy_content(tmp_path / "content")
    issue = content / "issues" / "2022-12.md"
    issue.write_text(
        issue.read_text(encoding="utf-8") + "\n[the archive](/archive/)\n", encoding="utf-8"
    )
    out = tmp_path / "out"
    build(content, out, base_url='https://x"onmouseover="__pwned()"y/', use_cache=False)
    feed = json.loads((out / "feed.json").read_text(encoding="utf-8"))
    fragment = parse_fragment(feed["items"][0]["content_html"])
    hrefs = [a.get("href") for a in fragment.iter("a")]
    assert 'https://x"onmouseover="__pwned()"y/archive/' in hrefs
    assert not [el for el in fragment.iter() if el.get("onmouseover") is not None]


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/a\x01b",
        "https://example.org/\x1b[31m",
        "https://example.org/a\x7f",
        "https://example.org/\ufffe",
    ],
)
def test_a_control_character_in_a_link_url_is_a_content_error(tmp_path: Path, url: str) -> None:
    # It used to pass the URL check and stop the build in the feeds (lxml refuses it),
    # with a traceback.
    from .conftest import copy_content

    content = copy_content(tmp_path / "content")
    issue = content / "issues" / "2022-12.md"
    text = issue.read_text(encoding="utf-8")
    first = re.search(r"^url: .*$", text, re.M)
    assert first is not None
    issue.write_text(text.replace(first[0], f"url: {json.dumps(url)}", 1), encoding="utf-8")
    line = text[: first.start()].count("\n") + 1
    with pytest.raises(ContentErrors) as caught:
        build(content, tmp_path / "out", use_cache=False)
    [problem] = [d for d in caught.value.diagnostics if d.severity == "error"]
    assert problem.line == line and "'url' must be an absolute http" in problem.message
    # Shown with the control character as a symbol: it cannot restyle a terminal.
    assert not re.search("[\x00-\x08\x0a-\x1f\x7f-\x9f]", problem.format().replace("\n", ""))


def test_issue_file_names_with_a_hash_are_refused_and_others_are_quoted(tmp_path: Path) -> None:
    # `#` in an issue's URL would start its anchor: every link to it would break. `%`
    # and `?` are percent-encoded, in pages and in the search index alike (a raw
    # `%2e%2e` in a search result's URL is `..` to a browser).
    from .conftest import copy_content

    content = copy_content(tmp_path / "content")
    issues = content / "issues"
    sample = (issues / "2022-12.md").read_text(encoding="utf-8")
    (issues / "c#-tips.md").write_text(sample.replace("2022-12-29", "2021-01-01"), "utf-8")
    with pytest.raises(ContentErrors) as caught:
        build(content, tmp_path / "out", use_cache=False)
    [problem] = caught.value.diagnostics
    assert problem.path.endswith("c#-tips.md") and "'#'" in problem.message, problem
    (issues / "c#-tips.md").rename(issues / "%2e%2e?x.md")
    out = tmp_path / "out"
    build(content, out, use_cache=False)
    assert (out / "issues" / "%2e%2e?x" / "index.html").is_file()
    archive = (out / "archive" / "index.html").read_text(encoding="utf-8")
    assert "/issues/%252e%252e%3Fx/" in archive
    rows = "".join(p.read_text(encoding="utf-8") for p in (out / "search").rglob("*.json"))
    assert '"issues/%252e%252e%3Fx/#' in rows and "issues/%2e%2e?x/" not in rows


def test_an_issue_file_name_that_is_not_utf8_is_a_located_error(tmp_path: Path) -> None:
    # It stopped the build in a shipped template, with an encoding error that named
    # neither the file nor the fix.
    from .conftest import copy_content

    content = copy_content(tmp_path / "content")
    issues = content / "issues"
    name = os.fsdecode(b"2021-\xff.md")
    (issues / name).write_bytes((issues / "2022-12.md").read_bytes())
    with pytest.raises(ContentErrors) as caught:
        build(content, tmp_path / "out", use_cache=False)
    [problem] = caught.value.diagnostics
    assert problem.path.endswith("2021-\\xff.md"), problem
    assert "not valid UTF-8" in problem.message and "rename" in problem.hint
    problem.format().encode("utf-8")  # printable: no lone surrogate left in it
