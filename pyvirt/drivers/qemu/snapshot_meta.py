"""Snapshot metadata: one file per snapshot, the tree, the current snapshot, list filters.

Files live in ``LIB_DIR/snapshot/DOMAIN/NAME.xml`` in the internal format (the snapshot
XML plus ``<active>1</active>`` on the current one), written atomically, so a restarted
driver or daemon sees exactly what the last one left. The tree is derived from each
snapshot's <parent>; nothing else is stored.

Reading: the files are the truth (one-shot pyvirsh processes share them), but a driver
keeps what it parsed in a :class:`TreeCache` keyed by each file's inode, size and times, so
a long-lived driver re-parses only files somebody else changed. Writing: either one file at
a time (:meth:`SnapshotTree.save`) or a :class:`StagedFiles` batch whose temporary files are
written and fsynced in threads while other work goes on (a QMP transaction) and renamed
into place together once that work succeeded.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from pyvirt.conf.snapshot import DomainSnapshotDef, SnapshotListFlags, SnapshotLocation
from pyvirt.drivers.qemu.status import atomic_write
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError


def no_snapshot(name: str) -> VirtError:
    return VirtError(f"Domain snapshot not found: no domain snapshot with matching name '{name}'",
                     ErrorCode.NO_DOMAIN_SNAPSHOT, ErrorDomain.QEMU)


_ACTIVE_TAIL = "  <active>1</active>\n</domainsnapshot>\n"  # how format(current=True) ends


def _file_sig(st: os.stat_result) -> tuple[int, int, int, int]:
    # every write is a rename of a fresh file, so the inode changes with the content
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


@dataclass
class _Parsed:
    sig: tuple[int, int, int, int]
    text: str
    d: DomainSnapshotDef
    current: bool


class TreeCache:
    """Parsed metadata files of one driver, per directory and file name. An entry is used
    only while the file's stat signature is unchanged; what this driver writes itself goes
    in with its new signature (no re-parse of our own output)."""

    def __init__(self) -> None:
        self._dirs: dict[Path, dict[str, _Parsed]] = {}

    def read(self, dir: Path) -> list[_Parsed]:
        try:
            entries = [e for e in os.scandir(dir) if e.name.endswith(".xml") and not e.name.startswith(".")]
        except OSError:
            self._dirs.pop(dir, None)
            return []
        old = self._dirs.get(dir, {})
        new: dict[str, _Parsed] = {}
        for e in entries:
            try:
                sig = _file_sig(e.stat())
                hit = old.get(e.name)
                if hit is None or hit.sig != sig:
                    with open(e.path, encoding="utf-8") as f:
                        text = f.read()
                    d, cur = DomainSnapshotDef.parse(text, redefine=True, internal=True)
                    hit = _Parsed(sig, text, d, cur)
            except (VirtError, OSError, UnicodeDecodeError):
                continue
            if hit.d.name:
                new[e.name] = hit
        self._dirs[dir] = new
        return list(new.values())

    def wrote(self, path: Path, text: str, d: DomainSnapshotDef, current: bool) -> None:
        try:
            sig = _file_sig(os.stat(path))
        except OSError:
            return
        self._dirs.setdefault(path.parent, {})[path.name] = _Parsed(sig, text, d, current)

    def text(self, path: Path) -> str | None:
        hit = self._dirs.get(path.parent, {}).get(path.name)
        return hit.text if hit is not None else None

    def forget(self, dir: Path) -> None:
        """After a failed operation: in-memory definitions may be ahead of their files."""
        self._dirs.pop(dir, None)


class StagedFiles:
    """Files written and fsynced beside other work, made visible together by rename.

    ``stage`` only takes each file's content; ``sync`` writes every temporary copy and
    fsyncs it, all files at once in threads (one journal commit instead of one per file,
    and none of it in the caller's way); ``commit`` renames them into place, also in
    threads (readers see the old or the new file, never half of one); ``discard`` removes
    them. Durability is
    the same as one atomic write per file; only the waiting overlaps.
    """

    def __init__(self) -> None:
        # final path, temporary path, content, fsync it
        self._items: list[tuple[Path, Path, bytes, bool]] = []

    def stage(self, path: Path, text: str, *, durable: bool = True) -> None:
        """``durable=False``: no fsync (a status document: see status.atomic_write)."""
        self._items.append((path, path.with_name(f".{path.name}.{os.getpid()}.tmp"), text.encode(), durable))

    @staticmethod
    def _write(tmp: Path, data: bytes, durable: bool) -> None:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)

    async def sync(self) -> None:
        await asyncio.gather(*(asyncio.to_thread(self._write, tmp, data, durable)
                               for _, tmp, data, durable in self._items))

    async def commit(self) -> None:
        """After a successful :meth:`sync` only. The renames go in threads too: one rename
        right after a journal commit can wait for the next (several ms on a busy disk),
        and in parallel they wait once."""
        items, self._items = self._items, []
        done = await asyncio.gather(*(asyncio.to_thread(os.replace, tmp, path) for path, tmp, _, _ in items),
                                    return_exceptions=True)
        for r in done:
            if isinstance(r, BaseException):
                raise r

    def discard(self) -> None:
        """After :meth:`sync` ended (or never ran)."""
        items, self._items = self._items, []
        for _, tmp, _, _ in items:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


@dataclass
class SnapshotTree:
    """All snapshots of one domain, in creation order."""

    dir: Path
    domain_uuid: str
    snaps: dict[str, DomainSnapshotDef] = field(default_factory=dict)
    current: str | None = None
    cache: TreeCache | None = field(default=None, repr=False, compare=False)

    # ------------------------------------------------------------------ persistence
    @classmethod
    def load(cls, dir: Path, domain_uuid: str, cache: TreeCache | None = None) -> SnapshotTree:
        t = cls(dir, domain_uuid, cache=cache)
        loaded = []
        for hit in (cache or TreeCache()).read(dir):
            d = hit.d
            assert d.name is not None
            loaded.append((d.creation_time or 0, d.name, d, hit.current))
        parents = {name: d.parent for _, name, d, _ in loaded}

        def depth(name: str) -> int:
            n, seen = 0, set()
            while (name := parents.get(name) or "") and name not in seen:
                seen.add(name)
                n += 1
            return n

        # creation order; within one second (creationTime's unit) parents come first
        for _, _, name, d, cur in sorted((c, depth(n), n, d, cur) for c, n, d, cur in loaded):
            t.snaps[name] = d
            if cur:
                t.current = name
        return t

    def path(self, name: str) -> Path:
        return self.dir / f"{name}.xml"

    def save(self, name: str) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        d = self.snaps[name]
        path, text = self.path(name), self.text(name)
        atomic_write(path, text)
        if self.cache is not None:
            self.cache.wrote(path, text, d, name == self.current)

    def text(self, name: str) -> str:
        """The file content of ``name`` as things stand (current mark included)."""
        d = self.snaps[name]
        current = name == self.current
        if not current and self.cache is not None:
            # Un-marking the old current: its file minus the <active> line, not a re-format
            # of the embedded domains.
            old = self.cache.text(self.path(name))
            if old is not None and old.endswith(_ACTIVE_TAIL):
                return old[: -len(_ACTIVE_TAIL)] + "</domainsnapshot>\n"
        return d.format(internal=True, current=current)

    def stage_new_current(self, d: DomainSnapshotDef, files: StagedFiles) -> list[tuple[Path, str, bool]]:
        """Add ``d`` as the new current snapshot, its file and the old current's staged in
        ``files``; returns what :meth:`staged` must be told once they are committed."""
        assert d.name is not None
        self.dir.mkdir(parents=True, exist_ok=True)
        old = self.current
        self.snaps[d.name] = d
        self.current = d.name
        out = []
        for n in (old, d.name):
            if n is not None and n in self.snaps:
                path, text = self.path(n), self.text(n)
                files.stage(path, text)
                out.append((path, text, n == self.current))
        return out

    def staged(self, written: list[tuple[Path, str, bool]]) -> None:
        """The files of :meth:`stage_new_current` are in place: remember them."""
        if self.cache is None:
            return
        for path, text, current in written:
            self.cache.wrote(path, text, self.snaps[path.name[:-4]], current)

    def set_current(self, name: str | None) -> None:
        """Move the current mark; both affected files are rewritten."""
        old, self.current = self.current, name
        for n in (old, name):
            if n is not None and n in self.snaps:
                self.save(n)

    def remove(self, name: str) -> None:
        self.snaps.pop(name, None)
        if self.current == name:
            self.current = None
        with contextlib.suppress(FileNotFoundError):
            self.path(name).unlink()

    def drop_all(self) -> None:
        self.snaps.clear()
        self.current = None
        shutil.rmtree(self.dir, ignore_errors=True)
        if self.cache is not None:
            self.cache.forget(self.dir)

    # ------------------------------------------------------------------ tree
    def get(self, name: str) -> DomainSnapshotDef:
        d = self.snaps.get(name)
        if d is None:
            raise no_snapshot(name)
        return d

    def children(self, name: str | None) -> list[str]:
        return [n for n, d in self.snaps.items() if d.parent == name]

    def descendants(self, name: str) -> list[str]:
        """Depth-first, parents before children (libvirt's topological order)."""
        out: list[str] = []
        todo = list(reversed(self.children(name)))
        while todo:
            n = todo.pop()
            out.append(n)
            todo.extend(reversed(self.children(n)))
        return out

    def roots(self) -> list[str]:
        return [n for n, d in self.snaps.items() if d.parent is None or d.parent not in self.snaps]

    def reparent_children(self, name: str) -> None:
        """Before removing ``name``: its children move up to its parent (libvirt's rule)."""
        parent = self.snaps[name].parent
        for c in self.children(name):
            self.snaps[c].parent = parent
            self.save(c)

    # ------------------------------------------------------------------ listing
    def list(self, flags: int, start: str | None = None) -> list[str]:
        """Names matching VIR_DOMAIN_SNAPSHOT_LIST_* ``flags``; with ``start`` the children
        (or, with DESCENDANTS, all descendants) of that snapshot."""
        F = SnapshotListFlags
        if start is not None:
            self.get(start)
            names = self.descendants(start) if flags & F.DESCENDANTS else self.children(start)
        elif flags & F.ROOTS:
            names = self.roots()
        elif flags & F.TOPOLOGICAL:
            names = [n for r in self.roots() for n in (r, *self.descendants(r))]
        else:
            names = list(self.snaps)
        if flags & F.NO_METADATA and not flags & F.METADATA:
            return []  # every snapshot we list has metadata
        out = []
        for n in names:
            d = self.snaps[n]
            leaf = not self.children(n)
            leaves = flags & (F.LEAVES | F.NO_LEAVES)
            if leaves in (F.LEAVES, F.NO_LEAVES) and bool(leaves & F.LEAVES) != leaf:
                continue
            states = flags & (F.INACTIVE | F.ACTIVE | F.DISK_ONLY)
            if states:
                kind = F.DISK_ONLY if d.is_disk_only else (F.ACTIVE if d.is_active_state else F.INACTIVE)
                if not states & kind:
                    continue
            loc = flags & (F.INTERNAL | F.EXTERNAL)
            if loc in (F.INTERNAL, F.EXTERNAL) and bool(loc & F.EXTERNAL) != d.is_external:
                continue
            out.append(n)
        return out


def location_of(d: DomainSnapshotDef) -> str:
    """snapshot-info's Location: internal or external."""
    return "external" if d.is_external else "internal"


def is_internal_checkpoint(d: DomainSnapshotDef) -> bool:
    return d.memory is SnapshotLocation.INTERNAL
