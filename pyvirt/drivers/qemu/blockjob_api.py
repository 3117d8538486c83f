"""The QEMU driver's block job, block device and save/restore entry points.

A mixin of :class:`pyvirt.drivers.qemu.driver.QemuDriver` (kept here so the driver module
stays the lifecycle API). Same shape as every entry point: lookup -> job -> refresh ->
state check -> work. A running domain's jobs go to QEMU (:mod:`.blockjob`); a shut-off
domain's commit and pull run with qemu-img (:mod:`.blockjob_offline`).

Functions for other driver code (external snapshot deletion) are :meth:`commit_and_wait`
and :meth:`pull_and_wait`: they start the job, pivot an active commit, and return when
the chain changed, online or offline.
"""

from __future__ import annotations

import contextlib
import os
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any

from pyvirt.drivers.base import (
    BlockInfo,
    BlockJobEventMsg,
    BlockJobInfo,
    BlockStats,
    DomainEvent,
    DomainRef,
)
from pyvirt.drivers.qemu import blockjob as bj
from pyvirt.drivers.qemu.backingchain import run_qemu_img
from pyvirt.drivers.qemu.blockjob_relative import REBASE_RELATIVE, needs_base
from pyvirt.drivers.qemu.jobs import JobKind
from pyvirt.drivers.qemu.save import Migrations, managed_save_path, read_header, restore_into, save
from pyvirt.enums import BlockJobStatus, DomainState
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

if TYPE_CHECKING:
    from pyvirt.conf.domain import DomainDef
    from pyvirt.drivers.base import EventBus
    from pyvirt.drivers.qemu.domainobj import DomainDefinition, DomainObj, DomainStore
    from pyvirt.drivers.qemu.events import DomainRuntime
    from pyvirt.drivers.qemu.lifecycle import Lifecycle
    from pyvirt.drivers.qemu.monitor import QMPEvent, QMPMonitor
    from pyvirt.drivers.qemu.paths import QemuPaths

RESIZE_BYTES = 1
UNDEFINE_MANAGED_SAVE = 1


def _not_running() -> VirtError:
    # libvirt's virDomainObjCheckActive: VIR_FROM_DOMAIN, for every block API it refuses
    return VirtError("Requested operation is not valid: domain is not running",
                     ErrorCode.OPERATION_INVALID, ErrorDomain.DOMAIN)


class BlockJobAPI:
    """Mixin; the driver provides these attributes and ``_obj``."""

    paths: QemuPaths
    store: DomainStore
    lc: Lifecycle
    events: EventBus

    def _obj(self, dom: DomainRef) -> DomainObj:
        raise NotImplementedError

    def _clash(self, d: DomainDefinition, *, live_check: bool) -> DomainObj | None:
        raise NotImplementedError

    def init_blockjobs(self) -> None:
        self.blockjobs = bj.BlockJobs(self.lc, self.store, self.events)
        self.migrations = Migrations()
        self.lc.job_event_hook = self._on_job_event
        # the live XML shows each disk's backing chain from the first status write on
        self.lc.live_model_hook = self.blockjobs.chains_into_model
        self.lc.attach_hook = self._adopt_block_jobs

    async def _adopt_block_jobs(self, obj: DomainObj, mon: QMPMonitor) -> None:
        from pyvirt.drivers.qemu.blockjob_adopt import adopt_all

        await adopt_all(self.blockjobs, obj, mon)

    async def _on_job_event(self, obj: DomainObj, rt: DomainRuntime, ev: QMPEvent) -> None:
        if ev.name == "MIGRATION":
            await self.migrations.on_event(obj, rt, ev)
        elif ev.name.startswith("BLOCK_JOB_"):
            await self.blockjobs.on_event(obj, rt, ev)

    def _config_model(self, obj: DomainObj) -> DomainDef:
        from pyvirt.conf.domain import parse_domain

        return parse_domain(obj.next_xml or obj.config_xml or obj.definition.format())

    def _save_config_model(self, obj: DomainObj, m: DomainDef) -> None:
        from pyvirt.conf.domain import format_domain
        from pyvirt.drivers.qemu.domainobj import DomainDefinition

        obj.set_definition(DomainDefinition.parse(str(format_domain(m, inactive=True))))
        if obj.persistent:
            self.store.save_config(obj)

    # ------------------------------------------------------------------ commit / pull / copy
    async def block_commit(self, dom: DomainRef, disk: str, base: str | None, top: str | None,
                           bandwidth: int, flags: int = 0) -> None:
        from pyvirt.drivers.qemu.blockjob_offline import offline_commit

        allowed = bj.COMMIT_SHALLOW | bj.COMMIT_DELETE | bj.COMMIT_ACTIVE | bj.COMMIT_RELATIVE | bj.COMMIT_BANDWIDTH_BYTES
        if flags & ~allowed:
            raise VirtError(f"unsupported flags (0x{flags:x}) in function qemuDomainBlockCommit",
                            ErrorCode.INVALID_ARG, ErrorDomain.QEMU)
        obj = self._obj(dom)
        async with obj.job.hold(JobKind.MODIFY):
            self.store.refresh(obj)
            if obj.active:
                await self.blockjobs.commit(obj, disk, base or None, top or None, bandwidth, flags)
                return
            m = self._config_model(obj)
            if await offline_commit(m, disk, base or None, top or None, flags):
                self._save_config_model(obj, m)

    async def block_rebase(self, dom: DomainRef, disk: str, base: str | None, bandwidth: int,
                           flags: int = 0) -> None:
        from pyvirt.drivers.qemu.blockjob_offline import offline_pull

        # virDomainBlockRebase's own argument checks come first (libvirt makes them in the
        # public API, before any driver: hence VIR_FROM_DOMAIN and no "invalid argument:")
        if flags & bj.REBASE_COPY and not base:
            raise VirtError("base in virDomainBlockRebase must not be NULL",
                            ErrorCode.INVALID_ARG, ErrorDomain.DOMAIN)
        if not flags & bj.REBASE_COPY and flags & (bj.REBASE_SHALLOW | bj.REBASE_REUSE_EXT
                                                   | bj.REBASE_COPY_RAW | bj.REBASE_COPY_DEV):
            raise VirtError("use of flags requires a copy job", ErrorCode.INVALID_ARG, ErrorDomain.DOMAIN)
        allowed = (bj.REBASE_SHALLOW | bj.REBASE_REUSE_EXT | bj.REBASE_COPY_RAW | bj.REBASE_COPY
                   | bj.REBASE_BANDWIDTH_BYTES | REBASE_RELATIVE | bj.REBASE_COPY_DEV)
        if flags & ~allowed:
            raise VirtError(f"unsupported flags (0x{flags:x}) in function qemuDomainBlockRebase",
                            ErrorCode.INVALID_ARG, ErrorDomain.QEMU)
        if flags & REBASE_RELATIVE and not base:
            raise needs_base()
        obj = self._obj(dom)
        async with obj.job.hold(JobKind.MODIFY):
            self.store.refresh(obj)
            if flags & bj.REBASE_COPY:
                if not obj.active:
                    raise _not_running()
                if not base:
                    raise VirtError("invalid argument: destination must not be NULL",
                                    ErrorCode.INVALID_ARG, ErrorDomain.QEMU)
                cflags = (bj.COPY_SHALLOW if flags & bj.REBASE_SHALLOW else 0) | (
                    bj.COPY_REUSE_EXT if flags & bj.REBASE_REUSE_EXT else 0)
                speed = bj.bandwidth_bytes(bandwidth, bool(flags & bj.REBASE_BANDWIDTH_BYTES))
                await self.blockjobs.copy(obj, disk, base, "raw" if flags & bj.REBASE_COPY_RAW else None, speed, cflags)
                return
            if obj.active:
                await self.blockjobs.pull(obj, disk, base or None, bandwidth,
                                          flags & (bj.REBASE_BANDWIDTH_BYTES | REBASE_RELATIVE))
                return
            await offline_pull(self._config_model(obj), disk, base or None, relative=bool(flags & REBASE_RELATIVE))

    async def block_pull(self, dom: DomainRef, disk: str, bandwidth: int, flags: int = 0) -> None:
        """virDomainBlockPull: only PULL_BANDWIDTH_BYTES (the same bit as the rebase's)."""
        if flags & ~bj.REBASE_BANDWIDTH_BYTES:
            raise VirtError(f"unsupported flags (0x{flags:x}) in function qemuDomainBlockPull",
                            ErrorCode.INVALID_ARG, ErrorDomain.QEMU)
        await self.block_rebase(dom, disk, None, bandwidth, flags)

    async def block_copy(self, dom: DomainRef, disk: str, destxml: str, bandwidth: int, flags: int = 0,
                         *, granularity: int = 0, buf_size: int = 0) -> None:
        """virDomainBlockCopy with a ``<disk type='file'>`` destination; bandwidth in bytes/s."""
        try:
            root = ET.fromstring(destxml)
        except ET.ParseError as e:
            raise VirtError(f"(disk_definition):1: {e}", ErrorCode.XML_DETAIL, ErrorDomain.DOMAIN) from None
        src = root.find("source")
        dest = src.get("file") if src is not None else None
        if root.get("type", "file") != "file" or not dest:
            raise VirtError("unsupported configuration: block copy destination must be a file",
                            ErrorCode.CONFIG_UNSUPPORTED, ErrorDomain.QEMU)
        drv = root.find("driver")
        fmt = drv.get("type") if drv is not None else None
        obj = self._obj(dom)
        async with obj.job.hold(JobKind.MODIFY):
            self.store.refresh(obj)
            if not obj.active:
                raise _not_running()
            await self.blockjobs.copy(obj, disk, dest, fmt, bandwidth, flags, granularity=granularity,
                                      buf_size=buf_size)

    # ------------------------------------------------------------------ job control
    async def get_block_job_info(self, dom: DomainRef, disk: str, flags: int = 0) -> BlockJobInfo | None:
        obj = self._obj(dom)
        if not obj.active:
            raise _not_running()
        async with obj.job.hold(JobKind.QUERY):
            self.store.refresh(obj)
            if not obj.active:
                raise _not_running()
            return await self.blockjobs.info(obj, disk, flags)

    async def block_job_abort(self, dom: DomainRef, disk: str, flags: int = 0) -> None:
        if flags & ~(bj.ABORT_ASYNC | bj.ABORT_PIVOT):
            raise VirtError(f"unsupported flags (0x{flags:x}) in function qemuDomainBlockJobAbort",
                            ErrorCode.INVALID_ARG, ErrorDomain.QEMU)
        obj = self._obj(dom)
        async with obj.job.hold(JobKind.MODIFY):
            self.store.refresh(obj)
            if not obj.active:
                raise _not_running()
            job = await self.blockjobs.abort(obj, disk, flags)
        if not flags & bj.ABORT_ASYNC:
            # Outside the domain job: the event worker concludes the job meanwhile.
            await job.done.wait()
            if flags & bj.ABORT_PIVOT and job.status is not BlockJobStatus.COMPLETED:
                raise VirtError(f"operation failed: block job '{job.jid}' failed while pivoting",
                                ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU)

    async def block_job_set_speed(self, dom: DomainRef, disk: str, bandwidth: int, flags: int = 0) -> None:
        obj = self._obj(dom)
        async with obj.job.hold(JobKind.MODIFY):
            self.store.refresh(obj)
            if not obj.active:
                raise _not_running()
            await self.blockjobs.set_speed(obj, disk, bandwidth, flags)

    # ------------------------------------------------------------------ helpers for snapshots
    async def commit_and_wait(self, dom: DomainRef, disk: str, base: str | None, top: str | None,
                              flags: int = 0) -> None:
        """Commit ``top`` (None: the active layer, pivoted) into ``base`` and return once the
        chain changed; online with QEMU, offline with qemu-img."""
        obj = self._obj(dom)
        active = top is None
        if not obj.active:
            await self.block_commit(dom, disk, base, top, 0, flags | (bj.COMMIT_ACTIVE if active else 0))
            return
        status = await self._run_and_wait(
            obj, disk, lambda: self.block_commit(dom, disk, base, top, 0, flags | (bj.COMMIT_ACTIVE if active else 0)),
            pivot=active)
        if status is not BlockJobStatus.COMPLETED:
            raise VirtError(f"operation failed: block commit of '{disk}' ended {status.name.lower()}",
                            ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU)

    async def pull_and_wait(self, dom: DomainRef, disk: str, base: str | None) -> None:
        obj = self._obj(dom)
        if not obj.active:
            await self.block_rebase(dom, disk, base, 0, 0)
            return
        status = await self._run_and_wait(obj, disk, lambda: self.block_rebase(dom, disk, base, 0, 0), pivot=False)
        if status is not BlockJobStatus.COMPLETED:
            raise VirtError(f"operation failed: block pull of '{disk}' ended {status.name.lower()}",
                            ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU)

    async def _run_and_wait(self, obj: DomainObj, disk: str, start: Any, *, pivot: bool) -> BlockJobStatus:
        import asyncio

        q: asyncio.Queue[BlockJobEventMsg] = asyncio.Queue()

        def on(ev: DomainEvent) -> None:
            if isinstance(ev, BlockJobEventMsg) and ev.dom.uuid == obj.uuid:
                q.put_nowait(ev)

        token = self.events.subscribe(on)
        try:
            await start()
            dev = bj.find_disk(self.blockjobs.live_model(obj), disk).target.dev
            while True:
                ev = await q.get()
                if ev.disk != dev:
                    continue
                if ev.status is BlockJobStatus.READY:
                    if pivot:
                        await self.block_job_abort(obj.ref(), dev, bj.ABORT_PIVOT)
                    continue
                return ev.status
        finally:
            self.events.unsubscribe(token)

    # ------------------------------------------------------------------ block devices
    async def get_block_info(self, dom: DomainRef, disk: str, flags: int = 0) -> BlockInfo:
        if flags:
            raise VirtError(f"unsupported flags (0x{flags:x}) in function qemuDomainGetBlockInfo",
                            ErrorCode.INVALID_ARG, ErrorDomain.QEMU)
        obj = self._obj(dom)
        m = self.blockjobs.live_model(obj) if obj.active and obj.live_xml else self._config_model(obj)
        d = bj.find_disk(m, disk)
        if d.source is None or not d.source.path:
            raise VirtError(f"invalid argument: disk '{d.target.dev}' does not currently have a source assigned",
                            ErrorCode.INVALID_ARG, ErrorDomain.QEMU)
        path = d.source.path
        fmt = str(d.driver.type) if d.driver is not None and d.driver.type else None
        import json

        args = ["info", "--output=json", "-U"] + (["-f", fmt] if fmt else [])
        info = json.loads(await run_qemu_img(*args, path))
        st = os.stat(path)
        capacity = int(info.get("virtual-size", 0))
        allocation = int(info.get("actual-size", st.st_blocks * 512))
        physical = st.st_size
        if obj.active and fmt != "qcow2":  # a running qcow2 reports its file's numbers (blockinfo.py)
            from pyvirt.drivers.qemu.blockinfo import live_sizes

            with contextlib.suppress(VirtError):
                stats = await self._blockstats_entry(obj, d.target.dev)
                allocation, physical = live_sizes(stats, fmt, allocation, physical)
        return BlockInfo(capacity, allocation, physical)

    async def _blockstats_entry(self, obj: DomainObj, dev: str) -> dict[str, Any]:
        async with obj.job.hold(JobKind.QUERY):
            self.store.refresh(obj)
            if not obj.active:
                raise _not_running()
            d = bj.find_disk(self.blockjobs.live_model(obj), dev, f"invalid argument: invalid path: {dev}")
            rt = await self.lc.runtime(obj)
            assert rt.monitor is not None
            for e in await rt.monitor.execute("query-blockstats"):
                qdev = str(e.get("qdev", ""))
                if d.alias and (f"/{d.alias}/" in qdev or qdev == d.alias):
                    return dict(e)
        raise VirtError(f"invalid argument: cannot find statistics for device '{dev}'",
                        ErrorCode.INVALID_ARG, ErrorDomain.QEMU)

    async def block_stats(self, dom: DomainRef, disk: str) -> BlockStats:
        obj = self._obj(dom)
        if not obj.active:
            raise _not_running()
        s = (await self._blockstats_entry(obj, disk)).get("stats", {})
        return BlockStats(int(s.get("rd_operations", 0)), int(s.get("rd_bytes", 0)), int(s.get("wr_operations", 0)),
                          int(s.get("wr_bytes", 0)), -1, int(s.get("flush_operations", 0)),
                          int(s.get("rd_total_time_ns", 0)), int(s.get("wr_total_time_ns", 0)),
                          int(s.get("flush_total_time_ns", 0)))

    async def block_resize(self, dom: DomainRef, disk: str, size: int, flags: int = 0) -> None:
        if flags & ~RESIZE_BYTES:
            raise VirtError(f"unsupported flags (0x{flags:x}) in function qemuDomainBlockResize",
                            ErrorCode.INVALID_ARG, ErrorDomain.QEMU)
        size_b = size if flags & RESIZE_BYTES else size * 1024
        obj = self._obj(dom)
        async with obj.job.hold(JobKind.MODIFY):
            self.store.refresh(obj)
            if not obj.active:
                raise _not_running()
            d = bj.find_disk(self.blockjobs.live_model(obj), disk)
            rt = await self.lc.runtime(obj)
            assert rt.monitor is not None
            root, _chain, _names = await self.blockjobs._chain_nodes(rt.monitor, d)
            if d.driver is not None and d.driver.type == "qcow2":
                size_b = (size_b + 511) // 512 * 512  # qcow2 sizes are whole sectors (libvirt rounds too)
            await self.blockjobs._qmp(rt.monitor, "block_resize", {"node-name": root, "size": size_b})

    # ------------------------------------------------------------------ save / restore
    def _save_xml(self, obj: DomainObj, dxml: str | None) -> str:
        """The definition the image restores: the one the domain was started with, with each
        disk's current top image (a pivot may have changed it). Not the live XML: its
        runtime expansions (CPU model, addresses) are not what a client defines."""
        from pyvirt.conf.domain import format_domain, parse_domain

        if dxml:
            return dxml
        m = parse_domain(obj.definition.format(), inactive=True)
        live = {d.target.dev: d for d in self.blockjobs.live_model(obj).devices.disks}
        for d in m.devices.disks:
            cur = live.get(d.target.dev)
            if cur is not None and cur.source is not None and d.source is not None:
                d.source.path = cur.source.path
                if d.driver is not None and cur.driver is not None:
                    d.driver.type = cur.driver.type
            d.backing_store = None
        return str(format_domain(m, inactive=True))

    async def save(self, dom: DomainRef, to: str, dxml: str | None = None, flags: int = 0) -> None:
        from pyvirt.drivers.qemu.save import SAVE_BYPASS_CACHE, SAVE_PAUSED, SAVE_RUNNING

        if flags & ~(SAVE_BYPASS_CACHE | SAVE_RUNNING | SAVE_PAUSED):
            raise VirtError(f"unsupported flags (0x{flags:x}) in function qemuDomainSaveFlags",
                            ErrorCode.INVALID_ARG, ErrorDomain.QEMU)
        if flags & SAVE_RUNNING and flags & SAVE_PAUSED:
            raise VirtError("invalid argument: running and paused flags are mutually exclusive",
                            ErrorCode.INVALID_ARG, ErrorDomain.QEMU)
        obj = self._obj(dom)
        async with obj.job.hold(JobKind.ASYNC):
            self.store.refresh(obj)
            if not obj.active:
                raise VirtError("Requested operation is not valid: domain is not running",
                                ErrorCode.OPERATION_INVALID, ErrorDomain.DOMAIN)
            await save(self.lc, self.migrations, obj, os.path.abspath(to), self._save_xml(obj, dxml), flags)

    async def managed_save(self, dom: DomainRef, flags: int = 0) -> None:
        obj = self._obj(dom)
        if not obj.persistent:
            raise VirtError("Requested operation is not valid: cannot do managed save for transient domain",
                            ErrorCode.OPERATION_INVALID, ErrorDomain.QEMU)
        path = managed_save_path(self.paths.lib_dir, obj.name)
        path.parent.mkdir(parents=True, exist_ok=True)
        await self.save(dom, str(path), None, flags)

    async def has_managed_save_image(self, dom: DomainRef, flags: int = 0) -> bool:
        obj = self._obj(dom)
        return managed_save_path(self.paths.lib_dir, obj.name).exists()

    async def managed_save_remove(self, dom: DomainRef, flags: int = 0) -> None:
        obj = self._obj(dom)
        async with obj.job.hold(JobKind.MODIFY):
            with contextlib.suppress(FileNotFoundError):
                managed_save_path(self.paths.lib_dir, obj.name).unlink()

    def managed_saved_names(self) -> set[str]:
        """Names of the domains with a managed save image (listAllDomains' MANAGEDSAVE filter)."""
        d = self.paths.lib_dir / "save"
        return {p.name.removesuffix(".save") for p in d.glob("*.save")} if d.is_dir() else set()

    def managed_save_on_undefine(self, obj: DomainObj, flags: int) -> None:
        """undefine's rule (libvirt's): refuse while a managed save image exists, unless
        VIR_DOMAIN_UNDEFINE_MANAGED_SAVE says to remove it. Caller holds the job."""
        path = managed_save_path(self.paths.lib_dir, obj.name)
        if not path.exists():
            return
        if not flags & UNDEFINE_MANAGED_SAVE:
            raise VirtError("Requested operation is not valid: Refusing to undefine while domain managed save "
                            "image exists", ErrorCode.OPERATION_INVALID, ErrorDomain.QEMU)
        try:
            path.unlink()
        except OSError as e:
            raise VirtError(f"cannot remove managed save file {path}: {e.strerror}",
                            ErrorCode.SYSTEM_ERROR, ErrorDomain.QEMU) from e

    async def start_from_managed_save(self, obj: DomainObj, paused: bool) -> bool:
        """Called by create() under the job: restore the managed image if there is one,
        then remove it (libvirt's behaviour). False when there is none."""
        path = managed_save_path(self.paths.lib_dir, obj.name)
        if not path.exists():
            return False
        header, offset = read_header(str(path))
        d = await self.lc.parse(header.xml)
        await restore_into(self.lc, self.migrations, obj, d, str(path), offset, paused or not header.running)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return True

    async def restore(self, frm: str, dxml: str | None = None, flags: int = 0) -> None:
        from pyvirt.drivers.qemu.save import SAVE_BYPASS_CACHE, SAVE_PAUSED, SAVE_RUNNING

        if flags & ~(SAVE_BYPASS_CACHE | SAVE_RUNNING | SAVE_PAUSED):
            raise VirtError(f"unsupported flags (0x{flags:x}) in function qemuDomainRestoreFlags",
                            ErrorCode.INVALID_ARG, ErrorDomain.QEMU)
        header, offset = read_header(os.path.abspath(frm))
        d = await self.lc.parse(dxml or header.xml)
        existing = self._clash(d, live_check=True)
        obj = existing if existing is not None else self.store.new_obj(d.name, d.uuid)
        if existing is None:
            obj.persistent = False
            obj.set_definition(d)
        paused = bool(flags & SAVE_PAUSED) or (not header.running and not flags & SAVE_RUNNING)
        try:
            async with obj.job.hold(JobKind.ASYNC):
                self.store.refresh(obj)
                if obj.active:
                    raise VirtError(f"Requested operation is not valid: domain '{obj.name}' is already active",
                                    ErrorCode.OPERATION_INVALID, ErrorDomain.DOMAIN)
                await restore_into(self.lc, self.migrations, obj, d, os.path.abspath(frm), offset, paused)
        except BaseException:
            if existing is None and not obj.active:
                self.store.by_name.pop(obj.name, None)
            raise
        if obj.state is DomainState.RUNNING:
            with contextlib.suppress(VirtError):
                await self.blockjobs.refresh_chains(obj)


