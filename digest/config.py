"""Site configuration (`content/site.yaml`): typed, validated, unknown keys are errors."""

from __future__ import annotations

import codecs
import difflib
import functools
import re
import string
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from digest.errors import ContentError, ContentErrors, Diagnostic, SourceText
from digest.slug import slugify
from digest.yamlmap import Loader, read_mapping

_NUMBERING = re.compile(r"^\s*(?:\d+(?:\.\d+)*\.?)\s+")


@dataclass(frozen=True, slots=True)
class Term:
    """A section or subtopic of the taxonomy."""

    name: str
    """Display name."""
    slug: str
    """URL slug."""
    aliases: tuple[str, ...] = ()
    """Other headings that mean the same (matched ignoring case and numbering)."""


@dataclass(frozen=True, slots=True)
class Taxonomy:
    """Known sections and subtopics, and how headings map to them."""

    sections: tuple[Term, ...]
    """Sections, in display order."""
    subtopics: tuple[Term, ...]
    """Subtopics, in display order; shared by all sections."""

    def match_section(self, heading: str) -> Term | None:
        """The section term a heading names, or None."""
        return _match(self.sections, heading)

    def match_subtopic(self, heading: str) -> Term | None:
        """The subtopic term a heading names, or None."""
        return _match(self.subtopics, heading)

    def suggest(self, heading: str, subtopic: bool) -> str | None:
        """The closest known name to an unknown heading, for 'did you mean'."""
        terms = self.subtopics if subtopic else self.sections
        names = {_norm(n): t.name for t in terms for n in (t.name, *t.aliases)}
        close = difflib.get_close_matches(_norm(heading), list(names), n=1, cutoff=0.6)
        return names[close[0]] if close else None


def strip_numbering(heading: str) -> str:
    """`1.1. CV` -> `CV`; `3.2 NLP` -> `NLP`; text without numbering is unchanged."""
    return _NUMBERING.sub("", heading).strip()


def _norm(text: str) -> str:
    return " ".join(strip_numbering(text).casefold().split())


def _match(terms: tuple[Term, ...], heading: str) -> Term | None:
    key = _norm(heading)
    for term in terms:
        if key == _norm(term.name) or any(key == _norm(a) for a in term.aliases):
            return term
    return None


DEFAULT_TAXONOMY = Taxonomy(
    sections=(
        Term("Research", "research", ("연구",)),
        Term(
            "Business Cases",
            "business-cases",
            ("Business Cases and Implementations", "Business", "사례"),
        ),
        Term("AWS ML", "aws-ml", ("AWS ML Only", "AWS")),
    ),
    subtopics=(
        Term("CV", "cv", ("Computer Vision", "Vision")),
        Term("NLP", "nlp", ("Natural Language Processing", "LLM")),
        Term("RecSys", "recsys", ("RecSys, etc.", "RecSys etc.", "Recommender Systems")),
        Term(
            "MLOps",
            "mlops",
            ("Training, Inference and MLOps", "Training and Inference", "MLOps, etc."),
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class FeedLimits:
    """How many items each kind of feed carries."""

    issues: int = 20
    """Issue-level feeds (RSS, Atom, JSON Feed)."""
    links: int = 100
    """`/links.xml`."""
    topic: int = 50
    """`/topics/<slug>/feed.xml`."""
    tag: int = 50
    """`/tags/<slug>/feed.xml`."""


@dataclass(frozen=True, slots=True)
class SiteConfig:
    """Everything `site.yaml` says, with defaults filled in."""

    title: str = "ML 읽을거리"
    """Site title."""
    base_url: str = "http://127.0.0.1:8000/"
    """Absolute URL the site is served from; may have a path; ends with '/'."""
    language: str = "ko"
    """Page language (`ko` or `en` labels ship)."""
    author: str = ""
    """Author or editor, for feeds and meta tags."""
    description: str = ""
    """One-line description for feeds and meta tags."""
    title_pattern: str = "{year}년 {month}월"
    """Issue title when front matter has none; fields: year, month, day."""
    per_page: int = 50
    """Links per page on section, topic, tag and source pages."""
    recent_issues: int = 12
    """Issues listed on the home page."""
    feeds: FeedLimits = field(default_factory=FeedLimits)
    """Feed item caps."""
    taxonomy: Taxonomy = field(default_factory=lambda: DEFAULT_TAXONOMY)
    """Known sections and subtopics."""

    @property
    def base_path(self) -> str:
        """The path part of `base_url`, always starting and ending with '/'."""
        rest = self.base_url.split("://", 1)[-1]
        path = "/" + rest.split("/", 1)[1] if "/" in rest else "/"
        return path if path.endswith("/") else path + "/"


_TOP_KEYS: dict[str, tuple[type, str]] = {
    "title": (str, "ML 읽을거리"),
    "base_url": (str, "https://example.org/ml/"),
    "language": (str, "ko"),
    "author": (str, "ML 읽을거리 편집팀"),
    "description": (str, "매달 고른 머신러닝 읽을거리"),
    "title_pattern": (str, '"{year}년 {month}월"'),
    "per_page": (int, "50"),
    "recent_issues": (int, "12"),
    "feeds": (dict, "{issues: 20, links: 100, topic: 50, tag: 50}"),
    "taxonomy": (dict, "{sections: [Research], subtopics: [CV, NLP]}"),
}
"""Each top-level key: its type, and a value for the hint's example."""
_KIND_NAMES = {str: "text", int: "a whole number", dict: "a mapping", list: "a list"}
_FEED_KEYS = {f.name: f.default for f in fields(FeedLimits)}
_TERM_KEYS = {"name", "slug", "aliases"}
_GROUPS = {"sections": "section", "subtopics": "subtopic"}
_TERM_EXAMPLE = "- {name: CV, slug: cv, aliases: [Computer Vision]}"

_NULL_TAG = "tag:yaml.org,2002:null"
YamlPath = tuple[object, ...]
"""Keys and list indexes from the top of site.yaml down to one value."""


def _unknown_key_hint(key: str, allowed: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(allowed), n=1)
    known = ", ".join(sorted(allowed))
    return (f"did you mean '{close[0]}'? " if close else "") + f"known keys: {known}"


def _is_kind(value: object, kind: type) -> bool:
    # YAML's true and false are ints to Python: no setting means them as numbers.
    return isinstance(value, kind) and not (kind is int and isinstance(value, bool))


_BASE_URL = re.compile(
    r"https?://(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?"
    r"(?:/[^\s\x00-\x1f\x7f-\x9f\"'<>\\^`{|}?#]*)?"
)
_LANGUAGE = re.compile(r"[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*")
"""A BCP 47 language tag's shape (`ko`, `en-US`, `zh-Hant-TW`)."""
BASE_URL_RULE = "must be an http(s) URL: a host name, an optional port and path, nothing else"
"""What `is_base_url` accepts, for messages."""


def is_base_url(url: str) -> bool:
    """Whether `url` can be the site's base URL.

    It goes into every page, feed and sitemap: a host name (or IP address), a port and
    a path, without quotes, angle brackets, spaces, controls, a query or a fragment.
    """
    return _BASE_URL.fullmatch(url) is not None


_MAX_WIDTH = 99
"""Largest width or precision a `title_pattern` field may ask for."""


def _pattern_problem(pattern: str) -> str | None:
    """What is wrong with a `title_pattern`, or None.

    Only the three names, with a format spec at most: `{year.__class__}` would be
    filled in by Python's attribute lookup.
    """
    try:
        for _, name, spec, _ in string.Formatter().parse(pattern):
            if name is None:
                continue
            field = name + (f":{spec}" if spec else "")
            if name not in ("year", "month", "day") or "{" in (spec or ""):
                return f"'{{{field}}}' is not {{year}}, {{month}} or {{day}}"
            # `{year:>999999999}` would build a gigabyte for every title (or die trying).
            if any(
                len(n.lstrip("0")) > len(str(_MAX_WIDTH)) or int(n) > _MAX_WIDTH
                for n in re.findall(r"[0-9]+", spec or "")
            ):
                return f"the width or precision in '{{{field}}}' is over {_MAX_WIDTH}"
        pattern.format(year=2022, month=12, day=29)
    except (KeyError, IndexError, ValueError, OverflowError, MemoryError) as exc:
        return str(exc) or type(exc).__name__
    return None


class _Problems:
    """The problems found in one site.yaml, each at the line and column it is about."""

    def __init__(self, src: SourceText, text: str) -> None:
        self.src = src
        self.text = text
        self.found: list[Diagnostic] = []

    @functools.cached_property
    def _root(self) -> yaml.Node | None:
        # Composed only once a problem needs a nested position: read_mapping keeps just
        # the top-level ones, and has already reported any YAML error in this text.
        try:
            return yaml.compose(self.text, Loader=Loader)
        except yaml.YAMLError:
            return None

    def _walk(self, path: YamlPath) -> tuple[yaml.Node | None, yaml.Node | None]:
        """The key and value nodes at `path`, or of the deepest part of it that exists."""
        key: yaml.Node | None = None
        node = self._root
        for step in path:
            if isinstance(node, yaml.MappingNode):
                pairs = [
                    (k, v)
                    for k, v in node.value
                    if isinstance(k, yaml.ScalarNode) and k.value == str(step)
                ]
                if not pairs:
                    break
                key, node = pairs[-1]  # the last of duplicate keys wins, as in the data
            elif isinstance(node, yaml.SequenceNode) and isinstance(step, int):
                if not 0 <= step < len(node.value):
                    break
                key = node = node.value[step]
            else:
                break
        return key, node

    def add(self, path: YamlPath, message: str, hint: str, at_key: bool = False) -> None:
        """Report a problem at the value at `path` (or its key), or the nearest enclosing one."""
        key, node = self._walk(path)
        target = key if at_key and key is not None else node
        mark = target.start_mark if target is not None else None
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        self.found.append(self.src.diag(message, line, col, hint=hint))

    def wrong_kind(self, path: YamlPath, label: str, kind: type, example: str) -> None:
        """Report that the value at `path` is not of `kind`, with an example to copy."""
        hint = f"for example: {example}"
        _, node = self._walk(path)
        if kind is str and isinstance(node, yaml.ScalarNode) and node.tag != _NULL_TAG:
            # A number, date or yes/no is read as one; quoting keeps it as written.
            hint = f'quote it to keep it as text: "{node.value}"'
        self.add(path, f"{label} must be {_KIND_NAMES[kind]}", hint)


def _unix_newlines(text: str) -> str:
    # CRLF (Windows) and lone CR (old Mac) both end lines, as in issue files: YAML
    # counts them as line breaks, so our line numbers must too.
    return text.replace("\r\n", "\n").replace("\r", "\n")


def parse_config(path: str, text: str) -> SiteConfig:
    """Parse the text of a `site.yaml`; raise ContentErrors listing every problem."""
    text = _unix_newlines(text)
    src = SourceText(path, text)
    report = _Problems(src, text)
    # Every duplicate key and unreadable value, with the problems of the rest.
    read = read_mapping(src, text, 1, "site.yaml", report.found)
    if read is None:
        raise ContentErrors(report.found)
    data, _ = read

    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in _TOP_KEYS:
            hint = _unknown_key_hint(key, _TOP_KEYS)
            report.add((key,), f"unknown key '{key}' in site.yaml", hint, at_key=True)
            continue
        kind, example = _TOP_KEYS[key]
        if _is_kind(value, kind):
            values[key] = value
        else:
            report.wrong_kind((key,), f"'{key}'", kind, f"{key}: {example}")

    if "base_url" in values:
        url = values["base_url"]
        if not is_base_url(url):
            report.add(("base_url",), f"'base_url' {BASE_URL_RULE}", "e.g. https://example.org/ml/")
        elif not url.endswith("/"):
            values["base_url"] = url + "/"
    for key in ("title", "language"):
        if key in values and not values[key].strip():
            report.add((key,), f"'{key}' must not be empty", f"e.g. {key}: {_TOP_KEYS[key][1]}")
    if values.get("language", "").strip() and not _LANGUAGE.fullmatch(values["language"]):
        report.add(
            ("language",),
            f"'language' must be a language tag, not '{values['language']}'",
            "e.g. language: ko (or en, en-US)",
        )
    if "title_pattern" in values:
        problem = _pattern_problem(values["title_pattern"])
        if problem:
            report.add(
                ("title_pattern",),
                f"'title_pattern' cannot be filled in: {problem}",
                'use only {year}, {month} and {day}, e.g. "{year}년 {month}월"',
            )
    for key in ("per_page", "recent_issues"):
        if key in values and values[key] < 1:
            report.add((key,), f"'{key}' must be at least 1", f"e.g. {key}: {_TOP_KEYS[key][1]}")
    if "feeds" in values:
        values["feeds"] = _parse_feeds(values["feeds"], report)
    if "taxonomy" in values:
        values["taxonomy"] = _parse_taxonomy(values["taxonomy"], report)
    if report.found:
        raise ContentErrors(report.found)
    return SiteConfig(**values)


def _parse_feeds(raw: dict[Any, Any], report: _Problems) -> FeedLimits:
    limits: dict[str, int] = {}
    for key, value in raw.items():
        at = ("feeds", key)
        if key not in _FEED_KEYS:
            hint = _unknown_key_hint(str(key), _FEED_KEYS)
            report.add(at, f"unknown key '{key}' in feeds", hint, at_key=True)
        elif not _is_kind(value, int):
            report.wrong_kind(at, f"'feeds.{key}'", int, f"{key}: {_FEED_KEYS[key]}")
        elif value < 1:
            report.add(at, f"'feeds.{key}' must be at least 1", f"e.g. {key}: {_FEED_KEYS[key]}")
        else:
            limits[key] = value
    return FeedLimits(**limits)


def _parse_taxonomy(raw: dict[Any, Any], report: _Problems) -> Taxonomy:
    for key in raw:
        if key not in _GROUPS:
            hint = "taxonomy has two keys: sections, subtopics"
            report.add(("taxonomy", key), f"unknown key '{key}' in taxonomy", hint, at_key=True)
    sections = _parse_terms("sections", raw.get("sections"), report)
    subtopics = _parse_terms("subtopics", raw.get("subtopics"), report)
    return Taxonomy(sections, subtopics)


def _parse_terms(group: str, entries: object, report: _Problems) -> tuple[Term, ...]:
    at: YamlPath = ("taxonomy", group)
    if entries is None:  # `sections:` with nothing under it: no sections
        return ()
    if not isinstance(entries, list):
        example = "[Research, Business Cases]" if group == "sections" else "[CV, NLP]"
        report.wrong_kind(at, f"'taxonomy.{group}'", list, f"{group}: {example}")
        return ()
    kind = _GROUPS[group]
    terms: list[Term] = []
    slugs: dict[str, Term] = {}
    # A heading is matched to the first term that names it: a later term with the same
    # name or alias could never be reached, so each must be unique within the group.
    names: dict[str, Term] = {}
    for i, entry in enumerate(entries):
        term = _parse_term(group, entry, (*at, i), report)
        if term is None:
            continue
        clash = False
        for j, heading in enumerate((term.name, *term.aliases)):
            other = names.setdefault(_norm(heading), term)
            if other is not term:
                where = (*at, i, "name") if j == 0 else (*at, i, "aliases", j - 1)
                report.add(
                    where,
                    f"'{heading}' already names the {kind} '{other.name}'",
                    f"a heading can mean one {kind} only: remove it from one of the two",
                )
                clash = True
        if clash:
            continue
        other = slugs.setdefault(term.slug, term)
        if other is not term:
            report.add(
                (*at, i, "slug"),
                f"{kind} slug '{term.slug}' is already used by '{other.name}'",
                f"each {kind} needs its own slug (it names its pages): give this one another",
            )
            continue
        terms.append(term)
    return tuple(terms)


def _parse_term(group: str, entry: object, at: YamlPath, report: _Problems) -> Term | None:
    """One taxonomy entry, `Name` or `{name, slug, aliases}`; None (reported) if it is bad."""
    if isinstance(entry, str):
        entry = {"name": entry}
    if not isinstance(entry, dict):
        report.add(at, f"each taxonomy.{group} entry must be a name or a mapping", _TERM_EXAMPLE)
        return None
    ok = True
    for key in entry:
        if key not in _TERM_KEYS:
            hint = _unknown_key_hint(str(key), _TERM_KEYS)
            report.add((*at, key), f"unknown key '{key}' in taxonomy.{group}", hint, at_key=True)
            ok = False
    name = entry.get("name")
    if "name" not in entry:
        report.add(at, f"each taxonomy.{group} entry needs a 'name'", _TERM_EXAMPLE)
        return None
    if not isinstance(name, str):
        report.wrong_kind((*at, "name"), f"'name' in taxonomy.{group}", str, "name: CV")
        return None
    if not name.strip():
        report.add((*at, "name"), f"'name' in taxonomy.{group} must not be empty", _TERM_EXAMPLE)
        return None
    slug = entry.get("slug")
    if slug is None or slug == "":
        slug = slugify(name)
    if not isinstance(slug, str):
        report.wrong_kind((*at, "slug"), f"'slug' in taxonomy.{group}", str, "slug: cv")
        ok = False
    elif not slug or slugify(slug) != slug:
        # Slugs become folders and URLs: `../x` or `a?b` must never reach them.
        report.add(
            (*at, "slug"),
            f"taxonomy.{group} slug {slug!r} is not a slug",
            f"use lowercase letters, digits and '-', e.g. slug: {slugify(name) or 'research'}",
        )
        ok = False
    aliases = entry.get("aliases")
    if aliases is None:  # `aliases:` with nothing after it
        aliases = []
    if isinstance(aliases, str):  # one alias needs no brackets
        aliases = [aliases]
    if not isinstance(aliases, list):
        example = "aliases: [Computer Vision, Vision]"
        report.wrong_kind((*at, "aliases"), f"'aliases' in taxonomy.{group}", list, example)
        return None
    for j, alias in enumerate(aliases):
        if not isinstance(alias, str):
            what = f"each alias in taxonomy.{group}"
            report.wrong_kind((*at, "aliases", j), what, str, "aliases: [Computer Vision, Vision]")
            ok = False
    return Term(name, slug, tuple(aliases)) if ok and isinstance(slug, str) else None


def find_config(start: Path) -> Path | None:
    """The nearest `site.yaml` in `start` or a parent folder, or None."""
    start = start.resolve()
    for folder in (start, *start.parents):
        candidate = folder / "site.yaml"
        if candidate.is_file():
            return candidate
    return None


def load_config(path: Path | None) -> SiteConfig:
    """Read and parse a `site.yaml`; the built-in default when `path` is None."""
    if path is None:
        return SiteConfig()
    try:
        data = path.read_bytes()
    except OSError as exc:
        problem = exc.strerror or str(exc)
        hint = "make site.yaml a readable file (check its permissions), or remove it"
        raise ContentErrors(
            [Diagnostic(str(path), 1, 1, f"cannot read site.yaml: {problem}", hint)]
        ) from None
    try:
        # NFC, as issue text is: a macOS (NFD) alias must still match its heading.
        text = unicodedata.normalize("NFC", _decode(str(path), data))
        return parse_config(str(path), text)
    except ContentError as exc:
        raise ContentErrors([exc.diagnostic]) from None


def _decode(path: str, data: bytes) -> str:
    """UTF-8 text, a BOM dropped; a ContentError at the first byte that is not UTF-8."""
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # Columns count characters, as every other diagnostic's do, not bytes.
        before = _unix_newlines(data[: exc.start].decode("utf-8"))
        src = SourceText(path, _unix_newlines(data.decode("utf-8", "replace")))
        raise ContentError(
            src.diag(
                f"site.yaml is not valid UTF-8 (byte 0x{data[exc.start]:02x})",
                before.count("\n") + 1,
                len(before) - before.rfind("\n"),
                hint="save it as UTF-8 (most editors: 'Save with encoding')",
            )
        ) from None
