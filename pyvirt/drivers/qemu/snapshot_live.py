"""The disk switch of a live external snapshot, arranged so the waiting overlaps.

Everything that must be on disk when the call returns is known before QEMU is asked to
switch: the live XML (the overlay on top of the chain ``query-block`` just showed, so no
``qemu-img info`` and no second ``query-block``), the status document carrying it, the
persistent definition pointing at the overlay, and the snapshot metadata (the new current
snapshot and the old current without its mark). Those files are written to temporary
names and fsynced in threads *while* QEMU runs the transaction; when it succeeds they are
renamed into place together, when it fails they are removed (and the files QEMU may have
made, unless they were the caller's: --reuse-external). Crash safety is unchanged
(every definition and metadata file is fsynced before it replaces the old one, exactly as
one atomic write per file would do; the status document is renamed without fsync, as
DomainStore.save_status writes it); only the reply no longer waits for one journal commit
after another.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyvirt.conf.snapshot import SnapshotDiskDef
from pyvirt.drivers.qemu.backingchain import ChainLayer, chain_from_image_info, live_xml_with_chains
from pyvirt.drivers.qemu.monitor import QMPClosed, QMPCommandError, QMPMonitor
from pyvirt.drivers.qemu.snapshot_disks import BlockTop, DiskInfo, op_failed, set_disk_sources
from pyvirt.drivers.qemu.snapshot_meta import SnapshotTree, StagedFiles
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

if TYPE_CHECKING:
    from pyvirt.conf.domain import DomainDef
    from pyvirt.conf.snapshot import DomainSnapshotDef
    from pyvirt.drivers.qemu.domainobj import DomainObj, DomainStore


def qmp_error(e: Exception, cmd: str) -> VirtError:
    if isinstance(e, QMPCommandError):
        return VirtError(f"internal error: unable to execute QEMU command '{cmd}': {e.desc}",
                         ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU)
    return VirtError("operation failed: domain is no longer running", ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU)


async def transaction(mon: QMPMonitor, actions: list[dict[str, Any]]) -> None:
    """All or nothing across the disks: QEMU's transaction rolls back every action if one fails."""
    try:
        await mon.execute("transaction", {"actions": actions})
    except (QMPClosed, QMPCommandError) as e:
        raise qmp_error(e, "transaction") from e


def top_of(tops: dict[str, BlockTop], info: DiskInfo) -> BlockTop:
    top = tops.get(info.alias or "")
    if top is None:
        raise op_failed(f"cannot find the block node of disk '{info.target}'")
    return top


@dataclass
class _NewConfig:
    """The persistent definition after the switch: its file text, and whether it is the
    definition for the next boot (``next_xml``) rather than the current one."""

    text: str
    next_boot: bool


def point_disks(m: DomainDef, changes: dict[str, tuple[str, str]]) -> Callable[[], None]:
    """Point the named disks (target -> (path, format)) of a definition at new files, with
    no backing chain (an inactive definition names only the top). New source and driver
    records replace the old ones, so the returned undo puts the old ones back."""
    from pyvirt.conf.domain.disk import DiskDriverDef, DiskSourceDef

    saved = []
    for disk in m.devices.disks:
        ch = changes.get(disk.target.dev)
        if ch is None:
            continue
        saved.append((disk, disk.source, disk.driver, disk.backing_store))
        path, fmt = ch
        disk.source = (dataclasses.replace(disk.source, path=path, index=None) if disk.source is not None
                       else DiskSourceDef(path=path))
        disk.driver = (dataclasses.replace(disk.driver, type=fmt) if disk.driver is not None
                       else DiskDriverDef(name="qemu", type=fmt))
        disk.backing_store = None

    def undo() -> None:
        for disk, source, driver, backing in saved:
            disk.source, disk.driver, disk.backing_store = source, driver, backing
    return undo


def _new_config(obj: DomainObj, changes: dict[str, tuple[str, str]]) -> _NewConfig | None:
    """The persistent definition follows the new disk sources (libvirt does this too)."""
    if not obj.persistent:
        return None
    if obj.next_xml is not None:  # redefined while running: the file holds the next boot's XML
        return _NewConfig(set_disk_sources(obj.next_xml, changes, None, inactive=True), True)
    # the parsed definition the object already holds, changed and formatted, then put back
    # until QEMU has switched (no parse of the stored text, no second format afterwards)
    defn = obj.definition
    undo = point_disks(defn.model, changes)
    try:
        return _NewConfig(defn.format(), False)
    finally:
        undo()


async def switch_external(store: DomainStore, obj: DomainObj, mon: QMPMonitor, tops: dict[str, BlockTop],
                          pairs: list[tuple[DiskInfo, SnapshotDiskDef]], *, reuse: bool,
                          meta: tuple[SnapshotTree, DomainSnapshotDef] | None) -> None:
    """One ``transaction`` of blockdev-snapshot-sync for ``pairs`` (disk, its overlay), with
    the domain's files (and, with ``meta``, the snapshot's metadata) committed alongside."""
    actions: list[dict[str, Any]] = []
    chains: dict[str, list[ChainLayer]] = {}
    changes: dict[str, tuple[str, str]] = {}
    for info, sd in pairs:
        top = top_of(tops, info)
        path, fmt = sd.source_file or "", sd.driver_type or "qcow2"
        # overlay node names only need to be unique within this QEMU run
        actions.append({"type": "blockdev-snapshot-sync", "data": {
            "node-name": top.node, "snapshot-file": path,
            "snapshot-node-name": f"snap-{info.target}-{time.monotonic_ns() % 10**12:x}",
            "format": fmt, "mode": "existing" if reuse else "absolute-paths"}})
        # what query-block will show afterwards: the overlay above the chain it shows now
        # (live_xml_with_chains keeps every known image's index and numbers the overlay
        # next, as libvirt does)
        chains[info.target] = [ChainLayer(path, fmt), *chain_from_image_info(top.image)]
        changes[info.target] = (path, fmt)
    live = live_xml_with_chains(obj.live_xml or "", chains)
    cfg = _new_config(obj, changes)
    files = StagedFiles()
    # the status document as DomainStore.save_status writes it (atomic, not fsynced: it
    # describes a QEMU that a host crash kills as well)
    files.stage(store.status_path(obj.name), dataclasses.replace(obj.to_status(), live_xml=live).format(),
                durable=False)
    if cfg is not None:
        files.stage(store.config_path(obj.name), cfg.text)
    written = meta[0].stage_new_current(meta[1], files) if meta is not None else []
    # the files are written and fsynced in threads while QEMU works on the transaction
    sync = asyncio.ensure_future(files.sync())
    try:
        await transaction(mon, actions)
    except BaseException:
        # let the writer threads finish, then drop what they wrote
        with contextlib.suppress(BaseException):
            await asyncio.shield(sync)
        files.discard()
        if not reuse:  # QEMU may have created some overlays before failing
            for _, sd in pairs:
                with contextlib.suppress(OSError):
                    os.unlink(sd.source_file or "")
        raise
    # QEMU has switched: whatever happens now (a cancelled caller included), the files and
    # the domain object must say so
    await asyncio.shield(asyncio.ensure_future(_publish(files, sync, obj, live, cfg, changes, meta, written)))


async def _publish(files: StagedFiles, sync: asyncio.Future[None], obj: DomainObj, live: str, cfg: _NewConfig | None,
                   changes: dict[str, tuple[str, str]], meta: tuple[SnapshotTree, DomainSnapshotDef] | None,
                   written: list[tuple[Path, str, bool]]) -> None:
    sync_error: OSError | None = None
    try:
        await sync
    except OSError as e:  # a write or fsync failed (disk full...): publish no half-written file
        sync_error = e
        files.discard()
    else:
        await files.commit()
    # the in-memory object follows QEMU either way
    obj.live_xml = live
    if cfg is not None:
        if cfg.next_boot:
            obj.next_xml = cfg.text
        else:  # the held definition takes the change for good; its text is what was written
            point_disks(obj.definition.model, changes)
            obj.config_xml = cfg.text
    if sync_error is not None:
        raise op_failed(f"the disks switched to the snapshot's overlays, but its files could not be written: "
                        f"{sync_error}")
    if meta is not None:
        meta[0].staged(written)
