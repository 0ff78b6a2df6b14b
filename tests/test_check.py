"""`digest check` and the build's output: digest-wide warnings, exit codes, summary, colour.

Each folder under `tests/fixtures/check/` is a content folder; its `expected.txt` is the
exact output of `digest check --content <case>` run from `tests/fixtures/check/`
(stderr, then stdout). `UPDATE_GOLDEN=1 pytest tests/test_check.py` rewrites them.
"""

from __future__ import annotations

import io
import json
import os
import pty
import re
import shutil
import subprocess
import sys
import time
from html import unescape
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from digest import checks, cli
from digest.cache import Store
from digest.checks import check_issues, issue_findings, normalise_url
from digest.config import SiteConfig, load_config
from digest.errors import ContentErrors, Diagnostic, sort_key
from digest.load import issue_files, read_issue_files
from digest.model import ParsedIssue
from digest.parse import read_issue

from .conftest import FIXTURES, copy_content, run_digest

CHECK = FIXTURES / "check"
CASES = sorted(p.name for p in CHECK.iterdir() if (p / "issues").is_dir())


def run_check(
    case: str, *extra: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    """`digest check --content <case>` in this process, from the fixtures folder."""
    monkeypatch.chdir(CHECK)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    code = cli.main(["check", "--content", case, *extra])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("case", CASES)
def test_check_fixture(
    case: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_check(case, monkeypatch=monkeypatch, capsys=capsys)
    expected_file = CHECK / case / "expected.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        expected_file.write_text(err + out, encoding="utf-8")
    expected = expected_file.read_text(encoding="utf-8")
    assert err + out == expected
    has_errors = ": error: " in expected
    assert code == (1 if has_errors else 0)
    # --strict fails on any warning as well; nothing else changes.
    strict_code, _, strict_err = run_check(case, "--strict", monkeypatch=monkeypatch, capsys=capsys)
    assert strict_code == (1 if has_errors or ": warning: " in expected else 0)
    if ": warning: " in expected and not has_errors:
        assert "(--strict: warnings fail the check)" in strict_err


def test_every_warning_kind_has_a_fixture() -> None:
    expected = "".join((CHECK / c / "expected.txt").read_text(encoding="utf-8") for c in CASES)
    for message in (
        "warning: unknown section ",
        "warning: unknown subtopic ",
        "did you mean ",
        "warning: published ",
        " is after the issue date ",
        " years before the issue date ",
        "warning: URL already linked at ",
        "warning: image ",
        " goes to no page or file of this site",
        " goes to no anchor: issue ",
        "error: issue slug ",
        "error: unknown key 'titel_pattern' in site.yaml",
    ):
        assert message in expected, message


def test_all_problems_of_all_files_in_one_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_check("mixed", monkeypatch=monkeypatch, capsys=capsys)
    assert code == 1
    headers = re.findall(r"^(\S+?:\d+:\d+): (error|warning):", err, re.MULTILINE)
    assert headers == [
        ("mixed/issues/2022-11.md:5:1", "warning"),
        ("mixed/issues/2022-11.md:8:6", "warning"),
        ("mixed/issues/2022-11.md:10:12", "warning"),
        ("mixed/issues/2022-12.md:7:6", "error"),
    ]


def test_json_format(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_check("mixed", "--format", "json", monkeypatch=monkeypatch, capsys=capsys)
    report = json.loads(out)
    assert code == 1 and err == ""
    assert (report["ok"], report["files"], report["errors"], report["warnings"]) == (
        False,
        3,
        1,
        3,
    )
    first = report["diagnostics"][1]
    assert first == {
        "path": "mixed/issues/2022-11.md",
        "line": 8,
        "col": 6,
        "severity": "warning",
        "message": "URL already linked at mixed/issues/2022-10.md:6 as 'https://example.org/shared'",
        "hint": "link each article once: remove this link or the earlier one "
        "(merge their commentary if both have some)",
    }
    code, out, _ = run_check("clean", "--format", "json", monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0 and json.loads(out)["ok"] is True and json.loads(out)["diagnostics"] == []
    code, out, _ = run_check(
        "published", "--format", "json", "--strict", monkeypatch=monkeypatch, capsys=capsys
    )
    assert code == 1 and json.loads(out)["ok"] is False


def test_check_verbose_lists_issues(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_check("clean", "-v", monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0
    assert re.search(r"^  2022-12 +2022-12-29 +2 links draft  clean/issues/2022-12.md$", out, re.M)


def test_missing_content_folder_is_a_usage_error(tmp_path: Path) -> None:
    for command in ("check", "build", "serve", "new"):
        result = run_digest(command, "--content", str(tmp_path / "nope"), cwd=tmp_path)
        assert result.returncode == 2, command
        assert "no content folder" in result.stderr


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("https://example.org/a/b", "http://example.org//a//b/"),
        ("https://www.example.org/a", "https://example.org/a"),
        ("https://m.example.org/a", "https://example.org/a"),
        ("https://mobile.example.org/a", "https://www.example.org/a/"),
        ("https://blog.example.com/p.html?m=1", "https://blog.example.com/p.html"),
        ("https://blog.example.com/p.html?m=0", "https://blog.example.com/p.html"),
        ("https://e.org/a?utm_source=x&utm_campaign=y", "https://e.org/a"),
        ("https://e.org/a?fbclid=1&gclid=2&msclkid=3", "https://e.org/a"),
        ("https://e.org/a?b=2&a=1", "https://e.org/a?a=1&b=2"),
        ("https://e.org/a#section", "https://e.org/a"),
        ("https://E.ORG:443/a", "http://e.org:80/a"),
        ("https://e.org/%c2%b5", "https://e.org/%C2%B5"),
    ],
)
def test_same_article_urls(first: str, second: str) -> None:
    assert normalise_url(first) == normalise_url(second)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("https://e.org/a", "https://e.org/A"),
        ("https://e.org/a?page=1", "https://e.org/a?page=2"),
        ("https://e.org/a?m=2", "https://e.org/a"),
        ("https://e.org/#!/one", "https://e.org/#!/two"),
        ("https://e.org:8080/a", "https://e.org/a"),
        ("https://a.e.org/x", "https://b.e.org/x"),
        ("https://m.co/x", "https://co/x"),
    ],
)
def test_different_article_urls(first: str, second: str) -> None:
    assert normalise_url(first) != normalise_url(second)


# -- build runs the same checks ---------------------------------------------------------


def test_build_prints_warnings_and_still_builds(tmp_path: Path) -> None:
    out = tmp_path / "site"
    result = run_digest("build", "--content", "published", "--out", str(out), cwd=CHECK)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count(": warning: published ") == 6
    assert "published/issues/2022-12.md:9:12: warning: published 2002-11" in result.stderr
    assert re.fullmatch(
        r"built 2 issues, 9 links, \d+ pages in \d+\.\d\ds -> \S+ \(6 warnings\)\n", result.stdout
    )
    assert (out / "index.html").is_file()


def test_build_stops_on_errors_and_keeps_the_old_site(tmp_path: Path) -> None:
    out = tmp_path / "site"
    assert run_digest("build", "--content", "clean", "--out", str(out), cwd=CHECK).returncode == 0
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    result = run_digest("build", "--content", "mixed", "--out", str(out), cwd=CHECK)
    assert result.returncode == 1
    assert "mixed/issues/2022-12.md:7:6: error:" in result.stderr
    assert "mixed/issues/2022-11.md:8:6: warning: URL already linked" in result.stderr
    assert "1 error, 3 warnings" in result.stderr
    assert f"build failed; {out} was left as it was" in result.stderr
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before


def test_strict_check_fails_on_warnings() -> None:
    # The build itself never fails on warnings; `digest check --strict` is the gate.
    result = run_digest("check", "--strict", "--content", "unknown-heading", cwd=CHECK)
    assert result.returncode == 1
    assert "checked 1 file: 0 errors, 3 warnings (--strict: warnings fail the check)" in (
        result.stderr
    )


# -- output: summary, -v, colour, progress ----------------------------------------------


def test_summary_is_one_line(tmp_path: Path) -> None:
    result = run_digest("build", "--out", str(tmp_path / "site"))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert re.fullmatch(
        r"built 1 issue, 10 links, \d+ pages in \d+\.\d\ds -> \S+\n", result.stdout
    ), result.stdout


def test_verbose_build_gives_detail(tmp_path: Path) -> None:
    result = run_digest("build", "-v", "--out", str(tmp_path / "site"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert re.fullmatch(r"  2022-12 +2022-12-29 +10 links  content/issues/2022-12.md", lines[0])
    assert re.fullmatch(
        r"output: \d+ pages, \d+ feeds, \d+ search, \d+ assets, \d+ files", lines[1]
    )
    assert lines[-1].startswith("built 1 issue, 10 links, ")


def _run_on_a_terminal(args: list[str], env: dict[str, str], cwd: Path) -> str:
    """Run the CLI with stdout and stderr on a pseudo-terminal; return what it printed."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "digest", *args],
        cwd=cwd,
        stdout=follower,
        stderr=follower,
        env=env,
    )
    os.close(follower)
    chunks: list[bytes] = []
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


def test_colour_only_on_a_terminal_and_never_with_no_color() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    env["TERM"] = "xterm-256color"
    args = ["check", "--content", "unknown-heading"]
    on_terminal = _run_on_a_terminal(args, env, CHECK)
    assert "\x1b[1;33mwarning:\x1b[0m" in on_terminal
    assert "\x1b[1;36mhint:\x1b[0m" in on_terminal
    assert "\x1b[" not in _run_on_a_terminal(args, {**env, "NO_COLOR": "1"}, CHECK)
    piped = subprocess.run(
        [sys.executable, "-m", "digest", *args], cwd=CHECK, env=env, capture_output=True, text=True
    )
    assert "warning:" in piped.stderr and "\x1b[" not in piped.stderr + piped.stdout


class FakeTerminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_progress_shows_only_for_slow_work_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "PROGRESS_AFTER", 0.05)
    slow = FakeTerminal()
    with cli.Progress("building", slow):
        time.sleep(0.4)
    assert "building... 0." in slow.getvalue()
    assert slow.getvalue().endswith("\r\x1b[K")  # the line is cleared afterwards

    fast = FakeTerminal()
    with cli.Progress("building", fast):
        pass
    assert fast.getvalue() == ""

    piped = io.StringIO()
    with cli.Progress("building", piped):
        time.sleep(0.3)
    assert piped.getvalue() == ""


@pytest.mark.parametrize("command", ["build", "check", "dump", "import", "new", "serve"])
def test_every_help_has_examples(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main([command, "--help"])
    assert info.value.code == 0
    help_text = capsys.readouterr().out
    assert "examples:" in help_text and f"digest {command}" in help_text


def test_sample_content_has_no_problems(tmp_path: Path) -> None:
    content = copy_content(tmp_path / "content")
    result = run_digest("check", "--strict", "--content", str(content), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "checked 1 file (1 issue, 10 links): no problems\n"


def test_a_missing_image_in_the_sample_is_caught(tmp_path: Path) -> None:
    content = copy_content(tmp_path / "content")
    shutil.rmtree(content / "images", ignore_errors=True)
    issue = content / "issues" / "2022-12.md"
    text = issue.read_text(encoding="utf-8")
    issue.write_text(text.replace("## Research\n", "## Research\n![fig](./images/fig.png)\n", 1))
    result = run_digest("check", "--content", "content", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stderr.startswith(
        "content/issues/2022-12.md:7:8: warning: image './images/fig.png' not found: "
        "there is no content/images/fig.png\n"
    )


# -- the editor's guide quotes every message ------------------------------------------------

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "editors-guide.md"
_HEADER_LINE = re.compile(r"^\S.*?:\d+:\d+: (?:error|warning): (.*)$", re.MULTILINE)


def message_shape(text: str) -> str:
    """A message with its particulars (quoted values, dates, paths, numbers) blanked out."""
    text = re.sub(r"'[^']*'", "'…'", text)
    text = re.sub(r"\S+/\S+:\d+", "…", text)  # file:line of another link
    text = re.sub(r"\S*/\S+", "…", text)  # another file
    text = re.sub(r"\d{4}-\d{2}(?:-\d{2})?", "…", text)
    text = re.sub(r"\(byte 0x[0-9a-f]{2}\)", "(byte 0x…)", text)
    text = re.sub(r"\b(?:on line )\d+", "on line N", text)
    # What follows a colon is YAML's or the OS's own wording, not ours.
    return re.split(r"(?<!`key): (?=[a-z])", text, maxsplit=1)[0].strip()


def all_fixture_messages() -> set[str]:
    """Every error and warning message the fixtures expect."""
    texts = [p.read_text(encoding="utf-8") for p in (FIXTURES / "errors").glob("*.err")]
    texts += [(CHECK / c / "expected.txt").read_text(encoding="utf-8") for c in CASES]
    return {m for text in texts for m in _HEADER_LINE.findall(text)}


def test_the_guide_quotes_every_message() -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    guide = guide.replace("<file>:<line>", "…").replace("<file>", "…")
    shaped_guide = re.sub(r"'[^'\n`|]*'", "'…'", guide)
    shapes = {message_shape(m) for m in all_fixture_messages()}
    missing = sorted(s for s in shapes if s not in shaped_guide)
    assert missing == [], "add these messages to docs/editors-guide.md"


# -- fast paths give what the slow ones did -------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.from_regex(checks._PLAIN_URL, fullmatch=True))
@example("https://www.m.e.org//a//b/%2f%7e/")
@example("http://mobile.www.e.org")
@example("https://m.co/x")
def test_plain_urls_get_the_key_urlsplit_gives(url: str) -> None:
    assert normalise_url(url) == checks._normalise_split(url)


def _read(content: Path) -> tuple[list[ParsedIssue], dict[str, str]]:
    site_yaml = content / "site.yaml"
    config = load_config(site_yaml if site_yaml.is_file() else None)
    keys: dict[str, str] = {}
    parsed, _ = read_issue_files(issue_files(content), config, keys_out=keys)
    return parsed, keys


@pytest.mark.parametrize(
    "case", ["duplicate-url", "published", "missing-image", "mixed", "site-links"]
)
def test_cached_findings_give_the_same_warnings(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(CHECK)
    parsed, keys = _read(Path(case))
    cold = check_issues(parsed, Path(case))
    assert cold
    store = Store(tmp_path / "cache", "parsed")
    assert check_issues(parsed, Path(case), store, keys) == cold
    store.save()
    again = Store(tmp_path / "cache", "parsed")
    assert check_issues(parsed, Path(case), again, keys) == cold
    assert not again.dirty  # every finding came from the cache


@pytest.mark.parametrize("case", ["duplicate-url", "published", "missing-image", "site-links"])
@pytest.mark.parametrize("workers", [1, 2])
def test_findings_made_as_files_parse_give_the_same_warnings(
    case: str, workers: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from digest import load

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(CHECK)
    parsed, _ = _read(Path(case))
    expected = check_issues(parsed, Path(case))
    known: list[int] = []
    real = load.check_issues

    def spy(*args: object) -> list[Diagnostic]:
        known.append(len(args[4]))  # type: ignore[arg-type]
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(load, "check_issues", spy)
    monkeypatch.setattr(load, "PARALLEL_FROM", 1)  # worker processes parse, when 2 cores
    monkeypatch.setattr("os.cpu_count", lambda: workers)
    config = load_config(None)
    for cache in (None, Store(tmp_path / "cache", "parsed")):
        assert list(load.load_digest(Path(case), config, cache=cache).warnings) == sorted(
            expected, key=sort_key
        )
    # Every file's findings were made as it was parsed, with or without a cache.
    assert known == [len(parsed), len(parsed)]


def test_cached_findings_still_see_images_come_and_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    shutil.copytree(CHECK / "missing-image", tmp_path / "content")
    monkeypatch.chdir(tmp_path)
    content = Path("content")
    parsed, keys = _read(content)
    store = Store(tmp_path / "cache", "parsed")
    before = check_issues(parsed, content, store, keys)
    (content / "images" / "gone.png").write_bytes(b"")
    (content / "images" / "present.png").unlink()
    after = check_issues(parsed, content, store, keys)
    assert after == check_issues(parsed, content)
    assert any("gone.png" in d.message for d in before)
    assert not any("gone.png" in d.message for d in after)
    assert any("'./images/present.png'" in d.message for d in after)


# -- links into the site ----------------------------------------------------------------------


def test_the_link_check_knows_every_page_feed_and_anchor_a_build_writes(tmp_path: Path) -> None:
    # The check's picture of the site (which paths and anchors exist) is made without
    # rendering: it must be the site a build really writes, or links get false warnings.
    from .test_pages import build_rich_site

    out = build_rich_site(tmp_path)  # 3 links a page: groups have later pages
    content = tmp_path / "content"
    config = load_config(content / "site.yaml")
    parsed, _ = read_issue_files(issue_files(content), config)
    issues = [p.issue for p in parsed]
    assert any(issue.draft for issue in issues)  # not built, and so not a link target
    pages = checks._SitePages(issues, content, config.per_page)
    targets = [
        file.relative_to(out).as_posix()
        for file in out.rglob("*")
        if file.is_file() and not file.name.startswith(".")
    ]
    targets = [t for t in targets if not t.startswith("search/") or t == "search/index.html"]
    assert any("/page/" in t for t in targets) and any(t.endswith("/feed.xml") for t in targets)
    for target in targets:
        folder = target.removesuffix("index.html")
        assert pages.has(folder) or pages.issue_at(folder), target
        assert folder.endswith("/") or pages.has(target) or pages.issue_at(target), target
    for wrong in (
        "tags/no-such-tag/",
        "issues/1999-01/",
        "tags/llm/page/99/",
        "sources/x/feed.xml",
    ):
        assert not pages.has(wrong) and pages.issue_at(wrong) is None, wrong
    chrome = set(re.findall(r' id="([^"]+)"', (out / "archive/index.html").read_text("utf-8")))
    for issue in issues:
        page = out / "issues" / issue.slug / "index.html"
        assert page.is_file() != issue.draft
        if issue.draft:
            continue
        html = page.read_text("utf-8")
        ids = {unescape(i) for i in re.findall(r' id="([^"]+)"', html)}
        assert checks._anchors(issue) <= ids
        assert ids - checks._anchors(issue) <= chrome


def test_a_link_into_the_site_is_checked_only_when_it_is_one() -> None:
    # Commentary full of links to other sites (the usual case) is not read twice.
    markdown = "[a](https://x.org/y) and [b]( http://x.org) and [c]:  https://x.org"
    assert checks._MAYBE_SITE_LINK.search(markdown) is None
    for maybe in ("[a](/tags/x/)", "[a](#id)", "[a](<../x>)", "[r]: /x/", "[a](mailto:e@x.org)"):
        assert checks._MAYBE_SITE_LINK.search(maybe) is not None, maybe


_LINKISH = st.sampled_from(
    ["[a](", "](", ")", "[r]: ", "/", "../", "./", "#", "tags/", "llm", "issues/", "2022-11",
     "sec_research", "page/", "2", "feed.xml", "?q=x", "index.html", "%EC%B6%94", "추론",
     "<", ">", "`", "![i](", "http://x.org", "mailto:e@x.org", " ", "\n", "\\", "[", "]"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(_LINKISH, max_size=16).map("".join))
@example("[a](/tags/gpt/) [b](#nope)")
def test_any_links_into_the_site_give_located_warnings_never_a_crash(commentary: str) -> None:
    head = "## Research\n### NLP\n---\nurl: https://x.org/{0}\ntitle: {0}\ntags: [llm]\n---\n"
    files = {
        "2022-11.md": "---\ndate: 2022-11-30\n---\n" + head.format("c"),
        "2022-12.md": "---\ndate: 2022-12-29\n---\n" + head.format("a") + commentary + "\n",
    }
    parsed = {name: read_issue_file(name, text) for name, text in files.items()}
    if parsed["2022-12.md"] is None:
        return  # commentary that breaks the file is the readers' business
    issues = [p for p in parsed.values() if p is not None]
    known = {
        p.issue.path: issue_findings(p.issue, files[name].encode())
        for name, p in parsed.items()
        if p
    }
    warnings = check_issues(issues, CHECK / "clean", known=known)
    for d in warnings:
        lines = files[d.path.rpartition("/")[2]].split("\n")
        assert 1 <= d.line <= len(lines) and 1 <= d.col <= len(lines[d.line - 1]) + 1, d
        assert d.source_line == lines[d.line - 1] and d.message and d.hint
    if commentary == "[a](/tags/gpt/) [b](#nope)":
        assert [d.col for d in warnings] == [5, 21]


def read_issue_file(name: str, text: str) -> ParsedIssue | None:
    """An issue read from `text` as `content/issues/<name>`; None if it has errors."""
    try:
        return read_issue(f"content/issues/{name}", text.encode(), SiteConfig())
    except ContentErrors:
        return None


def test_check_reads_what_the_last_build_read_from_its_cache_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    shutil.copytree(CHECK / "duplicate-url", tmp_path / "content")
    check = ["check", "--content", "content", "--format", "json"]

    def run() -> tuple[dict[str, object], int]:
        parses = []
        real = read_issue

        def counted(path: str, data: bytes, config: SiteConfig) -> ParsedIssue:
            parses.append(path)
            return real(path, data, config)

        monkeypatch.setattr("digest.load.read_issue", counted)
        cli.main(check)
        return json.loads(capsys.readouterr().out), len(parses)

    without, parsed = run()
    assert without["warnings"] and parsed == len(issue_files(Path("content")))
    assert cli.main(["build", "--content", "content", "--out", "site"]) == 0
    cache = tmp_path / ".digest-cache"
    before = sorted((p.name, p.stat().st_mtime_ns) for p in cache.iterdir())
    capsys.readouterr()
    # The same report, and no issue file read again: the build read them all.
    assert run() == (without, 0)
    assert sorted((p.name, p.stat().st_mtime_ns) for p in cache.iterdir()) == before
    edited = sorted((tmp_path / "content" / "issues").iterdir())[0]
    edited.write_text(edited.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert run() == (without, 1)
