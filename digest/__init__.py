"""digest: a static site generator for a curated ML reading digest."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "build_site", "load_digest"]


def __getattr__(name: str) -> object:
    # Lazy, so `digest --help` stays fast: the heavy modules load only when used.
    if name == "load_digest":
        from digest.load import load_digest

        return load_digest
    if name == "build_site":
        from digest.site import build

        return build
    raise AttributeError(name)
