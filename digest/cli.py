"""Command line: build, check, dump, import, new, serve."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from digest import __version__
from digest.errors import ContentErrors, Diagnostic

EXIT_OK, EXIT_CONTENT, EXIT_USAGE = 0, 1, 2


def _print_diagnostics(diagnostics: Sequence[Diagnostic]) -> None:
    for d in diagnostics:
        print(d.format(), file=sys.stderr)
    errors = sum(d.severity == "error" for d in diagnostics)
    warnings = len(diagnostics) - errors
    if diagnostics:
        print(f"{errors} error(s), {warnings} warning(s)", file=sys.stderr)


def cmd_build(args: argparse.Namespace) -> int:
    """Build the site."""
    from digest.site import OutputError, build

    try:
        result = build(args.content, args.out, drafts=args.drafts, base_url=args.base_url)
    except ContentErrors as exc:
        _print_diagnostics(exc.diagnostics)
        print(f"build failed; {args.out} was left as it was", file=sys.stderr)
        return EXIT_CONTENT
    except OutputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    _print_diagnostics(result.warnings)
    links = sum(len(i.all_links()) for i in result.digest.issues)
    print(
        f"built {len(result.digest.issues)} issues, {links} links, {result.files} files "
        f"in {result.seconds:.2f}s -> {args.out}"
    )
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    """Validate content without writing anything."""
    from digest.config import load_config
    from digest.load import load_digest

    site_yaml = args.content / "site.yaml"
    try:
        config = load_config(site_yaml if site_yaml.is_file() else None)
        loaded = load_digest(args.content, config, drafts=True)
        diagnostics: Sequence[Diagnostic] = loaded.warnings
    except ContentErrors as exc:
        diagnostics = exc.diagnostics
    failed = any(d.severity == "error" for d in diagnostics) or (args.strict and diagnostics)
    if args.format == "json":
        print(json.dumps([d.as_json() for d in diagnostics], ensure_ascii=False, indent=2))
    else:
        _print_diagnostics(diagnostics)
        if not failed:
            print("ok" if not diagnostics else "ok (with warnings)")
    return EXIT_CONTENT if failed else EXIT_OK


def cmd_dump(args: argparse.Namespace) -> int:
    """Print the model as JSON."""
    from digest.load import load_paths
    from digest.model import issue_to_json

    paths = args.paths or [Path("content")]
    missing = [p for p in paths if not p.exists()]
    if missing:
        print(f"error: no such file or folder: {missing[0]}", file=sys.stderr)
        return EXIT_USAGE
    try:
        digest, warnings = load_paths(paths)
    except ContentErrors as exc:
        _print_diagnostics(exc.diagnostics)
        return EXIT_CONTENT
    _print_diagnostics(warnings)
    data = {"issues": [issue_to_json(i) for i in digest.issues]}
    print(json.dumps(data, ensure_ascii=False, indent=2))
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    """Convert a legacy file to the native format."""
    from digest.config import find_config, load_config
    from digest.convert import issue_to_native
    from digest.parse import read_issue

    src: Path = args.file
    if not src.is_file():
        print(f"error: no such file: {src}", file=sys.stderr)
        return EXIT_USAGE
    try:
        config = load_config(find_config(src.parent))
        parsed = read_issue(str(src), src.read_bytes(), config)
    except ContentErrors as exc:
        _print_diagnostics(exc.diagnostics)
        return EXIT_CONTENT
    _print_diagnostics(parsed.warnings)
    text = issue_to_native(parsed.issue)
    if args.output is None or str(args.output) == "-":
        sys.stdout.write(text)
    else:
        if args.output.exists() and not args.force:
            print(f"error: {args.output} exists; use --force to overwrite", file=sys.stderr)
            return EXIT_USAGE
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    return EXIT_OK


def cmd_new(args: argparse.Namespace) -> int:
    """Scaffold the next issue."""
    from digest.scaffold import new_issue

    return new_issue(args.content, args.date)


def cmd_serve(args: argparse.Namespace) -> int:
    """Build, serve and rebuild on change."""
    from digest.serve import serve

    return serve(args.content, args.out, args.host, args.port, drafts=args.drafts)


EPILOG = {
    "build": "examples:\n  digest build\n"
    "  digest build --base-url https://example.org/ml/ --out public",
    "check": "examples:\n  digest check\n  digest check --strict --format json",
    "dump": "examples:\n  digest dump\n"
    "  digest dump content/issues/2022-12.md | jq '.issues[0].title'",
    "import": "examples:\n  digest import old/2023-01.md -o content/issues/2023-01.md",
    "new": "examples:\n  digest new\n  digest new --date 2023-01-31",
    "serve": "examples:\n  digest serve\n  digest serve --port 8080",
}


def parser() -> argparse.ArgumentParser:
    """The argument parser for every command."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = argparse.ArgumentParser(
        prog="digest",
        description="Static site generator for a curated ML reading digest.",
        epilog="examples:\n  digest build\n  digest serve\n  digest check --strict",
        formatter_class=fmt,
    )
    p.add_argument("--version", action="version", version=f"digest {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name, help=help_text, description=help_text, epilog=EPILOG[name], formatter_class=fmt
        )

    content = {
        "type": Path,
        "default": Path("content"),
        "help": "content folder (default: content)",
    }
    out = {"type": Path, "default": Path("_site"), "help": "output folder (default: _site)"}

    b = command("build", "Build the site into the output folder.")
    b.add_argument("--content", **content)  # type: ignore[arg-type]
    b.add_argument("--out", **out)  # type: ignore[arg-type]
    b.add_argument("--drafts", action="store_true", help="include draft issues")
    b.add_argument("--base-url", help="override base_url from site.yaml")
    b.add_argument("--no-cache", action="store_true", help="build from scratch, ignoring the cache")
    b.add_argument("-v", "--verbose", action="store_true", help="say more")
    b.set_defaults(func=cmd_build)

    c = command("check", "Validate content; write nothing.")
    c.add_argument("--content", **content)  # type: ignore[arg-type]
    c.add_argument("--strict", action="store_true", help="fail on warnings too")
    c.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    c.set_defaults(func=cmd_check)

    d = command("dump", "Print the model as JSON (content folders or issue files).")
    d.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    d.set_defaults(func=cmd_dump)

    i = command("import", "Convert a legacy issue file to the native format.")
    i.add_argument("file", type=Path, metavar="LEGACY.md")
    i.add_argument("-o", "--output", type=Path, help="output file (default: stdout)")
    i.add_argument("--force", action="store_true", help="overwrite the output file")
    i.set_defaults(func=cmd_import)

    n = command("new", "Scaffold the next issue.")
    n.add_argument("--content", **content)  # type: ignore[arg-type]
    n.add_argument("--date", help="issue date, YYYY-MM-DD (default: today)")
    n.set_defaults(func=cmd_new)

    s = command("serve", "Build, serve on 127.0.0.1 and rebuild on change.")
    s.add_argument("--content", **content)  # type: ignore[arg-type]
    s.add_argument("--out", **out)  # type: ignore[arg-type]
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    s.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    s.add_argument("--drafts", action="store_true", help="include draft issues")
    s.set_defaults(func=cmd_serve)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `digest` command."""
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
