"""The host as libvirt describes it: node info, CPU topology and maps, NUMA cells, hostname.

Everything is read from /proc and /sys; the roots are parameters so tests can point them at
a fabricated tree. Values follow libvirt's rules (virNodeGetInfo / capabilities <host>):

* memory: the sum of the NUMA nodes' MemTotal when the host has NUMA nodes in sysfs (this
  is what libvirt reports, and inside containers /proc/meminfo may differ), else MemTotal
  from /proc/meminfo; KiB.
* mhz: the first "cpu MHz" line of /proc/cpuinfo, truncated.
* topology: nodes x sockets-per-node x cores-per-socket x threads-per-core from sysfs; when
  that product does not equal the number of online CPUs, libvirt's fallback of
  1 node, 1 socket, <cpus> cores, 1 thread is used, so that the product stays true.
"""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path

from pyvirt.drivers.base import NodeInfo

SYS_CPU = Path("/sys/devices/system/cpu")
SYS_NODE = Path("/sys/devices/system/node")
PROC = Path("/proc")


def parse_cpu_list(text: str) -> frozenset[int]:
    """Parse a kernel CPU list such as ``0-3,8,10-11``."""
    out: set[int] = set()
    for part in text.strip().split(","):
        if not part:
            continue
        if "-" in part:
            lo, hi = part.split("-", 1)
            out.update(range(int(lo), int(hi) + 1))
        else:
            out.add(int(part))
    return frozenset(out)


def format_cpu_list(cpus: frozenset[int] | set[int]) -> str:
    """The inverse of :func:`parse_cpu_list` (``0-1,4``), as libvirt prints cpu sets."""
    ids = sorted(cpus)
    parts: list[str] = []
    i = 0
    while i < len(ids):
        j = i
        while j + 1 < len(ids) and ids[j + 1] == ids[j] + 1:
            j += 1
        parts.append(str(ids[i]) if i == j else f"{ids[i]}-{ids[j]}")
        i = j + 1
    return ",".join(parts)


def _read(p: Path) -> str | None:
    try:
        return p.read_text()
    except OSError:
        return None


@dataclass(frozen=True, slots=True)
class HostCpu:
    """One online host CPU and where it sits."""

    id: int
    socket_id: int
    die_id: int
    core_id: int
    siblings: frozenset[int]


@dataclass(frozen=True, slots=True)
class NumaCell:
    id: int
    memory_kib: int
    cpus: tuple[HostCpu, ...]
    free_pages_4k: int = 0  # MemTotal / 4 KiB, what libvirt prints as the 4 KiB page count
    distances: tuple[tuple[int, int], ...] = ()  # (node id, distance)


@dataclass(frozen=True, slots=True)
class CpuMap:
    """Present and online host CPUs (virNodeGetCPUMap): ``total`` is max present id + 1."""

    total: int
    present: frozenset[int]
    online: frozenset[int]


class HostInfo:
    """Reads the host description from sysfs/procfs rooted at the given paths."""

    def __init__(self, sys_cpu: Path = SYS_CPU, sys_node: Path = SYS_NODE, proc: Path = PROC):
        self.sys_cpu = sys_cpu
        self.sys_node = sys_node
        self.proc = proc

    # ------------------------------------------------------------------ CPUs
    def cpu_map(self) -> CpuMap:
        present = parse_cpu_list(_read(self.sys_cpu / "present") or "")
        online = parse_cpu_list(_read(self.sys_cpu / "online") or "")
        if not present:  # no sysfs: count what the kernel lists in /proc/cpuinfo
            present = frozenset(range(self._cpuinfo_count()))
            online = present
        return CpuMap(total=max(present) + 1 if present else 0, present=present, online=online)

    def _cpuinfo_count(self) -> int:
        text = _read(self.proc / "cpuinfo") or ""
        return max(1, len(re.findall(r"^processor\s*:", text, re.MULTILINE)))

    def host_cpu(self, cpu: int) -> HostCpu:
        topo = self.sys_cpu / f"cpu{cpu}" / "topology"

        def num(name: str) -> int:
            v = _read(topo / name)
            return int(v) if v is not None and v.strip().lstrip("-").isdigit() else 0

        sib = _read(topo / "thread_siblings_list")
        return HostCpu(
            id=cpu,
            socket_id=num("physical_package_id"),
            die_id=num("die_id"),
            core_id=num("core_id"),
            siblings=parse_cpu_list(sib) if sib else frozenset({cpu}),
        )

    def mhz(self) -> int:
        text = _read(self.proc / "cpuinfo") or ""
        m = re.search(r"^cpu MHz\s*:\s*(\d+)", text, re.MULTILINE)
        if m:
            return int(m.group(1))
        khz = _read(self.sys_cpu / "cpu0" / "cpufreq" / "cpuinfo_max_freq")
        return int(khz) // 1000 if khz and khz.strip().isdigit() else 0

    # ------------------------------------------------------------------ NUMA
    def node_ids(self) -> list[int]:
        online = _read(self.sys_node / "online")
        if online is None:
            return []
        return sorted(parse_cpu_list(online))

    def _node_memory(self, node: int) -> int:
        text = _read(self.sys_node / f"node{node}" / "meminfo") or ""
        m = re.search(r"MemTotal:\s*(\d+)\s*kB", text)
        return int(m.group(1)) if m else 0

    def _node_cpus(self, node: int) -> frozenset[int]:
        return parse_cpu_list(_read(self.sys_node / f"node{node}" / "cpulist") or "")

    def _node_distances(self, node: int, ids: list[int]) -> tuple[tuple[int, int], ...]:
        text = _read(self.sys_node / f"node{node}" / "distance")
        if not text:
            return ()
        vals = [int(v) for v in text.split()]
        return tuple(zip(ids, vals, strict=False))

    def numa_cells(self) -> list[NumaCell]:
        """NUMA cells with their online CPUs; one synthetic cell when sysfs has no nodes."""
        online = self.cpu_map().online
        ids = self.node_ids()
        if not ids:
            mem = self.memory_kib()
            cpus = tuple(self.host_cpu(c) for c in sorted(online))
            return [NumaCell(0, mem, cpus, mem // 4)]
        cells = []
        for n in ids:
            mem = self._node_memory(n)
            cpus = tuple(self.host_cpu(c) for c in sorted(self._node_cpus(n) & online))
            cells.append(NumaCell(n, mem, cpus, mem // 4, self._node_distances(n, ids)))
        return cells

    def memory_kib(self) -> int:
        ids = self.node_ids()
        if ids:
            total = sum(self._node_memory(n) for n in ids)
            if total:
                return total
        text = _read(self.proc / "meminfo") or ""
        m = re.search(r"^MemTotal:\s*(\d+)\s*kB", text, re.MULTILINE)
        return int(m.group(1)) if m else 0

    # ------------------------------------------------------------------ node info
    def node_info(self) -> NodeInfo:
        online = self.cpu_map().online
        ncpus = len(online)
        ids = self.node_ids() or [0]
        per_node: dict[int, frozenset[int]] = {}
        if self.node_ids():
            per_node = {n: self._node_cpus(n) & online for n in ids}
        else:
            per_node = {0: online}
        sockets = cores = threads = 0
        for cpus in per_node.values():
            hc = [self.host_cpu(c) for c in cpus]
            socks = {(h.socket_id, h.die_id) for h in hc}
            sockets = max(sockets, len(socks))
            for s in socks:
                n_cores = len({h.core_id for h in hc if (h.socket_id, h.die_id) == s})
                cores = max(cores, n_cores)
            for h in hc:
                threads = max(threads, len(h.siblings & online))
        nodes = len(ids)
        if nodes * sockets * cores * threads != ncpus:
            nodes, sockets, cores, threads = 1, 1, ncpus, 1
        return NodeInfo(
            model=os.uname().machine,
            memory=self.memory_kib(),
            cpus=ncpus,
            mhz=self.mhz(),
            nodes=nodes,
            sockets=sockets,
            cores=cores,
            threads=threads,
        )


def node_info() -> NodeInfo:
    """virNodeGetInfo for this host."""
    return HostInfo().node_info()


def cpu_map() -> CpuMap:
    return HostInfo().cpu_map()


def hostname() -> str:
    """virConnectGetHostname: the host name, made fully qualified when the resolver can."""
    name = socket.gethostname()
    if "." in name:
        return name
    try:
        info = socket.getaddrinfo(name, None, socket.AF_UNSPEC, 0, 0, socket.AI_CANONNAME)
    except OSError:
        return name
    canon = info[0][3] if info and info[0][3] else name
    # libvirt keeps the short name when the resolver only knows it as localhost
    return name if canon.startswith("localhost") else canon


def host_uuid(etc: Path = Path("/etc/machine-id"), dmi: Path = Path("/sys/class/dmi/id/product_uuid")) -> str:
    """The host UUID for <host><uuid>: SMBIOS product uuid, else derived from machine-id."""
    v = _read(dmi)
    if v and v.strip():
        return v.strip().lower()
    mid = (_read(etc) or "").strip()
    if len(mid) == 32:
        return f"{mid[:8]}-{mid[8:12]}-{mid[12:16]}-{mid[16:20]}-{mid[20:]}"
    return "00000000-0000-0000-0000-000000000000"


# ----------------------------------------------------------------------------- CPU identity

# /proc/cpuinfo flag names that libvirt (after CPUID) spells differently.
_LINUX_FLAG_NAMES = {
    "pclmulqdq": "pclmuldq",
    "sse4_1": "sse4.1",
    "sse4_2": "sse4.2",
    "sha_ni": "sha-ni",
    "tsc_deadline_timer": "tsc-deadline",
    "cr8_legacy": "cr8legacy",
    "avx512_vbmi2": "avx512vbmi2",
    "avx512_vnni": "avx512vnni",
    "avx512_bitalg": "avx512bitalg",
    "avx512_vpopcntdq": "avx512-vpopcntdq",
    "avx512_bf16": "avx512-bf16",
    "avx512_fp16": "avx512-fp16",
    "avx512_4vnniw": "avx512-4vnniw",
    "avx512_4fmaps": "avx512-4fmaps",
}


@dataclass(frozen=True, slots=True)
class CpuIdentity:
    """What /proc/cpuinfo says about the first CPU, in libvirt's vocabulary."""

    vendor_string: str  # "AuthenticAMD"
    family: int | None
    model: int | None
    stepping: int | None
    microcode: int | None
    phys_bits: int | None
    mhz: float | None
    flags: frozenset[str]  # Linux flag names, untranslated

    def libvirt_features(self) -> set[str]:
        out = {_LINUX_FLAG_NAMES.get(f, f) for f in self.flags}
        if "xsave" in self.flags:  # Linux always enables XSAVE when present: OSXSAVE is set
            out.add("osxsave")
        if {"constant_tsc", "nonstop_tsc"} <= self.flags:
            out.add("invtsc")
        return out


def _cpuinfo_field(block: str, name: str) -> str | None:
    m = re.search(rf"^{re.escape(name)}\s*:\s*(.*)$", block, re.MULTILINE)
    return m.group(1).strip() if m else None


def cpu_identity(proc: Path = PROC) -> CpuIdentity:
    text = _read(proc / "cpuinfo") or ""
    block = text.split("\n\n", 1)[0]

    def num(name: str, base: int = 10) -> int | None:
        v = _cpuinfo_field(block, name)
        try:
            return int(v, base) if v else None
        except ValueError:
            return None

    addr = _cpuinfo_field(block, "address sizes") or ""
    m = re.match(r"(\d+) bits physical", addr)
    mhz = _cpuinfo_field(block, "cpu MHz")
    return CpuIdentity(
        vendor_string=_cpuinfo_field(block, "vendor_id") or "",
        family=num("cpu family"),
        model=num("model"),
        stepping=num("stepping"),
        microcode=num("microcode", 0),
        phys_bits=int(m.group(1)) if m else None,
        mhz=float(mhz) if mhz else None,
        flags=frozenset((_cpuinfo_field(block, "flags") or "").split()),
    )


def huge_page_sizes_kib(mm: Path = Path("/sys/kernel/mm/hugepages")) -> list[int]:
    """Huge page sizes the kernel supports, ascending (KiB)."""
    sizes = []
    try:
        for d in mm.iterdir():
            m = re.fullmatch(r"hugepages-(\d+)kB", d.name)
            if m:
                sizes.append(int(m.group(1)))
    except OSError:
        pass
    return sorted(sizes)


@dataclass(frozen=True, slots=True)
class CacheBank:
    id: int
    level: int
    type: str  # "both", "data", "instruction"
    size_kib: int
    cpus: frozenset[int]


def cache_banks(sys_cpu: Path = SYS_CPU, min_level: int = 3) -> list[CacheBank]:
    """Shared caches (level >= 3, as libvirt reports them), one per (level, id)."""
    banks: dict[tuple[int, int, str], CacheBank] = {}
    types = {"Unified": "both", "Data": "data", "Instruction": "instruction"}
    try:
        cpu_dirs = sorted(
            (d for d in sys_cpu.iterdir() if re.fullmatch(r"cpu\d+", d.name)),
            key=lambda d: int(d.name[3:]),
        )
    except OSError:
        return []
    for d in cpu_dirs:
        cdir = d / "cache"
        if not cdir.is_dir():
            continue
        for idx in sorted(cdir.glob("index*")):
            level = int((_read(idx / "level") or "0").strip() or 0)
            if level < min_level:
                continue
            size = (_read(idx / "size") or "0K").strip()
            m = re.fullmatch(r"(\d+)([KMG]?)", size)
            if not m:
                continue
            kib = int(m.group(1)) * {"": 1, "K": 1, "M": 1024, "G": 1024 * 1024}[m.group(2)]
            typ = types.get((_read(idx / "type") or "").strip(), "both")
            bid = int((_read(idx / "id") or "0").strip() or 0)
            cpus = parse_cpu_list(_read(idx / "shared_cpu_list") or "")
            banks.setdefault((level, bid, typ), CacheBank(bid, level, typ, kib, cpus))
    return sorted(banks.values(), key=lambda b: (b.level, b.id, b.type))


def iommu_present(groups: Path = Path("/sys/kernel/iommu_groups")) -> bool:
    try:
        return any(groups.iterdir())
    except OSError:
        return False
