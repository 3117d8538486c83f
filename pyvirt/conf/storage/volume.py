"""<volume> XML: parse -> defaults -> validate -> format, in libvirt's canonical layout.

A volume is parsed against its pool's type: that decides the default volume type (file for
filesystem pools, block for logical/disk ones) and whether a default format applies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from lxml import etree

from pyvirt.conf._xml import Writer, attrs, write_raw
from pyvirt.conf.storage.common import Perms, parse_root, sanitize_path, scale, storage_error
from pyvirt.conf.storage.pool import PoolType
from pyvirt.errors import ErrorCode

PARSE_NO_CAPACITY = 1 << 1  # VIR_VOL_XML_PARSE_NO_CAPACITY
PARSE_OPT_CAPACITY = 1 << 0  # VIR_VOL_XML_PARSE_OPT_CAPACITY


class VolType(StrEnum):
    FILE = "file"
    BLOCK = "block"
    DIR = "dir"
    NETWORK = "network"
    NETDIR = "netdir"
    PLOOP = "ploop"


class VolFormat(StrEnum):
    """File volume formats libvirt knows (virStorageFileFormat)."""

    NONE = "none"
    RAW = "raw"
    DIR = "dir"
    BOCHS = "bochs"
    CLOOP = "cloop"
    DMG = "dmg"
    ISO = "iso"
    VPC = "vpc"
    VDI = "vdi"
    FAT = "fat"
    VHD = "vhd"
    PLOOP = "ploop"
    COW = "cow"
    QCOW = "qcow"
    QCOW2 = "qcow2"
    QED = "qed"
    VMDK = "vmdk"


_FILE_POOLS = frozenset({PoolType.DIR, PoolType.FS, PoolType.NETFS, PoolType.GLUSTER,
                         PoolType.VSTORAGE})
_FEATURES = ("lazy_refcounts", "extended_l2")


@dataclass(slots=True)
class BackingStore:
    path: str
    format: str | None = None
    perms: Perms | None = None
    timestamps: dict[str, str] | None = None  # live only (stat of the backing file)


def _format_timestamps(w: Writer, ts: dict[str, str] | None) -> None:
    if not ts:
        return
    w.line(2, "<timestamps>")
    for k in ("atime", "mtime", "ctime", "btime"):  # libvirt's order
        if k in ts:
            w.text(3, k, ts[k])
    w.line(2, "</timestamps>")


@dataclass(slots=True)
class VolDef:
    name: str
    type: VolType = VolType.FILE
    key: str | None = None
    capacity: int = 0
    allocation: int = 0
    path: str | None = None
    format: str | None = None
    perms: Perms | None = None
    compat: str | None = None
    cluster_size: int | None = None
    nocow: bool = False
    features: list[str] | None = None
    encryption: etree._Element | None = None
    backing: BackingStore | None = None
    # timestamps (atime, mtime, ctime, btime) as "sec.nsec"; filled from stat, never parsed
    timestamps: dict[str, str] = field(default_factory=dict)
    physical: int | None = None  # live only: the file's size
    has_allocation: bool = False  # <allocation> was given (else it follows capacity)

    def format_xml(self) -> str:
        w = Writer()
        w.line(0, f"<volume type='{self.type.value}'>")
        w.text(1, "name", self.name)
        if self.key is not None:
            w.text(1, "key", self.key)
        w.line(1, f"<capacity unit='bytes'>{self.capacity}</capacity>")
        w.line(1, f"<allocation unit='bytes'>{self.allocation}</allocation>")
        if self.physical is not None:
            w.line(1, f"<physical unit='bytes'>{self.physical}</physical>")
        w.line(1, "<target>")
        if self.path is not None:
            w.text(2, "path", self.path)
        if self.format is not None:
            w.empty(2, "format", attrs(("type", self.format)))
        if self.perms is not None:
            self.perms.format(w, 2)
        _format_timestamps(w, self.timestamps)
        if self.encryption is not None:
            write_raw(w, 2, self.encryption, None)
        if self.compat is not None:
            w.text(2, "compat", self.compat)
        if self.cluster_size is not None:
            w.line(2, f"<clusterSize unit='B'>{self.cluster_size}</clusterSize>")
        if self.features is not None:
            if self.features:
                w.line(2, "<features>")
                for f in self.features:
                    w.empty(3, f)
                w.line(2, "</features>")
            else:
                w.empty(2, "features")
        w.line(1, "</target>")
        if self.backing is not None:
            b = self.backing
            w.line(1, "<backingStore>")
            w.text(2, "path", b.path)
            if b.format is not None:
                w.empty(2, "format", attrs(("type", b.format)))
            if b.perms is not None:
                b.perms.format(w, 2)
            _format_timestamps(w, b.timestamps)
            w.line(1, "</backingStore>")
        w.line(0, "</volume>")
        return w.getvalue()


def parse_vol_xml(xml: str, pool_type: PoolType = PoolType.DIR, flags: int = 0) -> VolDef:
    """Parse, default and validate a <volume> for a pool of ``pool_type``
    (virStorageVolDefParseString)."""
    root = parse_root(xml, "volume", "storage_volume_definition")
    name = root.findtext("name")
    if not name:
        raise storage_error("XML error: missing volume name element")
    # names with '/' parse (as in libvirt); the pool backend refuses them
    file_pool = pool_type in _FILE_POOLS
    vtype_s = root.get("type")
    if vtype_s is not None:
        try:
            vtype = VolType(vtype_s)
        except ValueError:
            raise storage_error(f"unsupported configuration: unknown volume type '{vtype_s}'",
                                ErrorCode.CONFIG_UNSUPPORTED) from None
    else:
        vtype = VolType.FILE if file_pool else VolType.BLOCK
    vol = VolDef(name, vtype, key=root.findtext("key"))
    cap = root.find("capacity")
    if cap is not None and cap.text is not None:
        vol.capacity = scale(cap.text, cap.get("unit"), "capacity")
    elif not flags & (PARSE_NO_CAPACITY | PARSE_OPT_CAPACITY) and root.find("backingStore") is None:
        raise storage_error("XML error: missing capacity element")
    alloc = root.find("allocation")
    if alloc is not None and alloc.text is not None:
        vol.allocation = scale(alloc.text, alloc.get("unit"), "allocation")
        vol.has_allocation = True
    else:
        vol.allocation = vol.capacity
    tgt = root.find("target")
    if tgt is not None:
        tpath = tgt.findtext("path")
        # network volumes carry URLs ("gluster://host/..."): only local paths are sanitised
        vol.path = (sanitize_path(tpath.strip()) if tpath.strip().startswith("/")
                    else tpath.strip()) if tpath else None
        vol.format = _parse_format(tgt.find("format"), file_pool)
        vol.perms = Perms.parse(tgt.find("permissions"))
        vol.compat = tgt.findtext("compat")
        if vol.compat is not None and not _valid_compat(vol.compat):
            raise storage_error("XML error: forbidden characters in 'compat' attribute")
        cs = tgt.find("clusterSize")
        if cs is not None and cs.text is not None:
            vol.cluster_size = scale(cs.text, cs.get("unit"), "clusterSize")
        vol.nocow = tgt.find("nocow") is not None
        feats = tgt.find("features")
        if feats is not None:
            vol.features = []
            for f in feats:
                if f.tag not in _FEATURES:
                    raise storage_error(f"unsupported configuration: unsupported feature {f.tag}",
                                        ErrorCode.CONFIG_UNSUPPORTED)
                vol.features.append(str(f.tag))
            if vol.compat is None:
                vol.compat = "1.1"
        enc = tgt.find("encryption")
        if enc is not None:
            vol.encryption = enc
    elif file_pool:
        vol.format = VolFormat.RAW.value
    bs = root.find("backingStore")
    if bs is not None:
        bpath = bs.findtext("path")
        if not bpath:
            raise storage_error("XML error: missing backing store path")
        bfmt = bs.find("format")
        vol.backing = BackingStore(bpath.strip(), _parse_format(bfmt, file_pool),
                                   Perms.parse(bs.find("permissions")))
    return vol


def _parse_format(el: etree._Element | None, file_pool: bool) -> str | None:
    if el is None or el.get("type") is None:
        return VolFormat.RAW.value if file_pool else None
    fmt = str(el.get("type"))
    if file_pool:
        try:
            VolFormat(fmt)
        except ValueError:
            raise storage_error(f"unsupported configuration: unknown volume format type {fmt}",
                                ErrorCode.CONFIG_UNSUPPORTED) from None
    return fmt


def _valid_compat(text: str) -> bool:
    parts = text.split(".")
    return len(parts) == 2 and all(p.isdigit() for p in parts)
