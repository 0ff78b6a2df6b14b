"""Builds that cannot go on: each says why, where, without a traceback, the site untouched."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import pytest

from digest import load
from digest.errors import ContentErrors, OutputError
from digest.site import build

from .conftest import copy_content, run_digest


def _site(tmp_path: Path) -> tuple[Path, Path, dict[str, bytes]]:
    """The sample content, built once: content folder, output folder, its files."""
    content = copy_content(tmp_path / "content")
    out = tmp_path / "_site"
    build(content, out)
    return content, out, _files(out)


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("{{ 1/0 }}", "template error: ZeroDivisionError: division by zero"),
        ('{{ issue.title|int + "x" }}', "template error: TypeError: unsupported operand"),
    ],
)
def test_a_template_failing_outside_jinja_is_located(
    tmp_path: Path, expression: str, message: str
) -> None:
    # Only Jinja's own errors were reported; any other stopped the build with a traceback.
    content, out, before = _site(tmp_path)
    templates = tmp_path / "templates"
    templates.mkdir()
    shipped = (Path(__file__).parents[1] / "templates" / "issue.html").read_text("utf-8")
    lines = shipped.split("\n")
    at = next(n for n, line in enumerate(lines) if '<article class="issue">' in line)
    lines[at] += expression
    (templates / "issue.html").write_text("\n".join(lines), "utf-8")
    result = run_digest("build", "--content", str(content), "--out", str(out))
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"{templates / 'issue.html'}:{at + 1}:1: error: {message}" in result.stderr
    assert _files(out) == before


def test_a_template_that_is_not_utf8_is_located_by_check_and_build(tmp_path: Path) -> None:
    content, out, before = _site(tmp_path)
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "issue.html").write_bytes(b"\xff\xfe{{ x }}")
    expected = f"{templates / 'issue.html'}:1:1: error: template is not valid UTF-8 (byte 0xff)"
    for command in ("build", "check"):
        args = ["--out", str(out)] if command == "build" else []
        result = run_digest(command, "--content", str(content), *args)
        assert result.returncode == 1, (command, result.stderr)
        assert expected in result.stderr and "Traceback" not in result.stderr, command
    assert _files(out) == before


def test_check_finds_what_build_would_refuse(tmp_path: Path) -> None:
    # `digest check` passed where `digest build` failed: a template that does not
    # compile, an image that is a symlink out of the content folder.
    content = copy_content(tmp_path / "content")
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "archive.html").write_text("{% if %}\n", "utf-8")
    (content / "images").mkdir(exist_ok=True)
    (content / "images" / "secret.png").symlink_to("/etc/passwd")
    check = run_digest("check", "--content", str(content))
    built = run_digest("build", "--content", str(content), "--out", str(tmp_path / "out"))
    assert check.returncode == 1 and built.returncode == 1
    assert f"{templates / 'archive.html'}:1:1: error: template error:" in check.stderr
    assert "secret.png:1:1: error:" in check.stderr
    assert "Traceback" not in check.stderr + built.stderr


def test_a_broken_site_yaml_does_not_hide_the_issues_errors(tmp_path: Path) -> None:
    content = copy_content(tmp_path / "content")
    site_yaml = content / "site.yaml"
    site_yaml.write_text(site_yaml.read_text("utf-8") + "titel: x\n", "utf-8")
    issue = content / "issues" / "2022-12.md"
    issue.write_text(issue.read_text("utf-8").replace("date: 2022-12-29", "date: 2022-13-29"))
    for args in (["check"], ["build", "--out", str(tmp_path / "out")]):
        result = run_digest(*args, "--content", str(content))
        command = args[0]
        assert result.returncode == 1, result.stderr
        assert "unknown key 'titel'" in result.stderr, command
        assert "issues/2022-12.md:3:" in result.stderr, (command, result.stderr)


def test_a_folder_without_issues_is_not_built_over_the_site(tmp_path: Path) -> None:
    # `--content .` in the wrong folder, or issues/ moved away: an empty site would
    # have replaced the published one.
    content, out, before = _site(tmp_path)
    shutil.move(content / "issues", tmp_path / "elsewhere")
    with pytest.raises(ContentErrors) as caught:
        build(content, out)
    [problem] = caught.value.diagnostics
    assert problem.path.endswith("issues") and "no issues folder" in problem.message
    assert _files(out) == before


def test_an_unreadable_issues_folder_is_a_located_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    content, out, before = _site(tmp_path)
    real = os.scandir

    def scandir(path: object) -> object:
        if str(path).endswith("issues"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path)  # type: ignore[arg-type]

    monkeypatch.setattr(load.os, "scandir", scandir)
    with pytest.raises(ContentErrors) as caught:
        build(content, out, use_cache=False)
    monkeypatch.undo()  # the comparison below lists folders too
    [problem] = caught.value.diagnostics
    assert "cannot read the issues folder: Permission denied" in problem.message
    assert _files(out) == before


def test_an_output_folder_inside_the_images_is_refused(tmp_path: Path) -> None:
    # images/ is copied into the site as it is: each build copied the last one again.
    content = copy_content(tmp_path / "content")
    (content / "images").mkdir(exist_ok=True)
    with pytest.raises(OutputError, match=r"inside .*images"):
        build(content, content / "images" / "site")
    assert not (content / "images" / "site").exists()


def test_an_output_folder_that_cannot_be_made_is_a_usage_error(tmp_path: Path) -> None:
    content = copy_content(tmp_path / "content")
    (tmp_path / "a-file").write_text("x")
    result = run_digest("build", "--content", str(content), "--out", str(tmp_path / "a-file/x"))
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith(f"error: cannot write the site to {tmp_path / 'a-file/x'}")


def test_a_cache_folder_that_cannot_be_made_is_a_warning(tmp_path: Path) -> None:
    # A read-only checkout, say: the site is still built, from scratch each time.
    content = copy_content(tmp_path / "content")
    (tmp_path / ".digest-cache").write_text("not a folder")
    result = run_digest("build", "--content", str(content), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert ".digest-cache:1:1: warning: cannot keep the build cache here" in result.stderr
    assert (tmp_path / "out" / "index.html").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["import", "SEED", "-o", "/nonexistent/folder/x.md"], "error: No such file or directory"),
        (["import", "SEED", "-o", "TMP", "--force"], "error: Is a directory"),
        (["serve", "--port", "99999"], "is not a port number"),
    ],
)
def test_commands_pointed_at_impossible_places_say_so(
    tmp_path: Path, args: list[str], message: str
) -> None:
    from .conftest import SEED

    args = [str(SEED) if a == "SEED" else str(tmp_path) if a == "TMP" else a for a in args]
    result = run_digest(*args)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_issue_errors_do_not_hide_the_images_problems(tmp_path: Path) -> None:
    content = copy_content(tmp_path / "content")
    (content / "images").mkdir(exist_ok=True)
    (content / "images" / "secret.png").symlink_to("/etc/passwd")
    issue = content / "issues" / "2022-12.md"
    issue.write_text(issue.read_text("utf-8").replace("date: 2022-12-29", "date: 2022-13-29"))
    with pytest.raises(ContentErrors) as caught:
        build(content, tmp_path / "out")
    paths = {Path(d.path).name for d in caught.value.diagnostics}
    assert {"2022-12.md", "secret.png"} <= paths, caught.value


def test_a_duplicate_issue_slug_is_reported_even_when_the_files_have_errors(
    tmp_path: Path,
) -> None:
    # Slugs come from file names: the clash showed only once both files were clean.
    content = copy_content(tmp_path / "content")
    issue = content / "issues" / "2022-12.md"
    issue.write_text(issue.read_text("utf-8").replace("date: 2022-12-29", "date: 2022-13-29"))
    shutil.copy(issue, content / "issues" / "2022-12.markdown")
    with pytest.raises(ContentErrors) as caught:
        build(content, tmp_path / "out")
    messages = [d.message for d in caught.value.diagnostics]
    assert any("issue slug '2022-12' is already used by" in m for m in messages), messages


def test_an_unreadable_folder_of_images_is_an_error_not_a_gap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The site was built without its images, exit 0.
    import digest.site

    content, out, before = _site(tmp_path)
    (content / "images" / "sub").mkdir(parents=True)
    (content / "images" / "sub" / "a.png").write_bytes(b"\x89PNG")
    real = os.scandir

    def scandir(path: object) -> object:
        if str(path).endswith("images/sub"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path)  # type: ignore[arg-type]

    monkeypatch.setattr(digest.site.os, "scandir", scandir)
    with pytest.raises(ContentErrors) as caught:
        build(content, out)
    monkeypatch.undo()
    [problem] = caught.value.diagnostics
    assert problem.path.endswith("images/sub") and "cannot read folder" in problem.message
    assert _files(out) == before


def test_import_of_a_folder_says_it_is_a_folder(tmp_path: Path) -> None:
    result = run_digest("import", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {tmp_path} is a folder, not an issue file")
