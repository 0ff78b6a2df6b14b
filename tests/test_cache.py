"""A cached build gives byte-identical output to a cold one, whatever changed in between."""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from digest.site import SITE_MARKER, build

from .conftest import ROOT


def files(folder: Path) -> dict[str, bytes]:
    """Every output file by relative path (the marker aside)."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != SITE_MARKER
    }


def make_site(root: Path) -> Path:
    """A content folder with a few issues of both formats, and a templates override slot."""
    content = root / "content"
    shutil.copytree(ROOT / "content", content)
    seed = ROOT.parent / "shared" / "seed" / "digest-2022-12.md"
    (content / "issues" / "2022-11.md").write_bytes(seed.read_bytes())
    (content / "issues" / "2023-01.md").write_text(
        "---\ndate: 2023-01-31\nsummary: 새해\n---\n## Research\n### NLP\n\n---\n"
        "url: https://example.org/a\ntitle: A New Year Paper\ntags: [llm, 새해]\n---\n"
        "새해 첫 코멘트\n",
        encoding="utf-8",
    )
    return content


def built_site(root: Path) -> tuple[Path, Path]:
    """`make_site` under `root`, built once into `root/_site` (so the cache is full)."""
    content = make_site(root)
    out = root / "_site"
    build(content, out)
    return content, out


def edit_issue(content: Path) -> None:
    p = content / "issues" / "2023-01.md"
    p.write_text(p.read_text(encoding="utf-8").replace("첫 코멘트", "첫 번째 코멘트"), "utf-8")


def add_issue(content: Path) -> None:
    (content / "issues" / "2023-02.md").write_text(
        "---\ndate: 2023-02-28\n---\n## Business Cases\n### MLOps\n\n---\n"
        "url: https://example.org/b\ntitle: Serving at Scale\nsource: 네이버\n---\n",
        encoding="utf-8",
    )


def rename_issue(content: Path) -> None:
    (content / "issues" / "2023-01.md").rename(content / "issues" / "2023-01-new.md")


def delete_issue(content: Path) -> None:
    (content / "issues" / "2022-11.md").unlink()


def change_config(content: Path) -> None:
    p = content / "site.yaml"
    p.write_text(p.read_text(encoding="utf-8").replace("per_page: 50", "per_page: 2"), "utf-8")


def change_template(content: Path) -> None:
    override = content.parent / "templates"
    override.mkdir(exist_ok=True)
    base = (ROOT / "templates" / "404.html").read_text(encoding="utf-8")
    (override / "404.html").write_text(base.replace("</h1>", " (custom)</h1>"), "utf-8")


def touch_only(content: Path) -> None:
    p = content / "issues" / "2023-01.md"
    st = p.stat()
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


CHANGES: dict[str, Callable[[Path], None]] = {
    "edit": edit_issue,
    "add": add_issue,
    "rename": rename_issue,
    "delete": delete_issue,
    "config": change_config,
    "template": change_template,
    "touch": touch_only,
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_cached_build_equals_cold_build(tmp_path: Path, change: str) -> None:
    content = make_site(tmp_path / "warm")
    out = tmp_path / "warm" / "_site"
    build(content, out)  # fills the cache
    build(content, out)  # nothing changed: the fast path
    CHANGES[change](content)
    warm = build(content, out)
    assert not warm.unchanged
    # The same change applied to a fresh copy, built from scratch without any cache.
    cold_content = make_site(tmp_path / "cold")
    CHANGES[change](cold_content)
    cold_out = tmp_path / "cold" / "_site"
    build(cold_content, cold_out, use_cache=False)
    assert files(out) == files(cold_out)
    assert not (tmp_path / "cold" / ".digest-cache").exists()


def test_nothing_changed_is_reported_and_keeps_the_site(tmp_path: Path) -> None:
    content = make_site(tmp_path)
    out = tmp_path / "_site"
    first = build(content, out)
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    again = build(content, out)
    assert again.unchanged and not first.unchanged
    assert (again.issues, again.links, again.files) == (first.issues, first.links, first.files)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == before


def test_a_deleted_output_is_rebuilt(tmp_path: Path) -> None:
    content, out = built_site(tmp_path)
    expected = files(out)
    shutil.rmtree(out)
    assert not build(content, out).unchanged
    assert files(out) == expected


def tamper(out: Path, how: str) -> None:
    """Change the output folder by hand, as a person or a deploy script might."""
    # The clock behind ctimes ticks coarsely: let it move past the build's end.
    time.sleep(0.05)
    page = out / "issues" / "2022-11" / "index.html"
    if how == "delete":
        page.unlink()
        (out / "feed.json").unlink()
    elif how == "edit":
        with page.open("ab") as f:
            f.write(b"<!-- edited by hand -->")
    elif how == "replace":
        # Same size, other bytes, a new inode put in place by rename.
        other = out / "replacement"
        other.write_bytes(b"x" * page.stat().st_size)
        other.replace(page)
    elif how == "symlink":
        # The same bytes, through a symlink to a copy outside the site.
        copy = out.parent / "copy.html"
        copy.write_bytes(page.read_bytes())
        page.unlink()
        page.symlink_to(copy)
    elif how == "add":
        (out / "tags" / "extra.html").write_text("not made by digest")
    else:
        shutil.rmtree(out / "tags")


@pytest.mark.parametrize("how", ["delete", "edit", "replace", "symlink", "add", "folder"])
@pytest.mark.parametrize("content_change", [False, True])
def test_output_changed_by_hand_is_made_again(
    tmp_path: Path, how: str, content_change: bool
) -> None:
    # A cached build must equal a cold one whatever happened to the output folder:
    # neither the no-change check nor page reuse may keep a file changed by hand.
    content, out = built_site(tmp_path)
    if content_change:
        edit_issue(content)
        build(content, out)  # from here a spare site is kept and brought up to date
    tamper(out, how)
    if content_change:
        add_issue(content)  # a newer issue: the tampered (oldest) issue page stays as it is
    result = build(content, out)
    assert not result.unchanged
    cold_content = make_site(tmp_path / "cold")
    if content_change:
        edit_issue(cold_content)
        add_issue(cold_content)
    build(cold_content, tmp_path / "cold" / "_site", use_cache=False)
    assert files(out) == files(tmp_path / "cold" / "_site")
    assert [p for p in out.rglob("*") if p.is_symlink()] == []
    assert build(content, out).unchanged  # and the next build trusts the site again


@pytest.mark.parametrize("added", ["tags/extra.html", "extra.html", "extra/sub/"])
def test_files_added_by_hand_stay_gone_build_after_build(tmp_path: Path, added: str) -> None:
    # The replaced site becomes the spare, which the next build brings up to date: a
    # file added by hand to the live site went with it, off the record, and came back
    # every second build.
    content, out = built_site(tmp_path)
    cold_content = make_site(tmp_path / "cold")
    time.sleep(0.05)  # past the build's end, as in `tamper`
    (out / added).parent.mkdir(parents=True, exist_ok=True)
    if not added.endswith("/"):
        (out / added).write_text("not made by digest")
    for n in range(4):
        for folder in (content, cold_content):
            with (folder / "issues" / "2023-01.md").open("a", encoding="utf-8") as f:
                f.write(f"\n추가 문장 {n}.\n")
        build(content, out)
        cold_out = tmp_path / "cold" / f"_site{n}"
        build(cold_content, cold_out, use_cache=False)
        assert files(out) == files(cold_out), n
        assert sorted(p.relative_to(out) for p in out.rglob("*") if p.is_dir()) == sorted(
            p.relative_to(cold_out) for p in cold_out.rglob("*") if p.is_dir()
        ), n


def test_removing_the_replaced_site_does_not_look_like_a_hand_edit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # When the replaced site cannot be kept as the spare (the cache on another disk),
    # it is removed, which changes the ctimes of the files it shared with the new one:
    # the next build must still find nothing changed, and reuse every page.
    import digest.site

    monkeypatch.setattr(digest.site, "_claim", lambda source, target: False)
    content, out = built_site(tmp_path)
    edit_issue(content)
    build(content, out)
    assert build(content, out).unchanged
    rendered = rendered_pages(monkeypatch)
    add_issue(content)
    build(content, out)
    assert "issues/2022-11/" not in rendered


def test_corrupt_cache_is_a_miss_not_an_error(tmp_path: Path) -> None:
    content, out = built_site(tmp_path)
    expected = files(out)
    for path in (tmp_path / ".digest-cache").iterdir():
        path.write_bytes(b"garbage")
    edit_issue(content)
    build(content, out)
    cold = tmp_path / "cold"
    build(content, cold, use_cache=False)
    assert files(out) == files(cold) != expected


def rendered_pages(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """From now on, the site path of every page rendered (in this process)."""
    from digest.render import Renderer

    rendered: list[str] = []
    page = Renderer.page

    def counting(self: Renderer, template: str, path: str, **context: object) -> bytes:
        rendered.append(path)
        return page(self, template, path, **context)

    monkeypatch.setattr(Renderer, "page", counting)
    return rendered


def test_an_edit_renders_only_the_pages_it_touches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    content, out = built_site(tmp_path)
    rendered = rendered_pages(monkeypatch)
    # Edit the newest issue: its page and the group pages listing its links re-render.
    edit_issue(content)
    build(content, out)
    assert "issues/2023-01/" in rendered
    assert "issues/2022-11/" not in rendered and "issues/2022-12/" not in rendered
    assert "tags/rlhf/" not in rendered  # no link of the edited issue is tagged rlhf
    assert "tags/llm/" in rendered  # one is
    cold = tmp_path / "cold"
    build(content, cold, use_cache=False)
    assert files(out) == files(cold)


def test_a_chain_of_changes_equals_cold_builds_each_time(tmp_path: Path) -> None:
    # From the third build on, the build before last (the spare in the cache folder)
    # is brought up to date instead of a new folder being made: check each step.
    content = make_site(tmp_path / "warm")
    out = tmp_path / "warm" / "_site"
    build(content, out)
    applied: list[str] = []
    for change in ["edit", "add", "delete", "config", "template", "edit", "touch", "rename"]:
        CHANGES[change](content)
        applied.append(change)
        before = {p: p.stat().st_mtime_ns for p in out.rglob("*.css")}
        build(content, out)
        cold_content = make_site(tmp_path / f"cold-{len(applied)}")
        for name in applied:
            CHANGES[name](cold_content)
        cold_out = tmp_path / f"cold-{len(applied)}" / "_site"
        build(cold_content, cold_out, use_cache=False)
        assert files(out) == files(cold_out), applied
        assert {p: p.stat().st_mtime_ns for p in out.rglob("*.css")} == before
    spare = tmp_path / "warm" / ".digest-cache" / "site-previous"
    assert (spare / "static" / "style.css").stat().st_ino == (
        out / "static" / "style.css"
    ).stat().st_ino


@pytest.mark.parametrize("damage", ["delete", "relinked", "marker", "folder", "symlink"])
def test_a_damaged_spare_is_only_slower(tmp_path: Path, damage: str) -> None:
    content = make_site(tmp_path / "warm")
    out = tmp_path / "warm" / "_site"
    build(content, out)
    edit_issue(content)
    build(content, out)
    spare = tmp_path / "warm" / ".digest-cache" / "site-previous"
    if damage == "delete":
        (spare / "static" / "style.css").unlink()
        (spare / "archive" / "index.html").unlink()
    elif damage == "relinked":
        # The live files keep two names, but the second is no longer the spare's
        # (a backup made with hard links, then the spare's files removed): their
        # ctime tells. The clock ticks coarsely: let it move past the build's end.
        time.sleep(0.05)
        for name in ("static/style.css", "archive/index.html"):
            os.link(out / name, tmp_path / name.replace("/", "-"))
            (spare / name).unlink()
            assert (out / name).stat().st_nlink == 2
    elif damage == "marker":
        (spare / SITE_MARKER).write_text("someone else's")
    elif damage == "folder":
        shutil.rmtree(spare)
    else:
        # A spare not as recorded is checked before use: a planted symlink must not
        # lead the build's writes out of it. (A recorded one is trusted like the
        # output folder itself: only this user's builds write either.)
        (spare / SITE_MARKER).write_text("planted")
        outside = tmp_path / "outside"
        outside.mkdir()
        shutil.rmtree(spare / "tags")
        (spare / "tags").symlink_to(outside, target_is_directory=True)
    add_issue(content)
    build(content, out)
    cold_content = make_site(tmp_path / "cold")
    edit_issue(cold_content)
    add_issue(cold_content)
    build(cold_content, tmp_path / "cold" / "_site", use_cache=False)
    assert files(out) == files(tmp_path / "cold" / "_site")
    if damage == "symlink":
        assert list((tmp_path / "outside").iterdir()) == []


def test_a_rebuild_does_not_stat_the_spares_kept_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The live files' stats (taken to keep pages) show that the spare's names are
    # still theirs; a stat of each in the spare was a tenth of a big site's rebuild.
    content, out = built_site(tmp_path)
    edit_issue(content)
    build(content, out)  # from here the spare is the one the last build recorded
    issue = content / "issues" / "2023-01.md"
    issue.write_text(issue.read_text(encoding="utf-8").replace("코멘트", "메모"), "utf-8")
    real_stat = os.stat
    staged: list[str] = []

    def spy(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        if re.search(rf"/\.{out.name}\.tmp-\d+/", os.fsdecode(path)):
            staged.append(os.fsdecode(path))  # a file in the folder being written
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", spy)
    build(content, out)
    monkeypatch.undo()
    assert staged == []
    cold_content = make_site(tmp_path / "cold")
    cold_issue = cold_content / "issues" / "2023-01.md"
    cold_issue.write_bytes(issue.read_bytes())
    build(cold_content, tmp_path / "cold" / "_site", use_cache=False)
    assert files(out) == files(tmp_path / "cold" / "_site")


def test_a_process_that_rebuilds_reuses_what_it_unpickled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `digest serve` rebuilds in one process: stores it wrote are not read again.
    import pickle

    import digest.cache

    content, out = built_site(tmp_path)
    loads: list[int] = []
    real_loads = pickle.loads

    def counting_loads(data: bytes, /, **kwargs: object) -> object:
        loads.append(len(data))
        return real_loads(data, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(digest.cache.pickle, "loads", counting_loads)
    edit_issue(content)
    build(content, out)
    # The build-state record (rewritten by every build), and at most the edited issue.
    assert len(loads) <= 2, loads
    digest.cache._MEMORY.clear()
    edit_issue(content)  # a no-op edit now; touch so the inputs differ
    touch_only(content)
    build(content, out)
    assert len(loads) >= 5  # a fresh process reads every store: state, issues, ...


def test_an_edit_that_keeps_size_and_mtime_is_still_seen(tmp_path: Path) -> None:
    # Unchanged files are known by stat (not read again); ctime catches a restored mtime.
    content, out = built_site(tmp_path)
    issue = content / "issues" / "2023-01.md"
    st = issue.stat()
    text = issue.read_text(encoding="utf-8")
    issue.write_text(text.replace("첫 코멘트", "첫 메모트"), encoding="utf-8")
    os.utime(issue, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert issue.stat().st_size == st.st_size and issue.stat().st_mtime_ns == st.st_mtime_ns
    build(content, out)
    assert "첫 메모트" in (out / "issues" / "2023-01" / "index.html").read_text(encoding="utf-8")


def test_a_template_edited_between_builds_of_one_process_is_compiled_again(
    tmp_path: Path,
) -> None:
    # Compiled templates are kept in memory between a process's builds (digest serve).
    content = make_site(tmp_path)
    out = tmp_path / "_site"
    change_template(content)
    build(content, out)
    assert "(custom)" in (out / "404.html").read_text(encoding="utf-8")
    override = content.parent / "templates" / "404.html"
    override.write_text(
        override.read_text(encoding="utf-8").replace("(custom)", "(edited)"), "utf-8"
    )
    build(content, out)
    assert "(edited)" in (out / "404.html").read_text(encoding="utf-8")


def test_an_edit_to_one_link_renders_only_the_group_pages_showing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from digest.feeds import FeedWriter

    content, out = built_site(tmp_path)
    rendered = rendered_pages(monkeypatch)
    feeds: list[str] = []
    link_rss = FeedWriter.render_link_rss

    def counting_feeds(self: FeedWriter, path: str, *args: Any) -> bytes:
        feeds.append(path)
        return link_rss(self, path, *args)

    monkeypatch.setattr(FeedWriter, "render_link_rss", counting_feeds)
    issue = content / "issues" / "2022-12.md"
    text = issue.read_text(encoding="utf-8")
    assert text.count("튜닝(= PPO)") == 1  # the RLHF link's commentary
    issue.write_text(text.replace("튜닝(= PPO)", "튜닝 (PPO)"), encoding="utf-8")
    build(content, out)
    assert "issues/2022-12/" in rendered
    assert {"tags/rlhf/", "sources/huggingface/"} <= set(rendered)
    # Other links of the same issue: their group pages stay as they were.
    assert "tags/diffusion/" not in rendered and "sources/meta/" not in rendered
    # Feeds too: the link's tag feeds are made again, other tags' feeds are kept.
    assert "tags/rlhf/feed.xml" in feeds and "tags/diffusion/feed.xml" not in feeds
    cold = tmp_path / "cold"
    build(content, cold, use_cache=False)
    assert files(out) == files(cold)


def test_a_new_process_reads_compiled_templates_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jinja2

    from digest import render

    content, out = built_site(tmp_path)
    render._COMPILED.clear()  # as in a new process
    compiled: list[str | None] = []
    real = jinja2.Environment.compile

    def counting(self: jinja2.Environment, source: Any, name: Any = None, *a: Any) -> Any:
        compiled.append(name)
        return real(self, source, name, *a)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    edit_issue(content)
    build(content, out)
    assert compiled == []
    change_template(content)  # a changed source is compiled again
    build(content, out)
    assert "404.html" in compiled


def grouped(content: Path) -> Any:
    """The digest of `content` (read afresh, no cache) and its groups from scratch."""
    from digest.config import load_config
    from digest.load import load_digest

    digest = load_digest(content, load_config(content / "site.yaml")).digest
    return digest, groups_of(digest)


def groups_of(digest: Any) -> Any:
    from digest.groups import collect_groups, entries

    return collect_groups(entries(digest))


def edited_only(before: Any, fresh: Any) -> Any:
    """`fresh`, but with `before`'s issue objects except 2023-01 (as `digest serve` keeps them)."""
    from digest.model import Digest

    return Digest(
        tuple(
            new if new.path.endswith("2023-01.md") else old
            for old, new in zip(before.issues, fresh.issues, strict=True)
        )
    )


def test_regroup_after_an_edit_equals_grouping_afresh(tmp_path: Path) -> None:
    from digest.groups import regroup

    content = make_site(tmp_path)
    before, groups = grouped(content)
    edit_issue(content)
    fresh, expected = grouped(content)
    after = edited_only(before, fresh)
    again = regroup(before, groups, after)
    assert again == expected == groups_of(after)
    # Groups without a link of the edited issue are the very same objects.
    issue = next(i for i in after.issues if i.path.endswith("2023-01.md"))
    edited = {id(link) for link in issue.links()}
    for kind, kind_groups in again.items():
        for old, new in zip(groups[kind], kind_groups, strict=True):
            shows_edit = any(id(e.link) in edited for e in new.entries)
            assert (new is old) != shows_edit, (kind, new.slug)


@pytest.mark.parametrize(
    "change",
    [
        ("새해 첫 코멘트", "새해 첫 코멘트"),  # nothing: the same issue read again
        ("tags: [llm, 새해]", "tags: [llm, 신년]"),  # another tag: other groups
        ("### NLP", "### CV"),  # another topic
    ],
)
def test_regroup_refuses_what_moves_links_between_groups(
    tmp_path: Path, change: tuple[str, str]
) -> None:
    from digest.groups import regroup

    content = make_site(tmp_path)
    before, groups = grouped(content)
    p = content / "issues" / "2023-01.md"
    p.write_text(p.read_text(encoding="utf-8").replace(*change), encoding="utf-8")
    fresh, expected = grouped(content)
    again = regroup(before, groups, edited_only(before, fresh))
    if change[0] == change[1]:
        assert again == expected  # same shape: updated, and right
    else:
        assert again is None  # grouped afresh instead


def test_regroup_gives_up_when_many_issues_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import digest.groups

    content = make_site(tmp_path)
    before, groups = grouped(content)
    fresh, expected = grouped(content)  # every issue a new object
    assert digest.groups.regroup(before, groups, fresh) == expected
    monkeypatch.setattr(digest.groups, "_REGROUP_MAX", len(fresh.issues) - 1)
    assert digest.groups.regroup(before, groups, fresh) is None


def test_page_keys_kept_between_builds_of_one_process_equal_fresh_ones(tmp_path: Path) -> None:
    # `digest serve` keeps groups and their page keys between rebuilds (regroup, and
    # PageReuse.keep_group_page): the keys it records must be those a new process makes.
    import digest.cache
    import digest.groups
    import digest.reuse
    from digest.cache import Store, cache_dir_for

    content, out = built_site(tmp_path)
    edit_issue(content)
    build(content, out)
    p = content / "issues" / "2023-01.md"
    p.write_text(p.read_text(encoding="utf-8").replace("첫 번째", "두 번째"), "utf-8")
    build(content, out)
    kept = Store(cache_dir_for(content), "build-state").get("last")["pages"]
    digest.reuse._GROUP_KEYS.clear()
    digest.groups._LAST_GROUPS.clear()
    digest.cache._MEMORY.clear()
    touch_only(content)
    build(content, out)
    fresh = Store(cache_dir_for(content), "build-state").get("last")["pages"]
    assert kept == fresh
    assert any(path.startswith("tags/") for path in fresh)
