"""Side by side with the real libvirt 9.0 on this machine: ``virsh domxml-to-native``.

libvirt builds its command line for the same XML with its own probe of the installed QEMU
7.2; we build ours with libvirt's recorded caps_7.2.0. The comparison normalises only what
is deliberately different: libvirt's per-domain paths (we pass the same ones in the runtime),
the monitor (libvirt names a socket path, we pass a listening fd) and NICs (domxml-to-native
swaps every interface for a tap backend with a made-up fd, and drops the NIC's ROM setting).
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from pyvirt.conf.domain import parse_domain
from pyvirt.drivers.qemu.caps import QemuCaps
from pyvirt.drivers.qemu.command import CommandRuntime, build
from pyvirt.drivers.qemu.postparse import postparse

DATA = Path(__file__).resolve().parents[2] / "data" / "argv"
CAPS = Path(__file__).resolve().parents[3] / ".." / "shared" / "libvirt-testdata" / "tests" / "qemucapabilitiesdata"
URI = "qemu:///system"

EXTRA_CASES = {
    "q35-conventional-nics": """<domain type='qemu'><name>nics</name>
      <uuid>6f1b9d1e-8c55-4c1e-9c57-1d2f3a4b5c6d</uuid><memory>65536</memory>
      <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os>
      <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>
      <interface type='user'><mac address='52:54:00:00:00:01'/><model type='e1000'/></interface>
      <interface type='user'><mac address='52:54:00:00:00:02'/><model type='virtio'/></interface>
      <interface type='user'><mac address='52:54:00:00:00:03'/><model type='rtl8139'/></interface>
      <memballoon model='none'/></devices></domain>""",
    "pc-storage-mix": """<domain type='qemu'><name>mix</name>
      <uuid>6f1b9d1e-8c55-4c1e-9c57-1d2f3a4b5c6e</uuid><memory>131072</memory><vcpu>2</vcpu>
      <os><type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type><boot dev='cdrom'/><boot dev='hd'/></os>
      <features><acpi/></features>
      <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>
      <disk type='file' device='disk'><driver name='qemu' type='qcow2' cache='none'/>
        <source file='/var/tmp/a.qcow2'/><target dev='vdb' bus='virtio'/></disk>
      <disk type='file' device='cdrom'><source file='/var/tmp/b.iso'/><target dev='hdc' bus='ide'/><readonly/></disk>
      <disk type='file' device='disk'><source file='/var/tmp/c.raw'/><target dev='sda' bus='scsi'/></disk>
      <controller type='scsi' index='0' model='virtio-scsi'/>
      <serial type='file'><source path='/var/tmp/serial.log'/></serial>
      <input type='tablet' bus='usb'/>
      <graphics type='vnc' port='5905' autoport='no' listen='127.0.0.1'/>
      <video><model type='vga'/></video>
      <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
      </devices></domain>""",
    "q35-desktop": """<domain type='qemu'><name>desk</name>
      <uuid>6f1b9d1e-8c55-4c1e-9c57-1d2f3a4b5c6f</uuid><memory unit='GiB'>1</memory><vcpu current='1'>2</vcpu>
      <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type><bootmenu enable='yes' timeout='2000'/></os>
      <features><acpi/><apic/><pae/></features>
      <cpu><topology sockets='1' dies='1' cores='2' threads='1'/></cpu>
      <clock offset='localtime'><timer name='rtc' tickpolicy='catchup'/><timer name='hpet' present='no'/></clock>
      <pm><suspend-to-mem enabled='no'/><suspend-to-disk enabled='no'/></pm>
      <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>
      <disk type='file' device='disk'><driver name='qemu' type='qcow2' discard='unmap'/>
        <source file='/var/tmp/d.qcow2'/><target dev='sda' bus='sata'/></disk>
      <disk type='file' device='cdrom'><target dev='sdb' bus='sata'/><readonly/></disk>
      <controller type='usb' model='qemu-xhci' ports='15'/>
      <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
      <console type='pty'/>
      <input type='tablet' bus='usb'/><input type='keyboard' bus='virtio'/>
      <graphics type='vnc' autoport='yes'><listen type='address' address='0.0.0.0'/></graphics>
      <video><model type='virtio' heads='1'/></video>
      <watchdog model='i6300esb' action='reset'/>
      <memballoon model='virtio'/>
      <rng model='virtio'><rate bytes='1024' period='1000'/><backend model='random'>/dev/random</backend></rng>
      <panic model='isa'/>
      </devices></domain>""",
    "q35-chardevs-boot": """<domain type='qemu'><name>chr</name>
      <uuid>6f1b9d1e-8c55-4c1e-9c57-1d2f3a4b5c61</uuid><memory>262144</memory><vcpu>4</vcpu>
      <os><type arch='x86_64' machine='q35'>hvm</type></os>
      <features><acpi/><apic/></features>
      <cpu mode='custom' match='exact'><model fallback='allow'>qemu64</model></cpu>
      <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>
      <disk type='file' device='disk'><source file='/var/tmp/x.img'/><target dev='vda' bus='virtio'/><boot order='2'/></disk>
      <disk type='file' device='cdrom'><source file='/var/tmp/x.iso'/><target dev='sdc' bus='scsi'/><readonly/><boot order='3'/></disk>
      <controller type='scsi' model='virtio-scsi'/>
      <interface type='user'><mac address='52:54:00:00:00:09'/><model type='virtio'/><boot order='1'/></interface>
      <serial type='unix'><source mode='bind' path='/var/tmp/s0.sock'/><target port='0'/></serial>
      <serial type='file'><source path='/var/tmp/s1.log' append='on'/><target port='1'/></serial>
      <serial type='tcp'><source mode='bind' host='127.0.0.1' service='4555'/><protocol type='telnet'/><target port='2'/></serial>
      <console type='unix'><source mode='bind' path='/var/tmp/s0.sock'/><target type='serial' port='0'/></console>
      <console type='pty'><target type='virtio' port='1'/></console>
      <memballoon model='virtio'><stats period='10'/></memballoon>
      </devices></domain>""",
    "pc-backing-chain": """<domain type='qemu'><name>chain</name>
      <uuid>6f1b9d1e-8c55-4c1e-9c57-1d2f3a4b5c62</uuid><memory>65536</memory>
      <os><type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type></os>
      <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>
      <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/var/tmp/top.qcow2'/>
        <backingStore type='file'><format type='qcow2'/><source file='/var/tmp/mid.qcow2'/>
          <backingStore type='file'><format type='raw'/><source file='/var/tmp/base.raw'/><backingStore/></backingStore>
        </backingStore>
        <target dev='vda' bus='virtio'/></disk>
      <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/var/tmp/solo.qcow2'/>
        <backingStore/><target dev='vdb' bus='virtio'/></disk>
      <memballoon model='none'/></devices></domain>""",
    "pc-minimal": """<domain type='qemu'><name>min</name>
      <uuid>6f1b9d1e-8c55-4c1e-9c57-1d2f3a4b5c60</uuid><memory>65536</memory>
      <os><type arch='x86_64'>hvm</type></os></domain>""",
}


def _oracle_ok() -> None:
    if shutil.which("virsh") is None:
        pytest.skip("virsh (the libvirt oracle) is not installed")
    r = subprocess.run(["virsh", "-c", URI, "version"], capture_output=True, text=True, timeout=30, check=False)
    if r.returncode != 0:
        pytest.skip(f"libvirtd oracle not reachable: {r.stderr.strip()}")


def _libvirt_argv(xml_path: Path) -> list[str]:
    r = subprocess.run(["virsh", "-c", URI, "domxml-to-native", "qemu-argv", str(xml_path)],
                       capture_output=True, text=True, timeout=60, check=False)
    assert r.returncode == 0, r.stderr
    words = shlex.split(r.stdout)
    return words[next(i for i, w in enumerate(words) if w.startswith("/") and "qemu-system" in w):]


def _normalise(argv: list[str]) -> list[str]:
    out: list[str] = []
    for i, a in enumerate(argv):
        prev = argv[i - 1] if i else ""
        if prev == "-netdev":
            a = "<netdev>"
        elif prev == "-chardev" and a.startswith("socket,id=charmonitor,"):
            a = "socket,id=charmonitor,<monitor>,server=on,wait=off"
        elif prev == "-device" and a.startswith("{"):
            props = json.loads(a)
            if "netdev" in props:  # domxml-to-native rebuilt the NIC without ROM/boot settings
                props.pop("romfile", None)
                props.pop("bootindex", None)
            a = json.dumps(props, separators=(",", ":"))
        out.append(a)
    return out


def _cases() -> dict[str, str]:
    cases = {p.stem: p.read_text() for p in sorted(DATA.glob("*.xml"))}
    cases.update(EXTRA_CASES)
    return cases


@pytest.mark.oracle
@pytest.mark.parametrize("case", sorted(_cases()))
def test_same_argv_as_libvirt(case: str, tmp_path: Path) -> None:
    _oracle_ok()
    f = CAPS / "caps_7.2.0.x86_64.replies"
    if not f.is_file():
        pytest.skip(f"libvirt test corpus not found at {CAPS}")
    caps = QemuCaps.from_replies(f)
    xml = _cases()[case]
    (tmp_path / "d.xml").write_text(xml)
    defn = postparse(parse_domain(xml), caps)
    ddir = f"/var/lib/libvirt/qemu/domain--1-{defn.name}"
    rt = CommandRuntime(domain_dir=ddir, channel_dir=f"/var/lib/libvirt/qemu/channel/target/domain--1-{defn.name}",
                        monitor_fd=3)
    ours = _normalise(build(defn, caps, rt))
    theirs = _normalise(_libvirt_argv(tmp_path / "d.xml"))
    assert ours == theirs
