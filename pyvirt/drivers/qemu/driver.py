"""QemuDriver: the qemu:///system, qemu:///session and qemu:///embed connection.

Every API entry point follows one shape: lookup -> (job, for mutations) -> refresh from
disk -> state check -> work -> persist -> publish. Reads (list, info, state, XML) are
served from the status/config files and /proc and never need the QMP connection, so a
one-shot ``pyvirsh list`` stays fast and does not disturb the process that holds a monitor.

Monitor ownership: a QMP unix socket serves one client at a time. A driver instance
attaches to a running domain's monitor on demand (first mutating job, or
:meth:`reconnect_all` for a long-lived owner such as the daemon) and keeps it until
:meth:`close`.

Lifecycle mechanics (spawn, QMP events, agent) live in :mod:`.lifecycle`; this module is
the API surface.
"""

from __future__ import annotations

import contextlib
import os

from pyvirt.drivers.base import (
    ByteStream,
    DomainInfo,
    DomainRef,
    Driver,
    LifecycleEventMsg,
    NodeInfo,
)
from pyvirt.drivers.listfilter import domain_matches
from pyvirt.drivers.qemu.blockjob_api import BlockJobAPI
from pyvirt.drivers.qemu.domainobj import DomainDefinition, DomainObj, DomainStore, format_uuid
from pyvirt.drivers.qemu.jobs import JobKind
from pyvirt.drivers.qemu.lifecycle import Lifecycle
from pyvirt.drivers.qemu.passthrough import PassthroughAPI
from pyvirt.drivers.qemu.paths import QemuPaths
from pyvirt.drivers.qemu.snapshot_api import SnapshotAPI
from pyvirt.drivers.qemu.status import atomic_write, proc_cpu_time_ns
from pyvirt.drivers.qemu.vcpu import VcpuAPI
from pyvirt.drivers.storage.api import StorageMixin, StorageState
from pyvirt.drivers.storage.pools import PoolStore
from pyvirt.enums import (
    DefinedDetail,
    DestroyFlags,
    DomainCreateFlags,
    DomainState,
    LifecycleEvent,
    ListDomainsFlags,
    ShutdownFlags,
    UndefinedDetail,
    UndefineFlags,
    XMLFlags,
)
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError


def _err(code: ErrorCode, msg: str, domain: ErrorDomain = ErrorDomain.QEMU) -> VirtError:
    return VirtError(msg, code, domain)


def _bad_flags(flags: int, fn: str) -> VirtError:
    # virCheckFlags' message carries no "invalid argument: " prefix (checked on libvirt 9).
    return _err(ErrorCode.INVALID_ARG, f"unsupported flags (0x{flags:x}) in function {fn}")


def _runs_as_root(pid: int) -> bool:
    """QEMU's real uid is 0 (libvirt's high-privileges taint)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("Uid:"):
                    return line.split()[1] == "0"
    except OSError:
        pass
    return False


def _not_running(domain: ErrorDomain = ErrorDomain.DOMAIN) -> VirtError:
    return _err(ErrorCode.OPERATION_INVALID, "Requested operation is not valid: domain is not running", domain)


class QemuDriver(PassthroughAPI, VcpuAPI, SnapshotAPI, StorageMixin, BlockJobAPI, Driver):  # vCPUs: vcpu.py
    """One open qemu:/// connection.

    Construct with ``await QemuDriver.open(uri)``; the constructor takes the resolved
    :class:`QemuPaths` and does no I/O (tests pass ``QemuPaths.embed(tmpdir)``).
    """

    def __init__(self, paths: QemuPaths) -> None:
        super().__init__()
        self.paths = paths
        self.store = DomainStore(paths)
        self.lc = Lifecycle(paths, self.store, self.events)
        self.init_blockjobs()  # block jobs + save/restore (blockjob_api.py)
        self.init_passthrough()  # libvirt-qemu monitor/agent pass-through (passthrough.py)
        # storage pools live beside the qemu dirs: <config>/storage, <run>/storage
        self.storage = StorageState(PoolStore(paths.config_dir.parent / "storage",
                                              paths.run_dir.parent / "storage"))

    @classmethod
    async def open(cls, uri: str) -> QemuDriver:
        """Open a connection: resolve dirs, scan definitions and status files.

        Dead QEMUs recorded as running are cleaned up (shut off, crashed) here; live ones
        are attached lazily, on their first mutating job.
        """
        return await cls.open_paths(QemuPaths.from_uri(uri))

    @classmethod
    async def open_paths(cls, paths: QemuPaths) -> QemuDriver:
        """Like :meth:`open` for an explicit directory layout (pyvirtd --root)."""
        drv = cls(paths)
        drv.paths.ensure()
        drv.store.load()
        drv.storage = StorageState.open(drv.storage.store.config_dir, drv.storage.store.run_dir)
        await drv.lc.reap_dead()
        return drv

    async def reconnect_all(self) -> None:
        """Attach to every running domain's monitor now (what a restarted daemon does)."""
        self.store.load()
        for obj in list(self.store.by_name.values()):
            if obj.active:
                async with obj.job.hold(JobKind.MODIFY):
                    self.store.refresh(obj)
                    if obj.active:
                        await self.lc.attach(obj)

    async def close(self) -> None:
        await self.lc.detach_all()

    def uri(self) -> str:
        return self.paths.uri

    def type_name(self) -> str:
        return "QEMU"

    # ------------------------------------------------------------------ host
    async def get_version(self) -> int:
        return (await self.lc.caps()).version

    async def get_capabilities(self) -> str:
        from pyvirt.drivers.qemu.capsxml import connect_capabilities

        return await connect_capabilities(self.lc.caps_cache_dir)

    async def node_get_info(self) -> NodeInfo:
        from pyvirt.drivers.qemu import hostinfo

        return hostinfo.node_info()

    async def get_domain_capabilities(
        self, emulator: str | None, arch: str | None, machine: str | None, virttype: str | None, flags: int
    ) -> str:
        from pyvirt.drivers.qemu.domcapsxml import connect_domain_capabilities

        if flags:
            raise _bad_flags(flags, "qemuConnectGetDomainCapabilities")
        # The binary follows the arch when no emulator is named (i686 -> qemu-system-i386).
        return await connect_domain_capabilities(self.lc.caps_cache_dir, emulator, arch, machine, virttype)

    # ------------------------------------------------------------------ lookup
    def _obj(self, dom: DomainRef) -> DomainObj:
        obj = self.store.by_name.get(dom.name)
        if obj is None or obj.uuid != dom.uuid:
            obj = next((o for o in self.store.by_name.values() if o.uuid == dom.uuid), None)
        if obj is None:
            raise _err(
                ErrorCode.NO_DOMAIN,
                f"Domain not found: no domain with matching uuid '{format_uuid(dom.uuid)}' ({dom.name})",
            )
        return obj

    async def lookup_by_name(self, name: str) -> DomainRef:
        obj = self.store.by_name.get(name)
        if obj is None:
            raise _err(ErrorCode.NO_DOMAIN, f"Domain not found: no domain with matching name '{name}'")
        return obj.ref()

    async def lookup_by_uuid(self, uuid: bytes) -> DomainRef:
        for obj in self.store.by_name.values():
            if obj.uuid == uuid:
                return obj.ref()
        raise _err(ErrorCode.NO_DOMAIN, f"Domain not found: no domain with matching uuid '{format_uuid(uuid)}'")

    async def lookup_by_id(self, id: int) -> DomainRef:
        for obj in self.store.by_name.values():
            if obj.active and obj.id == id:
                return obj.ref()
        raise _err(ErrorCode.NO_DOMAIN, f"Domain not found: no domain with matching id {id}")

    async def list_all_domains(self, flags: int = 0) -> list[DomainRef]:
        saved = self.managed_saved_names() if flags & (ListDomainsFlags.MANAGEDSAVE | ListDomainsFlags.NO_MANAGEDSAVE) else set()
        snapped: set[str] = set()
        if flags & (ListDomainsFlags.HAS_SNAPSHOT | ListDomainsFlags.NO_SNAPSHOT):
            # the same file scan as the light read path, so the two agree; imported here
            # because the heavy path otherwise never loads readonly.py (a perf test checks)
            from pyvirt.drivers.qemu.readonly import snapshot_owner_names

            snapped = snapshot_owner_names(str(self.paths.lib_dir))
        objs = [o for o in self.store.by_name.values()
                if _matches(o, flags, o.name in saved, o.name in snapped)]
        # libvirt returns them in hash order; active first by id then names reads best
        # and virsh sorts anyway.
        objs.sort(key=lambda o: (not o.active, o.id, o.name))
        return [o.ref() for o in objs]

    # ------------------------------------------------------------------ definition
    def _clash(self, d: DomainDefinition, *, live_check: bool) -> DomainObj | None:
        """The existing object this definition refers to, or raise libvirt's clash errors."""
        for obj in self.store.by_name.values():
            if obj.uuid == d.uuid:
                if obj.name != d.name:
                    raise _err(
                        ErrorCode.OPERATION_FAILED,
                        f"operation failed: domain '{obj.name}' is already defined with uuid {d.uuid_str}",
                        ErrorDomain.DOMAIN,
                    )
                if live_check and obj.active:
                    raise _err(
                        ErrorCode.OPERATION_INVALID,
                        f"Requested operation is not valid: domain '{obj.name}' is already active",
                        ErrorDomain.DOMAIN,
                    )
                return obj
            if obj.name == d.name:
                raise _err(
                    ErrorCode.OPERATION_FAILED,
                    f"operation failed: domain '{obj.name}' already exists with uuid "
                    f"{format_uuid(obj.uuid)}",
                    ErrorDomain.DOMAIN,
                )
        return None

    async def define_xml(self, xml: str, flags: int = 0) -> DomainRef:
        if flags & ~1:
            raise _bad_flags(flags, "qemuDomainDefineXMLFlags")
        d = await self.lc.parse(xml)
        existing = self._clash(d, live_check=False)
        obj = existing if existing is not None else self.store.new_obj(d.name, d.uuid)
        async with obj.job.hold(JobKind.MODIFY):
            self.store.refresh(obj)
            was_persistent = existing is not None and obj.persistent
            if obj.active:
                obj.next_xml = d.format()
                obj.persistent = True
                self.store.save_status(obj)
                atomic_write(self.store.config_path(obj.name), obj.next_xml)
            else:
                obj.set_definition(d)
                obj.persistent = True
                self.store.save_config(obj)
        detail = DefinedDetail.UPDATED if was_persistent else DefinedDetail.ADDED
        self.events.publish(LifecycleEventMsg(obj.ref(), LifecycleEvent.DEFINED, detail))
        return obj.ref()

    async def undefine(self, dom: DomainRef, flags: int = 0) -> None:
        allowed = (
            UndefineFlags.MANAGED_SAVE | UndefineFlags.SNAPSHOTS_METADATA | UndefineFlags.NVRAM
            | UndefineFlags.KEEP_NVRAM | UndefineFlags.CHECKPOINTS_METADATA | UndefineFlags.TPM
            | UndefineFlags.KEEP_TPM
        )
        if flags & ~allowed:
            raise _bad_flags(flags, "qemuDomainUndefineFlags")
        obj = self._obj(dom)
        async with obj.job.hold(JobKind.MODIFY):
            self.store.refresh(obj)
            if not obj.persistent:
                raise _err(ErrorCode.OPERATION_INVALID, "Requested operation is not valid: cannot undefine transient domain")
            self.snapshots_on_undefine(obj, flags)  # refuse, or drop the metadata (snapshot_api.py)
            self.managed_save_on_undefine(obj, flags)  # refuse, or remove the image (blockjob_api.py)
            self.store.remove_config(obj)
            ref = obj.ref()
            if obj.active:
                obj.persistent = False
                obj.autostart = False
                obj.next_xml = None
                self.store.save_status(obj)
            else:
                self.store.by_name.pop(obj.name, None)
                self.store.clear_shutoff_reason(obj)
        self.events.publish(LifecycleEventMsg(ref, LifecycleEvent.UNDEFINED, UndefinedDetail.REMOVED))

    async def get_xml_desc(self, dom: DomainRef, flags: int = 0) -> str:
        if flags & ~(XMLFlags.SECURE | XMLFlags.INACTIVE | XMLFlags.UPDATE_CPU | XMLFlags.MIGRATABLE):
            raise _bad_flags(flags, "qemuDomainGetXMLDesc")
        obj = self._obj(dom)
        if obj.active and not flags & XMLFlags.INACTIVE:
            # the <mirror> of a running copy / active commit is added on the way out
            from pyvirt.drivers.qemu.blockjob_mirror import live_xml_with_mirrors

            return live_xml_with_mirrors(self.blockjobs, obj)
        if obj.next_xml is not None:
            return DomainDefinition.parse(obj.next_xml).format()
        return obj.definition.format()

    # ------------------------------------------------------------------ state (no QMP)
    def _live_def(self, obj: DomainObj) -> DomainDefinition:
        if obj.active and obj.live_xml:
            return DomainDefinition.parse(obj.live_xml)
        return obj.definition

    async def get_info(self, dom: DomainRef) -> DomainInfo:
        obj = self._obj(dom)
        m = self._live_def(obj).model
        cpu = proc_cpu_time_ns(obj.pid) if obj.active else 0
        vcpus = m.vcpu.current if m.vcpu.current is not None else m.vcpu.count
        return DomainInfo(obj.state, m.memory_kib, m.current_memory_kib, vcpus, cpu)

    async def get_messages(self, dom: DomainRef, flags: int = 0) -> list[str]:
        """virDomainGetMessages. The one taint libvirt reports for guests like ours: QEMU
        running as root (read from the live process, so it holds across daemon restarts).
        A shut-off domain has none; the guest never had deprecated settings to report."""
        deprecation, tainting = 1, 2  # VIR_DOMAIN_MESSAGE_*
        if flags & ~(deprecation | tainting):
            raise _bad_flags(flags, "qemuDomainGetMessages")
        obj = self._obj(dom)
        if not obj.active or (flags and not flags & tainting):
            return []
        root = ["tainted: running with undesirable elevated privileges"] if _runs_as_root(obj.pid) else []
        return self.domain_taints(obj) + root  # libvirt lists custom-monitor before high-privileges

    async def get_state(self, dom: DomainRef, flags: int = 0) -> tuple[int, int]:
        if flags:
            raise _bad_flags(flags, "qemuDomainGetState")
        obj = self._obj(dom)
        self.store.load_shutoff_reason(obj)
        return int(obj.state), obj.reason

    async def is_active(self, dom: DomainRef) -> bool:
        return self._obj(dom).active

    async def is_persistent(self, dom: DomainRef) -> bool:
        return self._obj(dom).persistent

    async def get_autostart(self, dom: DomainRef) -> bool:
        return self._obj(dom).autostart

    async def set_autostart(self, dom: DomainRef, autostart: bool) -> None:
        obj = self._obj(dom)
        async with obj.job.hold(JobKind.MODIFY):
            self.store.refresh(obj)
            if not obj.persistent:
                raise _err(ErrorCode.OPERATION_INVALID, "Requested operation is not valid: cannot set autostart for transient domain")
            link = self.paths.autostart_dir / f"{obj.name}.xml"
            if autostart:
                if not link.is_symlink():
                    os.symlink(self.store.config_path(obj.name), link)
            else:
                with contextlib.suppress(FileNotFoundError):
                    link.unlink()
            obj.autostart = autostart

    # ------------------------------------------------------------------ lifecycle
    async def create(self, dom: DomainRef, flags: int = 0) -> DomainRef:
        allowed = DomainCreateFlags.START_PAUSED | DomainCreateFlags.START_AUTODESTROY | DomainCreateFlags.START_BYPASS_CACHE \
            | DomainCreateFlags.START_FORCE_BOOT | DomainCreateFlags.START_VALIDATE
        if flags & ~allowed:
            raise _bad_flags(flags, "qemuDomainCreateWithFlags")
        obj = self._obj(dom)
        async with obj.job.hold(JobKind.MODIFY):
            self.store.refresh(obj)
            if obj.active:
                raise _err(ErrorCode.OPERATION_INVALID, "Requested operation is not valid: domain is already running")
            if not await self.start_from_managed_save(obj, bool(flags & DomainCreateFlags.START_PAUSED)):
                await self.lc.start(obj, obj.definition.copy(), paused=bool(flags & DomainCreateFlags.START_PAUSED))
        return obj.ref()

    async def create_xml(self, xml: str, flags: int = 0) -> DomainRef:
        allowed = DomainCreateFlags.START_PAUSED | DomainCreateFlags.START_AUTODESTROY | DomainCreateFlags.START_VALIDATE
        if flags & ~allowed:
            raise _bad_flags(flags, "qemuDomainCreateXML")
        d = await self.lc.parse(xml)
        existing = self._clash(d, live_check=True)
        obj = existing if existing is not None else self.store.new_obj(d.name, d.uuid)
        if existing is None:
            obj.persistent = False
            obj.set_definition(d)
        try:
            async with obj.job.hold(JobKind.MODIFY):
                self.store.refresh(obj)
                if obj.active:
                    raise _err(ErrorCode.OPERATION_INVALID,
                               f"Requested operation is not valid: domain '{obj.name}' is already active", ErrorDomain.DOMAIN)
                await self.lc.start(obj, d, paused=bool(flags & DomainCreateFlags.START_PAUSED))
        except BaseException:
            if existing is None and not obj.active:
                self.store.by_name.pop(obj.name, None)
            raise
        return obj.ref()

    async def _active_job(self, dom: DomainRef, kind: JobKind, err_domain: ErrorDomain = ErrorDomain.DOMAIN) -> DomainObj:
        obj = self._obj(dom)
        if not obj.active:
            raise _not_running(err_domain)
        return obj

    async def destroy(self, dom: DomainRef, flags: int = 0) -> None:
        if flags & ~(DestroyFlags.GRACEFUL | DestroyFlags.REMOVE_LOGS):
            raise _bad_flags(flags, "qemuDomainDestroyFlags")
        obj = self._obj(dom)
        # Mark destroying before waiting for the job, so a concurrent job sees it (libvirt does
        # the same: destroy may interrupt a long job).
        async with obj.job.hold(JobKind.DESTROY):
            self.store.refresh(obj)
            if not obj.active:
                raise _not_running()
            await self.lc.destroy(obj, graceful=bool(flags & DestroyFlags.GRACEFUL))

    async def shutdown(self, dom: DomainRef, flags: int = 0) -> None:
        mask = ShutdownFlags.ACPI_POWER_BTN | ShutdownFlags.GUEST_AGENT
        if flags & ~(mask | ShutdownFlags.INITCTL | ShutdownFlags.SIGNAL | ShutdownFlags.PARAVIRT):
            raise _bad_flags(flags, "qemuDomainShutdownFlags")
        if flags & ~mask:
            raise _err(ErrorCode.INVALID_ARG, f"unsupported flags (0x{flags:x}) in function qemuDomainShutdownFlags")
        obj = self._obj(dom)
        async with obj.job.hold(JobKind.MODIFY):
            self.store.refresh(obj)
            if not obj.active or obj.state is not DomainState.RUNNING and obj.state is not DomainState.PAUSED:
                if obj.active:
                    raise _err(ErrorCode.OPERATION_INVALID, "Requested operation is not valid: domain is not running")
                raise _not_running(ErrorDomain.QEMU)
            await self.lc.shutdown(obj, flags, reboot=False)

    async def reboot(self, dom: DomainRef, flags: int = 0) -> None:
        mask = ShutdownFlags.ACPI_POWER_BTN | ShutdownFlags.GUEST_AGENT
        if flags & ~mask:
            raise _bad_flags(flags, "qemuDomainReboot")
        obj = self._obj(dom)
        async with obj.job.hold(JobKind.MODIFY):
            self.store.refresh(obj)
            if not obj.active:
                raise _not_running()
            await self.lc.shutdown(obj, flags, reboot=True)

    async def reset(self, dom: DomainRef, flags: int = 0) -> None:
        if flags:
            raise _bad_flags(flags, "qemuDomainReset")
        obj = self._obj(dom)
        async with obj.job.hold(JobKind.MODIFY):
            self.store.refresh(obj)
            if not obj.active:
                raise _not_running()
            await self.lc.reset(obj)

    async def suspend(self, dom: DomainRef) -> None:
        obj = self._obj(dom)
        async with obj.job.hold(JobKind.SUSPEND):
            self.store.refresh(obj)
            if not obj.active:
                raise _not_running()
            await self.lc.suspend(obj)

    async def resume(self, dom: DomainRef) -> None:
        obj = self._obj(dom)
        async with obj.job.hold(JobKind.MODIFY):
            self.store.refresh(obj)
            if not obj.active:
                raise _not_running()
            await self.lc.resume(obj)

    async def open_console(self, dom: DomainRef, dev_name: str | None, flags: int = 0) -> ByteStream:
        from pyvirt.drivers.qemu.console import open_console

        obj = self._obj(dom)
        if not obj.active:
            raise _not_running()
        return await open_console(obj.live_xml or "", dev_name, flags)

    # ------------------------------------------------------------------ daemon helpers
    async def autostart_all(self) -> list[str]:
        """Start every inactive autostart domain (called once by the daemon at startup)."""
        started = []
        for obj in list(self.store.by_name.values()):
            if obj.autostart and not obj.active:
                with contextlib.suppress(VirtError):
                    await self.create(obj.ref())
                    started.append(obj.name)
        return started


def _matches(obj: DomainObj, flags: int, managed_save: bool = False,
             has_snapshot: bool = False) -> bool:
    return domain_matches(flags, active=obj.active, persistent=obj.persistent,
                          autostart=obj.autostart, state=obj.state,
                          managed_save=managed_save, has_snapshot=has_snapshot)

