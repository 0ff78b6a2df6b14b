"""`digest new`: start the next issue file from the taxonomy, as a draft; never overwrite."""

from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path

from digest.config import SiteConfig, load_config
from digest.errors import ContentErrors
from digest.load import ISSUE_SUFFIXES, display_path
from digest.parse import title_from_pattern

EXIT_OK, EXIT_CONTENT, EXIT_USAGE = 0, 1, 2

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

PLACEHOLDERS = {
    "ko": {
        "draft": "초안입니다. 공개하려면 `draft: true` 줄을 지우세요.",
        "title": "제목을 비워 두면 site.yaml의 title_pattern에 따라 정해집니다: {title}",
        "headings": "쓰지 않는 제목(##, ###)은 지우세요.",
        "link_title": "글 제목으로 바꾸세요",
        "commentary": "여기에 코멘트를 Markdown으로 씁니다. 이 예시 링크는 바꾸거나 지우세요.",
    },
    "en": {
        "draft": "A draft: delete the `draft: true` line to publish.",
        "title": "An empty title is made by title_pattern in site.yaml: {title}",
        "headings": "Delete the headings (##, ###) you do not use.",
        "link_title": "Replace with the article's title",
        "commentary": "Your commentary, in Markdown. Replace or delete this example link.",
    },
}
"""Scaffold comments and example text, in the site's language (English otherwise)."""


def issue_template(config: SiteConfig, date: dt.date) -> str:
    """A native issue file: draft front matter, every taxonomy heading, one example link."""
    words = PLACEHOLDERS.get(config.language, PLACEHOLDERS["en"])
    title = title_from_pattern(config.title_pattern, date)
    out = [
        "---",
        f"# {words['draft']}",
        f"# {words['title'].format(title=title)}",
        f"# {words['headings']}",
        "title:",
        f"date: {date.isoformat()}",
        "summary:",
        "draft: true",
        "---",
    ]
    example = [
        "",
        "---",
        "url: https://example.org/replace-me",
        f"title: {words['link_title']}",
        f"published: {date.isoformat()[:7]}",
        "source: Example",
        "tags: [example]",
        "---",
        words["commentary"],
    ]
    sections = config.taxonomy.sections or ()
    names = [s.name for s in sections] or ["Links"]
    for n, section in enumerate(names):
        out += ["", f"## {section}"]
        subtopics = [t.name for t in config.taxonomy.subtopics]
        if n == 0 and not subtopics:
            out += example
        for m, subtopic in enumerate(subtopics):
            out += ["", f"### {subtopic}"]
            if n == 0 and m == 0:
                out += example
    return "\n".join(out) + "\n"


def parse_date_option(value: str | None) -> dt.date:
    """`--date YYYY-MM-DD`, or today; ValueError with a message for anything else."""
    if value is None:
        return dt.date.today()
    if not _DATE.match(value.strip()):
        raise ValueError(f"--date must be YYYY-MM-DD, not '{value}'")
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"--date {value} is not a real day") from None


def candidate_slugs(date: dt.date, explicit: bool) -> list[str]:
    """File stems to try, in order: the month (`2023-01`), then the day if asked for one.

    A monthly digest names its issues by month. Only an explicit `--date` may start a
    second issue in a month that already has one, as `2023-01-31`; a bare `digest new`
    run twice must not quietly create a second file.
    """
    month = date.isoformat()[:7]
    return [month, date.isoformat()] if explicit else [month]


def _taken(folder: Path, slug: str) -> Path | None:
    return next((p for s in ISSUE_SUFFIXES if (p := folder / f"{slug}{s}").exists()), None)


def new_issue(content_dir: Path, date: str | None) -> int:
    """Write the next issue file under `content_dir/issues/`; exit code 0, 1 or 2."""
    try:
        day = parse_date_option(date)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not content_dir.is_dir():
        print(f"error: no content folder at {content_dir}; use --content DIR", file=sys.stderr)
        return EXIT_USAGE
    site_yaml = content_dir / "site.yaml"
    try:
        config = load_config(site_yaml if site_yaml.exists() else None)
    except ContentErrors as exc:
        for d in exc.diagnostics:
            print(d.format(), file=sys.stderr)
        return EXIT_CONTENT
    folder = content_dir / "issues"
    taken: list[Path] = []
    for slug in candidate_slugs(day, explicit=date is not None):
        existing = _taken(folder, slug)
        if existing is not None:
            taken.append(existing)
            continue
        target = folder / f"{slug}.md"
        folder.mkdir(parents=True, exist_ok=True)
        try:
            # Mode "x" refuses an existing file even if one appeared since the check above.
            with target.open("x", encoding="utf-8", newline="\n") as f:
                f.write(issue_template(config, day))
        except FileExistsError:
            taken.append(target)
            continue
        shown = display_path(target)
        print(f"wrote {shown} (a draft: delete `draft: true` to publish)")
        print("next: edit it, then `digest serve --drafts` to preview or `digest check`")
        return EXIT_OK
    listed = " and ".join(display_path(p) for p in taken)
    print(
        f"error: {listed} already exist{'s' if len(taken) == 1 else ''}; "
        "digest new never overwrites",
        file=sys.stderr,
    )
    if date is None:
        print(
            "hint: edit that file, or start a second issue this month with "
            f"`digest new --date {day.isoformat()}`",
            file=sys.stderr,
        )
    else:
        print("hint: edit the existing file, or choose another --date", file=sys.stderr)
    return EXIT_USAGE
