"""`digest new`: a draft issue file from the taxonomy that parses cleanly; never overwrites."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from digest import cli
from digest.config import load_config
from digest.parse import read_issue

from .conftest import copy_content, run_digest


@pytest.fixture
def content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the sample content, with the working folder beside it."""
    monkeypatch.chdir(tmp_path)
    return copy_content(tmp_path / "content")


def new(*args: str) -> int:
    """`digest new` in this process."""
    return cli.main(["new", "--content", "content", *args])


def test_new_issue_parses_without_errors_or_warnings(
    content: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert new("--date", "2023-01-31") == 0
    target = content / "issues" / "2023-01.md"
    assert capsys.readouterr().out.startswith(f"wrote {Path('content/issues/2023-01.md')} ")
    config = load_config(content / "site.yaml")
    parsed = read_issue("2023-01.md", target.read_bytes(), config)
    assert parsed.warnings == ()
    issue = parsed.issue
    assert issue.draft is True
    assert issue.date == dt.date(2023, 1, 31)
    assert issue.title == "2023년 1월 ML 읽을거리"  # from title_pattern
    # Every section of the taxonomy, each with every subtopic, in taxonomy order.
    assert [s.name for s in issue.sections] == [t.name for t in config.taxonomy.sections]
    for section in issue.sections:
        assert [t.name for t in section.subtopics] == [t.name for t in config.taxonomy.subtopics]
    ((_, subtopic, link),) = issue.all_links()
    assert subtopic is not None and subtopic.name == config.taxonomy.subtopics[0].name
    assert link.url.startswith("https://") and link.published == "2023-01"
    assert link.commentary


def test_the_draft_is_checked_and_only_built_with_drafts(content: Path, tmp_path: Path) -> None:
    assert new("--date", "2023-01-31") == 0
    check = run_digest("check", "--strict", "--content", "content", cwd=tmp_path)
    assert check.returncode == 0, check.stderr
    assert "checked 2 files (2 issues, 11 links): no problems" in check.stdout
    site = tmp_path / "site"
    assert run_digest("build", "--out", str(site), cwd=tmp_path).returncode == 0
    assert not (site / "issues" / "2023-01").exists()
    result = run_digest("build", "--drafts", "--out", str(site), cwd=tmp_path)
    assert result.returncode == 0
    assert (site / "issues" / "2023-01" / "index.html").is_file()


def test_never_overwrites(content: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert new("--date", "2023-01-31") == 0
    month = content / "issues" / "2023-01.md"
    month.write_text(month.read_text(encoding="utf-8") + "edited\n", encoding="utf-8")
    before = month.read_bytes()
    # An explicit date in a month that has an issue starts a second one, named by the day.
    assert new("--date", "2023-01-31") == 0
    day = content / "issues" / "2023-01-31.md"
    assert day.is_file()
    capsys.readouterr()
    # Both taken: refuse, and say so.
    assert new("--date", "2023-01-31") == 2
    err = capsys.readouterr().err
    assert err == (
        f"error: {Path('content/issues/2023-01.md')} and {Path('content/issues/2023-01-31.md')} "
        "already exist; digest new never overwrites\n"
        "hint: edit the existing file, or choose another --date\n"
    )
    assert month.read_bytes() == before


def test_without_a_date_uses_today_and_refuses_a_second_issue_in_the_month(
    content: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    today = dt.date.today()
    month = content / "issues" / f"{today:%Y-%m}.md"
    assert new() == 0
    assert month.is_file()
    assert f"date: {today.isoformat()}" in month.read_text(encoding="utf-8")
    before = month.read_bytes()
    capsys.readouterr()
    assert new() == 2
    err = capsys.readouterr().err
    assert "already exists; digest new never overwrites" in err
    assert f"`digest new --date {today.isoformat()}`" in err
    assert month.read_bytes() == before
    assert sorted(p.name for p in (content / "issues").iterdir()) == sorted(
        ["2022-12.md", month.name]
    )


def test_another_spelling_of_the_same_slug_counts_as_taken(
    content: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (content / "issues" / "2023-01.markdown").write_text("---\ndate: 2023-01-02\n---\n")
    assert new("--date", "2023-01-31") == 0
    assert not (content / "issues" / "2023-01.md").exists()
    assert (content / "issues" / "2023-01-31.md").is_file()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2023-1-31", "error: --date must be YYYY-MM-DD, not '2023-1-31'\n"),
        ("31.01.2023", "error: --date must be YYYY-MM-DD, not '31.01.2023'\n"),
        ("2023-02-30", "error: --date 2023-02-30 is not a real day\n"),
    ],
)
def test_bad_date_is_a_usage_error(
    content: Path, capsys: pytest.CaptureFixture[str], value: str, message: str
) -> None:
    assert new("--date", value) == 2
    assert capsys.readouterr().err == message
    assert sorted(p.name for p in (content / "issues").iterdir()) == ["2022-12.md"]


def test_headings_and_language_follow_site_yaml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    content = tmp_path / "content"
    content.mkdir()  # no issues/ folder yet: `new` makes it
    (content / "site.yaml").write_text(
        "title: Reading list\nlanguage: en\ntitle_pattern: 'Issue {year}-{month:02d}'\n"
        "taxonomy:\n  sections: [Papers, Tools]\n  subtopics: []\n",
        encoding="utf-8",
    )
    assert new("--date", "2024-03-01") == 0
    text = (content / "issues" / "2024-03.md").read_text(encoding="utf-8")
    assert "# A draft: delete the `draft: true` line to publish." in text
    parsed = read_issue("2024-03.md", text.encode(), load_config(content / "site.yaml"))
    assert parsed.warnings == ()
    assert parsed.issue.title == "Issue 2024-03"
    assert [s.name for s in parsed.issue.sections] == ["Papers", "Tools"]
    assert len(parsed.issue.sections[0].links) == 1  # no subtopics: the example sits in the section


def test_bad_site_yaml_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "content").mkdir()
    (tmp_path / "content" / "site.yaml").write_text("titel: x\n", encoding="utf-8")
    assert new("--date", "2024-03-01") == 1
    assert not (tmp_path / "content" / "issues").exists()
