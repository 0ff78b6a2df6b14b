"""The one configured Markdown renderer: no raw HTML, only safe URL schemes."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any
from urllib.parse import urljoin

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):")
# Browsers ignore ASCII whitespace and control characters inside a scheme
# ("java\tscript:"), so they are removed before the scheme is read.
_IGNORED_IN_SCHEME = re.compile(r"[\x00-\x20\x7f]+")


def url_scheme(url: str) -> str | None:
    """The lowercased scheme of `url` as a browser would read it, or None if relative."""
    match = _SCHEME.match(_IGNORED_IN_SCHEME.sub("", url))
    return match.group(1).lower() if match else None


def is_safe_url(url: str) -> bool:
    """True for relative URLs and http, https and mailto; False for everything else."""
    if url.strip().startswith("//"):
        return True  # protocol-relative: http(s) by definition
    scheme = url_scheme(url)
    return scheme is None or scheme in SAFE_SCHEMES


def _resolve(token: Token, attr: str, env: EnvType, keep: tuple[str, ...]) -> None:
    """Point a content-relative `href`/`src` at the site, under the base in `env`."""
    value = str(token.attrGet(attr) or "")
    base = env.get("base")
    if base and url_scheme(value) is None and not value.startswith(keep):
        token.attrSet(attr, resolve_site_url(value, base))


def _render_link_open(
    renderer: RendererHTML,
    tokens: Sequence[Token],
    idx: int,
    options: OptionsDict,
    env: EnvType,
) -> str:
    _resolve(tokens[idx], "href", env, keep=("#", "//"))
    return renderer.renderToken(tokens, idx, options, env)


def _render_image(
    renderer: RendererHTML,
    tokens: Sequence[Token],
    idx: int,
    options: OptionsDict,
    env: EnvType,
) -> str:
    _resolve(tokens[idx], "src", env, keep=("//",))
    tokens[idx].attrSet("loading", "lazy")
    return renderer.image(tokens, idx, options, env)


def resolve_site_url(path: str, base: str) -> str:
    """Map a content-relative path (`./images/x.png`) to the site (`<base>images/x.png`)."""
    path = path.strip()
    while path.startswith(("./", "../")):
        path = path.split("/", 1)[1]
    # Joined as `./path`: a bare `javascript:x` (from `/javascript:x`) would be read as
    # a URL of its own, scheme and all, and replace the base.
    return urljoin(base, "./" + path.lstrip("/"))


@lru_cache(maxsize=1)
def markdown() -> MarkdownIt:
    """The shared MarkdownIt instance (CommonMark + tables + strikethrough, HTML off)."""
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.validateLink = is_safe_url  # type: ignore[method-assign]
    md.add_render_rule("link_open", _render_link_open)
    md.add_render_rule("image", _render_image)
    return md


def render_block(text: str, base: str = "") -> str:
    """Markdown -> HTML; relative URLs are resolved against `base` when given."""
    html = shortcut(text, base=base)
    if html is not None:
        return html
    env: dict[str, Any] = {"base": base}
    return str(markdown().render(text, env))


def render_inline(text: str, base: str = "") -> str:
    """Inline Markdown (a title) -> HTML without a wrapping paragraph."""
    html = shortcut(text, inline=True, base=base)
    if html is not None:
        return html
    env: dict[str, Any] = {"base": base}
    return str(markdown().renderInline(text, env))


def shortcut(text: str, inline: bool = False, base: str = "") -> str | None:
    """What `render_block`/`render_inline` give, when it takes no markdown-it; else None.

    Costs a few microseconds, so its results are not worth caching.
    """
    if not text:
        return ""
    if not inline:
        return simple_html(text, base)
    if "\n" in text or text != text.strip():
        return None
    if _SYNTAX.search(text) is None:
        return _escape(text)
    return _simple_line(text, base) if _NOT_SIMPLE.search(text) is None else None


# Characters that can start Markdown syntax inside a line, and control characters
# (which markdown-it may rewrite). tests/test_fast_paths.py checks the shortcuts that
# rest on it against markdown-it.
_SYNTAX = re.compile(r"[\\`*_\[\]!<>&~\x00-\x09\x0b-\x1f\x7f]")
# The same without `*`, `[` and `]`, which `simple_html` reads itself, and with `|`
# (tables).
_NOT_SIMPLE = re.compile(r"[\\`_!<>&~|\x00-\x09\x0b-\x1f\x7f]")
_ORDERED_ITEM = re.compile(r"\d{1,9}[.)](?: |$)")


def simple_html(text: str, base: str = "") -> str | None:
    """`text` as markdown-it renders it, if only prose, `- ` lists, `*emphasis*` and links.

    Most commentary is paragraphs and tight bullet lists (one level of nesting); this
    renders those in a single pass and returns None for anything else, which then goes
    to markdown-it: loose lists, lazy continuation lines, images, code, quotes...
    """
    if _NOT_SIMPLE.search(text) is not None:
        return None
    out: list[str] = []
    para: list[str] = []
    # "none", "para", "item" (the last line was a list item), or "gap" (a blank line
    # after a list: another item would make the list loose).
    state = "none"
    depth = -1  # the open list's depth: -1 none, 0 top level, 1 nested in a top item
    indent = 0  # the indent of the open top-level item's `-`: 0 or 2
    for line in text.split("\n"):
        if not line:
            if para:
                out.append(_paragraph(para))
                para = []
            state = "gap" if state in ("item", "gap") else "none"
            continue
        marker = 0 if line.startswith("- ") else 2 if line.startswith("  - ") else -1
        if marker >= 0:
            item = _simple_line(line[marker + 2 :], base)
            if item is None or state == "gap":
                return None
            if para:
                out.append(_paragraph(para))
                para = []
            # Two spaces in from a top-level `- ` item is inside it: a nested list.
            # Anything else is the next item of the top-level list (or starts one).
            if depth >= 0 and marker == 2 and indent == 0:
                out.append(f"<li>{item}</li>\n" if depth == 1 else f"\n<ul>\n<li>{item}</li>\n")
                depth = 1
            else:
                out.append(_CLOSE_ITEM[depth] if depth >= 0 else "<ul>\n")
                out.append(f"<li>{item}")
                depth = 0
                indent = marker
            state = "item"
            continue
        content = _simple_line(line, base)
        if content is None or state == "item":
            return None  # not prose, or a lazy continuation of the list item above
        if depth >= 0:
            out.append(_CLOSE_ITEM[depth] + "</ul>\n")
            depth = -1
        para.append(content)
        state = "para"
    if para:
        out.append(_paragraph(para))
    if depth >= 0:
        out.append(_CLOSE_ITEM[depth] + "</ul>\n")
    return "".join(out)


def _paragraph(lines: list[str]) -> str:
    return "<p>" + "\n".join(lines) + "</p>\n"


# What ends a top-level list item: after its text, or after its nested list.
_CLOSE_ITEM = ("</li>\n", "</ul>\n</li>\n")


def _simple_line(line: str, base: str) -> str | None:
    """One line of prose as HTML, or None if it could start a block or has other syntax."""
    if not line or line != line.strip():
        return None  # indented code, a hard break, or Unicode spaces markdown-it strips
    first = line[0]
    if first.isascii() and not (
        first.isalpha()
        or first in "\"'(*["
        or (first.isdigit() and _ORDERED_ITEM.match(line) is None)
    ):
        return None  # `#`, `>`, `-`, `+`, `=`, `:`... can start a block
    if "[" in line or "]" in line:
        return _linked_line(line, base)
    if "*" not in line:
        return _escape(line)
    # `**strong**` and `*emphasis*` around text that starts and ends with a letter or
    # digit: each such `*` run can open or close whatever is beside it, so pairs are
    # simply taken in order. Emphasis may sit inside strong text, not across it.
    pieces = line.split("**")
    if len(pieces) % 2 == 0 or "***" in line:
        return None
    html = []
    for number, piece in enumerate(pieces):
        parts = piece.split("*")
        if len(parts) % 2 == 0 or not all(_wordy(inner) for inner in parts[1::2]):
            return None
        parts[1::2] = [f"<em>{inner}</em>" for inner in parts[1::2]]
        if number % 2:
            if not _wordy(piece):
                return None
            parts = ["<strong>", *parts, "</strong>"]
        html.extend(parts)
    return _escape("".join(html))


# `[text](url)`: plain text, and a destination without spaces, parentheses or brackets.
_LINK = re.compile(r"\[([^\[\]]+)\]\(([^\s()\[\]]+)\)")


def _linked_line(line: str, base: str) -> str | None:
    """A line of prose with `[text](url)` links (and no emphasis) as HTML, or None."""
    if "*" in line:
        return None
    html = []
    label = ""
    for number, piece in enumerate(_LINK.split(line)):
        if number % 3 == 0:  # text between links
            if "[" in piece or "]" in piece:
                return None
            html.append(_escape(piece))
        elif number % 3 == 1:
            if piece != piece.strip():
                return None
            label = _escape(piece)
        else:
            href = _site_href(piece, base)
            if href is None:
                return None
            html.append(f'<a href="{href}">{label}</a>')
    return "".join(html)


_PLAIN_URL = re.compile(r"https?://[a-z0-9.-]+(?:/[A-Za-z0-9._~/-]*)?")


def uri(url: str) -> str:
    """`url` as an ASCII URI (non-ASCII percent-encoded, a punycode host), as markdown-it
    writes the links of commentary: what RSS readers and validators expect."""
    # normalizeLink leaves such URLs as they are, and takes most of the time of a
    # commentary with a link.
    return url if _PLAIN_URL.fullmatch(url) else str(markdown().normalizeLink(url))


def _site_href(url: str, base: str) -> str | None:
    """A link's `href` as markdown-it and `_render_link_open` write it; None if unsafe."""
    href = uri(url)
    if not is_safe_url(href):
        return None  # markdown-it keeps the text but drops the URL: let it
    if base and url_scheme(href) is None and not href.startswith(("#", "//")):
        href = resolve_site_url(href, base)
    return escapeHtml(href)


def _wordy(text: str) -> bool:
    return bool(text) and text[0].isalnum() and text[-1].isalnum()


def _escape(text: str) -> str:
    # Of what markdown-it escapes in text (& < > "), plain text can only hold ".
    return text.replace('"', "&quot;")


def plain_text(text: str) -> str:
    """Inline Markdown -> its text, with emphasis and link syntax removed."""
    tokens = markdown().parseInline(text, {})
    parts: list[str] = []
    for token in tokens:
        for child in token.children or []:
            if child.type in ("text", "code_inline"):
                parts.append(child.content)
            elif child.type in ("softbreak", "hardbreak"):
                parts.append(" ")
            elif child.type == "image":
                parts.append(child.content)
    return " ".join("".join(parts).split())
