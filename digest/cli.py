"""Command line: build, check, dump, import, new, serve."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from digest import __version__
from digest.errors import ContentErrors, Diagnostic, plural, sort_key

if TYPE_CHECKING:
    from digest.model import Issue

EXIT_OK, EXIT_CONTENT, EXIT_USAGE = 0, 1, 2

PROGRESS_AFTER = 1.5
"""Seconds a build may take before a progress line appears (on a terminal only)."""


# -- output: colour, diagnostics, progress -------------------------------------------------

_STYLES = {"bold": "1", "red": "1;31", "yellow": "1;33", "cyan": "1;36", "green": "32"}
_HEADER = re.compile(r"^(\S.*?:\d+:\d+:) (error|warning):", re.MULTILINE)


def use_colour(stream: TextIO) -> bool:
    """Colour only on a terminal, never with NO_COLOR set (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    if os.environ.get("TERM") == "dumb":
        return False
    return stream.isatty()


def paint(text: str, style: str, on: bool) -> str:
    """`text` wrapped in an ANSI style when `on`."""
    return f"\x1b[{_STYLES[style]}m{text}\x1b[0m" if on else text


def format_diagnostic(d: Diagnostic, colour: bool) -> str:
    """A diagnostic as text, its location, severity, caret and hint coloured when asked."""
    text = d.format()
    if not colour:
        return text
    severity = "red" if d.severity == "error" else "yellow"
    text = _HEADER.sub(
        lambda m: f"{paint(m[1], 'bold', True)} {paint(m[2] + ':', severity, True)}", text, 1
    )
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.startswith("hint: "):
            lines[i] = paint("hint:", "cyan", True) + line[len("hint:") :]
        elif line.startswith("      | ") and line.rstrip().endswith("^"):
            lines[i] = line[:-1] + paint("^", "green", True)
    return "\n".join(lines)


def count_line(diagnostics: Sequence[Diagnostic]) -> str:
    """`1 error, 2 warnings`."""
    errors = sum(d.severity == "error" for d in diagnostics)
    return f"{plural(errors, 'error')}, {plural(len(diagnostics) - errors, 'warning')}"


def print_diagnostics(diagnostics: Sequence[Diagnostic], summary: bool = True) -> None:
    """Every diagnostic to stderr, in file order, then how many there were."""
    colour = use_colour(sys.stderr)
    for d in sorted(diagnostics, key=sort_key):
        print(format_diagnostic(d, colour), file=sys.stderr)
    if diagnostics and summary:
        print(count_line(diagnostics), file=sys.stderr)


class Progress:
    """A progress bar on stderr, shown only when work outlasts PROGRESS_AFTER.

    The build reports its steps (`step`: reading, rendering, writing) and how far
    each has got, so the bar shows the step out of all steps and a live count. Not
    shown when stderr is not a terminal, so logs and pipes stay clean.
    """

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._shown = False
        self.status = ""

    def step(self, number: int, total: int, what: str) -> None:
        """Report progress: step `number` of `total`, described by `what`."""
        width = 20
        filled = width * number // max(total, 1)
        self.status = f"[{'#' * filled}{'.' * (width - filled)}] {number}/{total} {what}"

    def __enter__(self) -> Progress:
        if self.stream.isatty():
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()

    def _run(self) -> None:
        start = time.monotonic()
        if self._done.wait(PROGRESS_AFTER):
            return
        frames = "|/-\\"
        tick = 0
        while not self._done.is_set():
            elapsed = time.monotonic() - start
            status = self.status or f"{self.label}..."
            self.stream.write(f"\r\x1b[K{frames[tick % 4]} {status} {elapsed:.1f}s")
            self.stream.flush()
            self._shown = True
            tick += 1
            self._done.wait(0.1)


def _missing_content(content: Path) -> bool:
    if content.is_dir():
        return False
    print(f"error: no content folder at {content}; use --content DIR", file=sys.stderr)
    return True


# -- commands ------------------------------------------------------------------------------


def cmd_build(args: argparse.Namespace) -> int:
    """Build the site."""
    from digest.errors import OutputError
    from digest.site import build

    if _missing_content(args.content):
        return EXIT_USAGE
    if args.daemon and not args.no_cache:
        from digest import daemon

        try:
            if not daemon.supported():
                raise daemon.Unavailable("--daemon needs Unix sockets")
            return daemon.build_through_server(args)
        except daemon.Unavailable as exc:
            print(f"warning: {exc}; building in this process", file=sys.stderr)
    try:
        with Progress("building") as progress:
            result = build(
                args.content,
                args.out,
                drafts=args.drafts,
                base_url=args.base_url,
                use_cache=not args.no_cache,
                progress=progress.step,
                stat_ahead=args.stat_ahead,
            )
    except ContentErrors as exc:
        print_diagnostics(exc.diagnostics)
        print(f"build failed; {args.out} was left as it was", file=sys.stderr)
        return EXIT_CONTENT
    except OutputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:
        import jinja2

        if not isinstance(exc, jinja2.TemplateError):
            raise
        from digest.render import template_error

        print_diagnostics([template_error(exc)])
        print(f"build failed; {args.out} was left as it was", file=sys.stderr)
        return EXIT_CONTENT
    print_diagnostics(result.warnings, summary=False)
    kinds = result.kinds
    line = (
        f"built {plural(result.issues, 'issue')}, {plural(result.links, 'link')}, "
        f"{plural(kinds.get('pages', 0), 'page')} in {result.seconds:.2f}s -> {args.out}"
    )
    if result.unchanged:
        line += " (nothing changed)"
    if result.warnings:
        line += f" ({plural(len(result.warnings), 'warning')})"
    if args.verbose:
        if result.digest is not None:
            print_issue_table(result.digest.issues)
        print("output: " + ", ".join(f"{n} {kind}" for kind, n in kinds.items()))
    print(line)
    return EXIT_OK


def cmd_daemon(args: argparse.Namespace) -> int:
    """Run, stop or describe the content folder's build server (`digest build --daemon`)."""
    from digest import daemon

    if not daemon.supported():
        print("error: the build server needs Unix sockets", file=sys.stderr)
        return EXIT_USAGE
    if _missing_content(args.content):
        return EXIT_USAGE
    if args.action == "run":
        return daemon.serve_builds(args.content, args.idle or daemon.IDLE_MINUTES)
    try:
        answer = daemon.ask_server(args.content, args.action)
    except daemon.Unavailable:
        print(f"no build server runs for {args.content}")
        return EXIT_OK if args.action == "stop" else EXIT_CONTENT
    if args.action == "stop":
        print(f"stopped the build server for {args.content}")
        return EXIT_OK
    s = answer["status"]
    minutes = s["seconds"] / 60
    print(
        f"build server for {args.content}: pid {s['pid']}, {plural(s['builds'], 'build')} "
        f"in {minutes:.0f} min, {s['rss_mb']:.0f} MB resident (peak {s['peak_rss_mb']:.0f} MB)"
    )
    return EXIT_OK


def print_issue_table(issues: Sequence[Issue]) -> None:
    """One line per issue: slug, date, links, draft mark and file, for `-v`."""
    for issue in sorted(issues, key=lambda i: (i.date, i.slug)):
        draft = " draft" if issue.draft else ""
        links = plural(len(issue.all_links()), "link")
        print(f"  {issue.slug:<12} {issue.date}  {links:>9}{draft}  {issue.path}")


def cmd_check(args: argparse.Namespace) -> int:
    """Validate content without writing anything."""
    from digest.cache import cache_dir_for
    from digest.load import issue_files, load_digest, parse_store, site_config
    from digest.render import template_problems
    from digest.site import content_files, site_templates

    if _missing_content(args.content):
        return EXIT_USAGE
    files = 0
    issues: Sequence[Issue] = ()
    diagnostics: list[Diagnostic] = []
    try:
        files = len(issue_files(args.content))
        config = site_config(args.content)
        # What the last build read, files unchanged since, is not read again: the
        # cache is only read here (a check writes nothing).
        cache_dir = cache_dir_for(args.content)
        cache = parse_store(cache_dir, config) if cache_dir.is_dir() else None
        loaded = load_digest(args.content, config, drafts=True, cache=cache)
        diagnostics += loaded.warnings
        issues = loaded.digest.issues
        diagnostics += template_problems(config, site_templates(args.content))
    except ContentErrors as exc:
        diagnostics += exc.diagnostics
    try:  # what a build would copy: the same checks
        content_files(args.content, "images")
    except ContentErrors as exc:
        diagnostics += exc.diagnostics
    asked: list[str] = []
    external: dict[str, object] | None = None
    if args.external and issues and not any(d.severity == "error" for d in diagnostics):
        dead, external, asked = check_external(issues, args.content, args.verbose, args.recheck)
        diagnostics += dead
    diagnostics = sorted(diagnostics, key=sort_key)
    errors = sum(d.severity == "error" for d in diagnostics)
    failed = bool(errors or (args.strict and diagnostics))
    if args.format == "json":
        report = {
            "ok": not failed,
            "strict": args.strict,
            "files": files,
            "errors": errors,
            "warnings": len(diagnostics) - errors,
            "diagnostics": [d.as_json() for d in diagnostics],
        }
        if external is not None:
            report["external"] = external
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return EXIT_CONTENT if failed else EXIT_OK
    print_diagnostics(diagnostics, summary=False)
    for line in asked:
        print(line)
    checked = f"checked {plural(files, 'file')}"
    if failed:
        why = " (--strict: warnings fail the check)" if not errors else ""
        print(f"{checked}: {count_line(diagnostics)}{why}", file=sys.stderr)
        return EXIT_CONTENT
    if args.verbose:
        print_issue_table(issues)
    links = sum(len(i.all_links()) for i in issues)
    found = plural(len(diagnostics), "warning") if diagnostics else "no problems"
    print(f"{checked} ({plural(len(issues), 'issue')}, {plural(links, 'link')}): {found}")
    return EXIT_OK


def check_external(
    issues: Sequence[Issue], content: Path, verbose: bool, recheck: bool = False
) -> tuple[list[Diagnostic], dict[str, object], list[str]]:
    """`check --external`: warnings for dead links, and what was asked (for JSON, as lines)."""
    from digest.cache import Store, cache_dir_for
    from digest.checks import dead_links, external_links
    from digest.linkcheck import anyone_answered, ask_all, recent, remember, site_of

    found = external_links(issues, content)
    store = Store(cache_dir_for(content), "links")
    now = time.time()
    remembered = {} if recheck else recent(store, found, now)
    with Progress("asking sites") as progress:
        answers = ask_all(
            (url for url in found if url not in remembered),
            progress=lambda done, total: progress.step(done, total, "addresses asked"),
        )
    remember(store, answers, found, now)
    with contextlib.suppress(OSError):  # read-only, say: every address is asked next time
        store.save()
    dead = dead_links(found, answers)  # a remembered answer is a good one
    sites = len({site_of(url) for url in answers})
    unsure = [a for a in answers.values() if not a.ok and not a.dead]
    answered = anyone_answered(answers.values()) or not answers
    dead_urls = sum(a.dead for a in answers.values()) if answered else 0
    if not answered:
        summary = "no site answered (offline?), so no link is reported dead"
    else:
        summary = f"{dead_urls} dead, {len(unsure)} not sure"
        summary += " (-v lists them)" if unsure and not verbose else ""
    line = f"asked {plural(len(answers), 'URL')} on {plural(sites, 'site')}: {summary}"
    again = "answered well in the last day, not asked again (--recheck asks them)"
    if remembered and not answers:
        line = f"asked no site: all {plural(len(remembered), 'URL')} {again}"
    elif remembered:
        line += f"; {len(remembered):,} more {again}"
    lines = [line]
    if verbose:
        lines += (f"  not sure: {a.url} ({a.reason})" for a in unsure)
    report = {
        "asked": len(answers),
        "remembered": len(remembered),
        "sites": sites,
        "dead": dead_urls,
        "not_sure": [{"url": a.url, "reason": a.reason} for a in unsure],
    }
    return dead, report, lines


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
        print_diagnostics(exc.diagnostics)
        return EXIT_CONTENT
    print_diagnostics(warnings)
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
        what = "is a folder, not an issue file" if src.is_dir() else "does not exist"
        print(f"error: {src} {what}; give the legacy issue file to convert", file=sys.stderr)
        return EXIT_USAGE
    data = src.read_bytes()
    if data.removeprefix(b"\xef\xbb\xbf").split(b"\n", 1)[0].rstrip() == b"---":
        # Converting it again would drop what the legacy format cannot say (an `id:`).
        print(f"error: {src} is in the native format already; nothing to convert", file=sys.stderr)
        return EXIT_USAGE
    # The settings of the folder it goes to: its title pattern names an untitled issue.
    written_to = args.output if args.output is not None and str(args.output) != "-" else None
    try:
        config = load_config(find_config((written_to or src).absolute().parent))
        parsed = read_issue(str(src), data, config)
    except ContentErrors as exc:
        print_diagnostics(exc.diagnostics)
        return EXIT_CONTENT
    print_diagnostics(parsed.warnings)
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

    if _missing_content(args.content):
        return EXIT_USAGE
    return serve(
        args.content,
        args.out,
        args.host,
        args.port,
        drafts=args.drafts,
        verbose=args.verbose,
        report=print_diagnostics,
    )


EPILOG = {
    "build": "examples:\n  digest build\n"
    "  digest build -v --base-url https://example.org/ml/ --out public\n"
    "  digest build --daemon   # again and again while editing: later builds are quicker",
    "check": "examples:\n  digest check\n  digest check --strict --format json\n"
    "  digest check --external -v",
    "dump": "examples:\n  digest dump\n"
    "  digest dump content/issues/2022-12.md | jq '.issues[0].title'",
    "import": "examples:\n  digest import old/2023-01.md -o content/issues/2023-01.md",
    "new": "examples:\n  digest new\n  digest new --date 2023-01-31",
    "daemon": "The first `digest build --daemon` starts a build server for the content\n"
    "folder; it runs that build and later ones, which then skip Python's start-up and\n"
    "reloading the cache. It stops after 30 minutes without a build.\n\n"
    "examples:\n  digest build --daemon\n  digest daemon status\n  digest daemon stop",
    "serve": "examples:\n  digest serve\n  digest serve --port 8080 --drafts\n"
    "  digest serve --host 0.0.0.0   # reachable from other machines: mind your network",
}


def _port(value: str) -> int:
    if not value.isdigit() or not 0 <= int(value) <= 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number (0 to 65535)")
    return int(value)


def _base_url(value: str) -> str:
    from digest.config import BASE_URL_RULE, is_base_url

    if not is_base_url(value):
        raise argparse.ArgumentTypeError(f"{value!r} {BASE_URL_RULE}")
    return value


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
    b.add_argument("--base-url", type=_base_url, help="override base_url from site.yaml")
    b.add_argument("--no-cache", action="store_true", help="build from scratch, ignoring the cache")
    b.add_argument("-v", "--verbose", action="store_true", help="say more")
    b.add_argument(
        "--daemon",
        action="store_true",
        help="build in a server that stays running for later builds (see `digest daemon`)",
    )
    b.set_defaults(func=cmd_build, stat_ahead=None)  # the build server sets its own

    c = command("check", "Validate content; write nothing.")
    c.add_argument("--content", **content)  # type: ignore[arg-type]
    c.add_argument("--strict", action="store_true", help="fail on warnings too")
    c.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    c.add_argument(
        "--external",
        action="store_true",
        help="also ask every linked site whether the page is still there (network)",
    )
    c.add_argument(
        "--recheck",
        action="store_true",
        help="with --external, ask again the addresses that answered well in the last day",
    )
    c.add_argument("-v", "--verbose", action="store_true", help="list every issue checked")
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
    s.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder (default: a temporary folder, so _site keeps its real base_url)",
    )
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    s.add_argument("--port", type=_port, default=8000, help="port (default: 8000)")
    s.add_argument("--drafts", action="store_true", help="include draft issues")
    s.add_argument("-v", "--verbose", action="store_true", help="log every request")
    s.set_defaults(func=cmd_serve)

    a = command("daemon", "Show, stop or run the build server that `build --daemon` uses.")
    a.add_argument(
        "action",
        choices=("status", "stop", "run"),
        help="status, stop, or run (in the foreground; `build --daemon` starts it itself)",
    )
    a.add_argument("--content", **content)  # type: ignore[arg-type]
    a.add_argument(
        "--idle",
        type=float,
        metavar="MINUTES",
        help="with run, stop after this long without a build (default: 30)",
    )
    a.set_defaults(func=cmd_daemon)
    return p


def run() -> None:
    """The console script: `main`, then exit without tearing the interpreter down.

    A large build leaves hundreds of thousands of objects that Python would free one
    by one on the way out (a sixth of an editor's rebuild); everything is written
    and closed by then, so only the output streams need flushing.
    """
    try:
        code = main()
    except KeyboardInterrupt:  # before the command started (`main` handles it after)
        code = 130
    for stream in (sys.stdout, sys.stderr):
        # A closed pipe (`digest dump | head`) has nothing more to hear.
        with contextlib.suppress(OSError):
            stream.flush()
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `digest` command."""
    return call(parser().parse_args(argv))


def call(args: argparse.Namespace) -> int:
    """Run a parsed command; interruptions and unreadable paths become exit codes."""
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except OSError as exc:
        # A file or folder the command was pointed at cannot be read or written
        # (`import -o` into a missing folder, `new` in a read-only one): say which.
        where = f": {exc.filename}" if exc.filename else ""
        print(f"error: {exc.strerror or exc}{where}", file=sys.stderr)
        return EXIT_USAGE
