"""content/ -> Digest: every issue file, every error at once, cross-file checks."""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from digest.cache import Store, fingerprint
from digest.checks import IssueFindings, check_issues, issue_findings
from digest.config import SiteConfig, find_config, load_config
from digest.errors import ContentErrors, Diagnostic, sort_key
from digest.model import Digest, ParsedIssue
from digest.parse import issue_slug, read_issue

ISSUE_SUFFIXES = (".md", ".markdown")

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_RENAME = "rename the file: its name is the issue's URL (e.g. 2022-12.md)"
"""Unicode's control characters (category Cc)."""


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
    # Hidden files (`._2023-01.md` from macOS, editor lock files) are not issues. Symlinks
    # are listed even when broken, so reading them reports the problem instead of skipping.
    # scandir: the entries' types come with the listing, not a stat call per file.
    try:
        with os.scandir(folder) as entries:
            names = [
                e.name
                for e in entries
                if e.name.endswith(ISSUE_SUFFIXES)
                and not e.name.startswith(".")
                and (e.is_symlink() or e.is_file())  # a symlink loop must not raise here
            ]
    except OSError as exc:
        raise ContentErrors(
            [
                Diagnostic(
                    display_path(folder),
                    1,
                    1,
                    f"cannot read the issues folder: {exc.strerror}",
                    "make it readable (check its permissions)",
                )
            ]
        ) from None
    names.sort(key=lambda name: unicodedata.normalize("NFC", name))
    return [folder / name for name in names]


def link_problem(path: Path, root: Path) -> str | None:
    """Why the symlink `path` may not be followed, or None (not a symlink, or a good one).

    A symlink must resolve to a file inside `root`, the content folder: a contributed
    link to `~/.ssh/id_rsa` must be neither published nor quoted in build logs.
    """
    if not path.is_symlink():
        return None
    try:
        target = path.resolve(strict=True)
    except RuntimeError:  # how Python before 3.13 reports a loop
        return "symlink loop"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symlink loop"
        return f"broken symlink (to {os.readlink(path)})"
    if not target.is_relative_to(root.resolve()):
        return f"symlink to a file outside the content folder ({target})"
    if target.is_dir():
        return "symlink to a folder (folder symlinks are not followed)"
    return None


def display_path(path: Path, cwd: str | None = None) -> str:
    """A path as users typed it: relative to the working folder (`cwd`, or asked) when inside it."""
    # Strings, not `Path.relative_to`: this runs for every issue file of every build.
    shown, cwd = str(path), cwd or os.getcwd()
    if shown == cwd:
        return "."
    prefix = cwd.rstrip("/") + "/"
    return shown[len(prefix) :] if shown.startswith(prefix) else shown


def _parse_one(
    job: tuple[str, bytes, SiteConfig, bool],
) -> ParsedIssue | tuple[ParsedIssue, IssueFindings] | list[Diagnostic]:
    shown, data, config, with_findings = job
    try:
        parsed = read_issue(shown, data, config)
    except ContentErrors as exc:
        return list(exc.diagnostics)
    return (parsed, issue_findings(parsed.issue, data)) if with_findings else parsed


PARALLEL_FROM = 48
"""Files to parse before a process pool pays for its start-up."""


def parse_all(
    todo: list[tuple[str, bytes]],
    config: SiteConfig,
    cache: Store | None = None,
    keys_out: dict[str, str] | None = None,
    while_parsing: Callable[[], None] | None = None,
    findings_out: dict[str, IssueFindings] | None = None,
) -> list[ParsedIssue | list[Diagnostic]]:
    """Parse (path, bytes) pairs, in order: cached results first, the rest on every core.

    Reading a file is a pure function of its path, bytes and the taxonomy, so results
    are cached by a hash of those; files with errors are parsed again each time, so
    their messages always show. `while_parsing` is called while worker processes
    parse, if any do: work for this process, which would otherwise wait. With
    `findings_out`, the digest-wide checks' findings of each file parsed (not those
    from the cache) are made as it is parsed and put there, by path.
    """
    keys = [fingerprint(shown, hashlib.sha256(data).hexdigest()) for shown, data in todo]
    if keys_out is not None:  # each file's content key, for page-level reuse
        keys_out.update((shown, key) for (shown, _), key in zip(todo, keys, strict=True))
    results: list[ParsedIssue | list[Diagnostic] | None] = [
        cache.get(key) if cache is not None else None for key in keys
    ]
    missing = [i for i, r in enumerate(results) if r is None]
    jobs = [(todo[i][0], todo[i][1], config, findings_out is not None) for i in missing]
    workers = min(os.cpu_count() or 1, 8)
    if len(jobs) >= PARALLEL_FROM and workers > 1:
        from digest.workers import fork_map

        # The workers inherit the jobs at the fork: sent through a pool's pipe, every
        # file's bytes were pickled, copied and unpickled once more on the way.
        fresh = list(fork_map(lambda i: _parse_one(jobs[i]), len(jobs), workers, while_parsing))
    else:
        fresh = [_parse_one(job) for job in jobs]
    for i, made in zip(missing, fresh, strict=True):
        result = made[0] if isinstance(made, tuple) else made
        if isinstance(made, tuple) and findings_out is not None:
            findings_out[made[0].issue.path] = made[1]
        results[i] = result
        if cache is not None and isinstance(result, ParsedIssue):
            cache.put(keys[i], result)
    return [r for r in results if r is not None]


def read_issue_files(
    paths: list[Path],
    config: SiteConfig,
    root: Path | None = None,
    cache: Store | None = None,
    keys_out: dict[str, str] | None = None,
    while_parsing: Callable[[], None] | None = None,
    findings_out: dict[str, IssueFindings] | None = None,
) -> tuple[list[ParsedIssue], list[Diagnostic]]:
    """Parse every file; return what parsed and every diagnostic of what did not.

    With `root`, symlinks must stay inside it (see `link_problem`). `while_parsing`
    and `findings_out`: see `parse_all`.
    """
    parsed: list[ParsedIssue] = []
    problems: list[Diagnostic] = []
    todo: list[tuple[str, bytes]] = []
    # In file order: a parse unchanged since the last build (by its file's stat), or
    # the position of the file's bytes in `todo`.
    slots: list[ParsedIssue | int] = []
    stats: list[tuple[int, int, int, int] | None] = []
    cwd = os.getcwd()
    for path in paths:
        shown = display_path(path, cwd)
        # One lstat tells a symlink and, for a plain file, its identity: a rebuild
        # looks at every issue file, and most are plain and unchanged.
        try:
            st = os.lstat(path)
        except OSError:
            st = None
        linked = st is None or stat.S_ISLNK(st.st_mode)
        problem = link_problem(path, root) if root is not None and linked else None
        hint = "replace the symlink with the file itself, inside the content folder"
        # The name is the issue's URL, where `#` would start the anchor; and a newline
        # in it would forge diagnostics lines.
        if _CONTROL.search(path.name):
            shown = shown.encode("unicode_escape").decode("ascii")
            problem, hint = "its name contains control characters", _RENAME
        elif not _is_utf8(path.name):
            # The name is the issue's URL, and a URL is UTF-8: the build stopped in a
            # template with an encoding error that named neither the file nor the fix.
            shown = os.fsencode(shown).decode("utf-8", "backslashreplace")
            problem, hint = "its name is not valid UTF-8", _RENAME
        elif "#" in path.name:
            problem, hint = "its name contains '#'", _RENAME
        if problem:
            problems.append(Diagnostic(shown, 1, 1, f"cannot read file: {problem}", hint))
            continue
        # Taken before reading: a write after it must not go unseen.
        identity = _identity(path) if linked or st is None else _identity_of(st)
        unchanged = _unchanged(cache, shown, identity)
        if unchanged is not None:
            if keys_out is not None:
                keys_out[shown] = unchanged[0]
            slots.append(unchanged[1])
            continue
        try:
            data = path.read_bytes()
        except OSError as exc:
            problems.append(
                Diagnostic(
                    shown,
                    1,
                    1,
                    f"cannot read file: {exc.strerror}",
                    "make it a readable file (check its permissions)",
                )
            )
            continue
        slots.append(len(todo))
        todo.append((shown, data))
        stats.append(identity)
    keys: dict[str, str] = {}
    results = parse_all(todo, config, cache, keys, while_parsing, findings_out)
    if keys_out is not None:
        keys_out.update(keys)
    for (shown, _), identity, result in zip(todo, stats, results, strict=True):
        if isinstance(result, ParsedIssue) and cache is not None:
            cache.put(("stat", shown), (identity, keys[shown]))
    for slot in slots:
        result = slot if isinstance(slot, ParsedIssue) else results[slot]
        if isinstance(result, ParsedIssue):
            parsed.append(result)
        else:
            problems.extend(result)
    return parsed, problems


def _is_utf8(name: str) -> bool:
    # File names that are not UTF-8 come from the OS with surrogates standing in for
    # their bytes (surrogateescape).
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _identity(path: Path) -> tuple[int, int, int, int] | None:
    """A file's size, mtime, ctime and inode: any write changes at least one."""
    try:
        return _identity_of(os.stat(path))
    except OSError:
        return None


def _identity_of(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def _unchanged(
    cache: Store | None, shown: str, identity: tuple[int, int, int, int] | None
) -> tuple[str, ParsedIssue] | None:
    """The content key and parse of a file not written since the last build, if cached.

    Like the no-change check, this trusts the file system's stat, so a rebuild after
    editing one issue reads that one file instead of all of them.
    """
    if cache is None:
        return None
    recorded = cache.get(("stat", shown))
    if recorded is None or recorded[0] is None or recorded[0] != identity:
        return None
    result = cache.get(recorded[1])
    if not isinstance(result, ParsedIssue):
        return None
    cache.get(("stat", shown))  # keep the record
    return recorded[1], result


def duplicate_slugs(paths: list[Path]) -> list[Diagnostic]:
    """Cross-file check: two files may not give the same issue slug (their URL).

    By file name alone, so it holds for files with errors too: one run reports all.
    """
    problems: list[Diagnostic] = []
    seen: dict[str, str] = {}
    cwd = os.getcwd()
    for path in paths:
        shown = display_path(path, cwd)
        key = issue_slug(shown)
        first = seen.setdefault(key, shown)
        if first != shown:
            problems.append(
                Diagnostic(
                    shown,
                    1,
                    1,
                    f"issue slug '{key}' is already used by {first}",
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


def load_digest(
    content_dir: Path,
    config: SiteConfig,
    drafts: bool = False,
    cache: Store | None = None,
    keys_out: dict[str, str] | None = None,
    while_parsing: Callable[[], None] | None = None,
) -> Loaded:
    """Read every issue under `content_dir`; raise ContentErrors with all problems.

    `keys_out`, when given, receives each issue file's content key by its path;
    `while_parsing`: see `parse_all`.
    """
    folder = content_dir / "issues"
    if not folder.is_dir():
        # Not a content folder (or its issues moved away): an empty site built from it
        # would replace the published one.
        raise ContentErrors(
            [
                Diagnostic(
                    display_path(folder),
                    1,
                    1,
                    "no issues folder: this is not a content folder",
                    "point --content at the folder holding site.yaml and issues/; "
                    "`digest new` makes a first issue",
                )
            ]
        )
    keys: dict[str, str] = {}
    findings: dict[str, IssueFindings] = {}
    paths = issue_files(content_dir)
    parsed, problems = read_issue_files(
        paths,
        config,
        root=content_dir,
        cache=cache,
        keys_out=keys,
        while_parsing=while_parsing,
        findings_out=findings,
    )
    if keys_out is not None:
        keys_out.update(keys)
    problems += duplicate_slugs(paths)
    warnings = [w for p in parsed for w in p.warnings]
    warnings += check_issues(parsed, content_dir, cache, keys, findings, config.per_page)
    if any(d.severity == "error" for d in problems):
        raise ContentErrors([*problems, *warnings])
    return Loaded(assemble(parsed, drafts), tuple(sorted(warnings + problems, key=sort_key)))


def parse_store(cache_dir: Path | None, config: SiteConfig) -> Store:
    """The build cache's parsed issues: a parse holds for one taxonomy and title pattern."""
    return Store(cache_dir, "parsed", salt=fingerprint(config.taxonomy, config.title_pattern))


def site_config(content_dir: Path) -> SiteConfig:
    """The content folder's `site.yaml`, or the built-in default when there is none.

    With a broken site.yaml, the issues' own errors are reported with its problems
    (read with the default config): every problem in one run.
    """
    path = content_dir / "site.yaml"
    try:
        # Anything by that name is read: a folder there is an error, not "no config".
        return load_config(path if path.exists() or path.is_symlink() else None)
    except ContentErrors as exc:
        raise ContentErrors([*exc.diagnostics, *issue_errors(content_dir)]) from None


def issue_errors(content_dir: Path) -> list[Diagnostic]:
    """The errors of the issue files under `content_dir`, read with the default config."""
    try:
        load_digest(content_dir, SiteConfig(), drafts=True)
    except ContentErrors as exc:
        return [d for d in exc.diagnostics if d.severity == "error"]
    return []


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
