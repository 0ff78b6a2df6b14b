"""The reader's pages, read from the built HTML: meta, link cards, groups, pagination, slugs.

`build_rich_site` makes a site with more in it than the sample: four issues
(native and legacy, one a draft), a small `per_page` so groups paginate, tags
spelled two ways, Korean tags, sources and section names with spaces, a tag
with no slug, images and cross-issue links. test_site_links and test_html
check the same site.
"""

from __future__ import annotations

import re
import shutil
import unicodedata
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import pytest
from lxml import html as lxml_html
from lxml.html import HtmlElement

from digest.groups import page_window
from digest.site import build

from .conftest import ROOT, SEED

BASE = "https://example.org/ml/"

ISSUE_2022_11 = """\
---
title: 2022년 11월 ML 읽을거리
date: 2022-11-28
summary: 검색과 추천, 그리고 LLM
---
이번 호는 [지난 12월호](issues/2022-12/)보다 먼저 나왔습니다.

![구성도](images/diagram.svg)

## Research
### NLP

---
url: https://example.org/llm-survey
title: A Survey of Large Language Models
published: 2022-11-03
source: Example Lab
tags: [LLM, survey]
---
대규모 언어 모델 **서베이**: 사전학습, 미세조정, 평가

---
url: https://example.org/korean-lm
title: 한국어 언어 모델 평가 방법
published: 2022-11
source: 네이버 클로바
tags: [llm, 강화 학습, "++"]
---
- 평가 데이터셋
  - 벤치마크별 점수
- 사람 평가

### RecSys

---
url: https://example.org/recsys
title: 추천시스템에서의 [딥러닝](https://example.org/dl)
source: 네이버 클로바
tags: [llm, 추천시스템]
---
딥러닝 기반 추천 모델 소개.
자세한 내용은 [같은 호의 서베이](#a-survey-of-large-language-models) 참고.

## 인터뷰

---
url: https://example.org/interview
title: 엔지니어 인터뷰
---

## Business Cases

---
url: https://example.org/case
title: LLM in production at Example Corp
published: 2022-11
source: Example Corp
tags: [llm]
---
"""

ISSUE_2022_10 = """\
---
date: 2022-10-31
---
## Research
### CV

---
url: https://example.org/vit
title: Vision Transformers, explained
published: 2022-10
source: Example Lab
tags: [vit, llm]
---

### NLP

---
url: https://example.org/scaling
title: Scaling Laws, revisited
published: 2022-09
tags: [LLM]
---

---
url: https://example.org/main
title: Main
id: sec-research
---
A link whose id looks like the page's own anchors: they must not clash.
"""

DRAFT = """\
---
title: 초안 SECRET-DRAFT-ISSUE
date: 2023-02-01
draft: true
---
## Research
### NLP

---
url: https://example.org/secret
title: SECRET-DRAFT-LINK
tags: [secret-draft-tag]
---
"""

DIAGRAM = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">'
    '<rect width="10" height="10" fill="#888"/></svg>'
)


def make_rich_content(dest: Path, **site_overrides: str) -> Path:
    """A content folder: the sample issue, two more, the legacy seed, a draft, an image."""
    shutil.copytree(ROOT / "content", dest)
    site_yaml = (dest / "site.yaml").read_text()
    site_yaml = site_yaml.replace("per_page: 50", "per_page: 3").replace(
        "recent_issues: 12", "recent_issues: 2"
    )
    for key, value in site_overrides.items():
        site_yaml = re.sub(rf"(?m)^{key}: .*$", f"{key}: {value}", site_yaml)
    (dest / "site.yaml").write_text(site_yaml)
    issues = dest / "issues"
    (issues / "2022-11.md").write_text(ISSUE_2022_11)
    (issues / "2022-10.md").write_text(ISSUE_2022_10)
    (issues / "2023-02.md").write_text(DRAFT)
    # The legacy seed, dated by its file name; a tag written in NFD (as macOS saves it).
    shutil.copy(SEED, issues / "legacy-2021-06.md")
    nfd = unicodedata.normalize("NFD", "강화학습")
    sample = (issues / "2022-12.md").read_text()
    (issues / "2022-12.md").write_text(
        sample.replace("tags: [강화학습, game]", f"tags: [{nfd}, game]")
    )
    (dest / "images").mkdir(exist_ok=True)
    (dest / "images" / "diagram.svg").write_text(DIAGRAM)
    return dest


def build_rich_site(tmp: Path, base_url: str = BASE, **site_overrides: str) -> Path:
    """Build the rich content into `tmp/_site` and return the output folder."""
    content = make_rich_content(tmp / "content", **site_overrides)
    out = tmp / "_site"
    build(content, out, base_url=base_url)
    return out


@pytest.fixture(scope="module")
def rich(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The rich site, built once for this module."""
    return build_rich_site(tmp_path_factory.mktemp("rich"))


def page(out: Path, path: str) -> HtmlElement:
    """Parse the page at a site path (`tags/강화학습/`)."""
    file = out / (path + "index.html" if path == "" or path.endswith("/") else path)
    return lxml_html.fromstring(file.read_bytes())


def site_path(href: str) -> str:
    """`/ml/tags/%EA%B0%95/` -> `tags/강/`."""
    path = unquote(urlsplit(href).path)
    assert path.startswith("/ml/"), href
    return path[len("/ml/") :]


_SIMPLE = re.compile(
    r"(?P<tag>[a-z][a-z0-9]*|\*)?"
    r"(?P<rest>(?:[.#][\w-]+|\[[\w:-]+(?:=(?:'[^']*'|\"[^\"]*\"|[^\]]*))?\])*)"
)
_PART = re.compile(r"([.#])([\w-]+)|\[([\w:-]+)(?:=('[^']*'|\"[^\"]*\"|[^\]]*))?\]")


def _xpath_step(simple: str) -> str:
    """One compound selector (`a.permalink[rel=prev]`) as an XPath step."""
    match = _SIMPLE.fullmatch(simple)
    assert match, f"unsupported selector: {simple!r}"
    preds = []
    for dot_or_hash, name, attr, value in _PART.findall(match["rest"]):
        if dot_or_hash == ".":
            preds.append(f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')")
        elif dot_or_hash == "#":
            preds.append(f"@id='{name}'")
        elif value:
            preds.append(f"@{attr}='{value.strip(chr(39) + chr(34))}'")
        else:
            preds.append(f"@{attr}")
    return (match["tag"] or "*") + "".join(f"[{p}]" for p in preds)


def select(node: HtmlElement, css: str) -> list[HtmlElement]:
    """The elements under `node` matching a small CSS subset (descendant, `>`, `,`).

    lxml's own `cssselect` needs the cssselect package, which this project does
    not depend on; these tests use only tags, classes, ids and attributes.
    """
    found: list[HtmlElement] = []
    for group in css.split(","):
        xpath, child = ".", False
        for token in group.replace(">", " > ").split():
            if token == ">":
                child = True
                continue
            xpath += ("/" if child else "//") + _xpath_step(token)
            child = False
        found += [el for el in node.xpath(xpath) if el not in found]
    return found


def texts(nodes: list[HtmlElement]) -> list[str]:
    """Whitespace-normalised text of each node."""
    return [" ".join(n.text_content().split()) for n in nodes]


def html_pages(out: Path) -> list[str]:
    """Site paths of every HTML page."""
    return sorted(
        p.relative_to(out).as_posix().removesuffix("index.html") for p in out.rglob("*.html")
    )


# -- every page --------------------------------------------------------------------------


def test_every_page_has_the_meta_a_reader_and_a_crawler_need(rich: Path) -> None:
    pages = html_pages(rich)
    assert len(pages) > 40
    for path in pages:
        doc = page(rich, path)

        def meta(selector: str, path: str = path, doc: HtmlElement = doc) -> str:
            found = select(doc, selector)
            assert len(found) == 1, (path, selector)
            return str(found[0].get("content") or found[0].get("href"))

        assert doc.get("lang") == "ko", path
        assert select(doc, "meta[charset]") and select(doc, "meta[name=viewport]")
        assert doc.findtext(".//title").endswith("ML 읽을거리"), path
        canonical = meta("link[rel=canonical]")
        assert canonical == BASE + quote(path), path
        assert meta("meta[property='og:url']") == canonical
        assert meta("meta[name=description]"), path
        assert meta("meta[property='og:description']") == meta("meta[name=description]")
        assert meta("meta[property='og:title']") and meta("meta[name='twitter:title']")
        assert meta("meta[property='og:site_name']") == "ML 읽을거리"
        assert meta("meta[property='og:locale']") == "ko_KR"
        assert meta("meta[name='twitter:card']") == "summary"
        assert meta("meta[property='og:type']") == (
            "article" if path.startswith("issues/") else "website"
        )
        assert [link.get("href") for link in select(doc, "link[rel=icon]")] == [
            "/ml/favicon.ico",
            "/ml/static/favicon.svg",
        ]
        feeds = {link.get("href") for link in select(doc, "link[rel=alternate]")}
        assert {"/ml/feed.xml", "/ml/atom.xml", "/ml/feed.json", "/ml/links.xml"} <= feeds
        # Skip link first, to the main landmark; one h1; a search box.
        body = doc.find("body")
        first = body[0]
        assert first.tag == "a" and first.get("href") == "#main_content", path
        assert len(select(doc, "main#main_content")) == 1
        assert len(select(doc, "h1")) == 1, path
        assert select(doc, "form[role=search] input[name=q]")
        # No third-party resources: every script, stylesheet and image is on the site.
        for el in select(doc, "script[src], link[rel=stylesheet], img[src]"):
            url = el.get("src") or el.get("href")
            assert url.startswith("/ml/"), (path, url)


def test_topic_and_tag_pages_announce_their_own_feed(rich: Path) -> None:
    for path in ("topics/nlp/", "tags/llm/", "tags/llm/page/2/"):
        group = path.split("page/")[0]
        hrefs = [a.get("href") for a in select(page(rich, path), "link[rel=alternate]")]
        assert f"/ml/{quote(group)}feed.xml" in hrefs
    sources = [a.get("href") for a in select(page(rich, "sources/google/"), "link[rel=alternate]")]
    assert len(sources) == 4


def test_issue_pages_carry_their_date_for_opengraph(rich: Path) -> None:
    doc = page(rich, "issues/2022-11/")
    published = select(doc, "meta[property='article:published_time']")[0].get("content")
    assert published == "2022-11-28"
    assert doc.findtext(".//title") == "2022년 11월 ML 읽을거리 · ML 읽을거리"


# -- home and archive --------------------------------------------------------------------


def test_home_puts_the_latest_issue_up_front(rich: Path) -> None:
    doc = page(rich, "")
    latest = select(doc, "main .issue.latest")[0]
    assert texts(select(latest, ".issue-title a")) == ["2022년 12월 ML 읽을거리"]
    assert select(latest, ".issue-title a")[0].get("href") == "/ml/issues/2022-12/"
    assert len(select(latest, "article.link")) == 10
    # Its cards link to the anchors on the issue page, so permalinks stay stable.
    permalinks = [a.get("href") for a in select(latest, "a.permalink")]
    assert all(h.startswith("/ml/issues/2022-12/#") for h in permalinks)
    # Recent issues (recent_issues: 2), newest first, then the rest in the archive.
    recent = select(doc, "main .recent .issue-list > li > a")
    assert [a.get("href") for a in recent] == ["/ml/issues/2022-11/", "/ml/issues/2022-10/"]
    hrefs = {a.get("href") for a in select(doc, "main a")}
    assert "/ml/archive/" in hrefs
    # Topics, tags and sources to browse; every feed.
    assert {"/ml/topics/nlp/", "/ml/topics/cv/", "/ml/tags/llm/", "/ml/sources/google/"} <= hrefs
    assert {"/ml/feed.xml", "/ml/atom.xml", "/ml/feed.json", "/ml/links.xml"} <= hrefs
    assert "/ml/feeds.opml" in hrefs


def test_archive_lists_every_issue_by_year_newest_first(rich: Path) -> None:
    doc = page(rich, "archive/")
    years = [h.get("id") for h in select(doc, "main section > h2")]
    assert years == ["y_2022", "y_2021"]
    issues = [a.get("href") for a in select(doc, "main .issue-list > li > a")]
    assert issues == [
        "/ml/issues/2022-12/",
        "/ml/issues/2022-11/",
        "/ml/issues/2022-10/",
        "/ml/issues/legacy-2021-06/",
    ]
    assert "2022년 11월 28일" in doc.text_content()


def test_drafts_appear_nowhere(rich: Path) -> None:
    for file in rich.rglob("*"):
        if file.is_file():
            data = file.read_bytes()
            assert b"SECRET-DRAFT" not in data and b"secret-draft" not in data, file
    assert not (rich / "issues" / "2023-02").exists()


# -- issue pages and link cards ----------------------------------------------------------


def test_link_card_has_title_source_month_tags_commentary_and_permalink(rich: Path) -> None:
    doc = page(rich, "issues/2022-12/")
    card = doc.get_element_by_id("illustrating-reinforcement-learning-from-human-feedback-rlhf")
    assert card.tag == "article"
    title = select(card, ".link-title a.link-url")[0]
    assert title.get("href") == "https://huggingface.co/blog/rlhf"
    assert title.get("lang") == "en"  # an English title on a Korean page
    permalink = select(card, ".link-title a.permalink")[0]
    assert permalink.get("href") == "#illustrating-reinforcement-learning-from-human-feedback-rlhf"
    assert permalink.text_content() == "#"  # visible, not only for screen readers
    source = select(card, ".link-meta a.source")[0]
    assert source.get("href") == "/ml/sources/huggingface/"
    assert select(card, ".link-meta time")[0].get("datetime") == "2022-12"
    assert texts(select(card, ".link-meta time")) == ["2022년 12월"]
    tags = select(card, ".tags a")
    assert [site_path(a.get("href")) for a in tags] == ["tags/rlhf/", "tags/llm/", "tags/강화학습/"]
    assert texts(tags) == ["#rlhf", "#llm", "#강화학습"]
    assert "사람의 선호도 점수로" in select(card, ".commentary")[0].text_content()


def test_link_card_without_source_month_or_tags_has_no_empty_parts(rich: Path) -> None:
    doc = page(rich, "issues/2022-11/")
    card = doc.get_element_by_id("엔지니어-인터뷰")
    assert select(card, ".link-meta") == [] and select(card, ".tags") == []
    assert select(card, ".commentary") == []


def test_issue_page_links_sections_topics_and_neighbours(rich: Path) -> None:
    doc = page(rich, "issues/2022-11/")
    headings = {a.get("href") for a in select(doc, ".section-title a, .subtopic-title a")}
    assert headings == {
        "/ml/sections/research/",
        "/ml/topics/nlp/",
        "/ml/topics/recsys/",
        "/ml/sections/" + quote("인터뷰") + "/",
        "/ml/sections/business-cases/",
    }
    toc = [a.get("href") for a in select(doc, "nav.toc a")]
    assert toc[0] == "#sec_research"
    for href in toc:
        assert doc.get_element_by_id(href[1:]) is not None
    nav = {a.get("rel"): a.get("href") for a in select(doc, "nav.issue-nav a")}
    assert nav == {"prev": "/ml/issues/2022-10/", "next": "/ml/issues/2022-12/"}
    # The intro's site-relative link and image resolve under the base path.
    intro = select(doc, ".intro")[0]
    assert select(intro, "a")[0].get("href") == "/ml/issues/2022-12/"
    assert select(intro, "img")[0].get("src") == "/ml/images/diagram.svg"
    assert (rich / "images" / "diagram.svg").is_file()
    # Commentary keeps its Markdown structure (nested lists).
    card = doc.get_element_by_id("한국어-언어-모델-평가-방법")
    assert len(select(card, ".commentary ul ul li")) == 1


def test_legacy_issue_renders_like_a_native_one(rich: Path) -> None:
    doc = page(rich, "issues/legacy-2021-06/")
    assert len(select(doc, "article.link")) == 10
    assert texts(select(doc, "h1")) == ["2021년 6월 ML 읽을거리"]


# -- groups: newest first, with their issue, paginated -----------------------------------


def test_group_pages_list_links_newest_first_with_their_issue(rich: Path) -> None:
    cards = []
    for path in ("tags/llm/", "tags/llm/page/2/", "tags/llm/page/3/", "tags/llm/page/4/"):
        cards += select(page(rich, path), "main article.link")
    issues = [site_path(select(c, ".from-issue a")[0].get("href")) for c in cards]
    # Every llm link (spelled `llm` or `LLM`) of every issue, newest issue first.
    assert len(issues) == 10
    order = ["issues/2022-12/", "issues/2022-11/", "issues/2022-10/"]
    assert [i.split("#")[0] for i in issues] == sorted(
        (i.split("#")[0] for i in issues), key=order.index
    )
    # The issue link points at the link's anchor on that issue page.
    first = select(cards[0], ".from-issue a")[0].get("href")
    calm = "accelerating-text-generation-with-confident-adaptive-language-modeling-calm"
    assert first == f"/ml/issues/2022-12/#{calm}"
    # Cards off their issue page carry no duplicate anchor; the permalink goes home.
    assert all(c.get("id") is None for c in cards)
    assert select(cards[0], "a.permalink")[0].get("href") == first


def test_in_page_links_in_commentary_point_back_to_the_issue(rich: Path) -> None:
    survey = "a-survey-of-large-language-models"
    on_issue = page(rich, "issues/2022-11/").get_element_by_id("추천시스템에서의-딥러닝")
    assert select(on_issue, ".commentary a")[0].get("href") == f"#{survey}"
    topic = page(rich, "topics/recsys/")
    hrefs = [a.get("href") for a in select(topic, ".commentary a")]
    assert f"/ml/issues/2022-11/#{survey}" in hrefs
    assert not any(h.startswith("#") for h in hrefs)
    # A link inside a title is dropped (the title is a link itself), its text kept.
    titles = select(topic, ".link-title a.link-url")
    assert "추천시스템에서의 딥러닝" in texts(titles)
    assert all(select(title, "a") == [] for title in titles)


def test_long_groups_are_paginated(rich: Path) -> None:
    assert (rich / "tags/llm/page/4/index.html").is_file()
    assert not (rich / "tags/llm/page/5").exists()
    assert not (rich / "tags/llm/page/1").exists()
    first, second, last = (
        page(rich, "tags/llm/"),
        page(rich, "tags/llm/page/2/"),
        page(rich, "tags/llm/page/4/"),
    )
    assert len(select(first, "main article.link")) == 3
    assert len(select(last, "main article.link")) == 1

    def rels(doc: HtmlElement) -> dict[str, str]:
        return {a.get("rel"): a.get("href") for a in select(doc, "nav.pagination a[rel]")}

    assert rels(first) == {"next": "/ml/tags/llm/page/2/"}
    assert rels(second) == {"prev": "/ml/tags/llm/", "next": "/ml/tags/llm/page/3/"}
    assert rels(last) == {"prev": "/ml/tags/llm/page/3/"}
    current = select(second, "nav.pagination a[aria-current=page]")
    assert texts(current) == ["페이지 2"]  # "페이지" for screen readers only
    assert [a.get("href") for a in current] == ["/ml/tags/llm/page/2/"]
    numbers = [a.get("href") for a in select(second, "nav.pagination ol a")]
    assert numbers == [
        "/ml/tags/llm/",
        "/ml/tags/llm/page/2/",
        "/ml/tags/llm/page/3/",
        "/ml/tags/llm/page/4/",
    ]
    assert second.findtext(".//title") == "llm (2쪽) · ML 읽을거리"
    # Short groups have no pagination at all.
    assert select(page(rich, "tags/rlhf/"), "nav.pagination") == []


def test_pagination_bar_stays_short() -> None:
    assert page_window(1, 1) == [1]
    assert page_window(2, 4) == [1, 2, 3, 4]
    assert page_window(6, 20) == [1, None, 4, 5, 6, 7, 8, None, 20]
    assert page_window(20, 20) == [1, None, 18, 19, 20]
    assert page_window(4, 7) == [1, 2, 3, 4, 5, 6, 7]


def test_group_index_pages_list_every_group_with_counts(rich: Path) -> None:
    for kind in ("sections", "topics", "tags", "sources"):
        doc = page(rich, f"{kind}/")
        hrefs = [site_path(a.get("href")) for a in select(doc, "main .chips a")]
        assert hrefs, kind
        for href in hrefs:
            assert href.startswith(f"{kind}/") and (rich / href / "index.html").is_file()
    tags = page(rich, "tags/")
    assert texts(select(tags, "main .chips a"))[0] == "#llm 10"


# -- one slug rule for Korean names ------------------------------------------------------


def test_one_slug_rule_for_tags_and_sources(rich: Path) -> None:
    # `LLM` and `llm` share one page, named by the most used spelling.
    assert texts(select(page(rich, "tags/llm/"), "h1")) == ["#llm"]
    assert not (rich / "tags" / "LLM").exists()
    # Korean names keep their letters; spaces become '-'; NFD input gives NFC paths.
    assert (rich / "tags" / "강화-학습" / "index.html").is_file()
    assert (rich / "sources" / "네이버-클로바" / "index.html").is_file()
    assert (rich / "sections" / "인터뷰" / "index.html").is_file()
    names = {p.name for p in (rich / "tags").iterdir()}
    assert all(unicodedata.is_normalized("NFC", n) for n in names)
    rl = page(rich, "tags/강화학습/")
    assert len(select(rl, "main article.link")) == 2  # NFD and NFC spellings together
    # Hrefs are the percent-encoded UTF-8 of the same slug, everywhere.
    doc = page(rich, "issues/2022-11/")
    hrefs = [a.get("href") for a in select(doc, "a")]
    assert "/ml/tags/" + quote("강화-학습") + "/" in hrefs
    assert "/ml/sources/" + quote("네이버-클로바") + "/" in hrefs
    assert all(re.fullmatch(r"[\x21-\x7e]*", h) for h in hrefs if not h.startswith("#"))


def test_a_tag_without_slug_letters_is_shown_but_not_linked(rich: Path) -> None:
    card = page(rich, "issues/2022-11/").get_element_by_id("한국어-언어-모델-평가-방법")
    plain = select(card, ".tags .plain")
    assert texts(plain) == ["#++"]
    assert not any(site_path(a.get("href")) == "tags//" for a in select(card, ".tags a"))


# -- languages -----------------------------------------------------------------------------


def test_text_in_another_language_carries_its_own_lang(rich: Path) -> None:
    doc = page(rich, "issues/2022-11/")
    korean = doc.get_element_by_id("한국어-언어-모델-평가-방법")
    assert select(korean, ".link-url")[0].get("lang") is None
    english = doc.get_element_by_id("a-survey-of-large-language-models")
    assert select(english, ".link-url")[0].get("lang") == "en"
    assert select(english, ".link-meta a.source span[lang=en]")


def test_english_site_uses_english_labels_dates_and_lang(tmp_path: Path) -> None:
    out = build_rich_site(tmp_path, language="en", title="ML Reading")
    doc = page(out, "issues/2022-12/")
    assert doc.get("lang") == "en"
    assert "29 Dec 2022" in doc.text_content()
    assert select(doc, "a.skip-link")[0].text_content() == "Skip to content"
    assert select(doc, "meta[property='og:locale']")[0].get("content") == "en_US"
    # Now the Korean title is the foreign one.
    card = doc.get_element_by_id("clova-md-상품추천-솔루션")
    assert select(card, ".link-url")[0].get("lang") is None  # mixed: CLOVA MD + Hangul
    luda = page(out, "issues/2022-11/").get_element_by_id("한국어-언어-모델-평가-방법")
    assert select(luda, ".link-url")[0].get("lang") == "ko"
    assert texts(select(page(out, "tags/llm/page/2/"), "title")) == ["llm (Page 2) · ML Reading"]


# -- sitemap, robots, 404, determinism -------------------------------------------------


def test_sitemap_lists_every_page_but_the_404(rich: Path) -> None:
    sitemap = (rich / "sitemap.xml").read_text()
    locs = re.findall(r"<loc>([^<]+)</loc>", sitemap)
    expected = [p for p in html_pages(rich) if p != "404.html"]
    assert sorted(unquote(loc)[len(BASE) :] for loc in locs) == sorted(expected)
    assert all(loc.startswith(BASE) for loc in locs)
    robots = (rich / "robots.txt").read_text()
    assert f"Sitemap: {BASE}sitemap.xml" in robots


def test_404_page_works_from_any_depth(rich: Path) -> None:
    doc = page(rich, "404.html")
    assert select(doc, "meta[name=robots]")[0].get("content") == "noindex"
    for el in select(doc, "[href], [src]"):
        url = el.get("href") or el.get("src")
        assert url.startswith(("/ml/", "https://", "#")), url


def test_same_content_gives_byte_identical_pages(rich: Path, tmp_path: Path) -> None:
    again = build_rich_site(tmp_path)
    for path in html_pages(rich):
        file = path + "index.html" if path == "" or path.endswith("/") else path
        assert (rich / file).read_bytes() == (again / file).read_bytes(), path
