"""Where the templates and static files that ship with digest live."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def asset_dir(name: str) -> Path:
    """`templates` or `static`: inside the installed package, or beside it in a checkout."""
    installed = _PACKAGE / name
    return installed if installed.is_dir() else _PACKAGE.parent / name


def static_files() -> dict[str, bytes]:
    """Every shipped static file, keyed by its site path (`static/style.css`)."""
    root = asset_dir("static")
    out: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            rel = path.relative_to(root).as_posix()
            # favicon.ico and robots-style root files are served from the site root.
            out[rel if rel == "favicon.ico" else f"static/{rel}"] = path.read_bytes()
    return out
