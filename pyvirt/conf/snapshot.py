"""The <domainsnapshot> XML model: parse -> validate -> format, as libvirt lays it out.

Pure: no I/O. Two parse modes mirror libvirt's: a *new* snapshot's XML (what a user hands
to snapshot-create) ignores the fields only the driver may set (state, parent,
creationTime, the embedded domain), while *redefine* / *internal* mode (our own metadata
files, snapshot-create --redefine) keeps all of them.

The embedded <domain> and <inactiveDomain> are kept as the element they were parsed from
and written back re-indented: they are a stored copy of a domain definition that was
already canonical when the snapshot was taken, so reformatting through the domain model
would only risk changing it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from lxml import etree

from pyvirt.conf._xml import Writer, esc, write_raw
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

__all__ = [
    "DomainSnapshotDef",
    "SnapshotDiskDef",
    "SnapshotLocation",
    "SnapshotState",
    "default_external_path",
]


class SnapshotState(enum.StrEnum):
    """<state>: the domain's state when the snapshot was taken, plus disk-snapshot."""

    NOSTATE = "nostate"
    RUNNING = "running"
    BLOCKED = "blocked"
    PAUSED = "paused"
    SHUTDOWN = "shutdown"
    SHUTOFF = "shutoff"
    CRASHED = "crashed"
    PMSUSPENDED = "pmsuspended"
    DISK_SNAPSHOT = "disk-snapshot"


class SnapshotLocation(enum.StrEnum):
    """snapshot='...' on <memory> and <disk>."""

    NO = "no"
    INTERNAL = "internal"
    EXTERNAL = "external"
    MANUAL = "manual"


def _xml_err(msg: str) -> VirtError:
    return VirtError(f"XML error: {msg}", ErrorCode.XML_ERROR, ErrorDomain.DOMAIN_SNAPSHOT)


def _unsupported(msg: str) -> VirtError:
    return VirtError(f"unsupported configuration: {msg}", ErrorCode.CONFIG_UNSUPPORTED, ErrorDomain.DOMAIN_SNAPSHOT)


def _location(value: str | None, what: str) -> SnapshotLocation | None:
    if value is None:
        return None
    try:
        return SnapshotLocation(value)
    except ValueError:
        raise _unsupported(f"unknown {what} snapshot setting '{value}'") from None


@dataclass
class SnapshotDiskDef:
    """One <disk> of <disks>: where and how that disk's state is kept."""

    name: str  # target ("vda") or source path, as the user wrote it
    snapshot: SnapshotLocation | None = None
    type: str | None = None  # file | block | network (external only)
    source_file: str | None = None  # file= or dev= of <source>, the overlay for external
    driver_type: str | None = None  # overlay format (qcow2)
    # kept verbatim: <source> children (seclabel, host) and <driver> children (metadata_cache)
    source_el: etree._Element | None = field(default=None, repr=False)
    driver_el: etree._Element | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, el: etree._Element) -> SnapshotDiskDef:
        name = el.get("name")
        if not name:
            raise _xml_err("missing name from disk snapshot element")
        d = cls(name, _location(el.get("snapshot"), "disk"), el.get("type"))
        src = el.find("source")
        drv = el.find("driver")
        if d.snapshot is None and (src is not None or el.get("type")):
            d.snapshot = SnapshotLocation.EXTERNAL  # a source implies an external disk
        if src is not None:
            if src.get("startupPolicy") is not None:
                raise _xml_err("Setting startupPolicy is only allowed for 'file' disk type")
            if d.type == "network" and src.find("seclabel") is not None:
                raise _unsupported("seclabels are not supported for network disk sources")
            d.source_file = src.get("file") or src.get("dev")
            # An empty <source/> says nothing: libvirt drops it on output.
            if src.attrib or len(src):
                d.source_el = src
        if drv is not None:
            d.driver_type = drv.get("type")
            if drv.attrib or len(drv):
                d.driver_el = drv
        if d.snapshot is SnapshotLocation.EXTERNAL and d.type is None:
            d.type = "file"
        return d

    def format(self, w: Writer, depth: int) -> None:
        head = f"disk name='{esc(self.name)}'"
        if self.snapshot is not None:
            head += f" snapshot='{self.snapshot}'"
        if self.type is not None and self.snapshot is SnapshotLocation.EXTERNAL:
            head += f" type='{esc(self.type)}'"
        if self.snapshot is not SnapshotLocation.EXTERNAL or (self.source_file is None and self.source_el is None
                                                              and self.driver_type is None and self.driver_el is None):
            w.line(depth, f"<{head}/>")
            return
        w.line(depth, f"<{head}>")
        if self.driver_el is not None:
            write_raw(w, depth + 1, self.driver_el, {})
        elif self.driver_type is not None:
            w.line(depth + 1, f"<driver type='{esc(self.driver_type)}'/>")
        if self.source_el is not None:
            write_raw(w, depth + 1, self.source_el, {})
        elif self.source_file is not None:
            attr = "dev" if self.type == "block" else "file"
            w.line(depth + 1, f"<source {attr}='{esc(self.source_file)}'/>")
        w.line(depth, "</disk>")

    def set_source(self, path: str) -> None:
        """Point the overlay at ``path`` (generated names, --diskspec file=)."""
        self.source_file = path
        if self.source_el is not None:
            self.source_el.set("dev" if self.type == "block" else "file", path)


@dataclass
class DomainSnapshotDef:
    """One snapshot's definition (virDomainSnapshotDef)."""

    name: str | None = None
    description: str | None = None
    state: SnapshotState | None = None
    parent: str | None = None
    creation_time: int | None = None
    memory: SnapshotLocation | None = None
    memory_file: str | None = None
    disks: list[SnapshotDiskDef] = field(default_factory=list)
    has_disks: bool = False  # <disks> was present (an empty list is still written)
    domain_el: etree._Element | None = field(default=None, repr=False)
    inactive_domain_el: etree._Element | None = field(default=None, repr=False)
    cookie_el: etree._Element | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ parse
    @classmethod
    def parse(cls, xml: str, *, redefine: bool = False, internal: bool = False) -> tuple[DomainSnapshotDef, bool]:
        """Parse a <domainsnapshot>; returns (definition, current).

        ``redefine`` keeps state/parent/creationTime/domain (snapshot-create --redefine);
        ``internal`` also reads <active> (our own metadata files).
        Raises VirtError with libvirt's code on bad input.
        """
        try:
            root = etree.fromstring(xml.encode() if isinstance(xml, str) else xml,
                                    etree.XMLParser(remove_blank_text=True, resolve_entities=False))
        except etree.XMLSyntaxError as e:
            raise VirtError(f"(domain_snapshot):{e.lineno}: {e.msg}", ErrorCode.XML_DETAIL,
                            ErrorDomain.DOMAIN_SNAPSHOT) from None
        if root.tag != "domainsnapshot":
            raise _xml_err(f"unexpected root element <{root.tag}>, expecting <domainsnapshot>")
        d = cls()
        d.name = _text(root, "name")
        d.description = _text(root, "description", strip=False)
        if redefine or internal:
            state = _text(root, "state")
            if state is None:
                raise _xml_err("missing state from existing snapshot")
            try:
                d.state = SnapshotState(state)
            except ValueError:
                raise _xml_err(f"Invalid state '{state}' in domain snapshot XML") from None
            d.parent = _text(root, "parent/name")
            ctime = _text(root, "creationTime")
            if ctime is None:
                raise _xml_err("missing creationTime from existing snapshot")
            try:
                d.creation_time = int(ctime)
            except ValueError:
                raise _xml_err(f"invalid creationTime '{ctime}'") from None
            d.domain_el = root.find("domain")
            d.inactive_domain_el = root.find("inactiveDomain")
            d.cookie_el = root.find("cookie")
        mem = root.find("memory")
        if mem is not None:
            d.memory = _location(mem.get("snapshot"), "memory")
            d.memory_file = mem.get("file")
            if d.memory_file is not None and d.memory is None:
                d.memory = SnapshotLocation.EXTERNAL
            if d.memory_file is not None and d.memory is not SnapshotLocation.EXTERNAL:
                raise _xml_err(f"memory filename '{d.memory_file}' requires external snapshot")
            if d.memory is SnapshotLocation.EXTERNAL and d.memory_file is None and not (redefine or internal) \
                    and d.state is not SnapshotState.SHUTOFF:
                raise _xml_err("external memory snapshots require a filename")
        disks = root.find("disks")
        if disks is not None:
            d.has_disks = True
            d.disks = [SnapshotDiskDef.parse(x) for x in disks.findall("disk")]
        current = False
        if internal:
            active = _text(root, "active")
            if active is not None:
                if active not in ("0", "1"):
                    raise _xml_err("Could not find 'active' element")
                current = active == "1"
        return d, current

    # ------------------------------------------------------------------ queries
    @property
    def is_external(self) -> bool:
        """libvirt's virDomainSnapshotIsExternal: external memory or any external disk."""
        return self.memory is SnapshotLocation.EXTERNAL or any(
            x.snapshot is SnapshotLocation.EXTERNAL for x in self.disks)

    @property
    def is_disk_only(self) -> bool:
        return self.state is SnapshotState.DISK_SNAPSHOT

    @property
    def is_active_state(self) -> bool:
        """The snapshot holds a running guest (memory state)."""
        return self.state in (SnapshotState.RUNNING, SnapshotState.PAUSED, SnapshotState.BLOCKED,
                              SnapshotState.PMSUSPENDED)

    def disk(self, name: str) -> SnapshotDiskDef | None:
        return next((x for x in self.disks if x.name == name), None)

    # ------------------------------------------------------------------ format
    def format(self, *, internal: bool = False, current: bool = False, domain_uuid: str | None = None) -> str:
        """libvirt's layout; ``internal`` adds <active> (metadata files), ``domain_uuid``
        writes a <domain><uuid/></domain> stub when no full domain is embedded."""
        w = Writer()
        w.line(0, "<domainsnapshot>")
        if self.name is not None:
            w.text(1, "name", self.name)
        if self.description is not None:
            w.text(1, "description", self.description)
        if self.state is not None:
            w.text(1, "state", self.state)
        if self.parent is not None:
            w.line(1, "<parent>")
            w.text(2, "name", self.parent)
            w.line(1, "</parent>")
        if self.creation_time is not None:
            w.text(1, "creationTime", self.creation_time)
        if self.memory is not None:
            mf = f" file='{esc(self.memory_file)}'" if self.memory_file is not None else ""
            w.line(1, f"<memory snapshot='{self.memory}'{mf}/>")
        if self.disks:  # libvirt writes no <disks> when the list is empty
            w.line(1, "<disks>")
            for x in self.disks:
                x.format(w, 2)
            w.line(1, "</disks>")
        if self.domain_el is not None:
            _write_domain(w, 1, self.domain_el)
        elif domain_uuid is not None:
            w.line(1, "<domain>")
            w.text(2, "uuid", domain_uuid)
            w.line(1, "</domain>")
        if self.inactive_domain_el is not None:
            _write_domain(w, 1, self.inactive_domain_el)
        if self.cookie_el is not None:
            write_raw(w, 1, self.cookie_el, {})
        if internal and current:
            w.text(1, "active", 1)
        w.line(0, "</domainsnapshot>")
        return w.getvalue()

    def set_domain_xml(self, xml: str | None, inactive_xml: str | None = None) -> None:
        """Embed the domain definition (and, for a running domain, its inactive one)."""
        parser = etree.XMLParser(remove_blank_text=True)
        self.domain_el = etree.fromstring(xml.encode(), parser) if xml else None
        if inactive_xml:
            el = etree.fromstring(inactive_xml.encode(), parser)
            el.tag = "inactiveDomain"
            self.inactive_domain_el = el
        else:
            self.inactive_domain_el = None

    def domain_xml(self) -> str | None:
        """The embedded domain as a standalone document (for revert)."""
        if self.domain_el is None:
            return None
        w = Writer()
        _write_domain(w, 0, self.domain_el)
        return w.getvalue()

    def inactive_domain_xml(self) -> str | None:
        if self.inactive_domain_el is None:
            return None
        el = etree.fromstring(etree.tostring(self.inactive_domain_el))
        el.tag = "domain"
        w = Writer()
        _write_domain(w, 0, el)
        return w.getvalue()


def _write_domain(w: Writer, depth: int, el: etree._Element) -> None:
    """An embedded domain, re-indented; <metadata> content as libxml2 dumps it (libvirt
    keeps it as foreign XML, with double quotes), the rest in libvirt's own quoting."""
    kids = [c for c in el if isinstance(c.tag, str)]
    attrs = "".join(f" {k!s}='{esc(v)}'" for k, v in el.attrib.items())
    if not kids:
        w.line(depth, f"<{el.tag}{attrs}/>")
        return
    w.line(depth, f"<{el.tag}{attrs}>")
    for c in kids:
        if c.tag == "metadata" and len(c):
            w.line(depth + 1, "<metadata>")
            for m in c:
                if isinstance(m.tag, str):
                    write_raw(w, depth + 2, m, {}, dquote=True)
            w.line(depth + 1, "</metadata>")
        else:
            write_raw(w, depth + 1, c, {})
    w.line(depth, f"</{el.tag}>")


def _text(root: etree._Element, path: str, *, strip: bool = True) -> str | None:
    el = root.find(path)
    if el is None:
        return None
    text = el.text or ""
    return text.strip() if strip else text


def default_external_path(source: str, snap_name: str) -> str:
    """libvirt's generated overlay name: the source's extension replaced by the snapshot
    name (vda.qcow2 -> vda.snap1), or the name appended when there is none."""
    base = source.rsplit("/", 1)
    stem = base[-1]
    if "." in stem:
        stem = stem[: stem.rindex(".")]
    new = f"{stem}.{snap_name}"
    return f"{base[0]}/{new}" if len(base) == 2 else new


class SnapshotCreateFlags(enum.IntFlag):
    """VIR_DOMAIN_SNAPSHOT_CREATE_*."""

    REDEFINE = 1
    CURRENT = 2
    NO_METADATA = 4
    HALT = 8
    DISK_ONLY = 16
    REUSE_EXT = 32
    QUIESCE = 64
    ATOMIC = 128
    LIVE = 256
    VALIDATE = 512


class SnapshotListFlags(enum.IntFlag):
    """VIR_DOMAIN_SNAPSHOT_LIST_* (ROOTS and DESCENDANTS share bit 0, as in libvirt)."""

    ROOTS = 1
    DESCENDANTS = 1
    METADATA = 2
    LEAVES = 4
    NO_LEAVES = 8
    NO_METADATA = 16
    INACTIVE = 32
    ACTIVE = 64
    DISK_ONLY = 128
    INTERNAL = 256
    EXTERNAL = 512
    TOPOLOGICAL = 1024


class SnapshotRevertFlags(enum.IntFlag):
    RUNNING = 1
    PAUSED = 2
    FORCE = 4
    RESET_NVRAM = 8


class SnapshotDeleteFlags(enum.IntFlag):
    CHILDREN = 1
    METADATA_ONLY = 2
    CHILDREN_ONLY = 4
