"""Site configuration (`content/site.yaml`): typed, validated, unknown keys are errors."""

from __future__ import annotations

import difflib
import re
import string
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from digest.errors import ContentError, ContentErrors, Diagnostic, SourceText
from digest.slug import slugify
from digest.yamlmap import Positions, load_mapping

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


_TOP_KEYS = {
    "title": str,
    "base_url": str,
    "language": str,
    "author": str,
    "description": str,
    "title_pattern": str,
    "per_page": int,
    "recent_issues": int,
    "feeds": dict,
    "taxonomy": dict,
}
_FEED_KEYS = {"issues", "links", "topic", "tag"}
_TERM_KEYS = {"name", "slug", "aliases"}


def _unknown_key_hint(key: str, allowed: set[str] | dict[str, Any]) -> str:
    close = difflib.get_close_matches(key, list(allowed), n=1)
    known = ", ".join(sorted(allowed))
    return (f"did you mean '{close[0]}'? " if close else "") + f"known keys: {known}"


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


def _pattern_problem(pattern: str) -> str | None:
    """What is wrong with a `title_pattern`, or None.

    Only the three names, with a format spec at most: `{year.__class__}` would be
    filled in by Python's attribute lookup.
    """
    try:
        for _, name, spec, _ in string.Formatter().parse(pattern):
            if name is not None and (name not in ("year", "month", "day") or "{" in (spec or "")):
                field = name + (f":{spec}" if spec else "")
                return f"'{{{field}}}' is not {{year}}, {{month}} or {{day}}"
        pattern.format(year=2022, month=12, day=29)
    except (KeyError, IndexError, ValueError) as exc:
        return str(exc)
    return None


def parse_config(path: str, text: str) -> SiteConfig:
    """Parse the text of a `site.yaml`; raise ContentErrors listing every problem."""
    src = SourceText(path, text)
    data, pos = load_mapping(src, text, 1, "site.yaml")
    problems: list[Diagnostic] = []

    def bad(key: str, message: str, hint: str) -> None:
        _, line, col = pos.get(key, (1, 1, 1))
        problems.append(src.diag(message, line, col, hint=hint))

    values: dict[str, Any] = {}
    for key, value in data.items():
        kind = _TOP_KEYS.get(key)
        if kind is None:
            line = pos[key][0]
            problems.append(
                src.diag(
                    f"unknown key '{key}' in site.yaml",
                    line,
                    1,
                    hint=_unknown_key_hint(key, _TOP_KEYS),
                )
            )
        elif not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            bad(key, f"'{key}' must be a {kind.__name__}", f"for example: {key}: ...")
        else:
            values[key] = value

    if "base_url" in values:
        url = values["base_url"]
        if not is_base_url(url):
            bad("base_url", f"'base_url' {BASE_URL_RULE}", "e.g. https://example.org/ml/")
        elif not url.endswith("/"):
            values["base_url"] = url + "/"
    for key in ("title", "language"):
        if key in values and not values[key].strip():
            bad(
                key,
                f"'{key}' must not be empty",
                f"e.g. {key}: " + ("ML 읽을거리" if key == "title" else "ko"),
            )
    if values.get("language", "").strip() and not _LANGUAGE.fullmatch(values["language"]):
        bad(
            "language",
            f"'language' must be a language tag, not '{values['language']}'",
            "e.g. language: ko (or en, en-US)",
        )
    if "title_pattern" in values:
        problem = _pattern_problem(values["title_pattern"])
        if problem:
            bad(
                "title_pattern",
                f"'title_pattern' cannot be filled in: {problem}",
                'use only {year}, {month} and {day}, e.g. "{year}년 {month}월"',
            )
    for key in ("per_page", "recent_issues"):
        if key in values and values[key] < 1:
            bad(key, f"'{key}' must be at least 1", f"e.g. {key}: 50")
    if "feeds" in values:
        feeds = values.pop("feeds")
        for k, v in feeds.items():
            if k not in _FEED_KEYS:
                bad("feeds", f"unknown key '{k}' in feeds", _unknown_key_hint(str(k), _FEED_KEYS))
            elif not isinstance(v, int) or isinstance(v, bool) or v < 1:
                bad("feeds", f"feeds.{k} must be a positive integer", f"e.g. {k}: 50")
        if not problems:
            values["feeds"] = FeedLimits(**feeds)
    if "taxonomy" in values:
        values["taxonomy"] = _parse_taxonomy(values["taxonomy"], src, pos, problems)
    if problems:
        raise ContentErrors(problems)
    return SiteConfig(**values)


def _parse_taxonomy(
    raw: dict[str, Any], src: SourceText, pos: Positions, problems: list[Diagnostic]
) -> Taxonomy:
    _, line, col = pos.get("taxonomy", (1, 1, 1))
    groups: dict[str, tuple[Term, ...]] = {}
    for group in ("sections", "subtopics"):
        terms: list[Term] = []
        for entry in raw.get(group) or []:
            if isinstance(entry, str):
                entry = {"name": entry}
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                problems.append(
                    src.diag(
                        f"each taxonomy.{group} entry needs a 'name'",
                        line,
                        col,
                        hint="- {name: CV, slug: cv, aliases: [Computer Vision]}",
                    )
                )
                continue
            for k in entry:
                if k not in _TERM_KEYS:
                    problems.append(
                        src.diag(
                            f"unknown key '{k}' in taxonomy.{group}",
                            line,
                            col,
                            hint=_unknown_key_hint(str(k), _TERM_KEYS),
                        )
                    )
            aliases = entry.get("aliases") or []
            if not isinstance(aliases, list):
                aliases = [aliases]
            slug = str(entry.get("slug") or slugify(entry["name"]))
            if not slug or slugify(slug) != slug:
                # Slugs become folders and URLs: `../x` or `a?b` must never reach them.
                problems.append(
                    src.diag(
                        f"taxonomy.{group} slug {slug!r} is not a slug",
                        line,
                        col,
                        hint="use lowercase letters, digits and '-', e.g. "
                        f"slug: {slugify(str(entry['name'])) or 'research'}",
                    )
                )
                continue
            terms.append(Term(str(entry["name"]), slug, tuple(str(a) for a in aliases)))
        groups[group] = tuple(terms)
    for k in raw:
        if k not in ("sections", "subtopics"):
            problems.append(
                src.diag(
                    f"unknown key '{k}' in taxonomy",
                    line,
                    col,
                    hint="taxonomy has two keys: sections, subtopics",
                )
            )
    return Taxonomy(groups["sections"], groups["subtopics"])


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
        # NFC, as issue text is: a macOS (NFD) alias must still match its heading.
        text = unicodedata.normalize(
            "NFC", path.read_bytes().decode("utf-8-sig").replace("\r\n", "\n")
        )
    except UnicodeDecodeError as exc:
        raise ContentErrors(
            [Diagnostic(str(path), 1, exc.start + 1, "site.yaml is not UTF-8", "save it as UTF-8")]
        ) from None
    try:
        return parse_config(str(path), text)
    except ContentError as exc:
        raise ContentErrors([exc.diagnostic]) from None
