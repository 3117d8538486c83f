"""The argv we build is accepted by the real QEMU on this machine.

Builds the full command line (q35 and pc: virtio qcow2 disk from qemu-img, user NIC with
ROM disabled, serial pty + log file, unix virtio console, guest-agent channel, balloon,
RNG) with this machine's QEMU caps, starts QEMU paused with the monitor on a socketpair we
hold, checks it answers QMP and reports the devices, and quits it. No guest OS boots.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
from pathlib import Path

import pytest

from pyvirt.conf.domain import parse_domain
from pyvirt.drivers.qemu.caps import QemuCaps
from pyvirt.drivers.qemu.command import CommandRuntime, build
from pyvirt.drivers.qemu.postparse import postparse

QEMU = "/usr/bin/qemu-system-x86_64"
CAPS = Path(__file__).resolve().parents[3] / ".." / "shared" / "libvirt-testdata" / "tests" / "qemucapabilitiesdata"

pytestmark = pytest.mark.skipif(
    shutil.which(QEMU) is None or shutil.which("qemu-img") is None, reason="QEMU not installed")


def domain_xml(machine: str, tmp: Path) -> str:
    return f"""<domain type='qemu'>
  <name>argvcheck</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='{machine}'>hvm</type></os>
  <features><acpi/></features>
  <devices>
    <emulator>{QEMU}</emulator>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>
      <source file='{tmp}/vda.qcow2'/><target dev='vda' bus='virtio'/></disk>
    <interface type='user'><mac address='52:54:00:aa:bb:cc'/><model type='virtio'/><rom enabled='no'/></interface>
    <serial type='pty'><log file='{tmp}/console.log' append='off'/><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <console type='unix'><source mode='bind' path='{tmp}/console.sock'/><target type='virtio' port='1'/></console>
    <channel type='unix'><source mode='bind' path='{tmp}/agent.sock'/>
      <target type='virtio' name='org.qemu.guest_agent.0'/></channel>
    <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
  </devices>
</domain>"""


async def _qmp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, cmd: str) -> dict[str, object]:
    writer.write(json.dumps({"execute": cmd}).encode() + b"\n")
    await writer.drain()
    while True:
        msg = json.loads(await asyncio.wait_for(reader.readline(), 20))
        if "event" not in msg:
            assert "return" in msg, msg
            return msg  # type: ignore[no-any-return]


# More device families on pc: SCSI on both HBAs, 9p share, watchdog, VNC on a unix socket
# with a cirrus card, USB tablet, ISA panic, IDE CD-ROM, floppy.
EXTRA = """
    <disk type='file' device='disk'><source file='{tmp}/sda.raw'/><target dev='sda' bus='scsi'/></disk>
    <disk type='file' device='disk'><source file='{tmp}/sdh.raw'/><target dev='sdh' bus='scsi'/>
      <address type='drive' controller='1' bus='0' target='2' unit='3'/></disk>
    <disk type='file' device='cdrom'><target dev='hdc' bus='ide'/><readonly/></disk>
    <disk type='file' device='floppy'><source file='{tmp}/fd.raw'/><target dev='fda' bus='fdc'/></disk>
    <controller type='scsi' index='1' model='virtio-scsi'/>
    <filesystem type='mount' accessmode='mapped'><source dir='{tmp}'/><target dir='share'/></filesystem>
    <watchdog model='ib700' action='poweroff'/>
    <input type='tablet' bus='usb'/>
    <graphics type='vnc'><listen type='socket' socket='{tmp}/vnc.sock'/></graphics>
    <panic model='isa'/>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='{tmp}/top.qcow2'/>
      <backingStore type='file'><format type='qcow2'/><source file='{tmp}/mid.qcow2'/>
        <backingStore type='file'><format type='raw'/><source file='{tmp}/base.raw'/><backingStore/></backingStore>
      </backingStore>
      <target dev='vdc' bus='virtio'/></disk>
"""


@pytest.mark.parametrize("machine", ["q35", "pc", "pc+extra"])
async def test_qemu_accepts_argv(machine: str, tmp_path: Path) -> None:
    f = CAPS / "caps_7.2.0.x86_64.replies"
    if not f.is_file():
        pytest.skip(f"libvirt test corpus not found at {CAPS}")
    caps = QemuCaps.from_replies(f, binary=QEMU)
    img = await asyncio.create_subprocess_exec(
        "qemu-img", "create", "-q", "-f", "qcow2", str(tmp_path / "vda.qcow2"), "16M")
    assert await img.wait() == 0
    xml = domain_xml(machine.split("+")[0], tmp_path)
    if machine.endswith("+extra"):
        xml = xml.replace("</devices>", EXTRA.format(tmp=tmp_path) + "</devices>")
        for name in ("sda.raw", "sdh.raw", "fd.raw", "base.raw"):
            (tmp_path / name).write_bytes(b"\0" * 1474560)
        for image, backing, fmt in (("mid.qcow2", "base.raw", "raw"), ("top.qcow2", "mid.qcow2", "qcow2")):
            mk = await asyncio.create_subprocess_exec(
                "qemu-img", "create", "-q", "-f", "qcow2", "-b", str(tmp_path / backing), "-F", fmt,
                str(tmp_path / image))
            assert await mk.wait() == 0
    defn = postparse(parse_domain(xml), caps)
    # server=on with fd=N: QEMU wants an already-listening socket, as libvirt passes it.
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(tmp_path / "monitor.sock"))
    listener.listen(1)
    rt = CommandRuntime(domain_dir=str(tmp_path), monitor_fd=listener.fileno(), master_key=False)
    argv = build(defn, caps, rt)
    proc = await asyncio.create_subprocess_exec(
        *argv, pass_fds=[listener.fileno()], stderr=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL)
    listener.close()
    try:
        reader, writer = await asyncio.open_unix_connection(str(tmp_path / "monitor.sock"))
        greeting = json.loads(await asyncio.wait_for(reader.readline(), 20))
        assert "QMP" in greeting
        await _qmp(reader, writer, "qmp_capabilities")
        status = await _qmp(reader, writer, "query-status")
        assert status["return"] == {"status": "prelaunch", "singlestep": False, "running": False} or \
            status["return"]["status"] == "prelaunch"  # type: ignore[index]
        chardevs = await _qmp(reader, writer, "query-chardev")
        labels = {c["label"] for c in chardevs["return"]}  # type: ignore[attr-defined]
        assert {"charserial0", "charconsole1", "charchannel0"} <= labels
        blocks = await _qmp(reader, writer, "query-block")
        qdevs = {b["qdev"] for b in blocks["return"]}  # type: ignore[attr-defined]
        assert "/machine/peripheral/virtio-disk0/virtio-backend" in qdevs
        if machine.endswith("+extra"):
            assert {"scsi0-0-0", "scsi1-0-2-3", "ide0-1-0"} <= qdevs, qdevs
            chain = next(b for b in blocks["return"] if "virtio-disk2" in b["qdev"])  # type: ignore[attr-defined]
            assert chain["inserted"]["backing_file_depth"] == 2
            assert chain["inserted"]["image"]["backing-image"]["backing-image"]["filename"] == str(tmp_path / "base.raw")
        await _qmp(reader, writer, "quit")
        writer.close()
    finally:
        try:
            await asyncio.wait_for(proc.wait(), 20)
        except TimeoutError:
            proc.kill()
            await proc.wait()
    err = (await proc.stderr.read()).decode() if proc.stderr else ""
    assert proc.returncode == 0, err
    assert (tmp_path / "console.log").exists()
