"""QEMU capabilities: what one emulator binary can do, learnt from QMP introspection.

:class:`QemuCaps` is the contract the rest of the QEMU driver uses (argv builder, defaults,
domain capabilities XML). It is built from the answers QEMU gives over QMP — never from
``--help`` — either by probing the binary (:func:`load_caps`, cached per binary) or from
libvirt's recorded QMP conversations (:meth:`QemuCaps.from_replies`, used as test fixtures).

KVM honesty: on the project machines ``/dev/kvm`` is provided by the PVM module
(``/sys/module/kvm_pvm``), which answers ``query-kvm`` with ``present: true`` but cannot boot
stock guest kernels. We therefore report ``kvm_available`` only when ``/dev/kvm`` is usable
*and* the KVM implementation is not PVM (see :func:`pyvirt.drivers.qemu.caps_probe.kvm_usable`);
the reason is kept in ``kvm_unusable_reason`` so callers can explain a refused ``type='kvm'``.
Everything KVM-specific (domain type kvm, host-passthrough) is then left out of the XML,
which then equals what libvirt 9.0 itself reports on a KVM-less host (checked here against
an unprivileged ``qemu:///session``, which cannot open /dev/kvm).

Related modules: ``caps_build`` (conversation -> caps, cache JSON), ``caps_probe`` (spawn,
QMP, per-binary cache, emulator discovery), ``qapi_schema`` (schema queries), ``cpumodel``
(host-model / host CPU model from a CPU map), ``capsxml`` and ``domcapsxml`` (the XML).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pyvirt.errors import InternalError, OperationFailed

__all__ = [
    "Accel",
    "AccelCaps",
    "CpuModel",
    "DeviceProp",
    "MachineType",
    "QemuCapFlag",
    "QemuCaps",
    "load_caps",
]


class Accel(StrEnum):
    """Accelerator a set of per-accelerator answers was collected under."""

    KVM = "kvm"
    TCG = "tcg"


class QemuCapFlag(StrEnum):
    """Features that change the command line; values are libvirt's capability flag names."""

    KVM = "kvm"
    TCG = "tcg"
    BLOCKDEV = "blockdev"
    BLOCKDEV_REOPEN = "blockdev-reopen"
    BLOCKDEV_SNAPSHOT_ALLOW_WRITE_ONLY = "blockdev-snapshot.allow-write-only-overlay"
    QUERY_NAMED_BLOCK_NODES_FLAT = "query-named-block-nodes.flat"
    INCREMENTAL_BACKUP = "incremental-backup"
    AIO_IO_URING = "aio.io_uring"
    DEVICE_JSON = "device.json"
    DEVICE_JSON_HOTPLUG = "device.json+hotplug"
    OBJECT_QAPIFIED = "object.qapified"
    NETDEV_JSON = "netdev.json"
    COMPAT_DEPRECATED = "compat-deprecated"
    SECCOMP_SANDBOX = "seccomp-sandbox"
    CHARDEV_RECONNECT = "chardev-reconnect"
    SMP_DIES = "smp-dies"
    SET_ACTION = "set-action"
    QUERY_CPU_MODEL_EXPANSION = "query-cpu-model-expansion"
    QUERY_HOTPLUGGABLE_CPUS = "query-hotpluggable-cpus"
    MIGRATE_RDMA = "migrate-rdma"
    IOTHREAD = "iothread"
    VIRTIO_SCSI_PCI = "virtio-scsi-pci"
    VIRTIO_NET = "virtio-net"
    VIRTIO_RNG = "virtio-rng"
    VIRTIO_GPU = "virtio-gpu"
    VIRTIO_KEYBOARD = "virtio-keyboard"
    VIRTIO_MOUSE = "virtio-mouse"
    VIRTIO_TABLET = "virtio-tablet"
    VIRTIO_PCI_NON_TRANSITIONAL = "virtio-pci-non-transitional"
    VIRTIO_BLK_SCSI = "virtio-blk-pci.scsi"
    QEMU_XHCI = "qemu-xhci"
    NEC_USB_XHCI = "nec-usb-xhci"
    PIIX3_USB_UHCI = "piix3-usb-uhci"
    ICH9_AHCI = "ich9-ahci"
    PCIE_ROOT_PORT = "pcie-root-port"
    PCI_BRIDGE = "pci-bridge"
    PCIE_PCI_BRIDGE = "pcie-pci-bridge"
    DMI_TO_PCI_BRIDGE = "dmi-to-pci-bridge"
    ISA_SERIAL = "isa-serial"
    PCI_SERIAL = "pci-serial"
    PVPANIC = "pvpanic"
    USB_KBD = "usb-kbd"
    USB_STORAGE = "usb-storage"
    VGA = "VGA"
    CIRRUS_VGA = "cirrus-vga"
    VMWARE_SVGA = "vmware-svga"
    QXL = "qxl"
    BOCHS_DISPLAY = "bochs-display"
    RAMFB = "ramfb"
    E1000 = "e1000"
    RTL8139 = "rtl8139"
    RNG_RANDOM = "rng-random"
    RNG_EGD = "rng-egd"
    RNG_BUILTIN = "rng-builtin"
    MEMORY_BACKEND_MEMFD = "memory-backend-memfd"
    VMCOREINFO = "vmcoreinfo"
    VMGENID = "vmgenid"
    VNC = "vnc"
    SPICE = "spice"
    SDL = "sdl"
    EGL_HEADLESS = "egl-headless"
    DISPLAY_DBUS = "display-dbus"
    TPM_PASSTHROUGH = "tpm-passthrough"
    TPM_EMULATOR = "tpm-emulator"
    TPM_TIS = "tpm-tis"
    TPM_CRB = "tpm-crb"
    VFIO_PCI = "vfio-pci"
    USB_REDIR = "usb-redir"
    VHOST_USER_FS = "vhost-user-fs"
    SEV_GUEST = "sev-guest"
    SGX_EPC = "sgx-epc"


@dataclass(frozen=True, slots=True)
class MachineType:
    """One entry of ``query-machines``."""

    name: str
    alias: str | None = None
    is_default: bool = False
    max_cpus: int = 1
    deprecated: bool = False
    hotpluggable_cpus: bool = False
    default_cpu_type: str | None = None
    default_ram_id: str | None = None
    numa_mem_supported: bool = False
    acpi: bool | None = None  # None: QEMU did not say (older binaries)


@dataclass(frozen=True, slots=True)
class CpuModel:
    """One entry of ``query-cpu-definitions`` under a given accelerator."""

    name: str
    typename: str = ""
    usable: bool | None = None  # None: QEMU did not report usability
    blockers: tuple[str, ...] = ()
    static: bool = False
    migration_safe: bool = False
    deprecated: bool = False
    alias_of: str | None = None


@dataclass(frozen=True, slots=True)
class DeviceProp:
    """One property of ``device-list-properties`` / ``qom-list-properties``."""

    name: str
    type: str
    default: str | int | float | bool | None = None


@dataclass(frozen=True, slots=True)
class AccelCaps:
    """Answers that depend on the accelerator QEMU was started with."""

    accel: Accel
    machines: tuple[MachineType, ...] = ()
    cpu_models: tuple[CpuModel, ...] = ()
    # ``query-cpu-model-expansion type=static`` of "host" (kvm) / "max" (tcg): the model QEMU
    # would give a guest asking for everything; the base of host-model in domcapabilities.
    host_cpu_model: str | None = None
    host_cpu_props: Mapping[str, bool | int | str] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    # Features only the non-migratable expansion (props migratable=false) turns on, e.g.
    # invtsc: host-model includes them.
    host_cpu_nonmigratable: frozenset[str] = frozenset()

    def default_machine(self) -> MachineType | None:
        return next((m for m in self.machines if m.is_default), None)

    def machine(self, name: str) -> MachineType | None:
        """Look a machine up by name or alias (``pc`` -> ``pc-i440fx-7.2``)."""
        for m in self.machines:
            if m.name == name or m.alias == name:
                return m
        return None


# QEMU's target name -> libvirt's arch name and word size
QEMU_TO_LIBVIRT_ARCH: Mapping[str, tuple[str, int]] = MappingProxyType({
    "x86_64": ("x86_64", 64),
    "i386": ("i686", 32),
    "aarch64": ("aarch64", 64),
    "arm": ("armv7l", 32),
    "ppc64": ("ppc64", 64),
    "riscv64": ("riscv64", 64),
    "s390x": ("s390x", 64),
})
LIBVIRT_TO_QEMU_ARCH: Mapping[str, str] = MappingProxyType(
    {v[0]: k for k, v in QEMU_TO_LIBVIRT_ARCH.items()}
)
# (binary's arch, guest arch) pairs where the binary also runs the smaller architecture
_ARCH_SUBSETS = frozenset({("x86_64", "i686"), ("aarch64", "armv7l")})

# Abstract QOM bases that are not devices (QEMU's object hierarchy), for recordings that
# list concrete types only.
_NON_DEVICE_BASES = frozenset({
    "", "object", "interface", "qio-channel", "netfilter", "authz", "tls-creds",
    "memory-backend", "rng-backend", "tpm-backend", "secret_common", "event-loop-base",
    "machine", "iommu-memory-region", "confidential-guest-support", "pr-manager", "can-host",
    "bus", "accel", "cryptodev-backend", "filter", "memory-region", "irq",
})


@dataclass(frozen=True, slots=True)
class QemuCaps:
    """Everything pyvirt knows about one QEMU binary.

    Immutable; shared freely between domains and threads. ``accels`` holds the
    accelerator-dependent answers (TCG always, KVM only when KVM really works).
    """

    binary: str
    version: int  # major * 1_000_000 + minor * 1000 + micro
    version_str: str  # "7.2.0"
    package: str
    arch: str
    kvm_available: bool
    kvm_unusable_reason: str = ""
    accels: tuple[AccelCaps, ...] = ()
    commands: frozenset[str] = frozenset()
    events: frozenset[str] = frozenset()
    # qom-list-types: type name -> parent name ("" for roots)
    qom_types: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    device_props: Mapping[str, tuple[DeviceProp, ...]] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    object_props: Mapping[str, tuple[DeviceProp, ...]] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    # query-command-line-options: option -> parameter names
    cmdline_options: Mapping[str, frozenset[str]] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    migration_capabilities: frozenset[str] = frozenset()
    tpm_models: frozenset[str] = frozenset()
    tpm_types: frozenset[str] = frozenset()
    # enum values from the QAPI schema that matter to us (name -> values), e.g.
    # "BlockdevDriver", "BlockdevAioOptions", "DisplayType", "NetClientDriver"
    qapi_enums: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    sev_supported: bool = False
    sgx_supported: bool = False
    flags: frozenset[QemuCapFlag] = frozenset()

    # ------------------------------------------------------------------ queries
    @property
    def guest_arch(self) -> str:
        """libvirt's name of the architecture this binary emulates (i386 -> i686)."""
        return QEMU_TO_LIBVIRT_ARCH.get(self.arch, (self.arch, 64))[0]

    @property
    def wordsize(self) -> int:
        return QEMU_TO_LIBVIRT_ARCH.get(self.arch, (self.arch, 64))[1]

    def serves_arch(self, arch: str) -> bool:
        """Whether this binary can run guests of libvirt arch ``arch`` (x86_64 runs i686)."""
        return arch == self.guest_arch or (self.guest_arch, arch) in _ARCH_SUBSETS

    def has(self, flag: QemuCapFlag) -> bool:
        return flag in self.flags

    def accel(self, accel: Accel | str) -> AccelCaps | None:
        return next((a for a in self.accels if a.accel == accel), None)

    @property
    def tcg(self) -> AccelCaps:
        a = self.accel(Accel.TCG)
        if a is None:  # every probe collects TCG answers; a caps without them is corrupt
            raise InternalError(f"no TCG capabilities recorded for {self.binary}")
        return a

    def machines(self, accel: Accel | str = Accel.TCG) -> tuple[MachineType, ...]:
        a = self.accel(accel)
        return a.machines if a is not None else ()

    def default_machine(self, accel: Accel | str = Accel.TCG) -> str | None:
        a = self.accel(accel)
        m = a.default_machine() if a is not None else None
        return m.name if m is not None else None

    def has_qom_type(self, name: str) -> bool:
        return name in self.qom_types

    def is_device_type(self, name: str) -> bool:
        """True if ``name`` is a QOM type that descends from ``device`` (usable with -device).

        Our probe lists abstract types too, so the parent chain reaches ``device``. libvirt's
        recordings list concrete types only; there the chain stops at an unlisted abstract
        parent, which is classified by QEMU's known non-device bases.
        """
        if name not in self.qom_types:
            return False
        seen: set[str] = set()
        cur = name
        while cur in self.qom_types and cur not in seen:
            if cur == "device":
                return True
            seen.add(cur)
            cur = self.qom_types[cur]
        if cur in ("device", "object", ""):
            return cur == "device"
        return not (
            cur in _NON_DEVICE_BASES
            or cur.startswith("chardev")
            or cur.endswith(("-machine", "-bus"))
        )

    @property
    def device_types(self) -> frozenset[str]:
        return frozenset(t for t in self.qom_types if self.is_device_type(t))

    @property
    def object_types(self) -> frozenset[str]:
        return frozenset(t for t in self.qom_types if not self.is_device_type(t))

    def device_prop(self, device: str, prop: str) -> DeviceProp | None:
        return next((p for p in self.device_props.get(device, ()) if p.name == prop), None)

    def cmdline_has(self, option: str, param: str | None = None) -> bool:
        params = self.cmdline_options.get(option)
        if params is None:
            return False
        return param is None or param in params

    # ------------------------------------------------------------------ builders
    @classmethod
    def from_replies(cls, path: str | Path, binary: str = "/usr/bin/qemu-system-x86_64") -> QemuCaps:
        """Build caps from a libvirt ``tests/qemucapabilitiesdata/*.replies`` conversation.

        Those files record the QMP commands libvirt sent to a real QEMU and its answers:
        first a KVM session (if KVM was present on the recording host), then a short TCG one.
        """
        text = Path(path).read_text()
        return cls.from_conversation(parse_replies(text), binary=binary)

    @classmethod
    def from_conversation(
        cls,
        conv: Iterable[tuple[str, Mapping[str, Any] | None, Any]],
        binary: str,
        kvm_usable: bool | None = None,
        kvm_unusable_reason: str = "",
    ) -> QemuCaps:
        """Build caps from (command, arguments, reply) triples, in the order they were sent.

        A second ``qmp_capabilities`` starts the TCG session (libvirt's layout); a conversation
        with only one session is TCG when ``query-kvm`` says KVM is not enabled.
        ``reply`` is the ``return`` value, or an exception-like ``{"error": ...}`` dict.
        ``kvm_usable`` overrides what the conversation says about KVM (the prober passes its
        host check; recordings are trusted as made).
        """
        from pyvirt.drivers.qemu.caps_build import build_caps

        return build_caps(list(conv), binary, kvm_usable, kvm_unusable_reason)

    # ------------------------------------------------------------------ cache form
    def to_json(self) -> dict[str, Any]:
        from pyvirt.drivers.qemu.caps_build import caps_to_json

        return caps_to_json(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> QemuCaps:
        from pyvirt.drivers.qemu.caps_build import caps_from_json

        return caps_from_json(data)


# ----------------------------------------------------------------------------- replies files


def _split_json_docs(text: str) -> Iterator[Any]:
    dec = json.JSONDecoder()
    pos = 0
    n = len(text)
    while True:
        m = re.compile(r"\S").search(text, pos)
        if m is None:
            return
        obj, pos = dec.raw_decode(text, m.start())
        if pos > n:  # pragma: no cover - raw_decode never overruns
            return
        yield obj


def parse_replies(text: str) -> list[tuple[str, Mapping[str, Any] | None, Any]]:
    """Pair each ``{"execute": ...}`` of a replies file with the answer that follows it."""
    out: list[tuple[str, Mapping[str, Any] | None, Any]] = []
    pending: Mapping[str, Any] | None = None
    for obj in _split_json_docs(text):
        if not isinstance(obj, dict):
            raise OperationFailed("malformed QMP replies file: a document is not an object")
        if "execute" in obj:
            pending = obj
            continue
        if "event" in obj or "QMP" in obj:
            continue
        if pending is None:
            raise OperationFailed("malformed QMP replies file: reply without a command")
        reply = obj["return"] if "return" in obj else {"error": obj.get("error", {})}
        out.append((str(pending["execute"]), pending.get("arguments"), reply))
        pending = None
    return out


async def load_caps(binary: str, cache_dir: Path) -> QemuCaps:
    """Capabilities of ``binary``: from ``cache_dir`` when still valid, else by probing it.

    The cache entry is keyed by (path, mtime, size) of the binary; see
    :mod:`pyvirt.drivers.qemu.caps_probe`. Raises :class:`pyvirt.errors.OperationFailed`
    when the binary cannot be probed.
    """
    from pyvirt.drivers.qemu.caps_probe import load_caps as _load

    return await _load(binary, cache_dir)
