"""Links grouped by section, topic, tag and source, newest first, and their pages."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from typing import NamedTuple

from digest.model import Digest, Issue, Link, Section, Subtopic
from digest.slug import slugify


class Entry(NamedTuple):
    """A link in its context: the issue, section and subtopic it sits under.

    A named tuple rather than a frozen dataclass: a build makes one per link, and a
    frozen dataclass's __init__ cost a tenth of a rebuild at 30,000 links.
    """

    issue: Issue
    """The issue the link is in."""
    section: Section
    """The section it sits under."""
    subtopic: Subtopic | None
    """The subtopic it sits under, if any."""
    link: Link
    """The link."""


@dataclass(frozen=True, slots=True)
class Group:
    """Every link that shares a section, subtopic, tag or source, newest issue first."""

    kind: str
    """'sections', 'topics', 'tags' or 'sources': the URL folder."""
    slug: str
    """The group's folder under `kind` (a section's or topic's slug, a tag's slugified)."""
    name: str
    """The name shown: the most used spelling of the names that share the slug."""
    entries: tuple[Entry, ...]
    """Its links, newest issue first, in page order within an issue."""

    @property
    def path(self) -> str:
        """Site path of the group's first page."""
        return f"{self.kind}/{self.slug}/"


GROUP_KINDS = ("sections", "topics", "tags", "sources")


def entries(digest: Digest) -> list[Entry]:
    """Every link of the digest, newest issue first, in page order within an issue."""
    return [Entry(i, s, t, link) for i in digest.issues for s, t, link in i.all_links()]


def collect_groups(all_entries: Iterable[Entry]) -> dict[str, list[Group]]:
    """Group entries by section, subtopic, tag and source; one slug rule for all names.

    Names that share a slug (`LLM`, `llm`) share a page, shown under their most used
    spelling (ties: the first in sorted order), so the result never depends on order.
    """
    members: dict[tuple[str, str], list[Entry]] = {}
    spellings: dict[tuple[str, str], list[str]] = {}
    # Tens of thousands of links share a few hundred names: each name's group is
    # worked out once, and None marks a name without a page (no slug).
    groups_of: dict[tuple[str, str], list[Entry] | None] = {}
    for entry in all_entries:
        section, subtopic, link = entry.section, entry.subtopic, entry.link
        named: list[tuple[str, str, str | None]] = [("sections", section.name, section.slug)]
        if subtopic is not None:
            named.append(("topics", subtopic.name, subtopic.slug))
        named += [("tags", tag, None) for tag in dict.fromkeys(link.tags)]
        if link.source:
            named.append(("sources", link.source, None))
        for kind, name, slug in named:
            if (kind, name) not in groups_of:
                key = (kind, slugify(name) if slug is None else slug)
                groups_of[kind, name] = members.setdefault(key, []) if key[1] else None
                if key[1]:
                    spellings.setdefault(key, []).append(name)
            group = groups_of[kind, name]
            # Two names of one link can share a slug (`LLM`, `llm`): listed once.
            if group is not None and (not group or group[-1] is not entry):
                group.append(entry)
    groups: dict[str, list[Group]] = {kind: [] for kind in GROUP_KINDS}
    for (kind, slug), group_entries in members.items():
        names = spellings[kind, slug]
        if len(names) > 1:  # rare: count how often each spelling is used
            counts = Counter(n for e in group_entries for k, n in _names(e) if k == kind)
            name = min(names, key=lambda n: (-counts[n], n))
        else:
            name = names[0]
        groups[kind].append(Group(kind, slug, name, tuple(group_entries)))
    for kind in GROUP_KINDS:
        groups[kind].sort(key=lambda g: (-len(g.entries), g.slug))
    return groups


def _shape(issue: Issue) -> list[tuple[object, ...]]:
    """Where each link of `issue` is listed: its section, subtopic, tags and source."""
    return [
        (
            section.name,
            section.slug,
            (subtopic.name, subtopic.slug) if subtopic else None,
            tuple(dict.fromkeys(link.tags)),
            link.source,
        )
        for section, subtopic, link in issue.all_links()
    ]


def regroup(
    before: Digest, groups: dict[str, list[Group]], after: Digest
) -> dict[str, list[Group]] | None:
    """`collect_groups` of `after`, updated from `groups` of `before`; None if it cannot be.

    For `digest serve`: when an edit leaves every issue in its place and every link in
    the same groups, only the entries of the edited issues change, and only the groups
    they sit in are made again; the others are the very same objects (their page keys
    are kept by object, see `PageReuse`). Tests compare it with `collect_groups`.
    """
    if len(before.issues) != len(after.issues):
        return None
    changed = [
        (old, new) for old, new in zip(before.issues, after.issues, strict=True) if old is not new
    ]
    if len(changed) > _REGROUP_MAX:
        return None
    fresh: dict[int, Entry] = {}
    touched: set[tuple[str, str]] = set()
    for old, new in changed:
        if old.path != new.path or old.slug != new.slug or _shape(old) != _shape(new):
            return None
        for (section, subtopic, link), (s, t, n) in zip(
            old.all_links(), new.all_links(), strict=True
        ):
            fresh[id(link)] = Entry(new, s, t, n)
            touched.add(("sections", section.slug))
            if subtopic is not None:
                touched.add(("topics", subtopic.slug))
            touched.update(("tags", slugify(tag)) for tag in link.tags)
            if link.source:
                touched.add(("sources", slugify(link.source)))
    # A group lists its entries by issue, in digest order: an edited issue's entries
    # are one run in each group, found by bisection rather than a pass over thousands.
    place = {id(issue): n for n, issue in enumerate(before.issues)}
    runs = sorted(place[id(old)] for old, _ in changed)

    def position(entry: Entry) -> int:
        return place[id(entry.issue)]

    out: dict[str, list[Group]] = {}
    for kind, kind_groups in groups.items():
        out[kind] = [
            Group(kind, g.slug, g.name, _swap_runs(g.entries, runs, position, fresh))
            if (kind, g.slug) in touched
            else g
            for g in kind_groups
        ]
    return out


def _swap_runs(
    entries: tuple[Entry, ...],
    runs: list[int],
    position: Callable[[Entry], int],
    fresh: dict[int, Entry],
) -> tuple[Entry, ...]:
    """`entries`, with those of the issues at positions `runs` swapped for `fresh` ones."""
    parts: list[tuple[Entry, ...]] = []
    done = 0
    for n in runs:
        lo = bisect_left(entries, n, lo=done, key=position)
        hi = bisect_right(entries, n, lo=lo, key=position)
        parts += (entries[done:lo], tuple(fresh[id(e.link)] for e in entries[lo:hi]))
        done = hi
    parts.append(entries[done:])
    return tuple(chain.from_iterable(parts))


_REGROUP_MAX = 8
"""More edited issues than this at once: group afresh (it is rarely worth the checks)."""


def _names(entry: Entry) -> Iterator[tuple[str, str]]:
    yield "sections", entry.section.name
    if entry.subtopic is not None:
        yield "topics", entry.subtopic.name
    for tag in dict.fromkeys(entry.link.tags):
        yield "tags", tag
    if entry.link.source:
        yield "sources", entry.link.source


def pages(items: tuple[Entry, ...], per_page: int) -> list[tuple[Entry, ...]]:
    """Split a group's entries into pages of `per_page` (at least one page)."""
    return [items[i : i + per_page] for i in range(0, max(len(items), 1), per_page)]


def page_window(number: int, count: int, around: int = 2) -> list[int | None]:
    """Page numbers for a pagination bar, None for a gap: `1 … 4 5 [6] 7 8 … 20`.

    The first and last pages are always shown, and `around` pages either side of
    the current one, so the bar stays short however long the group grows.
    """
    shown = sorted({1, count, *range(max(1, number - around), min(count, number + around) + 1)})
    window: list[int | None] = []
    for n in shown:
        if window and n - (window[-1] or 0) > 1:
            window.append(None)
        window.append(n)
    return window


def page_path(base: str, number: int) -> str:
    """`topics/cv/` for page 1, `topics/cv/page/2/` for the others."""
    return base if number == 1 else f"{base}page/{number}/"


def group_digest(digest: Digest) -> dict[str, list[Group]]:
    """Sections, topics, tags and sources of the whole digest (`collect_groups`).

    Under `digest serve`, updated from this process's last grouping where `regroup` can.
    """
    groups = regroup(*_LAST_GROUPS[0], digest) if _LAST_GROUPS else None
    if groups is None:
        groups = collect_groups(entries(digest))
    _LAST_GROUPS[:] = [(digest, groups)]
    return groups


_LAST_GROUPS: list[tuple[Digest, dict[str, list[Group]]]] = []
"""The digest this process grouped last, and its groups (see `regroup`)."""
