"""The sample content is the seed, converted to the native format, with tags added."""

from __future__ import annotations

from digest.config import load_config
from digest.model import Issue
from digest.parse import read_issue

from .conftest import ROOT, SEED


def links(issue: Issue) -> list[tuple[str, str, str, str, str | None, str | None, str]]:
    """Every link with where it sits, minus what the sample adds (tags) or renumbers."""
    return [
        (
            s.name,
            t.name if t else "",
            link.title_md,
            link.url,
            link.published,
            link.source,
            link.commentary,
        )
        for s, t, link in issue.all_links()
    ]


def test_sample_issue_is_the_seed_plus_tags() -> None:
    config = load_config(ROOT / "content" / "site.yaml")
    sample = read_issue("2022-12.md", (ROOT / "content/issues/2022-12.md").read_bytes(), config)
    seed = read_issue(SEED.name, SEED.read_bytes(), config)
    assert links(sample.issue) == links(seed.issue)
    assert len(links(sample.issue)) == 10
    assert all(link.tags for _, _, link in sample.issue.all_links())
    assert sample.warnings == () and seed.warnings == ()
