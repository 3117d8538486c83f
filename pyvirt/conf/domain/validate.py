"""Generic validation after the defaults (libvirt's virDomainDefValidate and the device
validators it runs for every driver). Each rule and message was checked against libvirt 9.0's
test driver; the error codes are libvirt's."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyvirt.conf.domain.disk import DiskBus, DiskDevice, DiskType
from pyvirt.errors import ConfigUnsupported, ErrorCode, ErrorDomain, InternalError, VirtError

if TYPE_CHECKING:
    from pyvirt.conf.domain import DomainDef

_DRIVE_BUSES = (DiskBus.IDE, DiskBus.FDC, DiskBus.SATA, DiskBus.SCSI)
_LUN_PROTOCOLS = ("iscsi",)


def _unsupported(msg: str) -> ConfigUnsupported:
    return ConfigUnsupported("unsupported configuration: " + msg)


def _detail(msg: str) -> VirtError:
    # VIR_ERR_XML_DETAIL carries the bare message
    return VirtError(msg, ErrorCode.XML_DETAIL, ErrorDomain.DOMAIN)


def validate(d: DomainDef) -> None:
    _os(d)
    _disks(d)
    _chardevs(d)
    _videos(d)
    _controllers(d)
    _usb(d)


def _os(d: DomainDef) -> None:
    os_ = d.os
    if os_.boot_menu_timeout is not None and not 0 <= os_.boot_menu_timeout <= 65535:
        raise _unsupported("invalid value for boot menu timeout, must be in range [0,65535]")
    loader = os_.loader
    la = loader.attrs if loader is not None else {}
    nvram = os_.nvram
    if os_.firmware is not None:
        if os_.firmware == "bios":
            if la.get("stateless") == "no":
                raise _detail("Only EFI firmware permits NVRAM")
            if nvram is not None:
                raise _detail("firmware type 'bios' does not support nvram")
        # with autoselection the loader may only say what it wants, not what it is
        if la.get("readonly") is not None:
            raise _detail("loader attribute 'readonly' cannot be specified when firmware "
                          "autoselection is enabled")
        if la.get("type") is not None or (loader is not None and loader.path is not None):
            raise _detail("loader attribute 'type' cannot be specified when firmware "
                          "autoselection is enabled")
        if la.get("secure") == "no":
            raise _detail("loader attribute 'secure' cannot be specified when firmware "
                          "autoselection is enabled")
        fw = next((e for e in os_.extra if e.tag == "firmware"), None)
        if fw is not None:
            feats = {f.get("name"): f.get("enabled") for f in fw.iterchildren("feature")}
            if feats.get("enrolled-keys") == "yes" and feats.get("secure-boot") == "no":
                raise _detail("firmware feature 'enrolled-keys' cannot be enabled when firmware "
                              "feature 'secure-boot' is disabled")
        return
    if loader is None:
        return
    if loader.path is None and la.get("type") == "pflash":
        raise _detail("no loader path specified and firmware auto selection disabled")
    if la.get("stateless") == "yes" and nvram is not None:
        if nvram.get("template") is not None:
            raise _detail("NVRAM template is not permitted when loader is stateless")
        raise _detail("NVRAM is not permitted when loader is stateless")
    if la.get("stateless") == "no" and la.get("type", "rom") != "pflash":
        raise _detail("Only pflash loader type permits NVRAM")


def _disks(d: DomainDef) -> None:
    seen: dict[tuple[str, int, int, int, int], str] = {}
    for disk in d.devices.disks:
        bus = disk.target.bus
        addr = disk.address
        if bus in _DRIVE_BUSES and addr is not None and addr.type != "drive":
            raise _unsupported(f"Invalid address type '{addr.type}' for the disk "
                               f"'{disk.target.dev}' with the bus type '{bus}'")
        if disk.device == DiskDevice.LUN:
            if disk.type == DiskType.NETWORK:
                proto = disk.source.protocol if disk.source is not None else None
                if proto not in _LUN_PROTOCOLS:
                    raise _unsupported(f"disk device='lun' is not supported for protocol='{proto}'")
            elif disk.type not in (DiskType.BLOCK,):
                raise _unsupported("disk device='lun' is only valid for block type disk source")
        if addr is not None and addr.type == "drive" and bus in _DRIVE_BUSES:
            key = (str(bus), addr.controller or 0, addr.bus or 0, addr.target or 0, addr.unit or 0)
            if key in seen:
                raise _unsupported(
                    f"Found duplicate drive address for disk with target name "
                    f"'{seen[key]}' controller='{key[1]}' bus='{key[2]}' "
                    f"target='{key[3]}' unit='{key[4]}'")
            seen[key] = disk.target.dev


def _chardevs(d: DomainDef) -> None:
    devs = d.devices
    # channels may leave the path to the driver (it generates one); the rest may not
    for ch in (*devs.serials, *devs.parallels, *devs.consoles):
        if str(ch.type) in ("unix", "file", "pipe", "dev") and not ch.source_path:
            raise InternalError("internal error: Missing source path attribute for char device",
                                domain=ErrorDomain.DOMAIN)


def _videos(d: DomainDef) -> None:
    videos = d.devices.videos
    if sum(1 for v in videos if v.primary) > 1:
        raise _unsupported("Only one primary video device is supported")
    if len(videos) > 1 and any(v.model == "none" for v in videos):
        raise _unsupported("a 'none' video type must be the only video device defined for the "
                           "domain")
    for v in videos:
        if v.model == "ramfb" and v.address is not None:
            raise _unsupported("address not supported for video type ramfb")


def _controllers(d: DomainDef) -> None:
    for c in d.devices.controllers:
        if c.type == "pci" and c.model == "pci-root" and c.target_index is not None:
            if c.target_index > 30:
                raise _unsupported(f"PCI controller target index '{c.target_index}' out of "
                                   f"range - must be 0-30")
            if (c.index == 0) != (c.target_index == 0):
                raise _unsupported("Only the PCI controller with index 0 can have target index "
                                   "0, and vice versa")
        if c.type == "pci" and c.model in ("pci-root", "pcie-root") and c.address is not None:
            raise _unsupported("pci-root and pcie-root controllers should not have an address")


def _usb(d: DomainDef) -> None:
    usb = [c for c in d.devices.controllers if c.type == "usb"]
    # only an explicit model='none' disables USB: without any USB controller the driver
    # adds its default one later
    if any(c.model == "none" for c in usb) and len(usb) > 1:
        raise _detail("Can't add another USB controller: USB is disabled for this domain")
    if not usb or any(c.model != "none" for c in usb):
        return
    if any(i.bus == "usb" for i in d.devices.inputs):
        raise _unsupported("Can't add USB input device. USB bus is disabled")
    if any(o.tag == "redirdev" for o in d.devices.others):
        raise _unsupported("cannot add redirected USB device: USB is disabled for this domain")
    if any(o.tag == "hub" for o in d.devices.others):
        raise _unsupported("Can't add USB hub: USB is disabled for this domain")
