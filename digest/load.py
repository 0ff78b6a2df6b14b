"""content/ -> Digest: every issue file, every error at once, cross-file checks."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

from digest.config import SiteConfig, find_config, load_config
from digest.errors import ContentErrors, Diagnostic
from digest.model import Digest, Issue, ParsedIssue
from digest.parse import read_issue

ISSUE_SUFFIXES = (".md", ".markdown")


@dataclass(frozen=True, slots=True)
class Loaded:
    """A digest with the warnings met while loading it."""

    digest: Digest
    """Published issues (and drafts, when asked for), newest first."""
    warnings: tuple[Diagnostic, ...]
    """Problems that do not stop a build (unless --strict)."""


def issue_files(content_dir: Path) -> list[Path]:
    """Issue files under `content/issues/`, sorted by name so order never depends on the OS."""
    folder = content_dir / "issues"
    if not folder.is_dir():
        return []
    files = [p for p in folder.iterdir() if p.suffix in ISSUE_SUFFIXES and p.is_file()]
    return sorted(files, key=lambda p: unicodedata.normalize("NFC", p.name))


def display_path(path: Path) -> str:
    """A path as users typed it: relative to the working folder when inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def read_issue_files(
    paths: list[Path], config: SiteConfig
) -> tuple[list[ParsedIssue], list[Diagnostic]]:
    """Parse every file; return what parsed and every diagnostic of what did not."""
    parsed: list[ParsedIssue] = []
    problems: list[Diagnostic] = []
    for path in paths:
        shown = display_path(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            problems.append(
                Diagnostic(shown, 1, 1, f"cannot read file: {exc.strerror}", "check the file")
            )
            continue
        try:
            parsed.append(read_issue(shown, data, config))
        except ContentErrors as exc:
            problems.extend(exc.diagnostics)
    return parsed, problems


def check_digest(parsed: list[ParsedIssue]) -> list[Diagnostic]:
    """Cross-file checks: two files may not give the same issue slug."""
    problems: list[Diagnostic] = []
    seen: dict[str, Issue] = {}
    for p in parsed:
        key = unicodedata.normalize("NFC", p.issue.slug)
        first = seen.setdefault(key, p.issue)
        if first is not p.issue:
            problems.append(
                Diagnostic(
                    p.issue.path,
                    1,
                    1,
                    f"issue slug '{key}' is already used by {first.path}",
                    "rename one of the files: the file name is the issue's URL",
                )
            )
    return problems


def assemble(parsed: list[ParsedIssue], drafts: bool) -> Digest:
    """Sort issues newest first (slug breaks ties) and drop drafts unless asked."""
    issues = [p.issue for p in parsed if drafts or not p.issue.draft]
    issues.sort(key=lambda i: i.slug, reverse=True)
    issues.sort(key=lambda i: i.date, reverse=True)
    return Digest(tuple(issues))


def load_digest(content_dir: Path, config: SiteConfig, drafts: bool = False) -> Loaded:
    """Read every issue under `content_dir`; raise ContentErrors with all problems."""
    parsed, problems = read_issue_files(issue_files(content_dir), config)
    problems += check_digest(parsed)
    warnings = [w for p in parsed for w in p.warnings]
    if any(d.severity == "error" for d in problems):
        raise ContentErrors([*problems, *warnings])
    return Loaded(assemble(parsed, drafts), tuple(warnings + problems))


def load_paths(paths: list[Path]) -> tuple[Digest, tuple[Diagnostic, ...]]:
    """`digest dump PATH...`: content folders and/or single issue files, drafts included."""
    files: list[Path] = []
    config: SiteConfig | None = None
    for path in paths:
        if path.is_dir():
            config = config or load_config(find_config(path))
            files.extend(issue_files(path))
        else:
            config = config or load_config(find_config(path.parent))
            files.append(path)
    parsed, problems = read_issue_files(files, config or SiteConfig())
    warnings = [w for p in parsed for w in p.warnings]
    if problems:
        raise ContentErrors([*problems, *warnings])
    return assemble(parsed, drafts=True), tuple(warnings)
