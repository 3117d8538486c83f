"""Block jobs and backing chains on the real test guest while its disk writer runs.

After every operation: the writer's record in block 0 of the disk (``TESTGUEST-WRITER
seq=N boot=ID``) is well formed and its counter only grows, and the chain in the live XML
equals ``qemu-img info --backing-chain``. Waits are on the driver's events, never sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from pyvirt.drivers.base import BlockJobEventMsg, DomainEvent, DomainRef, LifecycleEventMsg
from pyvirt.drivers.qemu.driver import QemuDriver
from pyvirt.enums import (
    BlockJobStatus,
    BlockJobType,
    DomainState,
    LifecycleEvent,
    ListDomainsFlags,
    RunningReason,
    ShutoffReason,
    StartedDetail,
    StoppedDetail,
)
from pyvirt.errors import ErrorCode, VirtError

pytestmark = pytest.mark.e2e

CAPS_CACHE = Path(tempfile.mkdtemp(prefix="pyvirt-caps-"))
READY = b"TESTGUEST READY"
WRITER_RE = re.compile(rb"TESTGUEST-WRITER seq=(\d+) boot=(\S+)")
ACTIVE, PIVOT, DELETE = 4, 2, 2


class Events:
    def __init__(self, drv: QemuDriver) -> None:
        self.items: list[DomainEvent] = []
        self._cond = asyncio.Condition()
        drv.events.subscribe(self._on)

    def _on(self, ev: DomainEvent) -> None:
        self.items.append(ev)
        asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self._cond:
            self._cond.notify_all()

    def block(self, disk: str) -> list[tuple[BlockJobType, BlockJobStatus]]:
        return [(e.type, e.status) for e in self.items if isinstance(e, BlockJobEventMsg) and e.disk == disk]

    async def wait_block(self, disk: str, want: tuple[BlockJobType, BlockJobStatus], timeout: float = 60) -> None:
        async def loop() -> None:
            async with self._cond:
                await self._cond.wait_for(lambda: want in self.block(disk))

        await asyncio.wait_for(loop(), timeout)
        self.items = [e for e in self.items if not isinstance(e, BlockJobEventMsg)]


async def boot_ready(drv: QemuDriver, dom: DomainRef, timeout: float = 90) -> None:
    stream = await drv.open_console(dom, None)
    buf = b""
    try:
        async def loop() -> None:
            nonlocal buf
            while READY not in buf:
                chunk = await stream.read(4096)
                assert chunk, buf[-300:]
                buf += chunk

        await asyncio.wait_for(loop(), timeout)
    finally:
        await stream.close()


@pytest.fixture
async def drv(embed_root: Path) -> AsyncIterator[QemuDriver]:
    d = await QemuDriver.open(f"qemu:///embed?root={embed_root}")
    d.lc.caps_cache_dir = CAPS_CACHE
    yield d
    for ref in await d.list_all_domains(ListDomainsFlags.ACTIVE):
        try:
            await d.destroy(ref)
        except VirtError:
            pass
    await d.close()


def qemu_img_chain(path: str) -> list[str]:
    out = subprocess.run(["qemu-img", "info", "-U", "--backing-chain", "--output=json", path],
                         check=True, capture_output=True, text=True).stdout
    return [i["filename"] for i in json.loads(out)]


def xml_chain(xml: str, dev: str = "vda") -> list[str]:
    root = ET.fromstring(xml)
    for disk in root.findall("devices/disk"):
        tgt = disk.find("target")
        if tgt is None or tgt.get("dev") != dev:
            continue
        src = disk.find("source")
        out = [src.get("file", "")] if src is not None else []
        bs = disk.find("backingStore")
        while bs is not None and bs.get("type"):
            s = bs.find("source")
            assert bs.find("format") is not None and bs.get("index")
            out.append(s.get("file", "") if s is not None else "")
            bs = bs.find("backingStore")
        assert bs is not None, "the chain must end with an empty <backingStore/>"
        return out
    raise AssertionError(f"no disk {dev}")


def writer_seq(top: str) -> tuple[int, bytes]:
    """The writer's record in block 0 of the disk as the chain under ``top`` shows it."""
    out = subprocess.run(["qemu-io", "-U", "-r", "-c", "read -v 0 512", top],
                         check=True, capture_output=True).stdout
    # qemu-io -v prints a hexdump with an ASCII column; rebuild the bytes from the hex part.
    data = bytearray()
    for line in out.splitlines():
        m = re.match(rb"^[0-9a-f]{8}:\s+((?:[0-9a-f]{2}\s){1,16})", line)
        if m:
            data += bytes.fromhex(m.group(1).decode())
    m2 = WRITER_RE.search(bytes(data))
    assert m2, f"writer record missing in block 0: {bytes(data[:80])!r}"
    return int(m2.group(1)), m2.group(2)


class Checker:
    """Chain equality and a monotonic writer counter after every step."""

    def __init__(self, drv: QemuDriver, dom: DomainRef) -> None:
        self.drv, self.dom = drv, dom
        self.seq = -1
        self.boot: bytes | None = None

    async def check(self, expect: list[str]) -> None:
        chain = xml_chain(await self.drv.get_xml_desc(self.dom))
        assert chain == expect
        assert qemu_img_chain(chain[0]) == expect
        if self.boot is None:
            # The writer starts right after READY; its first record has no event to wait on.
            for _ in range(50):
                with contextlib.suppress(AssertionError):
                    writer_seq(chain[0])
                    break
                await asyncio.sleep(0.1)
        seq, boot = writer_seq(chain[0])
        if self.boot is not None:
            assert boot == self.boot
        assert seq >= self.seq
        self.seq, self.boot = seq, boot


def qemu_img(*args: str) -> None:
    subprocess.run(["qemu-img", *args], check=True)


def make_chain(images: Path, base: str, names: list[str]) -> list[str]:
    paths = [base]
    for n in names:
        p = str(images / n)
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", paths[-1], "-F", "qcow2", p], check=True)
        paths.append(p)
    return paths[::-1]  # top first


async def test_commit_pull_chain_and_errors(drv: QemuDriver, guest_xml: Callable[..., str],
                                            embed_root: Path, guest_dir: Path) -> None:
    ev = Events(drv)
    xml = guest_xml("bj", cmdline_extra="testguest.writer=1")
    images = embed_root / "images"
    vda = str(images / "bj-vda.qcow2")
    chain = make_chain(images, vda, ["sn1.qcow2", "sn2.qcow2", "sn3.qcow2"])
    xml = xml.replace(f"<source file='{vda}'/>", f"<source file='{chain[0]}'/>")
    dom = await drv.create(await drv.define_xml(xml))
    await boot_ready(drv, dom)
    ck = Checker(drv, dom)
    full = chain + [str(guest_dir / "disk.qcow2")]
    await ck.check(full)  # sn3 <- sn2 <- sn1 <- vda <- guest base

    # bad input: nothing changes, libvirt's codes
    for args, code in ((("vda", "/nowhere.qcow2", None, 0, 0), ErrorCode.INVALID_ARG),
                       (("vdz", None, None, 0, 0), ErrorCode.INVALID_ARG),
                       (("vda", None, None, 0, 0), ErrorCode.INVALID_ARG)):  # active layer without ACTIVE
        with pytest.raises(VirtError) as ei:
            await drv.block_commit(dom, *args)
        assert ei.value.code == code
    assert await drv.get_block_job_info(dom, "vda") is None

    # commit sn2 into sn1 (the seed's "--base sn1 --top sn2"), deleting sn2
    await drv.block_commit(dom, "vda", full[2], full[1], 0, DELETE)
    await ev.wait_block("vda", (BlockJobType.COMMIT, BlockJobStatus.COMPLETED))
    full = [full[0]] + full[2:]
    await ck.check(full)
    assert not Path(chain[1]).exists()

    # active commit of sn3 into sn1: READY; a second job on the busy disk is refused; an
    # abort keeps the overlay (chain unchanged)
    await drv.block_commit(dom, "vda", full[1], None, 0, ACTIVE)
    await ev.wait_block("vda", (BlockJobType.ACTIVE_COMMIT, BlockJobStatus.READY))
    info = await drv.get_block_job_info(dom, "vda")
    assert info is not None and info.type is BlockJobType.ACTIVE_COMMIT and info.cur == info.end
    with pytest.raises(VirtError) as ei:
        await drv.block_rebase(dom, "vda", None, 0, 0)
    assert ei.value.code == ErrorCode.BLOCK_COPY_ACTIVE
    await drv.block_job_abort(dom, "vda", 0)
    assert await drv.get_block_job_info(dom, "vda") is None
    await ck.check(full)

    # again, with pivot (the seed's "--active --pivot"), through the helper snapshot
    # deletion uses: it starts the job, pivots on READY and returns once the chain changed
    await drv.commit_and_wait(dom, "vda", full[1], None)
    full = full[1:]
    await ck.check(full)
    assert f"<source file='{full[0]}'/>" in await drv.get_xml_desc(dom, 2)  # next boot uses the pivoted image

    # pull everything above the guest base into sn1
    await drv.block_rebase(dom, "vda", full[-1], 0, 0)
    await ev.wait_block("vda", (BlockJobType.PULL, BlockJobStatus.COMPLETED))
    full = [full[0], full[-1]]
    await ck.check(full)

    # block copy of the whole chain to a new file, then pivot onto it (the copy stands alone)
    copy = str(images / "copy.qcow2")
    await drv.block_rebase(dom, "vda", copy, 0, 8)  # VIR_DOMAIN_BLOCK_REBASE_COPY
    await ev.wait_block("vda", (BlockJobType.COPY, BlockJobStatus.READY))
    with pytest.raises(VirtError) as ei:  # the disk is busy while mirroring
        await drv.block_commit(dom, "vda", None, None, 0, ACTIVE)
    assert ei.value.code == ErrorCode.BLOCK_COPY_ACTIVE
    await drv.block_job_abort(dom, "vda", PIVOT)
    full = [copy]
    await ck.check(full)
    with pytest.raises(VirtError) as ei:  # an existing destination without reuse-external
        await drv.block_rebase(dom, "vda", copy, 0, 8)
    assert ei.value.code == ErrorCode.CONFIG_UNSUPPORTED

    info2 = await drv.get_block_info(dom, "vda")
    assert info2.capacity == 64 << 20 and info2.physical > 0
    stats = await drv.block_stats(dom, "vda")
    assert stats.wr_req > 0 and stats.wr_bytes > 0

    # offline: the same operations with qemu-img on a shut-off domain
    await drv.destroy(dom)
    top = str(images / "off1.qcow2")
    qemu_img("create", "-q", "-f", "qcow2", "-b", full[0], "-F", "qcow2", top)
    seq_before = writer_seq(full[0])
    cfg = (await drv.get_xml_desc(dom, 2)).replace(f"<source file='{full[0]}'/>", f"<source file='{top}'/>")
    await drv.define_xml(cfg)
    await drv.block_rebase(dom, "vda", None, 0, 0)  # offline full pull: top stands alone
    assert qemu_img_chain(top) == [top]
    assert writer_seq(top) == seq_before
    qemu_img("rebase", "-q", "-u", "-f", "qcow2", "-b", full[0], "-F", "qcow2", top)
    await drv.block_commit(dom, "vda", full[0], None, 0, ACTIVE)  # offline active commit = pivot to the base
    assert f"<source file='{full[0]}'/>" in await drv.get_xml_desc(dom, 2)
    assert writer_seq(full[0]) == seq_before


async def test_managedsave_and_restore(drv: QemuDriver, guest_xml: Callable[..., str], embed_root: Path) -> None:
    events: list[tuple[int, int]] = []
    drv.events.subscribe(lambda e: events.append((int(e.event), int(e.detail)))
                         if isinstance(e, LifecycleEventMsg) else None)
    dom = await drv.create(await drv.define_xml(guest_xml("sv", cmdline_extra="testguest.writer=1")))
    await boot_ready(drv, dom)
    top = str(embed_root / "images/sv-vda.qcow2")
    await Checker(drv, dom).check([top, qemu_img_chain(top)[1]])
    seq0, boot0 = writer_seq(top)

    await drv.managed_save(dom)
    assert await drv.get_state(dom) == (DomainState.SHUTOFF, ShutoffReason.SAVED)
    assert await drv.has_managed_save_image(dom)
    assert [r.name for r in await drv.list_all_domains(ListDomainsFlags.MANAGEDSAVE)] == ["sv"]
    assert await drv.list_all_domains(ListDomainsFlags.NO_MANAGEDSAVE) == []
    with pytest.raises(VirtError) as ei:  # libvirt refuses while the image exists
        await drv.undefine(dom)
    assert ei.value.code == ErrorCode.OPERATION_INVALID
    assert (LifecycleEvent.STOPPED, StoppedDetail.SAVED) in events
    seq1, boot1 = writer_seq(top)
    assert boot1 == boot0 and seq1 >= seq0

    events.clear()
    dom = await drv.create(dom)
    assert await drv.get_state(dom) == (DomainState.RUNNING, RunningReason.RESTORED)
    assert (LifecycleEvent.STARTED, StartedDetail.RESTORED) in events
    assert not await drv.has_managed_save_image(dom)
    # the same boot goes on writing: the counter moves on from where it was
    stream = await drv.open_console(dom, None)
    await stream.close()
    for _ in range(100):
        seq2, boot2 = writer_seq(top)
        if seq2 > seq1:
            break
        await asyncio.sleep(0.1)  # the guest's own 100 ms write period; nothing to wait on
    assert boot2 == boot0 and seq2 > seq1

    # save to a file + restore from it
    path = str(embed_root / "sv.save")
    await drv.save(dom, path)
    assert await drv.get_state(dom) == (DomainState.SHUTOFF, ShutoffReason.SAVED)
    await drv.restore(path)
    assert await drv.get_state(dom) == (DomainState.RUNNING, RunningReason.RESTORED)

    # bad input: a missing file, nothing started
    await drv.destroy(dom)
    with pytest.raises(VirtError) as ei:
        await drv.restore(str(embed_root / "missing.save"))
    assert ei.value.code == ErrorCode.SYSTEM_ERROR
    assert not await drv.is_active(dom)
    await drv.managed_save_remove(dom)
    with pytest.raises(VirtError) as ei:
        await drv.managed_save(dom)
    assert ei.value.code == ErrorCode.OPERATION_INVALID
