"""YAML mappings with source positions, so errors point at the file's own lines."""

from __future__ import annotations

import functools
import re
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from digest.errors import Diagnostic, SourceText

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
    """What `read_mapping` returns for `text` when it is in the plain subset, else None.

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


def read_mapping(
    src: SourceText, text: str, first_line: int, what: str, problems: list[Diagnostic]
) -> tuple[dict[str, Any], Positions] | None:
    """Parse `text` (which starts at file line `first_line`) as a YAML mapping.

    Every problem found is appended to `problems`, so one run reports them all. Returns
    None when `text` is not a mapping at all; else the keys whose values could be read,
    and the positions of every key written (a bad value is not also a missing key).
    """
    simple = simple_mapping(text, first_line)
    if simple is not None:
        return simple
    return read_yaml_mapping(src, text, first_line, what, problems)


MAX_DEPTH = 100
"""Deepest nesting of lists and mappings read: libyaml's composer recurses in C, and
about 20,000 levels crashed the interpreter (no exception to report)."""


def _too_deep(text: str) -> tuple[int, int] | None:
    """Where (0-based line, column) `text` nests deeper than MAX_DEPTH, or None."""
    # Each level takes one of these characters at least: most texts need no look.
    if sum(map(text.count, "[{-:?")) <= MAX_DEPTH:
        return None
    depth = 0
    try:
        # The event parser keeps its own stack (no recursion): safe at any depth.
        for event in yaml.parse(text, Loader=Loader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                mark = event.start_mark
                if depth > MAX_DEPTH and mark is not None:
                    return mark.line, mark.column
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return None  # composing reports it, with its place
    return None


def read_yaml_mapping(
    src: SourceText, text: str, first_line: int, what: str, problems: list[Diagnostic]
) -> tuple[dict[str, Any], Positions] | None:
    """`read_mapping` by PyYAML alone: every duplicate key and every unreadable value."""
    deep = _too_deep(text)
    if deep is not None:
        problems.append(
            src.diag(
                f"{what} nests lists or mappings more than {MAX_DEPTH} deep",
                first_line + deep[0],
                deep[1] + 1,
                hint="a link's fields are text or a list of text",
            )
        )
        return None
    loader = Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        problems.append(_yaml_error(src, exc, first_line, what))
        return None
    except yaml.YAMLError as exc:
        problems.append(
            src.diag(f"invalid YAML in {what}: {exc}", first_line, 1, hint="check the YAML syntax")
        )
        return None
    finally:
        loader.dispose()
    if node is None:
        return {}, {}
    if not isinstance(node, yaml.MappingNode):
        problems.append(
            src.diag(
                f"{what} must be a YAML mapping of `key: value` lines",
                first_line + node.start_mark.line,
                node.start_mark.column + 1,
                hint="write one `key: value` per line between the `---` lines",
            )
        )
        return None
    data: dict[str, Any] = {}
    positions: Positions = {}
    # Each value is built on its own, so one that cannot be (`2022-13-45`) hides no other.
    constructor = SafeConstructor()
    for key_node, value_node in node.value:
        key_line = first_line + key_node.start_mark.line
        key_col = key_node.start_mark.column + 1
        if not isinstance(key_node, yaml.ScalarNode):
            problems.append(
                src.diag(
                    f"invalid YAML in {what}: a key must be text, not a list or mapping",
                    key_line,
                    key_col,
                    hint="write one `key: value` per line; a line starting with `?` or `[` "
                    "is not a key",
                )
            )
            continue
        # The key as written: `~` and `yes` are what the editor typed, not None or True.
        key = key_node.value
        if key in positions:
            continue  # reported below, with repeats inside the values
        value_line = first_line + value_node.start_mark.line
        value_col = value_node.start_mark.column + 1
        positions[key] = (key_line, value_line, value_col)
        try:
            data[key] = constructor.construct_document(value_node)
        except yaml.MarkedYAMLError as exc:
            problems.append(_yaml_error(src, exc, first_line, what))
            constructor = SafeConstructor()  # a failed build leaves state behind
        except (ValueError, OverflowError) as exc:
            # PyYAML's constructors raise plain ValueError for values that look like a date
            # or number but are not one (`2022-13-45`, `!!float x`, a 5000-digit int).
            problems.append(
                src.diag(
                    f"invalid value in {what}: {exc}",
                    value_line,
                    value_col,
                    hint="correct the value, or quote it to keep it as text",
                )
            )
            constructor = SafeConstructor()
    for twice in _repeated_keys(node):
        problems.append(
            src.diag(
                f"duplicate key '{twice.value}' in {what}",
                first_line + twice.start_mark.line,
                twice.start_mark.column + 1,
                hint="each key may appear once; remove one of them",
            )
        )
    return data, positions


def _repeated_keys(node: yaml.Node) -> list[yaml.ScalarNode]:
    """Keys written twice in `node` or a mapping inside it, in file order.

    PyYAML keeps the last silently: `feeds: {issues: 5, issues: 50}` would be 50.
    """
    found: list[yaml.ScalarNode] = []
    seen_nodes: set[int] = set()  # an alias repeats a node, and may contain itself
    todo = [node]
    while todo:
        current = todo.pop()
        if id(current) in seen_nodes:
            continue
        seen_nodes.add(id(current))
        if isinstance(current, yaml.MappingNode):
            keys: set[object] = set()
            for key, value in current.value:
                if isinstance(key, yaml.ScalarNode):
                    if key.value in keys:
                        found.append(key)
                    keys.add(key.value)
                todo.append(value)
        elif isinstance(current, yaml.SequenceNode):
            todo.extend(current.value)
    return sorted(found, key=lambda k: (k.start_mark.line, k.start_mark.column))


_OPENED = re.compile(
    r"while (?:scanning|parsing) an? (quoted scalar|flow sequence|flow mapping|simple key)"
)
"""Contexts of a problem found after the end of what was opened: point at the opening."""


def _yaml_error(
    src: SourceText, exc: yaml.MarkedYAMLError, first_line: int, what: str
) -> Diagnostic:
    """A PyYAML error as a diagnostic: a readable message at the most useful mark."""
    context, mark = exc.context, exc.problem_mark or exc.context_mark
    opened = _OPENED.fullmatch(context or "")
    if exc.problem is None:
        problem = context or "invalid YAML"
    elif opened and exc.context_mark is not None:
        # An unclosed '[' or '"' is found lines later; point at where it was opened.
        problem, mark = f"{exc.problem} (in the {opened[1]} that starts here)", exc.context_mark
    elif context and context.startswith("while "):
        problem = f"{exc.problem} ({context})"  # e.g. 'while constructing a mapping'
    elif context and exc.context_mark is not None:
        # The composer's two-part messages: 'found duplicate anchor …; first occurrence'.
        problem = f"{context} (line {first_line + exc.context_mark.line}), {exc.problem}"
    else:
        problem = exc.problem
    return src.diag(
        f"invalid YAML in {what}: {problem}",
        first_line + (mark.line if mark else 0),
        (mark.column + 1) if mark else 1,
        hint="check quoting and indentation; quote values that contain ': ' or start "
        "with a special character like '[', '*' or '&'",
    )
