"""Jinja environment and page rendering: Digest -> {site path: bytes}. No I/O but templates."""

from __future__ import annotations

import contextlib
import os
import re
import struct
from collections import deque
from collections.abc import Callable, Generator, Hashable, Iterable, Iterator
from functools import cached_property, partial
from pathlib import Path
from typing import Any, cast

import jinja2
import jinja2.bccache
from markupsafe import Markup, escape

from digest import i18n, markup
from digest.assets import asset_dir
from digest.cache import Store
from digest.config import SiteConfig
from digest.errors import Diagnostic
from digest.groups import GROUP_KINDS, Entry, Group, group_digest, page_path, page_window, pages
from digest.model import Digest, Issue, Link, Section, Subtopic
from digest.reuse import PageReuse
from digest.slug import quote_path, slugify

_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_LATIN = re.compile(r"[A-Za-z]")
_ANCHOR_TAG = re.compile(r"</?a\b[^>]*>")
_HTML_SPECIAL = re.compile(r"[&<>'\"]")


class _SiteUrls(dict[str, str]):
    """URLs by site path, under a base (path or absolute URL), made on first use.

    Templates read the root-relative ones as `urls['feed.xml']`: a Jinja function call
    (`url('feed.xml')`, which custom templates may still use) costs a few microseconds
    more, and pages make dozens of them. With `html`, each is escaped for HTML (as
    Markup): the base comes from site.yaml and may hold `&` or a quote, and pages put
    these URLs in attributes from Python (cards, tag links) as well as from templates.
    """

    def __init__(self, base: str, html: bool = False) -> None:
        super().__init__()
        self.base = base
        self.html = html

    def __missing__(self, path: str) -> str:
        url = self.base + quote_path(path)
        self[path] = url = escape(url) if self.html else url
        return url


def _escaped(text: str) -> str:
    """`escape(text)` as a plain string, skipping the work when there is nothing to escape."""
    return text if _HTML_SPECIAL.search(text) is None else str(escape(text))


def template_error(exc: Exception) -> Diagnostic:
    """A template mistake as a diagnostic at the template's file and line."""
    if isinstance(exc, TemplateFailed):
        return exc.diagnostic
    filename = getattr(exc, "filename", None)
    lineno = getattr(exc, "lineno", None)
    if not (filename and lineno):
        # Runtime errors carry no position, but Jinja maps traceback frames to templates.
        tb = exc.__traceback__
        while tb is not None:
            code = tb.tb_frame.f_code
            if code.co_filename.endswith((".html", ".xml")):
                filename, lineno = code.co_filename, tb.tb_lineno
            tb = tb.tb_next
    source = ""
    if filename and lineno:
        try:
            source = Path(filename).read_text(encoding="utf-8").split("\n")[lineno - 1]
        except (OSError, IndexError, UnicodeDecodeError):
            source = ""
    return Diagnostic(
        str(filename or "templates"),
        int(lineno or 1),
        1,
        f"template error: {_what(exc)}",
        hint="fix the template, or remove it from templates/ to use the built-in one",
        source_line=source,
    )


def _render_markdown(text: tuple[bool, str], base: str) -> str:
    inline, body = text
    return markup.render_inline(body, base) if inline else markup.render_block(body, base)


PageJob = Callable[[], bytes]
"""How to render one page, given everything it needs (see `Renderer.page_jobs`)."""

PARALLEL_PAGES = 400
"""Pages to render before forking workers pays for itself."""

_CARDS_SLOT = "<!-- digest: the cards of this group page -->"
"""Where `group_page` puts the cards: escaped content can never contain it."""


def _what(exc: Exception) -> str:
    if isinstance(exc, jinja2.TemplateError):
        return exc.message or type(exc).__name__
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class TemplateFailed(jinja2.TemplateError):
    """A template error, already located (a worker process's traceback stays there)."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic

    def __reduce__(self) -> tuple[Any, ...]:
        # Sent from a page worker to the parent: made again from the diagnostic.
        return TemplateFailed, (self.diagnostic,)


class GroupPageJob(partial[bytes]):
    """A group page's job (see `Renderer.group_jobs`): its entries say which issues it lists."""

    @property
    def entries(self) -> tuple[Entry, ...]:
        """The entries whose cards the page shows."""
        return cast(tuple[Entry, ...], self.keywords["items"])


_CARD_ID = struct.Struct("<Q")
"""A group card handed back by a page worker starts with its link's `id`."""


def _render_forked(
    jobs: list[PageJob],
    workers: int,
    notes: Callable[[], Iterable[bytes]] | None = None,
    on_note: Callable[[bytes], object] | None = None,
) -> Generator[bytes, None, None]:
    """Render `jobs` in forked processes, yielding pages in order as they arrive.

    `notes` and `on_note`: what each worker hands back besides the pages (`fork_map`).
    """
    from digest.workers import fork_map

    def page(index: int) -> bytes:
        try:
            return jobs[index]()
        except TemplateFailed:
            raise
        except jinja2.TemplateError as exc:  # located here: its traceback stays here
            raise TemplateFailed(template_error(exc)) from None

    # Small chunks, dealt out in turn, so the work spreads evenly and the first pages
    # reach the writer early. Each page goes through as it is: pickling and unpickling
    # them was a tenth of a large build.
    return fork_map(
        page,
        len(jobs),
        workers,
        chunk=16,
        raw=True,
        name="page worker",
        notes=notes,
        on_note=on_note,
    )


_COMPILED: dict[str, bytes] = {}
"""Compiled templates this process has made or read, by Jinja's key."""


class _TemplateCache(jinja2.BytecodeCache):
    """Compiled templates by name and source checksum: in memory, and in a signed store.

    `digest serve` makes a Renderer per rebuild, and every `digest build` compiled the
    templates afresh: a tenth of a rebuild. The store is the build cache's, signed
    like the rest, so compiled code is only ever read back from this user's builds.
    """

    def __init__(self, store: Store | None) -> None:
        self.store = store

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        """Fill `bucket` when this source was compiled before."""
        code = _COMPILED.get(bucket.key)
        if self.store is not None:
            stored = self.store.get(("template", bucket.key))
            if code is None:
                code = stored
            elif stored != code:  # compiled in this process for another site's cache
                self.store.put(("template", bucket.key), code)
        if isinstance(code, bytes):
            bucket.bytecode_from_string(code)  # discarded there if the source changed

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        """Remember a freshly compiled template."""
        code = _COMPILED[bucket.key] = bucket.bytecode_to_string()
        if self.store is not None:
            self.store.put(("template", bucket.key), code)


PAGE_TEMPLATES = (
    "base.html",
    "_head_links.html",
    "_header.html",
    "_footer.html",
    "_macros.html",
    "index.html",
    "issue.html",
    "archive.html",
    "groups.html",
    "group.html",
    "search.html",
    "404.html",
    "sitemap.xml",
)
"""The templates a build renders pages with (including those they extend and import)."""


def compile_templates(config: SiteConfig, template_dirs: Iterable[Path] = ()) -> None:
    """Compile the page templates into this process's memory, for the Renderers it forks.

    For a cold build, called while the issues are parsed in other processes: the page
    workers forked later would otherwise each compile them first. A template that does
    not compile is left for the build to report where it is used.
    """
    env = Renderer(config, Digest(()), template_dirs).env
    for name in PAGE_TEMPLATES:
        with contextlib.suppress(jinja2.TemplateError):
            env.get_template(name)


def template_problems(config: SiteConfig, template_dirs: Iterable[Path]) -> list[Diagnostic]:
    """What keeps the site's own templates from compiling (`digest check`), each located.

    Mistakes that show only when a page is rendered (`{{ 1/0 }}`) are the build's to find.
    """
    renderer = Renderer(config, Digest(()), template_dirs)
    problems: list[Diagnostic] = []
    for folder in template_dirs:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.suffix in (".html", ".xml"):
                try:
                    renderer.env.get_template(path.relative_to(folder).as_posix())
                except jinja2.TemplateError as exc:
                    problems.append(template_error(exc))
                except UnicodeDecodeError as exc:
                    problems.append(_not_utf8(str(path), exc))
    return problems


def _not_utf8(path: str, exc: UnicodeDecodeError) -> Diagnostic:
    return Diagnostic(
        path,
        1,
        1,
        f"template is not valid UTF-8 (byte 0x{exc.object[exc.start]:02x})",
        hint="save the template as UTF-8",
    )


class Renderer:
    """Renders every page of a site from a Digest, through the Jinja templates."""

    def __init__(
        self,
        config: SiteConfig,
        digest: Digest,
        template_dirs: Iterable[Path] = (),
        reuse: PageReuse | None = None,
        compiled: Store | None = None,
    ) -> None:
        self.config = config
        self.digest = digest
        self.reuse = reuse
        self.labels = i18n.labels(config.language)
        loader = jinja2.FileSystemLoader([*map(str, template_dirs), str(asset_dir("templates"))])
        self.env = jinja2.Environment(
            loader=loader,
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            bytecode_cache=_TemplateCache(compiled),
            # One environment per build: no template file's mtime checked for each of
            # thousands of pages (and every page of a build from the same templates).
            auto_reload=False,
        )
        self._urls = _SiteUrls(config.base_path, html=True)
        self.env.globals.update(
            site=config,
            L=self.labels,
            url=self.url,
            abs_url=self.abs_url,
            slugify=slugify,
            og_locale=i18n.og_locale(config.language),
            card=self.card,
            issue_entry=self.issue_entry,
            fragment=self.fragment,
            lang_text=lambda value: Markup(self.text(value)),
            urls=self._urls,
        )
        self.env.filters.update(
            md=self.md,
            md_inline=self.md_inline,
            date=lambda d: i18n.format_date(d, config.language),
            month=lambda m: i18n.format_month(m, config.language),
            foreign_lang=self.foreign_lang,
        )
        self._html: dict[tuple[bool, str], str] = {}
        """Rendered Markdown by (inline?, text): filled by `prerender`, else on demand."""
        self.store: Store | None = None
        """Where `html` finds and keeps rendered Markdown (see `use_store`)."""
        self.base_path = config.base_path
        self._abs_urls = _SiteUrls(config.base_url)
        self._texts: dict[str, str] = {}
        self._group_links: dict[tuple[str, str, str, str], str] = {}
        self._group_cards: dict[int, bytes] = {}
        self._months: dict[str, str] = {}
        self._fragments: dict[tuple[Hashable, ...], Markup] = {}
        self.language = config.language
        # Labels every card shows, escaped once.
        self._permalink_label = str(escape(self.labels["permalink"]))
        self._from_issue_label = str(escape(self.labels["from_issue"]))

    # -- helpers available to templates ------------------------------------------------

    def url(self, path: str = "") -> str:
        """Root-relative URL of a site path, under the base path: percent-encoded, HTML-escaped."""
        return self._urls[path]

    def abs_url(self, path: str = "") -> str:
        """Absolute URL of a site path, for canonical links, feeds and sitemaps."""
        return self._abs_urls[path]

    def md(self, text: str, page: str = "") -> Markup:
        """Markdown -> safe HTML, relative URLs under the base path.

        `page` is the URL of the page the text belongs to (its issue page), given when
        it is shown elsewhere: in-page links (`#other-link`) then point back there.
        """
        html = self.html(text)
        if page:
            html = html.replace(' href="#', f' href="{page}#')
        return Markup(html)

    def md_inline(self, text: str) -> Markup:
        """Inline Markdown (titles) -> safe HTML, without links: a title is a link itself."""
        html = self.html(text, inline=True)
        return Markup(_ANCHOR_TAG.sub("", html) if "<a" in html else html)

    def html(self, text: str, inline: bool = False) -> str:
        """Rendered Markdown (site-rooted URLs): prerendered, from the store, or made now."""
        key = (inline, text)
        html = self._html.get(key)
        if html is None:
            html = markup.shortcut(text, inline, self.base_path)
            if html is None and self.store is not None:
                html = self.store.get(key)
            if html is None:
                render = markup.render_inline if inline else markup.render_block
                html = render(text, self.base_path)
                if self.store is not None:
                    self.store.put(key, html)
            self._html[key] = html
        return html

    def use_store(self, store: Store) -> None:
        """Take rendered Markdown from `store` as it is needed (and keep new ones there).

        For a rebuild that renders a few pages: looking up every text of the digest up
        front, as `prerender` does, would cost more than rendering them.
        """
        self.store = store

    def markdown_texts(self) -> list[tuple[bool, str]]:
        """Every Markdown text of the digest, as (inline?, text), once each."""
        texts: dict[tuple[bool, str], None] = {}
        for issue in self.digest.issues:
            texts[False, issue.intro] = None
            for section in issue.sections:
                texts[False, section.note] = None
                for sub in section.subtopics:
                    texts[False, sub.note] = None
            for _, _, link in issue.all_links():
                texts[False, link.commentary] = None
                texts[True, link.title_md] = None
        texts.pop((False, ""), None)
        return list(texts)

    def prerender(self, cache: Store | None = None) -> None:
        """Render all Markdown up front: by shortcut, from the cache, the rest on every core.

        What markdown-it renders is most of a large build's work and each text is
        independent, so it is the part worth spreading over processes and keeping
        between builds.
        """
        todo = []
        for key in self.markdown_texts():
            if key in self._html:
                continue
            html = markup.shortcut(key[1], key[0], self.base_path)
            if html is None and cache is not None:
                html = cache.get(key)
            if html is None:
                todo.append(key)
            else:
                self._html[key] = html
        workers = min(os.cpu_count() or 1, 8)
        if len(todo) >= 2000 and workers > 1:
            from digest.workers import fork_map

            base = self.base_path
            rendered = list(fork_map(lambda i: _render_markdown(todo[i], base), len(todo), workers))
        else:
            rendered = [_render_markdown(text, self.base_path) for text in todo]
        for key, html in zip(todo, rendered, strict=True):
            self._html[key] = html
            if cache is not None:
                cache.put(key, html)

    def text(self, value: str) -> str:
        """Escaped text, wrapped in a `lang` span when not in the page's language."""
        html = self._texts.get(value)
        if html is None:
            lang = self.foreign_lang(value)
            html = f'<span lang="{lang}">{escape(value)}</span>' if lang else str(escape(value))
            self._texts[value] = html
        return html

    def group_link(self, kind: str, name: str, prefix: str = "", css: str = "") -> str:
        """A tag or source: a link to its page, or plain text when its name has no slug."""
        key = (kind, name, prefix, css)
        html = self._group_links.get(key)  # the same few hundred names on every card
        if html is None:
            slug = slugify(name)
            if slug:
                cls = f' class="{css}"' if css else ""
                href = self.url(f"{kind}/{slug}/")
                html = f'<a{cls} href="{href}">{prefix}{self.text(name)}</a>'
            else:
                plain = f"plain {css}" if css else "plain"
                html = f'<span class="{plain}">{prefix}{self.text(name)}</span>'
            self._group_links[key] = html
        return html

    def card(
        self,
        link: Link,
        issue: Issue,
        heading: str = "h3",
        on_issue_page: bool = True,
        entry: Entry | None = None,
        section: Section | None = None,
        subtopic: Subtopic | None = None,
    ) -> Markup:
        """One link card, as HTML (`group_card` keeps a link's group card for its groups).

        On its issue page the card carries the anchor `#<id>`; elsewhere (home page,
        groups) its permalink points at that anchor on the issue page, and `entry`
        (groups only) adds the issue and topic it came from. Given the `section` (and
        `subtopic`) it sits under, an issue page's card also makes the link's group
        card, which shares most of its parts. Written in Python rather than as a Jinja
        macro: at 30,000 links the macro was most of the build time.
        """
        parts = self._card_parts(link, issue)
        html = self._card_html(link, issue, parts, heading, on_issue_page, entry)
        if on_issue_page and section is not None and id(link) not in self._group_cards:
            grouped = Entry(issue, section, subtopic, link)
            self._group_cards[id(link)] = self._card_html(
                link, issue, parts, "h2", False, grouped
            ).encode("utf-8")
        return Markup(html)

    def _card_parts(self, link: Link, issue: Issue) -> tuple[str, ...]:
        """What a link's cards show wherever they are: made once for its two cards."""
        lang = self.foreign_lang(link.title)
        meta = []
        if link.source:
            meta.append(f"<span>{self.group_link('sources', link.source, css='source')}</span>")
        if link.published:
            meta.append(self._month(link.published))
        tags = "".join(f"<li>{self.group_link('tags', t, prefix='#')}</li>" for t in link.tags)
        return (
            self.url(f"issues/{issue.slug}/"),
            f' lang="{lang}"' if lang else "",
            _escaped(link.title),
            f'<a class="link-url" href="{_escaped(markup.uri(link.url))}"',
            self.md_inline(link.title_md),
            "".join(meta),
            f'  <ul class="tags">\n    {tags}\n  </ul>\n' if link.tags else "",
            self.html(link.commentary) if link.commentary else "",
        )

    def _card_html(
        self,
        link: Link,
        issue: Issue,
        parts: tuple[str, ...],
        heading: str,
        on_issue_page: bool,
        entry: Entry | None,
    ) -> str:
        issue_url, lang_attr, title, url_anchor, title_html, meta, tags, body = parts
        # Escaped already: the URL (`url`) and the id (a slug).
        permalink = f"#{link.id}" if on_issue_page else f"{issue_url}#{link.id}"
        label = self._permalink_label
        anchor = f' id="{link.id}"' if on_issue_page else ""
        out = [
            f'<article class="link"{anchor}>\n',
            f'  <{heading} class="link-title">{url_anchor}{lang_attr}>{title_html}</a>'
            f'<a class="permalink" href="{permalink}" aria-label="{label}: {title}" '
            f'title="{label}">#</a></{heading}>\n',
        ]
        if meta or entry:
            if entry:
                where = f'{self._from_issue_label} <a href="{issue_url}#{link.id}">'
                where += f"{self.text(issue.title)}</a>"
                # The same on every group page, so one rendering serves them all.
                where += f" › {self.text(entry.section.name)}"
                if entry.subtopic:
                    where += f" › {self.text(entry.subtopic.name)}"
                meta += f'<span class="from-issue">{where}</span>'
            out.append(f'  <p class="link-meta">{meta}</p>\n')
        out.append(tags)
        if body:
            if not on_issue_page:  # in-page links point back at the issue page
                body = body.replace(' href="#', f' href="{issue_url}#')
            out.append(f'  <div class="commentary">{body}</div>\n')
        out.append("</article>")
        return "".join(out)

    def issue_entry(self, issue: Issue) -> Markup:
        """An issue in a list (archive, home page): the `issue_item` macro, in Python.

        The archive lists every issue; as a macro that was a twentieth of a cold build's
        page rendering.
        """
        url = self.url(f"issues/{issue.slug}/")
        date = escape(i18n.format_date(issue.date, self.language))
        count = escape(self.labels["links_count"].format(n=issue.link_count))
        summary = issue.summary and f'<span class="summary">{self.text(issue.summary)}</span>'
        return Markup(
            f'<li><a href="{url}">{self.text(issue.title)}</a>\n  <span class="issue-item-meta">'
            f'<time datetime="{issue.date.isoformat()}">{date}</time> · {count}</span>\n'
            f"{summary}</li>"
        )

    def _month(self, published: str) -> str:
        html = self._months.get(published)
        if html is None:
            month = escape(i18n.format_month(published, self.language))
            html = f'<span><time datetime="{escape(published)}">{month}</time></span>'
            self._months[published] = html
        return html

    def foreign_lang(self, text: str) -> str:
        """The `lang` text needs when it is not in the page's language, else ''."""
        page = self.config.language.split("-")[0].lower()
        if page == "ko" and not _HANGUL.search(text) and _LATIN.search(text):
            return "en"
        if page != "ko" and _HANGUL.search(text) and not _LATIN.search(text):
            return "ko"
        return ""

    # -- pages ---------------------------------------------------------------------------

    @cached_property
    def groups(self) -> dict[str, list[Group]]:
        """Sections, topics, tags and sources of the whole digest."""
        return group_digest(self.digest)

    def fragment(self, template: str, **context: Hashable) -> Markup:
        """`template` rendered with `context` (and the site-wide globals), once per context.

        For the parts of every page that depend on little of it (site header and footer,
        feed links): rendering them anew for each of thousands of pages was a sixth of
        a cold build's page rendering.
        """
        key = (template, *sorted(context.items()))
        html = self._fragments.get(key)
        if html is None:
            html = Markup(self._render(template, context))
            self._fragments[key] = html
        return html

    def _render(self, template: str, context: dict[str, Any]) -> str:
        """`template` rendered with `context`; any failure a TemplateError with its place.

        A template can fail in other ways than Jinja's (`{{ 1/0 }}`, a file that is
        not UTF-8): those are the template's mistakes too, reported as such.
        """
        try:
            return self.env.get_template(template).render(**context)
        except jinja2.TemplateError:
            raise
        except UnicodeDecodeError as exc:
            raise TemplateFailed(_not_utf8(self._template_file(template), exc)) from None
        except Exception as exc:
            raise TemplateFailed(template_error(exc)) from None

    def _template_file(self, template: str) -> str:
        """The file `template` is read from."""
        for folder in getattr(self.env.loader, "searchpath", ()):
            if (Path(folder) / template).is_file():
                return str(Path(folder) / template)
        return template

    def page(self, template: str, path: str, **context: Any) -> bytes:
        """Render one page; `path` is its site path (`issues/2022-12/`)."""
        context.setdefault("page_title", "")
        context.setdefault("description", self.config.description)
        context.setdefault("feed", None)
        return self._render(template, {**context, "page_path": path}).encode("utf-8")

    @staticmethod
    def out_path(path: str) -> str:
        """Site path of a page -> its output file (`issues/x/` -> `issues/x/index.html`)."""
        return path + "index.html" if path.endswith("/") or path == "" else path

    def iter_pages(
        self, workers: int = 0, jobs: list[tuple[str, PageJob | None]] | None = None
    ) -> Iterator[tuple[str, bytes | None]]:
        """Every HTML page, then the sitemap, robots.txt and 404 page, one at a time.

        A generator, so a large site's pages go to disk as they are made instead of
        all sitting in memory at once. With `workers` and many pages to render, that
        many forked processes render them, but for group pages, which this one renders
        as it writes what they have made (see `_pages_forked`). `jobs` are
        `page_jobs()`, when the caller has listed them already.
        """
        if jobs is None:
            jobs = list(self.page_jobs())
        if workers and sum(job is not None for _, job in jobs) >= PARALLEL_PAGES:
            yield from self._pages_forked(jobs, workers)
        else:
            for path, job in jobs:
                yield path, None if job is None else job()
        paths = [path for path, _ in jobs]
        if self.reuse is not None and self.reuse.keep("sitemap.xml", [], paths):
            yield "sitemap.xml", None  # the same pages as the last build
        else:
            yield "sitemap.xml", self.render_sitemap(paths)
        yield (
            "robots.txt",
            (f"User-agent: *\nAllow: /\n\nSitemap: {self.abs_url('sitemap.xml')}\n".encode()),
        )

    def _pages_forked(
        self, jobs: list[tuple[str, PageJob | None]], workers: int
    ) -> Iterator[tuple[str, bytes | None]]:
        """`jobs` rendered by forked workers and this process: the workers all but group pages.

        A link's group card is made with its card on its issue page, which shares most
        of its parts. The workers hand back the group cards they made with each page,
        and this process renders each group page once every issue it lists is done,
        while the workers go on: the group pages (three quarters of the site's bytes)
        never go through a pipe, and this process, which only wrote pages before,
        shares the rendering. Pages come out in another order than `jobs`.
        """
        issues = self.digest.issues
        position = {id(issue): n for n, issue in enumerate(issues)}
        issue_pages = {self.out_path(f"issues/{issue.slug}/"): n for n, issue in enumerate(issues)}
        groups: list[tuple[int, str, GroupPageJob]] = []
        others: list[tuple[str, PageJob | None]] = []
        for path, job in jobs:
            if isinstance(job, GroupPageJob):
                # Issue pages are rendered in the digest's order: the page is ready once
                # its oldest issue's is (one not in the digest: once all are).
                ready = max(
                    (position.get(id(e.issue), len(issues)) for e in job.entries), default=-1
                )
                groups.append((ready, path, job))
            else:
                others.append((path, job))
        groups.sort(key=lambda group: group[0])  # stable: in `jobs` order otherwise
        waiting = deque(groups)
        rendered = _render_forked(
            [job for _, job in others if job is not None],
            workers,
            self._handed_cards,
            self._take_card,
        )
        with contextlib.closing(rendered):  # a failure here stops the workers at once
            for path, job in others:
                yield path, None if job is None else next(rendered)
                done = issue_pages.get(path)
                while waiting and done is not None and waiting[0][0] <= done:
                    _, group_path, group_job = waiting.popleft()
                    yield group_path, group_job()
            for _, group_path, group_job in waiting:
                yield group_path, group_job()

    def _handed_cards(self) -> list[bytes]:
        """In a page worker: the group cards made since the last call, to hand back."""
        cards = [_CARD_ID.pack(link) + card for link, card in self._group_cards.items()]
        self._group_cards.clear()  # a link has one issue page: its card is not made again
        return cards

    def _take_card(self, handed: bytes) -> None:
        """A group card a page worker made (`_handed_cards`)."""
        (link,) = _CARD_ID.unpack_from(handed)  # the same object here: the worker is a fork
        self._group_cards[link] = handed[_CARD_ID.size :]

    def page_jobs(self) -> Iterator[tuple[str, PageJob | None]]:
        """Every HTML page as (output path, how to render it); None: keep the last build's."""
        issues = self.digest.issues
        yield (
            "index.html",
            partial(
                self.page,
                "index.html",
                "",
                latest=issues[0] if issues else None,
                recent=issues[1 : 1 + self.config.recent_issues],
                groups=self.groups,
            ),
        )
        for number, issue in enumerate(issues):
            path = f"issues/{issue.slug}/"
            newer = issues[number - 1] if number > 0 else None
            older = issues[number + 1] if number + 1 < len(issues) else None
            out = self.out_path(path)
            parts = [(i.slug, i.title) if i else None for i in (newer, older)]
            if self.reuse is not None and self.reuse.keep(out, [issue], parts):
                yield out, None
                continue
            yield (
                out,
                partial(
                    self.page,
                    "issue.html",
                    path,
                    issue=issue,
                    newer=newer,
                    older=older,
                    page_title=issue.title,
                    description=issue.summary or self.config.description,
                ),
            )
        by_year: dict[int, list[Issue]] = {}
        for issue in issues:
            by_year.setdefault(issue.date.year, []).append(issue)
        listed = [(i.slug, i.title, i.date, i.link_count, i.summary) for i in issues]
        if self.reuse is not None and self.reuse.keep("archive/index.html", [], listed):
            yield "archive/index.html", None
        else:
            yield (
                "archive/index.html",
                partial(
                    self.page,
                    "archive.html",
                    "archive/",
                    years=by_year,
                    page_title=self.labels["archive"],
                ),
            )
        for kind in GROUP_KINDS:
            yield (
                f"{kind}/index.html",
                partial(
                    self.page,
                    "groups.html",
                    f"{kind}/",
                    kind=kind,
                    groups=self.groups[kind],
                    page_title=self.labels[kind],
                ),
            )
            for group in self.groups[kind]:
                yield from self.group_jobs(group)
        yield (
            "search/index.html",
            partial(self.page, "search.html", "search/", page_title=self.labels["search"]),
        )
        yield (
            "404.html",
            partial(self.page, "404.html", "404.html", page_title=self.labels["not_found"]),
        )

    def group_jobs(self, group: Group) -> Iterator[tuple[str, PageJob | None]]:
        """The paginated pages of one section, topic, tag or source (None: reuse it)."""
        chunks = pages(group.entries, self.config.per_page)
        feed = None
        if group.kind in ("topics", "tags"):
            label = self.labels["topic_feed" if group.kind == "topics" else "tag_feed"]
            feed = (f"{group.path}feed.xml", f"{self.config.title}: {group.name}", label)
        description = self.labels["group_description"].format(
            kind=self.labels[f"kind_{group.kind}"], name=group.name, n=len(group.entries)
        )
        page_paths = [page_path(group.path, n) for n in range(1, len(chunks) + 1)]
        for number, chunk in enumerate(chunks, start=1):
            path = page_paths[number - 1]
            page_label = self.labels["page_n"].format(n=number)
            out = self.out_path(path)
            if self.reuse is not None and self.reuse.keep_group_page(
                out,
                group,
                (number - 1) * self.config.per_page,
                (number - 1) * self.config.per_page + len(chunk),
                (group.kind, group.slug, group.name, len(group.entries), number, len(chunks)),
            ):
                yield out, None
                continue
            yield (
                out,
                GroupPageJob(
                    self.group_page,
                    path,
                    group=group,
                    items=chunk,
                    number=number,
                    count=len(chunks),
                    page_links=[
                        (n, page_paths[n - 1] if n else None)
                        for n in page_window(number, len(chunks))
                    ],
                    prev_path=page_paths[number - 2] if number > 1 else None,
                    next_path=page_paths[number] if number < len(chunks) else None,
                    page_title=group.name if number == 1 else f"{group.name} ({page_label})",
                    description=description,
                    feed=feed,
                ),
            )

    def group_page(self, path: str, items: tuple[Entry, ...], **context: Any) -> bytes:
        """One page of a group: the page chrome, with its cards put in as UTF-8.

        A link's group card shows on several group pages, so it is kept, encoded:
        half the memory of the string, and no page re-encodes 50 cards.
        """
        page = self.page("group.html", path, items=items, cards=Markup(_CARDS_SLOT), **context)
        head, tail = page.split(_CARDS_SLOT.encode(), 1)
        parts = [head]
        for entry in items:  # one copy of a page's bytes, not two (join, then replace)
            parts += (self.group_card(entry), b"\n")
        if items:
            parts.pop()
        parts.append(tail)
        return b"".join(parts)

    def group_card(self, entry: Entry) -> bytes:
        """A link's card on group pages, UTF-8 encoded; memoised."""
        card = self._group_cards.get(id(entry.link))
        if card is None:
            html = self.card(entry.link, entry.issue, "h2", False, entry)
            card = self._group_cards[id(entry.link)] = html.encode("utf-8")
        return card

    def render_sitemap(self, page_paths: Iterable[str]) -> bytes:
        """A sitemap of every HTML page but the 404 page."""
        paths = sorted(
            p.removesuffix("index.html")
            for p in page_paths
            if p.endswith(".html") and p != "404.html"
        )
        return self._render("sitemap.xml", {"paths": paths}).encode("utf-8")
