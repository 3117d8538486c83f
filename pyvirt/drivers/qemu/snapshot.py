"""Domain snapshots for the QEMU driver: create, list, revert, delete.

The driver calls these with the domain's job held and the object refreshed. Metadata is
in :mod:`.snapshot_meta`, disk mechanics in :mod:`.snapshot_disks`, the live external disk
switch (with the files it must leave, written while QEMU works) in :mod:`.snapshot_live`.
What each kind does:

=====================  =====================================  ================================
kind                   domain shut off                        domain running / paused
=====================  =====================================  ================================
internal disk-only     ``qemu-img snapshot -c`` per disk      one QMP transaction of
                                                              blockdev-snapshot-internal-sync
internal checkpoint    (a shut-off checkpoint: as above)      ``snapshot-save`` job (vCPUs
                                                              stopped, reason snapshot)
external disk-only     ``qemu-img create -b`` overlays        one QMP transaction of
                                                              blockdev-snapshot-sync (atomic)
=====================  =====================================  ================================

Revert goes further than libvirt 9.0: an external snapshot is reverted by putting a new
overlay on the files the snapshot froze and restarting from there.
Delete merges an external snapshot's overlay into the file below (``qemu-img commit``
offline, a ``block-commit`` job live); the seam :data:`Merger` lets the block-job module
take over the live merge.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pyvirt.conf.snapshot import (
    DomainSnapshotDef,
    SnapshotCreateFlags,
    SnapshotDeleteFlags,
    SnapshotDiskDef,
    SnapshotLocation,
    SnapshotRevertFlags,
    SnapshotState,
    default_external_path,
)
from pyvirt.drivers.qemu.domainobj import DomainDefinition, DomainObj
from pyvirt.drivers.qemu.monitor import QMPClosed, QMPCommandError, QMPMonitor
from pyvirt.drivers.qemu.snapshot_disks import (
    DiskInfo,
    agent_command,
    agent_socket,
    backing_chain,
    disk_nodes,
    disk_tops,
    domain_disks,
    op_failed,
    qemu_img,
    run_job,
    set_disk_sources,
)
from pyvirt.drivers.qemu.snapshot_live import qmp_error, switch_external, transaction
from pyvirt.drivers.qemu.snapshot_meta import SnapshotTree, TreeCache
from pyvirt.enums import (
    DomainState,
    LifecycleEvent,
    PausedReason,
    ResumedDetail,
    RunningReason,
    ShutoffReason,
    StartedDetail,
    StoppedDetail,
    SuspendedDetail,
)
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

if TYPE_CHECKING:
    from pyvirt.drivers.qemu.driver import QemuDriver
    from pyvirt.drivers.qemu.lifecycle import Lifecycle

C = SnapshotCreateFlags

# Live merge of ``top`` into the file below it: (monitor, device node, top path, base path).
Merger = Callable[[QMPMonitor, str, str, str], Awaitable[None]]


def _err(code: ErrorCode, msg: str, dom: ErrorDomain = ErrorDomain.DOMAIN_SNAPSHOT) -> VirtError:
    return VirtError(msg, code, dom)


def _bad_flags(flags: int, fn: str) -> VirtError:
    return _err(ErrorCode.INVALID_ARG, f"invalid argument: unsupported flags (0x{flags:x}) in function {fn}",
                ErrorDomain.QEMU)


_STATE_NAMES = {
    DomainState.RUNNING: SnapshotState.RUNNING, DomainState.PAUSED: SnapshotState.PAUSED,
    DomainState.SHUTOFF: SnapshotState.SHUTOFF, DomainState.BLOCKED: SnapshotState.BLOCKED,
    DomainState.SHUTDOWN: SnapshotState.SHUTDOWN, DomainState.CRASHED: SnapshotState.CRASHED,
    DomainState.PMSUSPENDED: SnapshotState.PMSUSPENDED,
}


@dataclass
class _Plan:
    """The aligned snapshot: which disks go where."""

    internal: list[DiskInfo]
    external: list[tuple[DiskInfo, SnapshotDiskDef]]
    forbid_internal: bool = False  # a writable disk with a medium is left out (snapshot='no')


class SnapshotManager:
    """Snapshot operations of one QEMU driver instance (no state of its own but the driver's)."""

    def __init__(self, drv: QemuDriver, merger: Merger | None = None) -> None:
        self.drv = drv
        self.merger: Merger = merger or live_commit
        self._files = TreeCache()

    # ------------------------------------------------------------------ metadata
    def tree(self, obj: DomainObj) -> SnapshotTree:
        """From the files every time (one-shot pyvirsh processes share them); only files
        changed since this driver last saw them are parsed again."""
        from pyvirt.drivers.qemu.domainobj import format_uuid

        return SnapshotTree.load(self._dir(obj), format_uuid(obj.uuid), self._files)

    def _dir(self, obj: DomainObj) -> Path:
        return self.drv.paths.snapshot_dir(obj.name)

    @contextlib.contextmanager
    def _mutating(self, obj: DomainObj) -> Iterator[None]:
        """A failed operation may leave parsed definitions ahead of their files: forget them."""
        try:
            yield
        except BaseException:
            self._files.forget(self._dir(obj))
            raise

    def _cur_xml(self, obj: DomainObj) -> str:
        if obj.active and obj.live_xml:
            return obj.live_xml
        return obj.definition.format()

    # ------------------------------------------------------------------ create
    async def create(self, obj: DomainObj, xml: str, flags: int) -> str:
        with self._mutating(obj):
            return await self._create(obj, xml, flags)

    async def _create(self, obj: DomainObj, xml: str, flags: int) -> str:
        if flags & ~int(C.REDEFINE | C.CURRENT | C.NO_METADATA | C.HALT | C.DISK_ONLY | C.REUSE_EXT
                        | C.QUIESCE | C.ATOMIC | C.LIVE | C.VALIDATE):
            raise _bad_flags(flags, "qemuDomainSnapshotCreateXML")
        if flags & C.QUIESCE and not flags & C.DISK_ONLY:
            raise _err(ErrorCode.INVALID_ARG, "Flag 'VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY' is required by flag "
                       "'VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE'", ErrorDomain.QEMU)
        if flags & C.LIVE and (not obj.active or flags & C.DISK_ONLY):
            raise _err(ErrorCode.OPERATION_UNSUPPORTED,
                       "Operation not supported: live snapshot creation is supported only during full system snapshots",
                       ErrorDomain.QEMU)
        tree = self.tree(obj)
        redefine = bool(flags & C.REDEFINE)
        d, _ = DomainSnapshotDef.parse(xml, redefine=redefine)
        if d.name is not None and "/" in d.name:  # names are file names in the metadata dir
            raise _err(ErrorCode.XML_DETAIL, f"invalid snapshot name '{d.name}': name can't contain '/'",
                       ErrorDomain.QEMU)
        if redefine:
            return self._redefine(obj, tree, d, flags)
        now = int(time.time())
        d.creation_time = now
        if d.name is None:
            d.name = str(now)
        if d.name in tree.snaps:
            raise _err(ErrorCode.OPERATION_FAILED, f"operation failed: domain moment {d.name} already exists",
                       ErrorDomain.DOMAIN)
        disk_only = bool(flags & C.DISK_ONLY)
        if disk_only:
            if d.memory not in (None, SnapshotLocation.NO):
                raise _err(ErrorCode.XML_ERROR,
                           "XML error: memory state cannot be saved with offline or disk-only snapshot")
            # libvirt: a disk-only snapshot of a shut-off domain is simply "shutoff"
            d.state = SnapshotState.DISK_SNAPSHOT if obj.active else SnapshotState.SHUTOFF
        else:
            d.state = _STATE_NAMES.get(obj.state, SnapshotState.NOSTATE)
        if d.memory is None:
            d.memory = SnapshotLocation.INTERNAL if obj.active and not disk_only else SnapshotLocation.NO
        # --live with an internal checkpoint: accepted, but QEMU's snapshot-save stops the
        # vCPUs anyway (libvirt 9.0 pauses for it as well); only external memory is live.
        if not obj.active and d.memory is not SnapshotLocation.NO:
            raise _err(ErrorCode.XML_ERROR, "XML error: memory state cannot be saved with offline or disk-only snapshot")
        cur_xml = self._cur_xml(obj)
        plan = self._align(d, cur_xml, name=d.name, reuse=bool(flags & C.REUSE_EXT), disk_only=disk_only)
        if (d.memory is SnapshotLocation.EXTERNAL and os.path.exists(d.memory_file or "")
                and not flags & C.REUSE_EXT):
            raise _err(ErrorCode.CONFIG_UNSUPPORTED,
                           f"unsupported configuration: external snapshot file for memory already exists: {d.memory_file}")
        # libvirt's selection rules, in its order
        if not plan.internal and not plan.external and d.memory is SnapshotLocation.NO:
            raise _err(ErrorCode.CONFIG_UNSUPPORTED, "unsupported configuration: nothing selected for snapshot")
        if ((d.memory is SnapshotLocation.INTERNAL and not plan.internal)
                or (plan.internal and plan.forbid_internal)):
            raise _err(ErrorCode.CONFIG_UNSUPPORTED, "unsupported configuration: internal and full system snapshots "
                       "require all disks to be selected for snapshot")
        if d.state is SnapshotState.DISK_SNAPSHOT and not plan.external:
            raise _err(ErrorCode.CONFIG_UNSUPPORTED, "unsupported configuration: disk-only snapshots require at least "
                       "one disk to be selected for snapshot")
        if plan.internal and plan.external:
            raise _err(ErrorCode.CONFIG_UNSUPPORTED,
                       "unsupported configuration: mixing internal and external targets for a snapshot is not yet supported")
        # the stored definition's text is its canonical format (saved from it): no re-format
        inactive_xml = (obj.config_xml or obj.definition.format()) if obj.active else None
        d.set_domain_xml(_strip_decl(cur_xml), _strip_decl(inactive_xml) if inactive_xml else None)
        d.parent = tree.current
        meta = None if flags & C.NO_METADATA else tree
        if obj.active:
            meta = await self._create_live(obj, d, plan, flags, meta)
        else:
            await self._create_offline(obj, d, plan)
        if meta is not None:  # not yet written along with the disk switch
            tree.snaps[d.name] = d
            tree.set_current(d.name)
        if flags & C.HALT and obj.active:
            await self.drv.lc.destroy(obj, graceful=False)
        return d.name

    def _redefine(self, obj: DomainObj, tree: SnapshotTree, d: DomainSnapshotDef, flags: int) -> str:
        assert d.name is not None
        if d.parent is not None and d.parent not in tree.snaps:
            raise _err(ErrorCode.INVALID_ARG, f"invalid argument: parent {d.parent} for snapshot {d.name} not found")
        tree.snaps[d.name] = d
        if flags & C.CURRENT:
            tree.set_current(d.name)
        else:
            tree.save(d.name)
        return d.name

    def _align(self, d: DomainSnapshotDef, dom_xml: str, *, name: str, reuse: bool, disk_only: bool) -> _Plan:
        """libvirt's disk alignment: every listed disk must exist; unlisted disks follow the
        snapshot's default (external for disk-only or external memory, else internal)."""
        disks = [x for x in domain_disks(dom_xml) if x.device == "disk"]
        by_target = {x.target: x for x in disks}
        by_source = {x.source: x for x in disks if x.source}
        seen: dict[str, SnapshotDiskDef] = {}
        for sd in d.disks:
            info = by_target.get(sd.name) or by_source.get(sd.name)
            if info is None:
                raise _err(ErrorCode.CONFIG_UNSUPPORTED, f"unsupported configuration: no disk named '{sd.name}'")
            if info.target in seen:
                raise _err(ErrorCode.CONFIG_UNSUPPORTED,
                           f"unsupported configuration: disk '{sd.name}' specified twice")
            sd.name = info.target
            seen[info.target] = sd
        default = (SnapshotLocation.EXTERNAL if disk_only or d.memory is SnapshotLocation.EXTERNAL
                   else SnapshotLocation.INTERNAL)
        ordered: list[SnapshotDiskDef] = []
        plan = _Plan([], [])
        for info in disks:
            sd = seen.get(info.target) or SnapshotDiskDef(info.target)
            if sd.snapshot is None:
                own = SnapshotLocation(info.snapshot) if info.snapshot else None
                sd.snapshot = own or (default if info.snapshottable else SnapshotLocation.NO)
            if sd.snapshot is SnapshotLocation.EXTERNAL:
                sd.type = sd.type or "file"
                sd.driver_type = sd.driver_type or "qcow2"
                if sd.source_file is None:
                    if info.source is None:
                        raise _err(ErrorCode.CONFIG_UNSUPPORTED,
                                   f"unsupported configuration: cannot generate external snapshot name for disk '{info.target}' without source")
                    sd.set_source(default_external_path(info.source, name))
                if os.path.exists(sd.source_file or "") and not reuse:
                    raise _err(ErrorCode.CONFIG_UNSUPPORTED,
                               f"unsupported configuration: external snapshot file for disk {info.target} already "
                               f"exists and is not a block device: {sd.source_file}", ErrorDomain.QEMU)
                if reuse and not os.path.exists(sd.source_file or ""):
                    raise _err(ErrorCode.CONFIG_UNSUPPORTED,
                               f"unsupported configuration: missing existing file for disk {info.target}: {sd.source_file}")
                plan.external.append((info, sd))
            elif sd.snapshot is SnapshotLocation.INTERNAL:
                if info.format != "qcow2":
                    raise _err(ErrorCode.CONFIG_UNSUPPORTED,
                               f"unsupported configuration: internal snapshot for disk {info.target} unsupported "
                               f"for storage type {info.format}")
                plan.internal.append(info)
            elif info.source and not info.readonly:
                plan.forbid_internal = True
            ordered.append(sd)
        d.disks = ordered
        return plan

    async def _create_offline(self, obj: DomainObj, d: DomainSnapshotDef, plan: _Plan) -> None:
        assert d.name is not None
        done: list[tuple[str, str]] = []
        try:
            for info in plan.internal:
                await qemu_img("snapshot", "-c", d.name, info.source or "")
                done.append(("int", info.source or ""))
            for info, sd in plan.external:
                fmt_base = info.format
                await qemu_img("create", "-q", "-f", sd.driver_type or "qcow2", "-F", fmt_base,
                               "-b", info.source or "", sd.source_file or "")
                done.append(("ext", sd.source_file or ""))
        except VirtError:
            await _undo(done, d.name)
            raise
        if plan.external:
            changes = {info.target: (sd.source_file or "", sd.driver_type or "qcow2") for info, sd in plan.external}
            self._update_config(obj, changes)

    def _update_config(self, obj: DomainObj, changes: dict[str, tuple[str, str]]) -> None:
        """The persistent definition follows the new disk sources (libvirt does this too)."""
        if not obj.persistent and obj.active:
            return
        base = obj.next_xml or obj.definition.format()
        new = DomainDefinition.parse(set_disk_sources(base, changes, None, inactive=True))
        if obj.next_xml is not None:
            obj.next_xml = new.format()
        else:
            obj.set_definition(new)
        if obj.persistent:
            self.drv.store.save_config(obj)

    async def _update_live(self, obj: DomainObj, changes: dict[str, tuple[str, str]]) -> None:
        chains = {t: await backing_chain(p) for t, (p, _) in changes.items()}
        obj.live_xml = set_disk_sources(obj.live_xml or "", changes, chains, inactive=False)
        self.drv.store.save_status(obj)
        # the block-job layer, when present, rewrites the chains from QEMU's own view
        # (node names, indexes), so both kinds of operations show one format
        await self._refresh_chains(obj)

    async def _create_live(self, obj: DomainObj, d: DomainSnapshotDef, plan: _Plan, flags: int,
                           meta: SnapshotTree | None) -> SnapshotTree | None:
        """Returns ``meta`` when the snapshot's metadata is still to be written (None once
        it went to disk together with an external disk switch)."""
        assert d.name is not None
        rt = await self.drv.lc.runtime(obj)
        mon = rt.monitor
        assert mon is not None
        frozen = False
        agent = agent_socket(obj.live_xml or "") if flags & C.QUIESCE else None
        if flags & C.QUIESCE:
            if agent is None:
                raise _err(ErrorCode.ARGUMENT_UNSUPPORTED, "argument unsupported: QEMU guest agent is not configured",
                           ErrorDomain.QEMU)
            await agent_command(agent, "guest-fsfreeze-freeze")
            frozen = True
        paused_here = False
        try:
            tops = await disk_tops(mon)
            nodes = {alias: top.node for alias, top in tops.items()}
            if d.memory is SnapshotLocation.EXTERNAL:
                # vCPUs stop for the disk switch-over (and, without --live, for the whole
                # save), so memory and disks are one point in time.
                if obj.state is DomainState.RUNNING and not flags & C.LIVE:
                    await self._pause(obj, mon, PausedReason.SNAPSHOT, SuspendedDetail.PAUSED)
                    paused_here = True
                await self._save_memory(obj, mon, d)
                if obj.state is DomainState.RUNNING:  # --live: the migration ended with vCPUs stopped
                    obj.set_state(DomainState.PAUSED, PausedReason.SNAPSHOT)
                    paused_here = True
            if d.memory is SnapshotLocation.INTERNAL:
                # A full checkpoint: vCPUs stop for the save (libvirt's "snapshot" pause).
                if obj.state is DomainState.RUNNING:
                    await self._pause(obj, mon, PausedReason.SNAPSHOT, SuspendedDetail.PAUSED)
                    paused_here = True
                devs = [_node(nodes, i) for i in plan.internal]
                await run_job(mon, "snapshot-save", {"tag": d.name, "vmstate": devs[0] if devs else "",
                                                     "devices": devs}, f"snapsave-{d.name}")
            elif plan.internal:
                actions = [{"type": "blockdev-snapshot-internal-sync",
                            "data": {"device": _node(nodes, i), "name": d.name}} for i in plan.internal]
                await transaction(mon, actions)
            if plan.external:
                await switch_external(self.drv.store, obj, mon, tops, plan.external, reuse=bool(flags & C.REUSE_EXT),
                                      meta=(meta, d) if meta is not None else None)
                meta = None
        finally:
            if frozen and agent is not None:
                with contextlib.suppress(VirtError):
                    await agent_command(agent, "guest-fsfreeze-thaw")
            if paused_here and not flags & C.HALT:
                await self._resume(obj, mon, RunningReason.UNPAUSED, ResumedDetail.UNPAUSED)
        return meta

    async def _save_memory(self, obj: DomainObj, mon: QMPMonitor, d: DomainSnapshotDef) -> None:
        """The guest's memory into the memspec file: a migration to an fd, in the save
        module's image format (header with the domain XML), so revert restores it like a
        saved domain."""
        from pyvirt.drivers.qemu.save import SaveHeader, _run_migration

        path = d.memory_file or ""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, SaveHeader(obj.live_xml or "", d.state is SnapshotState.RUNNING).encode())
            await _run_migration(mon, self.drv.migrations, obj.name, fd, incoming=False)
            os.fsync(fd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(path)
            raise
        finally:
            os.close(fd)

    # ------------------------------------------------------------------ vCPU control with libvirt's reasons
    async def _pause(self, obj: DomainObj, mon: QMPMonitor, reason: PausedReason, detail: SuspendedDetail) -> None:
        # State first: the STOP event QEMU sends is then a no-op for the worker, and the
        # reason / event detail are ours.
        obj.set_state(DomainState.PAUSED, reason)
        self.drv.store.save_status(obj)
        self.drv.lc._publish(obj, LifecycleEvent.SUSPENDED, detail)
        try:
            await mon.execute("stop")
        except (QMPClosed, QMPCommandError) as e:
            raise qmp_error(e, "stop") from e

    async def _resume(self, obj: DomainObj, mon: QMPMonitor, reason: RunningReason, detail: ResumedDetail) -> None:
        obj.set_state(DomainState.RUNNING, reason)
        self.drv.store.save_status(obj)
        self.drv.lc._publish(obj, LifecycleEvent.RESUMED, detail)
        try:
            await mon.execute("cont")
        except (QMPClosed, QMPCommandError) as e:
            raise qmp_error(e, "cont") from e

    # ------------------------------------------------------------------ revert
    async def revert(self, obj: DomainObj, name: str, flags: int) -> None:
        with self._mutating(obj):
            await self._revert(obj, name, flags)

    async def _revert(self, obj: DomainObj, name: str, flags: int) -> None:
        R = SnapshotRevertFlags
        if flags & ~int(R.RUNNING | R.PAUSED | R.FORCE | R.RESET_NVRAM):
            raise _bad_flags(flags, "qemuDomainRevertToSnapshot")
        if flags & R.RUNNING and flags & R.PAUSED:
            raise _err(ErrorCode.INVALID_ARG, "invalid argument: flags 'running' and 'paused' are mutually exclusive",
                       ErrorDomain.NONE)
        tree = self.tree(obj)
        d = tree.get(name)
        dom_xml = d.domain_xml()
        if dom_xml is None:
            raise _err(ErrorCode.SNAPSHOT_REVERT_RISKY,
                       "revert requires force: snapshot has no domain definition", ErrorDomain.QEMU)
        # --running / --paused start a domain from any snapshot (disk-only ones included)
        want_active = d.is_active_state or bool(flags & (R.RUNNING | R.PAUSED))
        if d.memory is SnapshotLocation.EXTERNAL and d.is_active_state and not os.path.exists(d.memory_file or ""):
            raise _err(ErrorCode.OPERATION_INVALID,
                       f"Requested operation is not valid: memory state file '{d.memory_file}' of snapshot "
                       f"'{name}' is missing", ErrorDomain.QEMU)
        # 1. the domain goes down (disk state is replaced under it). libvirt 9 restarts QEMU
        # for every revert of a running domain, even to a checkpoint of the same definition,
        # and reports it as Stopped/Snapshot with no Shutdown event before it.
        if obj.active:
            with _rewritten_events(self.drv.lc, {
                (LifecycleEvent.SHUTDOWN, None): None,
                (LifecycleEvent.STOPPED, StoppedDetail.DESTROYED): (LifecycleEvent.STOPPED, StoppedDetail.FROM_SNAPSHOT),
            }):
                await self.drv.lc.destroy(obj, graceful=False)
            # only a domain we stopped is "shut off (from snapshot)"; an inactive one keeps
            # its reason (libvirt 9.0 reports "unknown" after an offline revert)
            obj.set_state(DomainState.SHUTOFF, ShutoffReason.FROM_SNAPSHOT)
        else:
            obj.set_state(DomainState.SHUTOFF, ShutoffReason.UNKNOWN)
        if obj.persistent:
            self.drv.store.save_shutoff_reason(obj)
        # 2. disks back to the snapshot's state
        defn_xml = d.inactive_domain_xml() or dom_xml
        if d.is_external:
            defn_xml = await self._revert_external_disks(d, defn_xml, tree)
        else:
            for info in domain_disks(defn_xml):
                sd = d.disk(info.target)
                if sd is not None and sd.snapshot is SnapshotLocation.INTERNAL and info.source:
                    await qemu_img("snapshot", "-a", name, info.source)
        new_def = await self.drv.lc.parse(defn_xml)
        obj.set_definition(new_def)
        if obj.persistent:
            self.drv.store.save_config(obj)
        tree.set_current(name)
        # 3. the domain comes back in the requested state
        if not want_active:
            return
        paused = bool(flags & R.PAUSED) or (d.state is SnapshotState.PAUSED and not flags & R.RUNNING)
        started = (LifecycleEvent.STARTED, StartedDetail.FROM_SNAPSHOT)
        if d.is_active_state:
            # A guest with memory state: Started/Snapshot, then Resumed/Snapshot or
            # Suspended/Snapshot, state running/paused (from snapshot) - libvirt's sequence.
            with _rewritten_events(self.drv.lc, {
                (LifecycleEvent.STARTED, None): started,
                (LifecycleEvent.SUSPENDED, None): None,
                (LifecycleEvent.RESUMED, None): None,
            }):
                if d.memory is SnapshotLocation.EXTERNAL:
                    from pyvirt.drivers.qemu.save import read_header, restore_into

                    _, offset = read_header(d.memory_file or "")
                    await restore_into(self.drv.lc, self.drv.migrations, obj, obj.definition.copy(),
                                       d.memory_file or "", offset, True)
                else:
                    await self.drv.lc.start(obj, obj.definition.copy(), paused=True)
                    rt = await self.drv.lc.runtime(obj)
                    assert rt.monitor is not None
                    await self._load(obj, rt.monitor, d)
            await self._refresh_chains(obj)
            rt = await self.drv.lc.runtime(obj)
            assert rt.monitor is not None
            if paused:
                obj.set_state(DomainState.PAUSED, PausedReason.FROM_SNAPSHOT)
                self.drv.store.save_status(obj)
                self.drv.lc._publish(obj, LifecycleEvent.SUSPENDED, SuspendedDetail.FROM_SNAPSHOT)
            else:
                await self._resume(obj, rt.monitor, RunningReason.FROM_SNAPSHOT, ResumedDetail.FROM_SNAPSHOT)
            return
        # A disk-only / shut-off snapshot started with --running or --paused boots from the
        # reverted disks: libvirt reports Started/Snapshot, the state stays "booted".
        with _rewritten_events(self.drv.lc, {(LifecycleEvent.STARTED, None): started}):
            await self.drv.lc.start(obj, obj.definition.copy(), paused=paused)
        await self._refresh_chains(obj)

    async def _refresh_chains(self, obj: DomainObj) -> None:
        """The live XML of a QEMU we (re)started shows each disk's backing chain, as after
        any start (the driver's block-job layer fills it in from QEMU's view)."""
        blockjobs = getattr(self.drv, "blockjobs", None)
        if blockjobs is not None:
            with contextlib.suppress(VirtError):
                await blockjobs.refresh_chains(obj)

    async def _load(self, obj: DomainObj, mon: QMPMonitor, d: DomainSnapshotDef) -> None:
        nodes = await disk_nodes(mon)
        infos = [i for i in domain_disks(obj.live_xml or "")
                 if (sd := d.disk(i.target)) is not None and sd.snapshot is SnapshotLocation.INTERNAL]
        devs = [_node(nodes, i) for i in infos]
        await run_job(mon, "snapshot-load", {"tag": d.name, "vmstate": devs[0] if devs else "", "devices": devs},
                      f"snapload-{d.name}")

    async def _revert_external_disks(self, d: DomainSnapshotDef, defn_xml: str, tree: SnapshotTree) -> str:
        """New overlays on the files the snapshot froze (the embedded domain's sources)."""
        changes: dict[str, tuple[str, str]] = {}
        for info in domain_disks(defn_xml):
            sd = d.disk(info.target)
            if sd is None or sd.snapshot is not SnapshotLocation.EXTERNAL or not info.source:
                continue
            overlay = sd.source_file or default_external_path(info.source, d.name or "revert")
            # The snapshot's own overlay may be a backing file of later snapshots: then it
            # must survive, and the fresh overlay gets a new name.
            if _used_as_backing(tree, overlay, d.name):
                n = 1
                while os.path.exists(f"{overlay}.{n}"):
                    n += 1
                overlay = f"{overlay}.{n}"
            elif os.path.exists(overlay):
                os.unlink(overlay)
            await qemu_img("create", "-q", "-f", sd.driver_type or "qcow2", "-F", info.format,
                           "-b", info.source, overlay)
            changes[info.target] = (overlay, sd.driver_type or "qcow2")
        return set_disk_sources(defn_xml, changes, None, inactive=True) if changes else defn_xml

    # ------------------------------------------------------------------ delete
    async def delete(self, obj: DomainObj, name: str, flags: int) -> None:
        with self._mutating(obj):
            await self._delete(obj, name, flags)

    async def _delete(self, obj: DomainObj, name: str, flags: int) -> None:
        D = SnapshotDeleteFlags
        if flags & ~int(D.CHILDREN | D.METADATA_ONLY | D.CHILDREN_ONLY):
            raise _bad_flags(flags, "qemuDomainSnapshotDelete")
        tree = self.tree(obj)
        tree.get(name)
        victims: list[str] = [] if flags & D.CHILDREN_ONLY else [name]  # parents before children
        if flags & (D.CHILDREN | D.CHILDREN_ONLY):
            victims += tree.descendants(name)
        # a deleted current snapshot hands "current" to the nearest survivor above it
        survivor = name if flags & D.CHILDREN_ONLY else tree.snaps[name].parent
        # deepest first, so every merge sees its children already gone
        for v in reversed(victims):
            sd = tree.snaps[v]
            if not flags & D.METADATA_ONLY:
                await self._delete_data(obj, tree, sd)
            if tree.current == v:
                tree.set_current(survivor if survivor in tree.snaps else None)
            tree.reparent_children(v)
            tree.remove(v)

    async def _delete_data(self, obj: DomainObj, tree: SnapshotTree, d: DomainSnapshotDef) -> None:
        assert d.name is not None
        if d.is_external:
            await self._delete_external(obj, tree, d)
            return
        live = obj.active
        mon = None
        nodes: dict[str, str] = {}
        if live:
            rt = await self.drv.lc.runtime(obj)
            mon = rt.monitor
            assert mon is not None
            nodes = await disk_nodes(mon)
        for info in domain_disks(self._cur_xml(obj)):
            sd = d.disk(info.target)
            if sd is None or sd.snapshot is not SnapshotLocation.INTERNAL or not info.source:
                continue
            if mon is not None:
                try:
                    await mon.execute("blockdev-snapshot-delete-internal-sync",
                                      {"device": _node(nodes, info), "name": d.name})
                except QMPCommandError as e:
                    if "not found" not in e.desc.lower():
                        raise qmp_error(e, "blockdev-snapshot-delete-internal-sync") from e
            else:
                with contextlib.suppress(VirtError):  # already gone from the image: metadata only
                    await qemu_img("snapshot", "-d", d.name, info.source)

    async def _delete_external(self, obj: DomainObj, tree: SnapshotTree, d: DomainSnapshotDef) -> None:
        """Merge the overlay this snapshot created into the file it froze, when the overlay
        is the domain's current top (libvirt's supported case); otherwise the chain above
        still needs it and only the metadata goes."""
        cur = {i.target: i for i in domain_disks(self._cur_xml(obj))}
        frozen = {i.target: i for i in domain_disks(d.domain_xml() or "<domain/>")}
        changes: dict[str, tuple[str, str]] = {}
        for sd in d.disks:
            if sd.snapshot is not SnapshotLocation.EXTERNAL:
                continue
            now, base = cur.get(sd.name), frozen.get(sd.name)
            if now is None or base is None or base.source is None or now.source is None:
                continue
            chain = [c.path for c in await backing_chain(now.source)]
            if base.source not in chain:
                raise _err(ErrorCode.INVALID_ARG, "invalid argument: could not find base disk source in disk source chain",
                           ErrorDomain.QEMU)
            if now.source != sd.source_file:
                continue  # later snapshots stacked on top: keep the chain as is
            if obj.active:
                if not await self._merge_with_blockjobs(obj, sd.name, base.source):
                    rt = await self.drv.lc.runtime(obj)
                    assert rt.monitor is not None
                    nodes = await disk_nodes(rt.monitor)
                    await self.merger(rt.monitor, _node(nodes, now), now.source, base.source)
            else:
                await qemu_img("commit", "-q", "-d", now.source)
            changes[sd.name] = (base.source, base.format)
        if not changes:
            return
        if obj.active:
            await self._update_live(obj, changes)
        self._update_config(obj, changes)
        for sd in d.disks:
            if sd.name in changes and sd.source_file:
                with contextlib.suppress(OSError):
                    os.unlink(sd.source_file)

    async def _merge_with_blockjobs(self, obj: DomainObj, target: str, base: str) -> bool:
        """Active commit of the disk's top into ``base`` with pivot, through the driver's
        block-job layer (clients then see BLOCK_JOB/BLOCK_JOB_2 events as for virsh
        blockcommit --active --pivot). False when the driver has no such layer."""
        import asyncio

        from pyvirt.drivers.base import BlockJobEventMsg, DomainEvent
        from pyvirt.enums import BlockJobStatus

        bjs = getattr(self.drv, "blockjobs", None)
        if bjs is None:
            return False
        from pyvirt.drivers.qemu import blockjob as bj

        q: asyncio.Queue[BlockJobEventMsg] = asyncio.Queue()

        def on(ev: DomainEvent) -> None:
            if isinstance(ev, BlockJobEventMsg) and ev.dom.uuid == obj.uuid and ev.disk == target:
                q.put_nowait(ev)

        token = self.drv.events.subscribe(on)
        try:
            await bjs.commit(obj, target, base, None, 0, bj.COMMIT_ACTIVE)
            while True:
                ev = await q.get()
                if ev.status is BlockJobStatus.READY:
                    await bjs.abort(obj, target, bj.ABORT_PIVOT)
                elif ev.status is BlockJobStatus.COMPLETED:
                    return True
                else:
                    raise op_failed(f"block commit of disk '{target}' ended {ev.status.name.lower()}")
        finally:
            self.drv.events.unsubscribe(token)

    # ------------------------------------------------------------------ queries
    def xml(self, obj: DomainObj, name: str) -> str:
        tree = self.tree(obj)
        return tree.get(name).format()


EventKey = tuple[LifecycleEvent, "int | None"]


@contextlib.contextmanager
def _rewritten_events(lc: Lifecycle, mapping: dict[EventKey, tuple[LifecycleEvent, int] | None]) -> Iterator[None]:
    """Rewrite (or drop, for None) the lifecycle events the lifecycle layer publishes while a
    revert drives it, so clients see libvirt's */Snapshot details instead of a plain
    destroy/boot. A key's detail None matches any detail of that event."""
    orig = lc._publish

    def publish(obj: DomainObj, event: LifecycleEvent, detail: int) -> None:
        for key in ((event, int(detail)), (event, None)):
            if key in mapping:
                new = mapping[key]
                if new is not None:
                    orig(obj, *new)
                return
        orig(obj, event, detail)

    setattr(lc, "_publish", publish)  # noqa: B010 - an instance override, restored below
    try:
        yield
    finally:
        lc.__dict__.pop("_publish", None)


def _node(nodes: dict[str, str], info: DiskInfo) -> str:
    node = nodes.get(info.alias or "")
    if node is None:
        raise op_failed(f"cannot find the block node of disk '{info.target}'")
    return node


async def _undo(done: list[tuple[str, str]], name: str) -> None:
    for kind, path in reversed(done):
        if kind == "ext":
            with contextlib.suppress(OSError):
                os.unlink(path)
        else:
            with contextlib.suppress(VirtError):
                await qemu_img("snapshot", "-d", name, path)


def _used_as_backing(tree: SnapshotTree, path: str, own: str | None) -> bool:
    for n, other in tree.snaps.items():
        if n == own or other.domain_el is None:
            continue
        xml = other.domain_xml() or ""
        if any(i.source == path for i in domain_disks(xml)):
            return True
    return False


def _strip_decl(xml: str) -> str:
    return xml.split("?>", 1)[1] if xml.lstrip().startswith("<?xml") else xml


async def live_commit(mon: QMPMonitor, device: str, top: str, base: str) -> None:
    """Active-layer commit of ``top`` into ``base`` and pivot, waiting on QEMU's job events.

    The seam for the block-job module: the driver may pass its own merger (with BLOCK_JOB
    events for clients); this one is the minimal, event-driven form.
    """
    from pyvirt.drivers.qemu.snapshot_disks import EventTap

    job = f"snapcommit-{device}"

    def mine(ev: object) -> bool:
        from pyvirt.drivers.qemu.monitor import QMPEvent

        return isinstance(ev, QMPEvent) and ev.name in ("BLOCK_JOB_READY", "BLOCK_JOB_COMPLETED",
                                                         "BLOCK_JOB_ERROR") and ev.data.get("device") == job
    import asyncio

    base_node = None
    for n in await mon.execute("query-named-block-nodes", {"flat": True}):
        if n.get("file") == base and n.get("drv") not in ("file", "host_device"):
            base_node = str(n.get("node-name"))
    with EventTap(mon, mine) as tap:
        args: dict[str, object] = {"job-id": job, "device": device, "auto-finalize": True, "auto-dismiss": True}
        if base_node is not None:
            args["base-node"] = base_node
        else:
            args["base"] = base
        try:
            await mon.execute("block-commit", args)
        except QMPCommandError as e:
            raise qmp_error(e, "block-commit") from e
        while True:
            ev = await asyncio.wait_for(tap.queue.get(), 600)
            if ev.name == "BLOCK_JOB_READY":
                await mon.execute("block-job-complete", {"device": job})
            elif ev.name == "BLOCK_JOB_COMPLETED":
                if ev.data.get("error"):
                    raise op_failed(f"block commit failed: {ev.data['error']}")
                return
