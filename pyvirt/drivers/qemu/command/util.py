"""Spelling helpers shared by the device-family modules: QEMU's two argument syntaxes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

JsonProps = dict[str, Any]


def qjson(props: Mapping[str, Any]) -> str:
    """Compact JSON in insertion order: the form ``-device``/``-blockdev``/``-object`` take.

    Insertion order matters: golden argv files compare byte for byte, and QEMU does not care.
    """
    return json.dumps(props, separators=(",", ":"), ensure_ascii=False)


def qescape(value: str) -> str:
    """Escape a value for QEMU's key=value option syntax: a literal comma is written twice."""
    return value.replace(",", ",,")


def hexaddr(slot: int, function: int = 0) -> str:
    """PCI ``addr`` as libvirt writes it: ``0x3`` or ``0x1.0x2``."""
    return f"{slot:#x}" if function == 0 else f"{slot:#x}.{function:#x}"


def pci_bus_alias(bus: int, defn: Any) -> str:
    """The QEMU id of PCI bus ``bus``: the root bus is built in, the rest are our controllers."""
    if bus == 0:
        machine = str(defn.os.machine or "")
        return "pcie.0" if machine.startswith(("q35", "pc-q35-")) else "pci.0"
    return f"pci.{bus}"


def pci_props(addr: Any, defn: Any) -> JsonProps:
    """``bus``/(``multifunction``)/``addr`` of a device with a PCI address, libvirt's order."""
    if addr is None or str(addr.type) != "pci":
        return {}
    out: JsonProps = {"bus": pci_bus_alias(int(addr.bus), defn)}
    if addr.multifunction is not None:
        out["multifunction"] = addr.multifunction
    out["addr"] = hexaddr(int(addr.slot), int(addr.function or 0))
    return out


def raw_boot_order(dev: Any) -> int | None:
    """``<boot order>`` of a device conf keeps as raw XML."""
    el = getattr(dev, "element", None)
    boot = el.find("boot") if el is not None else None
    return int(str(boot.get("order"))) if boot is not None and boot.get("order") else None


def usb_ports(defn: Any) -> dict[int, str]:
    """Root-hub ports for USB devices without an address, by ``id(device)``: handed out at
    start (libvirt does not write them into the definition), inputs then host devices,
    skipping ports taken explicitly."""
    devs: list[Any] = [i for i in defn.devices.inputs if str(i.bus) == "usb"]
    devs += [o for o in defn.devices.others
             if o.tag == "hostdev" and o.element is not None and o.element.get("type") == "usb"]
    taken = {str(d.address.usb_port) for d in devs if d.address is not None and str(d.address.type) == "usb"}
    out: dict[int, str] = {}
    nxt = 1
    for d in devs:
        if d.address is not None and str(d.address.type) == "usb":
            out[id(d)] = str(d.address.usb_port)
            continue
        while str(nxt) in taken:
            nxt += 1
        out[id(d)] = str(nxt)
        taken.add(str(nxt))
    return out


# <driver iommu= ats= packed= page_per_vq=> -> virtio-pci properties, in libvirt's order.
_VIRTIO_OPTS = (("iommu", "iommu_platform"), ("ats", "ats"), ("packed", "packed"),
                ("page_per_vq", "page-per-vq"))


def driver_attrs(dev: Any) -> Mapping[str, str]:
    """The attributes of a device's ``<driver>``, wherever the conf model keeps them."""
    drv = getattr(dev, "driver", None)
    if isinstance(drv, Mapping):
        return drv
    other = getattr(drv, "other", None)
    if isinstance(other, Mapping):
        return other
    for el in getattr(dev, "extra", ()):
        if el.tag == "driver":
            return dict(el.attrib)
    raw = getattr(dev, "element", None)  # a device family conf keeps as raw XML
    found = raw.find("driver") if raw is not None else None
    return dict(found.attrib) if found is not None else {}


def virtio_opts(dev: Any) -> JsonProps:
    attrs = driver_attrs(dev)
    return {prop: attrs[key] == "on" for key, prop in _VIRTIO_OPTS if key in attrs}
