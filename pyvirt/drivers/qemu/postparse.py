"""QEMU-specific post-parse: what libvirt's QEMU driver adds to a parsed definition.

Generic defaults live in :mod:`pyvirt.conf`; this module adds what depends on QEMU and the
machine type, in libvirt 9's order: machine type default, serial <-> console mirroring,
implicit controllers, default devices (PS/2 input, memballoon, USB controller), drive and
virtio-serial addresses, aliases (``virtio-disk0``, ``net0``, ``serial0``..., user ``ua-``
aliases are kept), and PCI addresses (+ pcie-root-ports on q35). It mutates ``defn`` in
place and is idempotent: a second run finds everything already assigned.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lxml import etree

from pyvirt.conf import domain as model
from pyvirt.drivers.qemu.addresses import PciAllocator, PciSlot, disk_index, drive_address_for
from pyvirt.errors import ConfigUnsupported

if TYPE_CHECKING:
    from pyvirt.conf.domain import DomainDef
    from pyvirt.drivers.qemu.caps import QemuCaps

__all__ = ["is_q35", "postparse"]

# Devices that are conventional PCI (not PCIe endpoints); on q35 they would need a
# pcie-to-pci-bridge, which we do not lay out.
_CONVENTIONAL = {("net", "e1000"), ("net", "rtl8139"), ("controller", "piix3-uhci"),
                 ("controller", "lsilogic"), ("video", "cirrus")}


def is_q35(defn: DomainDef) -> bool:
    return str(defn.os.machine or "").startswith(("q35", "pc-q35-"))


def postparse(defn: DomainDef, caps: QemuCaps, *,
              uuid_gen: Callable[[], str] | None = None) -> DomainDef:
    """Fill QEMU defaults into ``defn`` (in place) and return it.

    ``uuid_gen`` makes generated ids (``<genid/>``) reproducible in tests; random otherwise.
    Raises ConfigUnsupported for what QEMU/pyvirt cannot do with this definition.
    """
    if str(defn.os.arch or "x86_64") not in ("x86_64", "i686"):
        raise ConfigUnsupported(f"unsupported configuration: architecture '{defn.os.arch}' is not supported")
    if defn.genid == "":
        # <genid/> asks for a fresh VM generation id; libvirt picks one when it starts QEMU.
        defn.genid = uuid_gen() if uuid_gen is not None else str(uuid.uuid4())
    if not defn.os.machine:
        defn.os.machine = caps.default_machine() or "pc"
    # Aliases (pc, q35) become the versioned machine they stand for, so a defined domain
    # keeps its machine type across QEMU upgrades (libvirt does the same).
    machine = caps.tcg.machine(defn.os.machine)
    if machine is not None and machine.alias == defn.os.machine:
        defn.os.machine = machine.name
    _order_disks(defn)
    _mirror_console(defn)
    _implicit_controllers(defn)
    _default_devices(defn)
    _disk_drivers(defn)
    _drive_addresses(defn)
    _aliases(defn)
    _virtio_serial_addresses(defn)
    _pci_addresses(defn)
    return defn


# ----------------------------------------------------------------------------- disks


def _order_disks(defn: DomainDef) -> None:
    """libvirt keeps disks grouped by bus (groups in order of first appearance), each group
    sorted by target (hda < hdb < hdc). Generic libvirt behaviour, reapplied here because
    the drive node numbering and boot order depend on it; a no-op on a sorted list."""
    out: list[Any] = []
    for disk in defn.devices.disks:
        bus = str(disk.target.bus)
        same = [i for i, d in enumerate(out) if str(d.target.bus) == bus]
        if not same:
            out.append(disk)
            continue
        key = _target_key(disk.target.dev)
        later = [i for i in same if _target_key(out[i].target.dev) > key]
        out.insert(later[0] if later else same[-1] + 1, disk)
    defn.devices.disks[:] = out


def _target_key(dev: str) -> tuple[int, str]:
    try:
        return disk_index(dev), dev
    except ConfigUnsupported:
        return 1 << 30, dev


# ----------------------------------------------------------------------------- consoles


def _mirror_console(defn: DomainDef) -> None:
    """console[0] of type serial is serial0 (libvirt keeps both in the XML, one device)."""
    devs = defn.devices
    if not devs.consoles:
        return
    con = devs.consoles[0]
    if not con.target_type:
        con.target_type = "serial"
    if str(con.target_type) == "serial":
        if not devs.serials:
            devs.serials.append(model.ChardevDef(
                kind=model.ChardevKind.SERIAL, type=con.type, source_path=con.source_path,
                source_mode=con.source_mode, source_append=con.source_append,
                target_type="isa-serial", target_port=0, log_file=con.log_file,
                log_append=con.log_append))
        if con.target_port is None:
            con.target_port = 0
    for ser in devs.serials:
        if not ser.target_type or str(ser.target_type) == "serial":
            ser.target_type = "isa-serial"
    top = max((int(s.target_port) for s in devs.serials if s.target_port is not None), default=-1)
    for ser in devs.serials:
        if ser.target_port is None:  # highest used port + 1, as the generic layer does
            top += 1
            ser.target_port = top


# ----------------------------------------------------------------------------- controllers


def _has_ctrl(defn: DomainDef, ctype: str, index: int) -> Any:
    return next((c for c in defn.devices.controllers
                 if str(c.type) == ctype and int(c.index) == index), None)


def _add_ctrl(defn: DomainDef, ctype: str, index: int, ctrl_model: str | None = None) -> Any:
    """Insert like libvirt: before the first same-type controller with a higher index,
    otherwise at the end."""
    ctrl = model.ControllerDef(type=ctype, index=index, model=ctrl_model)
    ctrls = defn.devices.controllers
    pos = next((i for i, c in enumerate(ctrls) if str(c.type) == ctype and int(c.index) > index), len(ctrls))
    ctrls.insert(pos, ctrl)
    return ctrl


def _implicit_controllers(defn: DomainDef) -> None:
    q35 = is_q35(defn)
    devs = defn.devices
    if _has_ctrl(defn, "usb", 0) is None:
        _add_ctrl(defn, "usb", 0, "qemu-xhci" if q35 else "piix3-uhci")
    for c in devs.controllers:
        if str(c.type) == "usb" and not c.model:
            c.model = "qemu-xhci" if q35 else "piix3-uhci"
        if str(c.type) == "scsi" and not c.model:
            c.model = "lsilogic"
    if q35 and _has_ctrl(defn, "sata", 0) is None:
        _add_ctrl(defn, "sata", 0)
    if _has_ctrl(defn, "pci", 0) is None:
        _add_ctrl(defn, "pci", 0, "pcie-root" if q35 else "pci-root")
    if q35 and (any(str(d.target.bus) == "ide" for d in devs.disks)
                or any(str(c.type) == "ide" for c in devs.controllers)):
        # q35's ICH9 has AHCI only; libvirt refuses with these words.
        raise ConfigUnsupported(
            "unsupported configuration: IDE controllers are unsupported for this QEMU binary or machine type")
    for disk in devs.disks:
        bus = str(disk.target.bus)
        if bus in ("ide", "sata", "scsi"):
            if disk.address is not None:
                ctrl = int(disk.address.controller or 0)
            else:
                ctrl = drive_address_for(disk.target.dev, bus)[0]
            if _has_ctrl(defn, bus, ctrl) is None:
                _add_ctrl(defn, bus, ctrl, "lsilogic" if bus == "scsi" else None)
    needs_vserial = any(str(c.target_type) == "virtio" for c in devs.channels) or any(
        str(c.target_type) == "virtio" for c in devs.consoles)
    if needs_vserial and _has_ctrl(defn, "virtio-serial", 0) is None:
        _add_ctrl(defn, "virtio-serial", 0)


# ----------------------------------------------------------------------------- devices


# Video model defaults libvirt fills in (KiB / heads), per model.
_VIDEO_DEFAULTS: dict[str, dict[str, int]] = {
    "cirrus": {"vram": 16384, "heads": 1},
    "vga": {"vram": 16384, "heads": 1},
    "bochs": {"vram": 16384, "heads": 1},
    "vmvga": {"vram": 16384, "heads": 1},
    "qxl": {"ram": 65536, "vram": 65536, "vgamem": 16384, "heads": 1},
    "virtio": {"heads": 1},
}


def _cpu_defaults(defn: DomainDef, cpu: model.CPUDef) -> None:
    """libvirt 9's QEMU CPU defaults (checked on the oracle): a topology-only <cpu> is the
    default model; check='partial' only where the result can be compared with the host
    (a named model under KVM, host-model), 'none' otherwise."""
    named = cpu.model is not None
    if cpu.mode is None and (named or cpu.topology is not None or cpu.features):
        cpu.mode = "custom"
    if cpu.mode == "custom":
        cpu.match = cpu.match or "exact"
        if not named and str(defn.type) in ("qemu", "kvm"):
            cpu.model, cpu.model_fallback = "qemu64", cpu.model_fallback or "forbid"
    if cpu.check is None and cpu.mode is not None:
        partial = cpu.mode == "host-model" or (cpu.mode == "custom" and named and str(defn.type) == "kvm")
        cpu.check = "partial" if partial else "none"
    if cpu.mode == "host-passthrough" and cpu.migratable is None:
        cpu.migratable = "on"


def _default_devices(defn: DomainDef) -> None:
    devs = defn.devices
    if defn.cpu is None and str(defn.type) in ("qemu", "kvm"):
        # Guests without <cpu> get the machine's default model, written out explicitly.
        defn.cpu = model.CPUDef(mode="custom", match="exact", check="none", model="qemu64",
                                model_fallback="forbid")
    elif defn.cpu is not None:
        _cpu_defaults(defn, defn.cpu)
    for ser in devs.serials:
        if str(ser.target_type) == "isa-serial" and ser.target_model is None:
            ser.target_model = "isa-serial"
    if not any(o.tag == "audio" for o in devs.others):
        # One explicit backend so QEMU never probes the host's sound servers.
        spice = any(str(g.type) == "spice" for g in devs.graphics)
        el = etree.Element("audio", id="1", type="spice" if spice else "none")
        devs.others.append(model.RawDeviceDef(tag="audio", element=el))
    if devs.memballoon is None:
        devs.memballoon = model.MemballoonDef(model="virtio")
    kinds = {(str(i.type), str(i.bus)) for i in devs.inputs}
    # x86 machines always have an i8042: libvirt lists its mouse and keyboard.
    if ("mouse", "ps2") not in kinds:
        devs.inputs.append(model.InputDef(type="mouse", bus="ps2"))
    if ("keyboard", "ps2") not in kinds:
        devs.inputs.append(model.InputDef(type="keyboard", bus="ps2"))
    for inp in devs.inputs:
        if not inp.bus and str(inp.type) in ("mouse", "keyboard", "tablet"):
            inp.bus = "ps2"
    if devs.graphics and not devs.videos:
        devs.videos.append(model.VideoDef(model="cirrus" if not is_q35(defn) else "vga"))
    for i, v in enumerate(devs.videos):
        for attr, val in _VIDEO_DEFAULTS.get(str(v.model), {}).items():
            if getattr(v, attr) is None:
                setattr(v, attr, val)
        if i == 0 and v.primary is None and len(devs.videos) > 1:
            v.primary = True


def _disk_drivers(defn: DomainDef) -> None:
    """QEMU is the only driver name, and a format nobody gave is raw (libvirt never probes)."""
    for disk in defn.devices.disks:
        if disk.driver is None:
            disk.driver = model.DiskDriverDef(name="qemu", type="raw")
            continue
        if disk.driver.name is None:
            disk.driver.name = "qemu"
        if disk.driver.type is None:
            disk.driver.type = "raw"


def _drive_addresses(defn: DomainDef) -> None:
    for disk in defn.devices.disks:
        bus = str(disk.target.bus)
        if disk.address is None and bus in ("ide", "sata", "scsi", "fdc"):
            c, b, t, u = drive_address_for(disk.target.dev, bus)
            disk.address = model.AddressDef(type="drive", controller=c, bus=b, target=t, unit=u)


# ----------------------------------------------------------------------------- aliases


def _scsi_model(defn: DomainDef, index: int) -> str | None:
    c = _has_ctrl(defn, "scsi", index)
    return str(c.model) if c is not None and c.model else None


def _user(alias: Any) -> bool:
    return isinstance(alias, str) and alias.startswith("ua-")


def _set(dev: Any, alias: str) -> None:
    if not _user(dev.alias):
        dev.alias = alias


def _aliases(defn: DomainDef) -> None:
    devs = defn.devices
    q35 = is_q35(defn)
    for c in devs.controllers:
        ctype, idx = str(c.type), int(c.index)
        if ctype == "pci":
            name = ("pcie.0" if q35 else "pci.0") if idx == 0 else f"pci.{idx}"
        elif ctype == "usb":
            name = "usb" if idx == 0 else f"usb{idx}"
        elif ctype == "ide":
            name = "ide" if idx == 0 else f"ide{idx}"
        elif ctype == "sata" and q35 and idx == 0:
            name = "ide"  # the ICH9 AHCI built into q35 is QEMU's "ide" bus
        else:
            name = f"{ctype}{idx}"
        _set(c, name)
    for disk in devs.disks:
        bus = str(disk.target.bus)
        a = disk.address
        if bus == "virtio":
            _set(disk, f"virtio-disk{disk_index(disk.target.dev)}")
        elif bus == "scsi" and a is not None and _scsi_model(defn, int(a.controller or 0)) == "virtio-scsi":
            _set(disk, f"scsi{a.controller}-{a.bus}-{a.target}-{a.unit}")
        elif bus in ("ide", "sata", "scsi", "fdc") and a is not None:
            _set(disk, f"{bus}{a.controller}-{a.bus}-{a.unit}")
        elif bus == "usb":
            _set(disk, f"usb-disk{disk_index(disk.target.dev)}")
        else:
            _set(disk, f"{bus}-disk{disk_index(disk.target.dev)}")
    for i, net in enumerate(devs.interfaces):
        _set(net, f"net{i}")
    for i, ser in enumerate(devs.serials):
        _set(ser, f"serial{i}")
    for i, con in enumerate(devs.consoles):
        if i == 0 and str(con.target_type) == "serial" and devs.serials:
            _set(con, str(devs.serials[0].alias))
        else:
            _set(con, f"console{i}")
    for i, par in enumerate(devs.parallels):
        _set(par, f"parallel{i}")
    for i, ch in enumerate(devs.channels):
        _set(ch, f"channel{i}")
    for i, inp in enumerate(devs.inputs):
        _set(inp, f"input{i}")
    for i, v in enumerate(devs.videos):
        _set(v, f"video{i}")
    if devs.memballoon is not None and str(devs.memballoon.model) != "none":
        _set(devs.memballoon, "balloon0")  # model='none' is no device: libvirt shows no alias
    for i, rng in enumerate(devs.rngs):
        _set(rng, f"rng{i}")
    for i, wd in enumerate(o for o in devs.others if o.tag == "watchdog"):
        _set(wd, f"watchdog{i}")
    for i, hd in enumerate(o for o in devs.others if o.tag == "hostdev"):
        _set(hd, f"hostdev{i}")
    for i, fs in enumerate(o for o in devs.others if o.tag == "filesystem"):
        _set(fs, f"fs{i}")


def _virtio_serial_addresses(defn: DomainDef) -> None:
    used = {int(c.address.port) for c in defn.devices.channels
            if c.address is not None and c.address.port is not None}
    nxt = 1
    for ch in defn.devices.channels:
        if str(ch.target_type) != "virtio" or ch.address is not None:
            continue
        while nxt in used:
            nxt += 1
        ch.address = model.AddressDef(type="virtio-serial", controller=0, bus=0, port=nxt)
        used.add(nxt)


# ----------------------------------------------------------------------------- PCI


def _pci_devices(defn: DomainDef) -> list[tuple[Any, bool]]:
    """(device, is_pcie) needing a PCI address, in libvirt's assignment order."""
    devs = defn.devices
    out: list[tuple[Any, bool]] = []
    for o in devs.others:
        if o.tag == "filesystem":
            out.append((o, True))
    for net in devs.interfaces:
        out.append((net, ("net", str(net.model or "rtl8139")) not in _CONVENTIONAL))
    for c in devs.controllers:
        ctype, cmodel = str(c.type), str(c.model or "")
        if ctype in ("usb", "scsi", "virtio-serial") and cmodel not in ("none", "ibmvscsi"):
            out.append((c, ("controller", cmodel) not in _CONVENTIONAL))
        elif ctype == "sata" and (int(c.index) > 0 or not is_q35(defn)):
            out.append((c, True))
    for o in devs.others:
        if o.tag == "hostdev" and o.element is not None and o.element.get("type") == "pci":
            out.append((o, True))
    for disk in devs.disks:
        if str(disk.target.bus) == "virtio":
            out.append((disk, True))
    if devs.memballoon is not None and str(devs.memballoon.model) == "virtio":
        out.append((devs.memballoon, True))
    for rng in devs.rngs:
        out.append((rng, True))
    for o in devs.others:
        if o.tag == "watchdog" and o.element is not None and o.element.get("model") == "i6300esb":
            out.append((o, False))
    for v in devs.videos[1:]:
        out.append((v, True))
    for inp in devs.inputs:
        if str(inp.bus) == "virtio":
            out.append((inp, True))
    return out


def _pci(slot: PciSlot, multifunction: bool | None = None) -> Any:
    return model.AddressDef(type="pci", domain=0, bus=slot.bus, slot=slot.slot,
                            function=slot.function, multifunction=multifunction)


def _pci_addresses(defn: DomainDef) -> None:
    q35 = is_q35(defn)
    devs = defn.devices
    used: set[tuple[int, int, int]] = set()
    everything: list[Any] = [*devs.controllers, *devs.disks, *devs.interfaces, *devs.inputs,
                             *devs.videos, *devs.rngs, *devs.others]
    if devs.memballoon is not None:
        everything.append(devs.memballoon)
    for d in everything:
        a = d.address
        if a is not None and str(a.type) == "pci":
            used.add((int(a.bus), int(a.slot), int(a.function or 0)))
    alloc = PciAllocator(q35, used)
    for c in devs.controllers:
        if str(c.model) == "pcie-root-port" and c.address is not None and c.address.bus == 0:
            alloc.mark_root_port(int(c.address.slot or 0))
    # Fixed chipset functions first.
    for c in devs.controllers:
        if c.address is not None:
            continue
        ctype, idx, cmodel = str(c.type), int(c.index), str(c.model or "")
        if not q35 and ctype == "usb" and idx == 0 and cmodel == "piix3-uhci":
            c.address = _pci(alloc.reserve(0, 1, 2))
        elif not q35 and ctype == "ide" and idx == 0:
            c.address = _pci(alloc.reserve(0, 1, 1))  # the PIIX3's IDE function
        elif q35 and ctype == "sata" and idx == 0:
            c.address = _pci(alloc.reserve(0, 0x1F, 2))
    if devs.videos and devs.videos[0].address is None and str(devs.videos[0].model) != "none":
        devs.videos[0].address = _pci(alloc.reserve(0, 1 if q35 else 2))
    # PCI controllers written without an address come before every endpoint.
    dmi: int | None = None
    for c in sorted(devs.controllers, key=lambda c: int(c.index)):
        if str(c.type) == "pci" and str(c.model) == "dmi-to-pci-bridge":
            dmi = int(c.index)
            if c.address is None and q35:  # the ICH9's own DMI-to-PCI bridge function
                c.address = _pci(alloc.reserve(0, 0x1E, 0))
        elif str(c.type) == "pci" and c.address is None and str(c.model) == "pci-bridge" and dmi is not None:
            c.address = _pci(alloc.reserve(dmi, next(s for s in range(32) if (dmi, s, 0) not in alloc.used)))
        elif str(c.type) == "pci" and c.address is None and str(c.model) == "pcie-root-port":
            c.address = _pci(alloc.root_port_spot())
        elif str(c.type) == "pci" and c.address is None and str(c.model) not in ("pci-root", "pcie-root"):
            c.address = _pci(alloc.root_slot())
    pending = [(d, pcie) for d, pcie in _pci_devices(defn) if d.address is None]
    if not q35:
        for dev, _ in pending:
            dev.address = _pci(alloc.root_slot())
    elif pending:
        _Q35Layout(defn, alloc).place(pending)
    _root_port_targets(defn)


# The QEMU device each PCI controller model is built with (<model name=.../>).
_PCI_MODEL_NAMES = {"pcie-root-port": "pcie-root-port", "pci-bridge": "pci-bridge",
                    "dmi-to-pci-bridge": "i82801b11-bridge", "pcie-to-pci-bridge": "pcie-pci-bridge"}


def _root_port_targets(defn: DomainDef) -> None:
    """chassis = index, port = devfn of the port; function 0 of a slot whose other
    functions are used is marked multifunction, as libvirt does."""
    for c in defn.devices.controllers:
        if str(c.type) != "pci":
            continue
        name = _PCI_MODEL_NAMES.get(str(c.model))
        if name is not None and c.model_name is None:
            c.model_name = name
        if str(c.model) == "pci-bridge" and c.target_chassis_nr is None:
            c.target_chassis_nr = int(c.index)
    ports = [c for c in defn.devices.controllers if str(c.model) == "pcie-root-port"]
    used = {(c.address.bus, c.address.slot, c.address.function)
            for c in defn.devices.all() if c.address is not None and str(c.address.type) == "pci"}
    for c in ports:
        a = c.address
        if a is None:
            continue
        if c.target_chassis is None:
            c.target_chassis = int(c.index)
        if c.target_port is None:
            c.target_port = (int(a.slot or 0) << 3) + int(a.function or 0)
        if c.model_name is None:
            c.model_name = "pcie-root-port"
        if a.function == 0 and a.multifunction is None and any(
                (a.bus, a.slot, f) in used for f in range(1, 8)):
            a.multifunction = True


class _Q35Layout:
    """PCIe placement on q35 in libvirt's two passes.

    Counting pass, devices in assignment order: an endpoint needs a root port (a free
    existing one, else a new index); a conventional PCI device needs a pcie-to-pci-bridge
    slot (the first such device adds a root port and then the bridge). If no root port is
    left free, one more is added for hotplug. Placement pass: the new controllers get their
    spots first, in index order (ports packed on pcie.0, the bridge behind the first free
    port), then each device takes the first free port / next bridge slot.
    """

    def __init__(self, defn: DomainDef, alloc: PciAllocator) -> None:
        self.defn = defn
        self.alloc = alloc
        devs = defn.devices
        self.taken = {int(d.address.bus) for d in devs.all()
                      if d.address is not None and str(d.address.type) == "pci" and d.address.bus}
        self.next_index = 1 + max((int(c.index) for c in devs.controllers if str(c.type) == "pci"), default=0)

    def _free_ports(self) -> list[int]:
        return sorted(int(c.index) for c in self.defn.devices.controllers
                      if str(c.model) == "pcie-root-port" and int(c.index) not in self.taken)

    def place(self, pending: list[tuple[Any, bool]]) -> None:
        # Counting pass: which controllers to add, by index.
        free = len(self._free_ports())
        new: list[tuple[int, str]] = []
        bridge_slots = 0
        for _, pcie in pending:
            if pcie:
                if free:
                    free -= 1
                else:
                    new.append((self.next_index, "pcie-root-port"))
                    self.next_index += 1
            else:
                if bridge_slots == 0:
                    new += [(self.next_index, "pcie-root-port"), (self.next_index + 1, "pcie-to-pci-bridge")]
                    self.next_index += 2  # a port for the bridge to sit behind, then the bridge
                    bridge_slots = 31
                bridge_slots -= 1
        bridges = [i for i, m in new if m == "pcie-to-pci-bridge"]
        if new and free == 0:
            new.append((self.next_index, "pcie-root-port"))
        # Placement pass: new controllers first, then the devices.
        for idx, model_ in new:
            ctrl = _add_ctrl(self.defn, "pci", idx, model_)
            ctrl.alias = f"pci.{idx}"
            if model_ == "pcie-root-port":
                ctrl.address = _pci(self.alloc.root_port_spot())
        bridge_slot = 0
        for idx in bridges:
            ctrl = next(c for c in self.defn.devices.controllers if str(c.type) == "pci" and c.index == idx)
            ctrl.model_name = "pcie-pci-bridge"
            ctrl.address = _pci(PciSlot(self._take_port(), 0, 0))
        for dev, pcie in pending:
            if pcie:
                dev.address = _pci(PciSlot(self._take_port(), 0, 0))
            else:
                bridge_slot += 1
                dev.address = _pci(PciSlot(bridges[(bridge_slot - 1) // 31], (bridge_slot - 1) % 31 + 1, 0))

    def _take_port(self) -> int:
        ports = self._free_ports()
        if not ports:
            raise ConfigUnsupported("unsupported configuration: no free pcie-root-port left")
        self.taken.add(ports[0])
        return ports[0]


def _new_root_port(defn: DomainDef, alloc: PciAllocator, index: int) -> None:
    port = _add_ctrl(defn, "pci", index, "pcie-root-port")
    port.alias = f"pci.{index}"
    port.address = _pci(alloc.root_port_spot())
