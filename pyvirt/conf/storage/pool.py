"""<pool> XML: parse -> defaults -> validate -> format, in libvirt's canonical layout.

Every pool type's <source> is modelled structurally (hosts, devices, dir, adapter, name,
initiator, auth, vendor/product, format, protocol) because libvirt formats them the same way
for all types; only the dir and fs types have a backend in pyvirt.
"""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import dataclass, field
from enum import StrEnum

from lxml import etree

from pyvirt.conf._xml import Writer, attrs, esc, write_raw
from pyvirt.conf.storage.common import Perms, parse_root, sanitize_path, storage_error
from pyvirt.errors import ErrorCode, ErrorDomain, XMLError


class PoolType(StrEnum):
    """In libvirt's virStoragePoolType order: the index shows in some errors."""

    DIR = "dir"
    FS = "fs"
    NETFS = "netfs"
    LOGICAL = "logical"
    DISK = "disk"
    ISCSI = "iscsi"
    ISCSI_DIRECT = "iscsi-direct"
    SCSI = "scsi"
    MPATH = "mpath"
    RBD = "rbd"
    SHEEPDOG = "sheepdog"
    GLUSTER = "gluster"
    ZFS = "zfs"
    VSTORAGE = "vstorage"


# Pool types whose definition has no <target> (libvirt formats none for them).
NO_TARGET = frozenset({PoolType.RBD, PoolType.SHEEPDOG, PoolType.GLUSTER, PoolType.ISCSI_DIRECT})
# Pool types that need <source><device>, <source><dir>, <source><name>, <source><host>.
_NEEDS_DEVICE = frozenset({PoolType.FS, PoolType.DISK, PoolType.ISCSI})
_NEEDS_DIR = frozenset({PoolType.NETFS})
_NEEDS_HOST = frozenset({PoolType.NETFS, PoolType.ISCSI, PoolType.ISCSI_DIRECT, PoolType.RBD,
                         PoolType.GLUSTER})
# Default <format> per type when none is given (libvirt's defaultFormat of the pool options).
_DEFAULT_FORMAT = {PoolType.FS: "auto", PoolType.NETFS: "auto", PoolType.LOGICAL: "lvm2",
                   PoolType.DISK: "unknown"}
_FORMATS = {
    PoolType.FS: {"auto", "ext2", "ext3", "ext4", "ufs", "iso9660", "udf", "gfs", "gfs2", "vfat",
                  "hfs+", "xfs", "ocfs2", "vmfs"},
    PoolType.NETFS: {"auto", "nfs", "glusterfs", "cifs"},
    PoolType.LOGICAL: {"unknown", "lvm2"},
    PoolType.DISK: {"unknown", "dos", "dvh", "gpt", "mac", "bsd", "pc98", "sun", "lvm2"},
}


@dataclass(slots=True)
class Host:
    name: str
    port: int | None = None


@dataclass(slots=True)
class Device:
    path: str
    part_separator: bool | None = None


@dataclass(slots=True)
class Auth:
    type: str
    username: str
    secret_uuid: str | None = None
    secret_usage: str | None = None


@dataclass(slots=True)
class PoolSource:
    hosts: list[Host] = field(default_factory=list)
    devices: list[Device] = field(default_factory=list)
    dir: str | None = None
    adapter: list[tuple[str, str]] | None = None  # attributes in libvirt's output order
    adapter_kids: list[etree._Element] = field(default_factory=list)  # parentaddr, kept as is
    name: str | None = None
    initiator_iqn: str | None = None
    auth: Auth | None = None
    vendor: str | None = None
    product: str | None = None
    format: str | None = None
    protocol_ver: str | None = None


_ADAPTER_ORDER = ("type", "name", "parent", "parent_wwnn", "parent_wwpn", "parent_fabric_wwn",
                  "managed", "wwnn", "wwpn")


@dataclass(slots=True)
class PoolDef:
    type: PoolType
    name: str
    uuid: str
    capacity: int = 0
    allocation: int = 0
    available: int = 0
    cow: bool | None = None
    source: PoolSource = field(default_factory=PoolSource)
    target_path: str | None = None
    perms: Perms | None = None
    refresh_vol_alloc: str | None = None  # <refresh><volume allocation=.../></refresh>

    # ------------------------------------------------------------------ format
    def format(self) -> str:
        w = Writer()
        w.line(0, f"<pool type='{self.type.value}'>")
        w.text(1, "name", self.name)
        w.text(1, "uuid", self.uuid)
        for tag, val in (("capacity", self.capacity), ("allocation", self.allocation),
                         ("available", self.available)):
            w.line(1, f"<{tag} unit='bytes'>{val}</{tag}>")
        if self.cow is not None:
            w.line(1, "<features>")
            w.empty(2, "cow", attrs(("state", self.cow)))
            w.line(1, "</features>")
        self._format_source(w)
        if self.type not in NO_TARGET:
            w.line(1, "<target>")
            if self.target_path is not None:
                w.text(2, "path", self.target_path)
            if self.perms is not None:
                self.perms.format(w, 2)
            w.line(1, "</target>")
        if self.refresh_vol_alloc is not None:
            w.line(1, "<refresh>")
            w.empty(2, "volume", attrs(("allocation", self.refresh_vol_alloc)))
            w.line(1, "</refresh>")
        w.line(0, "</pool>")
        return w.getvalue()

    def _format_source(self, w: Writer) -> None:
        s = self.source
        w.line(1, "<source>")
        for h in s.hosts:
            w.empty(2, "host", attrs(("name", h.name), ("port", h.port)))
        for d in s.devices:
            w.empty(2, "device", attrs(("path", d.path), ("part_separator", d.part_separator)))
        if s.dir is not None:
            w.empty(2, "dir", attrs(("path", s.dir)))
        if s.adapter is not None:
            head = "".join(f" {k}='{esc(v)}'" for k, v in s.adapter)
            if s.adapter_kids:
                w.line(2, f"<adapter{head}>")
                for kid in s.adapter_kids:
                    write_raw(w, 3, kid, None)
                w.line(2, "</adapter>")
            else:
                w.empty(2, "adapter", head)
        if s.name is not None:
            w.text(2, "name", s.name)
        if s.initiator_iqn is not None:
            w.line(2, "<initiator>")
            w.empty(3, "iqn", attrs(("name", s.initiator_iqn)))
            w.line(2, "</initiator>")
        if s.auth is not None:
            a = s.auth
            w.line(2, f"<auth{attrs(('type', a.type), ('username', a.username))}>")
            w.empty(3, "secret", attrs(("uuid", a.secret_uuid), ("usage", a.secret_usage)))
            w.line(2, "</auth>")
        if s.vendor is not None:
            w.empty(2, "vendor", attrs(("name", s.vendor)))
        if s.product is not None:
            w.empty(2, "product", attrs(("name", s.product)))
        if s.format is not None:
            w.empty(2, "format", attrs(("type", s.format)))
        if s.protocol_ver is not None:
            w.empty(2, "protocol", attrs(("ver", s.protocol_ver)))
        w.line(1, "</source>")


# ---------------------------------------------------------------------------------- parse


def parse_pool_xml(xml: str) -> PoolDef:
    """Parse, default and validate a <pool> definition (virStoragePoolDefParseString)."""
    root = parse_root(xml, "pool", "storage_pool_definition")
    unknown_ns = [k for k in root.nsmap if k is not None]
    if unknown_ns:
        raise storage_error(f"unsupported configuration: pool namespace '{unknown_ns[0]}' "
                            "options are not supported", ErrorCode.CONFIG_UNSUPPORTED)
    # these two come from libvirt's generic XML layer (VIR_FROM_XML), not the storage one
    type_s = root.get("type")
    if type_s is None:
        raise XMLError("XML error: Missing required attribute 'type' in element 'pool'",
                       domain=ErrorDomain.XML)
    try:
        ptype = PoolType(type_s)
    except ValueError:
        raise XMLError(f"XML error: Invalid value for attribute 'type' in element 'pool': "
                       f"'{type_s}'.", domain=ErrorDomain.XML) from None
    # a logical pool may be named by its volume group only
    name = root.findtext("name") or (root.findtext("source/name")
                                     if ptype is PoolType.LOGICAL else None)
    if not name:
        raise storage_error("XML error: missing pool source name element")
    check_name(name)
    uuid_s = root.findtext("uuid")
    if uuid_s is None:
        uuid_s = str(uuidlib.uuid4())
    else:
        try:
            uuid_s = str(uuidlib.UUID(uuid_s.strip()))
        except ValueError:
            raise storage_error("XML error: malformed uuid element") from None
    pool = PoolDef(ptype, name, uuid_s)
    # capacity/allocation/available are runtime figures: libvirt ignores them on input.
    cow = root.find("features/cow")
    if cow is not None:
        state = cow.get("state")
        if state not in ("yes", "no"):
            raise storage_error("XML error: Invalid value for attribute 'state' in element 'cow'")
        pool.cow = state == "yes"
    pool.source = _parse_source(root.find("source"), ptype)
    if ptype is PoolType.GLUSTER and pool.source.dir is None:
        pool.source.dir = "/"
    if ptype is PoolType.LOGICAL and pool.source.name is None:
        pool.source.name = name
    tpath = root.findtext("target/path")
    if ptype not in NO_TARGET:
        if ptype is PoolType.LOGICAL:  # a volume group always lives at /dev/VG
            tpath = f"/dev/{pool.source.name}"
        elif ptype is PoolType.ZFS:
            tpath = f"/dev/zvol/{pool.source.name}"
        if not tpath:
            raise storage_error("XML error: missing storage pool target path")
        pool.target_path = sanitize_path(tpath.strip())
        pool.perms = Perms.parse(root.find("target/permissions"))
    refresh = root.find("refresh/volume")
    if refresh is not None:
        pool.refresh_vol_alloc = refresh.get("allocation")
    _validate_source(pool)
    return pool


def check_name(name: str) -> None:
    """Pool/volume names become file names: no '/' (libvirt rejects it the same way)."""
    if "/" in name:
        raise storage_error(f"XML error: name {name} cannot contain '/'")


def _parse_source(el: etree._Element | None, ptype: PoolType) -> PoolSource:
    src = PoolSource()
    if el is None:
        return src
    for h in el.iterchildren("host"):
        hname = h.get("name")
        if not hname:
            raise storage_error("XML error: missing storage pool host name")
        port = h.get("port")
        try:
            src.hosts.append(Host(hname, int(port) if port is not None else None))
        except ValueError:
            raise storage_error(f"XML error: Invalid port number: {port}") from None
    for d in el.iterchildren("device"):
        path = d.get("path")
        if not path:
            raise storage_error("XML error: missing storage pool source device path")
        sep = d.get("part_separator")
        src.devices.append(Device(path, None if sep is None else sep == "yes"))
    dir_el = el.find("dir")
    if dir_el is not None:
        src.dir = sanitize_path(dir_el.get("path") or "") if ptype is not PoolType.NETFS or (
            dir_el.get("path") or "").startswith("/") else dir_el.get("path")
    ad = el.find("adapter")
    if ad is not None:
        src.adapter = [(k, str(ad.get(k))) for k in _ADAPTER_ORDER if ad.get(k) is not None]
        if ad.get("type") is None:  # the legacy form (name only) means a SCSI host
            src.adapter.insert(0, ("type", "scsi_host"))
        src.adapter_kids = list(ad)
    src.name = el.findtext("name")
    src.initiator_iqn = el.find("initiator/iqn").get("name") if el.find("initiator/iqn") is not None else None  # type: ignore[union-attr]
    auth = el.find("auth")
    if auth is not None:
        sec = auth.find("secret")
        src.auth = Auth(auth.get("type") or "", auth.get("username") or "",
                        sec.get("uuid") if sec is not None else None,
                        sec.get("usage") if sec is not None else None)
    for tag in ("vendor", "product"):
        sub = el.find(tag)
        if sub is not None:
            setattr(src, tag, sub.get("name"))
    fmt = el.find("format")
    if fmt is not None:
        src.format = fmt.get("type")
    proto = el.find("protocol")
    if proto is not None:
        src.protocol_ver = proto.get("ver")
    return src


def _validate_source(pool: PoolDef) -> None:
    s, t = pool.source, pool.type
    if t in _NEEDS_HOST and not s.hosts:
        raise storage_error("XML error: missing storage pool source host name")
    if t in _NEEDS_DEVICE and not s.devices:
        raise storage_error("XML error: missing storage pool source device path")
    if t in _NEEDS_DIR and s.dir is None:
        raise storage_error("XML error: missing storage pool source path")
    if t in _FORMATS:
        if s.format is None:
            s.format = _DEFAULT_FORMAT[t]
        elif s.format not in _FORMATS[t]:
            raise storage_error(f"XML error: unknown pool format type {s.format}")
