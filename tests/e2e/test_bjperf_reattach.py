"""Crash safety of the block job fast path on a real QEMU (one boot).

The end of a job this driver started computes the new chain instead of asking QEMU and
writes the status once, before dismissing the job. Checked here:

- after an active commit with pivot, a second driver on the same root (another process's
  view: status files only, no monitor) shows the chain qemu-img shows;
- a driver that dies after a pull concluded in QEMU but before its status write (the
  write fails here) leaves the old chain in the status and the job undismissed; the next
  driver to attach re-adopts the concluded job and rebuilds the chain from QEMU.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from pyvirt.drivers.base import BlockJobEventMsg, DomainEvent
from pyvirt.drivers.qemu.driver import QemuDriver
from pyvirt.enums import BlockJobStatus

pytestmark = pytest.mark.e2e

CAPS_CACHE = Path(tempfile.mkdtemp(prefix="pyvirt-caps-"))
ACTIVE, PIVOT = 4, 2


def qemu_img_chain(path: str) -> list[str]:
    out = subprocess.run(["qemu-img", "info", "-U", "--backing-chain", "--output=json", path],
                         check=True, capture_output=True, text=True).stdout
    return [i["filename"] for i in json.loads(out)]


def overlay(below: str, img: str) -> None:
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", below, "-F", "qcow2", img], check=True)


def xml_chain(xml: str) -> list[str]:
    disk = ET.fromstring(xml).find("devices/disk")
    assert disk is not None
    src = disk.find("source")
    out = [src.get("file", "")] if src is not None else []
    bs = disk.find("backingStore")
    while bs is not None and bs.get("type"):
        s = bs.find("source")
        out.append(s.get("file", "") if s is not None else "")
        bs = bs.find("backingStore")
    return out


async def open_driver(root: Path) -> QemuDriver:
    d = await QemuDriver.open(f"qemu:///embed?root={root}")
    d.lc.caps_cache_dir = CAPS_CACHE
    return d


async def test_status_and_reattach_show_the_chain(embed_root: Path, guest_xml: Any) -> None:
    xml = guest_xml("bjperf")
    mid = str(embed_root / "images" / "bjperf-vda.qcow2")  # the fixture's overlay on the guest disk
    base = qemu_img_chain(mid)[1]
    top, top2 = str(embed_root / "images" / "top.qcow2"), str(embed_root / "images" / "top2.qcow2")
    for below, img in ((mid, top), (top, top2)):
        overlay(below, img)
    xml = xml.replace(f"<source file='{mid}'/>", f"<source file='{top2}'/>")
    a = await open_driver(embed_root)
    b: QemuDriver | None = None
    dom = await a.create_xml(xml)
    try:
        q: asyncio.Queue[BlockJobEventMsg] = asyncio.Queue()

        def on(ev: DomainEvent) -> None:
            if isinstance(ev, BlockJobEventMsg):
                q.put_nowait(ev)

        a.events.subscribe(on)
        assert xml_chain(await a.get_xml_desc(dom, 0)) == [top2, top, mid, base]

        # 1. active commit of top2 into top, pivot: the status alone shows the new chain
        await a.block_commit(dom, "vda", top, None, 0, ACTIVE)
        assert (await asyncio.wait_for(q.get(), 60)).status is BlockJobStatus.READY
        await a.block_job_abort(dom, "vda", PIVOT)
        assert qemu_img_chain(top) == [top, mid, base]
        assert xml_chain(await a.get_xml_desc(dom, 0)) == [top, mid, base]
        other = await open_driver(embed_root)  # reads the status file; no monitor needed
        try:
            odom = await other.lookup_by_name("bjperf")
            assert xml_chain(await other.get_xml_desc(odom, 0)) == [top, mid, base]
        finally:
            await other.close()
        while not q.empty():
            q.get_nowait()

        # 2. a pull whose status write fails, as if the process died right there
        def die(obj: Any) -> None:
            raise OSError(5, "simulated crash before the status write")

        a.store.save_status = die  # type: ignore[method-assign]
        await a.block_rebase(dom, "vda", base, 0, 0)
        ev = await asyncio.wait_for(q.get(), 60)
        assert ev.status is BlockJobStatus.COMPLETED
        assert qemu_img_chain(top) == [top, base]  # QEMU pulled mid into top
        await a.close()  # the QEMU keeps running; its status file still shows mid

        b = await open_driver(embed_root)
        bdom = await b.lookup_by_name("bjperf")
        assert xml_chain(await b.get_xml_desc(bdom, 0)) == [top, mid, base]  # stale, from the file
        assert await b.get_block_job_info(bdom, "vda", 0) is None  # attach: the concluded job is re-adopted
        assert xml_chain(await b.get_xml_desc(bdom, 0)) == [top, base] == qemu_img_chain(top)
    finally:
        await a.close()
        if b is None:
            b = await open_driver(embed_root)
        for ref in await b.list_all_domains(1):
            await b.destroy(ref)
        await b.close()
