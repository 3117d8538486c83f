"""``<disk>``: type, device, driver, source, backing chain, target and flags."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from pyvirt.conf._xml import (
    Writer,
    attrs,
    check_attr,
    check_enum,
    enum_attr,
    esc,
    parse_int,
    write_raw,
)
from pyvirt.conf.domain.base import DeviceDef, emit_extras, format_info, parse_info
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

if TYPE_CHECKING:
    from lxml import etree


class DiskType(StrEnum):
    FILE = "file"
    BLOCK = "block"
    DIR = "dir"
    NETWORK = "network"
    VOLUME = "volume"
    NVME = "nvme"
    VHOSTUSER = "vhostuser"


class DiskDevice(StrEnum):
    DISK = "disk"
    CDROM = "cdrom"
    FLOPPY = "floppy"
    LUN = "lun"


class DiskBus(StrEnum):
    IDE = "ide"
    FDC = "fdc"
    SCSI = "scsi"
    VIRTIO = "virtio"
    XEN = "xen"
    USB = "usb"
    UML = "uml"
    SATA = "sata"
    SD = "sd"


DISK_CACHE_MODES = ("default", "none", "writethrough", "writeback", "directsync", "unsafe")
# virStorageFileFormat names a disk <driver type=...> may use
DISK_FORMATS = ("none", "raw", "dir", "bochs", "cloop", "dmg", "iso", "vpc", "vdi", "fat", "vhd",
                "ploop", "cow", "qcow", "qcow2", "qed", "vmdk", "luks", "aio")

# Attribute order of <driver> as libvirt formats it.
_DRIVER_ATTRS = ("name", "type", "cache", "error_policy", "rerror_policy", "io", "ioeventfd",
                 "event_idx", "copy_on_read", "discard", "iothread", "detect_zeroes", "queues",
                 "queue_size")


@dataclass(slots=True, kw_only=True)
class DiskDriverDef:
    name: str | None = None
    type: str | None = None  # raw, qcow2, ...
    cache: str | None = None
    io: str | None = None
    discard: str | None = None
    error_policy: str | None = None
    rerror_policy: str | None = None
    ioeventfd: str | None = None
    event_idx: str | None = None
    copy_on_read: str | None = None
    iothread: str | None = None
    detect_zeroes: str | None = None
    queues: str | None = None
    queue_size: str | None = None
    other: dict[str, str] = field(default_factory=dict)  # iommu, ats, packed ... in order
    extra: list[etree._Element] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class DiskSourceDef:
    """``<source>``; ``path`` is the file, dev or dir depending on the disk type."""

    path: str | None = None
    protocol: str | None = None
    name: str | None = None
    pool: str | None = None
    volume: str | None = None
    mode: str | None = None
    type: str | None = None  # vhostuser: unix
    startup_policy: str | None = None
    index: int | None = None
    other: dict[str, str] = field(default_factory=dict)
    extra: list[etree._Element] = field(default_factory=list)  # <host>, <auth>, <slices>...


@dataclass(slots=True, kw_only=True)
class BackingStoreDef:
    """One link of a backing chain; ``type`` None is the terminating ``<backingStore/>``."""

    type: str | None = None
    index: int | None = None
    format: str | None = None
    format_extra: list[etree._Element] = field(default_factory=list)  # <metadata_cache>
    source: DiskSourceDef | None = None
    backing_store: BackingStoreDef | None = None


@dataclass(slots=True, kw_only=True)
class DiskTargetDef:
    dev: str
    bus: DiskBus | None = None
    tray: str | None = None
    removable: str | None = None
    rotation_rate: int | None = None


@dataclass(slots=True, kw_only=True)
class DiskDef(DeviceDef):
    type: DiskType = DiskType.FILE
    device: DiskDevice = DiskDevice.DISK
    target: DiskTargetDef = field(default_factory=lambda: DiskTargetDef(dev=""))
    driver: DiskDriverDef | None = None
    source: DiskSourceDef | None = None
    backing_store: BackingStoreDef | None = None
    model: str | None = None
    snapshot: str | None = None
    rawio: str | None = None
    sgio: str | None = None
    readonly: bool = False
    shareable: bool = False
    transient: bool = False
    transient_share_backing: str | None = None
    serial: str | None = None
    wwn: str | None = None
    vendor: str | None = None
    product: str | None = None


_PATH_ATTR = {DiskType.FILE: "file", DiskType.BLOCK: "dev", DiskType.DIR: "dir",
              DiskType.VHOSTUSER: "path"}
_SRC_KNOWN = {"file", "dev", "dir", "path", "protocol", "name", "pool", "volume", "mode",
              "type", "startupPolicy", "index"}


def _parse_source(el: etree._Element, dtype: str | None) -> DiskSourceDef:
    g = el.get
    src = DiskSourceDef(protocol=g("protocol"), name=g("name"), pool=g("pool"),
                        volume=g("volume"), mode=g("mode"), type=g("type"),
                        startup_policy=g("startupPolicy"), index=parse_int(g("index"), "index"))
    attr = _PATH_ATTR.get(DiskType(dtype)) if dtype in DiskType._value2member_map_ else None  # type: ignore[arg-type]
    if attr is not None:
        src.path = g(attr)
    src.other = {str(k): str(v) for k, v in el.attrib.items() if k not in _SRC_KNOWN}
    src.extra = list(el)
    if dtype == DiskType.NETWORK and src.protocol in DEFAULT_PORTS:
        _host_ports(el, DEFAULT_PORTS[src.protocol])
    return src


# the port libvirt fills in for a network disk <host> that names none, per protocol
DEFAULT_PORTS = {"nbd": "10809", "iscsi": "3260", "gluster": "24007", "http": "80",
                 "https": "443", "ftp": "21", "ftps": "990", "tftp": "69", "ssh": "22",
                 "sheepdog": "7000"}


def _host_ports(src: etree._Element, port: str) -> None:
    for host in src.iterchildren("host"):
        if host.get("port") is not None or host.get("transport") in ("unix", "rdma"):
            continue
        if host.get("name") is None:
            continue
        rest = [(k, v) for k, v in host.attrib.items() if k != "name"]
        name = host.get("name") or ""
        host.attrib.clear()
        host.set("name", name)
        host.set("port", port)
        for k, v in rest:
            host.set(k, v)


def _source_attrs(src: DiskSourceDef, dtype: str | None, inactive: bool) -> str:
    attr = _PATH_ATTR.get(DiskType(dtype)) if dtype in DiskType._value2member_map_ else None  # type: ignore[arg-type]
    pairs: list[tuple[str, object | None]] = []
    if dtype in (DiskType.VHOSTUSER, DiskType.NVME):
        pairs += [("type", src.type), ("path", src.path)]
    elif attr is not None:
        pairs.append((attr, src.path))
    elif dtype == DiskType.NETWORK:
        pairs += [("protocol", src.protocol), ("name", src.name)]
    elif dtype == DiskType.VOLUME:
        pairs += [("pool", src.pool), ("volume", src.volume), ("mode", src.mode)]
    pairs += list(src.other.items())
    pairs.append(("startupPolicy", src.startup_policy))
    if not inactive:
        pairs.append(("index", src.index))
    return attrs(*pairs)


def _format_source(w: Writer, depth: int, src: DiskSourceDef, dtype: str | None,
                   inactive: bool) -> None:
    at = _source_attrs(src, dtype, inactive)
    if not src.extra:
        if at:
            w.empty(depth, "source", at)
        return
    w.line(depth, f"<source{at}>")
    for c in src.extra:
        write_raw(w, depth + 1, c, None)
    w.line(depth, "</source>")


def _parse_backing(el: etree._Element) -> BackingStoreDef:
    bs = BackingStoreDef(type=el.get("type"), index=parse_int(el.get("index"), "index"))
    for c in el:
        if c.tag == "format":
            bs.format = c.get("type")
            bs.format_extra = [x for x in c if isinstance(x.tag, str)]
        elif c.tag == "source":
            bs.source = _parse_source(c, bs.type)
        elif c.tag == "backingStore":
            bs.backing_store = _parse_backing(c)
    return bs


def _format_backing(w: Writer, depth: int, bs: BackingStoreDef, inactive: bool) -> None:
    if bs.type is None:
        w.empty(depth, "backingStore")
        return
    w.line(depth, f"<backingStore{attrs(('type', bs.type), ('index', bs.index))}>")
    if bs.format is not None:
        if bs.format_extra:
            w.line(depth + 1, f"<format{attrs(('type', bs.format))}>")
            emit_extras(w, depth + 2, bs.format_extra)
            w.line(depth + 1, "</format>")
        else:
            w.empty(depth + 1, "format", attrs(("type", bs.format)))
    if bs.source is not None:
        _format_source(w, depth + 1, bs.source, bs.type, inactive)
    if bs.backing_store is not None:
        _format_backing(w, depth + 1, bs.backing_store, inactive)
    w.line(depth, "</backingStore>")


def parse_disk(el: etree._Element) -> DiskDef:
    g = el.get
    dtype = enum_attr(DiskType, el, "type", "file")
    device = enum_attr(DiskDevice, el, "device", "disk")
    assert dtype is not None and device is not None
    disk = DiskDef(type=dtype, device=device, model=g("model"), snapshot=g("snapshot"),
                   rawio=g("rawio"), sgio=g("sgio"))
    target: DiskTargetDef | None = None
    for c in el:
        tag = c.tag
        if not isinstance(tag, str):
            continue
        if parse_info(c, disk):
            continue
        if tag == "driver":
            drv = DiskDriverDef()
            for k in _DRIVER_ATTRS:
                setattr(drv, k, c.get(k))
            check_attr(drv.cache, DISK_CACHE_MODES, "cache", "driver")
            check_attr(drv.io, ("native", "threads", "io_uring"), "io", "driver")
            check_attr(drv.discard, ("unmap", "ignore"), "discard", "driver")
            check_enum(drv.type, DISK_FORMATS, "unknown driver format value '{}'")
            drv.other = {str(k): str(v) for k, v in c.attrib.items() if k not in _DRIVER_ATTRS}
            drv.extra = list(c)
            disk.driver = drv
        elif tag == "source":
            disk.source = _parse_source(c, dtype)
        elif tag == "backingStore":
            disk.backing_store = _parse_backing(c)
        elif tag == "target":
            dev = c.get("dev")
            if not dev:
                break
            bus = enum_attr(DiskBus, c, "bus")
            target = DiskTargetDef(dev=dev, bus=bus, tray=c.get("tray"),
                                   removable=c.get("removable"),
                                   rotation_rate=parse_int(c.get("rotation_rate"), "rotation_rate"))
        elif tag == "readonly":
            disk.readonly = True
        elif tag == "shareable":
            disk.shareable = True
        elif tag == "transient":
            disk.transient = True
            disk.transient_share_backing = c.get("shareBacking")
        elif tag in ("serial", "wwn", "vendor", "product"):
            setattr(disk, tag, c.text or "")
        else:
            disk.extra.append(c)
    if target is None:
        src = disk.source.path if disk.source is not None else None
        raise VirtError(f"missing target information for device {src or ''}".rstrip(),
                        ErrorCode.NO_TARGET, ErrorDomain.DOMAIN)
    disk.target = target
    return disk


_BEFORE_TARGET = ("auth", "backenddomain", "geometry", "blockio", "mirror")
_BEFORE_FLAGS = ("iotune",)


def format_disk(w: Writer, depth: int, disk: DiskDef, inactive: bool) -> None:
    w.line(depth, "<disk" + attrs(("type", disk.type), ("device", disk.device),
                                  ("model", disk.model), ("rawio", disk.rawio),
                                  ("sgio", disk.sgio), ("snapshot", disk.snapshot)) + ">")
    d = depth + 1
    drv = disk.driver
    if drv is not None:
        at = attrs(*((k, getattr(drv, k)) for k in _DRIVER_ATTRS), *drv.other.items())
        if drv.extra:
            w.line(d, f"<driver{at}>")
            emit_extras(w, d + 1, drv.extra)
            w.line(d, "</driver>")
        elif at:
            w.empty(d, "driver", at)
    emit_extras(w, d, disk.extra, ("auth",))
    if disk.source is not None:
        _format_source(w, d, disk.source, disk.type, inactive)
    if disk.backing_store is not None:
        _format_backing(w, d, disk.backing_store, inactive)
    emit_extras(w, d, disk.extra, _BEFORE_TARGET[1:])
    t = disk.target
    tray = t.tray if t.tray == "open" else None  # closed is the default libvirt leaves out
    w.empty(d, "target", attrs(("dev", t.dev), ("bus", t.bus), ("tray", tray),
                               ("removable", t.removable), ("rotation_rate", t.rotation_rate)))
    emit_extras(w, d, disk.extra, _BEFORE_FLAGS)
    if disk.readonly:
        w.empty(d, "readonly")
    if disk.shareable:
        w.empty(d, "shareable")
    if disk.transient:
        w.empty(d, "transient", attrs(("shareBacking", disk.transient_share_backing)))
    for tag in ("serial", "wwn", "vendor", "product"):
        val = getattr(disk, tag)
        if val is not None:
            w.line(d, f"<{tag}>{esc(val)}</{tag}>")
    known = set(_BEFORE_TARGET) | set(_BEFORE_FLAGS)
    emit_extras(w, d, [e for e in disk.extra if e.tag not in known])
    format_info(w, d, disk, inactive)
    w.line(depth, "</disk>")
