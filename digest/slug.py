"""The one slug rule, for issue ids, tags, sources and headings (Korean included)."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)


def slugify(text: str) -> str:
    """Lowercase NFC text with runs of non-word characters collapsed to '-'.

    Hangul and other letters are kept as they are, so `스캐터랩` stays `스캐터랩`
    and `RecSys, etc.` becomes `recsys-etc`. NFD input (macOS) gives the same slug.
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    slug = _NON_WORD.sub("-", text.replace("_", "-")).strip("-")
    return slug


def unique_slug(base: str, taken: set[str], fallback: str = "link") -> str:
    """`base`, or `base-2`, `base-3`, ... whichever is not yet in `taken`; records it."""
    base = base or fallback
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    taken.add(slug)
    return slug


def quote_path(path: str) -> str:
    """Percent-encode a site path (Korean slugs, `?` and `%` in file names) and its anchor.

    The first `#` starts the anchor: issue file names may not contain one.
    """
    path, sep, fragment = path.partition("#")
    return quote(path, safe="/") + sep + quote(fragment, safe="")
