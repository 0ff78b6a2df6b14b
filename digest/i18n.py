"""UI labels and date formats per language (`ko` and `en` ship)."""

from __future__ import annotations

import datetime as dt

LABELS: dict[str, dict[str, str]] = {
    "ko": {
        "skip": "본문으로 건너뛰기",
        "home": "홈",
        "archive": "지난 호",
        "topics": "주제",
        "sections": "분류",
        "tags": "태그",
        "sources": "출처",
        "search": "검색",
        "search_placeholder": "제목, 출처, 태그, 코멘트 검색",
        "search_button": "찾기",
        "search_none": "검색 결과가 없습니다.",
        "search_count": "{n}건",
        "search_nojs": "검색에는 JavaScript가 필요합니다.",
        "feeds": "피드",
        "latest": "최신호",
        "recent": "최근 호",
        "all_issues": "모든 호 보기",
        "links": "링크",
        "links_count": "링크 {n}개",
        "permalink": "고유 링크",
        "from_issue": "수록",
        "published": "발행",
        "page": "페이지",
        "prev": "이전",
        "next": "다음",
        "not_found": "페이지를 찾을 수 없습니다",
        "not_found_text": "주소가 바뀌었거나 없는 페이지입니다.",
        "issue_feed": "호별 피드",
        "links_feed": "링크 피드",
        "topic_feed": "이 주제의 피드",
        "tag_feed": "이 태그의 피드",
        "feed_of": "{name} 피드",
        "in_this_issue": "이번 호 목차",
        "other": "기타",
        "pagination": "페이지 이동",
        "main_nav": "주 메뉴",
        "search_more": "결과 더 보기",
        "search_error": "검색을 불러오지 못했습니다.",
        "search_hint": (
            "제목, 출처, 태그, 코멘트에서 찾습니다. "
            "조사가 붙은 말(모델과)이나 합성어 일부(러닝 → 딥러닝)도 찾습니다."
        ),
        "search_nojs_browse": "대신 주제나 태그로 둘러보세요:",
        "newer_issue": "다음 호",
        "older_issue": "이전 호",
        "issue_nav": "다른 호",
        "browse": "둘러보기",
        "all_topics": "모든 주제",
        "all_tags": "모든 태그",
        "all_sources": "모든 출처",
        "group_description": "{kind} ‘{name}’: 링크 {n}개",
        "kind_sections": "분류",
        "kind_topics": "주제",
        "kind_tags": "태그",
        "kind_sources": "출처",
        "page_n": "{n}쪽",
        "page_of": "{n}/{count}쪽",
        "issues_count": "{n}호",
        "og_locale": "ko_KR",
        "feeds_opml": "모든 피드를 한 번에 구독",
    },
    "en": {
        "skip": "Skip to content",
        "home": "Home",
        "archive": "Archive",
        "topics": "Topics",
        "sections": "Sections",
        "tags": "Tags",
        "sources": "Sources",
        "search": "Search",
        "search_placeholder": "Search titles, sources, tags, commentary",
        "search_button": "Search",
        "search_none": "No results.",
        "search_count": "{n} results",
        "search_nojs": "Search needs JavaScript.",
        "feeds": "Feeds",
        "latest": "Latest issue",
        "recent": "Recent issues",
        "all_issues": "All issues",
        "links": "Links",
        "links_count": "{n} links",
        "permalink": "Permalink",
        "from_issue": "In",
        "published": "Published",
        "page": "Page",
        "prev": "Previous",
        "next": "Next",
        "not_found": "Page not found",
        "not_found_text": "The address may have changed, or the page never existed.",
        "issue_feed": "Issues feed",
        "links_feed": "Links feed",
        "topic_feed": "Feed for this topic",
        "tag_feed": "Feed for this tag",
        "feed_of": "{name} feed",
        "in_this_issue": "In this issue",
        "other": "Other",
        "pagination": "Pagination",
        "main_nav": "Main",
        "search_more": "Show more results",
        "search_error": "Search could not be loaded.",
        "search_hint": (
            "Finds titles, sources, tags and commentary; "
            "word beginnings match (transf finds Transformer)."
        ),
        "search_nojs_browse": "Browse by topic or tag instead:",
        "newer_issue": "Newer issue",
        "older_issue": "Older issue",
        "issue_nav": "Other issues",
        "browse": "Browse",
        "all_topics": "All topics",
        "all_tags": "All tags",
        "all_sources": "All sources",
        "group_description": "{kind} “{name}”: {n} links",
        "kind_sections": "Section",
        "kind_topics": "Topic",
        "kind_tags": "Tag",
        "kind_sources": "Source",
        "page_n": "Page {n}",
        "page_of": "page {n} of {count}",
        "issues_count": "{n} issues",
        "og_locale": "en_US",
        "feeds_opml": "every feed at once, for feed readers",
    },
}

_EN_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


class Labels(dict[str, str]):
    """A label table whose labels are attributes too, as templates read them (`L.prev`).

    Jinja tries `getattr` before `[]`; on a plain dict that failed attribute lookup
    raised and caught an exception for every label on every page.
    """

    def __getattr__(self, name: str) -> str:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


_LABELS = {language: Labels(table) for language, table in LABELS.items()}


def labels(language: str) -> Labels:
    """The label table for a language, English for languages that have none."""
    return _LABELS.get(language.split("-")[0].lower(), _LABELS["en"])


def format_date(date: dt.date, language: str) -> str:
    """`2022년 12월 29일` (ko) or `29 Dec 2022` (others)."""
    if language.startswith("ko"):
        return f"{date.year}년 {date.month}월 {date.day}일"
    return f"{date.day} {_EN_MONTHS[date.month - 1]} {date.year}"


def format_month(published: str, language: str) -> str:
    """`2022-12` -> `2022년 12월` / `Dec 2022`; a full date is formatted as a date."""
    if len(published) == 10:
        return format_date(dt.date.fromisoformat(published), language)
    year, month = int(published[:4]), int(published[5:7])
    if language.startswith("ko"):
        return f"{year}년 {month}월"
    return f"{_EN_MONTHS[month - 1]} {year}"


def og_locale(language: str) -> str:
    """OpenGraph locale: `ko` -> `ko_KR`, `en-GB` -> `en_GB`; '' when unknown."""
    lang, _, region = language.replace("_", "-").partition("-")
    if region:
        return f"{lang.lower()}_{region.upper()}"
    table = LABELS.get(lang.lower())
    return table["og_locale"] if table else ""
