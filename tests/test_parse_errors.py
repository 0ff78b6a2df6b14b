"""Native-file errors: every problem in one run, each at the line and column to fix."""

from __future__ import annotations

import pytest

from digest.config import SiteConfig, parse_config
from digest.errors import ContentErrors, Diagnostic
from digest.markup import render_block
from digest.parse import read_issue

CONFIG = SiteConfig()
HEAD = "---\ndate: 2023-01-31\n---\n## Research\n"
BAD_LINK = "---\nurl: ftp://example.org/x\ntitle: Wrong scheme\n---\n"


def problems(data: str | bytes) -> list[Diagnostic]:
    """The errors (not warnings) `read_issue` reports for a file."""
    raw = data.encode() if isinstance(data, str) else data
    with pytest.raises(ContentErrors) as info:
        read_issue("x.md", raw, CONFIG)
    return [d for d in info.value.diagnostics if d.severity == "error"]


def located(data: str | bytes) -> list[str]:
    """Each error as `line:col: message`."""
    return [f"{d.line}:{d.col}: {d.message}" for d in problems(data)]


# -- 1. a front-matter error hides nothing in the body ----------------------------------


@pytest.mark.parametrize(
    ("front", "expected"),
    [
        (
            'title: "unclosed\ndate: 2023-01-31\n',
            "2:8: invalid YAML in issue front matter: found unexpected end of stream "
            "(in the quoted scalar that starts here)",
        ),
        (
            "date: 2023-01-31\ndate: 2023-01-30\n",
            "3:1: duplicate key 'date' in issue front matter",
        ),
        (
            "date: 2022-13-29\n",
            "2:7: invalid value in issue front matter: month must be in 1..12",
        ),
    ],
    ids=["unclosed-quote", "duplicate-key", "impossible-date"],
)
def test_a_front_matter_error_hides_no_body_error(front: str, expected: str) -> None:
    text = f"---\n{front}---\n## Research\n{BAD_LINK}"
    link_line = text.split("\n").index("url: ftp://example.org/x") + 1
    assert located(text) == [
        expected,
        f"{link_line}:6: 'url' must be an absolute http or https URL, not 'ftp://example.org/x'",
    ]


def test_a_bad_front_matter_alone_still_gives_no_issue() -> None:
    text = "---\ndate: 2022-13-29\n---\n## Research\n---\nurl: https://e.org\ntitle: T\n---\n"
    assert located(text) == ["2:7: invalid value in issue front matter: month must be in 1..12"]


# -- 2. every problem of one YAML mapping -----------------------------------------------


def test_every_duplicate_key_of_a_block_is_reported() -> None:
    text = HEAD + "---\nurl: https://e.org\ntitle: a\ntitle: b\nsource: x\nsource: y\n---\n"
    assert located(text) == [
        "8:1: duplicate key 'title' in link block",
        "10:1: duplicate key 'source' in link block",
    ]


def test_an_unreadable_value_hides_no_other_problem_of_its_block() -> None:
    text = HEAD + (
        "---\nurl: https://e.org\ntitle: a\npublished: 2022-02-30\nid: Bad Id\ntags: llm\n---\n"
    )
    assert located(text) == [
        "8:12: invalid value in link block: day is out of range for month",
        "9:5: 'id' must be a slug (lowercase letters, digits and '-'), not 'Bad Id'",
        "10:7: 'tags' must be a list",
    ]


def test_a_key_with_an_unreadable_value_is_not_also_missing() -> None:
    text = HEAD + "---\nurl: !!float x\ntitle: a\n---\n"
    (only,) = located(text)
    assert only.startswith("6:6: invalid value in link block:")


# -- 3. PyYAML's messages, readable and at the right place ------------------------------


def test_an_unhashable_key_is_reported_at_the_key() -> None:
    text = HEAD + "---\nurl: https://e.org\ntitle: a\n? [a, b]\n: c\n---\n"
    assert located(text) == [
        "8:3: invalid YAML in link block: a key must be text, not a list or mapping"
    ]


@pytest.mark.parametrize(
    ("yaml", "expected"),
    [
        (
            "tags: [{[a]: b}]",
            "8:9: invalid YAML in link block: found unhashable key (while constructing a mapping)",
        ),
        (
            "- b",
            "8:1: invalid YAML in link block: did not find expected key "
            "(while parsing a block mapping)",
        ),
        (
            "source: &x b\ntags: &x [c]",
            "9:7: invalid YAML in link block: found duplicate anchor; first occurrence "
            "(line 8), second occurrence",
        ),
    ],
    ids=["nested-unhashable", "stray-list-item", "duplicate-anchor"],
)
def test_yaml_messages_are_clean_and_point_at_the_problem(yaml: str, expected: str) -> None:
    text = HEAD + f"---\nurl: https://e.org\ntitle: a\n{yaml}\n---\n"
    assert located(text) == [expected]


def test_an_unclosed_bracket_still_points_where_it_was_opened() -> None:
    text = HEAD + "---\nurl: https://e.org\ntitle: [unclosed\ntags: [a]\n---\n"
    assert located(text) == [
        "7:8: invalid YAML in link block: did not find expected ',' or ']' "
        "(in the flow sequence that starts here)"
    ]


# -- 4. odd keys are named as written ---------------------------------------------------


def test_odd_keys_are_reported_as_written_at_their_line() -> None:
    text = HEAD + "---\nurl: https://e.org\ntitle: a\n~: c\nyes: d\nnull: e\n---\n"
    assert located(text) == [
        "8:1: unknown key '~' in link block",
        "9:1: unknown key 'yes' in link block",
        "10:1: unknown key 'null' in link block",
    ]


def test_odd_keys_in_site_yaml_are_reported_as_written() -> None:
    with pytest.raises(ContentErrors) as info:
        parse_config("site.yaml", "title: x\nyes: 1\n")
    (diag,) = info.value.diagnostics
    assert (diag.line, diag.message) == (2, "unknown key 'yes' in site.yaml")


# -- 5. a duplicate id at its `id:` -----------------------------------------------------


def test_a_duplicate_id_points_at_its_id_value() -> None:
    text = HEAD + (
        "---\nurl: https://e.org/a\ntitle: a\nid: dup\n---\n\n"
        "---\nurl: https://e.org/b\ntitle: b\nid: dup\n---\n"
    )
    assert located(text) == ["14:5: duplicate link id 'dup' (first used on line 5)"]


# -- 6. a missing closing `---` is one error, and what follows reads right ---------------


def test_unclosed_front_matter_ends_at_a_heading() -> None:
    text = (
        "---\ntitle: x\ndate: 2023-01-31\n\n## Research\n### NLP\n\nSome text\n"
        "---\nurl: https://e.org/a\ntitle: a\n---\ncommentary\n\n" + BAD_LINK
    )
    (unclosed, bad_url) = problems(text)
    assert (unclosed.line, unclosed.col) == (1, 1)
    assert unclosed.message == "issue front matter is not closed: add `---` before line 5"
    assert "`## ` or `### `" in unclosed.hint
    assert bad_url.line == 16 and bad_url.message.startswith("'url' must be")


def test_an_unclosed_link_block_ends_at_a_heading_and_later_blocks_pair_up() -> None:
    text = HEAD + (
        "### NLP\n---\nurl: https://e.org/a\ntitle: a\n\ncommentary a\n\n"
        "### CV\n---\nurl: https://e.org/b\ntitle: b\n---\ncomment b\n\n"
        "---\nurl: https://e.org/c\ntitle: c\n---\ncomment c\n"
    )
    assert located(text) == ["6:1: link block is not closed: add `---` before line 12"]
    # Closed as the hint says, the same file reads, `### CV` and its links included.
    fixed = text.replace("title: a\n", "title: a\n---\n")
    issue = read_issue("x.md", fixed.encode(), CONFIG).issue
    nlp, cv = issue.sections[0].subtopics
    assert [link.title for link in nlp.links] == ["a"]
    assert [(link.title, link.commentary) for link in cv.links] == [
        ("b", "comment b"),
        ("c", "comment c"),
    ]


def test_a_block_left_open_at_the_end_of_the_file_keeps_its_message() -> None:
    text = HEAD + "---\nurl: https://e.org/a\ntitle: a\n"
    assert located(text) == ["5:1: link block is not closed"]


def test_comments_and_indented_hashes_in_a_block_are_still_yaml() -> None:
    text = HEAD + (
        "---\n# a comment\n#### not a heading\nurl: https://e.org/a\n"
        "title: >\n  ## part of the title\n---\n"
    )
    (link,) = read_issue("x.md", text.encode(), CONFIG).issue.sections[0].links
    assert link.title == "## part of the title"


# -- 7. encoding errors at the character, quoting the line ------------------------------


@pytest.mark.parametrize(
    ("data", "where", "quote"),
    [
        (b"\xef\xbb\xbf---\ndate: 2023-01-31\n---\n## Research\nab\xffc\n", (5, 3), "ab\ufffdc"),
        (b"---\rdate: 2023-01-31\r---\r## Research\rhello\xff\r", (5, 6), "hello\ufffd"),
        (
            b"---\r\ndate: 2023-01-31\r\n---\r\n## Research\r\nhello\xff\r\n",
            (5, 6),
            "hello\ufffd",
        ),
        (HEAD.encode() + "한글 ".encode() + b"\xff\n", (5, 4), "한글 \ufffd"),
        (HEAD.encode() + "한글 ".encode() + b"\xe9t\xe9\n", (5, 4), "한글 \ufffdt\ufffd"),
    ],
    ids=["bom", "cr", "crlf", "korean", "latin-1"],
)
def test_an_invalid_byte_is_located_in_characters(
    data: bytes, where: tuple[int, int], quote: str
) -> None:
    (diag,) = problems(data)
    assert diag.message.startswith("file is not valid UTF-8 (byte 0x")
    assert ((diag.line, diag.col), diag.source_line) == (where, quote)


def test_a_nul_byte_is_located_at_its_column() -> None:
    (diag,) = problems(b"---\rdate: 2023-01-31\r---\r## Research\r\xed\x95\x9c binary\x00junk\r")
    assert (diag.line, diag.col, diag.source_line) == (5, 9, "한 binary\x00junk")
    assert diag.message == "file contains NUL bytes; is it a binary file?"


def test_an_unknown_heading_with_no_terms_set_says_so() -> None:
    # The hint listed the known subtopics even when there were none: "known subtopics: ;".
    from digest.config import parse_config

    config = parse_config("site.yaml", "taxonomy:\n  sections: [Research]\n  subtopics: []\n")
    text = "---\ndate: 2023-01-31\n---\n## Research\n### Foo\n"
    text += "---\nurl: https://e.org/\ntitle: T\n---\n"
    parsed = read_issue("x.md", text.encode(), config)
    [warning] = parsed.warnings
    assert warning.hint == "no subtopics are set; add it (or an alias) to the taxonomy in site.yaml"


@pytest.mark.parametrize("opener", ["[{a: ", "- "])
def test_deep_nesting_is_an_error_not_a_crash(opener: str) -> None:
    # libyaml's composer recurses in C: 20,000 levels crashed the interpreter
    # (a segfault: no traceback, no message, no exit code of ours).
    import subprocess
    import sys

    nested = f"tags:\n  {opener * 20000}x\n" if opener == "- " else f"source: {opener * 20000}\n"
    text = "---\ndate: 2023-01-31\n---\n## Research\n---\nurl: https://e.org/\ntitle: T\n"
    text += f"{nested}---\n"
    code = (
        "import sys\nfrom digest.config import SiteConfig\n"
        "from digest.errors import ContentErrors\nfrom digest.parse import read_issue\n"
        "try:\n    read_issue('x.md', sys.stdin.buffer.read(), SiteConfig())\n"
        "except ContentErrors as exc:\n    print(exc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], input=text.encode(), capture_output=True, timeout=60
    )
    assert result.returncode == 0, result.returncode
    line = b"x.md:9:" if opener == "- " else b"x.md:8:"
    assert result.stdout.startswith(line) and b"more than 100 deep" in result.stdout


def test_a_tag_that_is_not_text_is_said_so() -> None:
    # `tags: [[a], 3]` said "'tags' must be text", with a hint to write `tags: some text`.
    text = "---\ndate: 2023-01-31\n---\n## Research\n"
    text += "---\nurl: https://e.org/\ntitle: T\ntags: [[a], 3]\n---\n"
    [problem] = problems(text)
    assert problem.message == "each tag must be text, not a list, mapping or yes/no value"
    assert "tags: [rlhf, llm]" in problem.hint


@pytest.mark.parametrize("kind", ["native", "legacy"])
def test_a_subtopic_goes_under_the_section_heading_just_above_it(kind: str) -> None:
    # A section named again (here by its alias) put the next subtopic under the
    # section opened last before it instead.
    if kind == "native":
        link = "---\nurl: https://{0}.org\ntitle: {0}\n---\n"
        text = "---\ndate: 2022-12-29\n---\n"
    else:
        link = "* [{0} (Dec 2022)](https://{0}.org)\n"
        text = "# 2022년 12월\n"
    text += "## Research\n### NLP\n" + link.format("a")
    text += "## Business Cases\n### CV\n" + link.format("b")
    text += "## 연구\n### MLOps\n" + link.format("c")
    issue = read_issue("2022-12.md", text.encode(), SiteConfig()).issue
    shape = {
        s.name: [(t.name, [x.url for x in t.links]) for t in s.subtopics] for s in issue.sections
    }
    assert shape == {
        "Research": [("NLP", ["https://a.org"]), ("MLOps", ["https://c.org"])],
        "Business Cases": [("CV", ["https://b.org"])],
    }


@pytest.mark.parametrize("kind", ["native", "legacy"])
@pytest.mark.parametrize(
    "commentary",
    [
        "```x = 1```",  # a code span: a backtick fence's info string has no backtick
        "\t```sh",  # a tab makes an indented code block, not a fence
        "~~~\n```\nstill code\n~~~",  # closed by its own kind of fence only
        "````\n```\nstill code\n````",  # and by one at least as long
    ],
)
def test_code_blocks_end_where_markdown_ends_them(kind: str, commentary: str) -> None:
    # The readers' fence rule was looser than markdown-it's: a code span or a tab-indented
    # fence opened a "code block" that swallowed the next heading, and its links went to
    # the subtopic before it.
    if kind == "native":
        text = "---\ndate: 2022-12-29\n---\n## Research\n### NLP\n"
        text += f"---\nurl: https://a.org\ntitle: A\n---\n{commentary}\n\n### CV\n"
        text += "---\nurl: https://b.org\ntitle: B\n---\n"
    else:
        text = "# 2022년 12월\n## Research\n### NLP\n"
        text += f"* [A (Dec 2022)](https://a.org)\n{commentary}\n\n### CV\n"
        text += "* [B (Dec 2022)](https://b.org)\n"
    issue = read_issue("2022-12.md", text.encode(), SiteConfig()).issue
    [research] = issue.sections
    shape = [(t.name, [x.title for x in t.links]) for t in research.subtopics]
    assert shape == [("NLP", ["A"]), ("CV", ["B"])]


@pytest.mark.parametrize("kind", ["native", "legacy"])
def test_a_hard_line_break_in_commentary_is_kept(kind: str) -> None:
    # Two spaces at the end of a line are a Markdown line break (<br>): trimming every
    # line's trailing whitespace turned it into a space. Elsewhere (a blank line or the
    # end of the text next) it means nothing and is still trimmed.
    commentary = "첫 줄  \n둘째 줄 \n\n셋째 줄  \n"
    if kind == "native":
        text = "---\ndate: 2022-12-29\n---\n## Research\n### NLP\n"
        text += f"---\nurl: https://a.org\ntitle: A\n---\n{commentary}"
    else:
        text = "# 2022년 12월\n## Research\n### NLP\n"
        text += f"* [A (Dec 2022)](https://a.org): {commentary}"  # its first line inline
    issue = read_issue("2022-12.md", text.encode(), SiteConfig()).issue
    [link] = issue.links()
    assert link.commentary == "첫 줄  \n둘째 줄\n\n셋째 줄"
    assert render_block(link.commentary) == "<p>첫 줄<br />\n둘째 줄</p>\n<p>셋째 줄</p>\n"
