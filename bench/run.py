"""Benchmark runner: cold, no-change and one-edit build times and peak memory, per corpus size.

    python bench/run.py --sizes 100,1000,5000 [--hugo] [--repeat 3] [--json FILE]

For each size it generates the seeded corpus (`gen_corpus.py`) into a temporary folder,
then measures, each in a fresh subprocess (wall clock, best of `--repeat` runs; peak RSS,
the largest of those runs):

- cold:      `digest build --content C --out O --no-cache` with O and the cache deleted;
- no-change: `digest build --content C --out O` again with nothing changed;
- first-edit: append a sentence to the newest issue's last commentary, then build (once:
             this rebuild also keeps the replaced site aside as the next one's spare);
- one-edit:  the same again (an editor's later saves);
- start-up:  a fresh Python importing what such a rebuild imports, and nothing else: the
             part of one-edit that no build can avoid in a fresh process;
- daemon-edit: with --daemon, such an edit rebuilt by `digest build --daemon` once its
             build server runs and has built once (the untimed first edit starts it);
             the memory columns are the server's (its peak RSS, and its PSS at the end);
- serve-edit: with --serve, `digest serve` on the corpus: from saving such an edit to the
             server's "built" line (watcher latency included);
- hugo:      with --hugo and `hugo` on PATH, `hugo --quiet -s H -d HO` on the equivalent
             Hugo site (`hugo_site.py`), HO deleted before each run; its runs alternate
             with the cold ones (cold, hugo, cold, hugo...), so both meet the same load;
- hugo-links: with --hugo-links too, the same on the link-level Hugo site
             (`hugo_site.py --links`: term pages list links with commentary, as digest's do).

A failing command is reported with its exit code and the end of its stderr; the other
measurements still run and the exit status is 1.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import queue
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from gen_corpus import generate, write_native
from hugo_site import write_hugo

ROOT = Path(__file__).resolve().parent.parent
"""The project root: digest runs from here so `python -m digest` finds the package."""
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
TREE_SAMPLE_SECONDS = 0.01
TARGETS_AT = 1000
"""Issue #6 states its targets at this size."""


@dataclass(slots=True)
class Run:
    """One measured subprocess."""

    seconds: float
    """Wall clock, from spawn to exit."""
    cpu_seconds: float
    """User + system CPU time of the process and its waited-for children."""
    peak_rss_mb: float
    """Largest resident set of any single process of the run (kernel's ru_maxrss)."""
    tree_pss_mb: float | None
    """Largest sampled sum of proportional set sizes over the process and its children (Linux)."""
    returncode: int
    """Exit code (negative: killed by that signal)."""
    stderr_tail: str
    """Last lines of stderr, kept when the run failed."""
    timed: bool = True
    """False for the run that sampled memory: reading /proc takes CPU from the build."""


@dataclass(slots=True)
class Measure:
    """Repeated runs of one command at one size."""

    size: int
    """Issues in the corpus."""
    what: str
    """cold, no-change, one-edit or hugo."""
    command: str
    """The command line, as run."""
    runs: list[Run] = field(default_factory=list)
    """Every run, in order; stops at the first failure."""

    @property
    def ok(self) -> bool:
        """True when every run exited 0 and there was at least one."""
        return bool(self.runs) and all(r.returncode == 0 for r in self.runs)

    @property
    def timed(self) -> list[Run]:
        """The runs whose times count (all but the one that sampled memory)."""
        return [r for r in self.runs if r.timed]

    @property
    def best_seconds(self) -> float | None:
        """Fastest timed run, or None when a run failed."""
        return min(r.seconds for r in self.timed) if self.ok else None

    @property
    def best_cpu_seconds(self) -> float | None:
        """Least CPU time over the timed runs (less sensitive to a busy machine than wall)."""
        return min(r.cpu_seconds for r in self.timed) if self.ok else None

    @property
    def peak_rss_mb(self) -> float | None:
        """Largest single-process peak over the runs."""
        return max(r.peak_rss_mb for r in self.runs) if self.ok else None

    @property
    def tree_pss_mb(self) -> float | None:
        """Largest sampled whole-tree PSS over the runs, when sampling works."""
        values = [r.tree_pss_mb for r in self.runs if r.tree_pss_mb is not None]
        return max(values) if self.ok and values else None


class _TreeSampler(threading.Thread):
    """Samples the summed PSS of a process and its descendants from /proc until stopped."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kb = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak_kb = max(self.peak_kb, _tree_pss_kb(self.pid))
            self.stop.wait(TREE_SAMPLE_SECONDS)


def _tree_pss_kb(pid: int) -> int:
    total, todo, seen = 0, [pid], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            total += _pss_kb(p)
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children", "rb") as f:
                    todo.extend(int(c) for c in f.read().split())
        except (OSError, ValueError, IndexError):
            continue  # the process exited between two reads
    return total


def _pss_kb(pid: int) -> int:
    """A process's proportional set size: pages shared with others count by their share.

    Forked workers share most of their memory with the parent copy-on-write; summing
    their RSS would count it once per process.
    """
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    with open(f"/proc/{pid}/statm", "rb") as f:
        return int(f.read().split()[1]) * PAGE_KB


def _peak_rss_kb(pid: int) -> int:
    """A running process's peak resident set so far (VmHWM)."""
    with open(f"/proc/{pid}/status", "rb") as f:
        for line in f:
            if line.startswith(b"VmHWM:"):
                return int(line.split()[1])
    return 0


def _can_sample_tree() -> bool:
    me = os.getpid()
    return Path(f"/proc/{me}/task/{me}/children").exists()


def measure(
    cmd: list[str], cwd: Path, env: dict[str, str], timeout: float, sample: bool = False
) -> Run:
    """Run `cmd` once in a fresh process; wall time and peak RSS from the kernel (wait4).

    With `sample`, also the whole tree's peak PSS, read from /proc every 10 ms. That
    reading takes CPU (about 1 CPU-second over a 4-second cold build at 1,000 issues on
    two cores), so such a run's times are not used.
    """
    sample = sample and _can_sample_tree()
    # Earlier runs' files written back first: otherwise a run pays for the writeback of
    # the one before (a cold build writes 300 MB at 1,000 issues), and which tool
    # pays depends on the order (hyperfine's `--prepare sync` does the same).
    os.sync()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        try:
            proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err)
        except OSError as exc:
            return Run(0.0, 0.0, 0.0, None, 127, f"cannot start {cmd[0]}: {exc}")
        sampler = _TreeSampler(proc.pid) if sample else None
        if sampler:
            sampler.start()
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        killer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        if sampler:
            sampler.stop.set()
            sampler.join()
        tail = ""
        if proc.returncode != 0:
            err.seek(0)
            text = err.read().decode(errors="replace").strip().splitlines()
            tail = "\n".join(text[-12:]) or "(no stderr)"
            if proc.returncode == -9 and seconds >= timeout:
                tail = f"killed after the {timeout:.0f} s timeout\n{tail}"
    # ru_maxrss is in KB on Linux (bytes on macOS).
    rss_kb = usage.ru_maxrss / 1024 if sys.platform == "darwin" else usage.ru_maxrss
    tree = max(sampler.peak_kb, rss_kb) / 1024 if sampler else None
    cpu = usage.ru_utime + usage.ru_stime
    return Run(seconds, cpu, rss_kb / 1024, tree, proc.returncode, tail, timed=not sample)


def rmtree(path: Path) -> None:
    """Remove a folder if it exists."""
    shutil.rmtree(path, ignore_errors=True)


_ASIDE: list[Path] = []
"""Folders set aside, to delete when every measurement is done."""


def set_aside(path: Path) -> None:
    """Move a folder out of the way now; `delete_set_aside` removes it at the end.

    On ext4 without a journal, the inode allocator skips inodes freed in the last
    60 s (300 s while unwritten): making thousands of files right after deleting
    thousands is slower. Deleting the last output before a timed build measured that,
    not the build (for Hugo and digest alike), so outputs are renamed away instead.
    """
    if path.exists():
        target = path.parent / f".aside-{len(_ASIDE)}-{path.name}"
        path.rename(target)
        _ASIDE.append(target)


def delete_set_aside() -> None:
    """Delete what `set_aside` kept."""
    while _ASIDE:
        rmtree(_ASIDE.pop())


def append_sentence(issue: Path, n: int) -> None:
    """Append one sentence to the file's last link commentary (the end of the file)."""
    with issue.open("a", encoding="utf-8") as f:
        f.write(f"편집 테스트 문장 {n}: one more sentence appended by the benchmark.\n")


def same_tree(a: Path, b: Path) -> list[str]:
    """Relative paths of the files that differ between two folders (missing ones too)."""
    files_a = {p.relative_to(a).as_posix(): p for p in a.rglob("*") if p.is_file()}
    files_b = {p.relative_to(b).as_posix(): p for p in b.rglob("*") if p.is_file()}
    both = files_a.keys() & files_b.keys()
    changed = [k for k in both if files_a[k].read_bytes() != files_b[k].read_bytes()]
    return sorted(set(files_a) ^ set(files_b)) + sorted(changed)


def bench_env() -> dict[str, str]:
    """The environment digest runs in: this one, with the project on the path and bytecode.

    A sandbox may set PYTHONDONTWRITEBYTECODE; an installed digest has its bytecode
    (pip compiles it), so the runner lets Python keep it (see `compile_digest`).
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    paths = [str(ROOT), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    return env


def compile_digest() -> None:
    """Compile digest's modules before the first timed run, as `pip install` would."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(ROOT / "digest")],
        env=bench_env(),
        check=True,
    )


STARTUP = (
    "import digest.cli, digest.site, digest.load, digest.checks, digest.render, digest.groups,"
    " digest.reuse, digest.feeds, digest.search, digest.live, digest.workers, digest.streams"
)
"""What a one-edit rebuild imports (`python -X importtime`): the start-up row's command."""


def write_corpora(
    size: int, seed: int, content: Path, hugo: Path | None, hugo_links: Path | None
) -> tuple[int, int, str]:
    """Write the corpus, and the Hugo sites given; its links, bytes and newest issue."""
    corpus = generate(size, seed)
    nbytes = write_native(corpus, content)
    if hugo is not None:
        write_hugo(corpus, hugo)
    if hugo_links is not None:
        write_hugo(corpus, hugo_links, links=True)
    count = sum(len(g.links) for issue in corpus.issues for g in issue.groups)
    return count, nbytes, corpus.issues[0].slug


_Job = tuple[str, list[str], Callable[[int], None] | None, Path]
"""A measurement to take: its name, command, what to do before each run, and cwd."""


class SizeBench:
    """The measurements of one corpus size, in a folder of their own."""

    def __init__(self, size: int, work: Path, args: argparse.Namespace) -> None:
        self.size = size
        self.args = args
        self.base = work / f"n{size}"
        self.content = self.base / "content"
        self.out = self.base / "_site"
        self.results: list[Measure] = []
        self.env = bench_env()
        self.build = [*shlex.split(args.digest), "build"]
        self.build += ["--content", str(self.content), "--out", str(self.out)]

    def log(self, text: str) -> None:
        """A progress line on stderr."""
        print(f"[{self.size}] {text}", file=sys.stderr, flush=True)

    def repeat(
        self,
        what: str,
        cmd: list[str],
        before: Callable[[int], None] | None = None,
        cwd: Path = ROOT,
    ) -> Measure:
        """Run `cmd` `--repeat` times (fewer after a slow or failed run), `before(i)` first.

        Then once more, untimed, sampling the memory of the whole process tree.
        """
        return self.alternate([(what, cmd, before, cwd)])[0]

    def alternate(self, jobs: list[_Job]) -> list[Measure]:
        """`repeat` for several commands at once, their runs taken in turn.

        Timings drift with the machine's load over minutes: a comparison (digest's cold
        build against Hugo's) is fair only if each tool's runs meet the same conditions.
        """
        measures = [Measure(self.size, what, shlex.join(cmd)) for what, cmd, _, _ in jobs]
        going = [True] * len(jobs)
        for i in range(self.args.repeat):
            for n, (_, cmd, before, cwd) in enumerate(jobs):
                if not going[n]:
                    continue
                if before:
                    before(i)
                run = measure(cmd, cwd, self.env, self.args.timeout)
                measures[n].runs.append(run)
                going[n] = run.returncode == 0 and run.seconds <= self.args.slow
        for m, (what, cmd, before, cwd) in zip(measures, jobs, strict=True):
            if m.ok and _can_sample_tree():
                if before:
                    before(len(m.runs))
                m.runs.append(measure(cmd, cwd, self.env, self.args.timeout, sample=True))
            self.results.append(m)
            self.log(f"{what}: {m.best_seconds:.3f} s" if m.ok else f"{what}: FAILED")
        return measures

    def once(self, what: str, cmd: list[str]) -> bool:
        """Run an unreported step; on failure record it so it shows up in the report."""
        run = measure(cmd, ROOT, self.env, self.args.timeout)
        if run.returncode != 0:
            self.results.append(Measure(self.size, what, shlex.join(cmd), [run]))
            self.log(f"{what}: FAILED")
        return run.returncode == 0

    def clean(self, _: int = 0) -> None:
        """Delete the output and any build cache, for a truly cold build."""
        set_aside(self.out)
        set_aside(self.content / ".digest-cache")
        set_aside(self.base / ".digest-cache")

    def run(self) -> list[Measure]:
        """Generate the corpus and take every measurement."""
        start = time.perf_counter()
        hugo = self.args.hugo and shutil.which("hugo")
        hugo_site = self.base / "hugo" if hugo else None
        links_site = self.base / "hugo_links" if hugo and self.args.hugo_links else None
        # In a child process: a process's peak RSS starts from its parent's at exec
        # (Linux carries the old memory's high-water mark over), so a runner that held
        # the corpus made every measured command's peak at least that.
        forked = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(1, mp_context=forked) as pool:
            written = pool.submit(
                write_corpora, self.size, self.args.seed, self.content, hugo_site, links_site
            )
            links, nbytes, newest_slug = written.result()
        took = time.perf_counter() - start
        self.log(f"corpus: {links} links, {nbytes / 1e6:.1f} MB, generated in {took:.2f} s")
        newest = self.content / "issues" / f"{newest_slug}.md"
        cold = [*self.build, "--no-cache"]
        jobs: list[_Job] = [] if self.args.no_digest else [("cold", cold, self.clean, ROOT)]
        if hugo:
            site, out = self.base / "hugo", self.base / "hugo_out"

            def clean_hugo(_: int) -> None:
                set_aside(out)
                set_aside(site / "resources")

            command = ["hugo", "--quiet", "-s", str(site), "-d", str(out)]
            jobs.append(("hugo", command, clean_hugo, self.base))
        # Digest's cold build and Hugo's, run in turn: the two are compared.
        first = self.alternate(jobs)[0] if jobs else None
        if (
            first is not None
            and first.what == "cold"
            and first.ok
            and self.once("cache fill", self.build)
        ):
            self.repeat("no-change", self.build)
            # The first rebuild also keeps the replaced site as the next one's spare.
            edit = Measure(self.size, "first-edit", shlex.join(self.build))
            append_sentence(newest, 0)
            edit.runs.append(measure(self.build, ROOT, self.env, self.args.timeout))
            self.results.append(edit)
            edited = self.repeat("one-edit", self.build, lambda i: append_sentence(newest, i + 1))
            if self.args.verify and edited.ok:
                self.verify(cold)
            self.repeat("start-up", [sys.executable, "-c", STARTUP])
            if self.args.daemon:
                self.daemon_edits(newest, cold)
            if self.args.serve:
                self.serve_edits(newest)
        if hugo and self.args.hugo_links:

            def clean_hugo_links(_: int) -> None:
                set_aside(self.base / "hugo_links_out")
                set_aside(self.base / "hugo_links" / "resources")

            site, out = self.base / "hugo_links", self.base / "hugo_links_out"
            command = ["hugo", "--quiet", "-s", str(site), "-d", str(out)]
            self.repeat("hugo-links", command, clean_hugo_links, cwd=self.base)
        if not self.args.keep:
            set_aside(self.base)  # deleted at the end: the next size's builds are timed
        return self.results

    def daemon_edits(self, newest: Path, cold: list[str]) -> None:
        """`digest build --daemon`: an edit rebuilt by the build server, once it runs."""
        cmd = [*self.build, "--daemon"]
        stop = [*shlex.split(self.args.digest), "daemon", "stop", "--content", str(self.content)]
        # Untimed: this build starts the server, which has nothing in memory yet.
        append_sentence(newest, 20_000)
        try:
            if not self.once("daemon start", cmd):
                return
            m = self.repeat("daemon-edit", cmd, lambda i: append_sentence(newest, 20_001 + i))
            if m.ok:
                pid = int((self.base / ".digest-cache" / "daemon.lock").read_text())
                last = m.runs[-1]
                last.peak_rss_mb = _peak_rss_kb(pid) / 1024
                last.tree_pss_mb = _pss_kb(pid) / 1024
                self.log(f"daemon-edit: the server's peak RSS {last.peak_rss_mb:.0f} MB")
                if self.args.verify:
                    self.verify(cold, "daemon-edit")
        finally:
            subprocess.run(stop, cwd=ROOT, env=self.env, capture_output=True, timeout=60)

    def serve_edits(self, newest: Path) -> None:
        """`digest serve`: time from saving an edit to the server's "built" line."""
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        out = self.base / "_serve"
        cmd = [*shlex.split(self.args.digest), "serve", "--content", str(self.content)]
        cmd += ["--out", str(out), "--port", str(port)]
        m = Measure(self.size, "serve-edit", shlex.join(cmd))
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        lines: queue.Queue[str] = queue.Queue()

        def read() -> None:
            for line in proc.stdout or ():
                lines.put(line)

        threading.Thread(target=read, daemon=True).start()

        def built() -> bool:
            deadline = time.perf_counter() + self.args.timeout
            while time.perf_counter() < deadline:
                try:
                    line = lines.get(timeout=1)
                except queue.Empty:
                    continue
                if line.startswith("built "):
                    return True
                if "failed" in line:
                    return False
            return False

        try:
            if built():
                time.sleep(1)  # let the watcher start
                # One untimed edit first: a session's first rebuild also sets the replaced
                # site aside for the next ones (as `first-edit` does for `digest build`).
                append_sentence(newest, 9_999)
                if not built():
                    m.runs.append(Run(0.0, 0.0, 0.0, None, 1, "serve failed to rebuild"))
                for i in range(self.args.repeat if not m.runs else 0):
                    os.sync()  # as `measure` does
                    time.sleep(0.5)
                    append_sentence(newest, 10_000 + i)
                    start = time.perf_counter()
                    ok = built()
                    took = time.perf_counter() - start
                    m.runs.append(Run(took, 0.0, 0.0, None, 0 if ok else 1, ""))
            else:
                m.runs.append(Run(0.0, 0.0, 0.0, None, 1, "serve never finished its first build"))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        self.results.append(m)
        self.log(f"serve-edit: {m.best_seconds:.3f} s" if m.ok else "serve-edit: FAILED")

    def verify(self, cold: list[str], after: str = "one-edit") -> None:
        """Check the incremental output is byte-identical to a cold build of the same content."""
        fresh = self.base / "_site_cold"
        cmd = [str(fresh) if part == str(self.out) else part for part in cold]
        if not self.once("verify", cmd):
            return
        diff = same_tree(self.out, fresh)
        self.log(
            f"verify: {after} output is byte-identical to a cold build"
            if not diff
            else f"verify: {len(diff)} files differ from a cold build, e.g. {diff[:3]}"
        )
        if diff:
            run = Run(0.0, 0.0, 0.0, None, 1, "differs: " + ", ".join(diff[:10]))
            self.results.append(Measure(self.size, "verify", shlex.join(cmd), [run]))


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def print_table(results: list[Measure]) -> None:
    """The compact results table, then the ratios and failures."""
    header = (
        f"{'issues':>7} {'measure':<11} {'best s':>8} {'cpu s':>8} {'ms/issue':>9} {'runs':>4} "
    )
    header += f"{'peak RSS MB':>11} {'tree PSS MB':>11}"
    print(header)
    print("-" * len(header))
    for m in results:
        if m.what in ("cache fill", "verify"):
            continue
        best = m.best_seconds
        per = None if best is None else best * 1000 / m.size
        runs = f"{len(m.timed)}" if m.ok else "FAIL"
        # A long-running server: wall time only (the build server's memory is shown).
        timed_only = m.what in ("serve-edit", "daemon-edit")
        cpu = None if timed_only else m.best_cpu_seconds
        peak = None if m.what == "serve-edit" else m.peak_rss_mb
        print(
            f"{m.size:>7} {m.what:<11} {_fmt(best, '.3f'):>8} "
            f"{_fmt(cpu, '.3f'):>8} {_fmt(per, '.3f'):>9} {runs:>4} "
            f"{_fmt(peak, '.0f'):>11} {_fmt(m.tree_pss_mb, '.0f'):>11}"
        )
    by = {(m.size, m.what): m for m in results}
    for size in sorted({m.size for m in results}):
        for which in ("hugo", "hugo-links"):
            cold, hugo = by.get((size, "cold")), by.get((size, which))
            if cold and hugo and cold.ok and hugo.ok:
                assert cold.best_seconds is not None and hugo.best_seconds
                ratio = cold.best_seconds / hugo.best_seconds
                assert cold.best_cpu_seconds is not None and hugo.best_cpu_seconds
                cpu = cold.best_cpu_seconds / hugo.best_cpu_seconds
                print(f"{size:>7} digest cold / {which} = {ratio:.2f} (wall), {cpu:.2f} (cpu)")
    target = {w: by.get((TARGETS_AT, w)) for w in ("cold", "no-change", "one-edit", "hugo")}
    if all(m and m.ok for m in target.values()):
        print_targets(
            target,
            by.get((TARGETS_AT, "serve-edit")),
            by.get((TARGETS_AT, "hugo-links")),
            by.get((TARGETS_AT, "start-up")),
            by.get((TARGETS_AT, "daemon-edit")),
        )
    failures = [m for m in results if not m.ok]
    for m in failures:
        last = m.runs[-1] if m.runs else None
        code = last.returncode if last else "?"
        print(f"\nFAILED [{m.size} issues, {m.what}] exit {code}: {m.command}")
        if last and last.stderr_tail:
            print("  " + last.stderr_tail.replace("\n", "\n  "))
    if failures:
        print("\n(the corpus is deleted afterwards: rerun with --keep --workdir DIR to inspect it)")


def print_targets(
    m: dict[str, Measure | None],
    serve: Measure | None = None,
    links: Measure | None = None,
    startup: Measure | None = None,
    daemon: Measure | None = None,
) -> None:
    """Issue #6's targets at 1,000 issues, each with ok or MISS."""
    cold, nochange, edit, hugo = (m[k] for k in ("cold", "no-change", "one-edit", "hugo"))
    assert cold and nochange and edit and hugo
    c, n, e, h = (x.best_seconds or 0.0 for x in (cold, nochange, edit, hugo))
    builds = [cold, nochange, edit] + ([daemon] if daemon is not None and daemon.ok else [])
    # The build server's peak RSS: its PSS is only sampled once, at the end.
    peak = max(
        (x.peak_rss_mb if x is daemon else x.tree_pss_mb or x.peak_rss_mb) or 0.0 for x in builds
    )
    checks = [(f"cold {c:.2f} s <= 1.5 x hugo {h:.2f} s", c <= 1.5 * h)]
    if links is not None and links.ok and links.best_seconds is not None:
        k = links.best_seconds
        checks.append((f"cold {c:.2f} s <= 1.5 x hugo-links {k:.2f} s", c <= 1.5 * k))
    edit_text = f"one-edit (a fresh process, no build server) {e * 1000:.0f} ms <= 300 ms"
    if startup is not None and startup.ok and startup.best_seconds is not None:
        edit_text += f" (of which start-up {startup.best_seconds * 1000:.0f} ms)"
    checks.append((edit_text, e <= 0.3))
    if daemon is not None and daemon.ok and daemon.best_seconds is not None:
        d = daemon.best_seconds
        checks.append((f"daemon-edit {d * 1000:.0f} ms <= 300 ms", d <= 0.3))
    if serve is not None and serve.ok and serve.best_seconds is not None:
        s = serve.best_seconds
        checks.append((f"serve-edit {s * 1000:.0f} ms <= 300 ms", s <= 0.3))
    checks.append((f"no-change {n * 1000:.0f} ms <= 200 ms", n <= 0.2))
    checks.append((f"peak memory {peak:.0f} MB <= 400 MB", peak <= 400))
    print(f"targets at {TARGETS_AT} issues (issue #6):")
    for text, ok in checks:
        print(f"  {'ok  ' if ok else 'MISS'} {text}")


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; exit 1 when any measured command failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000", help="issue counts, comma-separated")
    parser.add_argument("--hugo", action="store_true", help="also build the Hugo equivalent")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (best)")
    parser.add_argument(
        "--slow", type=float, default=20.0, help="stop repeating after a run longer than this (s)"
    )
    parser.add_argument("--timeout", type=float, default=900.0, help="kill a run after (s)")
    parser.add_argument("--seed", type=int, default=42, help="corpus seed (42)")
    parser.add_argument(
        "--digest",
        default=f"{shlex.quote(sys.executable)} -m digest",
        help="digest command (default: this python -m digest)",
    )
    parser.add_argument(
        "--verify", action="store_true", help="check the one-edit output equals a cold build"
    )
    parser.add_argument(
        "--hugo-links",
        action="store_true",
        help="with --hugo, also the link-level Hugo site (hugo_site.py --links)",
    )
    parser.add_argument(
        "--serve", action="store_true", help="also time edits under `digest serve` (serve-edit)"
    )
    parser.add_argument(
        "--daemon",
        action="store_true",
        help="also time edits rebuilt by `digest build --daemon` (daemon-edit)",
    )
    parser.add_argument("--no-digest", action="store_true", help="time only hugo (implies --hugo)")
    parser.add_argument("--workdir", type=Path, help="where corpora go (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep corpora and outputs")
    parser.add_argument("--json", type=Path, help="also write every run as JSON here")
    args = parser.parse_args(argv)
    args.hugo = args.hugo or args.no_digest
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error("--sizes takes integers, e.g. 100,1000,5000")
    if not sizes or min(sizes) < 1 or args.repeat < 1:
        parser.error("--sizes and --repeat must be positive")
    if args.hugo and shutil.which("hugo") is None:
        print(
            "warning: --hugo given but no hugo on PATH (apt-get install hugo); skipping it",
            file=sys.stderr,
        )
    if args.hugo and shutil.which("hugo"):
        version = subprocess.run(["hugo", "version"], capture_output=True, text=True).stdout
        print(f"hugo: {version.strip()}", file=sys.stderr)

    work = args.workdir or Path(tempfile.mkdtemp(prefix="digest-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    results: list[Measure] = []
    if not args.no_digest:
        compile_digest()
    try:
        for size in sizes:
            results += SizeBench(size, work, args).run()
    finally:
        delete_set_aside()
        if not args.keep and args.workdir is None:
            rmtree(work)
    print(f"\npython {sys.version.split()[0]}, {os.cpu_count()} CPUs, seed {args.seed}")
    print_table(results)
    if args.json:
        data = [asdict(m) | {"ok": m.ok, "best_seconds": m.best_seconds} for m in results]
        args.json.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return 0 if all(m.ok for m in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
