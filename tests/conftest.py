"""Shared test fixtures: paths, and a helper that builds a content folder into tmp."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from digest.model import Issue, issue_to_json
from digest.site import build

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SEED = SHARED / "seed" / "digest-2022-12.md"
FIXTURES = ROOT / "tests" / "fixtures"


def run_digest(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a fresh process, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "digest", *args],
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def copy_content(dest: Path) -> Path:
    """A private copy of the sample content folder, safe to edit."""
    shutil.copytree(ROOT / "content", dest)
    return dest


@pytest.fixture(scope="session")
def sample_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample content built once, with a base URL that has a path."""
    out = tmp_path_factory.mktemp("sample") / "_site"
    build(ROOT / "content", out, base_url="https://example.org/ml/")
    return out


CHROMIUM = Path("/usr/bin/chromium")
"""Debian's Chromium, which scripts/test.sh installs (no browser downloads)."""
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
"""How every browser test starts Chromium."""


def comparable(issue: Issue) -> dict[str, Any]:
    """An issue's dump without what an import changes: its path and link lines."""
    data = issue_to_json(issue)
    data.pop("path")
    for section in data["sections"]:
        for group in (section, *section["subtopics"]):
            for link in group["links"]:
                link.pop("line")
    return data
