"""Snapshot metadata: one file per snapshot, the tree, the current snapshot, list filters.

Files live in ``LIB_DIR/snapshot/DOMAIN/NAME.xml`` in the internal format (the snapshot
XML plus ``<active>1</active>`` on the current one), written atomically, so a restarted
driver or daemon sees exactly what the last one left. The tree is derived from each
snapshot's <parent>; nothing else is stored.
"""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from pyvirt.conf.snapshot import DomainSnapshotDef, SnapshotListFlags, SnapshotLocation
from pyvirt.drivers.qemu.status import atomic_write
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError


def no_snapshot(name: str) -> VirtError:
    return VirtError(f"Domain snapshot not found: no domain snapshot with matching name '{name}'",
                     ErrorCode.NO_DOMAIN_SNAPSHOT, ErrorDomain.QEMU)


@dataclass
class SnapshotTree:
    """All snapshots of one domain, in creation order."""

    dir: Path
    domain_uuid: str
    snaps: dict[str, DomainSnapshotDef] = field(default_factory=dict)
    current: str | None = None

    # ------------------------------------------------------------------ persistence
    @classmethod
    def load(cls, dir: Path, domain_uuid: str) -> SnapshotTree:
        t = cls(dir, domain_uuid)
        if not dir.is_dir():
            return t
        loaded = []
        for p in dir.glob("*.xml"):
            with contextlib.suppress(VirtError, OSError):
                d, cur = DomainSnapshotDef.parse(p.read_text(), redefine=True, internal=True)
                if d.name:
                    loaded.append((d.creation_time or 0, d.name, d, cur))
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
        atomic_write(self.path(name), d.format(internal=True, current=name == self.current))

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
