"""Every error fixture (`tests/fixtures/errors/<case>.md`) gives exactly its `.err`."""

from __future__ import annotations

from pathlib import Path

import pytest

from digest.config import SiteConfig
from digest.errors import ContentErrors
from digest.parse import read_issue

from .conftest import FIXTURES, run_digest

CASES = sorted((FIXTURES / "errors").glob("*.md"))


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_error_fixture(case: Path) -> None:
    expected = case.with_suffix(".err").read_text(encoding="utf-8")
    with pytest.raises(ContentErrors) as info:
        read_issue(case.name, case.read_bytes(), SiteConfig())
    assert str(info.value) + "\n" == expected


def test_every_fixture_has_an_expected_message() -> None:
    assert CASES, "no error fixtures found"
    for case in CASES:
        assert case.with_suffix(".err").is_file(), f"{case.name} has no .err"


def test_not_utf8_points_at_the_bad_byte() -> None:
    data = "---\ndate: 2023-01-31\n---\n## Research\n한글 \xff".encode("latin-1", "replace")
    data = "---\ndate: 2023-01-31\n---\n## Research\n한글 ".encode() + b"\xff\n"
    with pytest.raises(ContentErrors) as info:
        read_issue("x.md", data, SiteConfig())
    (diag,) = info.value.diagnostics
    assert (diag.line, diag.col) == (5, 4)  # code points, as YAML errors count
    assert diag.message == "file is not valid UTF-8 (byte 0xff)"


def test_bom_and_crlf_are_fine() -> None:
    text = "---\r\ndate: 2023-01-31\r\n---\r\n## Research\r\n"
    parsed = read_issue("x.md", b"\xef\xbb\xbf" + text.encode(), SiteConfig())
    assert parsed.issue.sections[0].name == "Research"


def test_cli_reports_all_errors_of_all_files_without_traceback(tmp_path: Path) -> None:
    issues = tmp_path / "content" / "issues"
    issues.mkdir(parents=True)
    for name in ("bad-url.md", "tags-not-list.md", "draft-string.md"):
        (issues / name).write_bytes((FIXTURES / "errors" / name).read_bytes())
    result = run_digest("check", "--content", str(tmp_path / "content"), cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    for name in (
        "bad-url.md:7:6: error:",
        "bad-url.md:12:6: error:",
        "tags-not-list.md:9:7:",
        "draft-string.md:3:8:",
    ):
        assert name in result.stderr
    assert result.stderr.count("hint: ") == 4


def test_control_characters_in_a_diagnostic_are_shown_not_sent() -> None:
    # A message or source line can quote content: an ESC would restyle the editor's
    # terminal and a newline would forge a diagnostic line. Each shows as one symbol,
    # so the caret still points at the right column.
    from digest.errors import Diagnostic

    d = Diagnostic(
        "a.md", 3, 9, "bad 'x\x1b[31my'", hint="fix\x07 it", source_line="url: \x1b[2Jhttp\x85"
    )
    text = d.format()
    assert not any((ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) < 0xA0 for c in text), text
    assert text.split("\n") == [
        "a.md:3:9: error: bad 'x\u241b[31my'",
        "    3 | url: \u241b[2Jhttp\ufffd",
        "      |         ^",
        "hint: fix\u2407 it",
    ]


def test_the_caret_points_at_the_column_under_wide_characters_and_tabs() -> None:
    # Hangul takes two columns of a terminal and a tab moves to the next stop: the
    # caret line copies that, so it stands under the character the column names.
    from digest.errors import Diagnostic

    korean = Diagnostic("a.md", 3, 14, "x", source_line="title: 한국어 제목: 콜론").format()
    assert korean.split("\n")[2] == "      | " + " " * 7 + " " * 6 + " " * 5 + "^"
    tabbed = Diagnostic("a.md", 3, 4, "x", source_line="a\tb: c").format()
    assert tabbed.split("\n")[2] == "      |  \t ^"


def test_a_long_line_is_quoted_around_the_column() -> None:
    from digest.errors import QUOTE_WIDTH, Diagnostic

    line = "".join(chr(0x61 + n % 26) for n in range(5000))
    quote, caret = Diagnostic("a.md", 1, 4000, "x", source_line=line).format().split("\n")[1:3]
    assert len(quote) < QUOTE_WIDTH + 20 and quote.startswith("    1 | …") and quote.endswith("…")
    assert quote[caret.index("^")] == line[3999]
