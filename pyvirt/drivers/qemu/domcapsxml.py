"""virConnectGetDomainCapabilities XML for one (emulator, arch, machine, virttype).

Everything QEMU decides comes from :class:`QemuCaps`; what the host decides (firmware
descriptors, VFIO, swtpm) comes from :class:`DomCapsHost`, so the formatter stays pure and
libvirt's golden files (generated with a fixed test host) can be reproduced exactly.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyvirt.drivers.qemu.caps import Accel, AccelCaps, CpuModel, MachineType, QemuCapFlag, QemuCaps
from pyvirt.drivers.qemu.cpumodel import DEFAULT_CPU_MAP, HostModel, cpu_vendor, host_model
from pyvirt.errors import ErrorDomain, InvalidArg

F = QemuCapFlag

# QEMU models libvirt 9.0's CPU map does not know; libvirt leaves them out of <mode custom>.
_NOT_IN_LIBVIRT_MAP = frozenset({"max", "host", "base", "KnightsMill", "Denverton"})
_VERSIONED = re.compile(r"-v\d+$")
# libvirt words an unsupported arch of the binary's own family differently from a foreign one
_ARCH_FAMILY = {"x86_64": "x86", "i686": "x86", "aarch64": "arm", "armv7l": "arm"}


FIRMWARE_DIRS: tuple[Path, ...] = (Path("/usr/share/qemu/firmware"), Path("/etc/qemu/firmware"))


@dataclass(frozen=True, slots=True)
class FirmwareDescriptor:
    """One QEMU firmware descriptor (docs/interop/firmware.json in QEMU)."""

    path: str  # the image: flash executable or memory-mapped file
    interfaces: tuple[str, ...]  # "uefi", "bios", ...
    targets: tuple[tuple[str, tuple[str, ...]], ...]  # (QEMU arch, machine globs)
    features: tuple[str, ...] = ()
    nvram_template: str | None = None

    def matches(self, qemu_arch: str, machine: str) -> bool:
        return any(
            arch == qemu_arch and any(fnmatch.fnmatchcase(machine, g) for g in globs)
            for arch, globs in self.targets
        )

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> FirmwareDescriptor | None:
        mapping = data.get("mapping", {})
        dev = mapping.get("device")
        if dev == "flash":
            path = mapping.get("executable", {}).get("filename")
            nvram = mapping.get("nvram-template", {}).get("filename")
        elif dev == "memory":
            path, nvram = mapping.get("filename"), None
        else:  # kernel-type firmware has no image to offer as a loader
            return None
        if not path:
            return None
        return cls(
            path=str(path),
            interfaces=tuple(str(i) for i in data.get("interface-types", [])),
            targets=tuple(
                (str(t.get("architecture", "")), tuple(str(m) for m in t.get("machines", [])))
                for t in data.get("targets", [])
            ),
            features=tuple(str(f) for f in data.get("features", [])),
            nvram_template=str(nvram) if nvram else None,
        )


def load_firmware_descriptors(dirs: tuple[Path, ...] = FIRMWARE_DIRS) -> tuple[FirmwareDescriptor, ...]:
    """Descriptors by file name, later directories overriding earlier ones (an empty file
    masks one of the same name), in name order, which is their priority order."""
    chosen: dict[str, Path] = {}
    for d in dirs:
        try:
            for f in d.glob("*.json"):
                chosen[f.name] = f
        except OSError:
            continue
    out = []
    for name in sorted(chosen):
        try:
            text = chosen[name].read_text()
            desc = FirmwareDescriptor.parse(json.loads(text)) if text.strip() else None
        except (OSError, ValueError, AttributeError):
            continue  # an unreadable descriptor is skipped, as one that does not match
        if desc is not None:
            out.append(desc)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class DomCapsHost:
    """Host facts outside QEMU that domain capabilities report."""

    # Firmware images configured explicitly (qemu.conf's nvram list in libvirt): when set,
    # they are the <loader> values instead of the descriptors' images.
    loaders: tuple[str, ...] = ()
    descriptors: tuple[FirmwareDescriptor, ...] = ()
    vfio: bool = False  # /dev/vfio usable: pciBackend default+vfio
    swtpm_versions: tuple[str, ...] = ()  # swtpm present: TPM versions it emulates
    # <features><hyperv> enum: Hyper-V enlightenments the host's KVM supports. None leaves
    # the element out (hosts libvirt could not ask); without KVM only the two that need
    # no KVM support remain, which is what libvirt 9.0 here reports.
    hyperv: tuple[str, ...] | None = ("spinlocks", "vendor_id")
    cpu_map: Path = DEFAULT_CPU_MAP  # CPU model table for host-model (see cpumodel)

    @classmethod
    def detect(cls) -> DomCapsHost:
        """What this host offers; cheap checks only (file reads, PATH lookup)."""
        swtpm = shutil.which("swtpm") is not None
        return cls(
            descriptors=load_firmware_descriptors(),
            vfio=os.path.exists("/dev/vfio/vfio"),
            swtpm_versions=("2.0",) if swtpm else (),
        )


def _enum(name: str, values: list[str], indent: str) -> list[str]:
    if not values:
        return [f"{indent}<enum name='{name}'/>"]
    return (
        [f"{indent}<enum name='{name}'>"]
        + [f"{indent}  <value>{v}</value>" for v in values]
        + [f"{indent}</enum>"]
    )


def _yn(b: bool) -> str:
    return "yes" if b else "no"


def _custom_models(models: tuple[CpuModel, ...]) -> list[CpuModel]:
    return [
        m for m in models if m.name not in _NOT_IN_LIBVIRT_MAP and not _VERSIONED.search(m.name)
    ]


def _cpu(caps: QemuCaps, accel: Accel, host: DomCapsHost) -> list[str]:
    ac = caps.accel(accel)
    out = ["  <cpu>"]
    if accel == Accel.KVM:
        out += ["    <mode name='host-passthrough' supported='yes'>"]
        out += _enum("hostPassthroughMigratable", ["on", "off"], "      ")
        out += ["    </mode>"]
    else:
        out += ["    <mode name='host-passthrough' supported='no'/>"]
    out += ["    <mode name='maximum' supported='yes'>"]
    out += _enum("maximumMigratable", ["on", "off"], "      ")
    out += ["    </mode>"]
    hm: HostModel | None = host_model(ac, host.cpu_map) if ac is not None else None
    if hm is None:
        out += ["    <mode name='host-model' supported='no'/>"]
    else:
        out += ["    <mode name='host-model' supported='yes'>",
                f"      <model fallback='forbid'>{hm.model}</model>"]
        if hm.vendor:
            out.append(f"      <vendor>{hm.vendor}</vendor>")
        out += [f"      <feature policy='require' name='{f}'/>" for f in hm.require]
        out += [f"      <feature policy='disable' name='{f}'/>" for f in hm.disable]
        out += ["    </mode>"]
    models = _custom_models(ac.cpu_models) if ac is not None else []
    if models:
        out.append("    <mode name='custom' supported='yes'>")
        for m in models:
            usable = "unknown" if m.usable is None else _yn(m.usable)
            out.append(
                f"      <model usable='{usable}' vendor='{cpu_vendor(m.name)}'>{m.name}</model>"
            )
        out.append("    </mode>")
    else:
        out.append("    <mode name='custom' supported='no'/>")
    out.append("  </cpu>")
    return out


def _os(caps: QemuCaps, machine: str, host: DomCapsHost) -> list[str]:
    matching = [d for d in host.descriptors if d.matches(caps.arch, machine)]
    kinds = {i for d in matching for i in d.interfaces}
    firmwares = [n for i, n in (("bios", "bios"), ("uefi", "efi")) if i in kinds]
    loaders = list(host.loaders) or list(dict.fromkeys(d.path for d in matching))
    out = ["  <os supported='yes'>"]
    out += _enum("firmware", firmwares, "    ")
    out += ["    <loader supported='yes'>"]
    out += [f"      <value>{p}</value>" for p in loaders]
    out += _enum("type", ["rom", "pflash"], "      ")
    out += _enum("readonly", ["yes", "no"], "      ")
    # Secure boot is offered when a firmware for this machine needs SMM (the secure-boot
    # builds do; only q35 has SMM, so their descriptors only list q35 machines).
    secure = any("requires-smm" in d.features for d in matching)
    out += _enum("secure", ["yes", "no"] if secure else ["no"], "      ")
    out += ["    </loader>", "  </os>"]
    return out


def _present(caps: QemuCaps, pairs: tuple[tuple[QemuCapFlag, str], ...]) -> list[str]:
    return [name for flag, name in pairs if caps.has(flag)]


def _virtio_models(caps: QemuCaps) -> list[str]:
    extra = ["virtio-transitional", "virtio-non-transitional"]
    return ["virtio"] + (extra if caps.has(F.VIRTIO_PCI_NON_TRANSITIONAL) else [])


def _disk_graphics_video(caps: QemuCaps, machine: str) -> list[str]:
    out = ["    <disk supported='yes'>"]
    out += _enum("diskDevice", ["disk", "cdrom", "floppy", "lun"], "      ")
    bus = [] if "q35" in machine else ["ide"]  # q35 has no IDE controller
    bus += ["fdc", "scsi", "virtio"] + _present(caps, ((F.USB_STORAGE, "usb"),
                                                       (F.ICH9_AHCI, "sata")))
    out += _enum("bus", bus, "      ")
    out += _enum("model", _virtio_models(caps), "      ")
    out += ["    </disk>", "    <graphics supported='yes'>"]
    out += _enum("type", _present(caps, ((F.SDL, "sdl"), (F.VNC, "vnc"), (F.SPICE, "spice"),
                                         (F.EGL_HEADLESS, "egl-headless"),
                                         (F.DISPLAY_DBUS, "dbus"))), "      ")
    out += ["    </graphics>", "    <video supported='yes'>"]
    vids = _present(caps, ((F.VGA, "vga"), (F.CIRRUS_VGA, "cirrus"), (F.VMWARE_SVGA, "vmvga"),
                           (F.QXL, "qxl"), (F.VIRTIO_GPU, "virtio")))
    vids += ["none"] + _present(caps, ((F.BOCHS_DISPLAY, "bochs"), (F.RAMFB, "ramfb")))
    out += _enum("modelType", vids, "      ")
    out += ["    </video>"]
    return out


def _hostdev_rng_fs(caps: QemuCaps, host: DomCapsHost) -> list[str]:
    out = ["    <hostdev supported='yes'>"]
    out += _enum("mode", ["subsystem"], "      ")
    out += _enum("startupPolicy", ["default", "mandatory", "requisite", "optional"], "      ")
    out += _enum("subsysType", ["usb", "pci", "scsi"], "      ")
    out += _enum("capsType", [], "      ")
    vfio = host.vfio and caps.has(F.VFIO_PCI)
    out += _enum("pciBackend", ["default", "vfio"] if vfio else [], "      ")
    rng = caps.has(F.VIRTIO_RNG)
    out += ["    </hostdev>", f"    <rng supported='{_yn(rng)}'>"]
    out += _enum("model", _virtio_models(caps) if rng else [], "      ")
    out += _enum("backendModel", _present(caps, ((F.RNG_RANDOM, "random"), (F.RNG_EGD, "egd"),
                                                 (F.RNG_BUILTIN, "builtin"))), "      ")
    out += ["    </rng>", "    <filesystem supported='yes'>"]
    fs = ["path", "handle"] + _present(caps, ((F.VHOST_USER_FS, "virtiofs"),))
    out += _enum("driverType", fs, "      ")
    out += ["    </filesystem>"]
    return out


def _tpm_redir_channel(caps: QemuCaps, host: DomCapsHost) -> list[str]:
    tpm_models = _present(caps, ((F.TPM_TIS, "tpm-tis"), (F.TPM_CRB, "tpm-crb")))
    out = [f"    <tpm supported='{_yn(bool(tpm_models))}'>"]
    out += _enum("model", tpm_models, "      ")
    swtpm = caps.has(F.TPM_EMULATOR) and bool(host.swtpm_versions)
    backends = _present(caps, ((F.TPM_PASSTHROUGH, "passthrough"),))
    out += _enum("backendModel", backends + (["emulator", "external"] if swtpm else []), "      ")
    if swtpm:
        out += _enum("backendVersion", list(host.swtpm_versions), "      ")
    redir = caps.has(F.USB_REDIR)
    out += ["    </tpm>", f"    <redirdev supported='{_yn(redir)}'>"]
    out += _enum("bus", ["usb"] if redir else [], "      ")
    out += ["    </redirdev>", "    <channel supported='yes'>"]
    out += _enum("type", ["pty", "unix"] + _present(caps, ((F.SPICE, "spicevmc"),)), "      ")
    out += ["    </channel>"]
    return out


def _devices(caps: QemuCaps, machine: str, host: DomCapsHost) -> list[str]:
    return [
        "  <devices>",
        *_disk_graphics_video(caps, machine),
        *_hostdev_rng_fs(caps, host),
        *_tpm_redir_channel(caps, host),
        "  </devices>",
    ]


def _features(caps: QemuCaps, host: DomCapsHost) -> list[str]:
    has = caps.has
    out = [
        "  <features>",
        "    <gic supported='no'/>",
        f"    <vmcoreinfo supported='{_yn(has(F.VMCOREINFO))}'/>",
        f"    <genid supported='{_yn(has(F.VMGENID))}'/>",
        f"    <backingStoreInput supported='{_yn(has(F.BLOCKDEV))}'/>",
        f"    <backup supported='{_yn(has(F.INCREMENTAL_BACKUP))}'/>",
        f"    <sev supported='{_yn(caps.sev_supported and has(F.SEV_GUEST))}'/>",
        f"    <sgx supported='{_yn(caps.sgx_supported and has(F.SGX_EPC))}'/>",
    ]
    if host.hyperv is not None:
        out += ["    <hyperv supported='yes'>"]
        out += _enum("features", list(host.hyperv), "      ")
        out += ["    </hyperv>"]
    out.append("  </features>")
    return out


def _resolve(
    caps: QemuCaps, emulator: str | None, arch: str | None, machine: str | None,
    virttype: str | None,
) -> tuple[str, AccelCaps, str, MachineType]:
    """Check the request against the binary: (virttype, its caps, guest arch, machine)."""
    if emulator is not None and emulator != caps.binary:
        raise InvalidArg(f"invalid argument: capabilities of '{caps.binary}' were given for "
                         f"emulator '{emulator}'", domain=ErrorDomain.QEMU)
    vt = virttype or ("kvm" if caps.kvm_available else "qemu")
    accel = {"kvm": Accel.KVM, "qemu": Accel.TCG}.get(vt)
    ac = caps.accel(accel) if accel is not None else None
    if accel is None:
        raise InvalidArg(
            f"invalid argument: Emulator '{caps.binary}' does not support virt type '{vt}'",
            domain=ErrorDomain.QEMU,
        )
    if ac is None:
        # type='kvm' where KVM does not really work (see caps.py): libvirt's words for a
        # KVM-less host
        raise InvalidArg(
            f"invalid argument: the accel '{vt}' is not supported by '{caps.binary}' on this "
            "host",
            domain=ErrorDomain.QEMU,
        )
    guest_arch = arch or caps.guest_arch
    if not caps.serves_arch(guest_arch):
        if _ARCH_FAMILY.get(guest_arch, guest_arch) == _ARCH_FAMILY.get(caps.guest_arch):
            msg = f"Emulator '{caps.binary}' does not support arch '{guest_arch}'"
        else:
            msg = (f"architecture from emulator '{caps.guest_arch}' doesn't match given "
                   f"architecture '{guest_arch}'")
        raise InvalidArg(f"invalid argument: {msg}", domain=ErrorDomain.QEMU)
    mt = ac.machine(machine) if machine else ac.default_machine()
    if mt is None:
        raise InvalidArg(
            f"invalid argument: the machine '{machine}' is not supported by emulator "
            f"'{caps.binary}'",
            domain=ErrorDomain.QEMU,
        )
    return vt, ac, guest_arch, mt


def domain_capabilities_xml(
    caps: QemuCaps,
    emulator: str | None = None,
    arch: str | None = None,
    machine: str | None = None,
    virttype: str | None = None,
    host: DomCapsHost | None = None,
) -> str:
    """The domain capabilities document, as libvirt 9.0 formats it (trailing newline).

    ``caps`` must be the emulator's (``emulator``, when given, must be ``caps.binary``);
    picking the binary is :func:`connect_domain_capabilities`'s job.
    Raises VIR_ERR_INVALID_ARG (domain QEMU) with libvirt's messages for a virt type the
    binary cannot serve (kvm included, when KVM does not really work here), an architecture
    it does not run, or an unknown machine.
    """
    host = host or DomCapsHost.detect()
    vt, ac, guest_arch, mt = _resolve(caps, emulator, arch, machine, virttype)
    out = [
        "<domainCapabilities>",
        f"  <path>{caps.binary}</path>",
        f"  <domain>{vt}</domain>",
        f"  <machine>{mt.name}</machine>",
        f"  <arch>{guest_arch}</arch>",
        f"  <vcpu max='{mt.max_cpus}'/>",
        f"  <iothreads supported='{_yn(caps.has(F.IOTHREAD))}'/>",
    ]
    out += _os(caps, mt.name, host)
    out += _cpu(caps, ac.accel, host)
    if caps.has(F.MEMORY_BACKEND_MEMFD):
        out += ["  <memoryBacking supported='yes'>"]
        out += _enum("sourceType", ["file", "anonymous", "memfd"], "    ")
        out += ["  </memoryBacking>"]
    else:
        out += ["  <memoryBacking supported='yes'>"]
        out += _enum("sourceType", ["file", "anonymous"], "    ")
        out += ["  </memoryBacking>"]
    out += _devices(caps, mt.name, host)
    out += _features(caps, host)
    out.append("</domainCapabilities>")
    return "\n".join(out) + "\n"


async def connect_domain_capabilities(
    cache_dir: Path,
    emulator: str | None = None,
    arch: str | None = None,
    machine: str | None = None,
    virttype: str | None = None,
    *,
    host: DomCapsHost | None = None,
) -> str:
    """virConnectGetDomainCapabilities: pick the binary (emulator, else by arch, else the
    host's arch), load its caps (cached in ``cache_dir``) and format."""
    from pyvirt.drivers.qemu.caps_probe import emulator_for_arch, load_caps

    if emulator is None:
        emulator = emulator_for_arch(arch or os.uname().machine)
    caps = await load_caps(emulator, cache_dir)
    return domain_capabilities_xml(caps, emulator, arch, machine, virttype, host)
