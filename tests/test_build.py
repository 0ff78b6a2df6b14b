"""The build command end to end: outputs, base paths, atomic writes, exit codes."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from digest.site import SITE_MARKER

from .conftest import ROOT, copy_content, run_digest


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under `folder` with its hash."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_build_sample_site(tmp_path: Path) -> None:
    out = tmp_path / "site"
    result = run_digest("build", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "built 1 issue, 10 links" in result.stdout
    for page in ("index.html", "issues/2022-12/index.html", "archive/index.html"):
        assert (out / page).is_file()
    issue = (out / "issues/2022-12/index.html").read_text()
    assert 'id="illustrating-reinforcement-learning-from-human-feedback-rlhf"' in issue
    assert "HuggingFace" in issue and "2022년 12월" in issue and "#강화학습" in issue


def test_build_py_is_the_same_entry(tmp_path: Path) -> None:
    import subprocess
    import sys

    out = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "build.py", "--out", str(out)], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert (out / "issues/2022-12/index.html").is_file()


def test_base_url_with_a_path(tmp_path: Path) -> None:
    out = tmp_path / "site"
    result = run_digest("build", "--out", str(out), "--base-url", "https://example.org/ml/")
    assert result.returncode == 0, result.stderr
    home = (out / "index.html").read_text()
    assert 'href="/ml/static/style.css"' in home
    assert '<link rel="canonical" href="https://example.org/ml/">' in home
    assert 'href="/ml/issues/2022-12/"' in home


def test_failed_build_leaves_previous_site_untouched(tmp_path: Path) -> None:
    content = copy_content(tmp_path / "content")
    out = tmp_path / "site"
    assert run_digest("build", "--content", str(content), "--out", str(out)).returncode == 0
    before = snapshot(out)
    issue = content / "issues" / "2022-12.md"
    issue.write_text(
        issue.read_text().replace("url: https://huggingface.co", "url: huggingface.co")
    )
    result = run_digest("build", "--content", str(content), "--out", str(out))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "2022-12.md:35:6: error: 'url' must be an absolute http or https URL" in result.stderr
    assert "hint:" in result.stderr
    assert snapshot(out) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == [".digest-cache"]


def test_unchanged_files_keep_their_mtime(tmp_path: Path) -> None:
    content = copy_content(tmp_path / "content")
    out = tmp_path / "site"
    run_digest("build", "--content", str(content), "--out", str(out))
    style = out / "static" / "style.css"
    os.utime(style, (1_000_000_000, 1_000_000_000))
    page = out / "issues" / "2022-12" / "index.html"
    issue = content / "issues" / "2022-12.md"
    issue.write_text(issue.read_text().replace("언어 모델 튜닝", "언어 모델 미세 튜닝"))
    assert run_digest("build", "--content", str(content), "--out", str(out)).returncode == 0
    assert style.stat().st_mtime == 1_000_000_000
    assert "미세 튜닝" in page.read_text()


def test_refuses_to_replace_a_folder_it_did_not_write(tmp_path: Path) -> None:
    precious = tmp_path / "home"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    result = run_digest("build", "--out", str(precious))
    assert result.returncode == 2
    assert "refusing to replace" in result.stderr
    assert (precious / "thesis.tex").read_text() == "years of work"
    assert not (precious / SITE_MARKER).exists()


def test_usage_errors_exit_2() -> None:
    assert run_digest("build", "--no-such-flag").returncode == 2
    assert run_digest("dump", "does/not/exist.md").returncode == 2
    assert run_digest().returncode == 2


def test_help_has_examples() -> None:
    for command in ("build", "check", "dump", "import", "new", "serve"):
        result = run_digest(command, "--help")
        assert result.returncode == 0
        assert "examples:" in result.stdout


def test_python_m_digest_version() -> None:
    result = run_digest("--version")
    assert result.returncode == 0 and result.stdout.startswith("digest ")


def test_dump_schema_is_exactly_the_contract() -> None:
    result = run_digest("dump", "content")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert list(data) == ["issues"]
    issue = data["issues"][0]
    assert list(issue) == ["slug", "title", "date", "path", "intro", "sections"]
    section = issue["sections"][0]
    assert list(section) == ["name", "heading", "slug", "note", "links", "subtopics"]
    sub = section["subtopics"][0]
    assert list(sub) == ["name", "heading", "slug", "note", "links"]
    link = sub["links"][0]
    assert list(link) == [
        "id",
        "title",
        "title_md",
        "url",
        "published",
        "source",
        "tags",
        "commentary",
        "line",
    ]
    links = [lk for s in issue["sections"] for t in s["subtopics"] for lk in t["links"]]
    assert len(links) == 10


def test_broken_site_template_is_a_located_error(tmp_path: Path) -> None:
    content = copy_content(tmp_path / "content")
    templates = tmp_path / "templates"  # a site's own override folder, beside content/
    templates.mkdir()
    (templates / "issue.html").write_text(
        "{% extends 'base.html' %}{% block main %}\n\n{{ nope() }}{% endblock %}"
    )
    result = run_digest("build", "--content", str(content), "--out", str(tmp_path / "o"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"{templates / 'issue.html'}:3:1: error: template error: 'nope' is undefined" in (
        result.stderr
    )
    assert "hint:" in result.stderr


def test_build_reports_its_steps_in_order(tmp_path: Path) -> None:
    from digest.site import build

    steps: list[tuple[int, int, str]] = []
    build(ROOT / "content", tmp_path / "o", use_cache=False, progress=lambda *s: steps.append(s))
    assert steps[:2] == [(1, 3, "reading issues"), (2, 3, "rendering Markdown")]
    assert [s[0] for s in steps] == sorted(s[0] for s in steps)


def test_progress_bar_shows_on_a_terminal_only_after_a_while() -> None:
    import io
    import time

    from digest import cli

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    quick, slow = Terminal(), Terminal()
    with cli.Progress("building", quick) as progress:
        progress.step(1, 3, "reading issues")
    assert quick.getvalue() == ""
    old, cli.PROGRESS_AFTER = cli.PROGRESS_AFTER, 0.05
    try:
        with cli.Progress("building", slow) as progress:
            progress.step(2, 4, "rendering")
            time.sleep(0.3)
    finally:
        cli.PROGRESS_AFTER = old
    assert "[##########..........] 2/4 rendering" in slow.getvalue()


def test_custom_templates_keep_the_text_macro_and_url(tmp_path: Path) -> None:
    """The shipped templates use `lang_text` and `urls[...]`; the older names still work."""
    from digest.site import build

    content = copy_content(tmp_path / "content")
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "404.html").write_text(
        '{% from "_macros.html" import text %}'
        "{{ text('Hello') }}|{{ lang_text('Hello') }}|{{ url('tags/') }}|{{ urls['tags/'] }}"
    )
    build(content, tmp_path / "o", use_cache=False)
    old_text, new_text, old_url, new_url = (tmp_path / "o" / "404.html").read_text().split("|")
    assert old_text == new_text == '<span lang="en">Hello</span>'
    assert old_url == new_url and old_url.endswith("/tags/")


_OLD_ISSUE_ITEM = """{% macro issue_item(issue) -%}
<li><a href="{{ urls['issues/' ~ issue.slug ~ '/'] }}">{{ lang_text(issue.title) }}</a>
  <span class="issue-item-meta"><time datetime="{{ issue.date.isoformat() }}">\
{{ issue.date|date }}</time> · {{ L.links_count.format(n=issue.link_count) }}</span>
  {% if issue.summary %}<span class="summary">{{ lang_text(issue.summary) }}</span>{% endif %}</li>
{%- endmacro %}{% for issue in issues %}{{ issue_item(issue) }}|{% endfor %}"""
"""The `issue_item` macro as it was written in Jinja, before `Renderer.issue_entry`."""


def test_issue_entry_is_the_old_issue_item_macro() -> None:
    import datetime as dt

    from digest.config import SiteConfig
    from digest.model import Digest, Issue
    from digest.render import Renderer

    issues = [
        Issue("2022-12", "2022년 12월 ML 읽을거리", dt.date(2022, 12, 29), "a.md", "", ()),
        Issue("x&y", "Tips <b>& tricks</b>", dt.date(2023, 1, 2), "b.md", "", (), "A & <B>"),
        Issue("넷째-호", "넷째 호", dt.date(2024, 2, 29), "c.md", "", (), "요약 with English"),
    ]
    renderer = Renderer(SiteConfig(), Digest(tuple(issues)))
    old = renderer.env.from_string(_OLD_ISSUE_ITEM).render(issues=issues).split("|")[:-1]
    assert [str(renderer.issue_entry(issue)) for issue in issues] == old
