"""Diagnostics: the one place where content problems are formed and formatted."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

_VISIBLE = {c: 0x2400 + c for c in range(0x20) if c != 0x09} | {0x7F: 0x2421}
_VISIBLE |= {c: 0xFFFD for c in range(0x80, 0xA0)}
"""Control characters as their symbols (ESC as ␛): one character each, so columns hold."""


def visible(text: str) -> str:
    """`text` with control characters (tab aside) shown as symbols, for a terminal."""
    return text.translate(_VISIBLE)


QUOTE_WIDTH = 100
"""Characters of a long source line quoted around the column (minified text, data URLs)."""


def _quoted(line: str, col: int) -> tuple[str, str]:
    """The source line as quoted (a window of a long one), and the padding under it to `col`.

    The padding takes the width each character has on a terminal: two columns for
    Hangul and other wide characters, none for combining marks, and tabs as tabs
    (the quote and the caret line have prefixes of the same width).
    """
    start = 0
    if len(line) > QUOTE_WIDTH:
        start = min(max(col - 1 - QUOTE_WIDTH // 2, 0), len(line) - QUOTE_WIDTH)
        end = start + QUOTE_WIDTH
        head = "…" if start else ""
        line = head + line[start:end] + ("…" if end < len(line) else "")
        start -= len(head)
    before = line[: max(col - 1 - start, 0)]
    pad = "".join(
        "\t"
        if c == "\t"
        else ""
        if unicodedata.combining(c)
        else "  "
        if unicodedata.east_asian_width(c) in "WF"
        else " "
        for c in before
    )
    return line, pad


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem in one file, at a 1-based line and column."""

    path: str
    """File the problem is in, as given to the reader."""
    line: int
    """1-based line number."""
    col: int
    """1-based column number."""
    message: str
    """What is wrong, in one sentence, no trailing period."""
    hint: str = ""
    """How to fix it."""
    severity: str = "error"
    """'error' or 'warning'."""
    source_line: str = ""
    """The offending line of the file, for context."""

    def format(self) -> str:
        """Render as `path:line:col: severity: message`, the source line and a hint.

        Content can put any character in a message or line: control characters are
        shown as symbols, so none can forge a line or send a terminal an escape code.
        """
        path, message = visible(self.path), visible(self.message)
        out = [f"{path}:{self.line}:{self.col}: {self.severity}: {message}"]
        if self.source_line:
            quote, pad = _quoted(visible(self.source_line), self.col)
            out.append(f"{self.line:>5} | {quote}")
            out.append(f"      | {pad}^")
        if self.hint:
            out.append(f"hint: {visible(self.hint)}")
        return "\n".join(out)

    def as_json(self) -> dict[str, object]:
        """Machine-readable form, for `digest check --format json`."""
        return {
            "path": self.path,
            "line": self.line,
            "col": self.col,
            "severity": self.severity,
            "message": self.message,
            "hint": self.hint,
        }


class OutputError(Exception):
    """The site cannot be written (a usage or system problem, not a content one)."""


class ContentError(Exception):
    """A single content problem; raised by readers when they cannot go on."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.format())
        self.diagnostic = diagnostic


class ContentErrors(Exception):
    """Every problem found in one run, reported together."""

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics = sorted(diagnostics, key=sort_key)
        super().__init__("\n".join(d.format() for d in self.diagnostics))


def plural(n: int, word: str) -> str:
    """`1 issue`, `2 issues`."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def sort_key(d: Diagnostic) -> tuple[str, int, int, str]:
    """Order diagnostics by file, then position, so output is stable."""
    return (d.path, d.line, d.col, d.message)


class SourceText:
    """A file's lines, so readers can form diagnostics that quote the source."""

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.lines = text.split("\n")

    def line(self, lineno: int) -> str:
        """The 1-based line `lineno`, or '' when out of range."""
        if 1 <= lineno <= len(self.lines):
            return self.lines[lineno - 1].rstrip("\r")
        return ""

    def diag(
        self, message: str, line: int, col: int = 1, hint: str = "", severity: str = "error"
    ) -> Diagnostic:
        """A diagnostic at `line:col` of this file, quoting that line."""
        line = min(max(line, 1), max(len(self.lines), 1))
        return Diagnostic(
            path=self.path,
            line=line,
            col=max(col, 1),
            message=message,
            hint=hint,
            severity=severity,
            source_line=self.line(line),
        )
