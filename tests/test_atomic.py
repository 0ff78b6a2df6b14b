"""Atomic output: a failed or killed build leaves the previous site complete, never a part.

`write_outputs` builds into a sibling `.NAME.tmp-PID` folder and swaps it in with one
rename, so at every instant the output folder is either the old site or the new one.
These tests break a build at each stage (content, templates, disk) and kill real builds
with SIGKILL at seeded random moments, then compare the folder with known snapshots.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest

from digest import site
from digest.errors import ContentErrors, OutputError
from digest.site import SITE_MARKER, build, write_outputs

from .conftest import ROOT

TAGS = ("llm", "rlhf", "diffusion", "강화학습", "추천시스템", "생성모델", "mlops", "검색", "vision")
SOURCES = ("Google", "Meta", "HuggingFace", "네이버", "카카오", "DeepMind", "스캐터랩", "OpenAI")
HEADINGS = (("Research", ("CV", "NLP", "RecSys")), ("Business Cases", ("MLOps", "NLP")))
WORDS = "모델과 데이터를 학습 추론 성능이 개선된 논문 사례 the model learns from data at scale"


def generate_content(folder: Path, issues: int, links: int = 8, seed: int = 0) -> Path:
    """A seeded content folder: native and legacy issues, Korean tags, NFD names, images."""
    rng = random.Random(seed)
    (folder / "issues").mkdir(parents=True, exist_ok=True)
    (folder / "images").mkdir(exist_ok=True)
    shutil.copy(ROOT / "content" / "site.yaml", folder / "site.yaml")
    for i in range(3):
        (folder / "images" / f"figure-{i}.png").write_bytes(bytes([137, 80, 78, 71, i]) * 40)
    start = dt.date(2015, 1, 4)
    for n in range(issues):
        date = start + dt.timedelta(weeks=n)
        legacy = n % 5 == 4
        text = _legacy(rng, date, links, n) if legacy else _native(rng, date, links, n)
        name = f"{date.isoformat()}.md"
        if n % 7 == 3:  # as macOS writes them: decomposed Hangul
            text = unicodedata.normalize("NFD", text)
        (folder / "issues" / name).write_text(text, encoding="utf-8")
    return folder


def _sentence(rng: random.Random, n: int = 12) -> str:
    words = WORDS.split()
    return " ".join(rng.choice(words) for _ in range(n))


def _native(rng: random.Random, date: dt.date, links: int, n: int) -> str:
    out = [
        "---",
        f"title: {date.year}년 {date.month}월 {date.day}일 읽을거리 {n}",
        f"date: {date.isoformat()}",
        f"summary: {_sentence(rng, 5)}",
        "---",
        _sentence(rng),
        "",
    ]
    k = 0
    for section, subtopics in HEADINGS:
        out += [f"## {section}", ""]
        for sub in subtopics:
            out += [f"### {sub}", ""]
            for _ in range(max(1, links // 5)):
                k += 1
                tags = ", ".join(rng.sample(TAGS, 2))
                out += [
                    "---",
                    f"url: https://example.org/{n}/{k}",
                    f"title: Article {n}-{k} about *{rng.choice(TAGS)}*",
                    f"published: {date.year}-{date.month:02d}",
                    f"source: {rng.choice(SOURCES)}",
                    f"tags: [{tags}]",
                    "---",
                    _sentence(rng, 30),
                    f"- {_sentence(rng, 8)}",
                    f"![figure](./images/figure-{k % 3}.png)" if k % 4 == 0 else "",
                    "",
                ]
    return "\n".join(out)


def _legacy(rng: random.Random, date: dt.date, links: int, n: int) -> str:
    out = [f"# Legacy issue {n}", "", _sentence(rng), ""]
    k = 0
    for section, subtopics in HEADINGS:
        out.append(f"## {section}")
        for sub in subtopics:
            out.append(f"### {sub}")
            for _ in range(max(1, links // 5)):
                k += 1
                month = date.strftime("%b")
                out += [
                    f"* [Legacy article {n}-{k} ({month} {date.year}, {rng.choice(SOURCES)})]"
                    f"(https://example.org/legacy/{n}/{k}) : {_sentence(rng, 6)}",
                    f"    * {_sentence(rng, 10)}",
                ]
    return "\n".join(out) + "\n"


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under `folder` (the marker included) with the hash of its bytes."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() or p.is_symlink()
    }


def leftovers(out: Path) -> list[str]:
    """Scratch folders of builds beside the output folder."""
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.tmp"))


def touch_issue(content: Path) -> None:
    """Change one issue, so the next build must really build (no cache shortcut)."""
    path = content / "issues" / "2015-01-11.md"
    path.write_text(path.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")


@pytest.fixture
def built(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    """A small content folder, its site, and the site's snapshot."""
    content = generate_content(tmp_path / "content", issues=6)
    out = tmp_path / "site"
    build(content, out)
    return content, out, snapshot(out)


# -- errors at each stage ---------------------------------------------------------------------


def test_content_error_leaves_previous_site(built: tuple[Path, Path, dict[str, str]]) -> None:
    content, out, before = built
    (content / "issues" / "2015-01-04.md").write_text("---\ndate: nope\n---\n", encoding="utf-8")
    with pytest.raises(ContentErrors):
        build(content, out)
    assert snapshot(out) == before
    assert leftovers(out) == []


def test_template_error_leaves_previous_site(
    built: tuple[Path, Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    import jinja2

    from digest.render import Renderer

    content, out, before = built

    def broken(self: Renderer, *args: object) -> Iterator[tuple[str, bytes]]:
        yield "index.html", b"half a site"  # some pages are staged before the error
        raise jinja2.TemplateSyntaxError("unexpected '}'", 3, "issue.html")

    monkeypatch.setattr(Renderer, "iter_pages", broken)
    touch_issue(content)
    with pytest.raises(jinja2.TemplateError):
        build(content, out, use_cache=False)  # else nothing changed and nothing renders
    assert snapshot(out) == before
    assert leftovers(out) == []


def test_broken_site_template_leaves_previous_site(
    built: tuple[Path, Path, dict[str, str]],
) -> None:
    content, out, before = built
    templates = content.parent / "templates"  # a site's own override folder
    templates.mkdir()
    touch_issue(content)
    (templates / "issue.html").write_text(
        "{% extends 'base.html' %}{% block main %}{{ nope() }}{% endblock %}"
    )
    with pytest.raises(Exception, match="nope"):
        build(content, out)
    assert snapshot(out) == before
    assert leftovers(out) == []


@pytest.mark.parametrize("fail_after", [0, 1, 10, 40])
def test_disk_full_midway_leaves_previous_site(
    built: tuple[Path, Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch, fail_after: int
) -> None:
    content, out, before = built
    assert len(before) > 60
    (content / "site.yaml").write_text(
        (content / "site.yaml").read_text(encoding="utf-8").replace("ML 읽을거리", "New title"),
        encoding="utf-8",
    )  # every page changes, so every file is written, none hard-linked
    writes = 0
    real_write = site._write_new

    def write_new(target: str, data: bytes) -> None:
        nonlocal writes
        writes += 1
        if writes > fail_after:
            raise OSError(errno.ENOSPC, "No space left on device", target)
        real_write(target, data)

    monkeypatch.setattr(site, "_write_new", write_new)
    # Said as a problem with the output folder (exit 2 from the CLI), not a traceback.
    with pytest.raises(OutputError, match=r"cannot write the site to .*: No space left"):
        build(content, out)
    assert snapshot(out) == before
    assert leftovers(out) == []


def test_failed_hard_link_leaves_previous_site(
    built: tuple[Path, Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    content, out, before = built

    def link(src: object, dst: object) -> None:
        raise OSError(errno.EMLINK, "Too many links")

    monkeypatch.setattr(os, "link", link)
    touch_issue(content)
    with pytest.raises(OutputError, match="Too many links"):
        build(content, out)
    assert snapshot(out) == before
    assert leftovers(out) == []


def test_failed_swap_leaves_previous_site(
    built: tuple[Path, Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    content, out, before = built
    (content / "issues" / "2015-01-04.md").unlink()

    def exchange(a: Path, b: Path) -> bool:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(site, "_exchange", exchange)
    with pytest.raises(OutputError, match="cannot write the site"):
        build(content, out)
    assert snapshot(out) == before
    assert leftovers(out) == []


def test_swap_without_renameat2_still_gives_a_complete_site(
    built: tuple[Path, Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    content, out, _ = built
    (content / "issues" / "2015-01-04.md").unlink()
    expected = tmp_path / "expected"
    build(content, expected)
    monkeypatch.setattr(site, "_exchange", lambda a, b: False)
    build(content, out)
    assert snapshot(out) == snapshot(expected)
    assert leftovers(out) == []


def test_renameat2_exchange_is_available_here(tmp_path: Path) -> None:
    # The SIGKILL test relies on the swap being one atomic step on this filesystem.
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "x").write_text("a")
    (b / "x").write_text("b")
    assert site._exchange(a, b)
    assert (a / "x").read_text() == "b" and (b / "x").read_text() == "a"


def test_refuses_to_replace_a_folder_it_did_not_write(tmp_path: Path) -> None:
    out = tmp_path / "home"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    with pytest.raises(OutputError, match=SITE_MARKER):
        write_outputs({"index.html": b"x"}, out)
    assert (out / "precious.txt").read_text() == "keep me"
    assert leftovers(out) == []
    file_out = tmp_path / "file"
    file_out.write_text("a file")
    with pytest.raises(OutputError):
        write_outputs({"index.html": b"x"}, file_out)
    assert file_out.read_text() == "a file"


@pytest.mark.parametrize("path", ["../evil.html", "/abs.html", "a/../../b", "a//b", "./x"])
def test_refuses_output_paths_outside_the_folder(tmp_path: Path, path: str) -> None:
    out = tmp_path / "site"
    with pytest.raises(OutputError):
        write_outputs({"index.html": b"x", path: b"evil"}, out)
    assert not out.exists()
    assert not (tmp_path / "evil.html").exists()
    assert leftovers(out) == []


def test_next_build_cleans_leftovers(built: tuple[Path, Path, dict[str, str]]) -> None:
    content, out, before = built
    for name in (f".{out.name}.tmp-99999", f".{out.name}.tmp-old-12345"):
        stale = out.parent / name
        (stale / "issues").mkdir(parents=True)
        (stale / "issues" / "half.html").write_text("partial")
    build(content, out)
    assert leftovers(out) == []
    assert snapshot(out) == before


# -- SIGKILL at random moments ------------------------------------------------------------------

KILL_TRIALS = 10
KILL_ISSUES = 150
KILL_SEED = 20221229


def _build_cli(content: Path, out: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "digest", "build", "--content", str(content), "--out", str(out)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_sigkill_at_random_moments_never_leaves_a_partial_site(tmp_path: Path) -> None:
    old_content = generate_content(tmp_path / "old", issues=KILL_ISSUES, seed=1)
    new_content = generate_content(tmp_path / "new", issues=KILL_ISSUES, seed=2)
    (new_content / "issues" / "2015-01-04.md").unlink()  # the new site also loses pages
    reference_old, reference_new = tmp_path / "ref-old", tmp_path / "ref-new"
    started = time.perf_counter()
    proc = _build_cli(new_content, reference_new)
    assert proc.wait(timeout=300) == 0
    duration = time.perf_counter() - started
    build(old_content, reference_old)
    old, new = snapshot(reference_old), snapshot(reference_new)
    assert old != new

    rng = random.Random(KILL_SEED)
    out = tmp_path / "work" / "_site"
    outcomes: list[str] = []
    for trial in range(KILL_TRIALS):
        if out.exists():
            shutil.rmtree(out)
        shutil.copytree(reference_old, out)
        # Spread over the whole build and a little past it (the swap is at the very end).
        delay = duration * (trial + rng.random()) / KILL_TRIALS * 1.2
        proc = _build_cli(new_content, out)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        now = snapshot(out)
        assert now in (old, new), f"trial {trial} (kill after {delay:.2f}s): a partial site"
        outcomes.append("old" if now == old else "new")
    assert "old" in outcomes, outcomes
    # The next build cleans whatever the killed ones left beside the output.
    proc = _build_cli(new_content, out)
    assert proc.wait(timeout=300) == 0
    assert snapshot(out) == new
    assert leftovers(out) == []


def test_sigkill_while_recycling_the_previous_site_never_leaves_a_partial_site(
    tmp_path: Path,
) -> None:
    # A rebuild brings the build before last (kept in the cache folder) up to date in
    # place, then swaps it in: a kill at any moment must still leave the old or new site.
    versions = {
        name: generate_content(tmp_path / name, issues=60, seed=seed)
        for name, seed in (("a", 3), ("b", 4))
    }
    (versions["b"] / "issues" / "2015-01-04.md").unlink()
    refs = {
        name: snapshot(_built_cold(folder, tmp_path / f"ref-{name}"))
        for name, folder in versions.items()
    }
    assert refs["a"] != refs["b"]
    content, out = tmp_path / "work" / "content", tmp_path / "work" / "_site"

    def use(name: str) -> None:
        if content.exists():
            shutil.rmtree(content)
        shutil.copytree(versions[name], content)

    use("a")
    build(content, out)
    started = time.perf_counter()
    use("b")
    build(content, out)  # times a rebuild that recycles the spare
    duration = time.perf_counter() - started
    rng = random.Random(KILL_SEED)
    outcomes: list[str] = []
    for trial in range(6):
        use("a")
        build(content, out)  # the site is A, and the spare (B's) is recorded
        assert snapshot(out) == refs["a"]
        use("b")
        proc = _build_cli(content, out)
        time.sleep(duration * (trial + rng.random()) / 6 * 1.2)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        now = snapshot(out)
        assert now in (refs["a"], refs["b"]), f"trial {trial}: a partial site"
        outcomes.append("a" if now == refs["a"] else "b")
        build(content, out)  # whatever the kill left, the next build completes
        assert snapshot(out) == refs["b"]
        assert leftovers(out) == []
    assert "a" in outcomes, outcomes


def test_ctrl_c_stops_every_process_of_a_build_quietly(tmp_path: Path) -> None:
    # The terminal sends SIGINT to the whole process group, workers included: each used
    # to die with a traceback of its own, and a parse worker that died inside its
    # pool's queue broke the pool (a traceback and exit 1) or left the build waiting.
    # So the signal comes while workers run: once the build has started its first.
    content = generate_content(tmp_path / "content", issues=KILL_ISSUES * 2, seed=5)
    out = tmp_path / "_site"
    reference = snapshot(_built_cold(content, out))
    codes: list[int] = []
    for trial in range(KILL_TRIALS):
        shutil.rmtree(content.parent / ".digest-cache", ignore_errors=True)  # a cold build
        proc = subprocess.Popen(
            [sys.executable, "-m", "digest", "build", "--content", str(content), "--out", str(out)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group, as a terminal's job is
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        polls_with_workers = 0
        while proc.poll() is None and polls_with_workers <= trial * 2:
            polls_with_workers += len(_group_members(proc.pid)) > 1
            time.sleep(0.01)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        codes.append(proc.returncode)
        assert proc.returncode in (0, 130), (trial, err.decode())
        assert b"Traceback" not in err, (trial, err.decode())
        assert _group_alive(proc.pid) == [], trial  # nothing of the group is left running
        assert snapshot(out) == reference, trial
        assert leftovers(out) == []
    assert codes.count(130) > KILL_TRIALS // 2, codes


def _group_members(group: int) -> list[str]:
    """The processes of process group `group` (zombies aside), by pid."""
    members: list[str] = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            members.append(stat.parent.name)
    return members


def _group_alive(group: int) -> list[str]:
    """The processes of process group `group` still running after up to 2 s."""
    for _ in range(20):
        time.sleep(0.1)
        alive = _group_members(group)
        if not alive:
            break
    return alive


def _built_cold(content: Path, out: Path) -> Path:
    build(content, out, use_cache=False)
    return out
