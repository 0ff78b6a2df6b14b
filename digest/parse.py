"""Native issue files -> Issue: issue front matter, per-link YAML blocks, commentary."""

from __future__ import annotations

import bisect
import codecs
import datetime as dt
import difflib
import re
import unicodedata
from collections.abc import Callable
from pathlib import PurePath
from typing import Any

from digest.config import SiteConfig
from digest.errors import ContentError, ContentErrors, Diagnostic, SourceText
from digest.model import Issue, ParsedIssue
from digest.outline import LinkDraft, Outline, trim_lines
from digest.slug import slugify
from digest.yamlmap import Positions, read_mapping

_FENCE_OPEN = re.compile(r" {0,3}(`{3,}|~{3,})(.*)")
_FENCE_CLOSE = re.compile(r" {0,3}(`{3,}|~{3,})[ \t]*")


def fence_opened(line: str) -> str | None:
    """The run of backticks or tildes a line opens a code block with, or None.

    CommonMark's rule, as markdown-it renders: up to three spaces (a tab makes an
    indented block), and no backtick after a backtick run (```x``` is a code span).
    """
    match = _FENCE_OPEN.match(line)
    if match is None or (match[1][0] == "`" and "`" in match[2]):
        return None
    return match[1]


def fence_closes(line: str, fence: str) -> bool:
    """True if `line` closes the code block `fence` opened: the same character, as many."""
    match = _FENCE_CLOSE.fullmatch(line.rstrip("\r"))
    return match is not None and match[1][0] == fence[0] and len(match[1]) >= len(fence)


_MONTH = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")
# No whitespace, control characters or noncharacters: neither a browser nor XML (feeds)
# takes them in a URL.
_URL = re.compile(
    r"^https?://[^\s/?#\x00-\x1f\x7f-\x9f\ufffe\uffff]+[^\s\x00-\x1f\x7f-\x9f\ufffe\uffff]*$",
    re.IGNORECASE,
)


class FieldError(ValueError):
    """A field's value is wrong; the message and hint become a diagnostic."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def _text(key: str, value: Any) -> str:
    if type(value) is str:  # nearly always; skips the checks below
        return value.strip()
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise FieldError(f"'{key}' must be text", f"write `{key}: some text` (quote it if needed)")
    return str(value).strip()


def parse_url(value: Any) -> str:
    """An absolute http(s) URL, as written."""
    url = _text("url", value)
    if not _URL.match(url):
        raise FieldError(
            f"'url' must be an absolute http or https URL, not '{url}'",
            "write the full address, e.g. url: https://example.org/post",
        )
    return url


def parse_published(value: Any) -> str:
    """`YYYY-MM` or `YYYY-MM-DD`, checked to be a real month or day."""
    if isinstance(value, dt.date):
        return value.isoformat()[:10]
    text = _text("published", value)
    match = _MONTH.match(text)
    if match:
        year, month, day = int(match[1]), int(match[2]), match[3]
        try:
            dt.date(year, month, int(day) if day else 1)
            return text
        except ValueError:
            pass
    raise FieldError(
        f"'published' must be YYYY-MM or YYYY-MM-DD, not '{text}'",
        "e.g. published: 2022-12",
    )


def parse_tags(value: Any) -> tuple[str, ...]:
    """A YAML list of tags (possibly empty)."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise FieldError("'tags' must be a list", "write tags: [rlhf, llm] (brackets make a list)")
    if any(isinstance(t, bool) or not isinstance(t, str | int | float) for t in value):
        raise FieldError(
            "each tag must be text, not a list, mapping or yes/no value",
            "write tags: [rlhf, llm]; quote a tag that reads as something else ('yes')",
        )
    tags = tuple(_text("tags", t) for t in value)
    if any(not t for t in tags):
        raise FieldError("'tags' must not contain empty tags", "remove the empty entry")
    return tags


def parse_id(value: Any) -> str:
    """An explicit anchor: letters, digits and '-' only."""
    text = _text("id", value)
    if not text or slugify(text) != text:
        raise FieldError(
            f"'id' must be a slug (lowercase letters, digits and '-'), not '{text}'",
            f"e.g. id: {slugify(text) or 'my-link'}",
        )
    return text


def parse_date(value: Any) -> dt.date:
    """A YAML date `YYYY-MM-DD` (quoted or not)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise FieldError("'date' must be a date YYYY-MM-DD", "e.g. date: 2022-12-29")


def parse_draft(value: Any) -> bool:
    """A real YAML boolean; the string 'true' is refused."""
    if not isinstance(value, bool):
        raise FieldError(
            f"'draft' must be true or false, not {value!r}",
            "write draft: true or draft: false, without quotes",
        )
    return value


LINK_FIELDS: dict[str, Callable[[Any], Any]] = {
    "url": parse_url,
    "title": lambda v: _text("title", v),
    "published": parse_published,
    "source": lambda v: _text("source", v) or None,
    "tags": parse_tags,
    "id": parse_id,
}
LINK_REQUIRED = ("url", "title")
ISSUE_FIELDS: dict[str, Callable[[Any], Any]] = {
    "title": lambda v: "" if v is None else _text("title", v),
    "date": parse_date,
    "summary": lambda v: "" if v is None else _text("summary", v),
    "draft": parse_draft,
}
ISSUE_REQUIRED = ("date",)


def check_fields(
    src: SourceText,
    data: dict[str, Any],
    pos: Positions,
    fields: dict[str, Callable[[Any], Any]],
    required: tuple[str, ...],
    line: int,
    what: str,
    problems: list[Diagnostic],
) -> dict[str, Any]:
    """Validate a front-matter mapping against a field table; collect every problem."""
    out: dict[str, Any] = {}
    meant: set[str] = set()  # keys an unknown key was probably meant to be
    for key, value in data.items():
        parse = fields.get(key)
        if parse is None:
            close = difflib.get_close_matches(key, list(fields), n=1)
            meant.update(close)
            problems.append(
                src.diag(
                    f"unknown key '{key}' in {what}",
                    pos.get(key, (line,))[0],
                    1,
                    hint=(f"did you mean '{close[0]}'? " if close else "")
                    + f"allowed keys: {', '.join(fields)}",
                )
            )
            continue
        try:
            out[key] = parse(value)
        except FieldError as exc:
            _, vline, vcol = pos.get(key, (line, line, 1))
            problems.append(src.diag(str(exc), vline, vcol, hint=exc.hint))
    for key in required:
        # A key whose value could not be read is there: its problem is already reported.
        if key not in data and key not in pos and key not in meant:
            problems.append(
                src.diag(
                    f"missing required key '{key}' in {what}",
                    line,
                    1,
                    hint=f"add a `{key}:` line to the block",
                )
            )
    return out


def title_from_pattern(pattern: str, date: dt.date) -> str:
    """The default issue title for a date, from site.yaml's `title_pattern`."""
    return pattern.format(year=date.year, month=date.month, day=date.day)


def _is_delimiter(line: str) -> bool:
    return line.rstrip() == "---"


_HEADING = re.compile(r"^(#{2,3})(?:[ \t]+(.*?))?[ \t]*$")


def _heading(line: str) -> tuple[int, str] | None:
    match = _HEADING.match(line)
    return (len(match[1]), match[2] or "") if match else None


_MARKED = re.compile(r"^(?:---|##|[^\S\n]{0,3}(?:```|~~~))", re.MULTILINE)
"""Lines that may be a delimiter, a heading or a fence; every other line is plain text."""


def _marked_lines(text: str) -> list[int]:
    """0-based numbers of the lines `_MARKED` matches, found without a loop over lines."""
    marks: list[int] = []
    lineno = pos = 0
    for match in _MARKED.finditer(text):
        start = match.start()
        lineno += text.count("\n", pos, start)
        pos = start
        marks.append(lineno)
    return marks


_UNCLOSED_HINT = (
    "a line starting with `## ` or `### ` is a heading and ends the block; "
    "close its YAML with a line `---` after the last `key: value` line"
)


def parse_native(path: str, text: str, config: SiteConfig) -> ParsedIssue:
    """Parse a native issue file's text (first line `---`) into an Issue."""
    src = SourceText(path, text)
    lines = src.lines
    count = len(lines)
    problems: list[Diagnostic] = []
    # Only marked lines need a look of their own; the runs between them are text.
    marks = _marked_lines(text)
    delimiters = [i for i in marks if _is_delimiter(lines[i])]
    # In YAML a `## ` line is a comment, but inside a block it is nearly always a heading
    # after a forgotten closing `---`. Ending the block there keeps one missing `---` from
    # pairing every later `---` with the wrong partner.
    headings = [i for i in marks if lines[i].startswith("##") and _heading(lines[i])]

    def block_end(start: int) -> int:
        """Index of the line that ends the block opened at `start`: `---`, a heading or EOF."""
        d = bisect.bisect_right(delimiters, start)
        h = bisect.bisect_right(headings, start)
        return min(
            delimiters[d] if d < len(delimiters) else count,
            headings[h] if h < len(headings) else count,
        )

    def unclosed(what: str, start: int, end: int, hint: str) -> Diagnostic:
        if end == count:
            return src.diag(f"{what} is not closed", start + 1, 1, hint=hint)
        return src.diag(
            f"{what} is not closed: add `---` before line {end + 1}",
            start + 1,
            1,
            hint=_UNCLOSED_HINT,
        )

    # Issue front matter: line 1 is `---`. Its problems are collected like any other, so
    # the body's are reported in the same run; an Issue is made only when there are none.
    end = block_end(0)
    meta: dict[str, Any] = {}
    if end < count and _is_delimiter(lines[end]):
        front = read_mapping(src, "\n".join(lines[1:end]), 2, "issue front matter", problems)
        if front is not None:
            meta = check_fields(
                src, *front, ISSUE_FIELDS, ISSUE_REQUIRED, 1, "issue front matter", problems
            )
        end += 1
    else:
        hint = "add a line `---` after the issue's `title:`/`date:` lines"
        problems.append(unclosed("issue front matter", 0, end, hint))

    outline = Outline(src, config.taxonomy)
    intro: list[str] = []
    fence: str | None = None  # the open code block's fence
    i = end
    k = bisect.bisect_left(marks, end)  # index in `marks` of the next marked line
    while i < count:
        marked = marks[k] if k < len(marks) else count
        if marked > i:
            if outline.in_section:
                outline.text_lines(lines[i:marked])
            else:
                intro.extend(lines[i:marked])
            i = marked
            continue
        k += 1
        line = lines[i]
        lineno = i + 1
        heading = None if fence else _heading(line)
        if _is_delimiter(line):
            fence = None
            close = block_end(i)
            if close == count or not _is_delimiter(lines[close]):
                hint = (
                    "end the link's YAML with a line `---`; "
                    "for a thematic break in commentary write `***`"
                )
                problems.append(unclosed("link block", i, close, hint))
                i, k = close, bisect.bisect_left(marks, close)  # read on from the heading
                continue
            block = read_mapping(
                src, "\n".join(lines[i + 1 : close]), i + 2, "link block", problems
            )
            if block is not None:
                data, bpos = block
                fields = check_fields(
                    src, data, bpos, LINK_FIELDS, LINK_REQUIRED, lineno, "link block", problems
                )
                if not outline.in_section:
                    problems.append(
                        src.diag(
                            "link comes before any section heading",
                            lineno,
                            1,
                            hint="add a section heading such as `## Research` above it",
                        )
                    )
                elif "url" in fields and "title" in fields:
                    _, id_line, id_col = bpos.get("id", (lineno, lineno, 1))
                    outline.add_link(
                        LinkDraft(
                            title_md=fields["title"],
                            url=fields["url"],
                            published=fields.get("published"),
                            source=fields.get("source"),
                            tags=fields.get("tags", ()),
                            line=lineno,
                            explicit_id=fields.get("id"),
                            id_pos=(id_line, id_col),
                        )
                    )
            i = close + 1
            k = bisect.bisect_right(marks, close)
            continue
        if heading is not None:
            level, title = heading
            try:
                if not title:
                    raise ContentError(
                        src.diag("empty heading", lineno, 1, hint="write a name after the `#`s")
                    )
                if level == 2:
                    outline.section(title, lineno)
                else:
                    outline.subtopic(title, lineno)
            except ContentError as exc:
                problems.append(exc.diagnostic)
        else:
            if fence is None:
                fence = fence_opened(line)
            elif fence_closes(line, fence):
                fence = None
            if outline.in_section:
                outline.text(line)
            else:
                intro.append(line)
        i += 1

    sections = outline.freeze()
    problems.extend(outline.errors)
    if problems:
        raise ContentErrors([*problems, *outline.warnings])
    date = meta["date"]
    issue = Issue(
        slug=issue_slug(path),
        title=meta.get("title") or title_from_pattern(config.title_pattern, date),
        date=date,
        path=path,
        intro=trim_lines(intro),
        sections=sections,
        summary=meta.get("summary", ""),
        draft=meta.get("draft", False),
    )
    return ParsedIssue(issue, tuple(outline.warnings))


def issue_slug(path: str) -> str:
    """The issue's slug: its file stem, NFC (macOS file systems hand out NFD names)."""
    return unicodedata.normalize("NFC", PurePath(path).stem)


def _normalised(text: str) -> str:
    return unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))


def _error_at(path: str, head: str, rest: str, message: str, hint: str) -> ContentError:
    """An error just after `head`, the normalised text before the problem, quoting its line.

    Counted in the text a reader sees (lines after CR/CRLF normalisation, columns in NFC
    code points), as YAML and field errors are, not in bytes.
    """
    start = head.rfind("\n") + 1
    return ContentError(
        Diagnostic(
            path,
            head.count("\n") + 1,
            len(head) - start + 1,
            message,
            hint=hint,
            source_line=head[start:] + rest.split("\n", 1)[0],
        )
    )


def decode(path: str, data: bytes) -> str:
    """UTF-8 (a BOM is dropped), CRLF/CR normalised, NFC; non-UTF-8 or empty is a ContentError.

    NFC, because macOS tools may write Korean decomposed (NFD): it must give the same
    headings, tags, sources and duplicate checks as the composed text it looks like.
    """
    body = data.removeprefix(codecs.BOM_UTF8)
    try:
        text = _normalised(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        bad = exc.start
        line_end = bad + len(re.split(rb"[\r\n]", body[bad : bad + 4096], maxsplit=1)[0])
        raise _error_at(
            path,
            _normalised(body[:bad].decode("utf-8")),
            _normalised(body[bad:line_end].decode("utf-8", "replace")),  # U+FFFD in the quote
            f"file is not valid UTF-8 (byte 0x{body[bad]:02x})",
            hint="save the file as UTF-8 (most editors: 'Save with encoding')",
        ) from None
    nul = text.find("\x00")
    if nul >= 0:
        raise _error_at(
            path,
            text[:nul],
            text[nul : nul + 4096],
            "file contains NUL bytes; is it a binary file?",
            hint="only Markdown text files belong in content/issues/",
        )
    if not text.strip():
        raise ContentError(
            Diagnostic(
                path,
                1,
                1,
                "file is empty",
                hint="write the issue (`digest new` scaffolds one), or delete the file",
            )
        )
    return text


def read_issue(path: str, data: bytes, config: SiteConfig) -> ParsedIssue:
    """Read one issue file's bytes, native or legacy; raise ContentErrors on bad content."""
    try:
        text = decode(path, data)
        if text.split("\n", 1)[0].rstrip() == "---":
            return parse_native(path, text, config)
        from digest.legacy import parse_legacy

        result: ParsedIssue = parse_legacy(path, text, config)
        return result
    except ContentError as exc:
        raise ContentErrors([exc.diagnostic]) from None
