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
  the form as typed; a link's score is the sum. Ties go to the newest link:
  links are numbered in the site's order reversed (oldest issue first, an
  issue's links last to first) and higher numbers win. Numbering from the
  oldest puts a new issue, or an edit to the newest one, at the end of every
  id list, where a rebuild has least to splice.
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
- Rebuilds: `digest_search_index` keeps, in the build cache, each list's gap
  text in pieces of `PIECE_RUNS` runs. Ids are positions, so an edit shifts
  every later id, but gaps between shifted ids stay the same: only the issues
  whose file changed are indexed again, and only the lists that hold ids at
  or after the change decode and encode the pieces around it. Only the shard
  groups and metadata chunks whose lists or rows changed are written out and
  hashed again; the rest the site keeps as they are. The files equal a cold
  build's.
- Measured (`python bench/search_bench.py --issues 1000`: 30,000 synthetic
  links, 8.0 MB index in 3,112 files): the first query for 모델, 러닝,
  transf or 추천시스템 downloads 29-91 KB (raw; about half gzipped), an
  eight-word Korean sentence 189 KB; the query itself takes 1-20 ms in node
  (70 ms for that sentence) on a busy 2-core machine.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import math
import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import TYPE_CHECKING, Any

from digest.slug import quote_path

if TYPE_CHECKING:
    from digest.cache import Store
    from digest.model import Digest, Issue

FORMAT_VERSION = 2
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
_PLAIN_TEXT = re.compile("[^\x00-\x7f\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")
"""Anything but ASCII and Hangul: only such text can hold a Latin diacritic."""
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
    if not _PLAIN_TEXT.search(text):
        # ASCII and Hangul decompose to no combining marks: skip decomposing every
        # syllable (most of the text) only to compose it again.
        return text
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


def _varint(value: int) -> str:
    out = []
    while value >= 32:
        out.append(_ALPHABET[32 | (value & 31)])
        value >>= 5
    out.append(_ALPHABET[value])
    return "".join(out)


class _Varints(dict[int, str]):
    """Varint text by value, made on first use: the same small values recur in every list."""

    def __missing__(self, value: int) -> str:
        text = self[value] = _varint(value)
        return text


_VARINT = _Varints()
_VARINT_TEXT = re.compile("[g-z0-9_-]*[A-Za-f]")
"""One varint: digits 32-63 continue it, digits 0-31 end it."""

PIECE_RUNS = 16
"""Runs per piece of a kept gap form: an edit re-encodes about two pieces per list."""


def encode_ids(ids: Sequence[int]) -> str:
    """Ascending ids, compactly: gap varints, or a bitmap when that is shorter.

    Gap form: per run of consecutive ids, gap×2 (+1 when the run is longer
    than one id, then its length − 2). Bitmap form, for dense lists: `.`, the
    first id, then one character per 6 ids (bit k: first + 6j + k present).
    """
    return _Postings.of(ids).text()


def _runs(ids: Sequence[int]) -> tuple[list[int], list[int]]:
    """The first and the last id of each run of consecutive ids (ascending ids)."""
    # Comprehensions rather than one loop: this sees every posting of a cold build.
    firsts = [doc for before, doc in zip([-2, *ids], ids, strict=False) if doc != before + 1]
    lasts = [doc for doc, after in zip(ids, [*ids[1:], -2], strict=False) if after != doc + 1]
    return firsts, lasts


def _gap_pieces(firsts: list[int], lasts: list[int], end: int) -> tuple[str, list[int], list[int]]:
    """Runs in gap form, counted from `end` (the last id before them), in pieces.

    Returns the text and, for each piece of PIECE_RUNS runs, where it starts in the
    text and one past the last id before it.
    """
    befores = [end, *lasts]
    varint = _VARINT
    texts = [
        varint[2 * (first - before - 1)]
        if first == last
        else varint[2 * (first - before) - 1] + varint[last - first - 1]
        for before, first, last in zip(befores, firsts, lasts, strict=False)
    ]
    pieces = ["".join(texts[n : n + PIECE_RUNS]) for n in range(0, len(texts), PIECE_RUNS)]
    starts = list(accumulate(map(len, pieces[:-1]), initial=0)) if pieces else []
    afters = [before + 1 for before in befores[: len(texts) : PIECE_RUNS]]
    return "".join(pieces), starts, afters


class _VarintValues(dict[str, int]):
    """Varint values by text, made on first use."""

    def __missing__(self, text: str) -> int:
        value = sum((_DIGIT[c] & 31) << (5 * i) for i, c in enumerate(text))
        self[text] = value
        return value


_DIGIT_VALUE = _VarintValues()


def _gap_runs(text: str, end: int) -> list[tuple[int, int]]:
    """Inverse of `_gap_pieces` for one stretch of gap text that follows id `end`."""
    values = [_DIGIT_VALUE[v] for v in _VARINT_TEXT.findall(text)]
    runs: list[tuple[int, int]] = []
    k = 0
    while k < len(values):
        first = end + 1 + (values[k] >> 1)
        end = first
        if values[k] & 1:
            k += 1
            end = first + values[k] + 1
        runs.append((first, end))
        k += 1
    return runs


def _bits_of(ids: Sequence[int]) -> int:
    """Ascending ids as an integer with bit i set for each id i."""
    if not ids:
        return 0
    digits = bytearray(b"0") * (ids[-1] + 1)
    for doc in ids:
        digits[doc] = ord("1")
    return int(digits[::-1], 2)


def _bitmap_text(bits: int) -> str:
    """The bitmap form of the ids whose bits are set (at least one).

    `_ALPHABET` is the URL-safe base-64 alphabet: the big-endian base-64 text of
    the bits from the first id up, reversed, has character j = the six bits from
    6j up, which is the format's order.
    """
    first = (bits & -bits).bit_length() - 1
    chars = (bits.bit_length() - 1 - first) // 6 + 1
    width = -(-chars // 4) * 3  # bytes of whole base-64 quanta: no padding
    text = base64.urlsafe_b64encode((bits >> first).to_bytes(width, "big")).decode()
    return "." + _VARINT[first] + text[::-1][:chars]


@dataclass(slots=True)
class _Postings:
    """One ascending id list, kept so that an edit re-encodes only the runs around it."""

    gaps: str
    """Its gap form."""
    # Tuples rather than arrays: a cached index holds 100,000s of these, and each array
    # unpickles through a call of its own (at 50,000 terms: 1.1 s, as tuples 0.2 s).
    starts: tuple[int, ...]
    """Where each piece of `PIECE_RUNS` runs starts in `gaps`."""
    afters: tuple[int, ...]
    """Per piece: one past the last id before it (0 for the first)."""
    count: int
    """How many ids."""
    last: int
    """The largest id (-1 when empty)."""
    bits: int | None = None
    """Bit i set for id i: made when the bitmap form is the shorter, then kept up to date."""

    @classmethod
    def of(cls, ids: Sequence[int]) -> _Postings:
        """The list of `ids` (ascending)."""
        if not ids:
            return _NO_IDS  # shared: most terms are in one field only
        gaps, starts, afters = _gap_pieces(*_runs(ids), -1)
        postings = cls(gaps, tuple(starts), tuple(afters), len(ids), ids[-1])
        if postings.bitmap_is_shorter():
            postings.bits = _bits_of(ids)
        return postings

    def __reduce__(self) -> tuple[type[_Postings], tuple[Any, ...]]:
        # As plain arguments: pickling a slotted dataclass the default way is slow.
        return _Postings, (self.gaps, self.starts, self.afters, self.count, self.last, self.bits)

    def bitmap_is_shorter(self) -> bool:
        """Whether `encode_ids` writes this list as a bitmap."""
        if self.count < 2:
            return False
        first = _DIGIT_VALUE[_VARINT_TEXT.match(self.gaps)[0]] >> 1  # type: ignore[index]
        return len(self.gaps) > (self.last - first) // 6 + 3

    def text(self) -> str:
        """The list as `encode_ids` writes it: the shorter of gap and bitmap form."""
        if not self.bitmap_is_shorter():
            self.bits = None
            return self.gaps
        if self.bits is None:
            runs = _gap_runs(self.gaps, -1)
            self.bits = _bits_of([doc for first, last in runs for doc in range(first, last + 1)])
        return _bitmap_text(self.bits)

    def splice(self, start: int, old_end: int, new_end: int, added: Sequence[int]) -> _Postings:
        """The list with its ids in [start, old_end) replaced by `added`, later ids moved along.

        Only the pieces around the change are decoded and encoded again: a piece
        after it keeps its text, since gaps between moved ids do not change.
        """
        if not self.gaps:
            return _Postings.of(added)
        if not added and self.last < start:
            return self
        shift = new_end - old_end
        # The window: from the last piece all of whose earlier runs end before
        # start - 1 (so nothing can join them) to the first piece that follows a
        # moved id (so its first gap is unchanged).
        i = max(0, bisect_left(self.afters, start) - 1)
        k = bisect_right(self.afters, old_end, lo=i + 1)
        head = self.starts[i]
        tail = self.starts[k] if k < len(self.starts) else len(self.gaps)
        before = self.afters[i] - 1
        runs: list[tuple[int, int]] = []

        def add(first: int, last: int) -> None:
            if runs and runs[-1][1] == first - 1:
                runs[-1] = (runs[-1][0], last)
            else:
                runs.append((first, last))

        old = _gap_runs(self.gaps[head:tail], before)
        removed = 0
        for first, last in old:
            if first < start:
                add(first, min(last, start - 1))
            removed += max(0, min(last, old_end - 1) - max(first, start) + 1)
        for doc in added:
            add(doc, doc)
        for first, last in old:
            if last >= old_end:
                add(max(first, old_end) + shift, last + shift)
        gaps, starts, afters = _gap_pieces([f for f, _ in runs], [last for _, last in runs], before)
        grown = len(gaps) - (tail - head)
        bits = None
        if self.bits is not None:
            low = self.bits & ((1 << start) - 1)
            high = self.bits >> old_end << new_end
            # Shifted after: added ids are near the end, and a bitmap from 0 costs its length.
            bits = low | high | _bits_of([doc - start for doc in added]) << start
        return _Postings(
            self.gaps[:head] + gaps + self.gaps[tail:],
            (*self.starts[:i], *[head + n for n in starts], *[n + grown for n in self.starts[k:]]),
            (*self.afters[:i], *afters, *[n + shift for n in self.afters[k:]]),
            self.count - removed + len(added),
            self.last + shift if k < len(self.starts) else runs[-1][1] if runs else before,
            bits,
        )


_NO_IDS = _Postings("", (), (), 0, -1)
"""The empty list (never changed: a splice makes a new one)."""


def decode_ids(text: str) -> list[int]:
    """Inverse of `encode_ids`."""
    if not text.startswith("."):
        return [n for first, last in _gap_runs(text, -1) for n in range(first, last + 1)]
    # Bitmap form: `.`, the first id as a varint, then one character per 6 ids.
    first, shift, pos = 0, 0, 1
    while True:
        digit = _DIGIT[text[pos]]
        pos += 1
        first |= (digit & 31) << shift
        shift += 5
        if digit < 32:
            break
    return [
        first + 6 * j + k
        for j, char in enumerate(text[pos:])
        for k in range(6)
        if _DIGIT[char] >> k & 1
    ]


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
    return " ".join(html.unescape(_TAG.sub(" ", fragment)).split())


def _default_commentary_text(text: str) -> str:
    from digest.markup import render_block

    return html_text(render_block(text))


def issue_docs(issue: Issue, commentary_text: Callable[[str], str]) -> list[SearchDoc]:
    """The links of one issue as SearchDocs, in page order."""
    date = issue.date.isoformat()
    page = quote_path(f"issues/{issue.slug}/")
    return [
        SearchDoc(
            # Anchors as the pages write them: ids are slugs, safe in a fragment as they are.
            url=f"{page}#{link.id}",
            title=link.title,
            source=link.source or "",
            tags=link.tags,
            text=commentary_text(link.commentary) if link.commentary else "",
            issue_title=issue.title,
            date=date,
        )
        for _section, _subtopic, link in issue.all_links()
    ]


def search_docs(
    digest: Digest,
    commentary_text: Callable[[str], str] = _default_commentary_text,
) -> list[SearchDoc]:
    """Every link of the digest as a SearchDoc, in index order: the site's order reversed.

    `commentary_text` turns commentary Markdown into plain text; the site passes one
    that reuses the pages' rendered HTML, so Markdown is not parsed twice.
    """
    return [doc for issue in digest.issues[::-1] for doc in _indexed_docs(issue, commentary_text)]


def _indexed_docs(issue: Issue, commentary_text: Callable[[str], str]) -> list[SearchDoc]:
    """The links of one issue in index order: last to first."""
    return issue_docs(issue, commentary_text)[::-1]


def _json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


_ROW_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
"""One encoder for every row: `json.dumps` with options makes a new one per call."""


def _row(doc: SearchDoc) -> bytes:
    """A link's entry in its metadata chunk, as JSON."""
    return _ROW_JSON([doc.url, doc.title, doc.source, doc.issue_title, doc.date]).encode()


class _ChunkTerms(dict[str, frozenset[str]]):
    """The index terms of each whitespace-separated chunk of text, worked out on first use.

    Every step of the split rule works within whitespace (normalizing cannot join
    characters across it, nor make a token character of it), so a text's terms are
    the union of its chunks' terms; and chunks repeat across links far more than
    whole texts do. Scanning whole texts with the rule's regular expressions cost
    most of a cold index build.
    """

    def __missing__(self, chunk: str) -> frozenset[str]:
        terms = self[chunk] = frozenset(t for token in tokenize(chunk) for t in index_terms(token))
        return terms


def _terms_of(text: str, memo: _ChunkTerms) -> set[str]:
    """The distinct terms of a text: the same as those of its `tokenize` tokens."""
    return set().union(*map(memo.__getitem__, text.split()))


_Tables = tuple[dict[str, list[int]], dict[str, list[int]], dict[str, list[int]]]
"""Term -> ascending doc ids, one table per field level: title, source or tag, commentary."""


def _index_docs(docs: Sequence[SearchDoc], first_id: int) -> _Tables:
    """Each term's doc ids by field level, numbering `docs` from `first_id`."""
    memo = _ChunkTerms()
    tables: _Tables = (defaultdict(list), defaultdict(list), defaultdict(list))
    for doc_id, doc in enumerate(docs, first_id):
        title = _terms_of(doc.title, memo)
        meta = _terms_of(" ".join((doc.source, *doc.tags)), memo) - title
        text = _terms_of(doc.text, memo) - title - meta
        # A link is listed under its best field only.
        for table, terms in zip(tables, (title, meta, text), strict=True):
            for term in terms:
                table[term].append(doc_id)
    return tables


def _shard_size(sizes: dict[str, int], terms: Iterable[str]) -> int:
    return sum(map(sizes.__getitem__, terms))


def _latin_shards(terms: list[str], key: str, sizes: dict[str, int]) -> dict[str, list[str]]:
    """Group words under `key`; split an oversized group by the next letter."""
    if len(terms) == 1 or _shard_size(sizes, terms) <= SHARD_BYTES:
        return {key: terms}
    groups: dict[str, list[str]] = {}
    for term in terms:
        groups.setdefault(term[: len(key) + 1], []).append(term)
    shards: dict[str, list[str]] = {}
    for child, members in groups.items():
        if child == key:
            shards[key] = members
        else:
            shards.update(_latin_shards(members, child, sizes))
    return shards


def _hangul_buckets(terms: list[str], sizes: dict[str, int]) -> list[list[str]]:
    """Split a syllable's terms into the fewest hash buckets that each fit `SHARD_BYTES`."""
    limit = max(SHARD_BYTES, max(map(sizes.__getitem__, terms)))
    count = max(1, math.ceil(_shard_size(sizes, terms) / SHARD_BYTES))
    while True:
        split: list[list[str]] = [[] for _ in range(count)]
        for term in terms:
            split[fnv1a(term) % count].append(term)
        if count >= len(terms) or all(_shard_size(sizes, b) <= limit for b in split):
            return split
        count += 1


_TermPostings = tuple[_Postings, _Postings, _Postings]
"""A term's postings: title, source or tag, commentary."""


@dataclass(slots=True)
class _Index:
    """What a build of the index keeps for the next one (one cache entry)."""

    keys: list[str]
    """Per issue, oldest first (index order): the content key of its file."""
    counts: list[int]
    """Per issue: how many links it has."""
    rows: list[bytes]
    """Per link: its metadata row, as JSON (bytes: pickled and joined without re-encoding)."""
    postings: dict[str, _TermPostings]
    """Per term: its doc ids by field level."""
    made: dict[str, str] = field(default_factory=dict)
    """The token (a hash of the bytes) of each file `files` made last, by path."""
    shards: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = field(default_factory=dict)
    """Per shard group (see `_group_of`): the files `files` made for it last, and its keys."""
    members: dict[str, set[str]] = field(default_factory=dict)
    """Per shard group: its terms."""
    dirty: set[str] | None = None
    """Terms whose lists changed since `files` last ran (None: every term)."""
    dirty_chunks: set[int] | None = None
    """Metadata chunks whose rows changed since `files` last ran (None: every chunk)."""

    @classmethod
    def of(cls, docs: Sequence[SearchDoc], keys: list[str], counts: list[int]) -> _Index:
        """The index of `docs`, built from nothing."""
        tables = _index_docs(docs, 0)
        postings = {
            term: tuple(_Postings.of(table.get(term, [])) for table in tables)
            for term in set().union(*tables)
        }
        return cls(keys, counts, list(map(_row, docs)), postings)  # type: ignore[arg-type]

    def replace(
        self,
        start: int,
        end: int,
        docs: Sequence[SearchDoc],
        old: Sequence[SearchDoc] | None = None,
    ) -> None:
        """Put `docs` where links [start, end) were, numbering later links along.

        `old`, when known, are the links that were there.
        """
        new_end = start + len(docs)
        added = _index_docs(docs, start)
        if old is not None and len(old) == len(docs) == end - start:
            # No id moves: only the lists of terms whose links changed do. An edit to
            # some commentary changes a few lists, where the newest issue's terms are
            # in most of them.
            removed = _index_docs(old, start)
            touched = {
                term
                for term in set().union(*added, *removed)
                if any(a.get(term) != r.get(term) for a, r in zip(added, removed, strict=True))
            }
        else:
            # A list whose ids all come before the change stays as it is: with the
            # newest links numbered last, that is most lists at most edits.
            touched = {
                term
                for term, (title, meta, text) in self.postings.items()
                if title.last >= start or meta.last >= start or text.last >= start
            }.union(*added)
        for term in touched:
            postings = self.postings.get(term, (_Postings.of([]),) * 3)
            title, meta, text = (
                p.splice(start, end, new_end, table.get(term, []))
                for p, table in zip(postings, added, strict=True)
            )
            members = self.members.setdefault(_group_of(term), set())
            if title.count or meta.count or text.count:
                self.postings[term] = (title, meta, text)
                members.add(term)
            else:
                del self.postings[term]
                members.discard(term)
        if self.dirty is not None:
            self.dirty |= touched
        if self.dirty_chunks is not None:
            # Rows from `start` on change: to `new_end` if no id moved, else all of them.
            moved = new_end != end
            last = max(len(self.rows), len(self.rows) + new_end - end) if moved else new_end
            self.dirty_chunks.update(range(start // DOC_CHUNK, (last - 1) // DOC_CHUNK + 1))
        self.rows[start:end] = map(_row, docs)

    def files(self, keep: Callable[[str, str], bool] | None = None) -> dict[str, bytes | None]:
        """The index files, by path; with `keep`, None for those the site has already.

        `keep(path, token)` is told each file's token (a hash of its bytes) and says
        whether the last build's file at `path`, of that token, is still in place
        (see `PageReuse`). Only files whose terms or rows changed since the last call
        are made and hashed again: an edit to one issue changes a few of thousands.
        """
        out: dict[str, bytes | None] = {}
        made: dict[str, str] = {}

        def kept(path: str, token: str) -> bool:
            if keep is None or not keep(path, token):
                return False
            out[path], made[path] = None, token
            return True

        def add(path: str, data: bytes) -> None:
            if keep is None:
                out[path] = data  # nothing to compare with: no token either
                return
            token = hashlib.blake2b(data, digest_size=16).hexdigest()
            if not kept(path, token):
                out[path], made[path] = data, token

        def unchanged(paths: Iterable[str]) -> bool:
            # Every file as the last call made it, and each still in place.
            return all(path in self.made and kept(path, self.made[path]) for path in paths)

        if self.dirty is None:
            self.members = {}
            for term in self.postings:
                self.members.setdefault(_group_of(term), set()).add(term)
            self.shards = {}
        dirty = {_group_of(t) for t in self.dirty} if self.dirty is not None else set()
        keys: list[str] = []
        for group, terms in sorted(self.members.items()):
            if not terms:
                continue
            known = self.shards.get(group)
            if known is None or group in dirty or not unchanged(known[0]):
                entries = {
                    term: ",".join(p.text() for p in self.postings[term]).rstrip(",")
                    for term in sorted(terms)
                }
                files, group_keys = _group_shards(group, entries)
                for path, data in files.items():
                    add(path, data)
                known = self.shards[group] = (tuple(files), tuple(group_keys))
            keys += known[1]
        self.members = {group: terms for group, terms in self.members.items() if terms}
        self.shards = {group: self.shards[group] for group in self.members}
        rows = self.rows
        for n, start in enumerate(range(0, len(rows), DOC_CHUNK)):
            path = f"{INDEX_DIR}d/{n}.json"
            if self.dirty_chunks is None or n in self.dirty_chunks or not unchanged([path]):
                add(path, b"[" + b",".join(rows[start : start + DOC_CHUNK]) + b"]")
        manifest = {
            "version": FORMAT_VERSION,
            "docs": len(rows),
            "chunk": DOC_CHUNK,
            "keys": " ".join(sorted(keys)),
            "particles": list(PARTICLES),
            "prefix_files": PREFIX_FILES,
            "max_tokens": MAX_QUERY_TOKENS,
        }
        add(INDEX_DIR + "manifest.json", _json(manifest))
        self.made, self.dirty, self.dirty_chunks = made, set(), set()
        return dict(sorted(out.items()))


def build_search_index(docs: Sequence[SearchDoc]) -> dict[str, bytes]:
    """Index links (in index order, as `search_docs` gives them; id = position) into files."""
    files = _Index.of(docs, [], []).files()
    return {path: data for path, data in files.items() if data is not None}  # all, without keep


def digest_search_index(
    digest: Digest,
    commentary_text: Callable[[str], str],
    issue_keys: Mapping[str, str],
    cache: Store | None = None,
    previous: Callable[[str], Issue | None] | None = None,
    keep: Callable[[str, str], bool] | None = None,
) -> dict[str, bytes | None]:
    """The index of a digest's links, re-indexing only the issues changed since the cached build.

    `issue_keys` holds each issue file's content key by path (see `load_digest`); an
    issue is unchanged when its key is. `previous` finds the issue last read under a
    content key, if it is still known: the changed issues' old links, so that only
    what changed in them is indexed again. The files are the same as a cold build's;
    with `keep`, None marks those the site has already (see `_Index.files`).
    """
    issues = digest.issues[::-1]
    keys = [issue_keys.get(issue.path, "") for issue in issues]
    index: _Index | None = cache.get("index") if cache is not None else None
    if index is None or "" in keys:
        docs_by_issue = [_indexed_docs(issue, commentary_text) for issue in issues]
        docs = [doc for docs in docs_by_issue for doc in docs]
        index = _Index.of(docs, keys, list(map(len, docs_by_issue)))
    else:
        # The changed issues lie between the longest unchanged head and tail.
        head = 0
        while head < min(len(keys), len(index.keys)) and keys[head] == index.keys[head]:
            head += 1
        tail = 0
        while (
            tail < min(len(keys), len(index.keys)) - head
            and keys[-1 - tail] == index.keys[-1 - tail]
        ):
            tail += 1
        changed = issues[head : len(issues) - tail]
        docs_by_issue = [_indexed_docs(issue, commentary_text) for issue in changed]
        start = sum(index.counts[:head])
        end = sum(index.counts[: len(index.keys) - tail])
        old = None
        if previous is not None:
            was = [previous(key) for key in index.keys[head : len(index.keys) - tail]]
            if all(issue is not None for issue in was):
                old = [d for issue in was if issue for d in _indexed_docs(issue, commentary_text)]
        index.replace(start, end, [doc for docs in docs_by_issue for doc in docs], old)
        index.keys = keys
        index.counts[head : len(index.counts) - tail] = map(len, docs_by_issue)
    files = index.files(keep)
    if cache is not None:
        cache.put("index", index)  # after files(): it makes the bitmaps the next build keeps
    return files


def _group_of(term: str) -> str:
    """The shard group of a term: its first syllable, or its first letters."""
    return term[:1] if is_hangul(term) else term[:_LATIN_KEY_LEN]


def _group_shards(group: str, entries: dict[str, str]) -> tuple[dict[str, bytes], list[str]]:
    """One group's shard files, by path, and manifest keys, from its terms' postings.

    A group's files depend on its own terms alone: `_Index.files` makes again only
    the groups an edit touched.
    """
    sizes = {t: len(t.encode()) + len(e) + 6 for t, e in entries.items()}
    terms = list(entries)
    files: dict[str, bytes] = {}
    keys: list[str] = []

    def write_shard(key: str, bucket: int, buckets: int, members: list[str]) -> None:
        path = INDEX_DIR + shard_file(key, bucket, buckets)
        files[path] = _json({t: entries[t] for t in members})

    if is_hangul(group):
        split = _hangul_buckets(terms, sizes)
        buckets = len(split)
        keys.append(group if buckets == 1 else f"{group}:{buckets}")
        for bucket, members in enumerate(split):
            write_shard(group, bucket, buckets, members)
    else:
        for key, members in _latin_shards(terms, group, sizes).items():
            keys.append(key)
            write_shard(key, 0, 1, members)
    return files, keys


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
        # Best score first, then the highest id: the newest link.
        for doc, score in reversed(list(enumerate(total or []))):
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
