"""DomainObj: a domain's definition, live definition, state + reason, job and runtime.

The definition seam: the full domain model (:mod:`pyvirt.conf.domain`) is being written
concurrently. Until the QEMU driver switches to it, :class:`DomainDefinition` wraps the
same small lossless ElementTree round trip the test driver uses
(:mod:`pyvirt.drivers.test.domxml`) and adds the QEMU-relevant validation (disk bus,
duplicate targets) with libvirt's messages. :meth:`DomainDefinition.parse` is the single
place to switch over.
"""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from pyvirt.drivers.base import DomainRef
from pyvirt.drivers.qemu.jobs import DomainJob
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
    def parse(cls, xml: str) -> DomainDefinition:
        """Parse + validate; raises VirtError with libvirt's code and message."""
        root = _preparse(xml)
        if root.find("os/type") is None:
            raise VirtError("XML error: an os <type> must be specified", ErrorCode.XML_ERROR, ErrorDomain.DOMAIN)
        _validate_disks(root)
        doc = domxml.parse(xml)
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
    """Runtime object of one domain. Mutated only under its job (or by its event worker)."""

    definition: DomainDefinition  # the inactive (persistent, or transient) definition
    job: DomainJob
    persistent: bool = True
    live: DomainDefinition | None = None  # live definition while active
    new_definition: DomainDefinition | None = None  # next boot's def when redefined while running
    id: int = -1
    state: DomainState = DomainState.SHUTOFF
    reason: int = int(ShutoffReason.UNKNOWN)
    pid: int = 0
    start_time: int = 0
    monitor_path: str = ""
    autostart: bool = False
    runtime: object | None = field(default=None, repr=False)  # events.DomainRuntime when attached

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def uuid(self) -> bytes:
        return self.definition.uuid

    @property
    def active(self) -> bool:
        return self.id >= 0

    def ref(self) -> DomainRef:
        return DomainRef(self.name, self.uuid, self.id)

    def set_state(self, state: DomainState, reason: int) -> None:
        self.state = state
        self.reason = int(reason)


def domain_dir(run_dir: Path, dom_id: int, name: str) -> Path:
    """Per-run private dir (monitor socket, agent socket), like libvirt's domain-ID-NAME."""
    # libvirt shortens the name to keep unix socket paths under 108 bytes; so do we.
    return run_dir / f"domain-{dom_id}-{name[:20]}"
