"""The cache Store: a main file plus a journal of additions, both signed."""

from __future__ import annotations

from pathlib import Path

import pytest

from digest import cache
from digest.cache import Store


@pytest.fixture(autouse=True)
def fresh_memory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Each Store below must read its files, as a new process would.
    monkeypatch.setattr(cache, "_MEMORY_SIZE", 0)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


def filled(folder: Path, n: int) -> Store:
    store = Store(folder, "s")
    for i in range(n):
        store.put(("k", i), {"value": i})
    store.save()
    return store


def test_additions_go_to_a_small_journal_and_read_back(tmp_path: Path) -> None:
    filled(tmp_path, 100)
    main = (tmp_path / "s.pickle").stat()
    store = Store(tmp_path, "s")
    for i in range(100):
        assert store.get(("k", i)) == {"value": i}
    store.put(("k", 100), {"value": 100})
    store.put(("k", 5), {"value": "changed"})
    store.save()
    assert (tmp_path / "s.pickle").stat().st_mtime_ns == main.st_mtime_ns  # not rewritten
    journal = tmp_path / "s.journal.pickle"
    assert journal.stat().st_size < main.st_size / 10
    again = Store(tmp_path, "s")
    assert again.get(("k", 100)) == {"value": 100}
    assert again.get(("k", 5)) == {"value": "changed"}
    assert again.get(("k", 6)) == {"value": 6}


def test_a_big_journal_is_folded_in_and_unused_entries_dropped(tmp_path: Path) -> None:
    filled(tmp_path, 20)
    store = Store(tmp_path, "s")
    for i in range(10, 20):
        store.get(("k", i))
    for i in range(20, 30):  # 10 additions: more than a quarter of the store
        store.put(("k", i), i)
    store.save()
    assert not (tmp_path / "s.journal.pickle").exists()
    again = Store(tmp_path, "s")
    assert again.get(("k", 0)) is None  # unused in the last run: dropped
    assert [again.get(("k", i)) for i in (10, 25)] == [{"value": 10}, 25]


def test_a_journal_of_another_main_file_is_ignored(tmp_path: Path) -> None:
    filled(tmp_path, 100)
    store = Store(tmp_path, "s")
    store.put(("k", 1), "from the journal")
    store.save()
    journal = (tmp_path / "s.journal.pickle").read_bytes()
    filled(tmp_path, 120)  # a new main file: the old journal no longer belongs to it
    (tmp_path / "s.journal.pickle").write_bytes(journal)
    assert Store(tmp_path, "s").get(("k", 1)) == {"value": 1}


def test_a_tampered_journal_is_a_miss(tmp_path: Path) -> None:
    filled(tmp_path, 100)
    store = Store(tmp_path, "s")
    store.put(("k", 1), "from the journal")
    store.save()
    path = tmp_path / "s.journal.pickle"
    data = bytearray(path.read_bytes())
    data[-5] ^= 1
    path.write_bytes(bytes(data))
    assert Store(tmp_path, "s").get(("k", 1)) == {"value": 1}


def test_saves_inside_save_later_wait_for_flush(tmp_path: Path) -> None:
    # `digest serve` shows the rebuilt site first and writes its cache after.
    with cache.SaveLater() as later:
        store = filled(tmp_path, 3)
        assert store.get(("k", 1)) == {"value": 1}  # readable before it is pickled
        assert not (tmp_path / "s.pickle").exists()
    assert not (tmp_path / "s.pickle").exists()
    later.flush()
    assert Store(tmp_path, "s").get(("k", 2)) == {"value": 2}
    # Outside the block, saves are immediate again.
    store.put(("k", 3), {"value": 3})
    store.save()
    assert Store(tmp_path, "s").get(("k", 3)) == {"value": 3}
