"""The build cache in `.digest-cache/`: parsed issues by content hash, page keys by path.

Everything here is an optimisation: a missing, stale or corrupt cache only makes a
build slower, never different (tests compare cached builds with cold ones byte for byte).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import pickle
import secrets
import tempfile
from pathlib import Path
from typing import Any

from digest import __version__

CACHE_DIR_NAME = ".digest-cache"
_FORMAT = 3
_MAGIC = b"DGC1"


def _secret() -> bytes | None:
    """This user's key for signing cache files; None when it cannot be kept.

    Cache files hold pickles, and unpickling runs code: a `.digest-cache/` planted in
    a contributed pull request must never be loaded. Files are signed with a key kept
    outside the project (in the user's cache folder), so only files this user's
    builds wrote are trusted.
    """
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = Path(base) / "digest" / "cache-key"
    try:
        return path.read_bytes()
    except OSError:
        pass
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(32))
        return path.read_bytes()
    except FileExistsError:
        return path.read_bytes()
    except OSError:
        return None


def _sign(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()


def cache_dir_for(content_dir: Path) -> Path:
    """The cache folder: beside the content folder, as DESIGN.md says."""
    return content_dir.absolute().parent / CACHE_DIR_NAME


def fingerprint(*parts: object) -> str:
    """A short stable hash of reprs of `parts` (strings, numbers, tuples of those)."""
    h = hashlib.sha256()
    for part in parts:
        h.update(repr(part).encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()[:32]


def tree_stats(*roots: Path) -> list[tuple[str, int, int, int]]:
    """(path, size, mtime_ns, ctime_ns) of every file under `roots`: cheap change detection.

    ctime too, since a tool may restore a file's mtime after changing it.
    """
    out: list[tuple[str, int, int, int]] = []
    stack = [str(r) for r in roots]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            # Recorded, not skipped: a folder that became unreadable is a change (the
            # build then says what is wrong with it), not "nothing changed".
            out.append((folder, -1, -1, -1))
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                else:
                    st = entry.stat()
                    out.append((entry.path, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
            except OSError:
                out.append((entry.path, -1, -1, -1))
    out.sort()
    return out


@functools.cache
def code_identity() -> str:
    """The tool's own code, by file stats: an edited checkout never reuses stale results.

    Worked out once per process: it names the code that is running, which an edit to
    the files during `digest serve` does not change. Compiled files are left out:
    Python writes them as it imports, and they follow from the sources.
    """
    files = tree_stats(Path(__file__).resolve().parent)
    compiled = f"{os.sep}__pycache__{os.sep}"
    return fingerprint(__version__, [f for f in files if compiled not in f[0]])


class Store:
    """One dict on disk, loaded lazily and saved atomically; each value pickled on its own.

    Values stay pickled until asked for, so a build that changed one issue neither
    unpickles what it does not use nor pickles again what it did not change. (Strings
    are kept as they are: unpickling tens of thousands one by one costs more.) What a
    build adds goes to a small journal beside the main file, folded in (and unused
    entries dropped) once it grows: an editor's rebuild writes kilobytes, not the
    whole store. The tool version and a caller-given salt are part of the files'
    identity, so an upgrade or a config change starts from an empty store.
    """

    def __init__(self, folder: Path | None, name: str, salt: str = "") -> None:
        self.key = _secret() if folder is not None else None
        self.path = folder / f"{name}.pickle" if folder is not None and self.key else None
        self.journal = folder / f"{name}.journal.pickle" if self.path and folder else None
        self.identity = (_FORMAT, code_identity(), salt)
        self._data: dict[Any, bytes | str] | None = None
        self._objects: dict[Any, tuple[bytes, Any]] = {}
        self._used: set[Any] = set()
        self._base = b""
        """Signature of the main file: a journal belongs to exactly one."""
        self._journaled: dict[Any, bytes | str] = {}
        """Entries in the journal: the ones loaded, then the ones added this run."""
        self._rewrite = False
        self._memory: dict[Any, Any] = {}
        """Values of a store without a file, as they are."""
        self._pending: dict[Any, Any] = {}
        """Values put since the last save, not pickled yet."""
        self.dirty = False

    @property
    def data(self) -> dict[Any, bytes | str]:
        """The stored dict: pickled values and strings (empty if absent, unreadable or stale)."""
        if self._data is None:
            self._data = {}
            if self.path is not None and self.journal is not None:
                remembered = _MEMORY.get(self.path)
                if remembered is not None and remembered[0] == self._version():
                    # This process wrote or read those very files: `digest serve`
                    # rebuilds skip reading, checking and unpickling them again.
                    self._data, self._objects, self._base, journaled = remembered[1]
                    self._journaled = dict(journaled)
                    return self._data
                base = self._read(self.path)
                if base is not None:
                    self._base, self._data = base
                    journal = self._read(self.journal)
                    if journal is not None and journal[1].get(_BASE) == self._base:
                        self._journaled = {k: v for k, v in journal[1].items() if k != _BASE}
                        self._data.update(self._journaled)
                    self._remember()
        return self._data

    def _read(self, path: Path) -> tuple[bytes, dict[Any, bytes | str]] | None:
        """A signed file's signature and dict; None if absent, foreign or stale."""
        assert self.key is not None
        try:
            blob = path.read_bytes()
            signature, payload = blob[4:36], blob[36:]
            # Verify before unpickling: an unsigned or foreign file is a miss.
            if blob[:4] == _MAGIC and hmac.compare_digest(signature, _sign(self.key, payload)):
                identity, data = pickle.loads(payload)
                if identity == self.identity and isinstance(data, dict):
                    return signature, data
        except Exception:  # any unreadable cache is just a miss
            pass
        return None

    def _version(self) -> object:
        assert self.path is not None and self.journal is not None
        return (_stat(self.path), _stat(self.journal), self.identity)

    def _remember(self) -> None:
        if self.path is not None and self._data is not None:
            _MEMORY.pop(self.path, None)
            state = (self._data, self._objects, self._base, dict(self._journaled))
            _MEMORY[self.path] = (self._version(), state)
            while len(_MEMORY) > _MEMORY_SIZE:  # one site's stores; forget older sites
                del _MEMORY[next(iter(_MEMORY))]

    def get(self, key: Any) -> Any:
        """The value for `key`, or None; marks the key as used this run."""
        if self.path is None:
            return self._memory.get(key)
        if key in self._pending:
            return self._pending[key]
        blob = self.data.get(key)
        if blob is None:
            return None
        if isinstance(blob, str):
            self._used.add(key)
            return blob  # kept as it is (see `put`)
        known = self._objects.get(key)
        if known is not None and known[0] is blob:
            value = known[1]  # unpickled by an earlier build of this process
        else:
            try:
                value = pickle.loads(blob)
            except Exception:  # signed but unreadable (say, a class that changed): a miss
                return None
            self._objects[key] = (blob, value)
        self._used.add(key)
        return value

    def put(self, key: Any, value: Any) -> None:
        """Store `value` under `key` (kept by the next save)."""
        if self.path is None:  # never saved (no cache folder): no need to pickle it
            self._memory[key] = value
            return
        if type(value) is str:
            self.data[key] = self._journaled[key] = value
            self._pending.pop(key, None)
        else:
            # Pickled when saved: `digest serve` saves after it has shown the site.
            self._pending[key] = value
        self._used.add(key)
        self.dirty = True

    def _pickle_pending(self) -> None:
        for key, value in self._pending.items():
            blob = self.data[key] = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
            self._objects[key] = (blob, value)
            self._journaled[key] = blob
        self._pending = {}

    def replace(self, data: dict[Any, Any]) -> None:
        """Replace the whole dict (for stores that are rewritten on every build)."""
        self._data, self._memory, self._pending = {}, {}, {}
        self._used = set()
        for key, value in data.items():
            self.put(key, value)
        self._rewrite = True

    def save(self, prune: bool = True) -> None:
        """Write what changed; with `prune`, a rewrite drops entries not used this run.

        Additions go to the journal until it holds a quarter of the store; then the
        main file is written again, without unused entries, and the journal starts over.
        """
        if self.path is None or self.journal is None or not self.dirty:
            return
        if _LATER:
            _LATER[-1].stores[id(self)] = (self, prune)
            return
        self._pickle_pending()
        assert self._data is not None  # loaded by the puts that made it dirty
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self._rewrite or not self._base or len(self._journaled) * 4 > len(self._data):
            if prune:
                self._data = {k: v for k, v in self._data.items() if k in self._used}
            self._base = self._write(self.path, self._data)
            self._journaled = {}
            self.journal.unlink(missing_ok=True)
            self._objects = {k: v for k, v in self._objects.items() if k in self._data}
        else:
            self._write(self.journal, {**self._journaled, _BASE: self._base})
        self.dirty = self._rewrite = False
        self._remember()

    def _write(self, path: Path, data: dict[Any, Any]) -> bytes:
        """Write a signed file atomically; return its signature."""
        assert self.key is not None
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            payload = pickle.dumps((self.identity, data), protocol=pickle.HIGHEST_PROTOCOL)
            signature = _sign(self.key, payload)
            with os.fdopen(fd, "wb") as f:
                f.write(_MAGIC + signature + payload)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return signature


class SaveLater:
    """Within this block stores are saved only when `flush` is called.

    `digest serve` shows a rebuilt site first and writes the cache after: the cache
    is only ever an optimisation, so a server stopped in between loses nothing but time.
    """

    def __init__(self) -> None:
        self.stores: dict[int, tuple[Store, bool]] = {}

    def __enter__(self) -> SaveLater:
        _LATER.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _LATER.remove(self)

    def flush(self) -> None:
        """Save the stores whose saves were put off."""
        stores, self.stores = self.stores, {}
        for store, prune in stores.values():
            store.save(prune)


def save_now() -> None:
    """Stop putting saves off in this process (a forked worker saves its own stores)."""
    _LATER.clear()


_LATER: list[SaveLater] = []
"""The `SaveLater` blocks this process is in, innermost last."""

_BASE = ("journal of", "main file")
"""The journal's entry naming its main file's signature (no caller key is a tuple of these)."""

_MEMORY: dict[Path, tuple[object, Any]] = {}
"""Stores this process read or wrote, by path, with the files' identity at the time."""
_MEMORY_SIZE = 8


def _stat(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)
