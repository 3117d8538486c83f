"""The QEMU driver's virDomainSnapshot* entry points (mixed into :class:`QemuDriver`).

Same shape as every driver entry point: lookup -> job (for mutations) -> refresh -> work.
Queries read the metadata files without the job, like libvirt's read-only snapshot calls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyvirt.conf.snapshot import SnapshotListFlags
from pyvirt.drivers.base import DomainRef, Driver, LifecycleEventMsg, SnapshotRef
from pyvirt.drivers.qemu.jobs import JobKind
from pyvirt.drivers.qemu.snapshot import SnapshotManager
from pyvirt.drivers.qemu.snapshot_meta import no_snapshot
from pyvirt.enums import DefinedDetail, LifecycleEvent
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

if TYPE_CHECKING:
    from pyvirt.drivers.qemu.domainobj import DomainObj, DomainStore
    from pyvirt.drivers.qemu.lifecycle import Lifecycle
    from pyvirt.drivers.qemu.paths import QemuPaths


def _no_current() -> VirtError:
    return VirtError("Domain snapshot not found: the domain does not have a current snapshot",
                     ErrorCode.NO_DOMAIN_SNAPSHOT, ErrorDomain.QEMU)


def _check_flags(flags: int, allowed: int, fn: str) -> None:
    if flags & ~allowed:
        raise VirtError(f"invalid argument: unsupported flags (0x{flags:x}) in function {fn}",
                        ErrorCode.INVALID_ARG, ErrorDomain.QEMU)


_LIST_ALL = int(SnapshotListFlags.ROOTS | SnapshotListFlags.METADATA | SnapshotListFlags.LEAVES
                | SnapshotListFlags.NO_LEAVES | SnapshotListFlags.NO_METADATA | SnapshotListFlags.INACTIVE
                | SnapshotListFlags.ACTIVE | SnapshotListFlags.DISK_ONLY | SnapshotListFlags.INTERNAL
                | SnapshotListFlags.EXTERNAL | SnapshotListFlags.TOPOLOGICAL)


class SnapshotAPI(Driver):
    """virDomainSnapshot* for the QEMU driver; needs the driver's store, lifecycle and lookup."""

    if TYPE_CHECKING:
        paths: QemuPaths
        store: DomainStore
        lc: Lifecycle

        def _obj(self, dom: DomainRef) -> DomainObj: ...

    @property
    def snapshots(self) -> SnapshotManager:
        mgr = self.__dict__.get("_snapshots")
        if mgr is None:
            mgr = SnapshotManager(self)  # type: ignore[arg-type]  # always a QemuDriver
            self.__dict__["_snapshots"] = mgr
        assert isinstance(mgr, SnapshotManager)
        return mgr

    def snapshots_on_undefine(self, obj: DomainObj, flags: int) -> None:
        """libvirt refuses to undefine an inactive domain that has snapshot metadata unless
        asked to discard it (VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA); the caller holds the job."""
        if obj.active:
            return
        tree = self.snapshots.tree(obj)
        if not tree.snaps:
            return
        if not flags & 2:  # VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
            raise VirtError(f"Requested operation is not valid: cannot delete inactive domain with "
                            f"{len(tree.snaps)} snapshots", ErrorCode.OPERATION_INVALID, ErrorDomain.QEMU)
        tree.drop_all()

    # ------------------------------------------------------------------ mutations
    async def snapshot_create_xml(self, dom: DomainRef, xml: str, flags: int = 0) -> SnapshotRef:
        obj = self._obj(dom)
        async with obj.job.hold(JobKind.ASYNC):
            self.store.refresh(obj)
            name = await self.snapshots.create(obj, xml, flags)
        return SnapshotRef(obj.ref(), name)

    async def revert_to_snapshot(self, snap: SnapshotRef, flags: int = 0) -> None:
        obj = self._obj(snap.dom)
        async with obj.job.hold(JobKind.ASYNC):
            self.store.refresh(obj)
            await self.snapshots.revert(obj, snap.name, flags)
        if obj.persistent:  # the definition was replaced by the snapshot's (libvirt: always)
            self.events.publish(LifecycleEventMsg(obj.ref(), LifecycleEvent.DEFINED, DefinedDetail.FROM_SNAPSHOT))

    async def snapshot_delete(self, snap: SnapshotRef, flags: int = 0) -> None:
        obj = self._obj(snap.dom)
        async with obj.job.hold(JobKind.ASYNC):
            self.store.refresh(obj)
            await self.snapshots.delete(obj, snap.name, flags)

    # ------------------------------------------------------------------ queries
    async def snapshot_get_xml_desc(self, snap: SnapshotRef, flags: int = 0) -> str:
        _check_flags(flags, 1, "qemuDomainSnapshotGetXMLDesc")
        obj = self._obj(snap.dom)
        return self.snapshots.xml(obj, snap.name)

    async def snapshot_list_names(self, dom: DomainRef, flags: int = 0) -> list[str]:
        _check_flags(flags, _LIST_ALL, "qemuDomainSnapshotListNames")
        return self.snapshots.tree(self._obj(dom)).list(flags)

    async def snapshot_list_children_names(self, snap: SnapshotRef, flags: int = 0) -> list[str]:
        _check_flags(flags, _LIST_ALL, "qemuDomainSnapshotListChildrenNames")
        return self.snapshots.tree(self._obj(snap.dom)).list(flags, start=snap.name)

    async def snapshot_lookup_by_name(self, dom: DomainRef, name: str, flags: int = 0) -> SnapshotRef:
        _check_flags(flags, 0, "qemuDomainSnapshotLookupByName")
        obj = self._obj(dom)
        self.snapshots.tree(obj).get(name)
        return SnapshotRef(obj.ref(), name)

    async def has_current_snapshot(self, dom: DomainRef, flags: int = 0) -> bool:
        _check_flags(flags, 0, "qemuDomainHasCurrentSnapshot")
        return self.snapshots.tree(self._obj(dom)).current is not None

    async def snapshot_get_parent(self, snap: SnapshotRef, flags: int = 0) -> SnapshotRef:
        _check_flags(flags, 0, "qemuDomainSnapshotGetParent")
        d = self.snapshots.tree(self._obj(snap.dom)).get(snap.name)
        if d.parent is None:
            raise VirtError(f"Domain snapshot not found: snapshot '{snap.name}' does not have a parent",
                            ErrorCode.NO_DOMAIN_SNAPSHOT, ErrorDomain.QEMU)
        return SnapshotRef(snap.dom, d.parent)

    async def snapshot_current(self, dom: DomainRef, flags: int = 0) -> SnapshotRef:
        _check_flags(flags, 0, "qemuDomainSnapshotCurrent")
        obj = self._obj(dom)
        cur = self.snapshots.tree(obj).current
        if cur is None:
            raise _no_current()
        return SnapshotRef(obj.ref(), cur)

    async def snapshot_is_current(self, snap: SnapshotRef, flags: int = 0) -> bool:
        _check_flags(flags, 0, "qemuDomainSnapshotIsCurrent")
        tree = self.snapshots.tree(self._obj(snap.dom))
        tree.get(snap.name)
        return tree.current == snap.name

    async def snapshot_has_metadata(self, snap: SnapshotRef, flags: int = 0) -> bool:
        _check_flags(flags, 0, "qemuDomainSnapshotHasMetadata")
        tree = self.snapshots.tree(self._obj(snap.dom))
        if snap.name not in tree.snaps:
            raise no_snapshot(snap.name)
        return True
