"""Device addresses and the per-device info block (boot order, ACPI index, alias, address)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pyvirt.conf._xml import Writer, attrs, parse_onoff, parse_uint, write_raw
from pyvirt.errors import ConfigUnsupported, ErrorDomain, XMLError

if TYPE_CHECKING:
    from lxml import etree


@dataclass(slots=True)
class AddressDef:
    """``<address type=...>``. pci, drive, virtio-serial, ccid, usb and isa addresses are typed;
    any other type keeps its attributes verbatim in ``other`` (in document order)."""

    type: str
    # pci
    domain: int | None = None
    bus: int | None = None
    slot: int | None = None
    function: int | None = None
    multifunction: bool | None = None
    # drive / virtio-serial / ccid
    controller: int | None = None
    target: int | None = None
    unit: int | None = None
    port: int | None = None
    # usb: port is a dotted path ("1.2"), kept as text
    usb_port: str | None = None
    # isa
    iobase: int | None = None
    irq: int | None = None
    other: dict[str, str] = field(default_factory=dict)
    # children such as <zpci/> kept verbatim
    extra: list[etree._Element] = field(default_factory=list)

    @classmethod
    def pci(cls, slot: int, function: int = 0, bus: int = 0, domain: int = 0,
            multifunction: bool | None = None) -> AddressDef:
        return cls("pci", domain=domain, bus=bus, slot=slot, function=function,
                   multifunction=multifunction)

    @classmethod
    def drive(cls, controller: int, bus: int, target: int, unit: int) -> AddressDef:
        return cls("drive", controller=controller, bus=bus, target=target, unit=unit)


ADDRESS_TYPES = ("none", "pci", "drive", "virtio-serial", "ccid", "usb", "spapr-vio",
                 "virtio-s390", "ccw", "virtio-mmio", "isa", "dimm", "unassigned")


def parse_address(el: etree._Element) -> AddressDef:
    atype = el.get("type")
    if atype is None:
        raise XMLError("XML error: No type specified for device address")
    if atype not in ADDRESS_TYPES:
        raise ConfigUnsupported(f"unsupported configuration: unknown address type '{atype}'")
    a = AddressDef(atype)
    g = el.get
    if atype == "pci":
        a.domain = parse_uint(g("domain"), "domain", base=16)
        a.bus = parse_uint(g("bus"), "bus", base=16)
        a.slot = parse_uint(g("slot"), "slot", base=16)
        a.function = parse_uint(g("function"), "function", base=16)
        a.multifunction = parse_onoff(g("multifunction"), "multifunction", "address")
        if a.domain is None:
            a.domain = 0
        if a.bus is None:
            a.bus = 0
        if a.slot is None:
            a.slot = 0
        if a.function is None:
            a.function = 0
        if a.domain > 0xFFFF:
            raise XMLError(f"XML error: Invalid PCI address domain='0x{a.domain:x}', must be "
                           f"<= 0xFFFF", domain=ErrorDomain.NONE)
        if a.bus > 0xFF:
            raise XMLError(f"XML error: Invalid PCI address bus='0x{a.bus:x}', must be <= 0xFF",
                           domain=ErrorDomain.NONE)
        if a.slot > 31:
            raise XMLError(f"XML error: Invalid PCI address slot='0x{a.slot:x}', must be <= 0x1F",
                           domain=ErrorDomain.NONE)
        if a.function > 7:
            raise XMLError(
                f"XML error: Invalid PCI address function=0x{a.function:x}, must be <= 7",
                domain=ErrorDomain.NONE)
        a.extra = list(el)
    elif atype == "drive":
        a.controller = parse_uint(g("controller"), "controller") or 0
        a.bus = parse_uint(g("bus"), "bus") or 0
        a.target = parse_uint(g("target"), "target") or 0
        a.unit = parse_uint(g("unit"), "unit") or 0
    elif atype in ("virtio-serial", "ccid"):
        a.controller = parse_uint(g("controller"), "controller") or 0
        a.bus = parse_uint(g("bus"), "bus")
        a.port = parse_uint(g("port"), "port")
        a.slot = parse_uint(g("slot"), "slot")
        if atype == "virtio-serial" and a.bus is None:
            a.bus = 0
    elif atype == "usb":
        a.bus = parse_uint(g("bus"), "bus") or 0
        a.usb_port = g("port")
    elif atype == "isa":
        a.iobase = parse_uint(g("iobase"), "iobase", base=16)
        a.irq = parse_uint(g("irq"), "irq", base=16)
    else:
        a.other = {str(k): str(v) for k, v in el.attrib.items() if k != "type"}
        a.extra = list(el)
    return a


def format_address(w: Writer, depth: int, a: AddressDef) -> None:
    t = a.type
    if t == "pci":
        mf = None if a.multifunction is None else ("on" if a.multifunction else "off")
        at = attrs(("type", t), ("domain", f"0x{a.domain or 0:04x}"), ("bus", f"0x{a.bus or 0:02x}"),
                   ("slot", f"0x{a.slot or 0:02x}"), ("function", f"0x{a.function or 0:x}"),
                   ("multifunction", mf))
    elif t == "drive":
        at = attrs(("type", t), ("controller", a.controller), ("bus", a.bus),
                   ("target", a.target), ("unit", a.unit))
    elif t == "virtio-serial":
        at = attrs(("type", t), ("controller", a.controller), ("bus", a.bus), ("port", a.port))
    elif t == "ccid":
        at = attrs(("type", t), ("controller", a.controller), ("slot", a.slot))
    elif t == "usb":
        at = attrs(("type", t), ("bus", a.bus), ("port", a.usb_port))
    elif t == "isa":
        at = attrs(("type", t),
                   ("iobase", None if a.iobase is None else f"0x{a.iobase:x}"),
                   ("irq", None if a.irq is None else f"0x{a.irq:x}"))
    else:
        at = attrs(("type", t), *a.other.items())
    if not a.extra:
        w.empty(depth, "address", at)
        return
    w.line(depth, f"<address{at}>")
    for c in a.extra:
        write_raw(w, depth + 1, c, None)
    w.line(depth, "</address>")
