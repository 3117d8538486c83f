"""The driver interface: one async method per public operation.

Every connection (in-process QEMU driver, test driver, remote client) implements
:class:`Driver`. The asyncio API (:mod:`pyvirt.aio`), the libvirt-python facade
(:mod:`pyvirt.libvirt`) and the daemon's dispatcher all talk to drivers only through
this interface, so a driver can move behind the remote protocol unchanged.

Domains cross this boundary as :class:`DomainRef` (what the remote protocol calls
``remote_nonnull_domain``: name, 16-byte UUID, id or -1). Failures are
:class:`pyvirt.errors.VirtError` with libvirt's codes.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

# DomainRef lives in a dependency-free module so one-shot remote clients can decode it
# without this module; it is re-exported here, where every caller imports it from.
from pyvirt.drivers.refs import DomainRef as DomainRef  # noqa: PLC0414 (explicit re-export)
from pyvirt.drivers.refs_objects import NetworkRef as NetworkRef  # noqa: PLC0414
from pyvirt.drivers.refs_objects import SnapshotRef as SnapshotRef  # noqa: PLC0414
from pyvirt.drivers.refs_objects import StoragePoolRef as StoragePoolRef  # noqa: PLC0414
from pyvirt.drivers.refs_objects import StorageVolRef as StorageVolRef  # noqa: PLC0414
from pyvirt.enums import (
    AgentLifecycleReason,
    AgentLifecycleState,
    BlockJobStatus,
    BlockJobType,
    DomainState,
    EventID,
    LifecycleEvent,
    TrayChangeReason,
)
from pyvirt.errors import ErrorDomain, NoSupport

if TYPE_CHECKING:
    from dataclasses import dataclass
else:
    # The records below are frozen slotted dataclasses to mypy and FrozenRecords at run time:
    # the same behaviour, ~20 us a class instead of ~0.5 ms (drivers/frozenrec.py says why).
    from pyvirt.drivers.frozenrec import dataclass


@dataclass(frozen=True, slots=True)
class StoragePoolInfo:
    """virStoragePoolInfo: state (VIR_STORAGE_POOL_*), sizes in bytes."""

    state: int
    capacity: int
    allocation: int
    available: int


@dataclass(frozen=True, slots=True)
class StorageVolInfo:
    """virStorageVolInfo: type (VIR_STORAGE_VOL_*), sizes in bytes."""

    type: int
    capacity: int
    allocation: int


@dataclass(frozen=True, slots=True)
class DomainInfo:
    """virDomainInfo: memory in KiB, cpu_time in nanoseconds."""

    state: DomainState
    max_mem: int
    memory: int
    nr_virt_cpu: int
    cpu_time: int


@dataclass(frozen=True, slots=True)
class VcpuInfo:
    """virVcpuInfo: one vCPU's state (VIR_VCPU_*), CPU time in ns and the host CPU it ran on."""

    number: int
    state: int
    cpu_time: int
    cpu: int


@dataclass(frozen=True, slots=True)
class NodeCpuMap:
    """virNodeGetCPUMap: host CPUs present (``cpus``), which are online (bitmap, bit i = CPU i)."""

    cpus: int
    cpumap: bytes
    online: int


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """virNodeInfo: memory in KiB."""

    model: str
    memory: int
    cpus: int
    mhz: int
    nodes: int
    sockets: int
    cores: int
    threads: int


@dataclass(frozen=True, slots=True)
class BlockJobInfo:
    """virDomainBlockJobInfo: bandwidth in MiB/s (bytes/s with the BYTES flag)."""

    type: BlockJobType
    bandwidth: int
    cur: int
    end: int


@dataclass(frozen=True, slots=True)
class BlockInfo:
    """virDomainBlockInfo, in bytes."""

    capacity: int
    allocation: int
    physical: int


@dataclass(frozen=True, slots=True)
class BlockStats:
    """virDomainBlockStats (errs -1: QEMU does not count them) plus the extra fields
    virDomainBlockStatsFlags reports."""

    rd_req: int
    rd_bytes: int
    wr_req: int
    wr_bytes: int
    errs: int = -1
    flush_req: int = 0
    rd_total_times: int = 0
    wr_total_times: int = 0
    flush_total_times: int = 0


# ----------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class DomainEvent:
    dom: DomainRef

    @property
    def event_id(self) -> EventID:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class LifecycleEventMsg(DomainEvent):
    event: LifecycleEvent
    detail: int

    @property
    def event_id(self) -> EventID:
        return EventID.LIFECYCLE


@dataclass(frozen=True, slots=True)
class RebootEventMsg(DomainEvent):
    @property
    def event_id(self) -> EventID:
        return EventID.REBOOT


@dataclass(frozen=True, slots=True)
class BlockJobEventMsg(DomainEvent):
    """One QEMU job state change; delivered as BLOCK_JOB (disk path) and BLOCK_JOB_2 (target)."""

    path: str  # the disk's source path (BLOCK_JOB)
    disk: str  # the disk's target name, e.g. "vda" (BLOCK_JOB_2)
    type: BlockJobType
    status: BlockJobStatus

    @property
    def event_id(self) -> EventID:
        return EventID.BLOCK_JOB_2


@dataclass(frozen=True, slots=True)
class TrayChangeEventMsg(DomainEvent):
    dev_alias: str
    reason: TrayChangeReason

    @property
    def event_id(self) -> EventID:
        return EventID.TRAY_CHANGE


@dataclass(frozen=True, slots=True)
class DeviceRemovedEventMsg(DomainEvent):
    dev_alias: str

    @property
    def event_id(self) -> EventID:
        return EventID.DEVICE_REMOVED


@dataclass(frozen=True, slots=True)
class AgentLifecycleEventMsg(DomainEvent):
    state: AgentLifecycleState
    reason: AgentLifecycleReason

    @property
    def event_id(self) -> EventID:
        return EventID.AGENT_LIFECYCLE


EventCallback = Callable[[DomainEvent], None]


@dataclass(frozen=True, slots=True)
class QemuMonitorEventMsg:
    """One QMP event of a domain's monitor, as libvirt-qemu's monitor events carry it:
    QEMU's timestamp split in seconds/microseconds and the event's data as compact JSON
    (None when QEMU sent no data). Not a DomainEvent: it travels on its own callbacks
    (Driver.qemu_monitor_event_register), never on the EventBus."""

    dom: DomainRef
    event: str
    seconds: int
    micros: int
    details: str | None


QemuMonitorEventCallback = Callable[[QemuMonitorEventMsg], None]


class EventBus:
    """Fan-out of driver events to subscribers.

    Callbacks run synchronously in the publisher's event loop and must not block;
    consumers that need to do work enqueue it. Owned by one driver instance (no global state).
    """

    def __init__(self) -> None:
        self._subs: dict[int, EventCallback] = {}
        self._ids = itertools.count(1)

    def subscribe(self, cb: EventCallback) -> int:
        token = next(self._ids)
        self._subs[token] = cb
        return token

    def unsubscribe(self, token: int) -> None:
        self._subs.pop(token, None)

    def publish(self, ev: DomainEvent) -> None:
        for cb in list(self._subs.values()):
            cb(ev)


class ByteStream(Protocol):
    """A bidirectional byte stream (console, volume upload/download)."""

    async def read(self, n: int = 65536) -> bytes:
        """Return up to n bytes; b"" at end of stream."""

    async def write(self, data: bytes) -> None: ...

    async def close(self) -> None: ...


class Driver(ABC):
    """One open connection's view of a hypervisor.

    Methods not overridden raise VIR_ERR_NO_SUPPORT, which is what libvirt answers for a
    call a driver lacks; clients fall back on it.
    """

    events: EventBus

    def __init__(self) -> None:
        self.events = EventBus()

    # ---- connection
    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    def uri(self) -> str: ...

    @abstractmethod
    def type_name(self) -> str:
        """virConnectGetType: "QEMU", "Test", ..."""

    async def get_version(self) -> int:
        """Hypervisor version as major*1_000_000 + minor*1000 + micro."""
        raise NoSupport("this function is not supported by the connection driver: virConnectGetVersion")

    async def get_lib_version(self) -> int:
        return 9_000_000

    async def get_hostname(self) -> str:
        import socket

        return socket.gethostname()

    async def get_capabilities(self) -> str:
        raise NoSupport("this function is not supported by the connection driver: virConnectGetCapabilities")

    async def get_domain_capabilities(
        self, emulator: str | None, arch: str | None, machine: str | None, virttype: str | None, flags: int
    ) -> str:
        raise NoSupport(
            "this function is not supported by the connection driver: virConnectGetDomainCapabilities"
        )

    async def node_get_info(self) -> NodeInfo:
        raise NoSupport("this function is not supported by the connection driver: virNodeGetInfo")

    async def is_alive(self) -> bool:
        return True

    # Connection loss. A driver whose link can die (the remote client: EOF, keepalive
    # timeout, I/O error) calls notify_closed(VIR_CONNECT_CLOSE_REASON_*); pyvirt.aio turns
    # it into close callbacks. Kept in __dict__ so subclasses need not call a new __init__.
    def add_close_listener(self, cb: Callable[[int], None]) -> None:
        self.__dict__.setdefault("_close_listeners", []).append(cb)

    def notify_closed(self, reason: int) -> None:
        for cb in list(self.__dict__.get("_close_listeners", ())):
            cb(reason)

    # ---- domain lookup / listing
    @abstractmethod
    async def list_all_domains(self, flags: int = 0) -> list[DomainRef]: ...

    @abstractmethod
    async def lookup_by_name(self, name: str) -> DomainRef: ...

    @abstractmethod
    async def lookup_by_uuid(self, uuid: bytes) -> DomainRef: ...

    @abstractmethod
    async def lookup_by_id(self, id: int) -> DomainRef: ...

    async def list_domain_ids(self) -> list[int]:
        from pyvirt.enums import ListDomainsFlags

        return [d.id for d in await self.list_all_domains(ListDomainsFlags.ACTIVE)]

    async def list_defined_domains(self) -> list[str]:
        from pyvirt.enums import ListDomainsFlags

        return [d.name for d in await self.list_all_domains(ListDomainsFlags.INACTIVE)]

    # ---- domain definition
    @abstractmethod
    async def define_xml(self, xml: str, flags: int = 0) -> DomainRef: ...

    @abstractmethod
    async def create_xml(self, xml: str, flags: int = 0) -> DomainRef: ...

    @abstractmethod
    async def undefine(self, dom: DomainRef, flags: int = 0) -> None: ...

    @abstractmethod
    async def get_xml_desc(self, dom: DomainRef, flags: int = 0) -> str: ...

    # ---- domain state
    @abstractmethod
    async def get_info(self, dom: DomainRef) -> DomainInfo: ...

    @abstractmethod
    async def get_state(self, dom: DomainRef, flags: int = 0) -> tuple[int, int]: ...

    @abstractmethod
    async def is_active(self, dom: DomainRef) -> bool: ...

    @abstractmethod
    async def is_persistent(self, dom: DomainRef) -> bool: ...

    async def get_autostart(self, dom: DomainRef) -> bool:
        return False

    async def set_autostart(self, dom: DomainRef, autostart: bool) -> None:
        raise NoSupport("this function is not supported by the connection driver: virDomainSetAutostart")

    async def has_managed_save_image(self, dom: DomainRef, flags: int = 0) -> bool:
        return False

    # ---- lifecycle
    @abstractmethod
    async def create(self, dom: DomainRef, flags: int = 0) -> DomainRef:
        """Start a defined domain; returns the ref with its new id."""

    @abstractmethod
    async def destroy(self, dom: DomainRef, flags: int = 0) -> None: ...

    @abstractmethod
    async def shutdown(self, dom: DomainRef, flags: int = 0) -> None: ...

    @abstractmethod
    async def reboot(self, dom: DomainRef, flags: int = 0) -> None: ...

    @abstractmethod
    async def reset(self, dom: DomainRef, flags: int = 0) -> None: ...

    @abstractmethod
    async def suspend(self, dom: DomainRef) -> None: ...

    @abstractmethod
    async def resume(self, dom: DomainRef) -> None: ...

    async def open_console(self, dom: DomainRef, dev_name: str | None, flags: int = 0) -> ByteStream:
        raise NoSupport("this function is not supported by the connection driver: virDomainOpenConsole")

    # ---- informational extras used by `dominfo`; the defaults are what libvirt reports for
    # a driver without a security driver, taint tracking or an OS-type override.
    async def get_os_type(self, dom: DomainRef) -> str:
        """virDomainGetOSType: the definition's <os><type>."""
        import xml.etree.ElementTree as ET

        root = ET.fromstring(await self.get_xml_desc(dom, 0))
        return (root.findtext("os/type") or "").strip()

    async def node_get_security_model(self) -> tuple[str, str]:
        """virNodeGetSecurityModel: (model, doi). A hypervisor driver without a security
        driver answers libvirt's "none" manager: ("none", "0")."""
        return "none", "0"

    async def get_security_label(self, dom: DomainRef) -> tuple[str, bool]:
        """virDomainGetSecurityLabel: (label, enforcing); "" label when the domain has none."""
        await self.get_state(dom)  # the same lookup error as libvirt for a missing domain
        return "", False

    async def get_messages(self, dom: DomainRef, flags: int = 0) -> list[str]:
        """virDomainGetMessages: taint and deprecation notes."""
        await self.get_state(dom)
        return []

    # ---- block jobs, block devices, save/restore (drivers/qemu/blockjob*.py, save.py)
    async def block_commit(self, dom: DomainRef, disk: str, base: str | None, top: str | None,
                           bandwidth: int, flags: int = 0) -> None:
        raise NoSupport("this function is not supported by the connection driver: virDomainBlockCommit")

    async def block_rebase(self, dom: DomainRef, disk: str, base: str | None, bandwidth: int,
                           flags: int = 0) -> None:
        """virDomainBlockRebase: a pull (base None: the whole chain) or, with COPY, a copy."""
        raise NoSupport("this function is not supported by the connection driver: virDomainBlockRebase")

    async def block_pull(self, dom: DomainRef, disk: str, bandwidth: int, flags: int = 0) -> None:
        """virDomainBlockPull: a rebase with no base, with the pull API's own (smaller) flag set
        and errors."""
        raise NoSupport("this function is not supported by the connection driver: virDomainBlockPull")

    async def block_copy(self, dom: DomainRef, disk: str, destxml: str, bandwidth: int,
                         flags: int = 0, *, granularity: int = 0, buf_size: int = 0) -> None:
        """virDomainBlockCopy; bandwidth in bytes/s, granularity / buf_size 0 for QEMU's default."""
        raise NoSupport("this function is not supported by the connection driver: virDomainBlockCopy")

    async def get_block_job_info(self, dom: DomainRef, disk: str, flags: int = 0) -> BlockJobInfo | None:
        raise NoSupport("this function is not supported by the connection driver: virDomainGetBlockJobInfo")

    async def block_job_abort(self, dom: DomainRef, disk: str, flags: int = 0) -> None:
        raise NoSupport("this function is not supported by the connection driver: virDomainBlockJobAbort")

    async def block_job_set_speed(self, dom: DomainRef, disk: str, bandwidth: int, flags: int = 0) -> None:
        raise NoSupport("this function is not supported by the connection driver: virDomainBlockJobSetSpeed")

    async def get_block_info(self, dom: DomainRef, disk: str, flags: int = 0) -> BlockInfo:
        raise NoSupport("this function is not supported by the connection driver: virDomainGetBlockInfo")

    async def block_stats(self, dom: DomainRef, disk: str) -> BlockStats:
        raise NoSupport("this function is not supported by the connection driver: virDomainBlockStats")

    async def block_stats_flags(self, dom: DomainRef, disk: str, flags: int = 0) -> BlockStats:
        """virDomainBlockStatsFlags: every counter the driver has (remote: typed parameters)."""
        return await self.block_stats(dom, disk)

    async def block_resize(self, dom: DomainRef, disk: str, size: int, flags: int = 0) -> None:
        raise NoSupport("this function is not supported by the connection driver: virDomainBlockResize")

    async def save(self, dom: DomainRef, to: str, dxml: str | None = None, flags: int = 0) -> None:
        raise NoSupport("this function is not supported by the connection driver: virDomainSave")

    async def restore(self, frm: str, dxml: str | None = None, flags: int = 0) -> None:
        raise NoSupport("this function is not supported by the connection driver: virDomainRestore")

    async def managed_save(self, dom: DomainRef, flags: int = 0) -> None:
        raise NoSupport("this function is not supported by the connection driver: virDomainManagedSave")

    async def managed_save_remove(self, dom: DomainRef, flags: int = 0) -> None:
        raise NoSupport("this function is not supported by the connection driver: virDomainManagedSaveRemove")

    # ---- storage pools and volumes. Drivers with storage mix in
    # pyvirt.drivers.storage.api.StorageMixin, which implements all of these.
    def _no_storage(self, fn: str) -> NoSupport:
        # libvirt-storage.c reports a missing driver method from VIR_FROM_STORAGE
        return NoSupport(f"this function is not supported by the connection driver: {fn}",
                         domain=ErrorDomain.STORAGE)

    async def list_all_storage_pools(self, flags: int = 0) -> list[StoragePoolRef]:
        raise self._no_storage("virConnectListAllStoragePools")

    async def storage_pool_lookup_by_name(self, name: str) -> StoragePoolRef:
        raise self._no_storage("virStoragePoolLookupByName")

    async def storage_pool_lookup_by_uuid(self, uuid: bytes) -> StoragePoolRef:
        raise self._no_storage("virStoragePoolLookupByUUID")

    async def storage_pool_lookup_by_volume(self, vol: StorageVolRef) -> StoragePoolRef:
        raise self._no_storage("virStoragePoolLookupByVolume")

    async def storage_pool_define_xml(self, xml: str, flags: int = 0) -> StoragePoolRef:
        raise self._no_storage("virStoragePoolDefineXML")

    async def storage_pool_create_xml(self, xml: str, flags: int = 0) -> StoragePoolRef:
        raise self._no_storage("virStoragePoolCreateXML")

    async def storage_pool_build(self, pool: StoragePoolRef, flags: int = 0) -> None:
        raise self._no_storage("virStoragePoolBuild")

    async def storage_pool_create(self, pool: StoragePoolRef, flags: int = 0) -> None:
        raise self._no_storage("virStoragePoolCreate")

    async def storage_pool_destroy(self, pool: StoragePoolRef) -> None:
        raise self._no_storage("virStoragePoolDestroy")

    async def storage_pool_delete(self, pool: StoragePoolRef, flags: int = 0) -> None:
        raise self._no_storage("virStoragePoolDelete")

    async def storage_pool_undefine(self, pool: StoragePoolRef) -> None:
        raise self._no_storage("virStoragePoolUndefine")

    async def storage_pool_refresh(self, pool: StoragePoolRef, flags: int = 0) -> None:
        raise self._no_storage("virStoragePoolRefresh")

    async def storage_pool_get_info(self, pool: StoragePoolRef) -> StoragePoolInfo:
        raise self._no_storage("virStoragePoolGetInfo")

    async def storage_pool_get_xml_desc(self, pool: StoragePoolRef, flags: int = 0) -> str:
        raise self._no_storage("virStoragePoolGetXMLDesc")

    async def storage_pool_get_autostart(self, pool: StoragePoolRef) -> bool:
        raise self._no_storage("virStoragePoolGetAutostart")

    async def storage_pool_set_autostart(self, pool: StoragePoolRef, autostart: bool) -> None:
        raise self._no_storage("virStoragePoolSetAutostart")

    async def storage_pool_is_active(self, pool: StoragePoolRef) -> bool:
        raise self._no_storage("virStoragePoolIsActive")

    async def storage_pool_is_persistent(self, pool: StoragePoolRef) -> bool:
        raise self._no_storage("virStoragePoolIsPersistent")

    async def storage_pool_list_all_volumes(self, pool: StoragePoolRef, flags: int = 0) -> list[StorageVolRef]:
        raise self._no_storage("virStoragePoolListAllVolumes")

    async def storage_vol_lookup_by_name(self, pool: StoragePoolRef, name: str) -> StorageVolRef:
        raise self._no_storage("virStorageVolLookupByName")

    async def storage_vol_lookup_by_path(self, path: str) -> StorageVolRef:
        raise self._no_storage("virStorageVolLookupByPath")

    async def storage_vol_lookup_by_key(self, key: str) -> StorageVolRef:
        raise self._no_storage("virStorageVolLookupByKey")

    async def storage_vol_create_xml(self, pool: StoragePoolRef, xml: str, flags: int = 0) -> StorageVolRef:
        raise self._no_storage("virStorageVolCreateXML")

    async def storage_vol_create_xml_from(
        self, pool: StoragePoolRef, xml: str, clone: StorageVolRef, flags: int = 0
    ) -> StorageVolRef:
        raise self._no_storage("virStorageVolCreateXMLFrom")

    async def storage_vol_delete(self, vol: StorageVolRef, flags: int = 0) -> None:
        raise self._no_storage("virStorageVolDelete")

    async def storage_vol_wipe(self, vol: StorageVolRef, flags: int = 0) -> None:
        raise self._no_storage("virStorageVolWipe")

    async def storage_vol_wipe_pattern(self, vol: StorageVolRef, algorithm: int, flags: int = 0) -> None:
        raise self._no_storage("virStorageVolWipePattern")

    async def storage_vol_resize(self, vol: StorageVolRef, capacity: int, flags: int = 0) -> None:
        raise self._no_storage("virStorageVolResize")

    async def storage_vol_get_info(self, vol: StorageVolRef) -> StorageVolInfo:
        raise self._no_storage("virStorageVolGetInfo")

    async def storage_vol_get_xml_desc(self, vol: StorageVolRef, flags: int = 0) -> str:
        raise self._no_storage("virStorageVolGetXMLDesc")

    async def storage_vol_get_path(self, vol: StorageVolRef) -> str:
        raise self._no_storage("virStorageVolGetPath")

    async def storage_vol_upload(self, vol: StorageVolRef, offset: int, length: int, flags: int = 0) -> ByteStream:
        raise self._no_storage("virStorageVolUpload")

    async def storage_vol_download(self, vol: StorageVolRef, offset: int, length: int, flags: int = 0) -> ByteStream:
        raise self._no_storage("virStorageVolDownload")

    # ---- snapshots (virDomainSnapshot*); one method per remote procedure
    async def snapshot_create_xml(self, dom: DomainRef, xml: str, flags: int = 0) -> SnapshotRef:
        raise NoSupport("this function is not supported by the connection driver: virDomainSnapshotCreateXML")

    async def snapshot_get_xml_desc(self, snap: SnapshotRef, flags: int = 0) -> str:
        raise NoSupport("this function is not supported by the connection driver: virDomainSnapshotGetXMLDesc")

    async def snapshot_num(self, dom: DomainRef, flags: int = 0) -> int:
        try:
            return len(await self.snapshot_list_names(dom, flags))
        except NoSupport:
            # a driver without snapshots has none (virsh undefine asks before undefining)
            await self.get_state(dom)
            return 0

    async def snapshot_list_names(self, dom: DomainRef, flags: int = 0) -> list[str]:
        raise NoSupport("this function is not supported by the connection driver: virDomainSnapshotListNames")

    async def list_all_snapshots(self, dom: DomainRef, flags: int = 0) -> list[SnapshotRef]:
        return [SnapshotRef(dom, n) for n in await self.snapshot_list_names(dom, flags)]

    async def snapshot_num_children(self, snap: SnapshotRef, flags: int = 0) -> int:
        return len(await self.snapshot_list_children_names(snap, flags))

    async def snapshot_list_children_names(self, snap: SnapshotRef, flags: int = 0) -> list[str]:
        raise NoSupport("this function is not supported by the connection driver: virDomainSnapshotListChildrenNames")

    async def snapshot_list_all_children(self, snap: SnapshotRef, flags: int = 0) -> list[SnapshotRef]:
        return [SnapshotRef(snap.dom, n) for n in await self.snapshot_list_children_names(snap, flags)]

    async def snapshot_lookup_by_name(self, dom: DomainRef, name: str, flags: int = 0) -> SnapshotRef:
        raise NoSupport("this function is not supported by the connection driver: virDomainSnapshotLookupByName")

    async def has_current_snapshot(self, dom: DomainRef, flags: int = 0) -> bool:
        raise NoSupport("this function is not supported by the connection driver: virDomainHasCurrentSnapshot")

    async def snapshot_get_parent(self, snap: SnapshotRef, flags: int = 0) -> SnapshotRef:
        raise NoSupport("this function is not supported by the connection driver: virDomainSnapshotGetParent")

    async def snapshot_current(self, dom: DomainRef, flags: int = 0) -> SnapshotRef:
        raise NoSupport("this function is not supported by the connection driver: virDomainSnapshotCurrent")

    async def snapshot_is_current(self, snap: SnapshotRef, flags: int = 0) -> bool:
        raise NoSupport("this function is not supported by the connection driver: virDomainSnapshotIsCurrent")

    async def snapshot_has_metadata(self, snap: SnapshotRef, flags: int = 0) -> bool:
        raise NoSupport("this function is not supported by the connection driver: virDomainSnapshotHasMetadata")

    async def revert_to_snapshot(self, snap: SnapshotRef, flags: int = 0) -> None:
        raise NoSupport("this function is not supported by the connection driver: virDomainRevertToSnapshot")

    async def snapshot_delete(self, snap: SnapshotRef, flags: int = 0) -> None:
        raise NoSupport("this function is not supported by the connection driver: virDomainSnapshotDelete")

    # ---- vCPUs and the node CPU map (virDomainGetVcpus, virDomainPinVcpu*, virNodeGetCPUMap)
    async def node_get_cpu_map(self, flags: int = 0) -> NodeCpuMap:
        raise NoSupport("this function is not supported by the connection driver: virNodeGetCPUMap")

    async def get_vcpus(self, dom: DomainRef, maxinfo: int, maplen: int) -> tuple[list[VcpuInfo], bytes]:
        """Up to ``maxinfo`` vCPUs and their affinity, ``maplen`` bytes per vCPU, concatenated."""
        raise NoSupport("this function is not supported by the connection driver: virDomainGetVcpus")

    async def pin_vcpu(self, dom: DomainRef, vcpu: int, cpumap: bytes) -> None:
        """virDomainPinVcpu: the live definition (drivers whose flag-less form differs override)."""
        await self.pin_vcpu_flags(dom, vcpu, cpumap, 1)  # VIR_DOMAIN_AFFECT_LIVE

    async def pin_vcpu_flags(self, dom: DomainRef, vcpu: int, cpumap: bytes, flags: int = 0) -> None:
        raise NoSupport("this function is not supported by the connection driver: virDomainPinVcpuFlags")

    async def get_vcpu_pin_info(self, dom: DomainRef, ncpumaps: int, maplen: int, flags: int = 0) -> list[bytes]:
        """Each vCPU's affinity (``maplen`` bytes each, at most ``ncpumaps``), live or config."""
        raise NoSupport("this function is not supported by the connection driver: virDomainGetVcpuPinInfo")

    async def get_vcpus_flags(self, dom: DomainRef, flags: int = 0) -> int:
        """virDomainGetVcpusFlags: VIR_DOMAIN_AFFECT_LIVE/CONFIG, VCPU_MAXIMUM (4), VCPU_GUEST (8)."""
        raise NoSupport("this function is not supported by the connection driver: virDomainGetVcpusFlags")

    # ---- virtual networks (drivers/test/network.py for test:///; the QEMU driver has no
    # network driver yet, so its connections answer like libvirt's without one)
    def _no_network(self, fn: str) -> NoSupport:
        # libvirt-network.c reports a missing network driver from VIR_FROM_NETWORK
        return NoSupport(f"this function is not supported by the connection driver: {fn}",
                         domain=ErrorDomain.NETWORK)

    async def list_all_networks(self, flags: int = 0) -> list[NetworkRef]:
        raise self._no_network("virConnectListAllNetworks")

    async def network_lookup_by_name(self, name: str) -> NetworkRef:
        raise self._no_network("virNetworkLookupByName")

    async def network_lookup_by_uuid(self, uuid: bytes) -> NetworkRef:
        raise self._no_network("virNetworkLookupByUUID")

    async def network_define_xml(self, xml: str, flags: int = 0) -> NetworkRef:
        raise self._no_network("virNetworkDefineXML")

    async def network_create_xml(self, xml: str, flags: int = 0) -> NetworkRef:
        raise self._no_network("virNetworkCreateXML")

    async def network_undefine(self, net: NetworkRef) -> None:
        raise self._no_network("virNetworkUndefine")

    async def network_create(self, net: NetworkRef) -> None:
        raise self._no_network("virNetworkCreate")

    async def network_destroy(self, net: NetworkRef) -> None:
        raise self._no_network("virNetworkDestroy")

    async def network_get_xml_desc(self, net: NetworkRef, flags: int = 0) -> str:
        raise self._no_network("virNetworkGetXMLDesc")

    async def network_get_bridge_name(self, net: NetworkRef) -> str:
        raise self._no_network("virNetworkGetBridgeName")

    async def network_get_autostart(self, net: NetworkRef) -> bool:
        raise self._no_network("virNetworkGetAutostart")

    async def network_set_autostart(self, net: NetworkRef, autostart: bool) -> None:
        raise self._no_network("virNetworkSetAutostart")

    async def network_is_active(self, net: NetworkRef) -> bool:
        raise self._no_network("virNetworkIsActive")

    async def network_is_persistent(self, net: NetworkRef) -> bool:
        raise self._no_network("virNetworkIsPersistent")

    # ---- screenshots (virDomainScreenshot): the image's MIME type and a stream of its bytes
    async def screenshot(self, dom: DomainRef, screen: int, flags: int = 0) -> tuple[str | None, ByteStream]:
        raise NoSupport("this function is not supported by the connection driver: virDomainScreenshot")

    # ---- libvirt-qemu pass-through (drivers/qemu/passthrough.py). libvirt-qemu.c reports a
    # missing driver method from VIR_FROM_NONE, as these do.
    async def qemu_monitor_command(self, dom: DomainRef, cmd: str, flags: int = 0) -> str:
        """virDomainQemuMonitorCommand: QMP JSON in, QEMU's whole reply out (HMP flag: the
        human monitor's text)."""
        raise NoSupport("this function is not supported by the connection driver: virDomainQemuMonitorCommand",
                        domain=ErrorDomain.NONE)

    async def qemu_agent_command(self, dom: DomainRef, cmd: str, timeout: int, flags: int = 0) -> str | None:
        """virDomainQemuAgentCommand: one guest-agent JSON command; its reply (None: no reply
        awaited)."""
        raise NoSupport("this function is not supported by the connection driver: virDomainQemuAgentCommand",
                        domain=ErrorDomain.NONE)

    async def qemu_monitor_event_register(self, dom: DomainRef | None, event: str | None, flags: int,
                                          cb: QemuMonitorEventCallback) -> int:
        """virConnectDomainQemuMonitorEventRegister: ``cb`` gets every matching QMP event
        (REGEX=1 / NOCASE=2 flags on ``event``) of ``dom`` (None: every domain); the id."""
        raise NoSupport("this function is not supported by the connection driver: "
                        "virConnectDomainQemuMonitorEventRegister", domain=ErrorDomain.NONE)

    async def qemu_monitor_event_deregister(self, callback_id: int) -> None:
        raise NoSupport("this function is not supported by the connection driver: "
                        "virConnectDomainQemuMonitorEventDeregister", domain=ErrorDomain.NONE)

    async def qemu_attach(self, pid: int, flags: int = 0) -> DomainRef:
        raise NoSupport("this function is not supported by the connection driver: virDomainQemuAttach",
                        domain=ErrorDomain.NONE)
