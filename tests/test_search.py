"""Search: the split rule, the index, queries, and the browser's copy of both under node."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from digest import search as search_module
from digest.search import (
    PARTICLES,
    SearchDoc,
    SearchIndexReader,
    build_search_index,
    decode_ids,
    encode_ids,
    index_terms,
    query_variants,
    search,
    search_docs,
    tokenize,
)

ROOT = Path(__file__).resolve().parents[1]
SEARCH_JS = ROOT / "static" / "search.js"


def doc(title: str, text: str = "", source: str = "", tags: tuple[str, ...] = ()) -> SearchDoc:
    """A SearchDoc with the fields a query does not look at filled in."""
    slug = title.lower().replace(" ", "-")[:30]
    return SearchDoc(
        url=f"issues/2022-12/#{slug}",
        title=title,
        source=source,
        tags=tags,
        text=text,
        issue_title="2022년 12월 ML 읽을거리",
        date="2022-12-29",
    )


# In index order, oldest first: id 9 is the newest link, and wins ties.
DOCS: list[SearchDoc] = [
    doc("Swin Transformer보다 빠른 비전 모델", "이미지 모델 비교", source="Microsoft"),  # 0
    doc("Illustrating RLHF", "정책 언어 모델과 보상 모델 이용하여 튜닝", tags=("rlhf", "llm")),  # 1
    doc("Deep Learning at Scale", "딥러닝 학습을 위한 분산 처리", source="Google"),  # 2
    doc("Recommender Systems at Netflix", "넷플릭스의 추천시스템 구조", tags=("추천",)),  # 3
    doc("Seoul AI Meetup", "서울은 AI 스타트업이 많다", source="스캐터랩"),  # 4
    doc("Attention Is All You Need", "Transformer 구조를 처음 제안한 논문"),  # 5
    doc("Model Cards", "모델 문서화 방법과 사례"),  # 6
    doc("모델 서빙 비용 1/4로 줄이기", "AWS Inferentia 사용", source="하이퍼커넥트"),  # 7
    doc("Vector Search", "시스템 설계와 러닝 커브"),  # 8
    doc("Data2vec 2.0", "자가 지도 학습, Schrödinger’s ﬁne-tuning", source="Meta"),  # 9
]


@pytest.fixture(scope="module")
def index() -> dict[str, bytes]:
    """The index of DOCS."""
    return build_search_index(DOCS)


# --- the split rule ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("Transformer보다 빠른", ["transformer", "보다", "빠른"]),
        ("ML모델과 GPT-4", ["ml", "모델과", "gpt", "4"]),
        ("딥러닝(Deep Learning)", ["딥러닝", "deep", "learning"]),
        ("ＴＲＡＮＳＦＯＲＭＥＲ", ["transformer"]),
        ("ﬁne-tuning", ["fine", "tuning"]),
        ("Schrödinger É", ["schrodinger", "e"]),
        ("µTransfer", ["transfer"]),
        ("data2vec 2.0", ["data2vec", "2", "0"]),
        ("①정책 → 모델 😀 ㅋㅋ", ["1", "정책", "모델"]),
        ("", []),
        ("  ,.!  ", []),
    ],
)
def test_tokenize(text: str, tokens: list[str]) -> None:
    assert tokenize(text) == tokens


def test_tokenize_nfd_korean_reads_like_nfc() -> None:
    nfc = "추천시스템과 딥러닝"
    assert (
        tokenize(unicodedata.normalize("NFD", nfc)) == tokenize(nfc) == ["추천시스템과", "딥러닝"]
    )


def _whole_text_terms(text: str) -> set[str]:
    return {term for token in tokenize(text) for term in index_terms(token)}


_SPACES = "".join(c for c in map(chr, range(0x110000)) if c.isspace())
_NEAR_SPACES = (
    _SPACES
    + "\u0301\u0308\u0345\u1161\u11a8\u00a8\u00b4\u02d8\u0384\u200b\u200d"
    + "ﬁＴａ１가각ᄀㄱéeEΣσ"
)
"""Whitespace, and what could join or change across it: combining marks, Hangul jamo,
characters NFKC turns into a space and a mark, ligatures, fullwidth letters, sigma."""


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from(_NEAR_SPACES) | st.characters(), max_size=40))
@example("e\u0301 e \u0301 \u00a0\u0301a")
@example("ᄀ \u1161\u11a8 가 \u11a8")
@example("nai\u0308ve cafe\u0301s ﬁne")
def test_index_terms_by_whitespace_chunk_equal_the_whole_texts(text: str) -> None:
    # The index splits a text at whitespace first and remembers each chunk's terms;
    # that must give exactly the terms of the shared split rule run on the whole text.
    assert search_module._terms_of(text, search_module._ChunkTerms()) == _whole_text_terms(text)


def test_index_terms_by_chunk_on_tricky_texts_and_every_space() -> None:
    chunks = search_module._ChunkTerms()
    texts = [*TRICKY, *(f"a{c}\u0301b{c}가{c}\u11a8" for c in _SPACES)]
    for text in texts:
        assert search_module._terms_of(text, chunks) == _whole_text_terms(text), repr(text)


def test_index_terms_are_bigrams_for_hangul_and_words_for_latin() -> None:
    assert index_terms("추천시스템") == ["추천", "천시", "시스", "스템"]
    assert index_terms("책") == ["책"]
    assert index_terms("transformer") == ["transformer"]


def test_query_variants_strip_one_particle_keeping_two_syllables() -> None:
    assert query_variants("모델과") == ["모델과", "모델"]
    assert query_variants("딥러닝으로") == ["딥러닝으로", "딥러닝"]
    assert query_variants("서울에서") == ["서울에서", "서울"]
    assert query_variants("결과") == ["결과"]  # 결 alone would match far too much
    assert query_variants("모델") == ["모델"]
    assert query_variants("model") == ["model"]
    assert list(PARTICLES) == sorted(PARTICLES, key=lambda p: (-len(p), p))


@pytest.mark.parametrize(
    "ids",
    [
        [],
        [0],
        [5],
        [0, 1, 2, 3],
        [1, 3, 5, 7],
        [0, 1, 2, 10, 11, 500, 501, 502, 99999],
        list(range(3000)),
    ],
)
def test_postings_round_trip(ids: list[int]) -> None:
    assert decode_ids(encode_ids(ids)) == ids


def test_dense_postings_are_tiny() -> None:
    assert len(encode_ids(list(range(30_000)))) <= 4
    every_other = list(range(0, 30_000, 2))
    assert encode_ids(every_other).startswith(".")  # the bitmap form
    assert len(encode_ids(every_other)) <= 30_000 // 6 + 4


def test_postings_round_trip_random_lists() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        density = rng.random()
        ids = [i for i in range(rng.randint(0, 5), rng.randint(0, 400)) if rng.random() < density]
        assert decode_ids(encode_ids(ids)) == ids


# --- the index --------------------------------------------------------------


def test_index_is_deterministic_and_sharded(index: dict[str, bytes]) -> None:
    assert build_search_index(DOCS) == index
    assert "search/manifest.json" in index
    assert all(path.startswith("search/") for path in index)
    assert any(path.startswith("search/t/") for path in index)
    chunk = json.loads(index["search/d/0.json"])
    assert chunk[1] == [
        DOCS[1].url,
        "Illustrating RLHF",
        "",
        "2022년 12월 ML 읽을거리",
        "2022-12-29",
    ]


def test_search_docs_from_the_model() -> None:
    import datetime as dt

    from digest.model import Digest, Issue, Link, Section

    def link(anchor: str, commentary: str) -> Link:
        return Link(anchor, "T *x*", "T *x*", "https://e.com/", None, None, ("a",), commentary, 1)

    def issue(slug: str, links: tuple[Link, ...]) -> Issue:
        section = Section("Research", "Research", "research", "", links, ())
        return Issue(slug, f"{slug} 호", dt.date(2023, 1, 1), f"{slug}.md", "", (section,))

    newer = issue("2023-02", (link("a", "**모델과** [링크](https://x.y/)"),))
    older = issue("2023-01", (link("b", ""), link("c", "- 딥러닝")))
    docs = search_docs(Digest((newer, older)))
    # Index order: the site's order reversed, so the newest link has the highest id.
    assert [d.url for d in docs] == ["issues/2023-01/#c", "issues/2023-01/#b", "issues/2023-02/#a"]
    assert docs[2].text == "모델과 링크"
    assert (docs[2].source, docs[2].tags, docs[2].issue_title) == ("", ("a",), "2023-02 호")
    assert search(build_search_index(docs), "러닝") == [0]
    # Ties list the newest issue first and an issue's links in page order, as before.
    ids = search(build_search_index(docs), "x")
    assert [docs[i].url for i in ids] == [
        "issues/2023-02/#a",
        "issues/2023-01/#b",
        "issues/2023-01/#c",
    ]


def test_empty_index_answers_nothing() -> None:
    files = build_search_index([])
    assert search(files, "모델") == []
    assert search(files, "transf") == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # Korean: particles and compounds
        ("모델", {0, 1, 6, 7}),
        ("모델과", {0, 1, 6, 7}),
        ("서울", {4}),
        ("서울은", {4}),
        ("서울에서", {4}),
        ("러닝", {2, 8}),
        ("딥러닝", {2}),
        ("시스템", {3, 8}),
        ("추천시스템", {3}),
        ("추천", {3}),
        ("스캐터랩", {4}),
        # English: case-insensitive prefixes, inside mixed tokens too
        ("transf", {0, 5}),
        ("Transformer", {0, 5}),
        ("TRANSF", {0, 5}),
        ("ｔｒａｎｓｆ", {0, 5}),
        ("google", {2}),
        ("rlhf", {1}),
        ("llm", {1}),
        ("schrodinger", {9}),
        ("Schrödinger", {9}),
        ("fine tuning", {9}),
        ("data2vec", {9}),
        # several words: all must match
        ("transformer 모델", {0}),
        ("deep 학습", {2}),
        ("nothing-like-this", set()),
        ("", set()),
        ("😀", set()),
    ],
)
def test_search_finds(index: dict[str, bytes], query: str, expected: set[int]) -> None:
    assert set(search(index, query)) == expected


def test_ranking_title_first_then_newest(index: dict[str, bytes]) -> None:
    # 모델 is in the titles of 0 and 7 and in the commentary of 1 and 6.
    assert search(index, "모델") == [7, 0, 6, 1]
    # The form as typed outranks the stripped one: 1 has 모델과 itself.
    assert search(index, "모델과")[:3] == [7, 0, 1]
    # An exact word outranks a longer one: `transformer` is exact in both.
    assert search(index, "transformer") == [0, 5]


def test_query_with_particle_finds_the_bare_word() -> None:
    files = build_search_index(
        [doc("A", "모델 설명"), doc("B", "모델과 데이터"), doc("C", "데이터")]
    )
    assert search(files, "모델과") == [1, 0]
    assert search(files, "모델") == [1, 0]  # a tie: the newest (highest id) first


def test_first_query_downloads_only_what_it_needs(index: dict[str, bytes]) -> None:
    reader = SearchIndexReader(lambda p: json.loads(index["search/" + p]))
    ids = reader.search("러닝")
    reader.documents(ids[:20])
    shards = [p for p in reader.fetched if p.startswith("t/")]
    assert reader.fetched[0] == "manifest.json"
    assert len(shards) == 1  # the bigram 러닝 lives in one shard
    assert [p for p in reader.fetched if p.startswith("d/")] == ["d/0.json"]


def test_large_index_splits_hot_shards(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("digest.search.SHARD_BYTES", 400)
    words = ["transformer", "training", "trade", "tree", "transfer", "tracking"]
    docs = [
        doc(
            f"Title {i} {words[i % 6]}",
            f"모델 학습 {i}번 딥러닝과 추천시스템 모{chr(0xAC00 + i * 7 % 2000)}",
        )
        for i in range(3000)
    ]
    files = build_search_index(docs)
    manifest = json.loads(files["search/manifest.json"])
    keys = manifest["keys"].split()
    assert any(":" in key for key in keys)  # hash-bucketed Hangul shards
    assert {"trac", "trad", "trai", "transfe", "transfo", "tre"} <= set(keys)
    newest_first = range(2999, -1, -1)
    assert search(files, "추천시스템") == list(newest_first)
    assert search(files, "title 1234") == [1234]
    assert search(files, "transf") == [i for i in newest_first if i % 6 in (0, 4)]
    assert search(files, "tr") == list(newest_first)
    reader = SearchIndexReader(lambda p: json.loads(files["search/" + p]))
    reader.search("모델")
    fetched = sum(len(files["search/" + p]) for p in reader.fetched)
    assert fetched < 60_000


# --- the browser's copy, under node ------------------------------------------

TRICKY = [
    "Transformer보다 빠른 ML모델과 GPT-4o, data2vec 2.0",
    unicodedata.normalize("NFD", "추천시스템과 딥러닝으로 서울에서"),
    "ＦｕｌｌＷｉｄｔｈ ＬＡＴＩＮ １２３ and ｶﾀｶﾅ",
    "ﬁne-tuning ﬂow Schrödinger’s café naïve Æsir Straße İstanbul ǅemal",
    "emoji 😀👩‍💻🇰🇷 between 모델😀모델",
    "punctuation: (a)[b]{c} <d> e/f\\g h_i j-k l.m n,o p;q 'r' \"s\" `t` ~u~ @v #w $x %y ^z",
    "digits 3.14 1,000 ①②③ ½ ² x² 2022년 12월 29일",
    "Ｔｒａｎｓｆｏｒｍｅｒ는 ᄒᆞᆫ글 ㅋㅋㅋ ㄱㅏ 한글 ᄀ\u1161\u11a8",
    "tabs\tand\nnewlines\r\nand\u00a0nbsp\u200bzero-width\u2028line",
    "Ελληνικά Русский 中文 日本語 العربية עברית",
    "µTransfer ΩMEGA ℃ ™ № ㎏ ㈜ ㉠ ㊀ 囍",
    "ⓐⓑⓒ 𝐀𝐁𝐂 𝔸𝔹ℂ 🄰🄱 ⒜⒝",
    "",
    "   ",
    "a" * 300 + "가" * 50,
]

QUERIES = [
    "모델",
    "모델과",
    "서울",
    "서울은",
    "러닝",
    "시스템",
    "추천시스템",
    "transf",
    "Transformer보다",
    "TRANSF 모델",
    "t",
    "모",
    "딥",
    "google 딥러닝",
    "fine tuning",
    "schrödinger",
    "nothing",
    "",
    "😀",
    "a b c d e f g h i j k",
]

NODE_SCRIPT = r"""
const fs = require("fs");
const path = require("path");
const [, , jsPath, dir, inputPath] = process.argv;
const api = require(jsPath);
const input = JSON.parse(fs.readFileSync(inputPath, "utf8"));
const load = (p) => JSON.parse(fs.readFileSync(path.join(dir, "search", p), "utf8"));
(async () => {
  const searcher = api.createSearcher(load);
  const out = { tokens: input.texts.map(api.tokenize), results: [], plans: [] };
  for (const q of input.queries) {
    out.results.push(await searcher.search(q));
    out.plans.push(await searcher.plan(q));
  }
  const ids = out.results.flat().slice(0, 20);
  out.docs = await searcher.documents(ids);
  out.variants = input.variants.map((t) => api.queryVariants(t, input.particles));
  out.decoded = input.encoded.map(api.decodeIds);
  process.stdout.write(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
"""


def node() -> str:
    """The node binary: required, never skipped (the browser code must be tested)."""
    path = shutil.which("node")
    assert path, "node is required to test static/search.js"
    return path


def run_node(
    tmp_path: Path, files: dict[str, bytes], payload: dict[str, object]
) -> dict[str, object]:
    """Write the index and a payload to tmp_path, run NODE_SCRIPT over them, return its output."""
    for rel, data in files.items():
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    (tmp_path / "input.json").write_text(json.dumps(payload), encoding="utf-8")
    (tmp_path / "run.js").write_text(NODE_SCRIPT, encoding="utf-8")
    proc = subprocess.run(
        [
            node(),
            str(tmp_path / "run.js"),
            str(SEARCH_JS),
            str(tmp_path),
            str(tmp_path / "input.json"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, object] = json.loads(proc.stdout)
    return result


def test_javascript_matches_python(tmp_path: Path) -> None:
    docs = [*DOCS, *(doc(text[:40] or "empty", text, source=text[-10:]) for text in TRICKY)]
    files = build_search_index(docs)
    reader = SearchIndexReader(lambda p: json.loads(files["search/" + p]))
    variants = ["모델과", "딥러닝으로", "결과", "서울에서부터", "model", "책을"]
    id_lists: list[list[int]] = [
        [],
        [0, 1, 2, 9, 40, 41, 5000],
        list(range(100)),
        list(range(7, 900, 2)),
        [3, 4],
    ]
    encoded = [encode_ids(ids) for ids in id_lists]
    assert any(e.startswith(".") for e in encoded)
    out = run_node(
        tmp_path,
        files,
        {
            "texts": TRICKY + [d.text for d in DOCS],
            "queries": QUERIES,
            "variants": variants,
            "particles": list(PARTICLES),
            "encoded": encoded,
        },
    )
    assert out["tokens"] == [tokenize(t) for t in TRICKY + [d.text for d in DOCS]]
    py_results = [reader.search(q) for q in QUERIES]
    assert out["results"] == py_results
    assert out["plans"] == [reader.plan(q) for q in QUERIES]
    ids = [i for r in py_results for i in r][:20]
    assert out["docs"] == reader.documents(ids)
    assert out["variants"] == [query_variants(t) for t in variants]
    assert out["decoded"] == [decode_ids(e) for e in encoded]


def test_javascript_matches_python_on_a_large_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hash buckets, split Latin shards and long postings, as at 1,000 issues."""
    monkeypatch.setattr("digest.search.SHARD_BYTES", 300)
    words = ["transformer", "training", "trade", "tree", "trust", "model", "modeling", "the"]
    korean = ["모델과", "딥러닝", "추천시스템은", "서울에서", "학습을", "데이터", "이미지", "언어"]
    docs = [
        doc(
            f"{words[i % 8]} {words[(i * 7) % 8]}{i % 13} report",
            f"{korean[i % 8]} {korean[(i * 3) % 8]} {korean[(i * 5) % 7]} 사례 {i}",
            source=["Google", "Meta", "네이버"][i % 3],
        )
        for i in range(4000)
    ]
    files = build_search_index(docs)
    keys = json.loads(files["search/manifest.json"])["keys"].split()
    assert any(":" in key for key in keys)
    assert any(len(key) > 2 and key.isascii() for key in keys)
    queries = [
        "모델",
        "모델과",
        "러닝",
        "추천시스템",
        "서울",
        "tr",
        "tra",
        "transf",
        "the",
        "model 데이터",
        "t",
    ]
    reader = SearchIndexReader(lambda p: json.loads(files["search/" + p]))
    out = run_node(
        tmp_path,
        files,
        {"texts": [], "queries": queries, "variants": [], "particles": [], "encoded": []},
    )
    assert out["results"] == [reader.search(q) for q in queries]
    assert out["plans"] == [reader.plan(q) for q in queries]


def test_javascript_tokenizer_matches_on_every_code_point(tmp_path: Path) -> None:
    """Each character Python's Unicode database knows, alone and between letters, splits alike."""
    texts = [
        f"A{c}b가{c}나{c}"
        for c in map(chr, range(0x110000))
        if not 0xD800 <= ord(c) <= 0xDFFF and unicodedata.category(c) != "Cn"
    ]
    (tmp_path / "texts.json").write_text(json.dumps(texts), encoding="utf-8")
    script = tmp_path / "tokens.js"
    script.write_text(
        'const api = require(process.argv[2]); const fs = require("fs");\n'
        'const texts = JSON.parse(fs.readFileSync(process.argv[3], "utf8"));\n'
        "fs.writeFileSync(process.argv[4], JSON.stringify(texts.map(api.tokenize)));\n",
        encoding="utf-8",
    )
    out_path = tmp_path / "tokens.json"
    proc = subprocess.run(
        [node(), str(script), str(SEARCH_JS), str(tmp_path / "texts.json"), str(out_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    js_tokens = json.loads(out_path.read_text(encoding="utf-8"))
    mismatches = [
        (hex(ord(t[1])), js, py)
        for t, js, py in zip(texts, js_tokens, map(tokenize, texts), strict=True)
        if js != py
    ]
    assert mismatches == []
