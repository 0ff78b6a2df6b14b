"""Determinism: the same content gives byte-identical files, whatever the machine does.

Builds run as real `digest build` processes under different time zones, locales, hash
seeds, working directories and path spellings, at different wall-clock seconds, and
in-process with directory listings in reversed order; every output file is compared.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from digest.site import build

from .conftest import ROOT
from .test_atomic import generate_content


def read_site(folder: Path) -> dict[str, bytes]:
    """Every file of a built site, by its path."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def assert_same_site(a: dict[str, bytes], b: dict[str, bytes], what: str) -> None:
    """Same file names, same bytes; on failure, name the first differing file."""
    assert sorted(a) == sorted(b), f"{what}: different files {set(a) ^ set(b)}"
    for path in sorted(a):
        if a[path] != b[path]:
            left, right = a[path].decode(errors="replace"), b[path].decode(errors="replace")
            at = next((i for i, (x, y) in enumerate(zip(left, right, strict=False)) if x != y), 0)
            pytest.fail(
                f"{what}: {path} differs at {at}: {left[at - 60 : at + 60]!r} vs "
                f"{right[at - 60 : at + 60]!r}"
            )


@pytest.fixture(scope="module")
def varied_content(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Native and legacy issues, NFD names and text, Korean tags, images, the seed issue."""
    folder = generate_content(tmp_path_factory.mktemp("det") / "content", issues=24, seed=7)
    shutil.copy(ROOT / "content" / "issues" / "2022-12.md", folder / "issues" / "2022-12.md")
    return folder


def _env(**changes: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "TZ", "PYTHONHASH"))}
    env["PYTHONPATH"] = str(ROOT)
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def cli_build(content: str, out: str, cwd: Path, env: dict[str, str], *extra: str) -> None:
    """`python -m digest build` as a separate process."""
    result = subprocess.run(
        [sys.executable, "-m", "digest", "build", "--content", content, "--out", out, *extra],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr


def test_builds_are_byte_identical_across_machines_settings(
    varied_content: Path, tmp_path: Path
) -> None:
    started = time.monotonic()
    runs: list[tuple[str, str, str, Path, dict[str, str]]] = [
        ("baseline", str(varied_content), "a", tmp_path, _env(TZ="UTC", LC_ALL="C.UTF-8")),
        (
            "Seoul, other hash seed",
            str(varied_content),
            "b",
            tmp_path,
            _env(TZ="Asia/Seoul", LC_ALL="C.UTF-8", PYTHONHASHSEED="1"),
        ),
        (
            "Los Angeles, C locale, random hash seed",
            str(varied_content),
            "c",
            tmp_path,
            _env(TZ="America/Los_Angeles", LC_ALL="C", PYTHONHASHSEED="random"),
        ),
        (
            "Korean locale, Kiribati (UTC+14)",
            str(varied_content),
            "d",
            tmp_path,
            _env(TZ="Pacific/Kiritimati", LANG="ko_KR.UTF-8", LC_ALL="ko_KR.UTF-8"),
        ),
        (
            "relative paths from the content's parent",
            "content",
            "../" + tmp_path.name + "/e",
            varied_content.parent,
            _env(TZ="Etc/GMT+12", PYTHONHASHSEED="12345"),
        ),
        (
            "from / with a path through '..'",
            str(varied_content / ".." / "content"),
            str(tmp_path / "f"),
            Path("/"),
            _env(TZ="UTC"),
        ),
    ]
    for i, (_, content, out, cwd, env) in enumerate(runs):
        if i == len(runs) - 1:
            # Let the wall clock pass a second, so a timestamp of "now" would show.
            time.sleep(max(0.0, 1.1 - (time.monotonic() - started)))
        # The first and last builds start cold; the others reuse the cache the first left
        # beside the content, written under another time zone, locale and hash seed.
        cold = ["--no-cache"] if i in (0, len(runs) - 1) else []
        cli_build(content, out, cwd, env, *cold)
    sites = {name: read_site(tmp_path / Path(out).name) for name, _, out, _, _ in runs}
    baseline = sites.pop("baseline")
    assert len(baseline) > 100
    for name, files in sites.items():
        assert_same_site(baseline, files, name)


class _Reversed:
    """An os.scandir result that yields its entries in reverse order."""

    def __init__(self, entries: list[Any]) -> None:
        self.entries = entries

    def __enter__(self) -> _Reversed:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def __iter__(self) -> Iterator[Any]:
        return iter(self.entries)

    def close(self) -> None:
        return None


def test_directory_listing_order_does_not_matter(
    varied_content: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(varied_content, tmp_path / "sorted")
    real_scandir, real_listdir = os.scandir, os.listdir

    def scandir(path: Any = ".") -> _Reversed:
        with real_scandir(path) as entries:
            return _Reversed(sorted(entries, key=lambda e: e.name, reverse=True))

    def listdir(path: Any = ".") -> list[Any]:
        return sorted(real_listdir(path), reverse=True)

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(os, "listdir", listdir)
    names = [p.name for p in (varied_content / "issues").iterdir()]
    assert names == sorted(names, reverse=True)  # the patch is in effect
    build(varied_content, tmp_path / "reversed")
    monkeypatch.undo()
    assert_same_site(
        read_site(tmp_path / "sorted"), read_site(tmp_path / "reversed"), "reversed listing"
    )


def test_files_created_in_a_different_order_build_the_same(
    varied_content: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "content"
    (copy / "issues").mkdir(parents=True)
    (copy / "images").mkdir()
    shutil.copy(varied_content / "site.yaml", copy / "site.yaml")
    for folder in ("issues", "images"):
        for path in sorted((varied_content / folder).iterdir(), reverse=True):
            shutil.copy(path, copy / folder / path.name)
    build(varied_content, tmp_path / "one")
    build(copy, tmp_path / "two")
    assert_same_site(read_site(tmp_path / "one"), read_site(tmp_path / "two"), "copied content")


def test_rebuilding_in_place_changes_nothing(varied_content: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    build(varied_content, out)
    first = read_site(out)
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file() and p.name[0] != "."}
    build(varied_content, out)
    assert_same_site(first, read_site(out), "second build")
    # Unchanged files are hard-linked from the previous build: deploys by mtime stay small.
    assert {
        p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file() and p.name[0] != "."
    } == mtimes
