"""Headings and links -> sections and subtopics; shared by the native and legacy readers."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from digest.config import Taxonomy, Term, strip_numbering
from digest.errors import ContentError, Diagnostic, SourceText
from digest.markup import plain_text
from digest.model import Link, Section, Subtopic
from digest.slug import slugify, unique_slug


@dataclass(slots=True)
class LinkDraft:
    """A link as read, before its id is settled."""

    title_md: str
    url: str
    published: str | None
    source: str | None
    tags: tuple[str, ...]
    line: int
    explicit_id: str | None = None
    id_pos: tuple[int, int] | None = None
    """Line and column of the written `id:` value, where a duplicate id is reported."""
    commentary: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Group:
    name: str
    heading: str
    slug: str
    line: int
    note: list[str] = field(default_factory=list)
    links: list[LinkDraft] = field(default_factory=list)
    subtopics: list[_Group] = field(default_factory=list)


_SYNTAX = "\\n\\r\\x00\\\\`~*_\\[!<&"
_INLINE_SYNTAX = re.compile(f"[{_SYNTAX}]")
"""Characters that start some inline Markdown rule (or are rewritten by its normalizer)."""
_PLAIN = f"[^{_SYNTAX}]"
_EMPHASIS_ONLY = re.compile(
    rf"(?:{_PLAIN}|(?:^|(?<= ))\*[A-Za-z0-9](?:{_PLAIN}*[A-Za-z0-9])?\*(?= |$))*"
)
"""Plain text and `*words*` that can only open (after a space) and only close (before one)."""


def plain_title(text: str) -> str:
    """`plain_text(text)`, without parsing Markdown when the title has no Markdown syntax.

    Most titles are plain words or have one `*word*`, and parsing each as Markdown was
    a third of reading a file; tests/test_fast_paths.py checks both paths agree.
    """
    if _INLINE_SYNTAX.search(text) is None:
        return " ".join(text.split())
    if _EMPHASIS_ONLY.fullmatch(text):
        return " ".join(text.replace("*", "").split())
    return plain_text(text)


@functools.lru_cache(maxsize=1024)
def _term(taxonomy: Taxonomy, heading: str, subtopic: bool) -> Term | None:
    # The same few headings open every issue; matching one walks every name and alias.
    return taxonomy.match_subtopic(heading) if subtopic else taxonomy.match_section(heading)


def trim_lines(lines: list[str]) -> str:
    """Join lines, dropping blank lines at both ends and trailing whitespace.

    Except a hard line break: two spaces at the end of a line that the next line of
    the paragraph follows, which Markdown renders as `<br>`; they stay as written.
    """
    lines = [
        line if line.endswith("  ") and after.strip() else line.rstrip()
        for line, after in zip(lines, [*lines[1:], ""], strict=False)
    ]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


class Outline:
    """Collects headings, notes and links in source order, then freezes them."""

    def __init__(self, src: SourceText, taxonomy: Taxonomy) -> None:
        self.src = src
        self.taxonomy = taxonomy
        self.sections: list[_Group] = []
        self.warnings: list[Diagnostic] = []
        self.errors: list[Diagnostic] = []
        self._current: _Group | None = None
        self._section: _Group | None = None
        """The section the last `##` opened (an existing one when a heading repeats it)."""
        self._link: LinkDraft | None = None

    def section(self, raw: str, line: int) -> None:
        """Open a section at a `##` heading."""
        heading = strip_numbering(raw)
        term = _term(self.taxonomy, heading, False)
        if term is None:
            self._warn_unknown(heading, line, subtopic=False)
        name, slug = (term.name, term.slug) if term else (heading, slugify(heading) or "section")
        existing = next((s for s in self.sections if s.slug == slug), None)
        group = existing or _Group(name, heading, slug, line)
        if existing is None:
            self.sections.append(group)
        self._current, self._section, self._link = group, group, None

    def subtopic(self, raw: str, line: int) -> None:
        """Open a subtopic at a `###` heading, under the current section."""
        heading = strip_numbering(raw)
        if not self.sections:
            raise ContentError(
                self.src.diag(
                    f"subtopic '{heading}' comes before any section",
                    line,
                    1,
                    hint="add a section heading such as `## Research` above it",
                )
            )
        term = _term(self.taxonomy, heading, True)
        if term is None:
            self._warn_unknown(heading, line, subtopic=True)
        name, slug = (term.name, term.slug) if term else (heading, slugify(heading) or "topic")
        parent = self._section or self.sections[-1]
        existing = next((t for t in parent.subtopics if t.slug == slug), None)
        group = existing or _Group(name, heading, slug, line)
        if existing is None:
            parent.subtopics.append(group)
        self._current, self._link = group, None

    def _warn_unknown(self, heading: str, line: int, subtopic: bool) -> None:
        kind = "subtopic" if subtopic else "section"
        guess = self.taxonomy.suggest(heading, subtopic)
        known = self.taxonomy.subtopics if subtopic else self.taxonomy.sections
        names = ", ".join(t.name for t in known)
        hint = (
            (f"did you mean '{guess}'? " if guess else "")
            + (f"known {kind}s: {names}; or add it" if names else f"no {kind}s are set; add it")
            + " (or an alias) to the taxonomy in site.yaml"
        )
        self.warnings.append(
            self.src.diag(f"unknown {kind} '{heading}'", line, 1, hint=hint, severity="warning")
        )

    @property
    def in_section(self) -> bool:
        """True once a section heading has been seen."""
        return self._current is not None

    def add_link(self, draft: LinkDraft) -> None:
        """Add a link under the current heading; commentary lines follow it."""
        assert self._current is not None
        self._current.links.append(draft)
        self._link = draft

    def text(self, line: str) -> None:
        """A line of commentary (after a link) or of the current heading's note."""
        if self._link is not None:
            self._link.commentary.append(line)
        elif self._current is not None:
            self._current.note.append(line)

    def text_lines(self, lines: list[str]) -> None:
        """Several lines of commentary or note at once, as `text` would add them."""
        if self._link is not None:
            self._link.commentary.extend(lines)
        elif self._current is not None:
            self._current.note.extend(lines)

    def freeze(self) -> tuple[Section, ...]:
        """Settle link ids (explicit first, then slugs of titles) and build the model."""
        drafts = [d for s in self.sections for group in (s, *s.subtopics) for d in group.links]
        taken: set[str] = set()
        first_line: dict[str, int] = {}
        for d in drafts:
            if d.explicit_id is None:
                continue
            line, col = d.id_pos or (d.line, 1)
            if d.explicit_id in taken:
                self.errors.append(
                    self.src.diag(
                        f"duplicate link id '{d.explicit_id}' (first used on line "
                        f"{first_line[d.explicit_id]})",
                        line,
                        col,
                        hint="ids must be unique within an issue; change or remove one `id:`",
                    )
                )
            taken.add(d.explicit_id)
            first_line.setdefault(d.explicit_id, d.line)  # the link's line, as in dump
        titles = {id(d): plain_title(d.title_md) for d in drafts}
        ids = {id(d): d.explicit_id or unique_slug(slugify(titles[id(d)]), taken) for d in drafts}

        def link(d: LinkDraft) -> Link:
            return Link(
                id=ids[id(d)],
                title=titles[id(d)],
                title_md=d.title_md,
                url=d.url,
                published=d.published,
                source=d.source,
                tags=d.tags,
                commentary=trim_lines(d.commentary),
                line=d.line,
            )

        return tuple(
            Section(
                name=s.name,
                heading=s.heading,
                slug=s.slug,
                note=trim_lines(s.note),
                links=tuple(link(d) for d in s.links),
                subtopics=tuple(
                    Subtopic(
                        name=t.name,
                        heading=t.heading,
                        slug=t.slug,
                        note=trim_lines(t.note),
                        links=tuple(link(d) for d in t.links),
                    )
                    for t in s.subtopics
                ),
            )
            for s in self.sections
        )
