"""Host CPU sets in libvirt's two spellings: cpuset strings ("0-3,^2,8") and cpumaps.

A cpumap is libvirt's byte array (virDomainPinVcpu, virNodeGetCPUMap): CPU ``i`` is bit
``i % 8`` of byte ``i // 8``. Pure functions; used by the drivers (``<vcpupin cpuset=...>``)
and pyvirsh (vcpupin, vcpuinfo, nodecpumap).
"""

from __future__ import annotations

from collections.abc import Iterable

from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

# virBitmapParse's cap when no size is given (virsh parses vcpupin lists against 1024... CPUs)
CPUSET_MAX = 1 << 16


def maplen(ncpus: int) -> int:
    """VIR_CPU_MAPLEN: bytes for ``ncpus`` CPUs."""
    return (ncpus + 7) // 8


def parse_cpuset(text: str, limit: int = CPUSET_MAX) -> set[int]:
    """virBitmapParse: "0-3,^2,8" -> {0, 1, 3, 8}. ``^N`` removes a CPU; blanks are allowed
    around items. Raises VirtError(INVALID_ARG) on malformed text or a CPU >= ``limit``."""

    def bad() -> VirtError:
        return VirtError(f"invalid argument: Failed to parse bitmap '{text}'", ErrorCode.INVALID_ARG,
                         ErrorDomain.NONE)

    def num(s: str) -> int:
        s = s.strip()
        if not s.isdigit():
            raise bad()
        n = int(s)
        if n >= limit:
            raise bad()
        return n

    cpus: set[int] = set()
    if not text.strip():
        raise bad()
    for item in text.split(","):
        item = item.strip()
        if item.startswith("^"):
            cpus.discard(num(item[1:]))
        elif "-" in item:
            lo, _, hi = item.partition("-")
            a, b = num(lo), num(hi)
            if a > b:
                raise bad()
            cpus.update(range(a, b + 1))
        else:
            cpus.add(num(item))
    return cpus


def format_cpuset(cpus: Iterable[int]) -> str:
    """virBitmapFormat: {0,1,2,3,5} -> "0-3,5" (ranges of two or more collapse)."""
    out: list[str] = []
    run: list[int] = []
    for c in sorted(set(cpus)):
        if run and c == run[-1] + 1:
            run.append(c)
            continue
        if run:
            out.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
        run = [c]
    if run:
        out.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
    return ",".join(out)


def to_cpumap(cpus: Iterable[int], ncpus: int) -> bytes:
    """The cpumap of ``maplen(ncpus)`` bytes; CPUs past ``ncpus`` do not fit and are dropped."""
    n = 0
    for c in cpus:
        if 0 <= c < ncpus:
            n |= 1 << c
    return n.to_bytes(maplen(ncpus), "little")


def from_cpumap(cpumap: bytes, ncpus: int | None = None) -> set[int]:
    """The CPUs set in a cpumap (only the first ``ncpus`` when given)."""
    n = int.from_bytes(cpumap, "little")
    limit = len(cpumap) * 8 if ncpus is None else min(ncpus, len(cpumap) * 8)
    return {i for i in range(limit) if n >> i & 1}


def yes_dash(cpumap: bytes, ncpus: int) -> str:
    """virsh's affinity display: one 'y' (set) or '-' per host CPU, "y-y-y---"."""
    n = int.from_bytes(cpumap, "little")
    return "".join("y" if n >> i & 1 else "-" for i in range(ncpus))
