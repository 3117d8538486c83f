"""QEMU post-parse: implicit controllers, default devices, aliases and addresses."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyvirt.conf.domain import DomainDef, parse_domain
from pyvirt.drivers.qemu.addresses import disk_index, drive_address_for
from pyvirt.drivers.qemu.caps import QemuCaps
from pyvirt.drivers.qemu.postparse import postparse

CAPS = Path(__file__).resolve().parents[3] / ".." / "shared" / "libvirt-testdata" / "tests" / "qemucapabilitiesdata"


@pytest.fixture(scope="module")
def caps() -> QemuCaps:
    f = CAPS / "caps_7.2.0.x86_64.replies"
    if not f.is_file():
        pytest.skip(f"libvirt test corpus not found at {CAPS}")
    return QemuCaps.from_replies(f)


def pp(devices: str, caps: QemuCaps, machine: str = "pc") -> DomainDef:
    return postparse(parse_domain(f"""<domain type='qemu'><name>t</name>
      <memory>65536</memory><os><type arch='x86_64' machine='{machine}'>hvm</type></os>
      <devices>{devices}</devices></domain>"""), caps)


VIRTIO_DISK = "<disk type='file'><driver name='qemu' type='qcow2'/><source file='/a'/><target dev='vdb' bus='virtio'/></disk>"
NIC = "<interface type='user'><model type='virtio'/></interface>"
AGENT = "<channel type='unix'><source mode='bind' path='/s'/><target type='virtio' name='org.qemu.guest_agent.0'/></channel>"


def ctrls(d: DomainDef) -> list[tuple[str, int, str | None]]:
    return [(str(c.type), c.index, str(c.model) if c.model else None) for c in d.devices.controllers]


def test_pc_implicit_controllers_and_defaults(caps: QemuCaps) -> None:
    d = pp("", caps)
    assert ctrls(d) == [("usb", 0, "piix3-uhci"), ("pci", 0, "pci-root")]
    usb = d.devices.controllers[0]
    assert usb.address is not None and (usb.address.slot, usb.address.function) == (1, 2)
    assert d.devices.memballoon is not None and str(d.devices.memballoon.model) == "virtio"
    assert [(str(i.type), str(i.bus)) for i in d.devices.inputs] == [("mouse", "ps2"), ("keyboard", "ps2")]
    mb = d.devices.memballoon.address
    assert mb is not None and (mb.bus, mb.slot) == (0, 2)


def test_pc_pci_slots_in_libvirt_order(caps: QemuCaps) -> None:
    d = pp(VIRTIO_DISK + NIC + AGENT, caps)
    # net first, then controllers (virtio-serial), then disks, then the balloon
    slots = {
        "net0": d.devices.interfaces[0].address,
        "virtio-serial0": next(c for c in d.devices.controllers if str(c.type) == "virtio-serial").address,
        "virtio-disk1": d.devices.disks[0].address,
        "balloon0": d.devices.memballoon.address if d.devices.memballoon else None,
    }
    assert {k: (v.bus, v.slot) for k, v in slots.items() if v is not None} == {
        "net0": (0, 2), "virtio-serial0": (0, 3), "virtio-disk1": (0, 4), "balloon0": (0, 5)}
    assert d.devices.disks[0].alias == "virtio-disk1"
    ch = d.devices.channels[0]
    assert ch.alias == "channel0" and ch.address is not None and ch.address.port == 1


def test_q35_root_ports_one_per_endpoint_plus_spare(caps: QemuCaps) -> None:
    d = pp(VIRTIO_DISK + NIC, caps, machine="q35")
    ports = [c for c in d.devices.controllers if str(c.model) == "pcie-root-port"]
    # endpoints: net, usb (qemu-xhci), disk, balloon -> 4 + 1 spare
    assert [p.index for p in ports] == [1, 2, 3, 4, 5]
    first = ports[0].address
    assert first is not None and (first.slot, first.function, first.multifunction) == (1, 0, True)
    assert [(p.address.slot, p.address.function) for p in ports if p.address] == [(1, f) for f in range(5)]
    assert [p.target_port for p in ports] == [8, 9, 10, 11, 12]
    assert d.devices.interfaces[0].address is not None and d.devices.interfaces[0].address.bus == 1
    assert ("sata", 0, None) in ctrls(d) and ("pci", 0, "pcie-root") in ctrls(d)


def test_ide_controller_only_with_ide_disks(caps: QemuCaps) -> None:
    d = pp("<disk type='file'><source file='/a'/><target dev='hdc' bus='ide'/></disk>", caps)
    ide = [c for c in d.devices.controllers if str(c.type) == "ide"]
    assert len(ide) == 1 and ide[0].address is not None
    assert (ide[0].address.slot, ide[0].address.function) == (1, 1)
    disk = d.devices.disks[0]
    assert disk.alias == "ide0-1-0"


def test_q35_conventional_pci_behind_a_pcie_to_pci_bridge(caps: QemuCaps) -> None:
    """Same layout as libvirt 9 (virsh domxml-to-native): the first conventional NIC brings
    a root port + pcie-pci-bridge, later ones share the bridge, endpoints get root ports."""
    nics = "".join(f"<interface type='user'><model type='{m}'/></interface>" for m in ("e1000", "virtio", "rtl8139"))
    d = pp(nics + "<memballoon model='none'/>", caps, machine="q35")
    pci = [(c.index, str(c.model)) for c in d.devices.controllers if str(c.type) == "pci"]
    assert pci == [(0, "pcie-root"), (1, "pcie-root-port"), (2, "pcie-to-pci-bridge"),
                   (3, "pcie-root-port"), (4, "pcie-root-port"), (5, "pcie-root-port")]
    where = [(n.address.bus, n.address.slot) for n in d.devices.interfaces if n.address]
    assert where == [(2, 1), (3, 0), (2, 2)]


def test_idempotent(caps: QemuCaps) -> None:
    d = pp(VIRTIO_DISK + NIC + AGENT, caps, machine="q35")
    before = ctrls(d)
    postparse(d, caps)
    assert ctrls(d) == before


def test_user_alias_kept(caps: QemuCaps) -> None:
    d = pp(NIC.replace("</interface>", "<alias name='ua-mynic'/></interface>"), caps)
    assert d.devices.interfaces[0].alias == "ua-mynic"


def test_console_mirrors_serial(caps: QemuCaps) -> None:
    d = pp("<console type='pty'/>", caps)
    assert len(d.devices.serials) == 1 and d.devices.serials[0].alias == "serial0"
    assert d.devices.consoles[0].alias == "serial0"


def test_drive_addresses() -> None:
    assert disk_index("vda") == 0 and disk_index("hdc") == 2 and disk_index("sdaa") == 26
    assert drive_address_for("hdc", "ide") == (0, 1, 0, 0)
    assert drive_address_for("hdd", "ide") == (0, 1, 0, 1)
    assert drive_address_for("sdg", "sata") == (1, 0, 0, 0)
