"""No traceback, ever, for content: Hypothesis builds whole random content folders.

Random issue files (native and legacy fragments, hostile payloads, garbage, binary, BOM,
CRLF, NFD) with random file names and a random `site.yaml` go through `digest.site.build`
(and a few through the `digest` command): the result is a site, or ContentErrors whose
every diagnostic is `path:line:col: severity: message`; any other exception is a bug.

CI runs HYPOTHESIS_EXAMPLES-scaled example counts (2,000+ in all by default); for a long
run see SECURITY.md.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import tempfile
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digest.config import SiteConfig
from digest.errors import ContentErrors, Diagnostic
from digest.load import load_digest
from digest.parse import read_issue
from digest.site import BuildResult, build

from .conftest import ROOT
from .payloads import BAD_URLS, HOSTILE_HTTP_URLS, PAYLOADS

SCALE = float(os.environ.get("HYPOTHESIS_EXAMPLES", "1"))
"""Multiplies every example count: HYPOTHESIS_EXAMPLES=50 is a long run."""


def examples(n: int) -> settings:
    """Settings for a fuzz test with `n` examples at scale 1."""
    return settings(
        max_examples=max(1, int(n * SCALE)),
        deadline=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.function_scoped_fixture,
        ],
    )


DIAGNOSTIC_LINE = re.compile(r"^(?P<path>.+):(?P<line>\d+):(?P<col>\d+): (error|warning): \S.*$")

SAMPLE_SITE_YAML = (ROOT / "content" / "site.yaml").read_text(encoding="utf-8")

NATIVE_LINES = [
    "---",
    "date: 2023-01-01",
    "date: 2023-13-45",
    'date: "2023-02-30"',
    "date: 2023-01-01T10:00:00+09:00",
    "date: 99999-01-01",
    "date:",
    "title: 2023년 1월",
    "title:",
    "title: [a, b]",
    "summary: 요약",
    "summary: {a: 1}",
    "draft: true",
    'draft: "true"',
    "draft: 1",
    "## Research",
    "## 연구",
    "## 1. Research",
    "##",
    "## ",
    "### NLP",
    "### 3.2 CV",
    "###",
    "#### deeper",
    "# Title",
    "url: https://example.org/a",
    "url: http://example.org/b?x=1#y",
    "url:",
    "url: [1, 2]",
    "title: *Em* title",
    "title: '[link](javascript:x)'",
    "published: 2022-12",
    "published: 2022-12-31",
    "published: 2022-13",
    "published: 12",
    "source: Google",
    "source: 네이버",
    "source:",
    "tags: [a, 강화학습, LLM]",
    "tags: a",
    "tags: [[]]",
    "tags: [a, '']",
    "tags: [a, a]",
    "id: my-id",
    "id: Bad Id",
    "id: 강화학습",
    "unknown: x",
    "titel: typo",
    "  indented: yaml",
    "key: [unclosed",
    'key: "unclosed',
    "- a list item",
    "```",
    "~~~",
    "***",
    ": colon",
    "&anchor x",
    "*alias",
    "!!python/object/apply:os.system ['true']",
    "!!binary x",
    "? complex key",
    "<<: *merge",
    "{a: b}",
    "a: b: c",
    "\t tab: indent",
]

LEGACY_LINES = [
    "# 2023년 1월 ML 읽을거리",
    "#",
    "* NOTE: 소개",
    "* [Title (Dec 2022, Google)](https://example.org/x)",
    "* [Title (december 2022)](https://example.org/y) : 코멘트",
    "* [*Em* (Earlier) title (Jan 2023, Org))](https://example.org/z)",
    "* [Title](https://example.org/same)",
    "** [Doubled](https://example.org/d)",
    "- [Dash](https://example.org/e)",
    "+ [Plus](https://example.org/f)",
    "  * nested commentary",
    "    * deeper [link](https://example.org/n)",
    " * [indented link](https://example.org/i)",
    "* [Broken](",
    "* [No url]",
    "* [Split text",
    "](https://example.org/split)",
    "(https://example.org/next-line)",
    "* [Bad scheme (Jan 2023)](javascript:x)",
    "* [Bad scheme](<vbscript:x>)",
    "* [Unclosed (Jan 2023)](https://example.org/u",
    "![image](./images/a.png)",
    "![image](javascript:x)",
    "[bare](https://example.org/bare)",
    "* []()",
    "* [](https://example.org/empty)",
    "* [(Jan 2023)](https://example.org/only-date)",
]

ODD_TEXT = [
    "",
    " ",
    "\t",
    "\ufeff",
    "\u2028",
    "\x85",
    "\x0b",
    "\x1f",
    "\r",
    "\r\n",
    "가",
    "\u1100\u1161",  # 가 in NFD
    "\U0001f600",
    "\u202e",
    "\\",
    "<",
    "&amp;",
    "{{",
    "{%",
    "%}",
    "[",
    "]",
    "(",
    ")",
    "`",
    "|a|b|\n|-|-|",
    "> quote",
    "    code",
    "1. item",
    "<!--",
    "-->",
]

FRAGMENTS = NATIVE_LINES + LEGACY_LINES + ODD_TEXT + [p.text for p in PAYLOADS] + list(BAD_URLS)


def lines_of(fragments: list[str]) -> st.SearchStrategy[str]:
    """Text made of lines, each a few fragments or short random text glued together."""
    piece = st.one_of(st.sampled_from(fragments), st.text(max_size=4))
    line = st.lists(piece, max_size=3).map("".join)
    return st.lists(line, max_size=16).map("\n".join)


def _native_skeleton(body: str, extra: str) -> str:
    return (
        f"---\ndate: 2023-01-01\n{extra}\n---\n## Research\n---\n"
        f"url: https://example.org/\ntitle: t\n---\n{body}"
    )


# -- valid issues, so most builds get as far as rendering ------------------------------------

# One-line text without line breaks (which would end a heading or a YAML value).
LINE_TEXT = st.one_of(
    st.text(
        st.characters(
            blacklist_categories=("Cs", "Cc", "Cn", "Co", "Zl", "Zp"), blacklist_characters="\x85"
        ),
        min_size=1,
        max_size=16,
    ),
    st.sampled_from([p.text for p in PAYLOADS if p.inline]),
    st.sampled_from(["강화학습", "모델과 데이터", "LLM", "RecSys, etc.", "CV", "연구", "NLP"]),
).filter(lambda t: t.strip() != "")
WORDS = st.text(
    st.characters(whitelist_categories=("Lu", "Ll", "Lo", "Nd"), whitelist_characters=" -.,'&"),
    min_size=1,
    max_size=12,
).filter(lambda t: t.strip() != "")
URLS = st.one_of(
    st.sampled_from([*list(HOSTILE_HTTP_URLS), "https://example.org/", "http://x.org/a?b=c"]),
    st.text(st.characters(whitelist_categories=("Ll", "Nd", "Lo")), max_size=8).map(
        lambda t: "https://example.org/" + t
    ),
)
# Markdown that cannot change the structure: no delimiter, no bare heading, no CR or NUL.
COMMENTARY_LINES = [
    f
    for f in FRAGMENTS
    if f.strip() != "---" and not re.fullmatch(r"#+\s*", f) and not re.search("[\r\x00]", f)
]
SAFE_TEXT = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\x00"))


def commentary() -> st.SearchStrategy[str]:
    """Commentary lines (Markdown, payloads, odd text) that leave the structure alone."""
    piece = st.one_of(st.sampled_from(COMMENTARY_LINES), SAFE_TEXT.filter(lambda t: len(t) < 5))
    line = st.lists(piece, max_size=4).map("".join).map(lambda t: "***" if t == "---" else t)
    return st.lists(line, max_size=8).map("\n".join)


MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


_NOT_YAML_PRINTABLE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)


def yaml_quote(text: str) -> str:
    """A YAML double-quoted scalar that keeps the text readable (escapes what YAML refuses)."""
    quoted = json.dumps(text, ensure_ascii=False)
    return _NOT_YAML_PRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)


@st.composite
def valid_native(draw: st.DrawFn) -> str:
    """A native issue that should build (hostile but valid values, random structure)."""
    date = draw(st.dates(dt.date(2000, 1, 1), dt.date(2030, 12, 31)))
    out = ["---", f"date: {date.isoformat()}"]
    if draw(st.booleans()):
        out.append(f"title: {yaml_quote(draw(LINE_TEXT))}")
    if draw(st.booleans()):
        out.append(f"summary: {yaml_quote(draw(LINE_TEXT))}")
    if draw(st.booleans()):
        out.append(f"draft: {draw(st.sampled_from(['true', 'false']))}")
    out += ["---", draw(commentary().map(_not_a_bullet))]
    for _ in range(draw(st.integers(1, 2))):
        out += [f"## {draw(LINE_TEXT)}", draw(st.sampled_from(["", "section note"]))]
        for depth in range(draw(st.integers(0, 1)) + 1):
            if depth:
                out.append(f"### {draw(LINE_TEXT)}")
            for _ in range(draw(st.integers(0, 2))):
                out += ["---", f"url: {yaml_quote(draw(URLS))}"]
                out.append(f"title: {yaml_quote(draw(LINE_TEXT))}")
                if draw(st.booleans()):
                    month = draw(st.dates(dt.date(1990, 1, 1), dt.date(2030, 12, 31)))
                    out.append(f"published: {month.isoformat()[: draw(st.sampled_from([7, 10]))]}")
                if draw(st.booleans()):
                    out.append(f"source: {yaml_quote(draw(LINE_TEXT))}")
                if draw(st.booleans()):
                    tags = draw(st.lists(LINE_TEXT, max_size=2))
                    out.append("tags: [" + ", ".join(map(yaml_quote, tags)) + "]")
                out += ["---", draw(commentary())]
    return "\n".join(out) + "\n"


@st.composite
def valid_legacy(draw: st.DrawFn) -> str:
    """A legacy issue (`# title`, bullets with `(Mon YYYY, Org)`) that should build."""
    out = [f"# {draw(LINE_TEXT)}", draw(commentary().map(_not_a_bullet))]
    for _ in range(draw(st.integers(1, 2))):
        out.append(f"## {draw(LINE_TEXT)}")
        for depth in range(draw(st.integers(0, 1)) + 1):
            if depth:
                out.append(f"### {draw(LINE_TEXT)}")
            for _ in range(draw(st.integers(0, 2))):
                month = f"{draw(st.sampled_from(MONTHS))} {draw(st.integers(1990, 2030))}"
                source = f", {draw(WORDS)}" if draw(st.booleans()) else ""
                url = draw(URLS).replace(" ", "%20").replace("(", "%28").replace(")", "%29")
                out.append(f"* [{draw(WORDS)} ({month}{source})]({url}) : {draw(WORDS)}")
                out += [f"  * {draw(LINE_TEXT)}", f"    * {draw(LINE_TEXT)}"]
    return "\n".join(out) + "\n"


def _not_a_bullet(text: str) -> str:
    return "\n".join(re.sub(r"^([*+-]|#)", r"\\\1", line) for line in text.split("\n"))


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[str]) -> str:
    """A valid issue with a few random fragments inserted, deleted or replaced."""
    lines = draw(base).split("\n")
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(lines)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        fragment = draw(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=6)))
        if action == "insert" or at == len(lines):
            lines.insert(at, fragment)
        elif action == "delete":
            del lines[at]
        else:
            lines[at] = fragment
    return "\n".join(lines)


ISSUE_TEXT = st.one_of(
    valid_native(),
    valid_native(),
    valid_legacy(),
    valid_legacy(),
    mutated(valid_native()),
    mutated(valid_legacy()),
    lines_of(FRAGMENTS).map(lambda t: "---\n" + t),  # native-looking garbage
    lines_of(FRAGMENTS),  # legacy-looking garbage (or nothing at all)
    st.builds(_native_skeleton, lines_of(FRAGMENTS), st.sampled_from(NATIVE_LINES)),
    st.text(max_size=200),
)


def _encode(text: str, variant: str) -> bytes:
    if variant == "crlf":
        text = text.replace("\n", "\r\n")
    elif variant == "nfd":
        text = unicodedata.normalize("NFD", text)
    data = text.encode("utf-8", "surrogatepass")
    return b"\xef\xbb\xbf" + data if variant == "bom" else data


ISSUE_BYTES = st.one_of(
    st.builds(_encode, ISSUE_TEXT, st.sampled_from(["plain", "plain", "bom", "crlf", "nfd"])),
    st.binary(max_size=120),
)

DATED_NAMES = st.builds(
    lambda d, day, prefix: f"{prefix}{d.isoformat()[: 10 if day else 7]}.md",
    st.dates(dt.date(2000, 1, 1), dt.date(2030, 12, 31)),
    st.booleans(),
    st.sampled_from(["", "digest-", "issue "]),
)
FILE_NAMES = st.one_of(
    DATED_NAMES,
    DATED_NAMES,
    st.sampled_from(
        [
            "x.md",
            "강화학습.md",
            unicodedata.normalize("NFD", "강화학습.md"),
            "2023-01.markdown",
            ".hidden.md",
            "notes.txt",
            "a b.md",
            "a?b#c.md",
            "a\nb.md",
            "tab\there.md",
            "%2e%2e.md",
            "...md",
            "-.md",
        ]
    ),
    st.text(
        st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/"),
        min_size=1,
        max_size=12,
    ).map(lambda s: s + ".md"),
)


def _yaml_value() -> st.SearchStrategy[Any]:
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-3, max_value=10**6),
        st.sampled_from(["ko", "en", "xx", "", "https://example.org/x/", "javascript:x", "../x"]),
        st.sampled_from([p.text for p in PAYLOADS if p.inline]),
        st.text(max_size=10),
    )
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
        ),
        max_leaves=8,
    )


TERM = st.fixed_dictionaries(
    {"name": st.one_of(st.text(max_size=8), st.sampled_from(["Research", "NLP", "연구"]))},
    optional={
        "slug": st.one_of(st.sampled_from(["ok", "", "../x", "a/b", "a?b", ".", "-"]), st.text()),
        "aliases": st.one_of(st.lists(st.text(max_size=8), max_size=3), st.text(max_size=5)),
        "colour": st.just("extra key"),
    },
)

SITE_DICT = st.fixed_dictionaries(
    {},
    optional={
        "title": _yaml_value(),
        "base_url": st.one_of(
            st.sampled_from(
                ["https://example.org/", "http://x.org/a/b", "ftp://x", "https://", "/rel/"]
            ),
            _yaml_value(),
        ),
        "language": st.one_of(st.sampled_from(["ko", "en", "en-US", "ja", ""]), _yaml_value()),
        "author": _yaml_value(),
        "description": _yaml_value(),
        "title_pattern": st.sampled_from(
            ["{year}년 {month}월", "{nope}", "{0}", "{year:%Y}", "{", "}", "plain", "{month!r}"]
        ),
        "per_page": st.one_of(st.integers(min_value=-2, max_value=5), _yaml_value()),
        "recent_issues": st.one_of(st.integers(min_value=-2, max_value=5), _yaml_value()),
        "feeds": st.one_of(
            st.dictionaries(
                st.sampled_from(["issues", "links", "topic", "tag", "bogus"]),
                st.integers(min_value=-1, max_value=3),
                max_size=4,
            ),
            _yaml_value(),
        ),
        "taxonomy": st.one_of(
            st.fixed_dictionaries(
                {},
                optional={
                    "sections": st.lists(st.one_of(TERM, st.text(max_size=6)), max_size=3),
                    "subtopics": st.lists(st.one_of(TERM, st.text(max_size=6)), max_size=3),
                    "other": st.just([]),
                },
            ),
            _yaml_value(),
        ),
        "unknown_key": _yaml_value(),
    },
)

SITE_YAML = st.one_of(
    st.none(),
    st.just(SAMPLE_SITE_YAML.encode()),
    SITE_DICT.map(lambda d: yaml.safe_dump(d, allow_unicode=True).encode()),
    lines_of(["title: x", "taxonomy:", "  sections:", "    - name: A", "feeds:", "  tag: 2"]).map(
        str.encode
    ),
    st.binary(max_size=40),
)

CONTENT = st.tuples(
    SITE_YAML,
    st.dictionaries(FILE_NAMES, ISSUE_BYTES, max_size=3),
    st.booleans(),  # drafts
)


def write_content(folder: Path, site_yaml: bytes | None, files: dict[str, bytes]) -> Path:
    """Lay a generated content folder out on disk."""
    (folder / "issues").mkdir(parents=True)
    (folder / "images").mkdir()
    (folder / "images" / "a.png").write_bytes(b"\x89PNG")
    if site_yaml is not None:
        (folder / "site.yaml").write_bytes(site_yaml)
    for name, data in files.items():
        (folder / "issues" / name).write_bytes(data)
    return folder


def assert_well_formed(diagnostics: list[Diagnostic] | tuple[Diagnostic, ...]) -> None:
    """Every diagnostic reads `path:line:col: severity: message` with a sane position."""
    for d in diagnostics:
        first = d.format().split("\n", 1)[0]
        assert DIAGNOSTIC_LINE.match(first), first
        assert d.line >= 1 and d.col >= 1 and d.severity in ("error", "warning"), first
        assert d.message.strip() and "Traceback" not in d.message, first


class _MemoryBytecodeCache(jinja2.BytecodeCache):
    """Compiled templates shared by every build of a test (same source, same bytecode)."""

    def __init__(self) -> None:
        self.store: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        data = self.store.get(bucket.key)
        if data is not None:
            bucket.bytecode_from_string(data)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.store[bucket.key] = bucket.bytecode_to_string()


@pytest.fixture
def fast_templates(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Thousands of builds in CI time: cache compiled templates across builds.

    Each build makes a new Jinja environment, and compiling the templates is most of a
    small build's time; the bytecode cache changes nothing else (it checks the source).
    """
    cache = _MemoryBytecodeCache()
    real = jinja2.Environment

    class CachedEnvironment(real):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("bytecode_cache", cache)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(jinja2, "Environment", CachedEnvironment)
    yield


def check_build(site_yaml: bytes | None, files: dict[str, bytes], drafts: bool) -> None:
    """The property: a site, or well-formed ContentErrors and no output folder."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_content(Path(tmp) / "content", site_yaml, files)
        out = Path(tmp) / "out"
        try:
            result = build(folder, out, drafts=drafts)
        except ContentErrors as exc:
            assert exc.diagnostics
            assert any(d.severity == "error" for d in exc.diagnostics)
            assert_well_formed(exc.diagnostics)
            assert not out.exists()
        else:
            assert isinstance(result, BuildResult)
            assert_well_formed(result.warnings)
            assert (out / "index.html").is_file() and (out / "404.html").is_file()


@examples(500)
@given(CONTENT)
def test_whole_build_of_random_content(
    fast_templates: None, content: tuple[bytes | None, dict[str, bytes], bool]
) -> None:
    check_build(*content)


@examples(300)
@given(st.dictionaries(FILE_NAMES, ISSUE_BYTES.filter(bool), min_size=1, max_size=3))
def test_whole_build_with_the_sample_config(fast_templates: None, files: dict[str, bytes]) -> None:
    check_build(SAMPLE_SITE_YAML.encode(), files, drafts=True)


@examples(800)
@given(st.lists(ISSUE_BYTES, min_size=1, max_size=4))
def test_loading_many_files_reports_every_problem(files: list[bytes]) -> None:
    # Every file's problems are reported at once, each located in its own file.
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_content(
            Path(tmp) / "content", None, {f"2023-01-{i + 1:02d}.md": d for i, d in enumerate(files)}
        )
        try:
            loaded = load_digest(folder, SiteConfig(), drafts=True)
        except ContentErrors as exc:
            assert_well_formed(exc.diagnostics)
            failing = {Path(d.path).name for d in exc.diagnostics if d.severity == "error"}
            assert failing <= {f"2023-01-{i + 1:02d}.md" for i in range(len(files))}
        else:
            assert len(loaded.digest.issues) == len(files)
            assert_well_formed(loaded.warnings)


@examples(400)
@given(ISSUE_BYTES, st.one_of(DATED_NAMES, FILE_NAMES).filter(lambda n: n.isprintable()))
def test_both_readers_on_valid_mutated_and_garbage_files(data: bytes, name: str) -> None:
    try:
        parsed = read_issue(name, data, SiteConfig())
    except ContentErrors as exc:
        assert any(d.severity == "error" for d in exc.diagnostics)
        assert_well_formed(exc.diagnostics)
        lines = max(1, len(decoded(data).split("\n")))
        assert all(d.line <= lines for d in exc.diagnostics)
    else:
        assert_well_formed(parsed.warnings)
        for _, _, link in parsed.issue.all_links():
            assert link.url.lower().startswith(("http://", "https://"))


def decoded(data: bytes) -> str:
    """The text a reader sees (for counting lines)."""
    text = data.decode("utf-8", "replace").removeprefix("\ufeff")
    return text.replace("\r\n", "\n").replace("\r", "\n")


@examples(10)
@given(CONTENT)
def test_the_command_never_prints_a_traceback(
    content: tuple[bytes | None, dict[str, bytes], bool],
) -> None:
    site_yaml, files, drafts = content
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_content(Path(tmp) / "content", site_yaml, files)
        out = Path(tmp) / "out"
        args = ["build", "--content", str(folder), "--out", str(out)]
        result = subprocess.run(
            [sys.executable, "-m", "digest", *args, *(["--drafts"] if drafts else [])],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert "Traceback" not in result.stderr, result.stderr
        assert result.returncode in (0, 1), result.stderr
        if result.returncode == 1:
            lines = [line for line in result.stderr.splitlines() if ": error: " in line]
            assert lines and all(DIAGNOSTIC_LINE.match(line) for line in lines), result.stderr
            assert not out.exists()
