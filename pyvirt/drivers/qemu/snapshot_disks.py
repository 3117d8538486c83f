"""Disk-level mechanics of snapshots: qemu-img, backing chains, the domain XML's disk
sources, QMP node names, QEMU jobs and the guest agent's fsfreeze.

Everything here is a small function with one side effect class, so the snapshot manager
(:mod:`.snapshot`) reads as the sequence of steps libvirt takes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Self

from lxml import etree

from pyvirt.drivers.qemu.monitor import QMPCommandError, QMPEvent, QMPMonitor
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

QEMU_IMG = "qemu-img"


def op_failed(msg: str) -> VirtError:
    return VirtError(f"operation failed: {msg}", ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU)


# ---------------------------------------------------------------------- qemu-img
async def qemu_img(*args: str) -> str:
    """Run qemu-img; its stdout, or OPERATION_FAILED with its stderr."""
    proc = await asyncio.create_subprocess_exec(
        QEMU_IMG, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise op_failed(f"qemu-img {args[0]} failed: {err.decode(errors='replace').strip()}")
    return out.decode()


@dataclass(frozen=True, slots=True)
class ChainLink:
    path: str
    format: str


async def backing_chain(path: str) -> list[ChainLink]:
    """The image and its backing files, top first, as qemu-img sees them (-U: the image
    may be open in a running QEMU)."""
    out = await qemu_img("info", "-U", "--backing-chain", "--output=json", path)
    data = json.loads(out)
    if isinstance(data, dict):
        data = [data]
    return [ChainLink(str(x["filename"]), str(x.get("format", "raw"))) for x in data]


async def internal_snapshot_names(path: str) -> list[str]:
    out = await qemu_img("info", "-U", "--output=json", path)
    return [str(s.get("name")) for s in json.loads(out).get("snapshots", [])]


# ---------------------------------------------------------------------- domain XML disks
@dataclass(frozen=True, slots=True)
class DiskInfo:
    """What snapshots need of one <disk>."""

    target: str
    source: str | None
    format: str
    type: str
    device: str
    alias: str | None
    readonly: bool
    snapshot: str | None  # the disk's own snapshot= default

    @property
    def snapshottable(self) -> bool:
        return self.device == "disk" and self.source is not None and not self.readonly


def domain_disks(xml: str) -> list[DiskInfo]:
    root = etree.fromstring(xml.encode())
    out = []
    for d in root.findall("devices/disk"):
        tgt = d.find("target")
        src = d.find("source")
        drv = d.find("driver")
        alias = d.find("alias")
        path = None
        if src is not None:
            path = src.get("file") or src.get("dev")
        out.append(DiskInfo(
            target=tgt.get("dev", "") if tgt is not None else "",
            source=path,
            format=(drv.get("type") if drv is not None else None) or "raw",
            type=d.get("type", "file"),
            device=d.get("device", "disk"),
            alias=alias.get("name") if alias is not None else None,
            readonly=d.find("readonly") is not None,
            snapshot=d.get("snapshot"),
        ))
    return out


def set_disk_sources(xml: str, changes: dict[str, tuple[str, str]], chains: dict[str, list[ChainLink]] | None,
                     *, inactive: bool) -> str:
    """Point the named disks (target -> (path, format)) at new files, through the domain
    model so the result is libvirt's canonical XML. ``chains`` (live XML only) become the
    <backingStore> elements, bottom link index 1, the top the highest, as libvirt numbers."""
    from pyvirt.conf.domain import format_domain, parse_domain
    from pyvirt.conf.domain.disk import BackingStoreDef, DiskDriverDef, DiskSourceDef

    m = parse_domain(xml, inactive=inactive)
    for disk in m.devices.disks:
        ch = changes.get(disk.target.dev)
        if ch is None:
            continue
        path, fmt = ch
        if disk.source is None:
            disk.source = DiskSourceDef()
        disk.source.path = path
        if disk.driver is None:
            disk.driver = DiskDriverDef(name="qemu")
        disk.driver.type = fmt
        disk.backing_store = None
        disk.source.index = None
        if chains is not None and disk.target.dev in chains and not inactive:
            links = chains[disk.target.dev]
            disk.source.index = len(links)
            tail: BackingStoreDef = BackingStoreDef()  # the terminating <backingStore/>
            for i, link in enumerate(reversed(links[1:]), start=1):
                tail = BackingStoreDef(type="file", index=i, format=link.format,
                                       source=DiskSourceDef(path=link.path), backing_store=tail)
            disk.backing_store = tail
    return str(format_domain(m, inactive=inactive))


# ---------------------------------------------------------------------- QMP
@dataclass(frozen=True, slots=True)
class BlockTop:
    """One disk as ``query-block`` shows it: the node at the top of its chain and the
    chain itself (``inserted.image`` with its nested ``backing-image``)."""

    node: str
    image: dict[str, Any]


async def disk_tops(mon: QMPMonitor) -> dict[str, BlockTop]:
    """Device alias -> its top node and chain, from one ``query-block`` (the top node is
    what a snapshot must target; it changes with every external snapshot, so it is asked
    for, never remembered)."""
    out: dict[str, BlockTop] = {}
    for b in await mon.execute("query-block"):
        ins = b.get("inserted")
        if not ins:
            continue
        qdev = str(b.get("qdev", ""))
        # virtio-blk reports "/machine/peripheral/<id>/virtio-backend", IDE/SCSI the id itself
        alias = qdev.split("/")[3] if qdev.startswith("/machine/peripheral/") else qdev
        image = ins.get("image")
        out[alias] = BlockTop(str(ins.get("node-name")), image if isinstance(image, dict) else {})
    return out


async def disk_nodes(mon: QMPMonitor) -> dict[str, str]:
    """Device alias -> the node name at the top of its chain."""
    return {alias: top.node for alias, top in (await disk_tops(mon)).items()}


class EventTap:
    """Receive a monitor's QMP events beside the domain worker, for the length of one job.

    The monitor has one ``on_event`` callback (the worker's queue); the tap chains onto it
    and restores it on exit, so lifecycle events keep flowing while we wait for ours.
    """

    def __init__(self, mon: QMPMonitor, want: Callable[[QMPEvent], bool]) -> None:
        self.mon = mon
        self.want = want
        self.queue: asyncio.Queue[QMPEvent] = asyncio.Queue()
        self._prev: Callable[[QMPEvent], None] | None = None

    def _on_event(self, ev: QMPEvent) -> None:
        if self._prev is not None:
            self._prev(ev)
        if self.want(ev):
            self.queue.put_nowait(ev)

    def __enter__(self) -> Self:
        self._prev = self.mon.on_event
        self.mon.on_event = self._on_event
        return self

    def __exit__(self, *exc: object) -> None:
        if self.mon.on_event == self._on_event:
            self.mon.on_event = self._prev


async def run_job(mon: QMPMonitor, command: str, args: dict[str, Any], job_id: str,
                  timeout: float = 600.0) -> None:
    """Start a QEMU job (snapshot-save/-load/-delete) and wait for JOB_STATUS_CHANGE to
    report it concluded; then read its error, if any, and dismiss it. No polling."""
    def mine(ev: QMPEvent) -> bool:
        return ev.name == "JOB_STATUS_CHANGE" and ev.data.get("id") == job_id

    with EventTap(mon, mine) as tap:
        try:
            await mon.execute(command, {"job-id": job_id, **args})
        except QMPCommandError as e:
            raise VirtError(f"internal error: unable to execute QEMU command '{command}': {e.desc}",
                            ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU) from e
        while True:
            ev = await asyncio.wait_for(tap.queue.get(), timeout)
            if ev.data.get("status") in ("concluded", "null"):
                break
    err = None
    for j in await mon.execute("query-jobs"):
        if j.get("id") == job_id:
            err = j.get("error")
    with contextlib.suppress(QMPCommandError):
        await mon.execute("job-dismiss", {"id": job_id})
    if err:
        raise op_failed(f"{command} job failed: {err}")


# ---------------------------------------------------------------------- guest agent
async def agent_command(path: str, command: str, timeout: float = 10.0) -> Any:
    """One guest-agent command after a guest-sync handshake; its ``return`` value."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(path), timeout)
    except (OSError, TimeoutError) as e:
        raise VirtError("Guest agent is not responding: QEMU guest agent is not connected",
                        ErrorCode.AGENT_UNRESPONSIVE, ErrorDomain.QEMU) from e
    try:
        sync_id = int.from_bytes(os.urandom(4), "little") & 0x7FFFFFFF
        writer.write(b"\xff" + json.dumps({"execute": "guest-sync", "arguments": {"id": sync_id}}).encode() + b"\n")
        await writer.drain()
        while True:
            line = await asyncio.wait_for(reader.readline(), timeout)
            if not line:
                raise OSError("agent closed")
            with contextlib.suppress(ValueError):
                if json.loads(line.lstrip(b"\xff")).get("return") == sync_id:
                    break
        writer.write(json.dumps({"execute": command}).encode() + b"\n")
        await writer.drain()
        reply = json.loads(await asyncio.wait_for(reader.readline(), timeout))
    except (OSError, TimeoutError, ValueError) as e:
        raise VirtError("Guest agent is not responding: QEMU guest agent is not connected",
                        ErrorCode.AGENT_UNRESPONSIVE, ErrorDomain.QEMU) from e
    finally:
        writer.close()
    if "error" in reply:
        raise VirtError(f"internal error: unable to execute QEMU agent command '{command}': "
                        f"{reply['error'].get('desc', '')}", ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU)
    return reply.get("return")


def agent_socket(live_xml: str) -> str | None:
    root = etree.fromstring(live_xml.encode())
    for ch in root.findall("devices/channel"):
        tgt = ch.find("target")
        src = ch.find("source")
        if tgt is not None and tgt.get("name") == "org.qemu.guest_agent.0" and src is not None:
            return src.get("path")
    return None
