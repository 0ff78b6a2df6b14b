"""YAML mappings with source positions, so errors point at the file's own lines."""

from __future__ import annotations

import functools
import re
from typing import Any

import yaml

from digest.errors import ContentError, SourceText

# libyaml's C loader is several times faster; fall back to pure Python when absent.
Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Positions = dict[str, tuple[int, int, int]]
"""Key -> 1-based (key line, value line, value column) in the file."""


# The subset `simple_mapping` reads: `key: value` lines at column 0, each value one plain
# scalar, a quoted string without escapes, or a flow list of plain scalars. Anything else
# (and any character YAML treats specially: tabs, NEL, BOM, controls) goes to PyYAML.
_KEY_LINE = re.compile(r"([A-Za-z][A-Za-z0-9_-]{0,63}): +(.*)")
_UNUSUAL = re.compile(
    r"[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)
_INDICATORS = "-?:,[]{}#&*!|>'\"%@` "
"""Characters that give a value's first character a meaning other than plain text."""
_DOUBLE_QUOTED = re.compile(r'"[^"\\]*"')
_SINGLE_QUOTED = re.compile(r"'[^']*'")
_FLOW_ITEM = re.compile(r"[^-?:,\[\]{}#&*!|>'\"%@` ][^?:,\[\]{}#'\"]*")
# What libyaml's composer resolves plain scalars with: Resolver's tables, read not copied.
_IMPLICIT: dict[Any, list[tuple[str, re.Pattern[str]]]] = Loader.yaml_implicit_resolvers


# Keys, tags and months repeat from link to link; titles do not, and simply age out.
@functools.lru_cache(maxsize=4096)
def _plain_is_text(value: str) -> bool:
    resolvers = _IMPLICIT.get(value[0])
    return resolvers is None or not any(regexp.match(value) for _, regexp in resolvers)


def _simple_value(value: str) -> str | list[str] | None:
    first = value[0]
    if first == '"':
        return value[1:-1] if _DOUBLE_QUOTED.fullmatch(value) else None
    if first == "'":
        return value[1:-1] if _SINGLE_QUOTED.fullmatch(value) else None
    if first == "[":
        if value[-1] != "]":
            return None
        inner = value[1:-1]
        if not inner.strip(" "):
            return []
        items = [item.strip(" ") for item in inner.split(",")]
        for item in items:
            if not _FLOW_ITEM.fullmatch(item) or not _plain_is_text(item):
                return None
        return items
    # A plain scalar on one line: ': ' would start a mapping, ' #' a comment.
    if first in _INDICATORS or ": " in value or " #" in value or value[-1] == ":":
        return None
    return value if _plain_is_text(value) else None


def simple_mapping(text: str, first_line: int) -> tuple[dict[str, Any], Positions] | None:
    """What `load_mapping` returns for `text` when it is in the plain subset, else None.

    PyYAML builds a node, two marks and a constructor call per scalar: several times
    the cost of reading one `key: value` line with a regular expression. Link blocks
    are almost always in this subset; tests/test_fast_paths.py checks it agrees with PyYAML.
    """
    if None in _IMPLICIT or _UNUSUAL.search(text) is not None:
        return None
    data: dict[str, Any] = {}
    positions: Positions = {}
    lineno = first_line
    for line in text.split("\n"):
        if line:
            match = _KEY_LINE.match(line)
            if match is None:
                return None
            key, raw = match[1], match[2].rstrip(" ")
            if not raw or key in data or not _plain_is_text(key):
                return None
            value = _simple_value(raw)
            if value is None:
                return None
            data[key] = value
            positions[key] = (lineno, lineno, match.start(2) + 1)
        lineno += 1
    return (data, positions) if data else None


def load_mapping(
    src: SourceText, text: str, first_line: int, what: str
) -> tuple[dict[str, Any], Positions]:
    """Parse `text` (which starts at file line `first_line`) as a YAML mapping."""
    simple = simple_mapping(text, first_line)
    if simple is not None:
        return simple
    return load_yaml_mapping(src, text, first_line, what)


def load_yaml_mapping(
    src: SourceText, text: str, first_line: int, what: str
) -> tuple[dict[str, Any], Positions]:
    """`load_mapping` by PyYAML alone, for any YAML text; its errors carry positions."""
    loader = Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return {}, {}
        if not isinstance(node, yaml.MappingNode):
            line = first_line + node.start_mark.line
            raise ContentError(
                src.diag(
                    f"{what} must be a YAML mapping of `key: value` lines",
                    line,
                    node.start_mark.column + 1,
                    hint="write one `key: value` per line between the `---` lines",
                )
            )
        positions: Positions = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in positions:
                raise ContentError(
                    src.diag(
                        f"duplicate key '{key}' in {what}",
                        first_line + key_node.start_mark.line,
                        key_node.start_mark.column + 1,
                        hint="each key may appear once; remove one of them",
                    )
                )
            positions[key] = (
                first_line + key_node.start_mark.line,
                first_line + value_node.start_mark.line,
                value_node.start_mark.column + 1,
            )
        try:
            data = loader.construct_document(node)
        except (ValueError, OverflowError) as exc:
            # PyYAML's constructors raise plain ValueError for values that look like a date
            # or number but are not one (`2022-13-45`, `!!float x`, a 5000-digit int).
            line, col = _unconstructable(node)
            raise ContentError(
                src.diag(
                    f"invalid value in {what}: {exc}",
                    first_line + line,
                    col + 1,
                    hint="correct the value, or quote it to keep it as text",
                )
            ) from None
    except yaml.MarkedYAMLError as exc:
        problem = exc.problem or exc.context or "invalid YAML"
        mark = exc.problem_mark or exc.context_mark
        # An unclosed '[' or '"' is found lines later; point at where it was opened.
        if exc.context and exc.context_mark is not None:
            mark = exc.context_mark
            what_opened = re.sub(r"^while (parsing|scanning) (a |an )?", "", exc.context)
            problem += f" (in the {what_opened} that starts here)"
        line = first_line + (mark.line if mark else 0)
        col = (mark.column + 1) if mark else 1
        raise ContentError(
            src.diag(
                f"invalid YAML in {what}: {problem}",
                line,
                col,
                hint="check quoting and indentation; quote values that contain ': ' or start "
                "with a special character like '[', '*' or '&'",
            )
        ) from None
    except yaml.YAMLError as exc:
        raise ContentError(
            src.diag(f"invalid YAML in {what}: {exc}", first_line, 1, hint="check the YAML syntax")
        ) from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):  # pragma: no cover - guarded by the node check
        data = {}
    return {str(k): v for k, v in data.items()}, positions


def _unconstructable(node: yaml.MappingNode) -> tuple[int, int]:
    """0-based line and column of the first key or value PyYAML cannot construct."""
    for pair in node.value:
        for part in pair:
            try:
                yaml.SafeLoader("").construct_object(part, deep=True)
            except (ValueError, OverflowError, yaml.YAMLError):
                return part.start_mark.line, part.start_mark.column
    return node.start_mark.line, node.start_mark.column
