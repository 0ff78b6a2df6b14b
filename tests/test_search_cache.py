"""The search index rebuilt from its cache is byte-identical to a cold one, whatever changed."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import re
import unicodedata
from pathlib import Path

import pytest

from digest.cache import Store, fingerprint
from digest.model import Digest, Issue, Link, Section
from digest.search import (
    _DIACRITICS,
    _PLAIN_TEXT,
    _Index,
    _Postings,
    build_search_index,
    decode_ids,
    digest_search_index,
    encode_ids,
    index_terms,
    normalize,
    search_docs,
    tokenize,
)

# A small vocabulary, so that some terms are in most links (bitmap form) and some in few.
WORDS = [
    "모델",
    "딥러닝",
    "추천시스템",
    "학습",
    "데이터",
    "transformer",
    "rlhf",
    "vision",
    "agent",
    "검색",
    "서빙",
    "평가",
]


def plain(text: str) -> str:
    """Commentary as search text: the Markdown is plain already."""
    return text


def make_link(rng: random.Random, anchor: str) -> Link:
    """A link with a few random words in its title, tags and commentary."""
    title = " ".join(rng.choices(WORDS, k=rng.randint(1, 3)))
    commentary = " ".join(rng.choices([*WORDS, f"w{rng.randint(0, 300)}"], k=rng.randint(0, 8)))
    tags = tuple(rng.sample(WORDS[5:], k=rng.randint(0, 2)))
    return Link(anchor, title, title, f"https://e.com/{anchor}", None, None, tags, commentary, 1)


def make_issue(rng: random.Random, number: int, links: int) -> Issue:
    """An issue of `links` random links (issue numbers count up to the newest)."""
    slug = f"issue-{number}"
    section = Section(
        "Research",
        "Research",
        "research",
        "",
        tuple(make_link(rng, f"{slug}-{n}") for n in range(links)),
        (),
    )
    return Issue(slug, f"{number}호", dt.date(2000, 1, 1), f"{slug}.md", "", (section,))


def with_links(issue: Issue, links: list[Link]) -> Issue:
    """The issue with its links replaced."""
    section = dataclasses.replace(issue.sections[0], links=tuple(links))
    return dataclasses.replace(issue, sections=(section,))


@dataclasses.dataclass
class Live:
    """The index files the last build left in the site, and their keys (as `PageReuse` has)."""

    files: dict[str, bytes] = dataclasses.field(default_factory=dict)
    keys: dict[str, str] = dataclasses.field(default_factory=dict)
    made: set[str] = dataclasses.field(default_factory=set)
    """What the last build gave bytes for (the others it said the site had)."""


def cached_build(
    folder: Path,
    issues: list[Issue],
    seen: dict[str, Issue] | None = None,
    live: Live | None = None,
) -> dict[str, bytes]:
    """Index the digest through the store in `folder`, saving it as the site would.

    With `seen`, the issues indexed before are found by their content key, as the
    site finds them in its parse cache. With `live`, files the site has already may
    come back as None, as in a site build; they are taken from it, and it is updated.
    """
    keys = {issue.path: fingerprint(repr(issue)) for issue in issues}
    store = Store(folder, "search")
    previous = seen.get if seen is not None else None
    recorded: dict[str, str] = {}

    def keep(path: str, token: str) -> bool:
        recorded[path] = token
        return live is not None and live.keys.get(path) == token and path in live.files

    files = digest_search_index(Digest(tuple(issues)), plain, keys, store, previous, keep)
    store.save()
    if seen is not None:
        seen.update((keys[issue.path], issue) for issue in issues)
    assert live is not None or None not in files.values()
    made = {path: data for path, data in files.items() if data is not None}
    if live is None:
        return made
    live.files = {path: live.files[path] if data is None else data for path, data in files.items()}
    live.keys, live.made = recorded, set(made)
    return live.files


def cold_build(issues: list[Issue]) -> dict[str, bytes]:
    return build_search_index(search_docs(Digest(tuple(issues)), plain))


@pytest.mark.parametrize("with_live_site", [False, True])
@pytest.mark.parametrize("knows_old_issues", [False, True])
def test_cached_builds_match_cold_ones(
    tmp_path: Path, knows_old_issues: bool, with_live_site: bool
) -> None:
    rng = random.Random(6)
    seen: dict[str, Issue] | None = {} if knows_old_issues else None
    live = Live() if with_live_site else None
    issues = [make_issue(rng, n, rng.randint(15, 25)) for n in range(12, 0, -1)]  # newest first

    def edit_commentary(at: int) -> None:
        links = list(issues[at].sections[0].links)
        links[1] = dataclasses.replace(links[1], commentary="완전히 새 코멘트 zebra 모델")
        issues[at] = with_links(issues[at], links)

    def add_link(at: int) -> None:
        links = list(issues[at].sections[0].links)
        links.insert(2, make_link(rng, f"new-{rng.randint(0, 10**9)}"))
        issues[at] = with_links(issues[at], links)

    def remove_link(at: int) -> None:
        issues[at] = with_links(issues[at], list(issues[at].sections[0].links[1:]))

    assert cached_build(tmp_path, issues, seen, live) == cold_build(issues)  # no cache yet
    assert cached_build(tmp_path, issues, seen, live) == cold_build(issues)  # nothing changed
    for change in (edit_commentary, add_link, remove_link):
        for at in (0, 7, len(issues) - 1):  # newest, an old one, the oldest
            change(at)
            assert cached_build(tmp_path, issues, seen, live) == cold_build(issues), (change, at)
    issues.insert(0, make_issue(rng, 13, 20))  # a new issue
    assert cached_build(tmp_path, issues, seen, live) == cold_build(issues)
    del issues[5]  # an issue deleted
    assert cached_build(tmp_path, issues, seen, live) == cold_build(issues)
    issues[3:6] = [with_links(issue, []) for issue in issues[3:6]]  # issues emptied
    assert cached_build(tmp_path, issues, seen, live) == cold_build(issues)


@pytest.mark.parametrize("knows_old_issues", [False, True])
def test_random_edits_match_cold_builds(tmp_path: Path, knows_old_issues: bool) -> None:
    rng = random.Random(7)
    seen: dict[str, Issue] | None = {} if knows_old_issues else None
    live = Live()
    issues = [make_issue(rng, n, rng.randint(5, 30)) for n in range(10, 0, -1)]
    for step in range(25):
        if step % 5 == 4:  # the site lost some files: they are made again
            for path in rng.sample(sorted(live.files), k=3):
                del live.files[path]
        at = rng.randrange(len(issues))
        links = list(issues[at].sections[0].links)
        for _ in range(rng.randint(1, 3)):
            where = rng.randint(0, len(links))
            if links and rng.random() < 0.3:  # a commentary edit: no link added or removed
                link = links[min(where, len(links) - 1)]
                text = " ".join(rng.choices([*WORDS, "zebra"], k=rng.randint(0, 8)))
                links[min(where, len(links) - 1)] = dataclasses.replace(link, commentary=text)
            elif links and rng.random() < 0.5:
                del links[min(where, len(links) - 1)]
            else:
                links.insert(where, make_link(rng, f"x-{rng.randint(0, 10**9)}"))
        issues[at] = with_links(issues[at], links)
        assert cached_build(tmp_path, issues, seen, live) == cold_build(issues)


def test_a_rebuild_makes_only_the_files_an_edit_changed(tmp_path: Path) -> None:
    # The others are None ("the site has it"): neither made, hashed nor compared.
    rng = random.Random(11)
    live = Live()
    issues = [make_issue(rng, n, 20) for n in range(40, 0, -1)]
    before = cached_build(tmp_path, issues, {}, live)
    assert live.made == set(before)  # a first build makes every file
    assert cached_build(tmp_path, issues, {}, live) == before
    assert live.made == set()  # nothing changed: nothing made
    for at in (0, 20, 39):
        links = list(issues[at].sections[0].links)
        links[3] = dataclasses.replace(links[3], commentary=f"zebra{at} 모델")
        issues[at] = with_links(issues[at], links)
        old = dict(live.files)
        new = cached_build(tmp_path, issues, {}, live)
        assert new == cold_build(issues)
        changed = {path for path in new if old.get(path) != new[path]}
        assert changed <= live.made  # every changed file was made...
        assert len(live.made) <= 2 * len(changed) + 2  # ...and few unchanged ones were
        assert len(live.made) < len(new) // 4, at


def test_an_edit_in_the_newest_issue_splices_only_its_terms() -> None:
    # The newest links have the highest ids: lists that end before them are kept as they are.
    rng = random.Random(9)
    issues = [make_issue(rng, n, 20) for n in range(12, 0, -1)]
    docs = search_docs(Digest(tuple(issues)), plain)
    index = _Index.of(docs, [], [])
    before = dict(index.postings)
    newest = 20
    start = len(docs) - newest
    issues[0] = with_links(issues[0], [make_link(rng, f"new-{n}") for n in range(newest + 1)])
    new_docs = search_docs(Digest(tuple(issues[:1])), plain)
    index.replace(start, len(docs), new_docs)
    new_terms = {
        term
        for d in new_docs
        for token in tokenize(" ".join((d.title, d.source, *d.tags, d.text)))
        for term in index_terms(token)
    }
    older = [
        t
        for t, lists in before.items()
        if all(p.last < start for p in lists) and t not in new_terms
    ]
    assert older, "the vocabulary has terms only older issues use"
    assert all(index.postings[t] is before[t] for t in older)
    assert index.files() == cold_build(issues)


def test_a_commentary_edit_splices_only_the_lists_it_changes() -> None:
    # With the old links known and none added or removed, no id moves: lists of terms
    # the edit neither added nor removed stay as they were, though the newest issue
    # has most terms.
    rng = random.Random(10)
    issues = [make_issue(rng, n, 20) for n in range(12, 0, -1)]
    docs = search_docs(Digest(tuple(issues)), plain)
    index = _Index.of(docs, [], [])
    before = dict(index.postings)
    old = search_docs(Digest(tuple(issues[:1])), plain)
    links = list(issues[0].sections[0].links)
    links[3] = dataclasses.replace(links[3], commentary=links[3].commentary + " zebra")
    issues[0] = with_links(issues[0], links)
    new = search_docs(Digest(tuple(issues[:1])), plain)
    start = len(docs) - len(new)
    index.replace(start, len(docs), new, old)
    changed = [t for t in index.postings if index.postings[t] is not before.get(t)]
    assert changed == ["zebra"]
    assert index.files() == cold_build(issues)


def test_spliced_postings_match_fresh_ones() -> None:
    rng = random.Random(8)
    for _ in range(1500):
        size = rng.choice([3, 60, 400, 3000])
        density = rng.random()
        ids = [i for i in range(size) if rng.random() < density]
        postings = _Postings.of(ids)
        for _ in range(3):
            postings.text()  # sometimes makes the bitmap, which splices keep up to date
            start = rng.randint(0, size)
            end = rng.randint(start, size)
            new_end = start + rng.randint(0, 40)
            added = sorted(rng.sample(range(start, new_end), rng.randint(0, new_end - start)))
            later = [i + new_end - end for i in ids if i >= end]
            ids = [i for i in ids if i < start] + added + later
            size += new_end - end
            postings = postings.splice(start, end, new_end, added)
            assert postings.text() == encode_ids(ids)
            assert decode_ids(postings.text()) == ids


def test_text_the_shortcut_takes_has_no_marks_to_drop() -> None:
    # normalize() skips the diacritic step for text of only these characters.
    plain = [chr(cp) for cp in range(0x110000) if not _PLAIN_TEXT.match(chr(cp))]
    assert len(plain) == 128 + 256 + 96 + 11172  # ASCII, jamo, compatibility jamo, syllables
    for char in plain:
        assert not _DIACRITICS.search(unicodedata.normalize("NFD", char)), hex(ord(char))


def test_normalize_fast_path_matches_the_full_rule() -> None:
    def full(text: str) -> str:
        text = unicodedata.normalize("NFKC", text).lower()
        text = re.sub("[\u0300-\u036f]", "", unicodedata.normalize("NFD", text))
        return unicodedata.normalize("NFC", text)

    samples = ["모델 → 딥러닝’s “café” Ｔｒａｎｓ ↚ ≠ ﬁ İ", "추천시스템 — 1/4…", "a\u0301 가\u11a8"]
    samples += [chr(cp) for cp in range(0x2000)]  # Latin, Greek, Cyrillic and more
    for text in samples:
        assert normalize(text) == full(text), ascii(text)
