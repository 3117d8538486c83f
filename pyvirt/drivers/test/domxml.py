"""Domain XML seam for the test driver.

The full domain model lives in :mod:`pyvirt.conf.domain`, written concurrently by another
engineer. The test driver only needs a handful of facts from a definition (name, uuid,
memory, vcpus, on_reboot) and libvirt-shaped output for ``dumpxml``, so this module does a
small, lossless ElementTree round trip: it fills the defaults libvirt's test driver fills
(uuid, currentMemory, vcpu placement, os arch/boot, clock, lifecycle actions), orders the
top-level elements the way libvirt formats them, and writes libvirt's indentation and
quoting. Elements it does not know are kept verbatim. When the conf model grows to cover
what is needed, :func:`parse` is the single place to switch over.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pyvirt.errors import ErrorCode, ErrorDomain, VirtError, XMLError

if TYPE_CHECKING:
    # Imported where used: pyvirsh's `list` never needs an XML parser (start-up time).
    import xml.etree.ElementTree as ET

# libvirt's formatting order for the top-level children of <domain> (virDomainDefFormat).
_TOP_ORDER = (
    "name", "uuid", "genid", "title", "description", "metadata", "maxMemory", "memory",
    "currentMemory", "blkiotune", "memtune", "memoryBacking", "vcpu", "vcpus", "iothreads",
    "iothreadids", "cputune", "numatune", "resource", "sysinfo", "bootloader",
    "bootloader_args", "os", "idmap", "features", "cpu", "clock", "on_poweroff", "on_reboot",
    "on_crash", "pm", "perf", "devices", "seclabel", "keywrap", "launchSecurity",
)
_ORDER_INDEX = {n: i for i, n in enumerate(_TOP_ORDER)}

_UNIT_SCALE = {
    "b": 1, "bytes": 1, "k": 1024, "kib": 1024, "kb": 1000, "m": 1024**2, "mib": 1024**2,
    "mb": 1000**2, "g": 1024**3, "gib": 1024**3, "gb": 1000**3, "t": 1024**4, "tib": 1024**4,
    "tb": 1000**4,
}
_UUID_HEX = re.compile(r"^[0-9a-fA-F]{32}$")


def _xml_error(msg: str) -> VirtError:
    return VirtError(msg, ErrorCode.XML_ERROR, ErrorDomain.DOMAIN)


def parse_uuid(text: str) -> bytes:
    """libvirt accepts the 32 hex digits with dashes anywhere (and spaces) between them."""
    digits = re.sub(r"[-\s]", "", text)
    if not _UUID_HEX.match(digits):
        raise VirtError("internal error: malformed uuid element", ErrorCode.INTERNAL_ERROR,
                        ErrorDomain.DOMAIN)
    return bytes.fromhex(digits)


def format_uuid(raw: bytes) -> str:
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def random_uuid() -> bytes:
    """A version-4 UUID, as libvirt generates for definitions without one."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    return bytes(raw)


def _scaled_kib(el: ET.Element) -> int:
    text = (el.text or "").strip()
    if not text.isdigit():
        raise XMLError(f"XML error: Invalid value '{text}' for element or attribute "
                       f"'./{el.tag}[1]'")
    unit = (el.get("unit") or "KiB").lower()
    if unit not in _UNIT_SCALE:
        raise VirtError(f"invalid argument: unknown suffix '{el.get('unit')}'", ErrorCode.INVALID_ARG,
                        ErrorDomain.NONE)
    return (int(text) * _UNIT_SCALE[unit] + 1023) // 1024


@dataclass
class DomainDoc:
    """A parsed, defaults-filled domain definition (the test driver's view)."""

    root: ET.Element
    name: str
    uuid: bytes
    virt_type: str
    max_mem_kib: int
    cur_mem_kib: int
    vcpus: int
    on_reboot: str
    on_poweroff: str

    def format(self, live_id: int | None = None) -> str:
        """Serialize like libvirt: ``id`` attribute only on the live XML of a running domain."""
        attrs = {"type": self.virt_type}
        if live_id is not None:
            attrs["id"] = str(live_id)
        # id always follows type in libvirt's output; copy the rest after it.
        for k, v in self.root.attrib.items():
            if k not in ("type", "id"):
                attrs[k] = v
        out: list[str] = []
        _write(self.root, out, 0, attrs)
        return "".join(out)


class LazyDomainDoc(DomainDoc):
    """A definition whose facts are known up front and whose XML is parsed on first use.

    The stock domain of test:///default is one: listing it then needs no XML parser, which
    keeps ``pyvirsh list`` light. The facts must be the ones :func:`parse` would find (a unit
    test checks that for the stock XML).
    """

    def __init__(self, xml: str, name: str, uuid: bytes, virt_type: str, max_mem_kib: int,
                 cur_mem_kib: int, vcpus: int, on_reboot: str, on_poweroff: str) -> None:
        self._xml = xml
        self._root: ET.Element | None = None
        self.name, self.uuid, self.virt_type = name, uuid, virt_type
        self.max_mem_kib, self.cur_mem_kib, self.vcpus = max_mem_kib, cur_mem_kib, vcpus
        self.on_reboot, self.on_poweroff = on_reboot, on_poweroff

    @property
    def parsed(self) -> bool:
        return self._root is not None

    def clone(self) -> LazyDomainDoc:
        return LazyDomainDoc(self._xml, self.name, self.uuid, self.virt_type, self.max_mem_kib,
                             self.cur_mem_kib, self.vcpus, self.on_reboot, self.on_poweroff)

    @property
    def root(self) -> ET.Element:
        if self._root is None:
            self._root = parse(self._xml).root
        return self._root

    @root.setter
    def root(self, value: ET.Element) -> None:
        self._root = value


def parse(xml: str) -> DomainDoc:
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(xml)
    except ET.ParseError as e:
        raise VirtError(f"(domain_definition):1: {e}", ErrorCode.XML_DETAIL,
                        ErrorDomain.DOMAIN) from None
    if root.tag != "domain":
        raise _xml_error(f"XML error: expecting root element of 'domain', not '{root.tag}'")
    virt_type = root.get("type")
    if virt_type is None:
        raise VirtError("internal error: missing domain type attribute", ErrorCode.INTERNAL_ERROR,
                        ErrorDomain.DOMAIN)
    name_el = root.find("name")
    name = (name_el.text or "").strip() if name_el is not None else ""
    if not name:
        raise VirtError("missing name information", ErrorCode.NO_NAME, ErrorDomain.DOMAIN)
    if "/" in name:
        raise XMLError(f"XML error: name {name} cannot contain '/'")

    uuid_el = root.find("uuid")
    if uuid_el is None:
        raw = random_uuid()
        uuid_el = ET.SubElement(root, "uuid")
    else:
        raw = parse_uuid(uuid_el.text or "")
    uuid_el.text = format_uuid(raw)

    max_kib, cur_kib = _fill_memory(root)
    vcpus = _fill_vcpu(root)
    _fill_os(root)
    if root.find("clock") is None:
        ET.SubElement(root, "clock", {"offset": "utc"})
    actions = {}
    for tag, default in (("on_poweroff", "destroy"), ("on_reboot", "restart"),
                         ("on_crash", "destroy")):
        el = root.find(tag)
        if el is None:
            el = ET.SubElement(root, tag)
            el.text = default
        actions[tag] = (el.text or default).strip()
    devices = root.find("devices")
    if devices is None:
        devices = ET.SubElement(root, "devices")
    _check_consoles(devices)
    _fill_interfaces(devices)
    _order_devices(devices)

    root[:] = sorted(root, key=lambda c: _ORDER_INDEX.get(c.tag, len(_TOP_ORDER)))
    return DomainDoc(root, name, raw, virt_type, max_kib, cur_kib, vcpus,
                     actions["on_reboot"], actions["on_poweroff"])


# libvirt's formatting order for the children of <interface> that the test guests use.
_IFACE_ORDER = ("mac", "source", "vlan", "virtualport", "ip", "route", "script",
                "downscript", "backenddomain", "target", "guest", "model", "driver", "backend",
                "bandwidth", "link", "mtu", "coalesce", "teaming", "rom", "alias", "address")
_IFACE_INDEX = {n: i for i, n in enumerate(_IFACE_ORDER)}


def _check_consoles(devices: ET.Element) -> None:
    """libvirt's post-parse rule (pyvirt.conf.domain.postparse has the same): only console 0
    may be a serial console, and a console without a target type is one."""
    for con in devices.findall("console")[1:]:
        target = con.find("target")
        if (target.get("type") if target is not None else None) in (None, "serial"):
            raise VirtError("unsupported configuration: Only the first console can be a serial port",
                            ErrorCode.CONFIG_UNSUPPORTED, ErrorDomain.DOMAIN)


def _fill_interfaces(devices: ET.Element) -> None:
    """Give each NIC a MAC (QEMU's 52:54:00 prefix), as libvirt's parser does."""
    import xml.etree.ElementTree as ET

    for iface in devices.findall("interface"):
        if iface.find("mac") is None:
            tail = os.urandom(3)
            ET.SubElement(iface, "mac", {"address": "52:54:00:" + ":".join(f"{b:02x}" for b in tail)})
        iface[:] = sorted(iface, key=lambda c: _IFACE_INDEX.get(c.tag, len(_IFACE_ORDER)))


def apply_test_defaults(doc: DomainDoc) -> None:
    """The test driver's post-parse steps: NIC names, drive addresses, libvirt defaults."""
    from pyvirt.drivers.test.canon import apply_test_defaults as canon

    canon(doc.root)
    generate_ifnames(doc)
    assign_drive_addresses(doc)


def generate_ifnames(doc: DomainDoc) -> None:
    """libvirt's *test* driver names every NIC without a target testnetN (N = its index);
    real drivers leave that to the host, so this is not part of :func:`parse`."""
    import xml.etree.ElementTree as ET

    devices = doc.root.find("devices")
    for i, iface in enumerate(devices.findall("interface") if devices is not None else ()):
        target = iface.find("target")
        if target is None:
            target = ET.SubElement(iface, "target")
        if "dev" not in target.attrib:
            target.attrib = {"dev": f"testnet{i}", **target.attrib}
        iface[:] = sorted(iface, key=lambda c: _IFACE_INDEX.get(c.tag, len(_IFACE_ORDER)))


# libvirt formats devices grouped by kind, in this order (virDomainDefFormat).
_DEVICE_ORDER = ("emulator", "disk", "controller", "lease", "filesystem", "interface",
                 "smartcard", "serial", "parallel", "console", "channel", "input", "tpm",
                 "graphics", "sound", "audio", "video", "hostdev", "redirdev", "redirfilter",
                 "hub", "watchdog", "memballoon", "rng", "nvram", "panic", "shmem", "memory",
                 "iommu", "vsock", "crypto")
_DEVICE_INDEX = {n: i for i, n in enumerate(_DEVICE_ORDER)}
_BUS_BY_PREFIX = (("xvd", "xen"), ("hd", "ide"), ("sd", "scsi"), ("vd", "virtio"),
                  ("fd", "fdc"), ("ubd", "uml"))


def disk_name_index(dev: str) -> int:
    """'vda' -> 0, 'sdb' -> 1, 'hdaa' -> 26: the drive index libvirt sorts disks by."""
    letters = dev.lstrip("abcdefghijklmnopqrstuvwxyz")
    base = dev[: len(dev) - len(letters)] if letters else dev
    for prefix, _ in _BUS_BY_PREFIX:
        if base.startswith(prefix):
            base = base[len(prefix):]
            break
    idx = -1
    for ch in base:
        idx = (idx + 1) * 26 + (ord(ch) - ord("a"))
    return idx


def _disk_key(disk: ET.Element) -> tuple[str, int]:
    t = disk.find("target")
    dev = t.get("dev", "") if t is not None else ""
    bus = t.get("bus", "") if t is not None else ""
    return bus, disk_name_index(dev)


def _order_devices(devices: ET.Element) -> None:
    # Disks are placed by the bus written in the XML (an unset bus counts as its own bus)
    # and only then get their default bus: this is the order libvirt ends up with.
    disks: list[ET.Element] = []
    keys: list[tuple[str, int]] = []
    for disk in devices.findall("disk"):
        bus, index = _disk_key(disk)
        at = -1
        for i in range(len(disks) - 1, -1, -1):
            obus, oindex = keys[i]
            if obus == bus and oindex > index:
                at = i
            elif obus == bus and at == -1:
                at = i + 1
        at = len(disks) if at == -1 else at
        disks.insert(at, disk)
        keys.insert(at, (bus, index))
    for disk in disks:
        t = disk.find("target")
        if t is not None and "bus" not in t.attrib:
            dev = t.get("dev", "")
            bus_name = next((b for p, b in _BUS_BY_PREFIX if dev.startswith(p)), None)
            if bus_name is not None:
                t.set("bus", bus_name)
        if "device" not in disk.attrib:
            disk.attrib = {"type": disk.get("type", "file"), "device": "disk",
                           **{k: v for k, v in disk.attrib.items() if k != "type"}}
    others = [c for c in devices if c.tag != "disk"]
    merged = disks + others
    devices[:] = sorted(merged, key=lambda c: _DEVICE_INDEX.get(c.tag, len(_DEVICE_ORDER)))


# Disk buses that sit on a drive controller: units per bus, buses per controller.
# The order is the one in which libvirt adds implicit controllers.
_DRIVE_BUSES = {"scsi": (7, 1), "fdc": (2, 1), "ide": (2, 2), "sata": (6, 1)}


def assign_drive_addresses(doc: DomainDoc) -> None:
    """Give drive-bus disks a drive address and add the controllers they need, as libvirt's
    test driver ends up with. Real drivers do their own (QEMU refuses IDE on q35, for one),
    so this is not part of :func:`parse`."""
    import xml.etree.ElementTree as ET

    devices = doc.root.find("devices")
    if devices is None:
        return
    disks = devices.findall("disk")
    needed: dict[str, int] = {}
    for disk in disks:
        t = disk.find("target")
        bus = t.get("bus", "") if t is not None else ""
        if bus not in _DRIVE_BUSES or t is None:
            continue
        addr = disk.find("address")
        if addr is None:
            units, buses = _DRIVE_BUSES[bus]
            idx = max(disk_name_index(t.get("dev", "")), 0)
            per_ctrl = units * buses
            addr = ET.SubElement(disk, "address", {
                "type": "drive", "controller": str(idx // per_ctrl),
                "bus": str(idx % per_ctrl // units), "target": "0", "unit": str(idx % units)})
        if addr.get("type") == "drive":
            ctrl = int(addr.get("controller", "0"))
            needed[bus] = max(needed.get(bus, -1), ctrl)
    have = {(c.get("type"), c.get("index")) for c in devices.findall("controller")}
    for bus in _DRIVE_BUSES:
        for index in range(needed.get(bus, -1) + 1):
            if (bus, str(index)) not in have:
                ET.SubElement(devices, "controller", {"type": bus, "index": str(index)})
    # Stable: only the new controllers move, next to their kind.
    devices[:] = sorted(devices, key=lambda c: _DEVICE_INDEX.get(c.tag, len(_DEVICE_ORDER)))


def taint_messages(root: ET.Element) -> list[str]:
    """What virDomainGetMessages reports for a test domain, in libvirt's taint-flag order."""
    flags: set[str] = set()
    deprecations: list[str] = []
    for disk in root.findall("devices/disk"):
        if disk.get("rawio") == "yes":
            flags.add("high-privileges")
        src = disk.find("source")
        if disk.get("device") == "cdrom" and disk.get("type") == "block" and src is not None \
                and src.get("dev"):
            flags.add("cdrom-passthrough")
    for hostdev in root.findall("devices/hostdev"):
        if hostdev.get("type") == "scsi" and hostdev.get("rawio") == "yes":
            flags.add("high-privileges")
    for iface in root.findall("devices/interface"):
        if iface.find("script") is not None:
            flags.add("shell-scripts")
    cpu = root.find("cpu")
    if cpu is not None and cpu.get("mode", "custom") == "custom" \
            and (cpu.findtext("model") or "").strip() == "Deprecated-Test":
        flags.add("deprecated-config")
        deprecations.append("CPU model Deprecated-Test")
    if root.find("os/dtb") is not None:
        flags.add("custom-dtb")
    texts = {
        "high-privileges": "running with undesirable elevated privileges",
        "shell-scripts": "network configuration using opaque shell scripts",
        "cdrom-passthrough": "use of host cdrom passthrough",
        "custom-dtb": "custom device tree blob used",
        "deprecated-config": "use of deprecated configuration settings",
    }
    out = [f"tainted: {texts[k]}" for k in texts if k in flags]
    out += [f"deprecated configuration: {d}" for d in deprecations]
    return out


def _fill_memory(root: ET.Element) -> tuple[int, int]:
    """Normalize <memory>/<currentMemory> to KiB; current defaults to (and is capped at) max."""
    import xml.etree.ElementTree as ET

    mem_el = root.find("memory")
    if mem_el is None:
        raise XMLError("XML error: Memory size must be specified via <memory> or in the <numa> "
                       "configuration")
    max_kib = _scaled_kib(mem_el)
    _set_kib(mem_el, max_kib)
    cur_el = root.find("currentMemory")
    cur_kib = max_kib if cur_el is None else min(_scaled_kib(cur_el), max_kib)
    if cur_el is None:
        cur_el = ET.SubElement(root, "currentMemory")
    _set_kib(cur_el, cur_kib)
    return max_kib, cur_kib


def _fill_vcpu(root: ET.Element) -> int:
    import xml.etree.ElementTree as ET

    vcpu_el = root.find("vcpu")
    if vcpu_el is None:
        vcpu_el = ET.SubElement(root, "vcpu")
        vcpu_el.text = "1"
    text = (vcpu_el.text or "").strip()
    if not text.isdigit():
        raise XMLError("XML error: maximum vcpus count must be an integer")
    if int(text) == 0:
        raise VirtError("internal error: CPU IDs in <numa> exceed the <vcpu> count",
                        ErrorCode.INTERNAL_ERROR, ErrorDomain.DOMAIN)
    if "placement" not in vcpu_el.attrib:
        vcpu_el.attrib = {"placement": "static", **vcpu_el.attrib}
    return int(text)


def _set_kib(el: ET.Element, kib: int) -> None:
    el.attrib = {"unit": "KiB"}
    el.text = str(kib)


def _fill_os(root: ET.Element) -> None:
    import xml.etree.ElementTree as ET

    os_el = root.find("os")
    if os_el is None:
        raise XMLError("XML error: an os <type> must be specified")
    type_el = os_el.find("type")
    if type_el is None:
        raise XMLError("XML error: an os <type> must be specified")
    if "arch" not in type_el.attrib:
        # The test driver's capabilities offer i686 only; it is the default guest arch.
        type_el.attrib = {"arch": "i686", **type_el.attrib}
    if os_el.find("boot") is None and os_el.find("kernel") is None:
        ET.SubElement(os_el, "boot", {"dev": "hd"})


def _esc_text(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _esc_attr(s: str) -> str:
    return _esc_text(s).replace("'", "&apos;")


def _write(el: ET.Element, out: list[str], depth: int, attrs: dict[str, str] | None = None) -> None:
    pad = "  " * depth
    a = "".join(f" {k}='{_esc_attr(v)}'" for k, v in (attrs or el.attrib).items())
    # Whitespace-only text is indentation; anything else is kept verbatim.
    text = el.text if el.text and el.text.strip() else ""
    children = list(el)
    if not children and not text:
        # libvirt opens and closes <devices> on separate lines even when it is empty.
        if el.tag == "devices":
            out.append(f"{pad}<{el.tag}{a}>\n{pad}</{el.tag}>\n")
        else:
            out.append(f"{pad}<{el.tag}{a}/>\n")
        return
    if not children:
        out.append(f"{pad}<{el.tag}{a}>{_esc_text(text)}</{el.tag}>\n")
        return
    out.append(f"{pad}<{el.tag}{a}>\n")
    for c in children:
        _write(c, out, depth + 1)
    out.append(f"{pad}</{el.tag}>\n")
