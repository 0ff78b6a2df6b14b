"""Golden site: the sample content builds to exactly `tests/golden/sample/`.

Run `UPDATE_GOLDEN=1 pytest tests/test_golden.py` after an intended output change,
and review the diff of `tests/golden/` like any other change.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from digest.assets import static_files
from digest.site import SITE_MARKER, build

from .conftest import ROOT

GOLDEN = ROOT / "tests" / "golden" / "sample"


SHIPPED = static_files()
"""Assets copied verbatim from static/: compared with their source, not kept twice."""


def files(folder: Path) -> dict[str, bytes]:
    """Every made file under `folder` by relative path: no build marker, no shipped asset."""
    return {
        rel: p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
        and p.name != SITE_MARKER
        and (rel := p.relative_to(folder).as_posix()) not in SHIPPED
    }


def test_sample_site_matches_golden(tmp_path: Path) -> None:
    out = tmp_path / "site"
    build(ROOT / "content", out)
    for rel, data in SHIPPED.items():
        assert (out / rel).read_bytes() == data, rel
    built = files(out)
    if os.environ.get("UPDATE_GOLDEN"):
        shutil.rmtree(GOLDEN, ignore_errors=True)
        for rel, data in built.items():
            (GOLDEN / rel).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / rel).write_bytes(data)
    golden = files(GOLDEN)
    assert sorted(built) == sorted(golden), "files added or missing; UPDATE_GOLDEN=1 to accept"
    changed = [rel for rel in built if built[rel] != golden[rel]]
    assert changed == [], f"{len(changed)} files differ, e.g. {changed[:5]}"
