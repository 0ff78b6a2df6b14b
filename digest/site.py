"""build(): load -> render -> feeds -> search -> write, atomically."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path

from digest.assets import static_files
from digest.config import SiteConfig, load_config
from digest.errors import Diagnostic
from digest.load import load_digest
from digest.model import Digest

SITE_MARKER = ".digest-site"
"""File left in every output folder, so we only ever replace folders we wrote."""


class OutputError(Exception):
    """The output folder cannot be written (a usage problem, not a content one)."""


@dataclass(frozen=True, slots=True)
class BuildResult:
    """What a build did, for the summary line."""

    digest: Digest
    warnings: tuple[Diagnostic, ...]
    files: int
    seconds: float


def merge_outputs(*parts: dict[str, bytes]) -> dict[str, bytes]:
    """Join output dicts; two producers writing the same path is a bug, so refuse it."""
    out: dict[str, bytes] = {}
    for part in parts:
        for path, data in part.items():
            if path in out:
                raise OutputError(f"two outputs for the same path: {path}")
            out[path] = data
    return out


def content_files(content_dir: Path, folder: str) -> dict[str, bytes]:
    """Files under `content/<folder>/` (images), keyed by their site path."""
    root = content_dir / folder
    if not root.is_dir():
        return {}
    return {
        f"{folder}/{p.relative_to(root).as_posix()}": p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


def render_outputs(config: SiteConfig, digest: Digest, content_dir: Path) -> dict[str, bytes]:
    """Every output file of the site, in memory: pages, feeds, search index, assets."""
    from digest.render import Renderer

    renderer = Renderer(config, digest, template_dirs=_site_templates(content_dir))
    parts = [renderer.render_pages(), static_files(), content_files(content_dir, "images")]
    try:
        from digest.feeds import render_feeds
    except ImportError:  # feeds land in their own change
        pass
    else:
        parts.append(render_feeds(config, digest))
    try:
        from digest.search import build_search_index, search_docs
    except ImportError:
        pass
    else:
        parts.append(build_search_index(search_docs(digest)))
    return merge_outputs(*parts)


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
) -> BuildResult:
    """Build the site from `content_dir` into `out_dir`; ContentErrors leave it untouched."""
    start = time.perf_counter()
    config = load_config(
        content_dir / "site.yaml" if (content_dir / "site.yaml").is_file() else None
    )
    if base_url:
        config = replace(config, base_url=base_url if base_url.endswith("/") else base_url + "/")
    loaded = load_digest(content_dir, config, drafts=drafts)
    outputs = render_outputs(config, loaded.digest, content_dir)
    write_outputs(outputs, out_dir)
    return BuildResult(loaded.digest, loaded.warnings, len(outputs), time.perf_counter() - start)


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


def _scratch_dirs(out_dir: Path) -> list[Path]:
    return sorted(out_dir.parent.glob(f".{out_dir.name}.tmp-*"))


def write_outputs(outputs: dict[str, bytes], out_dir: Path) -> None:
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
    for leftover in _scratch_dirs(out_dir):  # from a build that was killed
        shutil.rmtree(leftover, ignore_errors=True)
    tmp = out_dir.parent / f".{out_dir.name}.tmp-{os.getpid()}"
    tmp.mkdir()
    try:
        made: set[Path] = set()
        for path in sorted(outputs):
            _check_path(path)
            data = outputs[path]
            target = tmp / path
            if target.parent not in made:
                target.parent.mkdir(parents=True, exist_ok=True)
                made.add(target.parent)
            previous = out_dir / path
            if _same_bytes(previous, data):
                os.link(previous, target)
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


def _same_bytes(path: Path, data: bytes) -> bool:
    try:
        if path.stat().st_size != len(data):
            return False
        return path.read_bytes() == data
    except OSError:
        return False
