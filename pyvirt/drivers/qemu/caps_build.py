"""Turn a QMP introspection conversation into :class:`QemuCaps`, and caps to/from cache JSON.

The conversation is a list of (command, arguments, reply) in the order sent. It may hold
two sessions (KVM first, then TCG, separated by a second ``qmp_capabilities``), the layout
of libvirt's recorded ``.replies`` files and of our own prober.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from pyvirt.drivers.qemu.caps import (
    Accel,
    AccelCaps,
    CpuModel,
    DeviceProp,
    MachineType,
    QemuCapFlag,
    QemuCaps,
)
from pyvirt.drivers.qemu.qapi_schema import QapiSchema
from pyvirt.errors import OperationFailed

Conversation = Sequence[tuple[str, Mapping[str, Any] | None, Any]]

# Bump whenever the probe asks different questions or the JSON layout changes: older
# entries are then re-probed instead of yielding caps with missing answers.
CACHE_FORMAT = 3

# Flags that simply mean "this QOM type exists".
_TYPE_FLAGS: dict[QemuCapFlag, str] = {
    QemuCapFlag.TCG: "tcg-accel",
    QemuCapFlag.IOTHREAD: "iothread",
    QemuCapFlag.VIRTIO_SCSI_PCI: "virtio-scsi-pci",
    QemuCapFlag.VIRTIO_NET: "virtio-net-pci",
    QemuCapFlag.VIRTIO_RNG: "virtio-rng-pci",
    QemuCapFlag.VIRTIO_GPU: "virtio-gpu-pci",
    QemuCapFlag.VIRTIO_KEYBOARD: "virtio-keyboard-device",
    QemuCapFlag.VIRTIO_MOUSE: "virtio-mouse-device",
    QemuCapFlag.VIRTIO_TABLET: "virtio-tablet-device",
    QemuCapFlag.VIRTIO_PCI_NON_TRANSITIONAL: "virtio-blk-pci-non-transitional",
    QemuCapFlag.QEMU_XHCI: "qemu-xhci",
    QemuCapFlag.NEC_USB_XHCI: "nec-usb-xhci",
    QemuCapFlag.PIIX3_USB_UHCI: "piix3-usb-uhci",
    QemuCapFlag.ICH9_AHCI: "ich9-ahci",
    QemuCapFlag.PCIE_ROOT_PORT: "pcie-root-port",
    QemuCapFlag.PCI_BRIDGE: "pci-bridge",
    QemuCapFlag.PCIE_PCI_BRIDGE: "pcie-pci-bridge",
    QemuCapFlag.DMI_TO_PCI_BRIDGE: "i82801b11-bridge",
    QemuCapFlag.ISA_SERIAL: "isa-serial",
    QemuCapFlag.PCI_SERIAL: "pci-serial",
    QemuCapFlag.PVPANIC: "pvpanic",
    QemuCapFlag.USB_KBD: "usb-kbd",
    QemuCapFlag.USB_STORAGE: "usb-storage",
    QemuCapFlag.VGA: "VGA",
    QemuCapFlag.CIRRUS_VGA: "cirrus-vga",
    QemuCapFlag.VMWARE_SVGA: "vmware-svga",
    QemuCapFlag.QXL: "qxl",
    QemuCapFlag.BOCHS_DISPLAY: "bochs-display",
    QemuCapFlag.RAMFB: "ramfb",
    QemuCapFlag.E1000: "e1000",
    QemuCapFlag.RTL8139: "rtl8139",
    QemuCapFlag.RNG_RANDOM: "rng-random",
    QemuCapFlag.RNG_EGD: "rng-egd",
    QemuCapFlag.RNG_BUILTIN: "rng-builtin",
    QemuCapFlag.MEMORY_BACKEND_MEMFD: "memory-backend-memfd",
    QemuCapFlag.VMCOREINFO: "vmcoreinfo",
    QemuCapFlag.VMGENID: "vmgenid",
    QemuCapFlag.TPM_PASSTHROUGH: "tpm-passthrough",
    QemuCapFlag.TPM_EMULATOR: "tpm-emulator",
    QemuCapFlag.TPM_TIS: "tpm-tis",
    QemuCapFlag.TPM_CRB: "tpm-crb",
    QemuCapFlag.VFIO_PCI: "vfio-pci",
    QemuCapFlag.USB_REDIR: "usb-redir",
    QemuCapFlag.VHOST_USER_FS: "vhost-user-fs-device",
    QemuCapFlag.SEV_GUEST: "sev-guest",
    QemuCapFlag.SGX_EPC: "sgx-epc",
}

# Flags read from the QAPI schema (see qapi_schema for the query notation).
_SCHEMA_FLAGS: dict[QemuCapFlag, str] = {
    QemuCapFlag.BLOCKDEV: "blockdev-add/arg-type/+file/drop-cache",
    QemuCapFlag.BLOCKDEV_REOPEN: "blockdev-reopen",
    QemuCapFlag.BLOCKDEV_SNAPSHOT_ALLOW_WRITE_ONLY: "blockdev-snapshot/$allow-write-only-overlay",
    QemuCapFlag.QUERY_NAMED_BLOCK_NODES_FLAT: "query-named-block-nodes/arg-type/flat",
    QemuCapFlag.INCREMENTAL_BACKUP: "block-dirty-bitmap-merge",
    QemuCapFlag.AIO_IO_URING: "blockdev-add/arg-type/+file/aio/^io_uring",
    QemuCapFlag.DEVICE_JSON: "device_add/$json-cli",
    QemuCapFlag.DEVICE_JSON_HOTPLUG: "device_add/$json-cli-hotplug",
    QemuCapFlag.OBJECT_QAPIFIED: "object-add/arg-type/+secret/data",
    QemuCapFlag.NETDEV_JSON: "netdev_add/arg-type/+user/hostfwd",
    QemuCapFlag.CHARDEV_RECONNECT: "chardev-add/arg-type/backend/+socket/data/reconnect",
    QemuCapFlag.SET_ACTION: "set-action",
    QemuCapFlag.QUERY_CPU_MODEL_EXPANSION: "query-cpu-model-expansion",
    QemuCapFlag.QUERY_HOTPLUGGABLE_CPUS: "query-hotpluggable-cpus",
    QemuCapFlag.VNC: "query-vnc",
    QemuCapFlag.SPICE: "query-spice",
    QemuCapFlag.SDL: "query-display-options/ret-type/type/^sdl",
    QemuCapFlag.EGL_HEADLESS: "query-display-options/ret-type/type/^egl-headless",
    QemuCapFlag.DISPLAY_DBUS: "query-display-options/ret-type/type/^dbus",
}

# Enums worth keeping from the schema (cache name -> path to reach it).
_SCHEMA_ENUMS: dict[str, str] = {
    "BlockdevDriver": "blockdev-add/arg-type/driver",
    "BlockdevAioOptions": "blockdev-add/arg-type/+file/aio",
    "DisplayType": "query-display-options/ret-type/type",
    "NetClientDriver": "netdev_add/arg-type/type",
    "ChardevBackendKind": "chardev-add/arg-type/backend/type",
    "RunState": "query-status/ret-type/status",
}


def _is_error(reply: Any) -> bool:
    return isinstance(reply, dict) and set(reply) == {"error"}


def _machines(reply: Any) -> tuple[MachineType, ...]:
    out = []
    for m in reply:
        out.append(
            MachineType(
                name=str(m["name"]),
                alias=m.get("alias"),
                is_default=bool(m.get("is-default", False)),
                max_cpus=int(m.get("cpu-max", 1)),
                deprecated=bool(m.get("deprecated", False)),
                hotpluggable_cpus=bool(m.get("hotpluggable-cpus", False)),
                default_cpu_type=m.get("default-cpu-type"),
                default_ram_id=m.get("default-ram-id"),
                numa_mem_supported=bool(m.get("numa-mem-supported", False)),
                acpi=m.get("acpi"),
            )
        )
    return tuple(out)


def _cpu_models(reply: Any) -> tuple[CpuModel, ...]:
    out = []
    for c in reply:
        blockers = c.get("unavailable-features")
        out.append(
            CpuModel(
                name=str(c["name"]),
                typename=str(c.get("typename", "")),
                usable=None if blockers is None else not blockers,
                blockers=tuple(blockers or ()),
                static=bool(c.get("static", False)),
                migration_safe=bool(c.get("migration-safe", False)),
                deprecated=bool(c.get("deprecated", False)),
                alias_of=c.get("alias-of"),
            )
        )
    return tuple(out)


def _props(reply: Any) -> tuple[DeviceProp, ...]:
    return tuple(
        DeviceProp(name=str(p["name"]), type=str(p.get("type", "")), default=p.get("default-value"))
        for p in reply
    )


class _Session:
    """Per-accelerator answers gathered while walking one QMP session."""

    def __init__(self) -> None:
        self.machines: tuple[MachineType, ...] = ()
        self.cpu_models: tuple[CpuModel, ...] = ()
        self.host_model: str | None = None
        self.host_props: dict[str, bool | int | str] = {}
        self.nonmig_props: dict[str, Any] = {}
        self.kvm_enabled: bool | None = None

    def accel_caps(self, accel: Accel) -> AccelCaps:
        return AccelCaps(
            accel=accel,
            machines=self.machines,
            cpu_models=self.cpu_models,
            host_cpu_model=self.host_model,
            host_cpu_props=MappingProxyType(dict(self.host_props)),
            host_cpu_nonmigratable=frozenset(
                k for k, v in self.nonmig_props.items()
                if v is True and self.host_props.get(k) is not True
            ),
        )


class _Walk:
    """Sorts the answers of a conversation: per session, global, and per-type properties."""

    def __init__(self) -> None:
        self.sessions: list[_Session] = []
        self.g: dict[str, Any] = {}  # accelerator-independent replies, first answer wins
        self.device_props: dict[str, tuple[DeviceProp, ...]] = {}
        self.object_props: dict[str, tuple[DeviceProp, ...]] = {}

    def feed(self, cmd: str, args: Mapping[str, Any] | None, reply: Any) -> None:
        if cmd == "qmp_capabilities":
            self.sessions.append(_Session())
            return
        if not self.sessions:
            self.sessions.append(_Session())
        s = self.sessions[-1]
        if _is_error(reply):
            return
        if cmd == "query-machines":
            s.machines = _machines(reply)
        elif cmd == "query-cpu-definitions":
            s.cpu_models = _cpu_models(reply)
        elif cmd == "query-kvm":
            s.kvm_enabled = bool(reply.get("enabled"))
            self.g.setdefault(cmd, reply)
        elif cmd == "query-cpu-model-expansion":
            self._expansion(s, args, reply)
        elif cmd == "device-list-properties" and args:
            self.device_props[str(args["typename"])] = _props(reply)
        elif cmd == "qom-list-properties" and args:
            self.object_props[str(args["typename"])] = _props(reply)
        else:
            self.g.setdefault(cmd, reply)

    @staticmethod
    def _expansion(s: _Session, args: Mapping[str, Any] | None, reply: Any) -> None:
        if not args or args.get("type") != "static":
            return
        props = args["model"].get("props")
        model = reply.get("model", {})
        if not props:  # the plain static expansion describes the host model
            s.host_model = model.get("name")
            s.host_props = {str(k): v for k, v in model.get("props", {}).items()}
        elif props == {"migratable": False}:
            s.nonmig_props = dict(model.get("props", {}))


def _accels(sessions: list[_Session], kvm_ok: bool) -> tuple[AccelCaps, ...]:
    accels: list[AccelCaps] = []
    if len(sessions) >= 2:
        if kvm_ok:
            accels.append(sessions[0].accel_caps(Accel.KVM))
        accels.append(sessions[-1].accel_caps(Accel.TCG))
    elif sessions:
        only = sessions[0]
        accel = Accel.KVM if only.kvm_enabled and kvm_ok else Accel.TCG
        accels.append(only.accel_caps(accel))
    if accels and not any(a.accel == Accel.TCG for a in accels):
        # One KVM-only session: machines are the same under TCG; CPU usability is not.
        accels.append(AccelCaps(accel=Accel.TCG, machines=accels[0].machines))
    return tuple(accels)


def _flags(
    kvm_ok: bool,
    version: int,
    schema: QapiSchema,
    qom_types: Mapping[str, str],
    cmdline: Mapping[str, frozenset[str]],
    migration_caps: frozenset[str],
    device_props: Mapping[str, tuple[DeviceProp, ...]],
) -> frozenset[QemuCapFlag]:
    flags: set[QemuCapFlag] = set()
    if kvm_ok:
        flags.add(QemuCapFlag.KVM)
    flags.update(f for f, t in _TYPE_FLAGS.items() if t in qom_types)
    flags.update(f for f, q in _SCHEMA_FLAGS.items() if schema.query(q))
    # -compat exists since QEMU 6.0 but is not listed by query-command-line-options.
    if "compat" in cmdline or version >= 6_000_000:
        flags.add(QemuCapFlag.COMPAT_DEPRECATED)
    if "sandbox" in cmdline:
        flags.add(QemuCapFlag.SECCOMP_SANDBOX)
    if "dies" in cmdline.get("smp-opts", frozenset()):
        flags.add(QemuCapFlag.SMP_DIES)
    if "rdma-pin-all" in migration_caps:
        flags.add(QemuCapFlag.MIGRATE_RDMA)
    if any(p.name == "scsi" for p in device_props.get("virtio-blk-pci", ())):
        flags.add(QemuCapFlag.VIRTIO_BLK_SCSI)
    return frozenset(flags)


def build_caps(
    conv: Conversation, binary: str, kvm_usable: bool | None, kvm_unusable_reason: str
) -> QemuCaps:
    w = _Walk()
    for cmd, args, reply in conv:
        w.feed(cmd, args, reply)
    g, device_props, object_props = w.g, w.device_props, w.object_props
    if "query-version" not in g:
        raise OperationFailed(f"QEMU {binary} did not answer query-version")

    ver = g["query-version"]["qemu"]
    version = int(ver["major"]) * 1_000_000 + int(ver["minor"]) * 1000 + int(ver["micro"])
    kvm_reply = g.get("query-kvm", {})
    recorded_kvm = bool(kvm_reply.get("enabled")) and bool(kvm_reply.get("present"))
    kvm_ok = recorded_kvm if kvm_usable is None else (kvm_usable and recorded_kvm)

    schema = QapiSchema(g.get("query-qmp-schema", []))
    qom_types = {str(t["name"]): str(t.get("parent", "")) for t in g.get("qom-list-types", [])}
    cmdline = {
        str(o["option"]): frozenset(str(p["name"]) for p in o.get("parameters", []))
        for o in g.get("query-command-line-options", [])
    }
    commands = frozenset(str(c["name"]) for c in g.get("query-commands", [])) or schema.names(
        "command"
    )
    migration_caps = frozenset(str(c["capability"]) for c in g.get("query-migrate-capabilities", []))
    flags = _flags(kvm_ok, version, schema, qom_types, cmdline, migration_caps, device_props)
    accels = _accels(w.sessions, kvm_ok)

    return QemuCaps(
        binary=binary,
        version=version,
        version_str=f"{ver['major']}.{ver['minor']}.{ver['micro']}",
        package=str(g["query-version"].get("package", "")),
        arch=str(g.get("query-target", {}).get("arch", "")),
        kvm_available=kvm_ok,
        kvm_unusable_reason="" if kvm_ok else (kvm_unusable_reason or "KVM is not available"),
        accels=accels,
        commands=commands,
        events=schema.names("event"),
        qom_types=MappingProxyType(qom_types),
        device_props=MappingProxyType(device_props),
        object_props=MappingProxyType(object_props),
        cmdline_options=MappingProxyType(cmdline),
        migration_capabilities=migration_caps,
        tpm_models=frozenset(g.get("query-tpm-models", [])),
        tpm_types=frozenset(g.get("query-tpm-types", [])),
        qapi_enums=MappingProxyType(
            {k: v for k, p in _SCHEMA_ENUMS.items() if (v := schema.enum_at(p))}
        ),
        sev_supported="query-sev-capabilities" in g,
        sgx_supported="query-sgx-capabilities" in g,
        flags=flags,
    )


# ----------------------------------------------------------------------------- cache JSON


def _props_json(p: Mapping[str, tuple[DeviceProp, ...]]) -> dict[str, list[list[Any]]]:
    return {k: [[x.name, x.type, x.default] for x in v] for k, v in p.items()}


def _props_from(p: Mapping[str, Any]) -> Mapping[str, tuple[DeviceProp, ...]]:
    return MappingProxyType({k: tuple(DeviceProp(n, t, d) for n, t, d in v) for k, v in p.items()})


def caps_to_json(c: QemuCaps) -> dict[str, Any]:
    return {
        "format": CACHE_FORMAT,
        "binary": c.binary,
        "version": c.version,
        "version_str": c.version_str,
        "package": c.package,
        "arch": c.arch,
        "kvm_available": c.kvm_available,
        "kvm_unusable_reason": c.kvm_unusable_reason,
        "accels": [
            {
                "accel": a.accel.value,
                "machines": [
                    [m.name, m.alias, m.is_default, m.max_cpus, m.deprecated, m.hotpluggable_cpus,
                     m.default_cpu_type, m.default_ram_id, m.numa_mem_supported, m.acpi]
                    for m in a.machines
                ],
                "cpu_models": [
                    [x.name, x.typename, x.usable, list(x.blockers), x.static, x.migration_safe,
                     x.deprecated, x.alias_of]
                    for x in a.cpu_models
                ],
                "host_cpu_model": a.host_cpu_model,
                "host_cpu_props": dict(a.host_cpu_props),
                "host_cpu_nonmigratable": sorted(a.host_cpu_nonmigratable),
            }
            for a in c.accels
        ],
        "commands": sorted(c.commands),
        "events": sorted(c.events),
        "qom_types": dict(c.qom_types),
        "device_props": _props_json(c.device_props),
        "object_props": _props_json(c.object_props),
        "cmdline_options": {k: sorted(v) for k, v in c.cmdline_options.items()},
        "migration_capabilities": sorted(c.migration_capabilities),
        "tpm_models": sorted(c.tpm_models),
        "tpm_types": sorted(c.tpm_types),
        "qapi_enums": {k: list(v) for k, v in c.qapi_enums.items()},
        "sev_supported": c.sev_supported,
        "sgx_supported": c.sgx_supported,
        "flags": sorted(f.value for f in c.flags),
    }


def caps_from_json(d: Mapping[str, Any]) -> QemuCaps:
    if d.get("format") != CACHE_FORMAT:
        raise ValueError(f"unsupported caps cache format {d.get('format')!r}")
    known = {f.value for f in QemuCapFlag}
    return QemuCaps(
        binary=d["binary"],
        version=d["version"],
        version_str=d["version_str"],
        package=d["package"],
        arch=d["arch"],
        kvm_available=d["kvm_available"],
        kvm_unusable_reason=d["kvm_unusable_reason"],
        accels=tuple(
            AccelCaps(
                accel=Accel(a["accel"]),
                machines=tuple(MachineType(*m) for m in a["machines"]),
                cpu_models=tuple(
                    CpuModel(n, t, u, tuple(b), s, ms, dep, al)
                    for n, t, u, b, s, ms, dep, al in a["cpu_models"]
                ),
                host_cpu_model=a["host_cpu_model"],
                host_cpu_props=MappingProxyType(a["host_cpu_props"]),
                host_cpu_nonmigratable=frozenset(a["host_cpu_nonmigratable"]),
            )
            for a in d["accels"]
        ),
        commands=frozenset(d["commands"]),
        events=frozenset(d["events"]),
        qom_types=MappingProxyType(d["qom_types"]),
        device_props=_props_from(d["device_props"]),
        object_props=_props_from(d["object_props"]),
        cmdline_options=MappingProxyType({k: frozenset(v) for k, v in d["cmdline_options"].items()}),
        migration_capabilities=frozenset(d["migration_capabilities"]),
        tpm_models=frozenset(d["tpm_models"]),
        tpm_types=frozenset(d["tpm_types"]),
        qapi_enums=MappingProxyType({k: tuple(v) for k, v in d["qapi_enums"].items()}),
        sev_supported=d["sev_supported"],
        sgx_supported=d["sgx_supported"],
        # A flag this version no longer knows is dropped rather than failing the load.
        flags=frozenset(QemuCapFlag(f) for f in d["flags"] if f in known),
    )
