"""Snapshots on the real test guest while its disk writer runs (testguest.writer=1).

After each operation the writer's on-disk pattern is checked on the host through
qemu-img (-U: the image is open in QEMU): block 0 holds the latest seq, the ring from
block 16 holds every seq up to it (monotonic, nothing torn), and the chain in the live
XML equals ``qemu-img info --backing-chain``. A second driver instance (a restart) sees
the same snapshot metadata.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import tempfile
from pathlib import Path

import pytest
from lxml import etree

from pyvirt.drivers.base import BlockJobEventMsg, DomainRef, LifecycleEventMsg, SnapshotRef
from pyvirt.drivers.qemu.driver import QemuDriver
from pyvirt.enums import (
    BlockJobStatus,
    BlockJobType,
    DefinedDetail,
    DomainState,
    LifecycleEvent,
    PausedReason,
    RunningReason,
    StartedDetail,
    StoppedDetail,
    SuspendedDetail,
)
from pyvirt.errors import ErrorCode, VirtError

pytestmark = pytest.mark.e2e

CAPS_CACHE = Path(tempfile.mkdtemp(prefix="pyvirt-caps-"))
READY = b"TESTGUEST READY"
_SEQ = re.compile(rb"TESTGUEST-(WRITER|SEQ) seq=(\d{10})")
RING = 1024


async def open_drv(root: Path) -> QemuDriver:
    drv = await QemuDriver.open(f"qemu:///embed?root={root}")
    drv.lc.caps_cache_dir = CAPS_CACHE
    return drv


def disk_state(path: str, tmp: Path) -> tuple[int, list[int]]:
    """(block 0 seq, ring seqs) of the image chain at ``path``, read through qemu-img."""
    out = tmp / "head.raw"
    subprocess.run(["qemu-img", "dd", "-U", "-O", "raw", "bs=4096", f"count={16 + RING}", f"if={path}", f"of={out}"],
                   check=True, capture_output=True)
    data = out.read_bytes()
    out.unlink()
    m = _SEQ.match(data[:64])
    if m is None or m.group(1) != b"WRITER":
        return 0, []  # the writer has not started yet (the blank disk's header is there)
    ring = []
    for i in range(RING):
        blk = data[(16 + i) * 4096:(16 + i) * 4096 + 64]
        mm = _SEQ.match(blk)
        if mm is not None:
            ring.append(int(mm.group(2)))
    return int(m.group(2)), ring


def assert_intact(path: str, tmp: Path, at_least: int = 1) -> int:
    """The writer's pattern is whole and monotonic; returns the latest seq."""
    seq, ring = disk_state(path, tmp)
    assert seq >= max(at_least, 1), (seq, at_least)
    # entries above the latest seq are an earlier boot's, not yet overwritten (a reverted
    # guest boots again and counts from 1); the current boot's must be complete
    ring = sorted(r for r in ring if r <= seq + 1)
    # every seq up to the latest is in the ring (the newest may be one ahead of block 0:
    # the ring block is written first), without gaps
    top = ring[-1]
    assert top in (seq, seq + 1), (seq, top)
    want = list(range(max(1, top - RING + 1), top + 1))
    assert ring == want, (ring[:5], ring[-5:], len(ring))
    return seq


def live_chain(xml: str, target: str) -> list[str]:
    root = etree.fromstring(xml.encode())
    for d in root.findall("devices/disk"):
        t = d.find("target")
        if t is not None and t.get("dev") == target:
            out = [d.find("source").get("file")]  # type: ignore[union-attr]
            bs = d.find("backingStore")
            while bs is not None and bs.find("source") is not None:
                out.append(bs.find("source").get("file"))  # type: ignore[union-attr]
                bs = bs.find("backingStore")
            return [str(x) for x in out]
    raise AssertionError(target)


def img_chain(path: str) -> list[str]:
    out = subprocess.run(["qemu-img", "info", "-U", "--backing-chain", "--output=json", path],
                         check=True, capture_output=True, text=True).stdout
    return [x["filename"] for x in json.loads(out)]


async def wait_seq(drv: QemuDriver, dom: DomainRef, tmp: Path, beyond: int, timeout: float = 30) -> int:
    """Wait (on the guest's own progress) until the writer got past ``beyond``."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        src = live_chain(await drv.get_xml_desc(dom), "vda")[0]
        seq, _ = disk_state(src, tmp)
        if seq > beyond:
            return seq
        assert loop.time() < end, "writer made no progress"
        await asyncio.sleep(0.3)  # the guest writes every 100 ms; nothing to wait on host-side


async def boot(drv: QemuDriver, dom: DomainRef) -> None:
    stream = await drv.open_console(dom, None)
    buf = b""
    try:
        while READY not in buf:
            chunk = await asyncio.wait_for(stream.read(4096), 90)
            assert chunk, buf[-300:]
            buf += chunk
    finally:
        await stream.close()


async def test_live_snapshots_with_writer(embed_root: Path, guest_xml, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    drv = await open_drv(embed_root)
    try:
        chan = "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>"
        dom = await drv.define_xml(guest_xml("snapg", cmdline_extra="testguest.writer=1", devices_extra=chan))
        dom = await drv.create(dom)
        await boot(drv, dom)
        base = live_chain(await drv.get_xml_desc(dom), "vda")[0]
        seq0 = await wait_seq(drv, dom, tmp_path, 5)

        # 1. live external disk-only snapshot, quiesced through the guest agent
        # (fsfreeze/thaw): one transaction, the domain keeps running
        ov1 = str(embed_root / "images" / "snapg-vda.ext1")
        await drv.snapshot_create_xml(dom, f"""<domainsnapshot><name>ext1</name><disks>
            <disk name='vda' snapshot='external'><source file='{ov1}'/></disk></disks></domainsnapshot>""", 16 | 64)
        assert await drv.get_state(dom) == (DomainState.RUNNING, RunningReason.BOOTED)
        live = await drv.get_xml_desc(dom)
        assert live_chain(live, "vda") == img_chain(ov1)[:len(live_chain(live, "vda"))]
        assert live_chain(live, "vda")[:2] == [ov1, base]
        frozen = assert_intact(base, tmp_path, seq0)
        await wait_seq(drv, dom, tmp_path, frozen + 3)
        assert assert_intact(base, tmp_path) == frozen  # the base no longer changes
        assert_intact(ov1, tmp_path, frozen)

        # 2. live internal checkpoint (snapshot-save job) on the overlay
        before_cp = assert_intact(ov1, tmp_path, frozen)
        await drv.snapshot_create_xml(dom, "<domainsnapshot><name>cp1</name></domainsnapshot>")
        assert (await drv.get_state(dom))[0] == DomainState.RUNNING
        xml = await drv.snapshot_get_xml_desc(SnapshotRef(dom, "cp1"))
        assert "<state>running</state>" in xml and "<memory snapshot='internal'/>" in xml
        # the guest's next flush makes the image's metadata consistent for an outside reader
        cp_seq = await wait_seq(drv, dom, tmp_path, frozen)
        assert_intact(ov1, tmp_path, cp_seq)
        # several flushed writes later: surely past the checkpoint's moment
        after_cp = await wait_seq(drv, dom, tmp_path, max(cp_seq, before_cp) + 5)

        # 3. metadata survives a driver restart (the guest keeps running)
        await drv.close()
        drv = await open_drv(embed_root)
        dom = await drv.lookup_by_name("snapg")
        assert await drv.snapshot_list_names(dom) == ["ext1", "cp1"]
        assert (await drv.snapshot_current(dom)).name == "cp1"

        # 4. revert to the checkpoint, paused: memory and disk come back to cp1, with
        # libvirt 9.0's events (checked on the real libvirtd: QEMU is restarted)
        seen: list[tuple[int, int]] = []
        drv.events.subscribe(lambda ev: seen.append((int(ev.event), int(ev.detail)))
                             if isinstance(ev, LifecycleEventMsg) else None)
        await drv.revert_to_snapshot(SnapshotRef(dom, "cp1"), 2)
        assert await drv.get_state(dom) == (DomainState.PAUSED, PausedReason.FROM_SNAPSHOT)
        L = LifecycleEvent
        assert seen == [(L.STOPPED, StoppedDetail.FROM_SNAPSHOT), (L.STARTED, StartedDetail.FROM_SNAPSHOT),
                        (L.SUSPENDED, SuspendedDetail.FROM_SNAPSHOT), (L.DEFINED, DefinedDetail.FROM_SNAPSHOT)]
        seen.clear()
        back = assert_intact(ov1, tmp_path)
        assert before_cp <= back < after_cp  # the disk is back at the checkpoint's moment
        await drv.resume(dom)
        await wait_seq(drv, dom, tmp_path, back + 3)

        # 5. delete the checkpoint (snapshot-delete of the internal state, live)
        await drv.snapshot_delete(SnapshotRef(dom, "cp1"))
        assert await drv.snapshot_list_names(dom) == ["ext1"]

        # 6. revert to the external snapshot: restart from the frozen base
        seen.clear()
        await drv.revert_to_snapshot(SnapshotRef(dom, "ext1"), 1)
        # a disk-only snapshot started with --running boots: "running (booted)" as in libvirt
        assert await drv.get_state(dom) == (DomainState.RUNNING, RunningReason.BOOTED)
        assert seen[0] == (L.STOPPED, StoppedDetail.FROM_SNAPSHOT)
        assert (L.STARTED, StartedDetail.FROM_SNAPSHOT) in seen and seen[-1] == (L.DEFINED, DefinedDetail.FROM_SNAPSHOT)
        live = await drv.get_xml_desc(dom)
        top = live_chain(live, "vda")[0]
        assert img_chain(top)[1] == base
        assert_intact(top, tmp_path)
        await boot(drv, dom)

        # 7. missing snapshot: libvirt's error, nothing changes
        with pytest.raises(VirtError) as e:
            await drv.revert_to_snapshot(SnapshotRef(dom, "nope"))
        assert e.value.code == ErrorCode.NO_DOMAIN_SNAPSHOT

        # 8. delete the external snapshot live: its overlay is merged back into the base
        # (block commit + pivot); the new boot's data is then in the base file
        # the fresh overlay shows the base's old boot until the new boot's writer flushed
        old_boot = boot_id(base, tmp_path)
        for _ in range(100):
            if boot_id(top, tmp_path) != old_boot:
                break
            await asyncio.sleep(0.1)
        new_boot = boot_id(top, tmp_path)
        assert new_boot != old_boot
        jobs: list[tuple[str, int, int]] = []
        drv.events.subscribe(lambda ev: jobs.append((ev.disk, int(ev.type), int(ev.status)))
                             if isinstance(ev, BlockJobEventMsg) else None)
        await drv.snapshot_delete(SnapshotRef(dom, "ext1"))
        # the merge is an active block commit with pivot, visible to clients as one
        assert jobs[-1] == ("vda", BlockJobType.ACTIVE_COMMIT, BlockJobStatus.COMPLETED)
        live = await drv.get_xml_desc(dom)
        assert live_chain(live, "vda") == img_chain(base) and live_chain(live, "vda")[0] == base
        assert not Path(top).exists()
        await wait_seq(drv, dom, tmp_path, 0)
        # an outside reader sees the merged metadata once the guest flushes again (100 ms)
        for _ in range(50):
            if boot_id(base, tmp_path) == new_boot:
                break
            await asyncio.sleep(0.1)
        assert boot_id(base, tmp_path) == new_boot
        assert_intact(base, tmp_path, 1)
        await drv.destroy(dom)
    finally:
        await drv.close()


_BOOT = re.compile(rb"boot=([0-9a-f-]{36})")


def boot_id(path: str, tmp: Path) -> bytes:
    out = tmp / "b0.raw"
    subprocess.run(["qemu-img", "dd", "-U", "-O", "raw", "bs=4096", "count=1", f"if={path}", f"of={out}"],
                   check=True, capture_output=True)
    m = _BOOT.search(out.read_bytes())
    out.unlink()
    assert m is not None
    return m.group(1)


async def test_external_snapshot_with_memory_and_revert(embed_root: Path, guest_xml, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """--memspec: memory saved through a migration to the file, disks switched to overlays;
    reverting restores the running guest (same boot, counter continues from the snapshot)."""
    drv = await open_drv(embed_root)
    try:
        dom = await drv.define_xml(guest_xml("snapm", cmdline_extra="testguest.writer=1"))
        dom = await drv.create(dom)
        await boot(drv, dom)
        base = live_chain(await drv.get_xml_desc(dom), "vda")[0]
        await wait_seq(drv, dom, tmp_path, 3)
        booted = boot_id(base, tmp_path)
        mem = embed_root / "images" / "snapm.mem"
        ov = embed_root / "images" / "snapm-vda.m1"
        await drv.snapshot_create_xml(dom, f"""<domainsnapshot><name>m1</name>
            <memory snapshot='external' file='{mem}'/>
            <disks><disk name='vda' snapshot='external'><source file='{ov}'/></disk></disks>
            </domainsnapshot>""")
        assert mem.stat().st_size > 1 << 20
        assert (await drv.get_state(dom))[0] == DomainState.RUNNING
        frozen = assert_intact(base, tmp_path)
        later = await wait_seq(drv, dom, tmp_path, frozen + 10)
        xml = await drv.snapshot_get_xml_desc(SnapshotRef(dom, "m1"))
        assert f"<memory snapshot='external' file='{mem}'/>" in xml and "<state>running</state>" in xml

        await drv.revert_to_snapshot(SnapshotRef(dom, "m1"))
        assert await drv.get_state(dom) == (DomainState.RUNNING, RunningReason.FROM_SNAPSHOT)
        top = live_chain(await drv.get_xml_desc(dom), "vda")[0]
        assert img_chain(top)[1] == base
        seq = await wait_seq(drv, dom, tmp_path, frozen)
        # the same boot continues from the snapshot's memory: no reboot, the counter resumes
        # right after the frozen value instead of after the later one
        assert boot_id(top, tmp_path) == booted
        assert seq < later + 5
        assert_intact(top, tmp_path, frozen)
        await drv.destroy(dom)
    finally:
        await drv.close()
