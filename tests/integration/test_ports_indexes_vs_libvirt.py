"""Live disk source indexes and chardev ports of pyvirt's QEMU driver next to the real
libvirtd's, for one guest (real QEMU under TCG on both sides): two disks (vda a qcow2 over a
backing file, vdb raw), a serial on port 2 and a virtio console. Only those lines are
compared (the whole live XML is test_live_xml_vs_libvirt.py's job)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyvirt.drivers.qemu.driver import QemuDriver

VIRSH = shutil.which("virsh")
LIBVIRTD_SOCK = Path("/run/libvirt/libvirt-sock")

pytestmark = [
    pytest.mark.oracle,
    pytest.mark.e2e,
    pytest.mark.skipif(VIRSH is None, reason="the real virsh is not installed"),
    pytest.mark.skipif(not LIBVIRTD_SOCK.exists(), reason="the real libvirtd is not running"),
    pytest.mark.skipif(shutil.which("qemu-img") is None, reason="qemu-img is not installed"),
]

NAME = "pyvirt-ports-idx-cmp"

XML = """<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>64</memory>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='{d}/top.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='{d}/b.raw'/>
      <target dev='vdb' bus='virtio'/>
    </disk>
    <serial type='pty'><target port='2'/></serial>
    <console type='pty'><target type='virtio'/></console>
  </devices>
</domain>
"""

# what is compared: index numbering, chardev targets, and which chardevs carry a tty
_LINE = re.compile(r"<source file='[^']*'(?: index='\d+')?/>|<backingStore[^>]*>|"
                   r"<target type='[\w-]+' port='\d+'/?>|<(?:serial|console) type='pty'(?: tty='[^']*')?>")


def _virsh(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([VIRSH or "virsh", "-q", "-c", "qemu:///system", *args],
                          capture_output=True, text=True, timeout=120, check=False)


def _relevant(xml: str, d: Path) -> list[str]:
    body = xml[xml.index("<devices>"):].replace(str(d) + "/", "")
    return [re.sub(r"tty='[^']*'", "tty='PTY'", m.group(0)) for m in _LINE.finditer(body)]


def _images(d: Path) -> str:
    d.chmod(0o755)  # libvirtd's QEMU runs as another user
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(d / "base.qcow2"), "16M"], check=True)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(d / "base.qcow2"), "-F", "qcow2",
                    str(d / "top.qcow2")], check=True)
    subprocess.run(["qemu-img", "create", "-q", "-f", "raw", str(d / "b.raw"), "16M"], check=True)
    for f in d.iterdir():
        f.chmod(0o666)
    return XML.format(name=NAME, d=d)


@pytest.fixture
def workdirs() -> Iterator[tuple[Path, Path]]:
    ours = Path(tempfile.mkdtemp(prefix="pvp-", dir="/tmp"))
    real = Path(tempfile.mkdtemp(prefix="pvp-", dir="/var/tmp"))
    yield ours, real
    _virsh("destroy", NAME)
    for d in (ours, real):
        shutil.rmtree(d, ignore_errors=True)


async def test_disk_indexes_and_chardev_ports_match_libvirtd(workdirs: tuple[Path, Path]) -> None:
    ours, real = workdirs
    (real / "dom.xml").write_text(_images(real))
    started = _virsh("create", str(real / "dom.xml"))
    if started.returncode != 0:
        pytest.skip(f"libvirtd could not start the domain: {started.stderr.strip()[:300]}")
    want = _relevant(_virsh("dumpxml", NAME).stdout, real)
    _virsh("destroy", NAME)

    drv = await QemuDriver.open(f"qemu:///embed?root={ours / 'root'}")
    try:
        ref = await drv.create_xml(_images(ours))
        got = _relevant(await drv.get_xml_desc(ref, 0), ours)
        await drv.destroy(ref)
    finally:
        await drv.close()
    assert "<source file='b.raw' index='1'/>" in want  # the comparison can see numbering
    assert got == want
