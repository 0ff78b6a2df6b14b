"""build(): load -> render -> feeds -> search -> write, atomically."""

from __future__ import annotations

import ctypes
import gc
import os
import re
import shutil
import stat
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from digest import streams
from digest.assets import asset_dir, static_files
from digest.cache import Store, cache_dir_for, fingerprint, save_now, tree_stats
from digest.errors import ContentErrors, Diagnostic, OutputError
from digest.live import FileStat, LiveFiles, StatAhead, moved_untouched, untouched
from digest.model import Digest, Issue, ParsedIssue
from digest.streams import write_all
from digest.workers import ignore_interrupts, start

if TYPE_CHECKING:
    from digest.config import SiteConfig
    from digest.reuse import PageReuse

# Readers, renderers and their libraries are imported inside the functions that use
# them: a build where nothing changed needs none of them, and their import time was
# most of its cost.

_Data = TypeVar("_Data", bytes, bytes | None)

SITE_MARKER = ".digest-site"
"""File left in every output folder, so we only ever replace folders we wrote."""


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


def merge_outputs(*parts: Iterable[tuple[str, _Data]]) -> dict[str, _Data]:
    """Join (path, bytes) streams; two producers writing the same path is a bug: refuse it."""
    out: dict[str, _Data] = {}
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
    found, unreadable = _walk(root)
    for p, why in unreadable:
        problems.append(
            Diagnostic(
                display_path(p),
                1,
                1,
                f"cannot read folder: {why}",
                hint=f"make it readable: everything in {folder}/ is copied to the site",
            )
        )
    for p in found:
        rel = p.relative_to(root)
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


def _walk(root: Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Every entry under `root` but hidden ones, sorted; and the folders that cannot be read.

    Symlinked folders are listed, not entered (their link is checked like a file's).
    """
    found: list[Path] = []
    unreadable: list[tuple[Path, str]] = []
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as entries:
                listed = [e for e in entries if not e.name.startswith(".")]
        except OSError as exc:
            unreadable.append((folder, exc.strerror or str(exc)))
            continue
        for entry in listed:
            found.append(Path(entry.path))
            if entry.is_dir(follow_symlinks=False):
                stack.append(Path(entry.path))
    return sorted(found), unreadable


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
    from digest.render import PARALLEL_PAGES, Renderer

    # Read content files first: a bad image is a content error before any rendering.
    assets = merge_outputs(static_files().items(), content_files(content_dir, "images").items())
    compiled = Store(cache_dir, "templates")
    renderer = Renderer(
        config, digest, template_dirs=site_templates(content_dir), reuse=reuse, compiled=compiled
    )
    html = Store(cache_dir, "markdown", salt=config.base_path)
    jobs = list(renderer.page_jobs())
    many = sum(job is not None for _, job in jobs) >= PARALLEL_PAGES
    if many or reuse is None or not reuse.previous:
        # A big build: every text, from the store or rendered on every core, up front.
        renderer.prerender(html)
        html.save()
    else:
        renderer.use_store(html)  # a few pages: their texts as they are needed

    def feeds_and_search() -> _Result:
        # Imported here: in a big build this runs in its own process, and the imports
        # (feedgen, lxml) are then no part of the time until the pages start.
        from digest.feeds import render_feeds
        from digest.search import digest_search_index, html_text

        # The search index is updated for the issues that changed (by content key); the
        # salt covers what else a link's search text depends on (taxonomy, base path).
        store = Store(cache_dir, "search", salt=fingerprint(config))
        parsed = reuse.store if reuse is not None else None

        def previous(key: str) -> Issue | None:
            # The issue last read under this content key, from the parse cache.
            found = parsed.get(key) if parsed is not None else None
            return found.issue if isinstance(found, ParsedIssue) else None

        search = digest_search_index(
            digest,
            lambda text: html_text(renderer.html(text)),
            reuse.issue_keys if reuse is not None else {},
            store,
            previous,
            reuse.keep_hashed if reuse is not None else None,
        )
        store.save()
        feeds = render_feeds(config, digest, renderer.groups, renderer, reuse)
        made: dict[str, bytes | None] = merge_outputs(feeds.items(), search.items())
        # Their keys, for the next build (this may run in another process).
        return made, {p: reuse.keys[p] for p in made if reuse and p in reuse.keys}

    cores = min(os.cpu_count() or 1, 8)
    # A big build on several cores: one process makes feeds and the search index while
    # the others render pages and this one writes them. (Two page workers on two cores
    # were no faster, and each holds its own copy of what it touches: memory.)
    side = Forked(feeds_and_search) if many and cores > 1 else None
    workers = cores - 1 if side is not None else 0
    try:
        made: _Result | None = None
        for page in renderer.iter_pages(workers, jobs):
            yield page
            if side is not None and made is None and side.ready():
                # Written between pages, while the worker renders; and the process can
                # exit and give its memory back.
                made = side.result()
                yield from made[0].items()
        if made is None:
            made = side.result() if side is not None else feeds_and_search()
            yield from made[0].items()
        if reuse is not None:
            reuse.keys.update(made[1])
        compiled.save()
        html.save()
    finally:
        if side is not None:
            side.close()
    yield from assets.items()


_Result = tuple[dict[str, bytes | None], dict[str, str]]
"""What the feeds-and-search process returns: outputs, and the feeds' reuse keys."""


class Forked:
    """Work started in a forked process now; `result()` waits for what it returned.

    The outputs come back through a pipe as they are, a frame each (see `streams`):
    pickled as one message, each file's bytes were copied twice more on either side.
    """

    def __init__(self, work: Callable[[], _Result]) -> None:
        import multiprocessing

        self._read, write = streams.pipe()

        def run() -> None:
            import pickle

            ignore_interrupts()  # the parent stops this process (`close`)
            save_now()  # this process's saves cannot be put off: it exits when done
            os.close(self._read)
            try:
                outputs, keys = work()
                named = [(path.encode(), data) for path, data in outputs.items()]
                for name, data in named:
                    streams.send(write, b"N", name)
                    streams.send(write, b"-" if data is None else b"B", data or b"")
                streams.send(write, b"K", pickle.dumps(keys))
            except BaseException as exc:  # raised again in the parent
                streams.send(write, b"X", pickle.dumps(exc))

        context = multiprocessing.get_context("fork")
        self._process = context.Process(target=run, daemon=True)
        try:
            start(self._process)
        except BaseException:
            os.close(self._read)
            raise
        finally:
            os.close(write)

    def ready(self) -> bool:
        """True when the result can be had without waiting."""
        import select

        return bool(select.select([self._read], [], [], 0)[0])

    def result(self) -> _Result:
        """The work's result (its exception is raised here)."""
        import pickle

        outputs: dict[str, bytes | None] = {}
        try:
            while True:
                kind, data = streams.receive(self._read)
                if kind == b"N":
                    name = data.decode()
                    kind, data = streams.receive(self._read)
                    if kind in (b"B", b"-"):
                        outputs[name] = data if kind == b"B" else None
                        continue
                if kind == b"K":
                    return outputs, pickle.loads(data)
                raise pickle.loads(data)  # b"X": what the work raised (or sending did)
        except EOFError:
            raise OutputError("a build worker process died") from None

    def close(self) -> None:
        """Stop the process if it is still running (the build failed elsewhere)."""
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()
        os.close(self._read)


def site_templates(content_dir: Path) -> list[Path]:
    """The site's own templates folder, if any: `templates/` beside the content folder."""
    # It overrides the shipped templates, file by file.
    folder = content_dir.resolve().parent / "templates"
    shipped = Path(__file__).resolve().parent.parent / "templates"
    return [folder] if folder.is_dir() and folder != shipped else []


@contextmanager
def _paused_gc() -> Iterator[None]:
    """No cyclic garbage collection during a build, nor right after it.

    A build holds hundreds of thousands of long-lived objects and makes few cycles;
    the collector's passes over them were a tenth of a rebuild. Afterwards they are
    frozen (left out of collections), so turning the collector back on does not make
    it walk them all at once; `digest serve` collects between rebuilds, when idle.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def collect_garbage() -> None:
    """Collect what builds left frozen (`_paused_gc`): for long-running processes, when idle."""
    gc.unfreeze()
    gc.collect()


class Collector:
    """When a process that builds again and again (`digest serve`, the build server) collects.

    A full collection walks the whole site in memory. Where that is quick, it is done
    right after each build (the next one then reuses the memory: about 20 ms faster at
    1,000 issues); where it is long (0.7 s at 5,000 issues), once the process is idle,
    so that builds in quick succession do not wait for it, and at least every
    `EVERY` builds, so that memory stays bounded.
    """

    IDLE_SECONDS = 1.0
    """Quiet time after a build before garbage is collected, when that waits."""
    EVERY = 10
    """Builds after which garbage is collected even if the process was never idle."""
    LONG = 0.25
    """A collection that took longer (s) waits, next time, until the process is idle."""

    def __init__(self) -> None:
        self.uncollected = 0
        """Builds since garbage was last collected."""
        self.took = 0.0
        """How long the last collection took (s)."""

    def built(self) -> bool:
        """Count a build; True if garbage should be collected now, False: once idle."""
        self.uncollected += 1
        return self.took < self.LONG or self.uncollected >= self.EVERY

    def collect(self) -> None:
        """Collect now and time it."""
        start = time.perf_counter()
        collect_garbage()
        self.took = time.perf_counter() - start
        self.uncollected = 0


@_paused_gc()
def build(
    content_dir: Path,
    out_dir: Path,
    drafts: bool = False,
    base_url: str | None = None,
    use_cache: bool = True,
    progress: Callable[[int, int, str], None] | None = None,
    stat_ahead: StatAhead | None = None,
) -> BuildResult:
    """Build the site from `content_dir` into `out_dir`; ContentErrors leave it untouched.

    `progress(step, steps, what)` is told how far the build has got, for a progress bar.
    `stat_ahead` looks at the output folder's files meanwhile (see `StatAhead`).
    """
    report = progress or (lambda step, steps, what: None)
    start = time.perf_counter()
    if out_dir.resolve().is_relative_to((content_dir / "images").resolve()):
        # images/ is copied into the site as it is: each build would copy the last one.
        raise OutputError(
            f"the output folder {out_dir} is inside {content_dir / 'images'}, which is "
            "copied into the site; choose an --out outside it"
        )
    clean_leftovers(out_dir)
    cache_dir = cache_dir_for(content_dir) if use_cache else None
    unwritable: tuple[Diagnostic, ...] = ()
    if cache_dir is not None:
        try:
            cache_dir.mkdir(exist_ok=True)
        except OSError as exc:  # a read-only checkout, say: build without a cache
            unwritable = (
                Diagnostic(
                    str(cache_dir),
                    1,
                    1,
                    f"cannot keep the build cache here: {exc.strerror}",
                    hint="builds start from scratch until this folder can be made; "
                    "--no-cache says so explicitly",
                    severity="warning",
                ),
            )
            cache_dir = None
    state = Store(cache_dir, "build-state")
    inputs = fingerprint(
        tree_stats(content_dir, *site_templates(content_dir), asset_dir("templates")),
        tree_stats(asset_dir("static")),
        drafts,
        base_url,
        str(out_dir.absolute()),
    )
    last = state.get("last")
    # The last build's pages are reused only if that build is what the folder holds.
    same_folder = last is not None and _marker(out_dir) == last["marker"]
    # When the last build finished: a file of its site changed later was changed by hand.
    finished: int | None = last["marker"][2] if same_folder and last is not None else None
    if (
        finished is not None
        and last is not None
        and last["inputs"] == inputs
        and untouched(str(out_dir.absolute()), last["paths"], finished)
    ):
        # Nothing that the site is made from changed since the last build, which is
        # still in place as it left it: the editor's no-op rebuild costs a stat a file.
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
    live = LiveFiles(
        str(out_dir),
        stat_ahead,
        last["paths"] if same_folder and last is not None else (),
        changed_after=finished,
    )
    from digest.load import load_digest, parse_store, site_config

    config = site_config(content_dir)
    if base_url:
        config = replace(config, base_url=base_url if base_url.endswith("/") else base_url + "/")
    parsed = parse_store(cache_dir, config)
    report(1, 3, "reading issues")
    issue_keys: dict[str, str] = {}
    from digest.render import compile_templates
    from digest.reuse import PageReuse

    try:
        loaded = load_digest(
            content_dir,
            config,
            drafts=drafts,
            cache=parsed,
            keys_out=issue_keys,
            while_parsing=lambda: compile_templates(config, site_templates(content_dir)),
        )
    except ContentErrors as exc:
        # The images' problems too (they are checked as the pages render): one run.
        try:
            content_files(content_dir, "images")
        except ContentErrors as more:
            raise ContentErrors([*exc.diagnostics, *more.diagnostics]) from None
        raise

    site_key = fingerprint(
        config, tree_stats(*site_templates(content_dir), asset_dir("templates")), drafts
    )
    # Without a cache (--no-cache) there is no next build to key pages for.
    reuse = (
        PageReuse(
            site_key,
            issue_keys,
            last.get("pages", {}) if same_folder and last is not None else {},
            live.exists,
            parsed,
        )
        if cache_dir is not None
        else None
    )
    report(2, 3, "rendering Markdown")

    def counted(
        pairs: Iterable[tuple[str, bytes | None]],
    ) -> Iterator[tuple[str, bytes | None]]:
        for number, pair in enumerate(pairs, start=1):
            if number % 100 == 0:
                report(3, 3, f"writing pages and feeds: {number} files")
            yield pair

    spare_dir = cache_dir / SPARE_NAME if cache_dir is not None else None
    written = write_outputs(
        counted(iter_outputs(config, loaded.digest, content_dir, cache_dir, reuse)),
        out_dir,
        spare=_spare(spare_dir, last if same_folder else None),
        keep_old=spare_dir,
        live_stats=live.stats,
    )
    outputs = written.paths
    marker = _marker(out_dir)
    kinds = count_kinds(outputs)
    parsed.save()
    issues = len(loaded.digest.issues)
    links = sum(i.link_count for i in loaded.digest.issues)
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
                "pages": reuse.keys if reuse is not None else {},
                "paths": outputs,
                "fresh": written.fresh,
                # The replaced site, now the spare, is the one the last build left, if
                # nothing was added to it by hand (its record would not list that).
                "spare": (
                    {"marker": last["marker"], "paths": last.get("paths", ())}
                    if same_folder
                    and last is not None
                    and finished is not None
                    and spare_dir is not None
                    and _marker(spare_dir) == last["marker"]
                    and moved_untouched(str(spare_dir), last["paths"], finished, SITE_MARKER)
                    else None
                ),
            }
        }
    )
    state.save()
    return BuildResult(
        loaded.digest,
        loaded.warnings + unwritable,
        len(outputs),
        time.perf_counter() - start,
        issues,
        links,
        kinds,
    )


SPARE_NAME = "site-previous"
"""The build before last, inside the cache folder (see `Spare`)."""


def _spare(folder: Path | None, last: dict[str, Any] | None) -> Spare | None:
    """The spare site the last build left; if it is not as recorded, its files as found.

    An unrecorded spare (say, after an upgrade) is still worth reusing for its
    folders: on some disks removing thousands of folders takes seconds.
    """
    if folder is None or not folder.is_dir() or folder.is_symlink():
        return None
    spare = last.get("spare") if last is not None else None
    if last is not None and spare and _marker(folder) == spare["marker"]:
        return Spare(
            folder,
            frozenset(last["paths"]) - last["fresh"],
            frozenset(spare["paths"]),
            last["marker"][2],
        )
    try:
        found = _walk_files(folder)
    except OSError:
        return None
    return Spare(folder, frozenset(), frozenset(found)) if found is not None else None


def _walk_files(root: Path) -> list[str] | None:
    """Relative paths of the files under `root`; None if anything but files and folders.

    None too for an empty folder: a build never leaves one, and recycling the site
    (which removes only files, and the folders that leaves empty) would keep it.
    """
    found: list[str] = []
    stack = [""]
    while stack:
        prefix = stack.pop()
        with os.scandir(root / prefix if prefix else root) as listing:
            entries = list(listing)
            if prefix and not entries:
                return None
            for entry in entries:
                rel = f"{prefix}{entry.name}"
                if entry.is_symlink():
                    return None
                if entry.is_dir(follow_symlinks=False):
                    stack.append(rel + "/")
                elif entry.is_file(follow_symlinks=False):
                    if rel != SITE_MARKER:
                        found.append(rel)
                else:
                    return None
    return found


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
    if _UNSAFE_PATH.search(path):
        raise OutputError(f"unsafe output path: {path!r}")


_UNSAFE_PATH = re.compile(r"(?:^|/)\.{0,2}(?:/|$)")
"""An empty, `.` or `..` segment (absolute paths start with an empty one)."""


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE); False if unsupported."""
    # The running process's own symbols include the C library's: no need to look it
    # up with `find_library`, which runs `ldconfig` in a subprocess on every call.
    libc = ctypes.CDLL(None, use_errno=True)
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


@dataclass(frozen=True, slots=True)
class Spare:
    """The build before last, kept (hard-linked) so the next build rewrites only changes.

    `same` are the paths whose file there is the live site's own inode: the next
    build need not touch them if they stay unchanged. `paths` is everything it holds.
    `linked_by` is when the live site was finished (its marker's mtime): it made
    those links before then.
    """

    path: Path
    same: frozenset[str]
    paths: frozenset[str]
    linked_by: int = 0


@dataclass(frozen=True, slots=True)
class Written:
    """What `write_outputs` did: every output path, and those given new bytes."""

    paths: list[str]
    fresh: frozenset[str]


def write_outputs(
    outputs: Mapping[str, bytes] | Iterable[tuple[str, bytes | None]],
    out_dir: Path,
    spare: Spare | None = None,
    keep_old: Path | None = None,
    live_stats: Mapping[str, FileStat] | None = None,
) -> Written:
    """Write the whole site into a sibling folder, then swap it in by rename.

    Files whose bytes did not change are hard-linked from the previous build, so
    their mtimes stay put and deploys that sync by time stay small. With `spare`
    (the build before last) that folder is brought up to date instead of a new one
    being made: on a large site, making and deleting thousands of folders was most
    of an editor's rebuild. With `keep_old`, the replaced site is moved there (to be
    the next build's spare) instead of deleted. `live_stats` has the stats of files of
    the output folder that the caller has looked at already (see `LiveFiles`).
    """
    if live_stats is None:  # not `or`: the caller's dict fills while pages are made
        live_stats = {}
    out_dir = out_dir.absolute()
    if out_dir.exists() and (
        not out_dir.is_dir() or (any(out_dir.iterdir()) and not (out_dir / SITE_MARKER).is_file())
    ):
        raise OutputError(
            f"refusing to replace {out_dir}: it is not empty and was not written by digest "
            f"(no {SITE_MARKER} file); choose another --out"
        )
    try:
        return _write_outputs(outputs, out_dir, spare, keep_old, live_stats)
    except OSError as exc:
        # A folder that cannot be written (permissions, a file where a folder must be,
        # a full disk): the live site is as it was, and this says why.
        name = str(exc.filename or "")
        if name and not name.startswith(str(out_dir.parent)):
            raise OutputError(f"cannot read {name}: {exc.strerror}") from None
        where = f" ({name})" if name else ""
        raise OutputError(f"cannot write the site to {out_dir}: {exc.strerror}{where}") from None


def _write_outputs(
    outputs: Mapping[str, bytes] | Iterable[tuple[str, bytes | None]],
    out_dir: Path,
    spare: Spare | None,
    keep_old: Path | None,
    live_stats: Mapping[str, FileStat],
) -> Written:
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(out_dir)
    tmp = out_dir.parent / f".{out_dir.name}.tmp-{os.getpid()}"
    same: frozenset[str] = frozenset()
    linked_by = 0
    stale: set[str] = set()
    has_live = out_dir.is_dir()
    # Folders made in a new scratch folder (None: a recycled spare, which has its own).
    folders: set[str] | None = None
    if spare is not None and _claim(spare.path, tmp):
        # From here a killed build leaves only a scratch folder, cleaned next time.
        same, stale, linked_by = spare.same, set(spare.paths), spare.linked_by
    else:
        tmp.mkdir()
        folders = set()
    try:
        written: set[str] = set()
        fresh: set[str] = set()
        pairs = outputs.items() if isinstance(outputs, Mapping) else outputs
        # Plain strings, not Path objects: this loop runs for every file of the site.
        live, staged = str(out_dir), str(tmp)
        for path, data in pairs:
            _check_path(path)
            if path in written:
                raise OutputError(f"two outputs for the same path: {path}")
            written.add(path)
            stale.discard(path)
            previous, target = f"{live}/{path}", f"{staged}/{path}"
            # The live file's stat: known already, or from comparing its bytes.
            if data is None:
                live_stat = live_stats.get(path)
            else:
                live_stat = _same_bytes(previous, data) if has_live else None
            if data is None or live_stat is not None:
                if folders is not None:  # same inode, same mtime: kept as it was
                    _place_new(staged, path, previous, None, folders)
                elif path not in same or not _still_linked(target, previous, live_stat, linked_by):
                    _place(target, previous, None)
            else:
                fresh.add(path)
                if folders is not None:
                    _place_new(staged, path, None, data, folders)
                else:
                    _place(target, None, data)
        for path in sorted(stale):
            _remove(tmp, path)
        marker = tmp / SITE_MARKER
        marker.unlink(missing_ok=True)  # a new inode: the marker identifies this build
        marker.write_text("built by digest; this folder is replaced on every build\n")
        if out_dir.exists():
            if not _exchange(tmp, out_dir):
                old = out_dir.parent / f".{out_dir.name}.tmp-old-{os.getpid()}"
                out_dir.rename(old)
                tmp.rename(out_dir)
                tmp = old
            if keep_old is None or not _claim(tmp, keep_old):
                shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.rename(out_dir)
        # The marker's mtime says when the site was finished (see `untouched`): after
        # the removal of the replaced site, which changed the ctimes of files it shared.
        os.utime(out_dir / SITE_MARKER)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return Written(sorted(written), frozenset(fresh))


def _still_linked(spare_file: str, live_file: str, live: FileStat | None, linked_by: int) -> bool:
    """True when the spare's file, which the last build linked, is still the live file.

    The last build gave the live file its second name, the spare's, before it
    finished at `linked_by`. Any name given or taken since (the spare's file removed
    or replaced by hand, say) sets the file's ctime later than that; two names and
    an older ctime mean the other name is still the spare's. Only otherwise is the
    spare's file looked at, which on a big site saved a stat per kept file (a tenth
    of a rebuild).
    """
    if live is not None and live.nlink == 2 and live.ctime_ns < linked_by:
        return True
    try:
        return os.stat(spare_file).st_ino == (
            os.stat(live_file).st_ino if live is None else live.ino
        )
    except OSError:
        return False


def _claim(source: Path, target: Path) -> bool:
    """Move folder `source` to `target` (replacing a leftover there); False if impossible."""
    try:
        if target.exists():
            shutil.rmtree(target)
        source.rename(target)
    except OSError:
        return False
    return True


def _place(target: str, link_from: str | None, data: bytes | None) -> None:
    """Make the file `target` (a hard link to `link_from`, or `data`), replacing what is there.

    A fresh inode every time: a file there may be a hard link to the live site's.
    """
    try:
        os.unlink(target)
    except FileNotFoundError:
        pass
    except IsADirectoryError:
        shutil.rmtree(target)
    except NotADirectoryError:
        pass  # a parent is a file; `_parents` below replaces it
    for attempt in (1, 2):
        try:
            if link_from is not None:
                os.link(link_from, target)
            else:
                _write_new(target, data or b"")
            return
        except (FileNotFoundError, NotADirectoryError):
            if attempt == 2:
                raise
            _parents(Path(target))


def _write_new(target: str, data: bytes) -> None:
    # os.open rather than open(): no buffer, and none of the tty and seek checks a file
    # object makes, for each of thousands of files.
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        write_all(fd, data)
    finally:
        os.close(fd)


def _place_new(
    staged: str, path: str, link_from: str | None, data: bytes | None, folders: set[str]
) -> None:
    """`_place` into a folder this build made: nothing to replace, and `folders` made so far.

    A cold build writes thousands of files into new folders: making each folder
    once, before its first file, saves a failed open, a stat and an unlink per file.
    """
    folder = path.rpartition("/")[0]
    if folder and folder not in folders:
        missing = []
        while folder and folder not in folders:
            missing.append(folder)
            folder = folder.rpartition("/")[0]
        try:
            for name in reversed(missing):
                os.mkdir(f"{staged}/{name}")
                folders.add(name)
        except OSError:  # a file of this build stands there: let `_place` say what
            _place(f"{staged}/{path}", link_from, data)
            return
    target = f"{staged}/{path}"
    if link_from is not None:
        os.link(link_from, target)
    else:
        _write_new(target, data or b"")


def _parents(target: Path) -> None:
    """Create `target`'s folders, removing files that stand where a folder must be."""
    missing = []
    parent = target.parent
    while not parent.is_dir():
        missing.append(parent)
        parent = parent.parent
    for folder in reversed(missing):
        if folder.is_symlink() or folder.exists():
            folder.unlink()
        folder.mkdir()


def _remove(root: Path, path: str) -> None:
    """Delete output `path` under `root`, and the folders it leaves empty."""
    target = root / path
    try:
        target.unlink()
    except FileNotFoundError:
        return
    except IsADirectoryError:
        return  # a folder of this build's files now stands there
    parent = target.parent
    while parent != root:
        try:
            parent.rmdir()
        except OSError:
            return
        parent = parent.parent


def _same_bytes(path: str, data: bytes) -> FileStat | None:
    """The stat of file `path` if it holds `data`, else None."""
    try:
        # Not through a symlink put there by hand: the site's files are its own.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if st.st_size != len(data) or not stat.S_ISREG(st.st_mode):
            return None
        chunks = []
        left = len(data)
        while left > 0:
            chunk = os.read(fd, left)
            if not chunk:
                return None
            chunks.append(chunk)
            left -= len(chunk)
        return FileStat.of(st) if b"".join(chunks) == data else None
    except OSError:
        return None
    finally:
        os.close(fd)
