"""Memory balloon, RNG and panic devices."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyvirt.drivers.qemu.command.util import JsonProps, pci_props, qjson, usb_ports, virtio_opts
from pyvirt.errors import ConfigUnsupported

if TYPE_CHECKING:
    from pyvirt.conf.domain import DomainDef


def memballoon_args(defn: DomainDef) -> list[str]:
    mb = defn.devices.memballoon
    if mb is None or str(mb.model) == "none":
        return []
    if str(mb.model) != "virtio":
        raise ConfigUnsupported(f"unsupported configuration: memballoon model '{mb.model}' is not supported")
    props: JsonProps = {"driver": "virtio-balloon-pci", **virtio_opts(mb), "id": mb.alias}
    props.update(pci_props(mb.address, defn))
    if mb.autodeflate is not None:
        props["deflate-on-oom"] = mb.autodeflate == "on"
    if mb.free_page_reporting is not None:
        props["free-page-reporting"] = mb.free_page_reporting == "on"
    return ["-device", qjson(props)]


# libvirt's <watchdog action> -> QEMU's -watchdog-action (dump is done by libvirt on pause).
_WATCHDOG_ACTIONS = {"reset": "reset", "shutdown": "shutdown", "poweroff": "poweroff",
                     "pause": "pause", "dump": "pause", "none": "none", "inject-nmi": "inject-nmi"}


def watchdog_args(defn: DomainDef) -> list[str]:
    """<watchdog> is kept raw by conf; ib700 (ISA) and i6300esb (PCI) are built."""
    argv: list[str] = []
    for dev in defn.devices.others:
        if dev.tag != "watchdog" or dev.element is None:
            continue
        model = str(dev.element.get("model"))
        if model not in ("ib700", "i6300esb"):
            raise ConfigUnsupported(f"unsupported configuration: watchdog model '{model}' is not supported")
        props: JsonProps = {"driver": model, "id": dev.alias}
        props.update(pci_props(dev.address, defn))
        action = _WATCHDOG_ACTIONS.get(str(dev.element.get("action") or "reset"))
        if action is None:
            raise ConfigUnsupported(f"unsupported configuration: watchdog action '{dev.element.get('action')}'")
        argv += ["-device", qjson(props), "-watchdog-action", action]
    return argv


# <source guestReset=...> -> (guest-reset, guest-resets-all) of usb-host.
_USB_RESET = {"off": (False, None), "uninitialized": (True, False), "on": (True, True)}


def _usb_hostdev(dev: Any, el: Any, port: str, bootindex: int | None) -> JsonProps:
    src = el.find("source")
    addr = src.find("address") if src is not None else None
    if addr is None or addr.get("bus") is None or addr.get("device") is None or src.find("vendor") is not None:
        raise ConfigUnsupported("unsupported configuration: USB hostdev needs a bus/device source address")
    props: JsonProps = {"driver": "usb-host",
                        "hostdevice": f"/dev/bus/usb/{int(addr.get('bus')):03d}/{int(addr.get('device')):03d}",
                        "id": dev.alias}
    reset = src.get("guestReset")
    if reset is not None:
        if reset not in _USB_RESET:
            raise ConfigUnsupported(f"unsupported configuration: guestReset '{reset}'")
        props["guest-reset"], all_ = _USB_RESET[reset]
        if all_ is not None:
            props["guest-resets-all"] = all_
    if bootindex is not None:
        props["bootindex"] = bootindex
    props["bus"] = "usb.0"
    props["port"] = port
    return props


def hostdev_args(defn: DomainDef, bootindexes: dict[int, int]) -> list[str]:
    """Host devices (<hostdev> is kept raw by conf): PCI through VFIO, USB via usb-host."""
    argv: list[str] = []
    ports = usb_ports(defn)
    for dev in defn.devices.others:
        el = dev.element
        if dev.tag != "hostdev" or el is None:
            continue
        if el.get("mode", "subsystem") == "subsystem" and el.get("type") == "usb":
            argv += ["-device", qjson(_usb_hostdev(dev, el, ports[id(dev)], bootindexes.get(id(dev))))]
            continue
        if el.get("mode", "subsystem") != "subsystem" or el.get("type") != "pci":
            raise ConfigUnsupported(f"unsupported configuration: hostdev type '{el.get('type')}' is not supported")
        src = el.find("source/address")
        if src is None:
            raise ConfigUnsupported("unsupported configuration: PCI hostdev without a source address")
        host = "{:04x}:{:02x}:{:02x}.{:x}".format(*(int(src.get(k, "0"), 0) for k in ("domain", "bus", "slot", "function")))
        props: JsonProps = {"driver": "vfio-pci", "host": host, "id": dev.alias}
        props.update(pci_props(dev.address, defn))
        argv += ["-device", qjson(props)]
    return argv


def rng_args(defn: DomainDef) -> list[str]:
    argv: list[str] = []
    for i, rng in enumerate(defn.devices.rngs):
        if str(rng.model) != "virtio":
            raise ConfigUnsupported(f"unsupported configuration: rng model '{rng.model}' is not supported")
        obj = f"obj{rng.alias}"
        backend = str(rng.backend_model)
        if backend == "random":
            argv += ["-object", qjson({"qom-type": "rng-random", "id": obj,
                                       "filename": rng.backend_path or "/dev/urandom"})]
        elif backend == "builtin":
            argv += ["-object", qjson({"qom-type": "rng-builtin", "id": obj})]
        else:
            raise ConfigUnsupported(f"unsupported configuration: rng backend '{backend}' is not supported")
        props: JsonProps = {"driver": "virtio-rng-pci", **virtio_opts(rng), "rng": obj, "id": rng.alias}
        if rng.rate_bytes is not None:
            props["max-bytes"] = rng.rate_bytes
            props["period"] = rng.rate_period or 1000
        props.update(pci_props(rng.address, defn))
        argv += ["-device", qjson(props)]
    return argv


def panic_args(defn: DomainDef) -> list[str]:
    argv: list[str] = []
    for p in defn.devices.panics:
        model = str(p.model or "isa")
        if model == "isa":
            props: JsonProps = {"driver": "pvpanic"}
            if p.address is not None and p.address.iobase is not None:
                props["ioport"] = p.address.iobase
            argv += ["-device", qjson(props)]
        elif model == "hyperv":
            continue  # a -cpu flag, not a device
        else:
            raise ConfigUnsupported(f"unsupported configuration: panic model '{model}' is not supported")
    return argv
