"""Legacy issue files (the seed's Markdown bullet-list format) -> Issue."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import PurePath

from digest.config import SiteConfig, strip_numbering
from digest.errors import ContentError, ContentErrors, Diagnostic, SourceText, sort_key
from digest.model import Issue, ParsedIssue, Section
from digest.outline import LinkDraft, Outline, trim_lines

# The native reader's own fence and heading rules, not copies: the legacy reader must see
# code blocks and headings exactly where the native reader will see them in the imported
# file, or `digest import` would change the model.
from digest.parse import (
    FieldError,
    _heading,
    fence_closes,
    fence_opened,
    issue_slug,
    parse_url,
    title_from_pattern,
)

_TITLE = re.compile(r"^#(?:[ \t]+(.*))?$")
"""`# Title` or a bare `#`."""
_LINK = re.compile(r"^([*+-])(\1?)[ \t]+\[")
"""A link bullet at column 0; group 2 is set for a doubled marker (`** [`)."""
_NESTED = re.compile(r"^([ \t]+)[*+-](?:([ \t]+)(.*))?$")
"""An indented bullet: commentary."""
_LINK_ITEM = 2
"""Where the text of a link bullet's item starts (`* [`): its commentary's lines are in it."""
_URL_NEXT = re.compile(r"^[ \t]*\([ \t]*<?[A-Za-z][A-Za-z0-9+.\-]*://")
"""A line that carries the `(url)` of a `[text]` on the line above."""
_FILE_DATE = re.compile(r"(?<![0-9])([0-9]{4})-([0-9]{2})(?:-([0-9]{2}))?(?![0-9])")
_DATE = re.compile(r"\s*([A-Za-z]+)\.?\s+([0-9]{4})\s*(?:,(.*))?", re.DOTALL)
"""The inside of a trailing `(Mon YYYY)` or `(Mon YYYY, Org)`."""

_BLOCK_MARK = re.compile(
    r"#{1,6}(?:[ \t]|$)|>|[-+*](?:[ \t]|$)|([-*_])(?:[ \t]*\1){2,}[ \t]*$|`{3}|~{3}"
)
"""How a line that starts a block starts: heading, quote, bullet, rule, fence."""
_ORDERED_MARK = re.compile(r"[0-9]{1,9}(?=[.)](?:[ \t]|$))")


def _as_text(text: str) -> str:
    """`text` with a backslash before the mark that would start a block on a line of its own."""
    number = _ORDERED_MARK.match(text)
    if number is not None:  # `1. first`: the escape goes before the `.`
        return f"{number[0]}\\{text[number.end() :]}"
    return "\\" + text if _BLOCK_MARK.match(text) else text


MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
"""English month names, short and full, lowercased."""


def parse_legacy(path: str, text: str, config: SiteConfig) -> ParsedIssue:
    """Parse a legacy issue file's text (LF newlines) into an Issue."""
    return _LegacyReader(path, text, config).read()


def split_title(text: str) -> tuple[str, str | None, str | None]:
    """Link text -> (title_md, published `YYYY-MM`, source) from a trailing `(Mon YYYY, Org)`."""
    text = text.strip()
    candidates = [text]
    if text.endswith(")"):
        # Editors sometimes typed one `)` too many after the date.
        candidates.append(text[:-1].rstrip())
    for candidate in candidates:
        open_at = _opening_paren(candidate)
        if open_at is None:
            continue
        match = _DATE.fullmatch(candidate[open_at + 1 : -1])
        month = MONTHS.get(match[1].lower()) if match else None
        if match is None or month is None or int(match[2]) < 1:
            continue
        source = (match[3] or "").strip() or None
        return candidate[:open_at].strip(), f"{match[2]}-{month:02d}", source
    return text, None, None


def date_from_filename(path: str) -> dt.date | None:
    """The last valid `YYYY-MM-DD` or `YYYY-MM` (day 1) in the file name, or None."""
    found: dt.date | None = None
    for match in _FILE_DATE.finditer(PurePath(path).name):
        try:
            found = dt.date(int(match[1]), int(match[2]), int(match[3] or 1))
        except ValueError:
            continue
    return found


def _opening_paren(text: str) -> int | None:
    """Index of the `(` matching the `)` that ends `text`, or None."""
    if not text.endswith(")"):
        return None
    depth = 0
    for i in range(len(text) - 1, -1, -1):
        if text[i] == ")":
            depth += 1
        elif text[i] == "(":
            depth -= 1
            if depth == 0:
                return i
    return None


def _closing(text: str, start: int, open_char: str, close_char: str) -> int | None:
    """Index of the bracket closing the one at `start` (backslash escapes skipped), or None."""
    depth = 0
    i = start
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char == open_char:
            depth += 1
        elif char == close_char:
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None


class _LegacyReader:
    """One pass over the lines; state for the code block, the open link and its bullets."""

    def __init__(self, path: str, text: str, config: SiteConfig) -> None:
        self.src = SourceText(path, text)
        self.config = config
        self.outline = Outline(self.src, config.taxonomy)
        self.problems: list[Diagnostic] = []
        self.warnings: list[Diagnostic] = []
        self.intro: list[str] = []
        self.title: str | None = None
        self.in_fence = False
        self.fence = ""
        self.fence_column = 0
        """The column a legacy item's text starts at, for a code block in it: less ends it."""
        self.fence_indent = ""
        """The indentation of the line that opened the code block: its closing line's."""
        # Blank lines are held back so that a closing fence can go before them.
        self.blanks: list[str] = []
        self.in_link = False
        # After a broken link or heading its lines belong to nothing; the issue fails anyway.
        self.skipping = False
        self.levels: list[tuple[int, int]] = []
        """Open nested bullets, outermost first: the column of each marker and of its text."""
        self.after_blank = False
        self.bullet = False
        """Whether the last commentary line was a nested bullet."""
        self.in_item = False
        """Whether the lines read are still in the link bullet's item (see `_start_block`)."""
        self.shift = 0
        """Columns the last commentary line moved by: a code block it opened moves as far."""
        self.rest = 0
        """Columns the next lines of the current block move by (see `_start_block`)."""
        self.column = 0
        """The column the text of the item the current block is in starts at (0: none)."""
        self.fence_cut = 0
        """Where the item of the line that opened the code block starts once moved."""

    def read(self) -> ParsedIssue:
        """Read every line, then settle the date and build the issue or raise every problem."""
        lines = self.src.lines
        i = 0
        while i < len(lines):
            line = lines[i]
            if self.in_fence and line.strip() and _width(line) < self.fence_column:
                self._close_fence()  # its item ends here, and the code block with it
            heading = None if self.in_fence else _heading(line)
            title = None if self.in_fence or self.outline.in_section else _TITLE.match(line)
            if heading is not None:
                self._end_text()
                self._open_heading(heading[0], heading[1], i + 1)
            elif self.outline.in_section and _LINK.match(line):
                i = self._read_link(i)
                continue
            elif title is not None and self.title is None:
                self.title = (title[1] or "").strip()
            else:
                self._text(line)
            i += 1
        self._end_text()

        sections = self.outline.freeze()
        self.problems.extend(self.outline.errors)
        date = date_from_filename(self.src.path) or _latest_published(sections)
        if date is None:
            self.problems.append(
                self.src.diag(
                    "cannot tell the issue's date",
                    1,
                    1,
                    hint="name the file after the issue's month or day (e.g. 2022-12.md), "
                    "or date its links like [Title (Dec 2022)](https://...)",
                )
            )
        warnings = sorted([*self.warnings, *self.outline.warnings], key=sort_key)
        if self.problems or date is None:
            raise ContentErrors([*self.problems, *warnings])
        issue = Issue(
            slug=issue_slug(self.src.path),
            title=self.title or title_from_pattern(self.config.title_pattern, date),
            date=date,
            path=self.src.path,
            intro=trim_lines(self.intro),
            sections=sections,
        )
        return ParsedIssue(issue, tuple(warnings))

    def _open_heading(self, level: int, raw: str, lineno: int) -> None:
        self.in_link = False
        self.skipping = False
        try:
            if not strip_numbering(raw):
                raise ContentError(
                    self.src.diag("empty heading", lineno, 1, hint="write a name after the `#`s")
                )
            if level == 2:
                self.outline.section(raw, lineno)
            else:
                self.outline.subtopic(raw, lineno)
        except ContentError as exc:
            self.problems.append(exc.diagnostic)
            self.skipping = True

    def _fail(self, message: str, lineno: int, col: int, hint: str) -> None:
        self.problems.append(self.src.diag(message, lineno, col, hint=hint))
        self.in_link = False
        self.skipping = True

    def _read_link(self, i: int) -> int:
        """Read the link bullet at line index `i`; return the index of the line after it."""
        self._end_text()
        lines = self.src.lines
        line = lines[i]
        lineno = i + 1
        bullet = _LINK.match(line)
        assert bullet is not None
        start = bullet.end() - 1
        if bullet[2]:
            self.warnings.append(
                self.src.diag(
                    f"doubled list marker '{bullet[1] * 2}' read as a link bullet",
                    lineno,
                    1,
                    hint=f"write a single marker: {bullet[1]} [Title](https://...)",
                    severity="warning",
                )
            )
        close = self._text_end(line, start)
        if close is None:
            self._fail(
                "link text is not closed: '[' has no matching ']'",
                lineno,
                start + 1,
                hint="end the title with ']', then the address: [Title](https://...)",
            )
            return i + 1

        # `(url)` follows `]` on the same line, or (the seed's CLOVA entry) opens the next one.
        url_index, rest, rest_at = i, line[close + 1 :], close + 1
        if not rest.strip() and i + 1 < len(lines) and _URL_NEXT.match(lines[i + 1]):
            url_index, rest, rest_at = i + 1, lines[i + 1], 0
        url_lineno = url_index + 1
        paren = rest_at + len(rest) - len(rest.lstrip())
        url_line = lines[url_index]
        if not url_line[paren:].startswith("("):
            self._fail(
                "link has no (url) after its [text]",
                lineno,
                close + 2,
                hint="put the address right after the title: [Title](https://example.org/post)",
            )
            return url_index + 1
        end = _closing(url_line, paren, "(", ")")
        if end is None:
            self._fail(
                "link URL is not closed: '(' has no matching ')'",
                url_lineno,
                paren + 1,
                hint="end the address with ')': [Title](https://example.org/post)",
            )
            return url_index + 1
        url = url_line[paren + 1 : end].strip()
        if url.startswith("<") and url.endswith(">"):
            url = url[1:-1].strip()
        try:
            url = parse_url(url)
        except FieldError:
            self._fail(
                f"link URL must be an absolute http or https URL, not '{url}'",
                url_lineno,
                paren + 2,
                hint="write the full address, e.g. [Title](https://example.org/post)",
            )
            return url_index + 1
        title_md, published, source = split_title(line[start + 1 : close])
        if not title_md:
            self._fail(
                "link has no title",
                lineno,
                start + 2,
                hint="write the article's title before its date: [Title (Dec 2022)](https://...)",
            )
            return url_index + 1

        self.outline.add_link(
            LinkDraft(
                title_md=title_md,
                url=url,
                published=published,
                source=source,
                tags=(),
                line=lineno,
            )
        )
        self.in_link, self.skipping, self.levels = True, False, []
        self.after_blank, self.in_item, self.column = False, True, _LINK_ITEM
        self.shift = self.rest = 0
        # Trailing spaces are left to `trim_lines`: two of them are a line break.
        inline = url_line[end + 1 :].lstrip()
        if inline.startswith(":"):
            inline = inline[1:].lstrip()
        # On the link's line it was text in the list item; on a line of its own a
        # heading, list, quote, rule or fence mark would make it one.
        self._text(_as_text(inline))
        self.after_blank = False  # an empty rest of the link's line is not a blank line
        return url_index + 1

    def _text_end(self, line: str, start: int) -> int | None:
        """Index of the `]` ending the link text opened at `start`, or None."""
        balanced = _closing(line, start, "[", "]")
        candidates = [balanced] if balanced is not None else []
        # Unbalanced brackets inside the text: fall back to the `](` or a final `]`.
        first_paren = line.find("](", start)
        if first_paren >= 0:
            candidates.append(first_paren)
        if line.rstrip().endswith("]"):
            candidates.append(len(line.rstrip()) - 1)
        for close in candidates:
            rest = line[close + 1 :].lstrip()
            if not rest or rest.startswith("("):
                return close
        return candidates[0] if candidates else None

    def _text(self, line: str) -> None:
        """A line of intro, note or commentary, as the model keeps it."""
        # The item the line is in, if any (its text's column, and where that starts once
        # moved): a code block is told within it, as CommonMark does, and ends with it.
        item, cut = 0, self.fence_cut if self.in_fence else 0
        if self.in_link and self.in_fence:
            line = self._fenced_line(line)
        elif self.in_link:
            width, line = _width(line), self._commentary_line(line)
            item = self.column if width >= self.column and not self.bullet else 0
            cut = 2 * len(self.levels) if item and self.levels else 0
        if line.rstrip() == "---":
            # In the native format a `---` line opens a link block; `***` is the same break.
            line = "***"
        if not line.rstrip():
            self.blanks.append(line)
            return
        inner = line[min(cut, len(line) - len(line.lstrip(" "))) :]
        if self.in_fence:
            self.in_fence = not fence_closes(inner, self.fence)
        else:
            fence = fence_opened(inner)
            if fence is not None:
                self.in_fence, self.fence, self.fence_cut = True, fence, cut
                # Closed as far in as it opened: at the left edge it would end its item.
                self.fence_indent = line[: line.index(fence)]
                self.fence_column = item
        self._put(line)

    def _end_text(self) -> None:
        """At a link, a heading or the end: close the text's code block, keep its blank lines."""
        # A link bullet ends a code block (as a link block does in the native format), and an
        # unclosed block runs to the end of its text anyway; closing it explicitly renders the
        # same and keeps every text balanced, so notes merged or moved by `digest import`
        # cannot swallow the headings after them.
        if self.in_fence:
            self._close_fence()
        self._put()

    def _close_fence(self) -> None:
        """Close the open code block before the blank lines held back."""
        blanks, self.blanks = self.blanks, []
        self.in_fence = False
        self._put(self.fence_indent + self.fence)
        self.blanks = blanks

    def _put(self, *lines: str) -> None:
        """Add held blank lines, then `lines`, to the intro, note or commentary being read."""
        lines = (*self.blanks, *lines)
        self.blanks = []
        if self.skipping:
            return
        for text in lines:
            if self.outline.in_section:
                self.outline.text(text)
            else:
                self.intro.append(text)

    def _commentary_line(self, line: str) -> str:
        """Indented bullets become `- ` items, 2 spaces per level; blocks in them move along.

        A block indented to a bullet's text (a paragraph or code block of that item in
        the legacy file) moves as far as the bullet's text did, so it stays in the
        item; one after a blank line indented less, but 2 or more (in the link's own
        item), moves to the left edge, so it neither joins the bullet above it nor
        reads as code. Other lines stay as written.
        """
        blank = not line.strip()
        after_blank, self.after_blank = self.after_blank, blank
        match = _NESTED.match(line)
        if match is None:
            if blank:
                return line
            width = _width(line)
            if after_blank:
                shift = self._start_block(width)
            elif self.bullet and self.levels and width >= self.levels[-1][1]:
                # The bullet's paragraph goes on (or a code block interrupts it).
                shift = self.rest = 2 * len(self.levels) - self.levels[-1][1]
            else:
                shift = self.rest
            self.bullet = False
            self.shift = shift  # the lines of a code block this one opens move as far
            return _shifted(line, shift)
        # Levels come from the indentation actually used (2, 3 or 4 spaces, even mixed):
        # a deeper indent opens a level, a shallower one closes levels down to it.
        width = _width(line)
        # Where CommonMark starts the item's text: after the spaces that follow the
        # marker, unless there are over four (then the text is code, one space in).
        column = len(line[: match.start(3)].expandtabs(4)) if match[3] else width + 2
        if column - width - 1 > 4:
            column = width + 2
        while self.levels and self.levels[-1][0] >= width:
            self.levels.pop()
        self.levels.append((width, column))
        self.rest, self.column, self.bullet = 0, column, True
        return "  " * (len(self.levels) - 1) + "- " + (match[3] or "")

    def _start_block(self, width: int) -> int:
        """How far the first line of a block after a blank line moves, and (`rest`) the others."""
        # A block less indented than an item's text ends that item.
        while self.levels and self.levels[-1][1] > width:
            self.levels.pop()
        self.in_item = self.in_item and width >= _LINK_ITEM
        if not self.levels and not self.in_item:
            self.rest = self.column = 0
            return 0
        self.column = self.levels[-1][1] if self.levels else _LINK_ITEM
        # With the item's text, to where it starts once moved.
        self.rest = 2 * len(self.levels) - self.column
        # Up to 3 spaces more make no difference to a paragraph, and kept they could put
        # it in the item above it; 4 or more are a code block's, kept as they are.
        return self.rest if width - self.column >= 4 else self.rest + self.column - width

    def _fenced_line(self, line: str) -> str:
        """A line of a code block: moved as far as the line that opened the block."""
        # Its blank lines are blank lines before what follows, if the block ends there.
        self.after_blank = not line.strip()
        return _shifted(line, self.shift)


def _shifted(line: str, shift: int) -> str:
    """`line` moved `shift` columns (left: never past its first character)."""
    if shift >= 0:
        return " " * shift + line if shift and line.strip() else line
    return " " * max(0, _width(line) + shift) + line.lstrip(" \t")


def _width(line: str) -> int:
    """The columns a line's indentation takes (a tab to the next multiple of 4)."""
    return len(line[: len(line) - len(line.lstrip(" \t"))].expandtabs(4))


def _latest_published(sections: tuple[Section, ...]) -> dt.date | None:
    links = [link for section in sections for link in section.links] + [
        link for section in sections for sub in section.subtopics for link in sub.links
    ]
    months = [link.published for link in links if link.published]
    if not months:
        return None
    year, month = max(months)[:7].split("-")
    return dt.date(int(year), int(month), 1)
