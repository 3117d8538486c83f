"""e2e fixtures: the test guest's artifacts, a short embed root, and the guest's domain XML."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GUEST_FILES = ("vmlinuz", "initramfs.cpio.gz", "disk.qcow2")


@pytest.fixture(scope="session")
def guest_dir() -> Path:
    """The built test guest (tools/build-test-guest.sh writes REPO/.guest); skip when absent."""
    d = REPO / ".guest"
    missing = [f for f in GUEST_FILES if not (d / f).is_file()]
    if missing:
        pytest.skip(f"test guest artifacts missing in {d} ({', '.join(missing)}): run tools/build-test-guest.sh")
    if shutil.which("qemu-system-x86_64") is None or shutil.which("qemu-img") is None:
        pytest.skip("qemu-system-x86_64 / qemu-img not installed")
    return d


@pytest.fixture
def embed_root() -> Iterator[Path]:
    """A tmp qemu:///embed root with a short path: unix socket paths must stay < 108 bytes."""
    d = Path(tempfile.mkdtemp(prefix="pv-", dir="/tmp"))
    yield d
    # Whatever a failed test left running must not outlive it.
    for status in (d / "run/qemu").glob("*.xml") if (d / "run/qemu").is_dir() else ():
        text = status.read_text()
        start = text.find(" pid='")
        if start >= 0:
            pid = int(text[start + 6 : text.index("'", start + 6)])
            cmdline = Path(f"/proc/{pid}/cmdline")
            if cmdline.exists() and str(d).encode() in cmdline.read_bytes():
                subprocess.run(["kill", "-9", str(pid)], check=False)
    shutil.rmtree(d, ignore_errors=True)


GuestXML = Callable[..., str]


@pytest.fixture
def guest_xml(guest_dir: Path, embed_root: Path) -> GuestXML:
    """guest_xml(name, cmdline_extra="", devices_extra="", on_poweroff=..., ...) -> domain XML.

    Each call makes a fresh qcow2 overlay on the shared base disk, so guests never write
    the artifact itself.
    """
    state = embed_root / "images"
    state.mkdir(exist_ok=True)

    def make(name: str, *, cmdline_extra: str = "", devices_extra: str = "", on_poweroff: str = "destroy",
             on_reboot: str = "restart", on_crash: str = "destroy") -> str:
        disk = state / f"{name}-vda.qcow2"
        if not disk.exists():
            subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(guest_dir / "disk.qcow2"),
                            "-F", "qcow2", str(disk)], check=True)
        return f"""<domain type='qemu'>
  <name>{name}</name>
  <uuid>{uuid.uuid4()}</uuid>
  <memory unit='MiB'>128</memory>
  <vcpu placement='static'>1</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>{guest_dir}/vmlinuz</kernel>
    <initrd>{guest_dir}/initramfs.cpio.gz</initrd>
    <cmdline>console=ttyS0 quiet panic=-1 testguest.net=none {cmdline_extra}</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>{on_poweroff}</on_poweroff>
  <on_reboot>{on_reboot}</on_reboot>
  <on_crash>{on_crash}</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='{disk}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <serial type='pty'>
      <log file='{state}/{name}-console.log' append='off'/>
      <target port='0'/>
    </serial>
    <console type='pty'>
      <target type='serial' port='0'/>
    </console>
    {devices_extra}
    <memballoon model='none'/>
  </devices>
</domain>"""

    return make
