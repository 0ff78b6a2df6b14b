"""Issue -> native issue file text, for `digest import`."""

from __future__ import annotations

from typing import Any

import yaml

from digest.config import strip_numbering
from digest.model import Issue, Link
from digest.parse import _heading, fence_closes, fence_opened

# Long enough that PyYAML never folds a title over two lines.
_NO_WRAP = 1 << 30


def issue_to_native(issue: Issue) -> str:
    """The issue as a native file: front matter, intro, headings, a YAML block per link."""
    out = ["---"]
    if issue.title:
        out.append(yaml_field("title", issue.title))
    out.append(f"date: {issue.date.isoformat()}")
    if issue.summary:
        out.append(yaml_field("summary", issue.summary))
    if issue.draft:
        out.append("draft: true")
    out.append("---")
    _markdown(out, issue.intro)
    for section in issue.sections:
        out += ["", "## " + heading_text(section.heading)]
        _markdown(out, section.note)
        for link in section.links:
            _link(out, link)
        for sub in section.subtopics:
            out += ["", "### " + heading_text(sub.heading)]
            _markdown(out, sub.note)
            for link in sub.links:
                _link(out, link)
    return "\n".join(out) + "\n"


def yaml_field(key: str, value: Any) -> str:
    """One `key: value` line, quoted by PyYAML as needed so it reads back the same."""
    flow = None if isinstance(value, list) else False
    text = yaml.safe_dump(
        {key: value},
        allow_unicode=True,
        sort_keys=False,
        width=_NO_WRAP,
        default_flow_style=flow,
    ).rstrip("\n")
    if "\n" in text or yaml.safe_load(text) != {key: value}:
        # Line breaks (also U+0085, U+2028, U+2029) would be folded in plain or single
        # quoted style; double quotes escape them and keep the field on one line.
        quoted = yaml.safe_dump(
            value,
            allow_unicode=True,
            width=_NO_WRAP,
            default_style='"',
            default_flow_style=True,
        )
        text = f"{key}: {quoted.rstrip()}"
    return text


def heading_text(heading: str) -> str:
    """A heading as written so that the reader's numbering strip gives it back unchanged."""
    # `1. 2. Foo` was read as `2. Foo`; written bare it would lose its `2.` on reading.
    return heading if strip_numbering(heading) == heading else "1. " + heading


def _link(out: list[str], link: Link) -> None:
    out += ["", "---", yaml_field("url", link.url), yaml_field("title", link.title_md)]
    if link.published:
        out.append(yaml_field("published", link.published))
    if link.source:
        out.append(yaml_field("source", link.source))
    if link.tags:
        out.append(yaml_field("tags", list(link.tags)))
    out.append("---")
    out.extend(_safe_lines(link.commentary))


def _markdown(out: list[str], text: str) -> None:
    if text:
        out.append("")
        out.extend(_safe_lines(text))


def _safe_lines(text: str) -> list[str]:
    """Markdown lines that the native reader keeps as text: no `---`, no headings."""
    # A legacy issue never needs these guards (its reader already normalised such lines);
    # they keep an issue from elsewhere from breaking the file it is written to.
    lines: list[str] = []
    fence: str | None = None  # the open code block's, by the native reader's rule
    for line in text.split("\n") if text else []:
        if line.rstrip() == "---":
            line = "***"
        elif fence is None and _heading(line):
            line = "\\" + line
        if fence is None:
            fence = fence_opened(line)
        elif fence_closes(line, fence):
            fence = None
        lines.append(line)
    return lines
