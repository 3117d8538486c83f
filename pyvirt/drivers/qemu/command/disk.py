"""Disks: one ``-blockdev`` pair (protocol "storage" node + format node) and one ``-device``
per disk, named ``libvirt-N-storage`` / ``libvirt-N-format`` like libvirt 9 does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pyvirt.drivers.qemu.command.util import JsonProps, pci_props, qjson, virtio_opts
from pyvirt.errors import ConfigUnsupported

if TYPE_CHECKING:
    from lxml import etree

    from pyvirt.conf.domain import DiskDef, DomainDef

# libvirt's cache modes as (writeback, direct, no-flush); writeback goes to the device's
# write-cache property, the other two to every block node.
CACHE_MODES: dict[str, tuple[bool, bool, bool]] = {
    "writeback": (True, False, False),
    "writethrough": (False, False, False),
    "none": (True, True, False),
    "directsync": (False, True, False),
    "unsafe": (True, False, True),
}

# Bus -> device driver for (disk, cdrom).
_IDE_LIKE = {"ide", "sata"}


@dataclass(frozen=True, slots=True)
class Layer:
    """One image of a disk's chain (top first): how QEMU opens it and in which format."""

    protocol: str  # blockdev driver: file / host_device / host_cdrom
    path: str
    fmt: str


# What a chain ends with below its last layer: explicitly nothing (<backingStore/>), or
# not said (libvirt would probe the image; we leave QEMU to open what the image names).
_END_NONE, _END_UNKNOWN = "none", "unknown"


def _protocol(stype: str | None, path: str, cdrom: bool) -> str:
    if stype in (None, "file"):
        return "file"
    if stype == "block":
        return "host_cdrom" if cdrom and path.startswith("/dev/cdrom") else "host_device"
    raise ConfigUnsupported(f"unsupported configuration: disk type '{stype}' is not supported")


def _fmt(fmt: str | None) -> str:
    fmt = str(fmt or "raw")
    if fmt not in ("raw", "qcow2"):
        raise ConfigUnsupported(f"unsupported configuration: disk format '{fmt}' is not supported")
    return fmt


def disk_layers(disk: DiskDef) -> tuple[list[Layer], str]:
    """The disk's image chain, top first, and how it ends (empty for a CD-ROM without media)."""
    if not disk_has_media(disk):
        return [], _END_UNKNOWN
    assert disk.source is not None and disk.source.path is not None
    cdrom = str(disk.device) == "cdrom"
    layers = [Layer(_protocol(str(disk.type), disk.source.path, cdrom), disk.source.path,
                    _fmt(disk.driver.type if disk.driver is not None else None))]
    bs = disk.backing_store
    while bs is not None and bs.type is not None:
        if bs.source is None or bs.source.path is None:
            raise ConfigUnsupported("unsupported configuration: backing store without a local path")
        layers.append(Layer(_protocol(str(bs.type), bs.source.path, False), bs.source.path, _fmt(bs.format)))
        bs = bs.backing_store
    return layers, _END_NONE if bs is not None else _END_UNKNOWN


def disk_has_media(disk: DiskDef) -> bool:
    return disk.source is not None and disk.source.path is not None


def blockdev_args(disk: DiskDef, index: int) -> list[str]:
    """The storage + format node pairs of one disk's chain, bottom layer first (QEMU must
    know a backing node before the node that names it). ``index`` is the top's number."""
    layers, end = disk_layers(disk)
    drv = disk.driver
    cache: dict[str, bool] | None = None
    cache_mode = effective_cache(disk)
    if cache_mode is not None:
        mode = CACHE_MODES.get(cache_mode)
        if mode is None:
            raise ConfigUnsupported(f"unsupported configuration: disk cache mode '{cache_mode}'")
        cache = {"direct": mode[1], "no-flush": mode[2]}
    argv: list[str] = []
    for depth in range(len(layers) - 1, -1, -1):
        layer = layers[depth]
        node = f"libvirt-{index + depth}"
        storage: JsonProps = {"driver": layer.protocol, "filename": layer.path}
        if drv is not None and drv.io:
            storage["aio"] = drv.io
        storage["node-name"] = f"{node}-storage"
        if cache is not None:
            storage["cache"] = cache
        storage["auto-read-only"] = True
        storage["discard"] = "unmap"
        top = depth == 0
        ro = (bool(disk.readonly) or str(disk.device) == "cdrom") if top else True
        fmt_node: JsonProps = {"node-name": f"{node}-format", "read-only": ro}
        if top and drv is not None and drv.discard:
            fmt_node["discard"] = drv.discard
        if cache is not None:
            fmt_node["cache"] = cache
        fmt_node["driver"] = layer.fmt
        fmt_node["file"] = f"{node}-storage"
        if depth + 1 < len(layers):
            fmt_node["backing"] = f"libvirt-{index + depth + 1}-format"
        elif end == _END_NONE and layer.fmt == "qcow2":
            fmt_node["backing"] = None  # the chain ends here: QEMU must not open a backing file
        argv += ["-blockdev", qjson(storage), "-blockdev", qjson(fmt_node)]
    return argv


def effective_cache(disk: DiskDef) -> str | None:
    """The cache mode in force: a writable shared disk must not be cached on the host, so
    libvirt runs it with cache=none unless the XML says otherwise."""
    if disk.driver is not None and disk.driver.cache:
        return str(disk.driver.cache)
    if disk.shareable and not disk.readonly:
        return "none"
    return None


def _write_cache(disk: DiskDef) -> str | None:
    mode = effective_cache(disk)
    if mode is None or mode not in CACHE_MODES:
        return None
    return "on" if CACHE_MODES[mode][0] else "off"


def device_props(disk: DiskDef, index: int, bootindex: int | None, defn: DomainDef) -> JsonProps:
    bus = str(disk.target.bus)
    dev = str(disk.device)
    has_media = disk_has_media(disk)
    addr = disk.address
    props: JsonProps
    if bus == "virtio":
        if dev != "disk":
            raise ConfigUnsupported(f"unsupported configuration: virtio disk device '{dev}'")
        props = {"driver": "virtio-blk-pci", **virtio_opts(disk)}
        props.update(pci_props(addr, defn))
    elif bus in _IDE_LIKE or bus == "fdc":
        if addr is None or str(addr.type) != "drive":
            raise ConfigUnsupported(f"unsupported configuration: {bus} disk '{disk.target.dev}' needs a drive address")
        if bus == "fdc":
            props = {"driver": "floppy", "unit": addr.unit}
        else:
            props = {"driver": "ide-cd" if dev == "cdrom" else "ide-hd"}
        if bus == "fdc":
            if str(defn.os.machine or "").startswith(("q35", "pc-q35-")):
                raise ConfigUnsupported("unsupported configuration: floppy disks on q35 need an isa-fdc we do not build")
        elif bus == "ide":
            props["bus"] = f"ide.{addr.bus}"
            props["unit"] = addr.unit
        else:
            props["bus"] = f"{_sata_ctrl_alias(defn, int(addr.controller or 0))}.{addr.unit}"
    elif bus == "scsi":
        props = _scsi_props(disk, defn)
    else:
        raise ConfigUnsupported(f"unsupported configuration: disk bus '{bus}' is not supported")
    if disk.shareable:
        props["share-rw"] = True
    if has_media:
        props["drive"] = f"libvirt-{index}-format"
    props["id"] = disk.alias
    if bootindex is not None and bus != "fdc":  # floppies boot via isa-fdc globals
        props["bootindex"] = bootindex
    props.update(_tail_props(disk))
    return props


def _kept(disk: DiskDef, tag: str) -> etree._Element | None:
    return next((e for e in disk.extra if e.tag == tag), None)


def _tail_props(disk: DiskDef) -> JsonProps:
    """Guest-visible disk properties after ``bootindex``, in libvirt's order."""
    props: JsonProps = {}
    blockio = _kept(disk, "blockio")
    if blockio is not None:
        for attr in ("logical_block_size", "physical_block_size"):
            if blockio.get(attr):
                props[attr] = int(str(blockio.get(attr)))
    if disk.wwn:
        props["wwn"] = int(disk.wwn, 16)
    if disk.target.rotation_rate is not None:
        props["rotation_rate"] = disk.target.rotation_rate
    wc = _write_cache(disk)
    if wc is not None:
        props["write-cache"] = wc
    geometry = _kept(disk, "geometry")
    if geometry is not None:
        for attr in ("cyls", "heads", "secs"):
            if geometry.get(attr):
                props[attr] = int(str(geometry.get(attr)))
        if geometry.get("trans"):
            props["bios-chs-trans"] = geometry.get("trans")
    if disk.serial:
        props["serial"] = disk.serial
    return props


def _scsi_props(disk: DiskDef, defn: DomainDef) -> JsonProps:
    """scsi-hd / scsi-cd on an lsi (unit = SCSI id) or virtio-scsi (channel/id/lun) HBA."""
    addr = disk.address
    if addr is None or str(addr.type) != "drive":
        raise ConfigUnsupported(f"unsupported configuration: scsi disk '{disk.target.dev}' needs a drive address")
    dev = str(disk.device)
    if dev not in ("disk", "cdrom"):
        raise ConfigUnsupported(f"unsupported configuration: scsi disk device '{dev}' is not supported")
    ctrl = next((c for c in defn.devices.controllers
                 if str(c.type) == "scsi" and c.index == addr.controller), None)
    if ctrl is None:
        raise ConfigUnsupported(f"unsupported configuration: no SCSI controller {addr.controller}")
    props: JsonProps = {"driver": "scsi-cd" if dev == "cdrom" else "scsi-hd", "bus": f"{ctrl.alias}.0"}
    if str(ctrl.model) == "virtio-scsi":
        props.update({"channel": addr.bus, "scsi-id": addr.target, "lun": addr.unit})
        props["device_id"] = disk.serial or f"drive-scsi{addr.controller}-{addr.bus}-{addr.target}-{addr.unit}"
    else:
        if addr.target:
            raise ConfigUnsupported("unsupported configuration: target must be 0 for controller model 'lsilogic'")
        props["scsi-id"] = addr.unit
        props["device_id"] = disk.serial or f"drive-scsi{addr.controller}-{addr.bus}-{addr.unit}"
    return props


def _sata_ctrl_alias(defn: DomainDef, index: int) -> str:
    for c in defn.devices.controllers:
        if str(c.type) == "sata" and c.index == index:
            return str(c.alias)
    return f"sata{index}"


def floppy_boot_args(defn: DomainDef, bootindexes: dict[int, int]) -> list[str]:
    """The on-board floppy controller takes the boot index, per drive letter A/B."""
    argv: list[str] = []
    for disk in defn.devices.disks:
        n = bootindexes.get(id(disk))
        if n is not None and str(disk.target.bus) == "fdc" and disk.address is not None:
            argv += ["-global", f"isa-fdc.bootindex{'AB'[int(disk.address.unit or 0)]}={n}"]
    return argv


def disk_args(defn: DomainDef, bootindexes: dict[int, int]) -> list[str]:
    """All disks, in definition order; node indexes count down as libvirt assigns them."""
    disks = defn.devices.disks
    argv = floppy_boot_args(defn, bootindexes)
    # libvirt numbers nodes from the last disk up, each disk's top image first and its
    # backing images after it: the first disk of four plain ones is libvirt-4.
    tops: dict[int, int] = {}
    counter = 1
    for disk in reversed(disks):
        tops[id(disk)] = counter
        counter += max(1, len(disk_layers(disk)[0]))
    for disk in disks:
        index = tops[id(disk)]
        argv += blockdev_args(disk, index)
        argv += ["-device", qjson(device_props(disk, index, bootindexes.get(id(disk)), defn))]
    return argv
