"""The domain XML model: :func:`parse_domain` -> :class:`DomainDef` -> :func:`format_domain`.

Parsing applies libvirt's generic (driver-independent) post-parse defaults and validation;
QEMU-specific defaults (implicit controllers, PCI addresses, default devices) belong to the
QEMU driver. Elements the model does not cover are kept verbatim and re-emitted in libvirt's
canonical position; :meth:`DomainDef.unmodeled` lists them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from pyvirt.conf.domain.address import AddressDef
from pyvirt.conf.domain.base import DeviceDef
from pyvirt.conf.domain.chardev import ChardevDef, ChardevKind, ChardevType
from pyvirt.conf.domain.devices import (
    ControllerDef,
    GraphicsDef,
    GraphicsListenDef,
    InputDef,
    InterfaceDef,
    MemballoonDef,
    PanicDef,
    RawDeviceDef,
    RngDef,
    VideoDef,
)
from pyvirt.conf.domain.disk import (
    BackingStoreDef,
    DiskBus,
    DiskDef,
    DiskDevice,
    DiskDriverDef,
    DiskSourceDef,
    DiskTargetDef,
    DiskType,
)
from pyvirt.conf.domain.general import (
    BootDev,
    ClockDef,
    CPUDef,
    CPUFeatureDef,
    CPUTopologyDef,
    CputuneDef,
    FeaturesDef,
    LoaderDef,
    OSDef,
    SchedDef,
    TimerDef,
    VcpuDef,
    VcpuPinDef,
)

if TYPE_CHECKING:
    from lxml import etree

__all__ = [
    "AddressDef", "BackingStoreDef", "BootDev", "CPUDef", "CPUFeatureDef", "CPUTopologyDef",
    "ChardevDef", "ChardevKind", "ChardevType", "ClockDef", "ControllerDef", "CputuneDef",
    "DeviceDef", "DevicesDef", "DiskBus", "DiskDef", "DiskDevice", "DiskDriverDef",
    "DiskSourceDef", "DiskTargetDef", "DiskType", "DomainDef", "DomainType", "FeaturesDef",
    "GraphicsDef", "GraphicsListenDef", "InputDef", "InterfaceDef", "LifecycleAction",
    "LoaderDef", "MemballoonDef", "OSDef", "PanicDef", "RawDeviceDef", "RngDef", "SchedDef", "TimerDef",
    "VcpuDef", "VcpuPinDef", "VideoDef", "format_domain", "parse_domain",
]


class DomainType(StrEnum):
    QEMU = "qemu"
    KQEMU = "kqemu"
    KVM = "kvm"
    XEN = "xen"
    LXC = "lxc"
    UML = "uml"
    OPENVZ = "openvz"
    TEST = "test"
    VMWARE = "vmware"
    HYPERV = "hyperv"
    VBOX = "vbox"
    PHYP = "phyp"
    PARALLELS = "parallels"
    BHYVE = "bhyve"
    VZ = "vz"
    HVF = "hvf"


class LifecycleAction(StrEnum):
    DESTROY = "destroy"
    RESTART = "restart"
    RENAME_RESTART = "rename-restart"
    PRESERVE = "preserve"
    COREDUMP_DESTROY = "coredump-destroy"
    COREDUMP_RESTART = "coredump-restart"


@dataclass(slots=True, kw_only=True)
class DevicesDef:
    emulator: str | None = None
    disks: list[DiskDef] = field(default_factory=list)
    controllers: list[ControllerDef] = field(default_factory=list)
    interfaces: list[InterfaceDef] = field(default_factory=list)
    serials: list[ChardevDef] = field(default_factory=list)
    parallels: list[ChardevDef] = field(default_factory=list)
    consoles: list[ChardevDef] = field(default_factory=list)
    channels: list[ChardevDef] = field(default_factory=list)
    inputs: list[InputDef] = field(default_factory=list)
    graphics: list[GraphicsDef] = field(default_factory=list)
    videos: list[VideoDef] = field(default_factory=list)
    memballoon: MemballoonDef | None = None
    rngs: list[RngDef] = field(default_factory=list)
    panics: list[PanicDef] = field(default_factory=list)
    # Device families the model does not cover, by element name (hostdev, filesystem...).
    others: list[RawDeviceDef] = field(default_factory=list)

    def all(self) -> list[DeviceDef]:
        """Every device, in canonical order (for alias/address bookkeeping)."""
        out: list[DeviceDef] = [*self.disks, *self.controllers, *self.interfaces, *self.serials,
                                *self.parallels, *self.consoles, *self.channels, *self.inputs,
                                *self.graphics, *self.videos]
        if self.memballoon is not None:
            out.append(self.memballoon)
        out += [*self.rngs, *self.panics, *self.others]
        return out


@dataclass(slots=True, kw_only=True)
class DomainDef:
    type: DomainType
    name: str
    uuid: str = ""
    id: int = -1
    title: str | None = None
    description: str | None = None
    metadata: etree._Element | None = None  # kept verbatim
    genid: str | None = None
    memory_kib: int = 0
    memory_dump_core: str | None = None  # <memory dumpCore='on|off'>
    current_memory_kib: int = 0
    max_memory_kib: int | None = None
    max_memory_slots: int | None = None
    vcpu: VcpuDef = field(default_factory=VcpuDef)
    cputune: CputuneDef | None = None
    os: OSDef = field(default_factory=OSDef)
    features: FeaturesDef = field(default_factory=FeaturesDef)
    cpu: CPUDef | None = None
    clock: ClockDef = field(default_factory=ClockDef)
    on_poweroff: LifecycleAction = LifecycleAction.DESTROY
    on_reboot: LifecycleAction = LifecycleAction.RESTART
    on_crash: LifecycleAction = LifecycleAction.DESTROY
    devices: DevicesDef = field(default_factory=DevicesDef)
    # Top-level elements the model does not cover (memoryBacking, numatune, seclabel,
    # qemu:commandline ...), kept verbatim.
    extra: list[etree._Element] = field(default_factory=list)

    def unmodeled(self) -> list[str]:
        """Paths of the elements kept verbatim rather than modelled (for reports/tests)."""
        from pyvirt.conf.domain.postparse import unmodeled_paths

        return unmodeled_paths(self)


def parse_domain(xml: str, *, inactive: bool = False, reread: bool = False) -> DomainDef:
    """Parse, fill generic defaults and validate. Raises :class:`pyvirt.errors.XMLError`,
    :class:`pyvirt.errors.ConfigUnsupported` or another VirtError with libvirt's code.

    ``inactive=True`` is libvirt's VIR_DOMAIN_DEF_PARSE_INACTIVE, used for everything a client
    sends (define, create, attach): runtime-only data in the XML (id, non-``ua-`` aliases, pty
    paths, disk source indexes, channel state, autoport VNC ports) is dropped. The default
    keeps it, for reloading our own live/status XML.

    ``reread=True``: the XML is a definition a driver formatted and stored, and a running
    libvirtd would still hold it in memory: ports libvirt numbers only at its first parse
    (consoles) are kept as written (see postparse._chardevs)."""
    from pyvirt.conf.domain.parse import parse_domain_xml
    from pyvirt.conf.domain.postparse import postparse, strip_live

    d = parse_domain_xml(xml)
    if inactive:
        strip_live(d)
    postparse(d, reread=reread)
    return d


def format_domain(d: DomainDef, *, inactive: bool = False, secure: bool = False) -> str:
    """libvirt's canonical XML for ``d``. ``inactive`` drops live-only data (id, aliases,
    pty paths, autoport ports); ``secure`` keeps passwords (libvirt's VIR_DOMAIN_XML_SECURE)."""
    from pyvirt.conf.domain.format import format_domain_xml

    return format_domain_xml(d, inactive=inactive, secure=secure)

