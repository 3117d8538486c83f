"""virConnectGetCapabilities XML for the QEMU driver: <host> plus one <guest> per emulator.

The formatter is pure: :class:`HostDescription` carries everything read from the host
(:func:`describe_host` gathers it cheaply from /proc and /sys), and the guests come from the
:class:`QemuCaps` of each binary. Deliberate differences from libvirt on these machines:
``<domain type='kvm'/>`` only appears when KVM really works (not under kvm_pvm), the host
UUID falls back to /etc/machine-id when SMBIOS has none (libvirt invents a random one per
daemon start), and only the ``none`` security model is reported (pyvirt does no DAC or
SELinux relabelling).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from pyvirt.drivers.base import NodeInfo
from pyvirt.drivers.qemu import hostinfo
from pyvirt.drivers.qemu.caps import Accel, MachineType, QemuCapFlag, QemuCaps
from pyvirt.drivers.qemu.cpumodel import DEFAULT_CPU_MAP, CpuMapData, decode, vendor_name
from pyvirt.drivers.qemu.hostinfo import CacheBank, CpuIdentity, NumaCell, format_cpu_list


@dataclass(frozen=True, slots=True)
class HostCpuDescription:
    arch: str
    model: str | None
    vendor: str | None
    features: tuple[str, ...]
    identity: CpuIdentity | None = None


@dataclass(frozen=True, slots=True)
class HostDescription:
    uuid: str
    cpu: HostCpuDescription
    node: NodeInfo
    cells: tuple[NumaCell, ...]
    page_sizes_kib: tuple[int, ...]  # huge page sizes; 4 KiB is always listed first
    caches: tuple[CacheBank, ...] = ()
    iommu: bool = False
    # huge pages reserved per (cell id, size KiB); missing means 0
    huge_pages: dict[tuple[int, int], int] = field(default_factory=dict)
    # libvirt reads the TSC rate through /dev/kvm, so <counter> only appears when that
    # device can be opened (even where KVM cannot run guests, as under kvm_pvm)
    tsc_counter: bool = False


def describe_host(cpu_map: Path = DEFAULT_CPU_MAP) -> HostDescription:
    """Read this host's description (sysfs/procfs only; no process is spawned)."""
    hi = hostinfo.HostInfo()
    ident = hostinfo.cpu_identity()
    node = hi.node_info()
    model: str | None = None
    vendor = vendor_name(ident.vendor_string)
    feats: tuple[str, ...] = ()
    data = CpuMapData.load(cpu_map)
    if data is not None and node.model in ("x86_64", "i686"):
        known = set(data.features)
        host = {f for f in ident.libvirt_features() if f in known}
        sig = (ident.family, ident.model) if ident.family is not None and ident.model is not None else None
        best = decode(data, host, vendor, sig, guest=False)
        if best is not None:
            order = {f: i for i, f in enumerate(data.features)}
            model = best[0].name
            feats = tuple(sorted(best[1], key=order.__getitem__))
    cells = tuple(hi.numa_cells())
    huge: dict[tuple[int, int], int] = {}
    for c in cells:
        for size in hostinfo.huge_page_sizes_kib():
            p = hi.sys_node / f"node{c.id}" / "hugepages" / f"hugepages-{size}kB" / "nr_hugepages"
            try:
                huge[(c.id, size)] = int(p.read_text())
            except (OSError, ValueError):
                huge[(c.id, size)] = 0
    return HostDescription(
        uuid=hostinfo.host_uuid(),
        cpu=HostCpuDescription(node.model, model, vendor, feats, ident),
        node=node,
        cells=cells,
        page_sizes_kib=tuple(hostinfo.huge_page_sizes_kib()),
        caches=tuple(hostinfo.cache_banks()),
        iommu=hostinfo.iommu_present(),
        huge_pages=huge,
        tsc_counter=os.access("/dev/kvm", os.R_OK | os.W_OK),
    )


def _size_unit(kib: int) -> tuple[int, str]:
    """Largest unit that divides the size exactly, the way libvirt prints cache sizes."""
    for unit, factor in (("TiB", 1 << 30), ("GiB", 1 << 20), ("MiB", 1 << 10)):
        if kib % factor == 0:
            return kib // factor, unit
    return kib, "KiB"


def _host_cpu(h: HostDescription) -> list[str]:
    c = h.cpu
    out = ["    <cpu>", f"      <arch>{c.arch}</arch>"]
    if c.model:
        out.append(f"      <model>{c.model}</model>")
    if c.vendor:
        out.append(f"      <vendor>{c.vendor}</vendor>")
    ident = c.identity
    if ident is not None:
        if ident.microcode is not None:
            out.append(f"      <microcode version='{ident.microcode}'/>")
        if ident.family is not None and ident.model is not None:
            out.append(f"      <signature family='{ident.family}' model='{ident.model}' "
                       f"stepping='{ident.stepping or 0}'/>")
        if h.tsc_counter and {"constant_tsc", "nonstop_tsc"} <= ident.flags and ident.mhz:
            out.append(f"      <counter name='tsc' frequency='{round(ident.mhz * 1000) * 1000}' "
                       "scaling='no'/>")
    n = h.node
    out.append(f"      <topology sockets='{n.sockets}' dies='1' cores='{n.cores}' "
               f"threads='{n.threads}'/>")
    if ident is not None and ident.phys_bits:
        out.append(f"      <maxphysaddr mode='emulate' bits='{ident.phys_bits}'/>")
    out += [f"      <feature name='{f}'/>" for f in c.features]
    for size in (4, *h.page_sizes_kib):
        out.append(f"      <pages unit='KiB' size='{size}'/>")
    out.append("    </cpu>")
    return out


def _topology(h: HostDescription) -> list[str]:
    out = ["    <topology>", f"      <cells num='{len(h.cells)}'>"]
    for cell in h.cells:
        huge_kib = sum(h.huge_pages.get((cell.id, s), 0) * s for s in h.page_sizes_kib)
        out += [f"        <cell id='{cell.id}'>",
                f"          <memory unit='KiB'>{cell.memory_kib}</memory>",
                f"          <pages unit='KiB' size='4'>{(cell.memory_kib - huge_kib) // 4}</pages>"]
        for s in h.page_sizes_kib:
            out.append(f"          <pages unit='KiB' size='{s}'>{h.huge_pages.get((cell.id, s), 0)}"
                       "</pages>")
        if cell.distances:
            out.append("          <distances>")
            out += [f"            <sibling id='{nid}' value='{d}'/>" for nid, d in cell.distances]
            out.append("          </distances>")
        out.append(f"          <cpus num='{len(cell.cpus)}'>")
        for cpu in cell.cpus:
            out.append(f"            <cpu id='{cpu.id}' socket_id='{cpu.socket_id}' "
                       f"die_id='{cpu.die_id}' core_id='{cpu.core_id}' "
                       f"siblings='{format_cpu_list(cpu.siblings)}'/>")
        out += ["          </cpus>", "        </cell>"]
    out += ["      </cells>", "    </topology>"]
    return out


def _host(h: HostDescription, caps_list: list[QemuCaps]) -> list[str]:
    out = ["  <host>", f"    <uuid>{h.uuid}</uuid>"]
    out += _host_cpu(h)
    out += ["    <power_management/>", f"    <iommu support='{'yes' if h.iommu else 'no'}'/>"]
    out += ["    <migration_features>", "      <live/>", "      <uri_transports>",
            "        <uri_transport>tcp</uri_transport>"]
    if any(c.has(QemuCapFlag.MIGRATE_RDMA) for c in caps_list):
        out.append("        <uri_transport>rdma</uri_transport>")
    out += ["      </uri_transports>", "    </migration_features>"]
    out += _topology(h)
    if h.caches:
        out.append("    <cache>")
        for b in h.caches:
            size, unit = _size_unit(b.size_kib)
            out.append(f"      <bank id='{b.id}' level='{b.level}' type='{b.type}' size='{size}' "
                       f"unit='{unit}' cpus='{format_cpu_list(b.cpus)}'/>")
        out.append("    </cache>")
    out += ["    <secmodel>", "      <model>none</model>", "      <doi>0</doi>", "    </secmodel>",
            "  </host>"]
    return out


def _ordered_machines(machines: tuple[MachineType, ...]) -> list[tuple[str, MachineType, bool]]:
    """(name, machine, is_alias) in libvirt's order: default first, aliases after targets."""
    ms = [m for m in machines if m.name != "none"]
    ms.sort(key=lambda m: not m.is_default)  # stable: only the default moves
    out: list[tuple[str, MachineType, bool]] = []
    for m in ms:
        out.append((m.name, m, False))
        if m.alias:
            out.append((m.alias, m, True))
    return out


def _guest(caps: QemuCaps) -> list[str]:
    arch, wordsize = caps.guest_arch, caps.wordsize
    out = ["  <guest>", "    <os_type>hvm</os_type>", f"    <arch name='{arch}'>",
           f"      <wordsize>{wordsize}</wordsize>", f"      <emulator>{caps.binary}</emulator>"]
    for name, m, alias in _ordered_machines(caps.machines(Accel.TCG)):
        attrs = f" canonical='{m.name}'" if alias else ""
        attrs += f" maxCpus='{m.max_cpus}'"
        if m.deprecated:
            attrs += " deprecated='yes'"
        out.append(f"      <machine{attrs}>{name}</machine>")
    out.append("      <domain type='qemu'/>")
    if caps.kvm_available:
        out.append("      <domain type='kvm'/>")
    out += ["    </arch>", "    <features>"]
    if arch == "i686":
        out += ["      <pae/>", "      <nonpae/>"]
    if arch in ("i686", "x86_64"):
        out += ["      <acpi default='on' toggle='yes'/>", "      <apic default='on' toggle='no'/>"]
    out += ["      <cpuselection/>", "      <deviceboot/>",
            "      <disksnapshot default='on' toggle='no'/>", "    </features>", "  </guest>"]
    return out


def capabilities_xml(caps_list: list[QemuCaps], host: HostDescription) -> str:
    """The capabilities document, libvirt 9.0 layout (blank line between sections)."""
    parts = ["<capabilities>", ""]
    parts += _host(host, caps_list)
    # libvirt lists guests by architecture in its own enum order (i686 before x86_64).
    order = {a: i for i, a in enumerate(("i686", "x86_64", "armv7l", "aarch64", "ppc64",
                                         "riscv64", "s390x"))}
    for c in sorted(caps_list, key=lambda c: order.get(c.guest_arch, 99)):
        parts.append("")
        parts += _guest(c)
    parts += ["", "</capabilities>"]
    return "\n".join(parts) + "\n"


async def connect_capabilities(
    cache_dir: Path, binaries: list[str] | None = None, host: HostDescription | None = None
) -> str:
    """virConnectGetCapabilities: every installed qemu-system-* (or ``binaries``), with caps
    from ``cache_dir``, and this host's description."""
    from pyvirt.drivers.qemu.caps_probe import find_emulators, load_caps

    caps = [await load_caps(b, cache_dir) for b in (binaries or find_emulators())]
    return capabilities_xml(caps, host or describe_host())
