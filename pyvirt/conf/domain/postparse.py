"""libvirt's generic (driver-independent) post-parse defaults and validation."""

from __future__ import annotations

import re
import uuid as _uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from pyvirt.conf.domain.address import AddressDef
from pyvirt.conf.domain.chardev import ChardevDef, ChardevKind
from pyvirt.conf.domain.devices import VideoDef
from pyvirt.conf.domain.disk import DiskBus, DiskDef, DiskDevice, DiskType
from pyvirt.conf.domain.general import BootDev
from pyvirt.conf.domain.resctrl import resolve as resolve_resctrl
from pyvirt.errors import (
    ConfigUnsupported,
    ErrorCode,
    ErrorDomain,
    InternalError,
    VirtError,
    XMLError,
)

if TYPE_CHECKING:
    from pyvirt.conf.domain import DomainDef

_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
                      r"[0-9a-fA-F]{12}$")

# Which bus a disk gets from its target name when none is given (virDomainDiskDefParse).
_BUS_BY_PREFIX = (("hd", DiskBus.IDE), ("sd", DiskBus.SCSI), ("vd", DiskBus.VIRTIO),
                  ("xvd", DiskBus.XEN), ("ubd", DiskBus.UML), ("fd", DiskBus.FDC))


def postparse(d: DomainDef, *, mac_gen: Callable[[], str] | None = None,
              reread: bool = False) -> None:
    _identity(d)
    _memory(d)
    _os(d)
    _disks(d)
    _controllers(d)
    _chardevs(d, reread)
    _misc_devices(d, mac_gen or random_mac)
    _unique_ids(d)
    _cputune(d)
    from pyvirt.conf.domain.validate import validate

    validate(d)


def _identity(d: DomainDef) -> None:
    if "/" in d.name:
        raise XMLError(f"XML error: name {d.name} cannot contain '/'")
    if d.uuid:
        if not _UUID_RE.match(d.uuid.strip()):
            raise InternalError("internal error: malformed uuid element", domain=ErrorDomain.DOMAIN)
        d.uuid = str(_uuid.UUID(d.uuid.strip()))
    else:
        d.uuid = str(_uuid.uuid4())
    if d.genid is not None:
        # <genid/> asks for a generated one
        d.genid = str(_uuid.UUID(d.genid)) if d.genid else str(_uuid.uuid4())


def _memory(d: DomainDef) -> None:
    if d.current_memory_kib == 0 or d.current_memory_kib > d.memory_kib:
        d.current_memory_kib = d.memory_kib


def _os(d: DomainDef) -> None:
    os_ = d.os
    if os_.arch is None:
        # libvirt takes the default arch from the driver capabilities; every driver we have
        # runs x86_64 guests on an x86_64 host.
        os_.arch = "x86_64"
    if os_.type == "hvm" and not os_.boot_devices:
        if not any(dev.boot_order is not None for dev in d.devices.all()):
            os_.boot_devices = [BootDev.HD]
    elif os_.boot_devices and any(dev.boot_order is not None for dev in d.devices.all()):
        raise ConfigUnsupported("unsupported configuration: per-device boot elements cannot be "
                                "used together with os/boot elements")


def _insert_disk(disks: list[DiskDef], disk: DiskDef) -> None:
    """libvirt's disk insertion: disks stay grouped by bus, ordered by target index within a
    group; a disk on a new bus goes last."""
    at = -1
    new = _index_or_none(disk.target.dev)
    for i in range(len(disks) - 1, -1, -1):
        if disks[i].target.bus != disk.target.bus:
            continue
        old = _index_or_none(disks[i].target.dev)
        if old is not None and new is not None and old > new:
            at = i
        elif at == -1:
            at = i + 1
    disks.insert(len(disks) if at == -1 else at, disk)


def _index_or_none(dev: str) -> int | None:
    try:
        return disk_index(dev)
    except XMLError:
        return None


def _disks(d: DomainDef) -> None:
    for disk in d.devices.disks:
        t = disk.target
        if t.bus is None:
            t.bus = next((b for p, b in _BUS_BY_PREFIX if t.dev.startswith(p)), DiskBus.IDE)
            if disk.device == DiskDevice.FLOPPY:
                t.bus = DiskBus.FDC
    ordered: list[DiskDef] = []
    for disk in d.devices.disks:
        _insert_disk(ordered, disk)
    d.devices.disks[:] = ordered
    seen: dict[str, DiskDef] = {}
    for disk in d.devices.disks:
        t = disk.target
        prev = seen.get(t.dev)
        if prev is not None:
            a = prev.source.path if prev.source is not None else None
            b = disk.source.path if disk.source is not None else None
            raise XMLError(f"XML error: target '{t.dev}' duplicated for disk sources "
                           f"'{a or ''}' and '{b or ''}'")
        seen[t.dev] = disk
        if disk.type == DiskType.NETWORK and (disk.source is None or disk.source.protocol is None):
            # an empty removable drive has no network source to speak of: libvirt shows it as
            # an empty file drive
            disk.type = DiskType.FILE
        if disk.device == DiskDevice.CDROM:
            disk.readonly = True  # libvirt marks every CD-ROM read-only
        if disk.address is None and t.bus in (DiskBus.IDE, DiskBus.FDC, DiskBus.SCSI, DiskBus.SATA):
            disk.address = _drive_address(t.dev, t.bus)


def disk_index(dev: str) -> int:
    """'sda' -> 0, 'vdz' -> 25, 'hdaa' -> 26 (virDiskNameToIndex)."""
    m = re.match(r"^(?:fd|hd|vd|sd|xvd|ubd)([a-z]+)\d*$", dev)
    if m is None:
        raise XMLError(f"XML error: Unknown disk name '{dev}' and no address specified")
    idx = 0
    for ch in m.group(1):
        idx = idx * 26 + (ord(ch) - ord("a") + 1)
    return idx - 1


def _drive_address(dev: str, bus: DiskBus) -> AddressDef:
    idx = disk_index(dev)
    if bus == DiskBus.IDE:
        return AddressDef.drive(idx // 4, (idx % 4) // 2, 0, idx % 2)
    if bus == DiskBus.FDC:
        return AddressDef.drive(idx // 2, 0, 0, idx % 2)
    if bus == DiskBus.SATA:
        return AddressDef.drive(idx // 6, 0, 0, idx % 6)
    # scsi: 7 units per bus (unit 7 is the controller) as libvirt does for the default model
    return AddressDef.drive(idx // 7, 0, 0, idx % 7)


def _controllers(d: DomainDef) -> None:
    used: dict[str, set[int]] = {}
    for c in d.devices.controllers:
        if c.index >= 0:
            idx = used.setdefault(c.type, set())
            # USB companion controllers legitimately share their master's index
            if c.index in idx and c.type != "usb":
                raise XMLError(f"XML error: Multiple '{c.type}' controllers with index "
                               f"'{c.index}'")
            idx.add(c.index)
    for c in d.devices.controllers:
        if c.index < 0:
            idx = used.setdefault(c.type, set())
            n = 0
            while n in idx:
                n += 1
            c.index = n
            idx.add(n)


def _chardevs(d: DomainDef, reread: bool = False) -> None:
    devs = d.devices
    # a serial/parallel without a port gets the highest port of its group + 1 (libvirt 9.0,
    # checked with libvirtd and test:///default: ports 2, -, 0, - become 2, 3, 0, 4)
    for group in (devs.serials, devs.parallels):
        top = max((c.target_port for c in group if c.target_port is not None), default=-1)
        for ch in group:
            if ch.target_port is None:
                top += 1
                ch.target_port = top
    for ch in devs.channels:
        if ch.target_type is None:
            raise XMLError("XML error: unknown target type '' specified for character device")
    # Only console 0 may be the serial console; a console without a target type is one too.
    # libvirt 9.0 checks this in its post-parse, before any validation error, for every OS
    # type (libvirtd and test:///default: virtio + typeless, typeless + serial, xen + typeless)
    for con in devs.consoles[1:]:
        if con.target_type in (None, "serial"):
            raise ConfigUnsupported("unsupported configuration: Only the first console can be a serial port")
    # consoles are numbered by their position in the XML, whatever port they name - at
    # libvirtd's parse of client XML. The serial console it may insert below does not move
    # the others, so re-reading our stored XML keeps their ports (else the virtio consoles
    # of a guest with a serial would show 1, 2 here where libvirtd shows 0, 1).
    for i, con in enumerate(devs.consoles):
        if not (reread and con.target_port is not None):
            con.target_port = i
    # virDomainDefAddConsoleCompat: console 0 of an HVM guest mirrors serial 0.
    if d.os.type != "hvm":
        return
    if devs.consoles and devs.consoles[0].target_type in (None, "serial"):
        con = devs.consoles[0]
        con.target_type = "serial"
        if con.target_port is None:
            con.target_port = 0
        if not devs.serials:
            devs.serials.append(_copy_chardev(con, ChardevKind.SERIAL, None))
        else:
            # the console is serial 0 seen from the other side: same backend and port
            _share_source(devs.serials[0], con)
            con.target_port = devs.serials[0].target_port
    elif devs.serials and devs.serials[0].target_type in _CONSOLE_SERIALS:
        mirror = _copy_chardev(devs.serials[0], ChardevKind.CONSOLE, "serial")
        mirror.target_port = devs.serials[0].target_port  # serial 0's port, as libvirt shows it
        if not devs.consoles:
            devs.consoles.append(mirror)
        elif devs.consoles[0].target_type not in (None, "serial"):
            devs.consoles.insert(0, mirror)


# serial target types a serial console can mirror (libvirt's console compat)
_CONSOLE_SERIALS = (None, "isa-serial", "system-serial", "spapr-vio-serial", "sclp-serial")


_SOURCE_FIELDS = ("type", "source_path", "source_mode", "source_append", "source_host",
                  "source_service", "source_tls", "source_channel", "bind_host", "bind_service",
                  "reconnect_enabled", "reconnect_timeout", "protocol_type", "log_file",
                  "log_append")


def _share_source(src: ChardevDef, dst: ChardevDef) -> None:
    for name in _SOURCE_FIELDS:
        setattr(dst, name, getattr(src, name))
    dst.source_extra = list(src.source_extra)


def _copy_chardev(src: ChardevDef, kind: ChardevKind, target_type: str | None) -> ChardevDef:
    from dataclasses import replace

    ch = replace(src, kind=kind, extra=list(src.extra), source_extra=list(src.source_extra))
    ch.target_model = None
    if kind == ChardevKind.CONSOLE:
        ch.target_type = target_type
        ch.target_port = 0
        ch.address = None
    else:
        ch.target_type = None
        ch.target_port = 0
    return ch


def add_implicit_controllers(d: DomainDef) -> None:
    """The controllers libvirt's generic layer adds when devices need them (disk buses,
    virtio-serial for virtio channels/consoles, ccid for smartcards), appended after the
    existing ones. Not part of :func:`postparse`: a hypervisor driver adds its own defaults
    first (the QEMU driver adds USB and PCI roots with models), then calls this."""
    from pyvirt.conf.domain.devices import ControllerDef

    ctrls = d.devices.controllers

    def ensure(ctype: str, index: int) -> None:
        if not any(c.type == ctype and c.index == index for c in ctrls):
            ctrls.append(ControllerDef(type=ctype, index=index))

    for bus in (DiskBus.SCSI, DiskBus.FDC, DiskBus.IDE, DiskBus.SATA):
        ctype = "fdc" if bus == DiskBus.FDC else str(bus)
        wanted = sorted({disk.address.controller or 0 if disk.address is not None else 0
                         for disk in d.devices.disks if disk.target.bus == bus})
        for idx in wanted:
            # libvirt adds every index up to the highest one used
            for n in range(idx + 1):
                ensure(ctype, n)
    for ch in (*d.devices.channels, *d.devices.consoles):
        if ch.target_type == "virtio":
            a = ch.address
            ensure("virtio-serial", a.controller or 0 if a is not None and a.type == "virtio-serial"
                   else 0)
    cards = [o for o in d.devices.others if o.tag == "smartcard"]
    if cards:
        ensure("ccid", 0)
    # smartcards without an address take the next slots of ccid controller 0
    taken = {o.address.slot for o in cards
             if o.address is not None and o.address.type == "ccid" and not o.address.controller}
    slot = 0
    for card in cards:
        if card.address is not None or card.element is None:
            continue
        while slot in taken:
            slot += 1
        card.address = AddressDef(type="ccid", controller=0, slot=slot)
        addr = card.element.makeelement("address", {"type": "ccid", "controller": "0",
                                                    "slot": str(slot)})
        card.element.append(addr)
        taken.add(slot)


def add_implicit_devices(d: DomainDef, *, video_model: str = "cirrus") -> None:
    """libvirt's generic implicit devices: the controllers above, and a video adapter when
    there is graphics but no video (``video_model`` is the driver's default type; cirrus is
    what libvirt's generic layer and test driver use)."""
    add_implicit_controllers(d)
    devs = d.devices
    if devs.graphics and not devs.videos:
        video = VideoDef(model=video_model)
        _video_defaults(video)
        video.primary = True
        devs.videos.append(video)


def random_mac() -> str:
    import os

    b = os.urandom(3)
    return "52:54:00:" + ":".join(f"{x:02x}" for x in b)


def _unique_ids(d: DomainDef) -> None:
    orders: set[int] = set()
    aliases: set[str] = set()
    # a serial-type console is the same device as serial 0 (same alias in live XML)
    mirrors = {id(c) for c in d.devices.consoles if c.target_type == "serial"}
    for dev in d.devices.all():
        if id(dev) in mirrors:
            continue
        if dev.boot_order is not None:
            if dev.boot_order in orders:
                raise ConfigUnsupported(f"unsupported configuration: boot order "
                                        f"'{dev.boot_order}' used for more than one device")
            orders.add(dev.boot_order)
        if dev.alias is not None:
            if dev.alias in aliases:
                raise ConfigUnsupported(f"unsupported configuration: non unique alias "
                                        f"detected: {dev.alias}")
            aliases.add(dev.alias)


def _cputune(d: DomainDef) -> None:
    # libvirt ignores (with a warning) pins of vcpus the domain does not have
    if d.cputune is not None:
        d.cputune.vcpupins = [p for p in d.cputune.vcpupins if p.vcpu < d.vcpu.count]
        d.cputune.resctrls = resolve_resctrl(d.cputune.resctrls, d.vcpu.count)


def _misc_devices(d: DomainDef, mac_gen: Callable[[], str]) -> None:
    devs = d.devices
    for net in devs.interfaces:
        if net.mac is None:
            net.mac = mac_gen()
    for inp in devs.inputs:
        if inp.bus is None:
            if inp.type in ("mouse", "keyboard"):
                inp.bus = "ps2" if d.os.type == "hvm" else "xen"
            elif inp.type == "tablet":
                inp.bus = "usb"
    for v in devs.videos:
        _video_defaults(v)
    primary = next((v for v in devs.videos if v.primary), None)
    if primary is not None:
        # libvirt keeps the primary adapter first
        devs.videos.remove(primary)
        devs.videos.insert(0, primary)
    elif devs.videos and devs.videos[0].model != "none":
        devs.videos[0].primary = True
    if d.cpu is not None:
        _cpu_defaults(d)
    if d.vcpu.count < 1:
        raise VirtError("internal error: vcpu count must be positive", ErrorCode.INTERNAL_ERROR,
                        ErrorDomain.DOMAIN)


def strip_live(d: DomainDef) -> None:
    """Drop what libvirt ignores when parsing client XML (VIR_DOMAIN_DEF_PARSE_INACTIVE)."""
    from pyvirt.conf.domain.base import is_user_alias

    d.id = -1
    devs = d.devices
    for dev in devs.all():
        if dev.alias is not None and not is_user_alias(dev.alias):
            dev.alias = None
    for disk in devs.disks:
        if disk.source is not None:
            disk.source.index = None
        bs = disk.backing_store
        while bs is not None:
            bs.index = None
            bs = bs.backing_store
    for ch in (*devs.serials, *devs.parallels, *devs.consoles, *devs.channels):
        if ch.type == "pty":
            ch.source_path = None
        ch.target_state = None
    for g in devs.graphics:
        if g.autoport:
            g.port = None if g.type != "vnc" else -1
            g.tls_port = None


# video RAM (KiB) libvirt's generic layer fills in per model
_VRAM = {"vga": 16384, "cirrus": 16384, "vmvga": 16384, "bochs": 16384, "xen": 4096,
         "qxl": 65536}


def _video_defaults(v: VideoDef) -> None:
    if v.model is None or v.model == "none":
        return
    if v.vram is None and v.model in _VRAM:
        v.vram = _VRAM[v.model]
    if v.model == "qxl" and v.ram is None:
        v.ram = 65536
    if v.heads is None:
        v.heads = 1


def _cpu_defaults(d: DomainDef) -> None:
    cpu = d.cpu
    assert cpu is not None
    if (cpu.mode is None and cpu.model is None and cpu.topology is None and not cpu.features
            and not cpu.extra and cpu.match is None and cpu.check is None):
        d.cpu = None  # an empty <cpu/> says nothing; libvirt drops it
        return
    if cpu.mode is None and (cpu.model is not None or cpu.match is not None):
        cpu.mode = "custom"
    if cpu.mode == "custom" and cpu.model is not None and cpu.match is None:
        cpu.match = "exact"
    if (cpu.mode in ("custom", "host-model") and cpu.model is not None
            and cpu.model_fallback is None):
        cpu.model_fallback = "allow"
    if cpu.mode in (None, "custom"):
        for f in cpu.features:
            if f.policy is None:
                f.policy = "require"


def unmodeled_paths(d: DomainDef) -> list[str]:
    """Where the model keeps XML verbatim instead of understanding it."""
    out = [f"/domain/{e.tag}" for e in d.extra]
    out += [f"/domain/os/{e.tag}" for e in d.os.extra]
    if d.cputune is not None:
        out += [f"/domain/cputune/{e.tag}" for e in d.cputune.extra]
    if d.cpu is not None:
        out += [f"/domain/cpu/{e.tag}" for e in d.cpu.extra]
    for n, el in d.features.elements.items():
        if len(el) or el.attrib:
            out.append(f"/domain/features/{n}")
    from pyvirt.conf.domain.chardev import ChardevDef
    from pyvirt.conf.domain.devices import RawDeviceDef

    for dev in d.devices.all():
        if isinstance(dev, RawDeviceDef):
            out.append(f"/domain/devices/{dev.tag}")
            continue
        if isinstance(dev, ChardevDef):
            tag = str(dev.kind)
        else:
            tag = type(dev).__name__.removesuffix("Def").lower()
        out += [f"/domain/devices/{tag}/{e.tag}" for e in dev.extra]
        if dev.address is not None and dev.address.type not in (
                "pci", "drive", "virtio-serial", "ccid", "usb", "isa"):
            out.append(f"/domain/devices/{tag}/address[@type='{dev.address.type}']")
    return out
