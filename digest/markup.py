"""The one configured Markdown renderer: no raw HTML, only safe URL schemes."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any
from urllib.parse import urljoin

from markdown_it import MarkdownIt
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
    return urljoin(base, path.lstrip("/"))


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
    if not text:
        return ""
    plain = plain_paragraphs(text)
    if plain is not None:
        return "".join(f"<p>{_escape(p)}</p>\n" for p in plain)
    env: dict[str, Any] = {"base": base}
    return str(markdown().render(text, env))


def render_inline(text: str, base: str = "") -> str:
    """Inline Markdown (a title) -> HTML without a wrapping paragraph."""
    if _SYNTAX.search(text) is None and "\n" not in text and text == text.strip():
        return _escape(text)
    env: dict[str, Any] = {"base": base}
    return str(markdown().renderInline(text, env))


# Characters that can start Markdown syntax inside a line, and control characters
# (which markdown-it may rewrite). Text without them, in lines that start with a
# letter, is plain paragraphs: most commentary and titles. tests/test_fast_paths.py
# checks the shortcut against markdown-it.
_SYNTAX = re.compile(r"[\\`*_\[\]!<>&~\x00-\x09\x0b-\x1f\x7f]")


def plain_paragraphs(text: str) -> list[str] | None:
    """The paragraphs of `text` if it is plain prose (no Markdown syntax at all), else None."""
    if _SYNTAX.search(text) is not None:
        return None
    paragraphs: list[str] = []
    lines: list[str] = []
    for line in text.split("\n"):
        if not line:
            if lines:
                paragraphs.append("\n".join(lines))
                lines = []
        elif line[0].isalpha() and line == line.strip():
            lines.append(line)
        else:  # a list marker, heading, quote, indented code... or just a digit
            return None
    if lines:
        paragraphs.append("\n".join(lines))
    return paragraphs


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
