"""YAML mappings with source positions, so errors point at the file's own lines."""

from __future__ import annotations

import re
from typing import Any

import yaml

from digest.errors import ContentError, SourceText

# libyaml's C loader is several times faster; fall back to pure Python when absent.
Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Positions = dict[str, tuple[int, int, int]]
"""Key -> 1-based (key line, value line, value column) in the file."""


def load_mapping(
    src: SourceText, text: str, first_line: int, what: str
) -> tuple[dict[str, Any], Positions]:
    """Parse `text` (which starts at file line `first_line`) as a YAML mapping."""
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
