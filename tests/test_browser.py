"""The built sample site in a real browser (Playwright driving Debian's Chromium).

The site is built with a base URL that has a path and served over http on
127.0.0.1 under `/ml/` (file:// would hide base-path bugs). A reader walks it
from the home page to an issue, a topic, a Korean tag, a source and search;
every page type is checked with axe-core, in light and dark, and screenshotted
at phone and desktop widths into `test-artifacts/screenshots/`.

Chromium, Java and node_modules are installed by `scripts/test.sh`: these tests
never skip. Never run `playwright install` (it downloads another browser).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from digest.site import build

from .conftest import CHROMIUM, CHROMIUM_ARGS, ROOT
from .test_pages import make_rich_content

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
SHOTS = ROOT / "test-artifacts" / "screenshots"
BASE_PATH = "/ml/"
ISSUE = "issues/2022-12/"

RLHF = "illustrating-reinforcement-learning-from-human-feedback-rlhf"
MS_2022 = "research-ms-2022-a-look-back-at-a-year-of-accelerating-progress-in-ai"
CLOVA = "clova-md-상품추천-솔루션"
SERVING = "ml-모델-서빙-비용-1-4로-줄이기"
LUDA = "luda-gen-1-더-재미있고-자연스러운-대화로-돌아온-루다-1편-생성-기반-챗봇"

# One page of every type, by site path (Korean paths as a reader would type them).
PAGE_TYPES = {
    "home": "",
    "issue": ISSUE,
    "archive": "archive/",
    "section": "sections/research/",
    "topic": "topics/nlp/",
    "tag": "tags/강화학습/",
    "source": "sources/스캐터랩/",
    "topics-index": "topics/",
    "tags-index": "tags/",
    "sources-index": "sources/",
    "search": "search/?q=모델",
    "404": "404.html",
}


# -- serving the built site ------------------------------------------------------------


class SiteHandler(SimpleHTTPRequestHandler):
    """Serves the output folder under BASE_PATH only; misses get the site's 404 page."""

    def translate_path(self, path: str) -> str:
        """Map `/ml/<path>` into the output folder; anything else does not exist."""
        url_path = urlsplit(path).path
        if not url_path.startswith(BASE_PATH):
            return str(Path(self.directory) / "\0outside-base-path")
        return super().translate_path("/" + url_path[len(BASE_PATH) :])

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """A 404 answers with the site's own 404.html, like GitHub Pages and Netlify."""
        page = Path(self.directory) / "404.html"
        if code != 404 or not page.is_file():
            super().send_error(code, message, explain)
            return
        body = page.read_bytes()
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: pytest shows failures, not access logs."""


@dataclass(frozen=True)
class Site:
    """The sample site, built and served."""

    origin: str
    """`http://127.0.0.1:<port>`."""
    out: Path
    """The output folder."""

    @property
    def base(self) -> str:
        """The base URL the site was built with."""
        return self.origin + BASE_PATH

    def url(self, path: str = "") -> str:
        """Absolute URL of a site path (Korean left as typed; the browser encodes it)."""
        return self.base + path

    def html_pages(self) -> list[str]:
        """Site paths of every HTML page, as a reader's browser asks for them."""
        pages = []
        for file in sorted(self.out.rglob("*.html")):
            rel = file.relative_to(self.out).as_posix()
            pages.append(rel.removesuffix("index.html"))
        return pages


@contextmanager
def serve(content: Path, out: Path) -> Iterator[Site]:
    """Build `content` for http://127.0.0.1:<port>/ml/ into `out` and serve it there."""
    out.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: SiteHandler(*a, directory=str(out)))
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    build(content, out, base_url=origin + BASE_PATH)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Site(origin, out)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The sample content, built and served under /ml/."""
    with serve(ROOT / "content", tmp_path_factory.mktemp("browser") / "_site") as served:
        yield served


@pytest.fixture(scope="module")
def rich_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """test_pages' rich content (pagination, images, legacy issue), served under /ml/."""
    tmp = tmp_path_factory.mktemp("browser-rich")
    with serve(make_rich_content(tmp / "content"), tmp / "_site") as served:
        yield served


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless, started once per module."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


# -- a reader's tab ---------------------------------------------------------------------


@dataclass
class Tab:
    """A page in its own browser context, recording console errors and requests."""

    context: BrowserContext
    page: Page
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def goto(self, site: Site, path: str) -> int:
        """Open a site path; returns the HTTP status."""
        response = self.page.goto(site.url(path), wait_until="load")
        assert response is not None
        return response.status


@pytest.fixture
def open_tab(chromium: Browser) -> Iterator[Any]:
    """Factory of tabs: `open_tab(width=375, scheme="dark", js=False)`."""
    contexts: list[BrowserContext] = []

    def make(width: int = 1280, scheme: str = "light", js: bool = True) -> Tab:
        context = chromium.new_context(
            viewport={"width": width, "height": 900},
            color_scheme=scheme,  # type: ignore[arg-type]
            java_script_enabled=js,
            locale="ko-KR",
        )
        contexts.append(context)
        tab = Tab(context, context.new_page())
        tab.page.on("console", lambda m: tab.errors.append(m.text) if m.type == "error" else None)
        tab.page.on("pageerror", lambda e: tab.errors.append(str(e)))
        tab.page.on("request", lambda r: tab.requests.append(r.url))
        return tab

    yield make
    for context in contexts:
        context.close()


def wait_for_results(page: Page) -> list[str]:
    """Wait until the search page lists results; their hrefs, percent-decoded."""
    page.wait_for_selector("#search-results a[href*='#']", timeout=10_000)
    hrefs = page.eval_on_selector_all("#search-results a[href*='#']", "els => els.map(e => e.href)")
    return [unquote(h) for h in hrefs]


def settle(page: Page, path: str) -> None:
    """Wait for whatever a page does after load (the search page fetches its index)."""
    if path.startswith("search/?q="):
        wait_for_results(page)


def run_axe(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations on the current page, trimmed for a readable failure."""
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
    )
    return [
        {
            "id": v["id"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
            "summary": v["nodes"][0].get("failureSummary", "") if v["nodes"] else "",
        }
        for v in result["violations"]
    ]


# -- the walk ---------------------------------------------------------------------------


def test_reader_walks_home_issue_topic_tag_source_search(site: Site, open_tab: Any) -> None:
    tab = open_tab()
    page = tab.page
    assert tab.goto(site, "") == 200
    assert page.title() == "ML 읽을거리"

    # Home -> the latest issue, up front.
    page.locator(".issue.latest .issue-title a").click()
    page.wait_for_url(site.url(ISSUE))
    assert page.locator("h1").inner_text() == "2022년 12월 ML 읽을거리"
    assert page.locator("article.link").count() == 10

    # Issue -> a topic page, every link showing the issue it came from.
    page.locator("h3.subtopic-title a", has_text="NLP").first.click()
    page.wait_for_url(site.url("topics/nlp/"))
    assert page.locator("h1").inner_text() == "NLP"
    cards = page.locator("article.link")
    assert cards.count() == 3
    assert page.locator("article.link .from-issue a").count() == 3

    # Topic -> a Korean tag: its URL is the percent-encoded Korean slug.
    page.locator(".tags a", has_text="#강화학습").first.click()
    page.wait_for_url(site.base + "tags/" + quote("강화학습") + "/")
    assert page.locator("h1").inner_text() == "#강화학습"
    assert page.locator("article.link").count() == 2

    # Tag -> a source.
    page.locator(".link-meta a.source", has_text="DeepMind").click()
    page.wait_for_url(site.url("sources/deepmind/"))
    assert page.locator("h1").inner_text() == "DeepMind"

    # Back to the issue -> a Korean source.
    tab.goto(site, ISSUE)
    page.locator(".link-meta a.source", has_text="스캐터랩").click()
    page.wait_for_url(site.base + "sources/" + quote("스캐터랩") + "/")
    assert page.locator("h1").inner_text() == "스캐터랩"

    # Search from the header box with a Korean query: results link to anchors.
    page.locator("header input[type=search]").fill("모델")
    page.locator("header input[type=search]").press("Enter")
    page.wait_for_url(re.compile(re.escape(site.url("search/")) + r"\?q="))
    hrefs = wait_for_results(page)
    assert site.url(ISSUE) + "#" + RLHF in hrefs
    assert page.locator("#search-q").input_value() == "모델"

    # A result opens the issue page at the link's anchor.
    page.locator(f"#search-results a[href$='#{RLHF}']").click()
    page.wait_for_url(site.url(ISSUE) + "#" + RLHF)
    target = page.locator(":target")
    assert target.get_attribute("id") == RLHF
    assert target.is_visible()

    # An English query, typed into the search page's own box (live, no submit).
    tab.goto(site, "search/")
    page.locator("#search-q").fill("transf")
    hrefs = wait_for_results(page)
    assert site.url(ISSUE) + "#" + MS_2022 in hrefs

    assert tab.errors == []


@pytest.mark.parametrize(
    ("query", "anchor"),
    [
        ("모델", RLHF),  # `모델과` in the commentary: a particle
        ("모델과", SERVING),  # typed with a particle, still finds `모델`
        ("시스템", CLOVA),  # inside the compound tag `추천시스템`
        ("스캐터랩", LUDA),  # a Korean source
        ("transf", MS_2022),  # an English prefix, in `Swin Transformer`
        ("RLHF", RLHF),  # case-insensitive
    ],
)
def test_search_query_url_opens_with_results(
    site: Site, open_tab: Any, query: str, anchor: str
) -> None:
    tab = open_tab()
    assert tab.goto(site, "search/?q=" + quote(query)) == 200
    hrefs = wait_for_results(tab.page)
    assert site.url(ISSUE) + "#" + anchor in hrefs
    assert tab.page.locator("#search-q").input_value() == query
    # Every result's anchor exists on its issue page.
    issue_html = (site.out / ISSUE / "index.html").read_text()
    for href in hrefs:
        assert href.startswith(site.url(ISSUE) + "#")
        assert f'id="{href.split("#", 1)[1]}"' in issue_html
    assert tab.errors == []


# -- every page --------------------------------------------------------------------------


def test_every_page_loads_without_errors_or_third_party_requests(site: Site, open_tab: Any) -> None:
    pages = site.html_pages()
    assert len(pages) > 40
    tab = open_tab()
    for path in pages:
        assert tab.goto(site, path) == 200, path
        assert tab.errors == [], (path, tab.errors)
        foreign = [u for u in tab.requests if not u.startswith(site.origin + "/")]
        assert foreign == [], (path, foreign)
        assert all(u.startswith(site.base) for u in tab.requests), (path, tab.requests)


def test_every_page_fits_a_320px_screen(site: Site, open_tab: Any) -> None:
    tab = open_tab(width=320)
    for path in site.html_pages():
        tab.goto(site, path)
        overflow = tab.page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{path} is {overflow}px wider than a 320px screen"


@pytest.mark.parametrize("kind", list(PAGE_TYPES))
def test_axe_finds_no_violations_light_and_dark(site: Site, open_tab: Any, kind: str) -> None:
    tab = open_tab()
    path = PAGE_TYPES[kind]
    tab.goto(site, path)
    settle(tab.page, path)
    assert run_axe(tab.page) == [], "light"
    tab.page.emulate_media(color_scheme="dark")
    assert run_axe(tab.page) == [], "dark"
    assert tab.errors == []


def test_missing_page_gets_the_styled_404_page(site: Site, open_tab: Any) -> None:
    tab = open_tab()
    assert tab.goto(site, "issues/1999-01/") == 404
    page = tab.page
    assert page.locator("h1").inner_text() == "페이지를 찾을 수 없습니다"
    # Root-relative asset URLs work from any depth: the stylesheet applied.
    assert page.evaluate("() => getComputedStyle(document.body).display") == "flex"
    page.locator("main a", has_text="홈").click()
    page.wait_for_url(site.url(""))
    # The only console error is Chromium reporting the 404 itself.
    assert all("404" in e for e in tab.errors), tab.errors
    assert run_axe(page) == []


# Pages only the rich site has: a paginated tag, an issue with an intro image.
RICH_PAGES = {
    "paginated-tag": "tags/llm/page/2/",
    "issue-with-intro": "issues/2022-11/",
    "legacy-issue": "issues/legacy-2021-06/",
    "korean-section": "sections/인터뷰/",
}


@pytest.mark.parametrize("kind", list(RICH_PAGES))
def test_rich_pages_pass_axe_and_fit_320px(rich_site: Site, open_tab: Any, kind: str) -> None:
    tab = open_tab(width=320)
    path = RICH_PAGES[kind]
    assert tab.goto(rich_site, path) == 200
    overflow = tab.page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    assert run_axe(tab.page) == [], "light"
    tab.page.emulate_media(color_scheme="dark")
    assert run_axe(tab.page) == [], "dark"
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab.page.screenshot(path=str(SHOTS / f"{kind}-320-dark.png"), full_page=True)
    assert tab.errors == []


def test_pagination_walks_every_page(rich_site: Site, open_tab: Any) -> None:
    tab = open_tab()
    page = tab.page
    tab.goto(rich_site, "tags/llm/")
    seen = []
    while True:
        seen += page.locator("main article.link .link-url").all_inner_texts()
        current = page.locator("nav.pagination a[aria-current=page]").get_attribute("href")
        assert current is not None and page.url == rich_site.origin + current
        following = page.locator("nav.pagination a[rel=next]")
        if following.count() == 0:
            break
        following.click()
        page.wait_for_load_state()
    assert len(seen) == len(set(seen)) == 10
    assert tab.errors == []


def test_search_finds_a_word_inside_a_compound(rich_site: Site, open_tab: Any) -> None:
    tab = open_tab()
    tab.goto(rich_site, "search/?q=" + quote("러닝"))
    hrefs = wait_for_results(tab.page)
    assert rich_site.url("issues/2022-11/") + "#추천시스템에서의-딥러닝" in hrefs
    assert tab.errors == []


# -- screenshots ------------------------------------------------------------------------

SCREENSHOT_PAGES = ["home", "issue", "topic", "tag", "tags-index", "search", "404"]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [375, 1280])
def test_screenshots(site: Site, open_tab: Any, width: int, scheme: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab = open_tab(width=width, scheme=scheme)
    for kind in SCREENSHOT_PAGES:
        path = PAGE_TYPES[kind]
        tab.goto(site, path)
        settle(tab.page, path)
        file = SHOTS / f"{kind}-{width}-{scheme}.png"
        tab.page.screenshot(path=str(file), full_page=True)
        assert file.stat().st_size > 5_000
    assert tab.errors == []


# -- design: dark mode, keyboard, Korean typography, no JavaScript ----------------------


def test_dark_mode_follows_the_system(site: Site, open_tab: Any) -> None:
    def colours(scheme: str) -> tuple[str, str]:
        tab = open_tab(scheme=scheme)
        tab.goto(site, ISSUE)
        bg, fg = tab.page.evaluate(
            "() => { const s = getComputedStyle(document.body);"
            " return [s.backgroundColor, s.color]; }"
        )
        return bg, fg

    def luminance(css: str) -> float:
        r, g, b = (int(x) for x in re.findall(r"\d+", css)[:3])
        return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255

    light_bg, light_fg = colours("light")
    dark_bg, dark_fg = colours("dark")
    assert luminance(light_bg) > 0.9 and luminance(light_fg) < 0.2
    assert luminance(dark_bg) < 0.1 and luminance(dark_fg) > 0.8


def test_tab_first_focuses_the_skip_link(site: Site, open_tab: Any) -> None:
    for path in ("", ISSUE, "tags/강화학습/"):
        tab = open_tab()
        page = tab.page
        tab.goto(site, path)
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => { const a = document.activeElement; const r = a.getBoundingClientRect();"
            " const s = getComputedStyle(a);"
            " return {cls: a.className, href: a.getAttribute('href'), top: r.top,"
            " bottom: r.bottom, outline: s.outlineStyle, width: parseFloat(s.outlineWidth)}; }"
        )
        assert focused["cls"] == "skip-link" and focused["href"] == "#main_content"
        # Visible once focused: inside the viewport, with a visible focus ring.
        assert focused["top"] >= 0 and focused["bottom"] > focused["top"]
        assert focused["outline"] != "none" and focused["width"] >= 2
        page.keyboard.press("Enter")
        assert page.evaluate("() => document.activeElement.id") == "main_content"
        # The next Tab lands inside the main content, not back in the header.
        page.keyboard.press("Tab")
        assert page.evaluate("() => !!document.activeElement.closest('main')")


def test_every_focusable_element_shows_focus(site: Site, open_tab: Any) -> None:
    tab = open_tab()
    page = tab.page
    tab.goto(site, ISSUE)
    seen = 0
    for _ in range(40):
        page.keyboard.press("Tab")
        style = page.evaluate(
            "() => { const a = document.activeElement; const s = getComputedStyle(a);"
            " return [a.tagName, s.outlineStyle, parseFloat(s.outlineWidth)]; }"
        )
        if style[0] == "BODY":
            break
        assert style[1] != "none" and style[2] >= 2, style
        seen += 1
    assert seen >= 20


def test_korean_typography(site: Site, open_tab: Any) -> None:
    tab = open_tab(width=320)
    page = tab.page
    tab.goto(site, ISSUE)
    style = page.evaluate(
        "() => { const s = getComputedStyle(document.querySelector('.commentary p'));"
        " return {wb: s.wordBreak, lh: parseFloat(s.lineHeight), fs: parseFloat(s.fontSize),"
        " ff: s.fontFamily}; }"
    )
    assert style["wb"] == "keep-all"
    assert style["lh"] >= 1.6 * style["fs"]
    assert any(f in style["ff"] for f in ("Apple SD Gothic Neo", "Noto Sans KR", "Malgun Gothic"))
    # At 320px, no Korean word is split across two lines.
    broken = page.evaluate(
        """() => {
          const broken = [];
          for (const el of document.querySelectorAll('main p, main h1, main h4, main li')) {
            const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
            for (let node = walker.nextNode(); node; node = walker.nextNode()) {
              for (const m of node.data.matchAll(/[가-힣]+/g)) {
                const range = document.createRange();
                range.setStart(node, m.index);
                range.setEnd(node, m.index + m[0].length);
                const tops = new Set([...range.getClientRects()]
                  .filter(r => r.width > 0).map(r => Math.round(r.top)));
                if (tops.size > 1) broken.push(m[0]);
              }
            }
          }
          return broken;
        }"""
    )
    assert broken == []
    # English titles on this Korean page carry their own lang.
    assert page.locator(f"#{RLHF} .link-title a[lang=en]").count() == 1
    assert page.evaluate("() => document.documentElement.lang") == "ko"


def test_readable_without_javascript(site: Site, open_tab: Any) -> None:
    tab = open_tab(js=False)
    page = tab.page
    tab.goto(site, "")
    assert page.locator(".issue.latest article.link").count() == 10
    assert page.locator(".link-url", has_text="Illustrating Reinforcement").is_visible()
    tab.goto(site, ISSUE)
    assert page.locator("article.link .commentary").first.is_visible()
    tab.goto(site, "tags/강화학습/")
    assert page.locator("article.link").count() == 2
    # The search page says it needs JavaScript and offers other ways in.
    tab.goto(site, "search/?q=" + quote("모델"))
    notice = page.locator("main .notice")
    assert notice.is_visible()
    assert notice.locator("a").count() >= 3
    assert tab.errors == []


def test_korean_urls_typed_by_hand(site: Site, open_tab: Any) -> None:
    tab = open_tab()
    page = tab.page
    for path, heading in (
        ("tags/강화학습/", "#강화학습"),
        ("sources/하이퍼커넥트/", "하이퍼커넥트"),
    ):
        assert tab.goto(site, path) == 200
        assert page.locator("h1").inner_text() == heading
        # The page's own canonical URL is the encoded form of the same path.
        canonical = page.locator("link[rel=canonical]").get_attribute("href")
        assert canonical is not None and unquote(canonical) == site.url(path)
    assert tab.errors == []
