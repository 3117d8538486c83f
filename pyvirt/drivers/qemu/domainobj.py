"""DomainObj: a domain's definition, live definition, state + reason, job and runtime.

The definition seam: the full domain model (:mod:`pyvirt.conf.domain`) is being written
concurrently. Until the QEMU driver switches to it, :class:`DomainDefinition` wraps the
same small lossless ElementTree round trip the test driver uses
(:mod:`pyvirt.drivers.test.domxml`) and adds the QEMU-relevant validation (disk bus,
duplicate targets) with libvirt's messages. :meth:`DomainDefinition.parse` is the single
place to switch over.
"""

from __future__ import annotations

import contextlib
import copy
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyvirt.drivers.base import DomainRef
from pyvirt.drivers.qemu.jobs import DomainJob
from pyvirt.drivers.qemu.paths import QemuPaths
from pyvirt.drivers.qemu.status import StatusDoc, atomic_write, unescape_attr
from pyvirt.drivers.test import domxml
from pyvirt.enums import DomainState, ShutoffReason
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

_DISK_BUSES = ("ide", "fdc", "scsi", "virtio", "xen", "usb", "uml", "sata", "sd")
_SUPPORTED_VIRT = ("qemu", "kvm")


@dataclass
class DomainDefinition:
    """A parsed, defaults-filled definition plus the facts the runtime needs."""

    doc: domxml.DomainDoc

    @property
    def name(self) -> str:
        return self.doc.name

    @property
    def uuid(self) -> bytes:
        return self.doc.uuid

    @property
    def uuid_str(self) -> str:
        return domxml.format_uuid(self.doc.uuid)

    @property
    def root(self) -> ET.Element:
        return self.doc.root

    def action(self, tag: str) -> str:
        default = {"on_poweroff": "destroy", "on_reboot": "restart", "on_crash": "destroy"}[tag]
        return (self.root.findtext(tag) or default).strip()

    def format(self, live_id: int | None = None) -> str:
        return self.doc.format(live_id)

    def copy(self) -> DomainDefinition:
        return DomainDefinition(domxml.DomainDoc(
            copy.deepcopy(self.doc.root), self.doc.name, self.doc.uuid, self.doc.virt_type,
            self.doc.max_mem_kib, self.doc.cur_mem_kib, self.doc.vcpus, self.doc.on_reboot,
            self.doc.on_poweroff,
        ))

    @classmethod
    def parse(cls, xml: str, machine_alias: Callable[[str | None], str] | None = None) -> DomainDefinition:
        """Parse + validate; raises VirtError with libvirt's code and message.

        ``machine_alias`` expands a machine alias (``q35``, ``pc``, none) to the versioned
        type the way libvirt does from the emulator's capabilities (``pc-q35-7.2``).
        """
        root = _preparse(xml)
        ostype = root.find("os/type")
        if ostype is None:
            raise VirtError("XML error: an os <type> must be specified", ErrorCode.XML_ERROR, ErrorDomain.DOMAIN)
        _validate_disks(root)
        # QEMU defaults the test-driver seam does not know: host arch, versioned machine.
        attrs = dict(ostype.attrib)
        attrs.setdefault("arch", "x86_64")
        if machine_alias is not None:
            attrs["machine"] = machine_alias(attrs.get("machine"))
        ostype.attrib = {"arch": attrs.pop("arch"), **({"machine": attrs.pop("machine")} if "machine" in attrs else {}), **attrs}
        devices = root.find("devices")
        if devices is not None and devices.find("emulator") is None:
            emu = ET.Element("emulator")
            emu.text = "/usr/bin/qemu-system-x86_64"
            devices.insert(0, emu)
        try:
            doc = domxml.parse(ET.tostring(root, encoding="unicode"))
        except VirtError as e:
            # libvirt's message carries the code's prefix ("invalid argument: ..."); the
            # seam's parser leaves it off for this one.
            if e.code == ErrorCode.INVALID_ARG and not e.message.startswith("invalid argument: "):
                raise VirtError(f"invalid argument: {e.message}", e.code, e.domain) from None
            raise
        if doc.virt_type not in _SUPPORTED_VIRT:
            raise VirtError(
                f"invalid argument: virt type '{doc.virt_type}' is not supported",
                ErrorCode.INVALID_ARG, ErrorDomain.QEMU,
            )
        return cls(doc)


def _preparse(xml: str) -> ET.Element:
    try:
        return ET.fromstring(xml)
    except ET.ParseError as e:
        raise VirtError(f"(domain_definition):1: {e}", ErrorCode.XML_DETAIL, ErrorDomain.DOMAIN) from None


def _disk_source(disk: ET.Element) -> str:
    src = disk.find("source")
    if src is None:
        return ""
    return src.get("file") or src.get("dev") or src.get("name") or src.get("dir") or ""


def _validate_disks(root: ET.Element) -> None:
    seen: dict[str, str] = {}
    for disk in root.findall("devices/disk"):
        tgt = disk.find("target")
        if tgt is None or not tgt.get("dev"):
            raise VirtError("missing target information for device", ErrorCode.NO_TARGET, ErrorDomain.DOMAIN)
        bus = tgt.get("bus")
        if bus is not None and bus not in _DISK_BUSES:
            raise VirtError(
                f"XML error: Invalid value for attribute 'bus' in element 'target': '{bus}'.",
                ErrorCode.XML_ERROR, ErrorDomain.XML,
            )
        dev = tgt.get("dev", "")
        src = _disk_source(disk)
        if dev in seen:
            raise VirtError(
                f"XML error: target '{dev}' duplicated for disk sources '{seen[dev]}' and '{src}'",
                ErrorCode.XML_ERROR, ErrorDomain.DOMAIN,
            )
        seen[dev] = src


@dataclass
class DomainObj:
    """Runtime object of one domain. Mutated only under its job (or by its event worker).

    The definition is parsed lazily: listing 1000 domains needs names, uuids and states,
    which come from a cheap scan of the files, not from parsing every definition.
    """

    name: str
    uuid: bytes
    job: DomainJob
    config_xml: str | None = None  # persistent (or transient) inactive XML text, unparsed
    persistent: bool = True
    _live_xml: str | None = field(default=None, repr=False)  # live XML text while active
    next_xml: str | None = None  # definition for the next boot when redefined while running
    id: int = -1
    state: DomainState = DomainState.SHUTOFF
    reason: int = int(ShutoffReason.UNKNOWN)
    pid: int = 0
    start_time: int = 0
    monitor_path: str = ""
    autostart: bool = False
    runtime: Any = field(default=None, repr=False)  # events.DomainRuntime while attached
    _def: DomainDefinition | None = field(default=None, repr=False)

    @property
    def definition(self) -> DomainDefinition:
        if self._def is None:
            self._def = DomainDefinition.parse(self.config_xml or "")
        return self._def

    def set_definition(self, d: DomainDefinition) -> None:
        self._def = d
        self.config_xml = d.format()

    @property
    def live_xml(self) -> str | None:
        # A status document read by the cheap scan carries the whole file text; extract
        # the live XML only when somebody asks for it (dumpxml, start of a job).
        if isinstance(self._live_xml, _LazyLive):
            self._live_xml = StatusDoc.parse(str(self._live_xml)).live_xml
        return self._live_xml

    @live_xml.setter
    def live_xml(self, value: str | None) -> None:
        self._live_xml = value

    @property
    def active(self) -> bool:
        return self.id >= 0

    def ref(self) -> DomainRef:
        return DomainRef(self.name, self.uuid, self.id)

    def set_state(self, state: DomainState, reason: int) -> None:
        self.state = state
        self.reason = int(reason)

    def to_status(self) -> StatusDoc:
        return StatusDoc(
            name=self.name, uuid=domxml.format_uuid(self.uuid), id=self.id, pid=self.pid,
            start_time=self.start_time, monitor=self.monitor_path, state=int(self.state),
            reason=self.reason, live_xml=self.live_xml or "", persistent=self.persistent,
        )

    def apply_status(self, st: StatusDoc) -> None:
        self.id, self.pid, self.start_time = st.id, st.pid, st.start_time
        self.monitor_path = st.monitor
        self.state, self.reason = DomainState(st.state), st.reason
        self.live_xml = st.live_xml
        self.persistent = st.persistent

    def mark_inactive(self, reason: ShutoffReason) -> None:
        self.id, self.pid, self.start_time, self.monitor_path = -1, 0, 0, ""
        self.live_xml = None
        self.set_state(DomainState.SHUTOFF, reason)
        if self.next_xml is not None:
            self.config_xml, self._def, self.next_xml = self.next_xml, None, None


def domain_dir(run_dir: Path, dom_id: int, name: str) -> Path:
    """Per-run private dir (monitor socket, agent socket), like libvirt's domain-ID-NAME."""
    # libvirt shortens the name to keep unix socket paths under 108 bytes; so do we.
    return run_dir / f"domain-{dom_id}-{name[:20]}"


_UUID_RE = re.compile(rb"<uuid>\s*([0-9a-fA-F-]+)\s*</uuid>")
_ATTR_RE = re.compile(r"(\w+)='([^']*)'")


class DomainStore:
    """The driver's domain list, loaded from (and saved to) the config and run dirs."""

    def __init__(self, paths: QemuPaths) -> None:
        self.paths = paths
        self.by_name: dict[str, DomainObj] = {}

    def new_obj(self, name: str, uuid: bytes) -> DomainObj:
        obj = DomainObj(name, uuid, DomainJob(self.paths.run_dir / f"{name}.lock"))
        self.by_name[name] = obj
        return obj

    def load(self) -> None:
        """Scan the dirs (again). Cheap: reads each file but parses only the uuid / root attributes.

        Objects already known are refreshed in place, so a rescan keeps their job locks.
        """
        cfg, run = self.paths.config_dir, self.paths.run_dir
        autostart = {p.stem for p in self.paths.autostart_dir.glob("*.xml")} if self.paths.autostart_dir.is_dir() else set()
        for p in cfg.glob("*.xml") if cfg.is_dir() else ():
            known = self.by_name.get(p.stem)
            if known is not None:
                self.refresh(known)
                continue
            raw = p.read_bytes()
            m = _UUID_RE.search(raw)
            if m is None:
                continue
            obj = self.new_obj(p.stem, bytes.fromhex(m.group(1).decode().replace("-", "")))
            obj.config_xml = raw.decode()
            obj.autostart = p.stem in autostart
        for p in run.glob("*.xml") if run.is_dir() else ():
            st = self.read_status(p)
            if st is None:
                continue
            found = self.by_name.get(st.name)
            if found is not None and found.runtime is not None:
                continue  # attached: our in-memory state is the authority
            obj = found if found is not None else self.new_obj(st.name, bytes.fromhex(st.uuid.replace("-", "")))
            obj.apply_status(st)
            if not st.persistent:
                obj.config_xml = None  # transient: the definition is the live XML's inactive form

    @staticmethod
    def read_status(path: Path) -> StatusDoc | None:
        try:
            text = path.read_text()
        except OSError:
            return None
        first = text.split("\n", 1)[0]
        attrs = {k: unescape_attr(v) for k, v in _ATTR_RE.findall(first)}
        if "name" not in attrs:
            return None
        # the live XML is parsed only when asked for (dumpxml), via StatusDoc.parse
        return StatusDoc(
            name=attrs["name"], uuid=attrs.get("uuid", ""), id=int(attrs.get("id", -1)),
            pid=int(attrs.get("pid", 0)), start_time=int(attrs.get("starttime", 0)),
            monitor=attrs.get("monitor", ""), state=int(attrs.get("state", 5)),
            reason=int(attrs.get("reason", 0)), live_xml=_LazyLive(text),
            persistent=attrs.get("persistent", "1") == "1",
        )

    def refresh(self, obj: DomainObj) -> None:
        """Re-read obj's files (another process may have changed them)."""
        st = self.read_status(self.status_path(obj.name))
        if st is not None:
            obj.apply_status(st)
        elif obj.active:
            obj.mark_inactive(ShutoffReason.UNKNOWN)
        cfgp = self.config_path(obj.name)
        if cfgp.exists():
            text = cfgp.read_text()
            if text != obj.config_xml:
                obj.config_xml, obj._def = text, None
            obj.persistent = True
        obj.autostart = (self.paths.autostart_dir / f"{obj.name}.xml").exists()

    # The shut-off reason outlives the process that recorded it (one-shot pyvirsh runs
    # follow each other), in a one-line file read only when a single domain is queried.
    def shutoff_path(self, name: str) -> Path:
        return self.paths.run_dir / f"{name}.shutoff"

    def save_shutoff_reason(self, obj: DomainObj) -> None:
        atomic_write(self.shutoff_path(obj.name), f"{obj.reason}\n")

    def load_shutoff_reason(self, obj: DomainObj) -> None:
        if obj.active:
            return
        try:
            obj.reason = int(self.shutoff_path(obj.name).read_text().strip() or 0)
        except (OSError, ValueError):
            pass

    def clear_shutoff_reason(self, obj: DomainObj) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.shutoff_path(obj.name).unlink()

    def status_path(self, name: str) -> Path:
        return self.paths.run_dir / f"{name}.xml"

    def config_path(self, name: str) -> Path:
        return self.paths.config_dir / f"{name}.xml"

    def save_status(self, obj: DomainObj) -> None:
        atomic_write(self.status_path(obj.name), obj.to_status().format())

    def remove_status(self, obj: DomainObj) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.status_path(obj.name).unlink()

    def save_config(self, obj: DomainObj) -> None:
        atomic_write(self.config_path(obj.name), obj.config_xml or "")

    def remove_config(self, obj: DomainObj) -> None:
        for p in (self.config_path(obj.name), self.paths.autostart_dir / f"{obj.name}.xml"):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()


class _LazyLive(str):
    """The status file text standing in for its live XML until someone needs it."""

    __slots__ = ()

