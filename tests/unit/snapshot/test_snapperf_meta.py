"""Snapshot metadata reads through the driver's TreeCache: a file is parsed again only when
it changed on disk (another process's write included), what the driver wrote itself needs
no parse, and the old current snapshot's un-marked file is exactly what format() writes.
StagedFiles: nothing visible before commit, nothing left after discard."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from pyvirt.conf.snapshot import DomainSnapshotDef, SnapshotState
from pyvirt.drivers.qemu.snapshot_meta import SnapshotTree, StagedFiles, TreeCache
from pyvirt.drivers.qemu.status import atomic_write

UUID = "6b3f1a52-3b9e-4a37-9d35-4f1ad3e2b7a1"
DOMAIN = "<domain type='qemu'><name>d</name><uuid>" + UUID + "</uuid><devices><disk type='file'><source file='/x'/>" \
         "<target dev='vda'/></disk></devices></domain>"


def snap(name: str, parent: str | None, t: int, description: str | None = None) -> DomainSnapshotDef:
    d = DomainSnapshotDef(name=name, state=SnapshotState.SHUTOFF, creation_time=t, parent=parent,
                          description=description)
    d.set_domain_xml(DOMAIN)
    return d


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the files parsed (every DomainSnapshotDef.parse in internal mode)."""
    seen: list[str] = []
    real = DomainSnapshotDef.parse.__func__  # type: ignore[attr-defined]

    def parse(cls: type[DomainSnapshotDef], xml: str, /, **kw: bool) -> tuple[DomainSnapshotDef, bool]:
        d, cur = real(cls, xml, **kw)
        if kw.get("internal"):
            seen.append(d.name or "")
        return d, cur

    monkeypatch.setattr(DomainSnapshotDef, "parse", classmethod(parse))
    return seen


def test_cache_parses_only_changed_files(tmp_path: Path, parses: list[str]) -> None:
    cache = TreeCache()
    t = SnapshotTree.load(tmp_path, UUID, cache)
    for i, n in enumerate(("a", "b", "c")):
        t.snaps[n] = snap(n, t.current, 100 + i)
        t.set_current(n)
    assert parses == []  # our own writes went into the cache as written

    t2 = SnapshotTree.load(tmp_path, UUID, cache)
    assert parses == []
    assert list(t2.snaps) == ["a", "b", "c"] and t2.current == "c"

    # another process (a one-shot pyvirsh) rewrites b: only b is read again
    other = SnapshotTree.load(tmp_path, UUID)
    assert sorted(parses) == ["a", "b", "c"]  # no cache: everything parsed
    parses.clear()
    other.snaps["b"].description = "edited elsewhere"
    other.save("b")
    t3 = SnapshotTree.load(tmp_path, UUID, cache)
    assert parses == ["b"]
    assert t3.snaps["b"].description == "edited elsewhere"

    # ... and removes c: gone from the next read, current with it
    (tmp_path / "c.xml").unlink()
    parses.clear()
    t4 = SnapshotTree.load(tmp_path, UUID, cache)
    assert parses == [] and list(t4.snaps) == ["a", "b"] and t4.current is None


def test_same_size_rewrite_is_seen(tmp_path: Path, parses: list[str]) -> None:
    """Content changes that keep the size (a one-letter edit) still invalidate: every write
    is a new inode."""
    cache = TreeCache()
    t = SnapshotTree.load(tmp_path, UUID, cache)
    t.snaps["a"] = snap("a", None, 1, description="x")
    t.save("a")
    text = (tmp_path / "a.xml").read_text()
    atomic_write(tmp_path / "a.xml", text.replace("<description>x<", "<description>y<"))
    assert SnapshotTree.load(tmp_path, UUID, cache).snaps["a"].description == "y"
    assert parses == ["a"]


def test_failed_operation_forgets(tmp_path: Path, parses: list[str]) -> None:
    cache = TreeCache()
    t = SnapshotTree.load(tmp_path, UUID, cache)
    t.snaps["a"] = snap("a", None, 1)
    t.save("a")
    SnapshotTree.load(tmp_path, UUID, cache).snaps["a"].parent = "half-done"  # mutated, never saved
    cache.forget(tmp_path)
    assert SnapshotTree.load(tmp_path, UUID, cache).snaps["a"].parent is None
    assert parses == ["a"]


def test_unmarking_the_old_current_by_text_equals_format(tmp_path: Path) -> None:
    cache = TreeCache()
    t = SnapshotTree.load(tmp_path, UUID, cache)
    t.snaps["a"] = snap("a", None, 1, description="with <escapes> & 'quotes'")
    t.set_current("a")
    files = StagedFiles()
    written = t.stage_new_current(snap("b", "a", 2), files)
    asyncio.run(files.sync())
    asyncio.run(files.commit())
    t.staged(written)
    fresh = SnapshotTree.load(tmp_path, UUID)
    assert fresh.current == "b"
    assert (tmp_path / "a.xml").read_text() == fresh.snaps["a"].format(internal=True, current=False)
    assert (tmp_path / "b.xml").read_text() == fresh.snaps["b"].format(internal=True, current=True)
    assert "<active>" not in (tmp_path / "a.xml").read_text()


def test_staged_files_visible_only_on_commit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        synced.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    (tmp_path / "old.xml").write_text("old")
    files = StagedFiles()
    files.stage(tmp_path / "old.xml", "new")
    files.stage(tmp_path / "fresh.xml", "fresh")
    asyncio.run(files.sync())
    assert len(synced) == 2
    assert (tmp_path / "old.xml").read_text() == "old" and not (tmp_path / "fresh.xml").exists()
    asyncio.run(files.commit())
    assert (tmp_path / "old.xml").read_text() == "new" and (tmp_path / "fresh.xml").read_text() == "fresh"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh.xml", "old.xml"]

    files = StagedFiles()
    files.stage(tmp_path / "old.xml", "newer")
    files.discard()
    assert (tmp_path / "old.xml").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh.xml", "old.xml"]
