"""The typed model: Digest > Issue > Section > Subtopic > Link. Frozen, no I/O."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, ClassVar

from digest.errors import Diagnostic


class _PickledByFields:
    """Pickles a dataclass as a call of its constructor with its fields, in order.

    A frozen slotted dataclass otherwise pickles through a `__setstate__` that looks up
    its fields for every object: unpickling a parsed issue (from the worker pool or the
    cache) took three times as long.
    """

    __slots__ = ()
    __match_args__: ClassVar[tuple[str, ...]]
    """The constructor's positional fields, in order (set by @dataclass); fields made
    by `__post_init__` are not among them and are made again when unpickled."""

    def __reduce__(self) -> tuple[Any, ...]:
        cls = type(self)
        return cls, tuple([getattr(self, name) for name in cls.__match_args__])


@dataclass(frozen=True, slots=True)
class Link(_PickledByFields):
    """One recommended article and the editor's commentary on it."""

    id: str
    """Anchor on the issue page, unique within the issue."""
    title: str
    """Plain-text title (Markdown emphasis removed)."""
    title_md: str
    """Title as written, inline Markdown."""
    url: str
    """The article's absolute http(s) URL, as written."""
    published: str | None
    """`YYYY-MM` or `YYYY-MM-DD`, or None when unknown."""
    source: str | None
    """Organisation that published the article."""
    tags: tuple[str, ...]
    """Free-form tags, in the order written."""
    commentary: str
    """Commentary in Markdown, one line per source line; '' when none."""
    line: int
    """1-based line of the link in its file."""


@dataclass(frozen=True, slots=True)
class Subtopic(_PickledByFields):
    """A subtopic (CV, NLP, ...) under a section of one issue."""

    name: str
    """The taxonomy's name, or the heading when not in the taxonomy."""
    heading: str
    """The heading as written, numbering removed."""
    slug: str
    """URL slug (`/topics/<slug>/`)."""
    note: str
    """Markdown between the heading and its first link."""
    links: tuple[Link, ...]
    """Links in source order."""


@dataclass(frozen=True, slots=True)
class Section(_PickledByFields):
    """A section (Research, Business Cases, ...) of one issue."""

    name: str
    """The taxonomy's name, or the heading when not in the taxonomy."""
    heading: str
    """The heading as written, numbering removed."""
    slug: str
    """URL slug (`/sections/<slug>/`)."""
    note: str
    """Markdown between the heading and its first link or subtopic."""
    links: tuple[Link, ...]
    """Links directly under the section, before any subtopic."""
    subtopics: tuple[Subtopic, ...]
    """Subtopics in source order."""


@dataclass(frozen=True, slots=True)
class Issue(_PickledByFields):
    """One digest issue, read from one file."""

    slug: str
    """File stem; the issue lives at `/issues/<slug>/`."""
    title: str
    """Issue title (from front matter, the legacy `#` line, or the date pattern)."""
    date: dt.date
    """Publication date of the issue."""
    path: str
    """The file it was read from, as given."""
    intro: str
    """Markdown before the first section."""
    sections: tuple[Section, ...]
    """Sections in source order."""
    summary: str = ""
    """One-line summary for lists and feeds."""
    draft: bool = False
    """Drafts are built only with `--drafts`."""
    link_count: int = field(init=False, repr=False, compare=False)
    """How many links the issue has (for lists of issues)."""

    def __post_init__(self) -> None:
        # Counted once: a rebuild asks thousands of times (archive, index, checks).
        count = sum(len(s.links) + sum(len(t.links) for t in s.subtopics) for s in self.sections)
        object.__setattr__(self, "link_count", count)

    def links(self) -> list[Link]:
        """Every link of the issue in page order (`all_links` without where each sits)."""
        out: list[Link] = []
        for section in self.sections:
            out += section.links
            for sub in section.subtopics:
                out += sub.links
        return out

    def all_links(self) -> list[tuple[Section, Subtopic | None, Link]]:
        """Every link of the issue in page order, with where it sits."""
        out: list[tuple[Section, Subtopic | None, Link]] = []
        for section in self.sections:
            out.extend((section, None, link) for link in section.links)
            for sub in section.subtopics:
                out.extend((section, sub, link) for link in sub.links)
        return out


@dataclass(frozen=True, slots=True)
class ParsedIssue(_PickledByFields):
    """What a reader returns: the issue and the warnings met on the way."""

    issue: Issue
    """The issue read."""
    warnings: tuple[Diagnostic, ...] = field(default_factory=tuple)
    """Non-fatal problems (unknown headings, ...)."""


@dataclass(frozen=True, slots=True)
class Digest:
    """Every issue of the site, newest first."""

    issues: tuple[Issue, ...]
    """Issues sorted by date, newest first (ties broken by slug)."""


def issue_to_json(issue: Issue) -> dict[str, Any]:
    """The issue in DESIGN.md's `digest dump` schema."""
    return {
        "slug": issue.slug,
        "title": issue.title,
        "date": issue.date.isoformat(),
        "path": issue.path,
        "intro": issue.intro,
        "sections": [
            {
                "name": s.name,
                "heading": s.heading,
                "slug": s.slug,
                "note": s.note,
                "links": [link_to_json(link) for link in s.links],
                "subtopics": [
                    {
                        "name": t.name,
                        "heading": t.heading,
                        "slug": t.slug,
                        "note": t.note,
                        "links": [link_to_json(link) for link in t.links],
                    }
                    for t in s.subtopics
                ],
            }
            for s in issue.sections
        ],
    }


def link_to_json(link: Link) -> dict[str, Any]:
    """The link in DESIGN.md's `digest dump` schema."""
    return {
        "id": link.id,
        "title": link.title,
        "title_md": link.title_md,
        "url": link.url,
        "published": link.published,
        "source": link.source,
        "tags": list(link.tags),
        "commentary": link.commentary,
        "line": link.line,
    }
