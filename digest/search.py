"""Offline search: a static, sharded index of English words and Hangul bigrams.

Why not Pagefind, the usual choice: measured for this digest, Pagefind 1.5.2
finds `러닝` in 1 of 4 pages that contain `딥러닝` (it indexes whole Korean
words, so compounds and particles hide terms), and its first Korean query at
1,000 pages downloads 2.2 MB. This index is made for Korean commentary with
English titles, and a query downloads only the few small files it needs.

- One split rule, run identically here and in `static/search.js` (a test runs
  both over the same tricky strings): NFKC, lowercase, drop Latin diacritics
  (NFD, strip U+0300-U+036F, NFC), then take maximal runs of Latin letters and
  digits (`[0-9a-zß-ɏ]`) and of Hangul syllables (`[가-힣]`). Everything else
  separates, so `Transformer보다` gives `transformer` and `보다`, and NFD Korean
  (macOS), fullwidth `Ｔｒａｎｓ` and ligatures read like plain text.
- English: whole words are indexed; a query word matches every indexed word it
  is a prefix of (`transf` finds `transformer`), case-insensitively.
- Korean has particles (`모델과`) and compounds (`딥러닝`), so a Hangul run is
  indexed as its overlapping syllable bigrams (`추천시스템` gives 추천, 천시,
  시스, 스템; a one-syllable run is kept as a unigram). A query run must contain
  all its bigrams: `러닝` finds `딥러닝`, `시스템` finds `추천시스템`, `모델`
  finds `모델과`. A query run that ends in a common particle or ending (과, 은,
  에서, 으로, 처럼, 하는, ...) with at least two syllables left is also searched
  without it, so `모델과` finds every `모델` link too; the form as typed ranks
  first. A one-syllable query matches the bigrams that start with it. The
  bigrams need not be adjacent in the link, so a rare false match is possible.
- Ranking: every query run must match (AND). A run scores 2 × the best field it
  hits (title 3, source or tag 2, commentary 1), plus 1 for an exact word or
  the form as typed; a link's score is the sum. Ties go to the newest issue:
  links are numbered newest first and lower numbers win.
- Sharding, so a query downloads only what it needs: the manifest lists the
  shard keys. English words are grouped by their first two letters; a group
  larger than `SHARD_BYTES` is split by the next letter, recursively, so a
  prefix query still reads one shard, or a few. Hangul terms are grouped by
  their first syllable; a large group is split into hash buckets (FNV-1a), so
  an exact bigram reads one small file. A prefix that would need more than
  `PREFIX_FILES` files (a one-letter query) matches only the exact word.
- Postings: per term, the ids of the links where its best field is the title,
  a source or tag, or the commentary: three ascending id lists, each as
  base-64 varints of the gaps (runs of consecutive ids collapsed) or, when
  shorter, a bitmap of 6 ids per character, so even a term in every link
  costs little. Link metadata (title, URL with anchor, source, issue) lives
  in chunks of `DOC_CHUNK` links, fetched only for the results shown.
- Measured (`python bench/search_bench.py --issues 1000`: 30,000 synthetic
  links, 8.0 MB index in 3,112 files): the first query for 모델, 러닝,
  transf or 추천시스템 downloads 29-91 KB (raw; about half gzipped), an
  eight-word Korean sentence 189 KB; the query itself takes 1-20 ms in node
  (70 ms for that sentence) on a busy 2-core machine.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from digest.model import Digest

FORMAT_VERSION = 1
"""Bumped whenever the file layout changes; `search.js` checks it."""
INDEX_DIR = "search/"
"""Where the index lives in the site."""
DOC_CHUNK = 16
"""Links per metadata chunk (`search/d/<n>.json`)."""
SHARD_BYTES = 12_000
"""A shard larger than this is split (by next letter or by hash bucket)."""
PREFIX_FILES = 8
"""A prefix needing more shard files than this matches only the exact word."""
MAX_QUERY_TOKENS = 8
"""Query words beyond this many are ignored, to bound a query's downloads."""
LEVEL_TITLE, LEVEL_META, LEVEL_TEXT = 3, 2, 1
"""Field weights: title, source or tag, commentary."""

_PARTICLE_WORDS = """
    이 가 은 는 을 를 의 에 와 과 도 만 로 랑 께 으로 에서 에게 한테 까지 부터 처럼 보다
    하고 이나 이랑 에는 에도 와의 과의 으로는 으로서 으로써 에서는 에서도 에서의 에게서
    으로의 에서부터 으로부터 이라는 이라고 이며 이고 이다 입니다 만큼
    하는 하여 해서 하기 하면 한다 했다 되는 된다 되어 적인 적으로
"""
PARTICLES: tuple[str, ...] = tuple(sorted(set(_PARTICLE_WORDS.split()), key=lambda p: (-len(p), p)))
"""Endings stripped from a Korean query word (longest first)."""

_DIACRITICS = re.compile("[\u0300-\u036f]")
_TOKEN = re.compile("[0-9a-z\u00df-\u00f6\u00f8-\u024f]+|[\uac00-\ud7a3]+")
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_DIGIT = {c: i for i, c in enumerate(_ALPHABET)}
_LATIN_KEY_LEN = 2


@dataclass(frozen=True, slots=True)
class SearchDoc:
    """One link as the search index sees it."""

    url: str
    """Site-relative URL of the link's anchor, e.g. `issues/2022-12/#illustrating-rlhf`."""
    title: str
    """Plain-text title."""
    source: str
    """Organisation, or '' when unknown."""
    tags: tuple[str, ...]
    """Tags, in the order written."""
    text: str
    """Commentary as plain text."""
    issue_title: str
    """Title of the issue the link belongs to."""
    date: str
    """The issue's date, ISO `YYYY-MM-DD`."""


# --- the shared split rule -------------------------------------------------


def normalize(text: str) -> str:
    """NFKC, lowercase, Latin diacritics dropped (the same steps as `search.js`)."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _DIACRITICS.sub("", unicodedata.normalize("NFD", text))
    return unicodedata.normalize("NFC", text)


def tokenize(text: str) -> list[str]:
    """Split text into Latin/digit words and Hangul runs, in order (the shared rule)."""
    return _TOKEN.findall(normalize(text))


def is_hangul(token: str) -> bool:
    """Whether a token from `tokenize` is a Hangul run (else a Latin/digit word)."""
    return "\uac00" <= token[0] <= "\ud7a3"


def index_terms(token: str) -> list[str]:
    """Terms indexed for a token: the word itself, or a Hangul run's bigrams."""
    if not is_hangul(token) or len(token) == 1:
        return [token]
    return [token[i : i + 2] for i in range(len(token) - 1)]


def query_variants(token: str, particles: Sequence[str] = PARTICLES) -> list[str]:
    """The token, then (Hangul only) the token without its trailing particle, if any."""
    if is_hangul(token):
        for particle in particles:
            if token.endswith(particle) and len(token) - len(particle) >= 2:
                return [token, token[: -len(particle)]]
    return [token]


def fnv1a(text: str) -> int:
    """32-bit FNV-1a over code points (the bucket hash; `search.js` has the same)."""
    h = 0x811C9DC5
    for char in text:
        h = ((h ^ ord(char)) * 0x01000193) & 0xFFFFFFFF
    return h


def shard_file(key: str, bucket: int, buckets: int) -> str:
    """Path of a shard under `search/`: ASCII kept, other characters as `_hex`."""
    name = "".join(c if c.isascii() and c.isalnum() else f"_{ord(c):04x}" for c in key)
    return f"t/{name}.json" if buckets == 1 else f"t/{name}.{bucket}.json"


# --- postings codec --------------------------------------------------------


def _put_varint(value: int, out: list[str]) -> None:
    while value >= 32:
        out.append(_ALPHABET[32 | (value & 31)])
        value >>= 5
    out.append(_ALPHABET[value])


def encode_ids(ids: Sequence[int]) -> str:
    """Ascending ids, compactly: gap varints, or a bitmap when that is shorter.

    Gap form: per run of consecutive ids, gap×2 (+1 when the run is longer
    than one id, then its length − 2). Bitmap form, for dense lists: `.`, the
    first id, then one character per 6 ids (bit k: first + 6j + k present).
    """
    out: list[str] = []
    prev, i = -1, 0
    while i < len(ids):
        j = i
        while j + 1 < len(ids) and ids[j + 1] == ids[j] + 1:
            j += 1
        gap = ids[i] - prev - 1
        if j > i:
            _put_varint(gap * 2 + 1, out)
            _put_varint(j - i - 1, out)
        else:
            _put_varint(gap * 2, out)
        prev, i = ids[j], j + 1
    gaps = "".join(out)
    if len(ids) < 2 or len(gaps) <= (ids[-1] - ids[0]) // 6 + 3:
        return gaps
    bitmap = [0] * ((ids[-1] - ids[0]) // 6 + 1)
    for doc in ids:
        offset = doc - ids[0]
        bitmap[offset // 6] |= 1 << (offset % 6)
    head: list[str] = []
    _put_varint(ids[0], head)
    return "." + "".join(head) + "".join(_ALPHABET[b] for b in bitmap)


def decode_ids(text: str) -> list[int]:
    """Inverse of `encode_ids`."""
    values: list[int] = []
    value, shift, pos = 0, 0, 1 if text.startswith(".") else 0
    while pos < len(text):
        digit = _DIGIT[text[pos]]
        pos += 1
        value |= (digit & 31) << shift
        shift += 5
        if digit < 32:
            values.append(value)
            value, shift = 0, 0
            if text.startswith("."):
                break
    if text.startswith("."):
        first = values[0]
        return [
            first + 6 * j + k
            for j, char in enumerate(text[pos:])
            for k in range(6)
            if _DIGIT[char] >> k & 1
        ]
    ids: list[int] = []
    prev, k = -1, 0
    while k < len(values):
        start = prev + 1 + (values[k] >> 1)
        end = start
        if values[k] & 1:
            k += 1
            end = start + values[k] + 1
        ids.extend(range(start, end + 1))
        prev, k = end, k + 1
    return ids


def decode_postings(value: str) -> dict[int, int]:
    """A shard entry (`title,meta,text` id lists) as {doc id: best field level}."""
    levels: dict[int, int] = {}
    for level, part in zip((LEVEL_TITLE, LEVEL_META, LEVEL_TEXT), value.split(","), strict=False):
        for doc in decode_ids(part):
            levels[doc] = level
    return levels


# --- building --------------------------------------------------------------


_TAG = re.compile(r"<[^>]*>")


def html_text(fragment: str) -> str:
    """The text of rendered HTML: tags become spaces, entities are decoded."""
    import html

    return " ".join(html.unescape(_TAG.sub(" ", fragment)).split())


def search_docs(
    digest: Digest, commentary_text: Callable[[str], str] | None = None
) -> list[SearchDoc]:
    """Every link of the digest as a SearchDoc, newest issue first, in page order.

    `commentary_text` turns commentary Markdown into plain text; the site passes one
    that reuses the pages' rendered HTML, so Markdown is not parsed twice.
    """
    if commentary_text is None:
        from digest.markup import render_block

        def commentary_text(text: str) -> str:
            return html_text(render_block(text))

    return [
        SearchDoc(
            url=f"issues/{issue.slug}/#{link.id}",
            title=link.title,
            source=link.source or "",
            tags=link.tags,
            text=commentary_text(link.commentary) if link.commentary else "",
            issue_title=issue.title,
            date=issue.date.isoformat(),
        )
        for issue in digest.issues
        for _section, _subtopic, link in issue.all_links()
    ]


def _json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _doc_fields(doc: SearchDoc) -> Iterable[tuple[int, str]]:
    yield LEVEL_TITLE, doc.title
    yield LEVEL_META, doc.source
    for tag in doc.tags:
        yield LEVEL_META, tag
    yield LEVEL_TEXT, doc.text


def _shard_size(entries: dict[str, str], terms: Iterable[str]) -> int:
    return sum(len(t.encode()) + len(entries[t]) + 6 for t in terms)


def _latin_shards(terms: list[str], key: str, entries: dict[str, str]) -> dict[str, list[str]]:
    """Group words under `key`; split an oversized group by the next letter."""
    if len(terms) == 1 or _shard_size(entries, terms) <= SHARD_BYTES:
        return {key: terms}
    groups: dict[str, list[str]] = {}
    for term in terms:
        groups.setdefault(term[: len(key) + 1], []).append(term)
    shards: dict[str, list[str]] = {}
    for child, members in groups.items():
        if child == key:
            shards[key] = members
        else:
            shards.update(_latin_shards(members, child, entries))
    return shards


def _hangul_buckets(terms: list[str], entries: dict[str, str]) -> list[list[str]]:
    """Split a syllable's terms into the fewest hash buckets that each fit `SHARD_BYTES`."""
    limit = max(SHARD_BYTES, max(_shard_size(entries, [t]) for t in terms))
    count = max(1, math.ceil(_shard_size(entries, terms) / SHARD_BYTES))
    while True:
        split: list[list[str]] = [[] for _ in range(count)]
        for term in terms:
            split[fnv1a(term) % count].append(term)
        if count >= len(terms) or all(_shard_size(entries, b) <= limit for b in split):
            return split
        count += 1


def build_search_index(docs: Sequence[SearchDoc]) -> dict[str, bytes]:
    """Index links (newest first; id = position) into files keyed by path under `search/`."""
    # term -> doc ids, one table per field level; a doc is listed under its best level.
    by_level: dict[int, dict[str, list[int]]] = {LEVEL_TITLE: {}, LEVEL_META: {}, LEVEL_TEXT: {}}
    terms_of: dict[str, list[str]] = {}  # tokens repeat across links: split each once
    for doc_id, doc in enumerate(docs):
        levels: dict[str, int] = {}
        # Lowest level first, so a term's best field is the one assigned last.
        for level, text in sorted(_doc_fields(doc), key=lambda field: field[0]):
            for token in tokenize(text):
                terms = terms_of.get(token)
                if terms is None:
                    terms = terms_of[token] = index_terms(token)
                for term in terms:
                    levels[term] = level
        for term, level in levels.items():
            table = by_level[level]
            ids = table.get(term)
            if ids is None:
                table[term] = [doc_id]
            else:
                ids.append(doc_id)
    all_terms = set().union(*by_level.values())
    entries = {
        term: ",".join(
            encode_ids(by_level[level].get(term, ()))
            for level in (LEVEL_TITLE, LEVEL_META, LEVEL_TEXT)
        ).rstrip(",")
        for term in all_terms
    }

    groups: dict[str, list[str]] = {}
    for term in sorted(entries):
        base = term[:1] if is_hangul(term) else term[:_LATIN_KEY_LEN]
        groups.setdefault(base, []).append(term)

    files: dict[str, bytes] = {}
    keys: list[str] = []

    def write_shard(key: str, bucket: int, buckets: int, terms: list[str]) -> None:
        path = INDEX_DIR + shard_file(key, bucket, buckets)
        files[path] = _json({t: entries[t] for t in terms})

    for base, terms in groups.items():
        if is_hangul(base):
            split = _hangul_buckets(terms, entries)
            buckets = len(split)
            keys.append(base if buckets == 1 else f"{base}:{buckets}")
            for bucket, members in enumerate(split):
                write_shard(base, bucket, buckets, members)
        else:
            for key, members in _latin_shards(terms, base, entries).items():
                keys.append(key)
                write_shard(key, 0, 1, members)

    for start in range(0, len(docs), DOC_CHUNK):
        chunk = [
            [d.url, d.title, d.source, d.issue_title, d.date]
            for d in docs[start : start + DOC_CHUNK]
        ]
        files[f"{INDEX_DIR}d/{start // DOC_CHUNK}.json"] = _json(chunk)

    manifest = {
        "version": FORMAT_VERSION,
        "docs": len(docs),
        "chunk": DOC_CHUNK,
        "keys": " ".join(sorted(keys)),
        "particles": list(PARTICLES),
        "prefix_files": PREFIX_FILES,
        "max_tokens": MAX_QUERY_TOKENS,
    }
    files[INDEX_DIR + "manifest.json"] = _json(manifest)
    return dict(sorted(files.items()))


# --- querying (the algorithm of search.js, for tests and the benchmark) ----

Loader = Callable[[str], Any]
"""Reads one index file by its path under `search/` and returns the parsed JSON."""


class SearchIndexReader:
    """Queries a built index the way the browser does, loading files through `load`."""

    def __init__(self, load: Loader) -> None:
        self._load = load
        self._files: dict[str, Any] = {}
        self.fetched: list[str] = []
        """Paths loaded so far, in order (what the browser would download)."""
        manifest = self._get("manifest.json")
        if manifest["version"] != FORMAT_VERSION:
            raise ValueError(
                f"search index version {manifest['version']}, expected {FORMAT_VERSION}"
            )
        self.doc_count: int = manifest["docs"]
        self._chunk: int = manifest["chunk"]
        self._particles: list[str] = manifest["particles"]
        self._prefix_files: int = manifest["prefix_files"]
        self._max_tokens: int = manifest["max_tokens"]
        self._buckets: dict[str, int] = {}
        for entry in manifest["keys"].split():
            key, _, count = entry.partition(":")
            self._buckets[key] = int(count) if count else 1
        self._keys = sorted(self._buckets)

    def _get(self, path: str) -> Any:
        if path not in self._files:
            self._files[path] = self._load(path)
            self.fetched.append(path)
        return self._files[path]

    def _key_files(self, key: str) -> list[str]:
        n = self._buckets[key]
        return [shard_file(key, b, n) for b in range(n)]

    def _term_file(self, term: str) -> str | None:
        for end in range(len(term), 0, -1):
            n = self._buckets.get(term[:end])
            if n is not None:
                return shard_file(term[:end], fnv1a(term) % n, n)
        return None

    def _prefix_plan(self, prefix: str) -> list[str] | None:
        """Files holding every term with this prefix, or None when that is too many."""
        keys = [k for k in self._keys if k.startswith(prefix)]
        if not keys:
            shorter = [k for k in self._keys if prefix.startswith(k)]
            keys = [max(shorter, key=len)] if shorter else []
        files = [f for k in keys for f in self._key_files(k)]
        return files if len(files) <= self._prefix_files else None

    def _variant_files(self, variant: str) -> tuple[bool, list[str]]:
        """(is_prefix, files) for a Latin word or a one-syllable Hangul run."""
        plan = self._prefix_plan(variant)
        if plan is not None:
            return True, plan
        path = self._term_file(variant)
        return False, [path] if path else []

    def _token_files(self, token: str) -> list[str]:
        files: list[str] = []
        for variant in query_variants(token, self._particles):
            if is_hangul(variant) and len(variant) > 1:
                grams = dict.fromkeys(index_terms(variant))
                files.extend(p for p in map(self._term_file, grams) if p)
            else:
                files.extend(self._variant_files(variant)[1])
        return files

    def _terms(self, term: str, is_prefix: bool, files: list[str]) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        for path in files:
            shard: dict[str, str] = self._get(path)
            if is_prefix:
                found.extend((t, v) for t, v in shard.items() if t.startswith(term))
            elif term in shard:
                found.append((term, shard[term]))
        return found

    def _entry(self, term: str) -> str | None:
        path = self._term_file(term)
        shard: dict[str, str] = self._get(path) if path else {}
        return shard.get(term)

    def _clause(self, token: str) -> list[int]:
        """Score per link id of one query token (0: no match)."""
        best = [0] * self.doc_count
        for index, variant in enumerate(query_variants(token, self._particles)):
            bonus = 1 if index == 0 else 0
            if is_hangul(variant) and len(variant) > 1:
                lists = []
                for gram in dict.fromkeys(index_terms(variant)):
                    levels = [0] * self.doc_count
                    for doc, level in decode_postings(self._entry(gram) or "").items():
                        levels[doc] = level
                    lists.append(levels)
                low = list(map(min, *lists)) if len(lists) > 1 else lists[0]
                for doc, level in enumerate(low):
                    if level and 2 * level + bonus > best[doc]:
                        best[doc] = 2 * level + bonus
                continue
            is_prefix, files = self._variant_files(variant)
            for term, value in self._terms(variant, is_prefix, files):
                extra = bonus if term == variant else 0
                for doc, level in decode_postings(value).items():
                    best[doc] = max(best[doc], 2 * level + extra)
        return best

    def plan(self, query: str) -> list[str]:
        """Files a query needs (the browser fetches them in parallel)."""
        files: dict[str, None] = {}
        for token in query_tokens(query, self._max_tokens):
            files.update(dict.fromkeys(self._token_files(token)))
        return list(files)

    def search(self, query: str) -> list[int]:
        """Ids of the links matching every word of the query, best first."""
        tokens = query_tokens(query, self._max_tokens)
        for path in self.plan(query):
            self._get(path)
        total: list[int] | None = None
        for token in tokens:
            scores = self._clause(token)
            if total is None:
                total = scores
            else:
                total = [t + c if t and c else 0 for t, c in zip(total, scores, strict=True)]
        by_score: dict[int, list[int]] = {}
        for doc, score in enumerate(total or []):
            if score:
                by_score.setdefault(score, []).append(doc)
        return [doc for score in sorted(by_score, reverse=True) for doc in by_score[score]]

    def documents(self, ids: Sequence[int]) -> list[dict[str, str]]:
        """Metadata of links by id, loading only the chunks that hold them."""
        out = []
        for doc in ids:
            url, title, source, issue_title, date = self._get(f"d/{doc // self._chunk}.json")[
                doc % self._chunk
            ]
            out.append(
                {
                    "url": url,
                    "title": title,
                    "source": source,
                    "issue_title": issue_title,
                    "date": date,
                }
            )
        return out


def query_tokens(query: str, limit: int = MAX_QUERY_TOKENS) -> list[str]:
    """The distinct tokens of a query, in order, at most `limit`."""
    return list(dict.fromkeys(tokenize(query)))[:limit]


def search(index_files: dict[str, bytes], query: str) -> list[int]:
    """Ids of the links matching a query in a built index, best first."""
    reader = SearchIndexReader(lambda path: json.loads(index_files[INDEX_DIR + path]))
    return reader.search(query)
