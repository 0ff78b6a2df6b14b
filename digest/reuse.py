"""Which pages of the last build can stay as they are: page keys from what each shows."""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from itertools import compress, count
from operator import is_not
from typing import NamedTuple

from digest.cache import Store, fingerprint
from digest.groups import Entry, Group
from digest.model import Issue


class PageReuse:
    """Which pages of the last build can stay as they are, by a key of their inputs.

    A page's key hashes everything it shows: the site-wide inputs (config, templates,
    the tool's code), the content of what it lists, and its own parameters. An issue
    page hashes its issue file's content key; a group page the cards it lists, each
    by a hash of what its card shows, so an edit to one link re-renders the few group
    pages that show it, not every page listing a link of that issue. Equal key and
    the file still in place: the page is kept without rendering. Tests compare such
    builds with cold ones byte for byte.
    """

    def __init__(
        self,
        site_key: str,
        issue_keys: dict[str, str],
        previous: dict[str, str],
        exists: Callable[[str], bool],
        store: Store | None = None,
    ) -> None:
        self.site_key = site_key
        self.issue_keys = issue_keys
        self.previous = previous
        self.exists = exists
        self.store = store
        """Where card hashes are kept by issue content key (they cost a hash per link)."""
        self.keys: dict[str, str] = {}
        """The key of every keyed page of this build, for the next one."""
        self._cards: dict[str, dict[str, str] | None] = {}
        self._by_link: dict[int, str] = {}

    def keep(self, out: str, issues: Iterable[Issue], parts: object) -> bool:
        """Record the key of `out` (showing whole `issues`); True if its file can be kept."""
        tokens = []
        for issue in issues:
            key = self.issue_keys.get(issue.path)
            if key is None:
                return False
            tokens.append(f"{issue.slug}\x1f{key}")
        return self._keep(out, [repr(parts), *tokens])

    def keep_cards(self, out: str, entries: Sequence[Entry], parts: object) -> bool:
        """Record the key of `out` (listing the cards of `entries`); True if it can be kept."""
        tokens = self._tokens(entries)
        return tokens is not None and self._keep(out, [repr(parts), *tokens])

    def _tokens(self, entries: Sequence[Entry]) -> list[str] | None:
        """The card hash of each entry, in order; None if an issue's are unknown."""
        by_link = self._by_link  # thousands of pages list 50 links each: one lookup per link
        try:
            return [by_link[id(entry.link)] for entry in entries]
        except KeyError:  # an issue not hashed yet
            issues = {id(e.issue): e.issue for e in entries}  # by id: hashing an issue is slow
            if any(self.card_hashes(issue) is None for issue in issues.values()):
                return None
            return [by_link[id(entry.link)] for entry in entries]

    def keep_group_page(self, out: str, group: Group, start: int, stop: int, parts: object) -> bool:
        """`keep_cards` for the page of `group` listing its entries `start:stop`.

        A group's card hashes and page keys are kept with the group object: under
        `digest serve` the groups an edit did not touch are the very same objects (see
        `regroup`), and in those it did, only the pages showing an edited link are
        hashed again. `digest build` hashes every page, once.
        """
        known = _GROUP_KEYS.get((group.kind, group.slug))
        if known is None or known.group is not group or known.site_key != self.site_key:
            known = self._rekey(group, known)
            if known is None:
                return False
            _GROUP_KEYS[group.kind, group.slug] = known
        page = known.pages.get(out)
        if page is not None and page[0] == start and page[1] == stop and page[2] == parts:
            digest = page[3]
        else:
            digest = self._digest([repr(parts), *known.tokens[start:stop]])
            known.pages[out] = (start, stop, parts, digest)
        return self._keep_digest(out, digest)

    def _rekey(self, group: Group, known: _Keyed | None) -> _Keyed | None:
        """Card hashes of `group`, and page keys, from `known` for the entries it shares."""
        if known is None or len(known.group.entries) != len(group.entries):
            fresh = self._tokens(group.entries)
            return _Keyed(group, fresh, self.site_key, {}) if fresh is not None else None
        entries, tokens = group.entries, list(known.tokens)
        # Where the entries differ from the last build's, found in C (see `regroup`).
        changed = list(compress(count(), map(is_not, entries, known.group.entries)))
        for i in changed:
            cards = self.card_hashes(entries[i].issue)
            if cards is None:
                return None
            tokens[i] = cards[entries[i].link.id]
        pages = {}
        if known.site_key == self.site_key:  # pages that show none of them keep their keys
            pages = {
                out: page
                for out, page in known.pages.items()
                if bisect_left(changed, page[0]) == bisect_left(changed, page[1])
            }
        return _Keyed(group, tokens, self.site_key, pages)

    def keep_hashed(self, out: str, content_hash: str) -> bool:
        """Record `out`'s key as a hash of its bytes; True if its file can be kept."""
        return self._keep_digest(out, content_hash)

    def _keep(self, out: str, tokens: list[str]) -> bool:
        return self._keep_digest(out, self._digest(tokens))

    def _digest(self, tokens: list[str]) -> str:
        text = "\x1e".join([self.site_key, *tokens])
        # A plain join and one hash: thousands of group pages list 50 links each.
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]

    def _keep_digest(self, out: str, digest: str) -> bool:
        self.keys[out] = digest
        return self.previous.get(out) == digest and self.exists(out)

    def card_hashes(self, issue: Issue) -> dict[str, str] | None:
        """A hash per link of all its group card and feed items show; None if unknown."""
        if issue.path in self._cards:
            return self._cards[issue.path]
        key = self.issue_keys.get(issue.path)
        cards = None
        if key is not None:
            cards = self.store.get(("cards", key)) if self.store is not None else None
            if cards is None:
                cards = {
                    link.id: fingerprint(
                        issue.slug,
                        issue.title,
                        issue.date,  # feeds date their items by it
                        section.name,
                        subtopic.name if subtopic else None,
                        link.id,
                        link.title_md,
                        link.url,
                        link.published,
                        link.source,
                        link.tags,
                        link.commentary,
                    )
                    for section, subtopic, link in issue.all_links()
                }
                if self.store is not None:
                    self.store.put(("cards", key), cards)
        self._cards[issue.path] = cards
        if cards is not None:
            # By object: the digest keeps every link alive for the whole build.
            self._by_link.update((id(link), cards[link.id]) for link in issue.links())
        return cards


class _Keyed(NamedTuple):
    """A group as last keyed by this process (see `PageReuse.keep_group_page`)."""

    group: Group
    tokens: list[str]
    """The card hash of each entry."""
    site_key: str
    pages: dict[str, tuple[int, int, object, str]]
    """By page: the entries it shows (start, stop), its parameters and its key."""


_GROUP_KEYS: dict[tuple[str, str], _Keyed] = {}
"""Groups last keyed, by kind and slug."""
