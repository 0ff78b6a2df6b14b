"""build(): load -> render -> feeds -> search -> write, atomically."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from digest.assets import asset_dir, static_files
from digest.cache import Store, cache_dir_for, fingerprint, tree_stats
from digest.errors import ContentErrors, Diagnostic
from digest.model import Digest

if TYPE_CHECKING:
    from digest.config import SiteConfig
    from digest.render import PageReuse

# Readers, renderers and their libraries are imported inside the functions that use
# them: a build where nothing changed needs none of them, and their import time was
# most of its cost.

SITE_MARKER = ".digest-site"
"""File left in every output folder, so we only ever replace folders we wrote."""


class OutputError(Exception):
    """The output folder cannot be written (a usage problem, not a content one)."""


@dataclass(frozen=True, slots=True)
class BuildResult:
    """What a build did, for the summary line."""

    digest: Digest | None
    """The digest built; None when nothing changed and nothing was loaded."""
    warnings: tuple[Diagnostic, ...]
    files: int
    seconds: float
    issues: int = 0
    links: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    """Output files by kind: pages, feeds, search, assets, files."""
    unchanged: bool = False
    """True when the inputs matched the last build's and the site was left as it was."""


def merge_outputs(*parts: Iterable[tuple[str, bytes]]) -> dict[str, bytes]:
    """Join (path, bytes) streams; two producers writing the same path is a bug: refuse it."""
    out: dict[str, bytes] = {}
    for part in parts:
        for path, data in part:
            if path in out:
                raise OutputError(f"two outputs for the same path: {path}")
            out[path] = data
    return out


def content_files(content_dir: Path, folder: str) -> dict[str, bytes]:
    """Files under `content/<folder>/` (images), keyed by their site path in NFC.

    Hidden files and folders are left out. Symlinks must resolve to files inside the
    content folder; anything else is a content error, never a silent copy of a file
    from elsewhere on the machine.
    """
    from digest.load import display_path, link_problem

    root = content_dir / folder
    if not root.is_dir():
        return {}
    out: dict[str, bytes] = {}
    problems: list[Diagnostic] = []
    for p in sorted(root.rglob("*")):  # rglob does not descend into symlinked folders
        rel = p.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue
        problem = link_problem(p, content_dir)
        if problem is None and p.is_file():
            # NFC, as Markdown text is: a macOS (NFD) file name must match its references.
            key = f"{folder}/{unicodedata.normalize('NFC', rel.as_posix())}"
            try:
                data = p.read_bytes()
            except OSError as exc:
                problem = f"cannot read file: {exc.strerror}"
            else:
                if key in out:
                    problem = "another file has the same name (in another Unicode form)"
                out[key] = data
        if problem:
            problems.append(
                Diagnostic(
                    display_path(p),
                    1,
                    1,
                    problem,
                    hint=f"only real files inside the content folder are copied to {folder}/",
                )
            )
    if problems:
        raise ContentErrors(problems)
    return out


def iter_outputs(
    config: SiteConfig,
    digest: Digest,
    content_dir: Path,
    cache_dir: Path | None = None,
    reuse: PageReuse | None = None,
) -> Iterator[tuple[str, bytes | None]]:
    """Every output file of the site: pages as they render, then feeds, search, assets.

    Nothing here touches the output folder; `write_outputs` stages what this yields
    and swaps it in only when all of it has been made. None for a page means "the
    last build's file is still right" (see `PageReuse`).
    """
    from digest.feeds import render_feeds
    from digest.render import Renderer
    from digest.search import build_search_index, html_text, search_docs

    # Read content files first: a bad image is a content error before any rendering.
    assets = merge_outputs(static_files().items(), content_files(content_dir, "images").items())
    renderer = Renderer(config, digest, template_dirs=_site_templates(content_dir), reuse=reuse)
    html = Store(cache_dir, "markdown", salt=config.base_path)
    renderer.prerender(html)
    html.save()
    yield from renderer.iter_pages()
    yield from render_feeds(config, digest, renderer.groups, renderer).items()
    docs = search_docs(digest, lambda text: html_text(renderer.html(text)))
    yield from build_search_index(docs).items()
    yield from assets.items()


def _site_templates(content_dir: Path) -> list[Path]:
    # A `templates/` folder beside the content folder overrides the shipped templates.
    folder = content_dir.resolve().parent / "templates"
    shipped = Path(__file__).resolve().parent.parent / "templates"
    return [folder] if folder.is_dir() and folder != shipped else []


def build(
    content_dir: Path,
    out_dir: Path,
    drafts: bool = False,
    base_url: str | None = None,
    use_cache: bool = True,
    progress: Callable[[int, int, str], None] | None = None,
) -> BuildResult:
    """Build the site from `content_dir` into `out_dir`; ContentErrors leave it untouched.

    `progress(step, steps, what)` is told how far the build has got, for a progress bar.
    """
    report = progress or (lambda step, steps, what: None)
    start = time.perf_counter()
    clean_leftovers(out_dir)
    cache_dir = cache_dir_for(content_dir) if use_cache else None
    state = Store(cache_dir, "build-state")
    inputs = fingerprint(
        tree_stats(content_dir, *_site_templates(content_dir), asset_dir("templates")),
        tree_stats(asset_dir("static")),
        drafts,
        base_url,
        str(out_dir.absolute()),
    )
    last = state.get("last")
    if last is not None and last["inputs"] == inputs and _marker(out_dir) == last["marker"]:
        # Nothing that the site is made from changed since the last build, which is
        # still in place: the editor's no-op rebuild costs a few stat calls.
        state.save(prune=False)
        return BuildResult(
            None,
            last["warnings"],
            last["files"],
            time.perf_counter() - start,
            last["issues"],
            last["links"],
            last["kinds"],
            unchanged=True,
        )
    from digest.config import load_config
    from digest.load import load_digest

    config = load_config(
        content_dir / "site.yaml" if (content_dir / "site.yaml").is_file() else None
    )
    if base_url:
        config = replace(config, base_url=base_url if base_url.endswith("/") else base_url + "/")
    parsed = Store(cache_dir, "parsed", salt=fingerprint(config.taxonomy, config.title_pattern))
    report(1, 3, "reading issues")
    issue_keys: dict[str, str] = {}
    loaded = load_digest(content_dir, config, drafts=drafts, cache=parsed, keys_out=issue_keys)
    from digest.render import PageReuse

    site_key = fingerprint(
        config, tree_stats(*_site_templates(content_dir), asset_dir("templates")), drafts
    )
    # Pages of the last build are reused only if that build is what the folder holds.
    same_folder = last is not None and _marker(out_dir) == last["marker"]
    reuse = PageReuse(
        site_key,
        issue_keys,
        last.get("pages", {}) if same_folder and last is not None else {},
        lambda path: (out_dir / path).is_file(),
    )
    report(2, 3, "rendering Markdown")

    def counted(
        pairs: Iterable[tuple[str, bytes | None]],
    ) -> Iterator[tuple[str, bytes | None]]:
        for number, pair in enumerate(pairs, start=1):
            if number % 100 == 0:
                report(3, 3, f"writing pages and feeds: {number} files")
            yield pair

    outputs = write_outputs(
        counted(iter_outputs(config, loaded.digest, content_dir, cache_dir, reuse)), out_dir
    )
    marker = _marker(out_dir)
    kinds = count_kinds(outputs)
    parsed.save()
    issues = len(loaded.digest.issues)
    links = sum(len(i.all_links()) for i in loaded.digest.issues)
    state.replace(
        {
            "last": {
                "inputs": inputs,
                "marker": marker,
                "warnings": loaded.warnings,
                "files": len(outputs),
                "issues": issues,
                "links": links,
                "kinds": kinds,
                "pages": reuse.keys,
            }
        }
    )
    state.save()
    return BuildResult(
        loaded.digest,
        loaded.warnings,
        len(outputs),
        time.perf_counter() - start,
        issues,
        links,
        kinds,
    )


FEED_NAMES = ("feed.xml", "atom.xml", "feed.json", "links.xml", "feeds.opml")


def count_kinds(paths: Iterable[str]) -> dict[str, int]:
    """How many outputs of each kind a site has: pages, feeds, search, assets, files."""
    counts = dict.fromkeys(("pages", "feeds", "search", "assets", "files"), 0)
    for path in paths:
        counts["files"] += 1
        name = path.rsplit("/", 1)[-1]
        if name.endswith(".html"):
            counts["pages"] += 1
        elif name in FEED_NAMES:
            counts["feeds"] += 1
        elif path.startswith("search/"):
            counts["search"] += 1
        else:
            counts["assets"] += 1
    return counts


def _marker(out_dir: Path) -> tuple[int, int, int] | None:
    """Identity of an output folder's marker file (written anew by every build), if any.

    Kept in the cache rather than in the file, so the site's bytes stay deterministic.
    """
    try:
        st = (out_dir / SITE_MARKER).stat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_mtime_ns)


# -- writing -----------------------------------------------------------------------------


def _check_path(path: str) -> None:
    parts = path.split("/")
    if path.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise OutputError(f"unsafe output path: {path!r}")


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE); False if unsupported."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return bool(result == 0)


def clean_leftovers(out_dir: Path) -> None:
    """Remove scratch folders that a killed build left beside the output."""
    for leftover in sorted(out_dir.absolute().parent.glob(f".{out_dir.name}.tmp-*")):
        pid = leftover.name.rsplit("-", 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and _alive(int(pid)):
            continue  # another build (say, `digest serve`) is writing it right now
        shutil.rmtree(leftover, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_outputs(
    outputs: Mapping[str, bytes] | Iterable[tuple[str, bytes | None]], out_dir: Path
) -> list[str]:
    """Write the whole site into a sibling folder, then swap it in by rename.

    Files whose bytes did not change are hard-linked from the previous build, so
    their mtimes stay put and deploys that sync by time stay small.
    """
    out_dir = out_dir.absolute()
    if out_dir.exists() and (
        not out_dir.is_dir() or (any(out_dir.iterdir()) and not (out_dir / SITE_MARKER).is_file())
    ):
        raise OutputError(
            f"refusing to replace {out_dir}: it is not empty and was not written by digest "
            f"(no {SITE_MARKER} file); choose another --out"
        )
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(out_dir)
    tmp = out_dir.parent / f".{out_dir.name}.tmp-{os.getpid()}"
    tmp.mkdir()
    try:
        made: set[Path] = set()
        written: set[str] = set()
        pairs = outputs.items() if isinstance(outputs, Mapping) else outputs
        for path, data in pairs:
            _check_path(path)
            if path in written:
                raise OutputError(f"two outputs for the same path: {path}")
            written.add(path)
            target = tmp / path
            if target.parent not in made:
                target.parent.mkdir(parents=True, exist_ok=True)
                made.add(target.parent)
            previous = out_dir / path
            if data is None or _same_bytes(previous, data):
                os.link(previous, target)  # kept as it was: same inode, same mtime
            else:
                target.write_bytes(data)
        (tmp / SITE_MARKER).write_text("built by digest; this folder is replaced on every build\n")
        if out_dir.exists():
            if not _exchange(tmp, out_dir):
                old = out_dir.parent / f".{out_dir.name}.tmp-old-{os.getpid()}"
                out_dir.rename(old)
                tmp.rename(out_dir)
                tmp = old
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return sorted(written)


def _same_bytes(path: Path, data: bytes) -> bool:
    try:
        if path.stat().st_size != len(data):
            return False
        return path.read_bytes() == data
    except OSError:
        return False
