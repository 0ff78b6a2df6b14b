"""A plain (non-editable) `pip install .` into a new venv builds a full site elsewhere."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

from .conftest import ROOT


def test_wheel_install_builds_from_another_folder(tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    # system_site_packages: dependencies come from this machine, the project itself is
    # installed from source, non-editable, so templates and static must be package data.
    venv.EnvBuilder(with_pip=True, system_site_packages=True).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "content").mkdir(parents=True)
    (elsewhere / "content" / "issues").mkdir()
    (elsewhere / "content" / "issues" / "2022-12.md").write_bytes(
        (ROOT / "content" / "issues" / "2022-12.md").read_bytes()
    )
    result = subprocess.run(
        [str(env_dir / "bin" / "digest"), "build"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    site = elsewhere / "_site"
    for page in ("index.html", "issues/2022-12/index.html", "static/style.css", "favicon.ico"):
        assert (site / page).is_file(), page
    # The installed package must not be the checkout (else package data is untested).
    where = subprocess.run(
        [str(python), "-c", "import digest; print(digest.__file__)"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert not where.startswith(str(ROOT)), where
    assert sys.prefix != str(env_dir)
