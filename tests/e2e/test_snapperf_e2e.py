"""Live external snapshot creation on a real QEMU: what it costs outside QEMU and what it
leaves behind.

- each ``--disk-only --atomic`` create sends QEMU exactly ``query-block`` + one
  ``transaction`` and spawns no qemu-img (the chain comes from that query-block);
- the live XML's chain equals qemu-img's, numbered as libvirtd 9.0 numbers it (the overlay
  gets the next index, known images keep theirs), checked side by side with libvirtd when
  it runs;
- a second driver on the same root (a restart) reads the same metadata, current snapshot,
  definition and live XML.

The guest has no OS (it idles in the firmware): the disks are all that matter here.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from pyvirt.drivers.qemu.driver import QemuDriver

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None or shutil.which("qemu-img") is None,
                       reason="qemu-system-x86_64 / qemu-img not installed"),
]

VIRSH = shutil.which("virsh")
LIBVIRTD_SOCK = "/var/run/libvirt/libvirt-sock"
CAPS_CACHE = Path(tempfile.mkdtemp(prefix="pyvirt-caps-"))
DISK_ONLY_ATOMIC = 16 | 128

DOMXML = """<domain type='qemu'>
  <name>{name}</name>
  <uuid>{uuid}</uuid>
  <memory unit='MiB'>64</memory>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='{dir}/vda.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <memballoon model='none'/>
  </devices>
</domain>
"""

SNAP = ("<domainsnapshot><name>{name}</name><disks><disk name='vda' snapshot='external'>"
        "<source file='{file}'/></disk></disks></domainsnapshot>")


@pytest.fixture
def work() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="pvsp", dir="/tmp"))
    os.chmod(d, 0o755)
    for side in ("pyvirt", "libvirt"):
        (d / side).mkdir()
        base = d / side / "base.qcow2"
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(base), "16M"], check=True)
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(base), "-F", "qcow2",
                        str(d / side / "vda.qcow2")], check=True)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def chain(xml: str) -> list[tuple[str, str | None]]:
    """vda's chain from the top down: (file name relative to its dir, index)."""
    disk = etree.fromstring(xml.encode()).find("devices/disk")
    assert disk is not None
    out = []
    el: Any = disk
    while el is not None and el.find("source") is not None:
        src = el.find("source")
        out.append((os.path.basename(src.get("file")), src.get("index") if el is disk else el.get("index")))
        el = el.find("backingStore")
    return out


def img_chain(path: str) -> list[str]:
    out = subprocess.run(["qemu-img", "info", "-U", "--backing-chain", "--output=json", path],
                         check=True, capture_output=True, text=True).stdout
    return [os.path.basename(x["filename"]) for x in json.loads(out)]


def libvirtd_chains(d: Path) -> list[list[tuple[str, str | None]]] | None:
    """The same guest and snapshots on libvirtd: vda's chain after start and after each."""
    if VIRSH is None or not os.path.exists(LIBVIRTD_SOCK):
        return None
    name = f"pvsp{os.getpid()}"
    (d / "dom.xml").write_text(DOMXML.format(name=name, uuid=uuid.uuid4(), dir=d))
    virsh = [VIRSH, "-c", "qemu:///system"]
    try:
        subprocess.run([*virsh, "define", str(d / "dom.xml")], check=True, capture_output=True)
        subprocess.run([*virsh, "start", name], check=True, capture_output=True)
        out = []
        for i in range(3):
            if i:
                subprocess.run([*virsh, "snapshot-create-as", name, f"s{i}", "--disk-only", "--atomic",
                                "--diskspec", f"vda,file={d}/o{i}.qcow2"], check=True, capture_output=True)
            xml = subprocess.run([*virsh, "dumpxml", name], check=True, capture_output=True, text=True).stdout
            out.append(chain(xml))
        return out
    finally:
        subprocess.run([*virsh, "destroy", name], check=False, capture_output=True)
        subprocess.run([*virsh, "undefine", name, "--snapshots-metadata"], check=False, capture_output=True)


async def test_live_external_create_cost_and_result(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    oracle_task = asyncio.create_task(asyncio.to_thread(libvirtd_chains, work / "libvirt"))
    root = work / "root"
    d = work / "pyvirt"
    drv = await QemuDriver.open(f"qemu:///embed?root={root}")
    drv.lc.caps_cache_dir = CAPS_CACHE
    dom = await drv.define_xml(DOMXML.format(name="snapperf", uuid=uuid.uuid4(), dir=d))
    try:
        await drv.create(dom)
        rt = await drv.lc.runtime(drv._obj(dom))
        assert rt.monitor is not None
        sent: list[str] = []
        orig = rt.monitor.execute

        async def execute(command: str, arguments: Any = None, timeout: float | None = 60.0) -> Any:
            sent.append(command)
            return await orig(command, arguments, timeout)

        monkeypatch.setattr(rt.monitor, "execute", execute)
        spawned: list[tuple[Any, ...]] = []
        real_exec = asyncio.create_subprocess_exec

        async def spawn(*args: Any, **kw: Any) -> Any:
            spawned.append(args)
            return await real_exec(*args, **kw)

        monkeypatch.setattr(asyncio, "create_subprocess_exec", spawn)
        ours = [chain(await drv.get_xml_desc(dom))]
        for i in (1, 2):
            sent.clear()
            await drv.snapshot_create_xml(dom, SNAP.format(name=f"s{i}", file=d / f"o{i}.qcow2"), DISK_ONLY_ATOMIC)
            assert sent == ["query-block", "transaction"]
            assert spawned == []
            live = await drv.get_xml_desc(dom)
            ours.append(chain(live))
            assert [p for p, _ in ours[-1]] == img_chain(str(d / f"o{i}.qcow2"))
        # libvirtd 9.0's numbering: start top 1, its backing 2; each overlay the next free one
        assert [[ix for _, ix in c] for c in ours] == [["1", "2"], ["3", "1", "2"], ["4", "3", "1", "2"]]
        oracle = await oracle_task
        if oracle is not None:
            assert ours == oracle
        inactive = await drv.get_xml_desc(dom, 2)  # VIR_DOMAIN_XML_INACTIVE
        assert chain(inactive) == [("o2.qcow2", None)]

        # a restarted driver sees the same: metadata, current, parent, definition, live XML
        drv2 = await QemuDriver.open(f"qemu:///embed?root={root}")
        try:
            dom2 = await drv2.lookup_by_name("snapperf")
            assert await drv2.snapshot_list_names(dom2, 0) == ["s1", "s2"]
            cur = await drv2.snapshot_current(dom2, 0)
            assert cur.name == "s2"
            assert (await drv2.snapshot_get_parent(cur, 0)).name == "s1"
            assert chain(await drv2.get_xml_desc(dom2, 2)) == [("o2.qcow2", None)]
            assert chain(await drv2.get_xml_desc(dom2)) == ours[-1]
            s2 = etree.fromstring((await drv2.snapshot_get_xml_desc(cur, 0)).encode())
            assert s2.findtext("state") == "disk-snapshot"
            embedded = s2.find("domain")
            assert embedded is not None
            assert chain(etree.tostring(embedded).decode()) == ours[1]  # the guest as s2 froze it
        finally:
            await drv2.close()
    finally:
        if not oracle_task.done():
            await oracle_task
        await drv.destroy(dom)
        await drv.undefine(dom, 2)  # VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
        await drv.close()
