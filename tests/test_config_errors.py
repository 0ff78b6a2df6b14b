"""site.yaml problems: each one reported at its own line and column, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from digest.config import SiteConfig, load_config, parse_config
from digest.errors import ContentErrors, Diagnostic

from .conftest import run_digest


def problems(text: str) -> list[Diagnostic]:
    """The diagnostics `parse_config` reports for `text` (which must have some)."""
    with pytest.raises(ContentErrors) as caught:
        parse_config("site.yaml", text)
    return caught.value.diagnostics


def where(text: str) -> list[tuple[int, int, str]]:
    """Line, column and message of every problem in `text`."""
    return [(d.line, d.col, d.message) for d in problems(text)]


# -- taxonomy shapes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("taxonomy:\n  sections: 42\n", (2, 13, "'taxonomy.sections' must be a list")),
        ("taxonomy:\n  subtopics: notalist\n", (2, 14, "'taxonomy.subtopics' must be a list")),
    ],
)
def test_taxonomy_groups_must_be_lists(text: str, expected: tuple[int, int, str]) -> None:
    # A number crashed with a TypeError; a string became one term per letter.
    assert where(text) == [expected]


def test_check_reports_a_taxonomy_that_is_not_a_list_without_a_traceback(
    tmp_path: Path,
) -> None:
    content = tmp_path / "content"
    (content / "issues").mkdir(parents=True)
    (content / "site.yaml").write_text("taxonomy:\n  sections: 42\n", encoding="utf-8")
    result = run_digest("check", "--content", str(content))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "site.yaml:2:13: error: 'taxonomy.sections' must be a list" in result.stderr


@pytest.mark.parametrize(
    ("aliases", "expected"),
    [
        ("{x: 1}", (4, 16, "'aliases' in taxonomy.sections must be a list")),
        ("[[x]]", (4, 17, "each alias in taxonomy.sections must be text")),
        ("[ok, 3]", (4, 21, "each alias in taxonomy.sections must be text")),
    ],
)
def test_aliases_must_be_a_list_of_text(aliases: str, expected: tuple[int, int, str]) -> None:
    text = f"taxonomy:\n  sections:\n    - name: A\n      aliases: {aliases}\n"
    assert where(text) == [expected]


def test_a_single_alias_may_be_written_without_brackets() -> None:
    config = parse_config(
        "site.yaml", "taxonomy:\n  subtopics:\n    - {name: CV, aliases: Vision}\n"
    )
    assert config.taxonomy.subtopics[0].aliases == ("Vision",)


def test_names_and_slugs_must_be_text() -> None:
    text = "taxonomy:\n  sections:\n    - name: 2022\n    - name: A\n      slug: 12\n    - 7\n"
    found = problems(text)
    assert [(d.line, d.col, d.message) for d in found] == [
        (3, 13, "'name' in taxonomy.sections must be text"),
        (5, 13, "'slug' in taxonomy.sections must be text"),
        (6, 7, "each taxonomy.sections entry must be a name or a mapping"),
    ]
    assert found[0].hint == 'quote it to keep it as text: "2022"'


# -- duplicates ---------------------------------------------------------------------------


def test_two_entries_with_one_slug_are_an_error_at_the_second() -> None:
    text = "taxonomy:\n  sections:\n    - name: A\n      slug: a\n    - name: B\n      slug: a\n"
    [problem] = problems(text)
    assert (problem.line, problem.col) == (6, 13)
    assert problem.message == "section slug 'a' is already used by 'A'"


def test_a_derived_slug_clashing_with_a_given_one_is_an_error_at_the_entry() -> None:
    text = "taxonomy:\n  subtopics:\n    - {name: Vision, slug: cv}\n    - CV\n"
    assert where(text) == [(4, 7, "subtopic slug 'cv' is already used by 'Vision'")]


def test_a_heading_may_name_one_term_of_a_group_only() -> None:
    # The first term that matches a heading wins: a second one could never be reached.
    text = (
        "taxonomy:\n"
        "  sections:\n"
        "    - Research\n"
        "    - research\n"
        "    - {name: Biz, aliases: [Business, '1. RESEARCH']}\n"
        "  subtopics:\n"
        "    - {name: CV, aliases: [cv, Vision]}\n"  # its own name again is harmless
        "    - Research\n"  # another group: no clash
    )
    assert where(text) == [
        (4, 7, "'research' already names the section 'Research'"),
        (5, 39, "'1. RESEARCH' already names the section 'Research'"),
    ]


# -- nested positions ---------------------------------------------------------------------


def test_feeds_problems_point_at_their_own_key_or_value() -> None:
    text = "feeds:\n  issues: 20\n  links: 0\n  tagz: 3\n  topic: many\n"
    assert where(text) == [
        (3, 10, "'feeds.links' must be at least 1"),
        (4, 3, "unknown key 'tagz' in feeds"),
        (5, 10, "'feeds.topic' must be a whole number"),
    ]


def test_taxonomy_problems_point_at_their_own_entry_and_key() -> None:
    text = (
        "taxonomy:\n"
        "  sections:\n"
        "    - name: A\n"
        "    - slug: b\n"
        "    - name: C\n"
        "      slug: 'c?'\n"
        "      colour: red\n"
        "  topics: []\n"
    )
    assert where(text) == [
        (4, 7, "each taxonomy.sections entry needs a 'name'"),
        (6, 13, "taxonomy.sections slug 'c?' is not a slug"),
        (7, 7, "unknown key 'colour' in taxonomy.sections"),
        (8, 3, "unknown key 'topics' in taxonomy"),
    ]


# -- reading the file ---------------------------------------------------------------------


def test_a_lone_cr_ends_a_line(tmp_path: Path) -> None:
    site_yaml = tmp_path / "site.yaml"
    site_yaml.write_bytes(b"title: ok\rfoo: bar\r")
    with pytest.raises(ContentErrors) as caught:
        load_config(site_yaml)
    [problem] = caught.value.diagnostics
    assert (problem.line, problem.col, problem.source_line) == (2, 1, "foo: bar")
    site_yaml.write_bytes(b"title: ok\rper_page: 3\r\nlanguage: en\r")
    assert load_config(site_yaml) == SiteConfig(title="ok", per_page=3, language="en")


def test_a_folder_in_place_of_site_yaml_is_a_located_error(tmp_path: Path) -> None:
    (tmp_path / "site.yaml").mkdir()
    with pytest.raises(ContentErrors) as caught:
        load_config(tmp_path / "site.yaml")
    [problem] = caught.value.diagnostics
    assert problem.format().startswith(
        f"{tmp_path / 'site.yaml'}:1:1: error: cannot read site.yaml: Is a directory"
    )
    assert problem.hint


def test_an_unreadable_site_yaml_is_a_located_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Root reads any file whatever its mode, so the refusal is played by read_bytes.
    site_yaml = tmp_path / "site.yaml"
    site_yaml.write_text("title: x\n", encoding="utf-8")

    def refuse(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(ContentErrors) as caught:
        load_config(site_yaml)
    [problem] = caught.value.diagnostics
    assert (problem.path, problem.line, problem.col) == (str(site_yaml), 1, 1)
    assert problem.message == "cannot read site.yaml: Permission denied"


def test_invalid_utf8_is_reported_at_its_line_and_character(tmp_path: Path) -> None:
    # Line 3 (after a BOM, a CRLF and a lone CR), after two Hangul syllables of 3 bytes each.
    site_yaml = tmp_path / "site.yaml"
    site_yaml.write_bytes(
        b"\xef\xbb\xbftitle: x\r\nlanguage: ko\rauthor: \xea\xb0\x80\xea\xb0\x80 \xff\n"
    )
    with pytest.raises(ContentErrors) as caught:
        load_config(site_yaml)
    [problem] = caught.value.diagnostics
    assert (problem.line, problem.col) == (3, 12)
    assert problem.source_line == "author: 가가 \ufffd"
    assert "not valid UTF-8 (byte 0xff)" in problem.message


# -- title_pattern ------------------------------------------------------------------------


@pytest.mark.parametrize("spec", [">99999999999", ">100", "0100", ".500"])
def test_title_pattern_widths_are_limited(spec: str) -> None:
    # `{year:>99999999999}` died with a MemoryError; `{year:>999999999}` built a gigabyte.
    [problem] = problems(f'title_pattern: "{{year:{spec}}}"\n')
    assert (problem.line, problem.col) == (1, 16)
    assert f"the width or precision in '{{year:{spec}}}' is over 99" in problem.message


def test_ordinary_title_pattern_specs_still_work() -> None:
    config = parse_config("site.yaml", 'title_pattern: "{year:>04}.{month:02}.{day:0>2}"\n')
    assert config.title_pattern.format(year=2022, month=1, day=2) == "2022.01.02"


# -- wording ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "message", "hint"),
    [
        ("per_page: x", "'per_page' must be a whole number", "for example: per_page: 50"),
        ("recent_issues: 1.5", "'recent_issues' must be a whole number", "recent_issues: 12"),
        ("title: [a, b]", "'title' must be text", "for example: title: ML 읽을거리"),
        ("base_url:", "'base_url' must be text", "base_url: https://example.org/ml/"),
        ("author: 2022", "'author' must be text", 'quote it to keep it as text: "2022"'),
        ("feeds: 3", "'feeds' must be a mapping", "feeds: {issues: 20, links: 100"),
        ("taxonomy: [CV]", "'taxonomy' must be a mapping", "taxonomy: {sections: ["),
    ],
)
def test_type_errors_say_what_is_wanted_with_a_real_example(
    line: str, message: str, hint: str
) -> None:
    [problem] = problems(line + "\n")
    assert problem.message == message
    assert hint in problem.hint and "..." not in problem.hint


def test_yaml_problems_do_not_hide_the_others() -> None:
    # A duplicate key or an unreadable value was the only problem reported.
    from digest.config import parse_config

    text = "title: a\ntitle: b\nper_page: 2022-02-30\nlanguage: 1x\nfeeds: {issues: 0}\n"
    with pytest.raises(ContentErrors) as caught:
        parse_config("site.yaml", text)
    found = [(d.line, d.message.split(":")[0]) for d in caught.value.diagnostics]
    assert found == [
        (2, "duplicate key 'title' in site.yaml"),
        (3, "invalid value in site.yaml"),
        (4, "'language' must be a language tag, not '1x'"),
        (5, "'feeds.issues' must be at least 1"),
    ]


def test_a_key_written_twice_inside_a_mapping_is_an_error_where_it_repeats() -> None:
    # PyYAML keeps the last one silently: `issues` would have been 50.
    text = (
        "feeds: {issues: 5, issues: 50}\n"
        "taxonomy:\n"
        "  sections:\n"
        "    - name: Research\n"
        "      slug: research\n"
        "      slug: studies\n"
        "  subtopics: []\n"
    )
    assert where(text) == [
        (1, 20, "duplicate key 'issues' in site.yaml"),
        (6, 7, "duplicate key 'slug' in site.yaml"),
    ]


def test_an_alias_that_contains_itself_is_reported_not_walked_for_ever() -> None:
    found = problems("feeds: &a {issues: 5, more: *a}\n")
    assert found and all("duplicate" not in d.message for d in found)
