"""Snapshots of test:///default domains — libvirt 9.0's test-driver semantics.

The test driver keeps snapshot metadata in memory only: a snapshot records the domain's
state, the wall-clock creation time (as libvirt does), internal memory/disk locations and
the domain definition; revert restores the state and definition. Messages and error codes
were checked against ``virsh -c test:///default`` and python3-libvirt.

Imported lazily by :class:`TestSnapshotMixin`'s methods' module only when the driver class
is built; the lxml snapshot model (``conf/snapshot.py``) loads on first use.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pyvirt.drivers.base import DomainRef, SnapshotRef
from pyvirt.drivers.test.mixin import TestDriverMixin
from pyvirt.drivers.test.mixin import driver_error as _err
from pyvirt.enums import DomainState, PausedReason, RunningReason, ShutoffReason
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

if TYPE_CHECKING:
    from pyvirt.conf.snapshot import DomainSnapshotDef
    from pyvirt.drivers.test.domxml import DomainDoc
    from pyvirt.drivers.test.node import TestDomainObj

# VIR_DOMAIN_SNAPSHOT_* flag bits the test driver honours (conf/snapshot.py has the enums;
# numbers repeated here so the mixin does not load lxml for flag checks).
_CREATE_REDEFINE, _CREATE_CURRENT, _CREATE_NO_METADATA, _CREATE_HALT = 1, 2, 4, 8
_CREATE_OK = 1 | 2 | 4 | 8 | 16 | 32 | 64 | 128 | 256 | 512
_LIST_ROOTS, _LIST_METADATA, _LIST_LEAVES, _LIST_NO_LEAVES = 1, 2, 4, 8
_LIST_NO_METADATA, _LIST_INACTIVE, _LIST_ACTIVE, _LIST_DISK_ONLY = 16, 32, 64, 128
_LIST_INTERNAL, _LIST_EXTERNAL, _LIST_TOPOLOGICAL = 256, 512, 1024
_DELETE_CHILDREN, _DELETE_METADATA_ONLY, _DELETE_CHILDREN_ONLY = 1, 2, 4
_REVERT_RUNNING, _REVERT_PAUSED, _REVERT_FORCE = 1, 2, 4


@dataclass
class TestSnapshot:
    """One snapshot's metadata; ``defn`` is the conf model with the domain embedded."""

    __test__ = False  # not a pytest class despite its name

    defn: DomainSnapshotDef
    seq: int  # creation order: listings follow it

    @property
    def name(self) -> str:
        assert self.defn.name is not None
        return self.defn.name

    @property
    def parent(self) -> str | None:
        return self.defn.parent


def _no_snapshot(name: str) -> VirtError:
    return _err(ErrorCode.NO_DOMAIN_SNAPSHOT,
                f"Domain snapshot not found: no domain snapshot with matching name '{name}'")


def _unsupported_flags(flags: int, fn: str) -> VirtError:
    return _err(ErrorCode.INVALID_ARG, f"unsupported flags (0x{flags:x}) in function {fn}")


def _disk_targets(doc: DomainDoc) -> list[tuple[str, bool]]:
    """(target dev, takes an internal snapshot) for each disk of the definition."""
    devices = doc.root.find("devices")
    out: list[tuple[str, bool]] = []
    for disk in devices.findall("disk") if devices is not None else []:
        target = disk.find("target")
        if target is None or target.get("dev") is None:
            continue
        # read-only media (a cdrom is always read-only) cannot hold an internal snapshot
        ro = disk.get("device") == "cdrom" or disk.find("readonly") is not None
        out.append((target.get("dev", ""), not ro))
    return out


class TestSnapshotMixin(TestDriverMixin):
    """virDomainSnapshot* for TestDriver (mixed in before ``Driver``)."""

    # ------------------------------------------------------------------ helpers
    def _snap(self, snap: SnapshotRef) -> tuple[TestDomainObj, TestSnapshot]:
        obj = self._obj(snap.dom)
        found = obj.snapshots.get(snap.name)
        if found is None:
            raise _no_snapshot(snap.name)
        return obj, found

    @staticmethod
    def _children(obj: TestDomainObj, name: str | None) -> list[TestSnapshot]:
        return sorted((s for s in obj.snapshots.values() if s.parent == name), key=lambda s: s.seq)

    def _descendants(self, obj: TestDomainObj, name: str) -> list[TestSnapshot]:
        out: list[TestSnapshot] = []
        for child in self._children(obj, name):
            out.append(child)
            out.extend(self._descendants(obj, child.name))
        return out

    # ------------------------------------------------------------------ create
    async def snapshot_create_xml(self, dom: DomainRef, xml: str, flags: int = 0) -> SnapshotRef:
        self._rw("virDomainSnapshotCreateXML")
        from pyvirt.conf.snapshot import (
            DomainSnapshotDef,
            SnapshotDiskDef,
            SnapshotLocation,
            SnapshotState,
        )
        from pyvirt.drivers.test.node import persistent_copy

        if flags & ~_CREATE_OK:
            raise _unsupported_flags(flags, "testDomainSnapshotCreateXML")
        obj = self._obj(dom)
        redefine = bool(flags & _CREATE_REDEFINE)
        defn, _current = DomainSnapshotDef.parse(xml, redefine=redefine)
        if defn.name is None:
            # libvirt names an unnamed snapshot after the creation time
            defn.name = str(int(time.time()))
        if defn.name in obj.snapshots and not redefine:
            # libvirt's shared moment-object code reports this one (hence "moment", VIR_FROM_DOMAIN)
            raise VirtError(f"operation failed: domain moment {defn.name} already exists",
                            ErrorCode.OPERATION_FAILED, ErrorDomain.DOMAIN)
        if not redefine:
            defn.creation_time = int(time.time())
            defn.state = SnapshotState(obj.state.name.lower()) if obj.active else SnapshotState.SHUTOFF
            if defn.memory is None:
                defn.memory = SnapshotLocation.INTERNAL if obj.active else SnapshotLocation.NO
            given = {d.name: d for d in defn.disks}
            disks = []
            # libvirt snapshots a copy of the definition made by formatting and re-parsing
            # it (virDomainDefCopy), whose disk order can differ from the live XML's
            copy = persistent_copy(obj.doc)
            for dev, internal in _disk_targets(copy):
                d = given.pop(dev, None) or SnapshotDiskDef(name=dev)
                if d.snapshot is None:
                    d.snapshot = SnapshotLocation.INTERNAL if internal else SnapshotLocation.NO
                disks.append(d)
            if given:
                raise VirtError(f"unsupported configuration: no disk named '{next(iter(given))}'",
                                ErrorCode.CONFIG_UNSUPPORTED, ErrorDomain.DOMAIN_SNAPSHOT)
            defn.disks = disks
            defn.set_domain_xml(copy.format(None))
            defn.parent = obj.current_snapshot
        if flags & _CREATE_NO_METADATA:
            return SnapshotRef(dom, defn.name)
        seq = max((s.seq for s in obj.snapshots.values()), default=0) + 1
        obj.snapshots[defn.name] = TestSnapshot(defn, seq)
        if not redefine or flags & _CREATE_CURRENT:
            obj.current_snapshot = defn.name
        if flags & _CREATE_HALT and obj.active:
            self._halt(obj)
        return SnapshotRef(dom, defn.name)

    def _halt(self, obj: TestDomainObj) -> None:
        obj.state, obj.reason = DomainState.SHUTOFF, ShutoffReason.FROM_SNAPSHOT
        obj.id = -1

    # ------------------------------------------------------------------ queries
    async def snapshot_get_xml_desc(self, snap: SnapshotRef, flags: int = 0) -> str:
        if flags & ~1:  # VIR_DOMAIN_SNAPSHOT_XML_SECURE
            raise _unsupported_flags(flags, "testDomainSnapshotGetXMLDesc")
        return self._snap(snap)[1].defn.format()

    def _filtered(self, obj: TestDomainObj, snaps: list[TestSnapshot], flags: int) -> list[TestSnapshot]:
        from pyvirt.conf.snapshot import SnapshotState

        if flags & _LIST_NO_METADATA and not flags & _LIST_METADATA:
            return []  # every test-driver snapshot has metadata
        out = []
        for s in snaps:
            has_kids = any(x.parent == s.name for x in obj.snapshots.values())
            if flags & (_LIST_LEAVES | _LIST_NO_LEAVES) and \
                    not ((flags & _LIST_LEAVES and not has_kids) or (flags & _LIST_NO_LEAVES and has_kids)):
                continue
            st = s.defn.state
            kinds = flags & (_LIST_INACTIVE | _LIST_ACTIVE | _LIST_DISK_ONLY)
            if kinds:
                kind = (_LIST_DISK_ONLY if st is SnapshotState.DISK_SNAPSHOT
                        else _LIST_INACTIVE if st is SnapshotState.SHUTOFF else _LIST_ACTIVE)
                if not kinds & kind:
                    continue
            loc = flags & (_LIST_INTERNAL | _LIST_EXTERNAL)
            if loc and not loc & (_LIST_EXTERNAL if s.defn.is_external else _LIST_INTERNAL):
                continue
            out.append(s)
        return out

    def _list(self, obj: TestDomainObj, flags: int) -> list[TestSnapshot]:
        snaps = sorted(obj.snapshots.values(), key=lambda s: s.seq)
        if flags & _LIST_ROOTS:
            snaps = [s for s in snaps if s.parent is None]
        return self._filtered(obj, snaps, flags)

    async def snapshot_num(self, dom: DomainRef, flags: int = 0) -> int:
        return len(self._list(self._obj(dom), flags))

    async def snapshot_list_names(self, dom: DomainRef, flags: int = 0) -> list[str]:
        return [s.name for s in self._list(self._obj(dom), flags)]

    async def list_all_snapshots(self, dom: DomainRef, flags: int = 0) -> list[SnapshotRef]:
        return [SnapshotRef(dom, s.name) for s in self._list(self._obj(dom), flags)]

    def _list_children(self, snap: SnapshotRef, flags: int) -> list[TestSnapshot]:
        obj, s = self._snap(snap)
        # for children, bit 0 means DESCENDANTS (all generations)
        kids = self._descendants(obj, s.name) if flags & _LIST_ROOTS else self._children(obj, s.name)
        return self._filtered(obj, kids, flags & ~_LIST_ROOTS)

    async def snapshot_num_children(self, snap: SnapshotRef, flags: int = 0) -> int:
        return len(self._list_children(snap, flags))

    async def snapshot_list_children_names(self, snap: SnapshotRef, flags: int = 0) -> list[str]:
        return [s.name for s in self._list_children(snap, flags)]

    async def snapshot_list_all_children(self, snap: SnapshotRef, flags: int = 0) -> list[SnapshotRef]:
        return [SnapshotRef(snap.dom, s.name) for s in self._list_children(snap, flags)]

    async def snapshot_lookup_by_name(self, dom: DomainRef, name: str, flags: int = 0) -> SnapshotRef:
        if flags:
            raise _unsupported_flags(flags, "testDomainSnapshotLookupByName")
        if name not in self._obj(dom).snapshots:
            raise _no_snapshot(name)
        return SnapshotRef(dom, name)

    async def has_current_snapshot(self, dom: DomainRef, flags: int = 0) -> bool:
        return self._obj(dom).current_snapshot is not None

    async def snapshot_get_parent(self, snap: SnapshotRef, flags: int = 0) -> SnapshotRef:
        _, s = self._snap(snap)
        if s.parent is None:
            raise _err(ErrorCode.NO_DOMAIN_SNAPSHOT,
                       f"Domain snapshot not found: snapshot '{s.name}' does not have a parent")
        return SnapshotRef(snap.dom, s.parent)

    async def snapshot_current(self, dom: DomainRef, flags: int = 0) -> SnapshotRef:
        obj = self._obj(dom)
        if obj.current_snapshot is None:
            raise _err(ErrorCode.NO_DOMAIN_SNAPSHOT,
                       "Domain snapshot not found: the domain does not have a current snapshot")
        return SnapshotRef(dom, obj.current_snapshot)

    async def snapshot_is_current(self, snap: SnapshotRef, flags: int = 0) -> bool:
        obj, s = self._snap(snap)
        return obj.current_snapshot == s.name

    async def snapshot_has_metadata(self, snap: SnapshotRef, flags: int = 0) -> bool:
        self._snap(snap)
        return True

    # ------------------------------------------------------------------ revert, delete
    async def revert_to_snapshot(self, snap: SnapshotRef, flags: int = 0) -> None:
        self._rw("virDomainRevertToSnapshot")
        from pyvirt.conf.snapshot import SnapshotState
        from pyvirt.drivers.test import domxml

        if flags & ~(_REVERT_RUNNING | _REVERT_PAUSED | _REVERT_FORCE):
            raise _unsupported_flags(flags, "testDomainRevertToSnapshot")
        obj, s = self._snap(snap)
        xml = s.defn.domain_xml()
        if xml is not None:
            doc = domxml.parse(xml)
            domxml.apply_test_defaults(doc)
            obj.doc = doc
        want_active = s.defn.is_active_state
        if flags & (_REVERT_RUNNING | _REVERT_PAUSED):
            want_active = True
        if want_active:
            if not obj.active:
                self.node.start(obj, RunningReason.FROM_SNAPSHOT)
            paused = bool(flags & _REVERT_PAUSED) or (
                s.defn.state is SnapshotState.PAUSED and not flags & _REVERT_RUNNING)
            if paused:
                obj.state, obj.reason = DomainState.PAUSED, PausedReason.FROM_SNAPSHOT
            else:
                obj.state, obj.reason = DomainState.RUNNING, RunningReason.FROM_SNAPSHOT
        elif obj.active:
            self._halt(obj)
        obj.current_snapshot = s.name

    async def snapshot_delete(self, snap: SnapshotRef, flags: int = 0) -> None:
        self._rw("virDomainSnapshotDelete")
        if flags & ~(_DELETE_CHILDREN | _DELETE_METADATA_ONLY | _DELETE_CHILDREN_ONLY):
            raise _unsupported_flags(flags, "testDomainSnapshotDelete")
        obj, s = self._snap(snap)
        if flags & (_DELETE_CHILDREN | _DELETE_CHILDREN_ONLY):
            gone = self._descendants(obj, s.name)
            if not flags & _DELETE_CHILDREN_ONLY:
                gone.append(s)
            for g in gone:
                del obj.snapshots[g.name]
            if obj.current_snapshot in {g.name for g in gone}:
                obj.current_snapshot = s.name if flags & _DELETE_CHILDREN_ONLY else s.parent
            return
        # children move up to the deleted snapshot's parent
        for child in self._children(obj, s.name):
            child.defn.parent = s.parent
        del obj.snapshots[s.name]
        if obj.current_snapshot == s.name:
            obj.current_snapshot = s.parent
