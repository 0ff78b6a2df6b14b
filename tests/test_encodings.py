"""Odd files: empty, huge, binary, not UTF-8, BOM, CRLF, NFD Korean, hidden files, symlinks.

Each gives one clear, tested result: a build, or a content error at `path:line:col`
(exit 1), never a traceback, a hang, or a file from outside the content folder.
"""

from __future__ import annotations

import json
import os
import random
import re
import unicodedata
from pathlib import Path

import pytest

from digest.config import SiteConfig
from digest.errors import ContentErrors
from digest.load import load_digest
from digest.model import Issue, issue_to_json
from digest.parse import read_issue
from digest.search import search
from digest.site import BuildResult, build

from .conftest import ROOT, SEED, run_digest

CONFIG = SiteConfig()


def NFD(text: str) -> str:
    """`text` decomposed, as macOS tools write Korean."""
    return unicodedata.normalize("NFD", text)


NATIVE = """---
title: 2023년 1월 읽을거리
date: 2023-01-31
---
소개 글입니다.

## 연구
### NLP

---
url: https://example.org/rl
title: 강화학습 입문
source: 네이버
tags: [강화학습, llm]
---
정책 모델과 보상 모델을 함께 학습합니다.
"""


def content(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    """A content folder with the sample site.yaml and the given issue files."""
    folder = tmp_path / "content"
    (folder / "issues").mkdir(parents=True)
    (folder / "site.yaml").write_bytes((ROOT / "content" / "site.yaml").read_bytes())
    for name, data in files.items():
        path = folder / "issues" / name
        path.write_bytes(data.encode() if isinstance(data, str) else data)
    return folder


def issues_of(result: BuildResult) -> tuple[Issue, ...]:
    """The issues a build built."""
    assert result.digest is not None
    return result.digest.issues


def errors_of(folder: Path) -> list[str]:
    """The `path:line:col: severity: message` lines of a failed load."""
    with pytest.raises(ContentErrors) as info:
        load_digest(folder, CONFIG)
    return [d.format().splitlines()[0] for d in info.value.diagnostics if d.severity == "error"]


def dump(data: bytes, path: str = "x.md") -> dict[str, object]:
    """The model of one file, without its path."""
    out = issue_to_json(read_issue(path, data, CONFIG).issue)
    out.pop("path")
    return out


# -- empty, huge, binary, not UTF-8 ---------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"\n\n", b"   \r\n\t", b"\xef\xbb\xbf"], ids=repr)
def test_empty_file_is_an_error(tmp_path: Path, data: bytes) -> None:
    folder = content(tmp_path, {"2023-01.md": data})
    assert [e.endswith("1:1: error: file is empty") for e in errors_of(folder)] == [True]


def test_empty_file_through_the_cli(tmp_path: Path) -> None:
    folder = content(tmp_path, {"2023-01.md": b""})
    result = run_digest("build", "--content", str(folder), "--out", str(tmp_path / "out"))
    assert result.returncode == 1
    assert re.search(r"2023-01\.md:1:1: error: file is empty", result.stderr)
    assert "Traceback" not in result.stderr


def test_ten_megabyte_issue_builds(tmp_path: Path) -> None:
    line = "강화학습 모델과 데이터를 함께 학습합니다. The model learns from data. " * 2 + "\n"
    body = line * (10_000_000 // len(line.encode()))
    text = NATIVE + body + "마지막 줄입니다.\n"
    assert len(text.encode()) >= 10_000_000
    folder = content(tmp_path, {"2023-01.md": text})
    result = build(folder, tmp_path / "out")
    assert [len(i.all_links()) for i in issues_of(result)] == [1]
    page = (tmp_path / "out" / "issues" / "2023-01" / "index.html").read_bytes()
    assert "마지막 줄입니다.".encode() in page and len(page) > 9_000_000


def test_ten_megabyte_legacy_file_reads(tmp_path: Path) -> None:
    lines = [f"  * 설명 {i}: 모델과 데이터" for i in range(400_000)]
    text = "# 큰 호\n## Research\n* [Big (Jan 2023)](https://example.org/)\n" + "\n".join(lines)
    assert len(text.encode()) >= 10_000_000
    issue = read_issue("2023-01.md", text.encode(), CONFIG).issue
    assert issue.all_links()[0][2].commentary.count("\n") == len(lines) - 1


def test_ten_megabytes_of_binary_is_one_error(tmp_path: Path) -> None:
    noise = random.Random(7).randbytes(10_000_000)
    folder = content(tmp_path, {"2023-01.md": noise, "2023-02.md": NATIVE})
    (error,) = errors_of(folder)
    assert re.search(r"2023-01\.md:\d+:\d+: error: file is not valid UTF-8 \(byte 0x", error)


@pytest.mark.parametrize(
    ("data", "where", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "1:1", "not valid UTF-8 (byte 0x89)"),
        (b"---\ndate: 2023-01-01\n---\n\x00\x00", "4:1", "NUL bytes"),
        ("# 제목\n## Research\n".encode("cp949"), "1:3", "not valid UTF-8 (byte 0xc1)"),
        ("# Title\n\ncafé\n".encode("latin-1"), "3:4", "not valid UTF-8 (byte 0xe9)"),
        ("# 제목\n".encode("utf-16"), "1:1", "not valid UTF-8 (byte 0xff)"),
        ("# 제목\n".encode("euc-kr"), "1:3", "not valid UTF-8"),
    ],
    ids=["png", "nul", "cp949", "latin-1", "utf-16", "euc-kr"],
)
def test_binary_and_non_utf8_files_are_located_errors(
    tmp_path: Path, data: bytes, where: str, message: str
) -> None:
    folder = content(tmp_path, {"2023-01.md": data})
    (error,) = errors_of(folder)
    assert f"2023-01.md:{where}: error: file" in error and message in error


# -- BOM, line ends, Unicode normalisation --------------------------------------------------


@pytest.mark.parametrize("name", ["native", "legacy"])
def test_bom_and_line_ends_do_not_change_the_model(name: str) -> None:
    text = NATIVE if name == "native" else SEED.read_text(encoding="utf-8")
    path = "2022-12.md"
    expected = dump(text.encode(), path)
    variants = {
        "bom": b"\xef\xbb\xbf" + text.encode(),
        "crlf": text.replace("\n", "\r\n").encode(),
        "cr": text.replace("\n", "\r").encode(),
        "bom+crlf": b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode(),
        "nfd": NFD(text).encode(),
    }
    for variant, data in variants.items():
        assert dump(data, path) == expected, variant


def test_crlf_errors_point_at_the_right_line() -> None:
    data = (
        b"---\r\ndate: 2023-01-01\r\n---\r\n"
        b"## Research\r\n---\r\nurl: ftp://x\r\ntitle: t\r\n---\r\n"
    )
    with pytest.raises(ContentErrors) as info:
        read_issue("x.md", data, CONFIG)
    (diag,) = info.value.diagnostics
    assert (diag.line, diag.col) == (6, 6) and "\r" not in diag.source_line


def test_nfd_and_nfc_korean_are_one_tag_source_section_and_search_term(tmp_path: Path) -> None:
    second = NATIVE.replace("2023-01-31", "2023-02-28").replace("example.org/rl", "example.org/2")
    folder = content(tmp_path, {"2023-01.md": NATIVE, "2023-02.md": NFD(second)})
    out = tmp_path / "out"
    result = build(folder, out)
    # Headings in NFD still match the taxonomy (`연구` is an alias of Research).
    assert [s.name for i in issues_of(result) for s in i.sections] == ["Research", "Research"]
    tag_pages = sorted(p.name for p in (out / "tags").iterdir() if p.is_dir())
    assert tag_pages == ["llm", "강화학습"]
    assert sorted(p.name for p in (out / "sources").iterdir() if p.is_dir()) == ["네이버"]
    tag_page = (out / "tags" / "강화학습" / "index.html").read_text(encoding="utf-8")
    assert "example.org/rl" in tag_page and "example.org/2" in tag_page
    for path in out.rglob("*"):
        assert unicodedata.is_normalized("NFC", path.name), path
        if path.suffix in (".html", ".xml", ".json"):
            assert unicodedata.is_normalized("NFC", path.read_text(encoding="utf-8")), path
    index = {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in (out / "search").rglob("*")
        if p.is_file()
    }
    for query in ("강화학습", NFD("강화학습"), "모델과", NFD("네이버")):
        assert len(search(index, query)) == 2, query


def test_nfd_file_name_gives_an_nfc_url(tmp_path: Path) -> None:
    folder = content(tmp_path, {NFD("2023-01-강화학습.md"): NATIVE})
    (folder / "images").mkdir()
    (folder / "images" / NFD("그림.png")).write_bytes(b"\x89PNG")
    (folder / "issues" / NFD("2023-01-강화학습.md")).write_text(
        NATIVE + "\n![그림](./images/그림.png)\n", encoding="utf-8"
    )
    out = tmp_path / "out"
    result = build(folder, out)
    assert [i.slug for i in issues_of(result)] == ["2023-01-강화학습"]
    assert (out / "issues" / "2023-01-강화학습" / "index.html").is_file()
    assert (out / "images" / "그림.png").read_bytes() == b"\x89PNG"


def test_same_file_name_in_nfd_and_nfc_is_a_duplicate(tmp_path: Path) -> None:
    folder = content(tmp_path, {"강화학습.md": NATIVE, NFD("강화학습.md"): NATIVE})
    assert len(list((folder / "issues").iterdir())) == 2  # Linux keeps both names
    errors = errors_of(folder)
    assert len(errors) == 1 and "issue slug '강화학습' is already used" in errors[0]


def test_nfd_and_nfc_ids_are_one_id() -> None:
    text = "\n".join(
        [
            "---",
            "date: 2023-01-01",
            "---",
            "## Research",
            "---",
            "url: https://example.org/1",
            "title: a",
            "id: 강화학습",
            "---",
            "---",
            "url: https://example.org/2",
            "title: b",
            f"id: {NFD('강화학습')}",
            "---",
            "",
        ]
    )
    with pytest.raises(ContentErrors) as info:
        read_issue("x.md", text.encode(), CONFIG)
    assert [d.message for d in info.value.diagnostics if d.severity == "error"] == [
        "duplicate link id '강화학습' (first used on line 5)"
    ]
    # Titles that differ only in normalisation get distinct but NFC ids.
    same = text.replace("id: 강화학습\n", "").replace(f"id: {NFD('강화학습')}\n", "")
    same = same.replace("title: a", "title: 강화학습").replace("title: b", NFD("title: 강화학습"))
    links = [link.id for _, _, link in read_issue("x.md", same.encode(), CONFIG).issue.all_links()]
    assert links == ["강화학습", "강화학습-2"]


# -- hidden files and symlinks ----------------------------------------------------------------


def test_hidden_files_are_not_issues(tmp_path: Path) -> None:
    folder = content(
        tmp_path,
        {"2023-01.md": NATIVE, "._2023-01.md": b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X"},
    )
    os.symlink("user@host.1234", folder / "issues" / ".#2023-01.md")  # an Emacs lock file
    result = build(folder, tmp_path / "out")
    assert [i.slug for i in issues_of(result)] == ["2023-01"]


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A file outside the content folder that must never be published."""
    path = tmp_path / "secret.txt"
    path.write_text("SECRET-TOKEN-4711\n")
    return path


def test_symlinked_issue_inside_content_is_read(tmp_path: Path) -> None:
    folder = content(tmp_path, {"2023-01.md": NATIVE})
    (folder / "drafts").mkdir()
    (folder / "drafts" / "next.md").write_text(NATIVE.replace("2023-01-31", "2023-02-28"))
    os.symlink("../drafts/next.md", folder / "issues" / "2023-02.md")
    result = build(folder, tmp_path / "out")
    assert [i.slug for i in issues_of(result)] == ["2023-02", "2023-01"]


@pytest.mark.parametrize("kind", ["outside", "broken", "loop", "self"])
def test_bad_issue_symlinks_are_errors(tmp_path: Path, secret: Path, kind: str) -> None:
    folder = content(tmp_path, {"2023-01.md": NATIVE})
    link = folder / "issues" / "2023-02.md"
    if kind == "outside":
        os.symlink(secret, link)
    elif kind == "broken":
        os.symlink("missing.md", link)
    elif kind == "loop":
        os.symlink("2023-03.md", link)
        os.symlink("2023-02.md", folder / "issues" / "2023-03.md")
    else:
        os.symlink("2023-02.md", link)
    out = tmp_path / "out"
    result = run_digest("build", "--content", str(folder), "--out", str(out))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and "SECRET-TOKEN" not in result.stderr
    expected = {
        "outside": "symlink to a file outside the content folder",
        "broken": "broken symlink (to missing.md)",
        "loop": "symlink loop",
        "self": "symlink loop",
    }[kind]
    assert re.search(
        rf"2023-02\.md:1:1: error: cannot read file: {re.escape(expected)}", result.stderr
    )
    assert not out.exists()


def test_image_symlinks(tmp_path: Path, secret: Path) -> None:
    folder = content(tmp_path, {"2023-01.md": NATIVE})
    images = folder / "images"
    (images / "sub").mkdir(parents=True)
    (images / "a.png").write_bytes(b"png")
    os.symlink("a.png", images / "alias.png")  # inside: copied
    out = tmp_path / "out"
    build(folder, out)
    assert (out / "images" / "alias.png").read_bytes() == b"png"
    assert not (out / "images" / "alias.png").is_symlink()

    cases: dict[str, tuple[str | Path, str]] = {
        "outside.png": (secret, "symlink to a file outside the content folder"),
        "broken.png": ("nothing.png", "broken symlink"),
        "loop": (".", "symlink to a folder"),
        "sub/up": ("../..", "symlink to a folder"),
        "self.png": ("self.png", "symlink loop"),
    }
    for name, (target, _) in cases.items():
        os.symlink(target, images / name)
    before = sorted(p.relative_to(out).as_posix() for p in out.rglob("*"))
    result = run_digest("build", "--content", str(folder), "--out", str(out))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and "SECRET-TOKEN" not in result.stderr
    for name, (_, message) in cases.items():
        assert re.search(rf"images/{re.escape(name)}:1:1: error: {message}", result.stderr), name
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == before
    assert not any("SECRET-TOKEN" in p.read_text(errors="replace") for p in out.rglob("*.*"))


def test_symlink_loops_in_content_folders_do_not_hang(tmp_path: Path) -> None:
    folder = content(tmp_path, {"2023-01.md": NATIVE})
    os.symlink(".", folder / "issues" / "again")  # a folder loop without an .md name
    os.symlink("..", folder / "issues" / "up.md")  # a folder with an .md name
    result = run_digest("check", "--content", str(folder))  # run_digest times out at 120 s
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert re.search(r"up\.md:1:1: error: cannot read file: symlink to a folder", result.stderr)


def test_dump_json_of_odd_files_is_valid(tmp_path: Path) -> None:
    folder = content(tmp_path, {"2023-01.md": b"\xef\xbb\xbf" + NFD(NATIVE).encode()})
    result = run_digest("dump", str(folder))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["issues"][0]["sections"][0]["name"] == "Research"


def test_nfd_site_yaml_matches_nfc_headings(tmp_path: Path) -> None:
    folder = content(tmp_path, {"2023-01.md": NATIVE})
    site_yaml = folder / "site.yaml"
    site_yaml.write_text(NFD(site_yaml.read_text(encoding="utf-8")), encoding="utf-8")
    result = build(folder, tmp_path / "out")
    assert [s.name for i in issues_of(result) for s in i.sections] == ["Research"]
    assert not result.warnings
    assert (tmp_path / "out" / "index.html").read_text(encoding="utf-8").count("ML 읽을거리") >= 1
