"""Differential tests: the reader's fast paths agree with the general code they stand in for."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import pickle

from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from digest import markup
from digest.errors import Diagnostic, SourceText
from digest.markup import plain_text
from digest.model import Issue, Link, ParsedIssue, Section, Subtopic
from digest.outline import plain_title
from digest.yamlmap import read_yaml_mapping, simple_mapping

EXAMPLES = int(os.environ.get("HYPOTHESIS_EXAMPLES", "500"))
PROPERTY = settings(
    max_examples=EXAMPLES * 4,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# Pieces of YAML that are, or are close to, what `simple_mapping` accepts, so random
# blocks probe the edges of its subset: indicators, comments, quotes, flow lists,
# values PyYAML resolves to non-strings, and characters YAML treats specially.
KEYS = ["url", "title", "tags", "a", "a-b", "x_1", "yes", "y", "on", "No", "null", "1", "<<"]
PIECES = [
    " ",
    "  ",
    ":",
    ": ",
    "#",
    " #",
    ",",
    ", ",
    "[",
    "]",
    "{",
    "}",
    "'",
    '"',
    "\\",
    "-",
    "- ",
    "?",
    "&a",
    "*a",
    "!",
    "!!str ",
    "|",
    ">",
    "%",
    "@",
    "`",
    "~",
    "=",
    ".",
    "..",
    "https://example.org/a?b=c#d",
    "2022-12",
    "2022-12-29",
    "12:30",
    "1_000",
    "0x1F",
    "0o7",
    "1e3",
    ".inf",
    "-.5",
    "+1",
    "true",
    "False",
    "yes",
    "off",
    "null",
    "NULL",
    "tag",
    "Title",
    "RLHF",
    "스캐터랩",
    "機械学習",
    "\U0001f600",
    "\u00a0",
    "\t",
    "\r",
    "\x85",
    "\u2028",
    "\ufeff",
    "\x7f",
    "\x01",
    "\ufffd",
    "a b",
    "x",
    "0",
]
WORDS = ["Title", "RLHF", "a", "x1", "스캐터랩", "機械学習", "2022", "\U0001f600", "e"]
values = st.lists(st.sampled_from(PIECES), max_size=6).map("".join)
# Mostly words, now and then an edge piece: values that are usually in the subset.
wordy = st.lists(
    st.one_of(st.sampled_from(WORDS), st.sampled_from(WORDS), st.sampled_from(PIECES)),
    min_size=1,
    max_size=5,
).map("".join)
items = st.lists(wordy, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]")
near = st.one_of(
    wordy,
    wordy.map(lambda v: f'"{v}"'),
    wordy.map(lambda v: f"'{v}'"),
    items,
    st.builds(lambda a, b: a + b, items, st.sampled_from(PIECES)),
)
lines = st.one_of(
    st.builds(
        lambda k, sep, v: k + sep + v,
        st.sampled_from(KEYS),
        st.sampled_from([": ", ":  ", ":", " : ", ": [", ': "', ": '"]),
        values,
    ),
    st.builds(lambda k, v: f"{k}: {v}", st.sampled_from(KEYS), near),
    st.builds(lambda k, v: f"{k}: {v}", st.sampled_from(KEYS), near),
    st.sampled_from(["", " ", "# note", "  - a", "---", "...", "%YAML 1.1", "  more"]),
    values,
)
blocks = st.one_of(
    st.lists(lines, min_size=1, max_size=6).map("\n".join),
    st.dictionaries(st.sampled_from(KEYS), near, min_size=1, max_size=5).map(
        lambda fields: "\n".join(f"{k}: {v}" for k, v in fields.items())
    ),
)


@PROPERTY
@given(blocks)
@example('url: https://x.org/a\ntitle: "RETRO 2: Sparse"\npublished: 2022-12\ntags: [a, b c ]')
@example("tags: []\nsource: 'Meta (FAIR)'")
@example("title: a,b [c] {d}\nurl: x#y")
@example("tags: [a,b]")
@example("a: " + "x" * 2000)
def test_simple_mapping_agrees_with_pyyaml(text: str) -> None:
    """Whatever the fast reader accepts, PyYAML reads the same: same values, same positions."""
    fast = simple_mapping(text, 7)
    event("fast path" if fast is not None else "PyYAML")
    if fast is None:
        return
    problems: list[Diagnostic] = []
    slow = read_yaml_mapping(SourceText("t.md", text), text, 7, "link block", problems)
    assert slow is not None and not problems, f"fast path accepted what PyYAML rejects: {problems}"
    assert fast == slow
    for key, value in slow[0].items():
        assert type(fast[0][key]) is type(value)
        if isinstance(value, list):
            assert all(type(item) is str for item in value)


inline = st.text(
    st.one_of(
        st.sampled_from(list("*_`~[]()!<>&\\#\n\r\x00 \t\u00a0\u3000\x85\u2028;:/.")),
        st.characters(),
    ),
    max_size=30,
)


# Titles of words, some wrapped in stars, joined by spaces: the emphasis fast path's edges.
starry = st.lists(
    st.one_of(
        st.sampled_from(["a", "Scaling", "B2", "é", "스캐터랩", "x.", "(a)", "-", ".", ""]),
        st.sampled_from(["*", "**", "*a*", "*a b*", "*a", "a*", "*.", ".*", "*é*", "_a_"]),
    ),
    max_size=6,
).flatmap(lambda words: st.sampled_from([" ", "", "  ", "\t"]).map(lambda sep: sep.join(words)))


@PROPERTY
@given(st.one_of(inline, starry))
@example("Illustrating RLHF  (part 2)")
@example("a &amp; b")
@example("*Scaling* Speech Models to *Billions* of Users")
def test_plain_title_agrees_with_markdown(text: str) -> None:
    """A title's plain text is the same whether or not Markdown parsing was skipped."""
    assert plain_title(text) == plain_text(text)


def test_model_pickles_by_fields() -> None:
    """Pickling keeps every field (the reduce lists the constructor's fields)."""
    for cls in (Link, Subtopic, Section, Issue, ParsedIssue):
        assert cls.__match_args__ == tuple(f.name for f in dataclasses.fields(cls) if f.init)
    link = Link("a", "A", "*A*", "https://x.org", "2022-12", "S", ("t",), "c", 9)
    issue = Issue(
        "2022-12",
        "T",
        dt.date(2022, 12, 1),
        "p.md",
        "intro",
        (Section("R", "R", "r", "", (link,), (Subtopic("N", "N", "n", "note", (link,)),)),),
        "sum",
        True,
    )
    parsed = ParsedIssue(issue, ())
    again = pickle.loads(pickle.dumps(parsed, pickle.HIGHEST_PROTOCOL))
    assert again == parsed
    assert again.issue.link_count == 2  # made again on unpickling, not pickled


_PROSE = st.text(
    st.one_of(
        st.sampled_from(list("ab Zé가나한 .,:;?'\"()/%@#$^+=-|{}1\n\n")),
        st.sampled_from(list("\t\r\x00\x0b\u3000\xa0*_[]!<>&~`\\")),
        st.characters(exclude_categories=("Cs",)),
    ),
    max_size=30,
)
"""Mostly prose, with every character that could start Markdown syntax now and then."""


@settings(max_examples=3000, deadline=None)
@given(_PROSE)
def test_plain_prose_shortcut_renders_as_markdown_it(text: str) -> None:
    from digest import markup

    md = markup.markdown()
    if text and markup.simple_html(text) is not None:
        assert markup.render_block(text) == md.render(text, {"base": ""})
    assert markup.render_inline(text) == md.renderInline(text, {"base": ""})


# Lines of commentary as editors write them, and the near misses around them: list
# markers at each indent, ordered lists, block starts, emphasis runs, Unicode spaces.
_LINE_STARTS = ["", "", "", "- ", "- ", "  - ", "  - ", "   - ", "    - ", "-", "* ", "+ "]
_LINE_STARTS += ["1. ", "2) ", "10.", "① ", "3d ", "2022년 ", "# ", "> ", "---", "===", " ", "("]
_WORDS = ["a", "Ab", "가나", "x1", "é", "①", "→", "(", ")", '"', "'", ".", ":", "|", "-"]
_WORDS += ["*", "*", "**", "**", "***", " ", " ", "  ", "\u3000", "\xa0", "_", "1.", "=", "#"]
_WORDS += ["[", "]", "](", "[a]", "[a]: /u", "[a](u", "[ a ](u)", '[a](u "t")', "[a](u(x))"]
_WORDS += ["[a](javascript:x)", "[a](java\u3000script:x)", "[a](/u)", "[*a*](u)", "[a](*u*)"]
# Links: absolute, relative (resolved against the base), in-page, protocol-relative,
# non-ASCII (percent-encoded), and unsafe schemes (which markdown-it unlinks).
_LINKS = ["[a](https://x.org/a?b=c#d)", "[가 나](https://한국.kr/경로 )", "[a](./img/x.png)"]
_LINKS += ["[a](#x)", "[a](//h.org/p)", "[a](mailto:a@b.org)", "[x1](data:x)", "[a](HTTP://X)"]
_WORDS += _LINKS
_NEAR_WORDS = ["a", "가나", "x1", " ", " ", "*", "**", "(", '"', *_LINKS]
_any_line = st.builds(
    lambda start, words: start + "".join(words),
    st.sampled_from(_LINE_STARTS),
    st.lists(st.sampled_from(_WORDS), max_size=8),
)
_near_line = st.builds(  # mostly what the shortcut takes
    lambda start, words, end: start + "".join(words) + end,
    st.sampled_from(["", "", "- ", "  - ", "(", "*"]),
    st.lists(st.sampled_from(_NEAR_WORDS), max_size=8),
    st.sampled_from(["a", "가", "*", "**", ")"]),
)
_COMMENTARY = st.one_of(
    st.lists(st.one_of(_any_line, _near_line), min_size=1, max_size=7),
    st.lists(_near_line, min_size=1, max_size=7),
    st.lists(st.sampled_from(["", "- a", "  - a", "a *b*", "**가**"]), min_size=1, max_size=7),
).map("\n".join)


@settings(max_examples=EXAMPLES * 10, deadline=None)
@given(_COMMENTARY)
def test_simple_commentary_shortcut_renders_as_markdown_it(text: str) -> None:
    from digest import markup

    md = markup.markdown()
    for base in ("", "/sub/"):
        html = markup.simple_html(text, base)
        event("shortcut" if html is not None else "markdown-it")
        if html is not None:
            assert html == md.render(text, {"base": base})
        for line in text.split("\n"):  # as a title
            assert markup.render_inline(line, base) == md.renderInline(line, {"base": base})


@settings(max_examples=EXAMPLES * 2, deadline=None)
@given(st.from_regex(markup._PLAIN_URL, fullmatch=True))
def test_plain_urls_need_no_normalising(url: str) -> None:
    assert markup.markdown().normalizeLink(url) == url


TYPICAL = [
    "모델 압축과 양자화로 메모리 사용량을 1/4로 줄임.\n\n① 미적 점수 ② 임베딩 → HNSW",
    "정리:\n- 오프라인 지표와 *A/B* 테스트\n  - **Muse** 참고\n  - 둘째\n- 셋째\n\n끝.",
    '요약:\n  - 첫째 (= PPO)\n- 둘째 → *Parti*는 "좋다"\n\n2022년 12월.',
    "[Swin v2](https://www.microsoft.com/swin), 도구 [µTransfer](https://ms.com/%c2%b5t) 등",
]


def test_typical_commentary_takes_the_shortcut() -> None:
    from digest import markup

    for text in TYPICAL:
        html = markup.simple_html(text)
        assert html is not None, text
        assert html == markup.markdown().render(text, {"base": ""})


@settings(max_examples=2000, deadline=None)
@given(
    st.text(
        st.one_of(
            st.characters(max_codepoint=0x7F),
            st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3),
            st.characters(min_codepoint=0x1100, max_codepoint=0x11FF),
            st.characters(min_codepoint=0x3130, max_codepoint=0x318F),
            st.sampled_from("éÅñ\u0301\u0300ﬁ①Ａ"),
        )
    )
)
def test_search_normalize_shortcut_is_the_full_rule(text: str) -> None:
    import re
    import unicodedata

    from digest.search import normalize

    folded = unicodedata.normalize("NFKC", text).lower()
    full = re.sub("[\u0300-\u036f]", "", unicodedata.normalize("NFD", folded))
    assert normalize(text) == unicodedata.normalize("NFC", full)
