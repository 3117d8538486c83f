"""vCPU info, pinning and the node CPU map for test:///default (libvirt 9.0's test driver).

libvirt's test driver answers virNodeGetCPUMap with fixed data (8 CPUs present, map 0x15,
3 online), while vCPU affinity defaults to every CPU of its node info (16); CPU time is
the wall clock in tenths of a microsecond, like the real one. Checked with
``virsh -c test:///default 'vcpuinfo test; vcpupin test 0 1; nodecpumap'``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from pyvirt.drivers.base import DomainRef, NodeCpuMap, VcpuInfo
from pyvirt.drivers.test.mixin import TestDriverMixin
from pyvirt.drivers.test.mixin import driver_error as _err
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

if TYPE_CHECKING:
    from pyvirt.drivers.test.node import TestDomainObj

_AFFECT_LIVE, _AFFECT_CONFIG = 1, 2
_VCPU_MAXIMUM = 4  # VIR_DOMAIN_VCPU_MAXIMUM
_VCPU_RUNNING = 1  # VIR_VCPU_RUNNING
# The node CPU map libvirt's test driver reports (testNodeGetCPUMap).
TEST_CPU_MAP = NodeCpuMap(cpus=8, cpumap=b"\x15", online=3)


def bitmap_all(ncpus: int) -> bytes:
    """A host CPU bitmap with CPUs 0..ncpus-1 set (bit i of byte i//8, as libvirt's cpumaps)."""
    n = int.from_bytes(b"\xff" * ((ncpus + 7) // 8), "little") & ((1 << ncpus) - 1)
    return n.to_bytes((ncpus + 7) // 8, "little")


def last_set_bit(bitmap: bytes) -> int:
    return int.from_bytes(bitmap, "little").bit_length() - 1


class TestVcpuMixin(TestDriverMixin):
    """virDomainGetVcpus / PinVcpu(Flags) / GetVcpuPinInfo and virNodeGetCPUMap for TestDriver."""

    async def node_get_cpu_map(self, flags: int = 0) -> NodeCpuMap:
        if flags:
            raise _err(ErrorCode.INVALID_ARG, f"unsupported flags (0x{flags:x}) in function testNodeGetCPUMap")
        return TEST_CPU_MAP

    def _host_cpus(self) -> int:
        """libvirt's VIR_NODEINFO_MAXCPUS: every CPU of the topology, not just the active ones."""
        n = self.node.node_info
        return n.nodes * n.sockets * n.cores * n.threads

    def _affinity(self, obj: TestDomainObj, vcpu: int) -> bytes:
        return obj.vcpu_pins.get(vcpu) or bitmap_all(self._host_cpus())

    async def get_vcpus(self, dom: DomainRef, maxinfo: int, maplen: int) -> tuple[list[VcpuInfo], bytes]:
        obj = self._obj(dom)
        if not obj.active:
            raise VirtError("Requested operation is not valid: cannot list vcpus for an inactive domain",
                            ErrorCode.OPERATION_INVALID, ErrorDomain.TEST)
        now = time.time_ns() // 1000 // 10  # libvirt fakes an increasing CPU time this way
        info: list[VcpuInfo] = []
        maps = bytearray()
        for i in range(min(maxinfo, obj.doc.vcpus)):
            bitmap = self._affinity(obj, i)
            info.append(VcpuInfo(i, _VCPU_RUNNING, now, last_set_bit(bitmap)))
            maps += bitmap[:maplen].ljust(maplen, b"\0")
        return info, bytes(maps)

    async def pin_vcpu(self, dom: DomainRef, vcpu: int, cpumap: bytes) -> None:
        self._rw("virDomainPinVcpu")
        await self._pin(dom, vcpu, cpumap)

    async def pin_vcpu_flags(self, dom: DomainRef, vcpu: int, cpumap: bytes, flags: int = 0) -> None:
        self._rw("virDomainPinVcpuFlags")
        if flags:  # libvirt's test driver takes no flags here, not even VIR_DOMAIN_AFFECT_LIVE
            raise _err(ErrorCode.INVALID_ARG, f"unsupported flags (0x{flags:x}) in function testDomainPinVcpuFlags")
        await self._pin(dom, vcpu, cpumap)

    async def _pin(self, dom: DomainRef, vcpu: int, cpumap: bytes) -> None:
        obj = self._obj(dom)
        if not obj.active:
            raise _err(ErrorCode.OPERATION_INVALID,
                       "Requested operation is not valid: cannot pin vcpus on an inactive domain")
        if vcpu >= obj.doc.vcpus:
            raise _err(ErrorCode.INVALID_ARG, f"invalid argument: requested vcpu '{vcpu}' is not present "
                       "in the domain")
        obj.vcpu_pins[vcpu] = bytes(cpumap)

    async def get_vcpu_pin_info(self, dom: DomainRef, ncpumaps: int, maplen: int, flags: int = 0) -> list[bytes]:
        if flags & ~(_AFFECT_LIVE | _AFFECT_CONFIG):
            raise _err(ErrorCode.INVALID_ARG,
                       f"unsupported flags (0x{flags:x}) in function testDomainGetVcpuPinInfo")
        obj = self._obj(dom)
        pins = obj.vcpu_pins if obj.active and not flags & _AFFECT_CONFIG else {}
        return [(pins.get(i) or bitmap_all(self._host_cpus()))[:maplen].ljust(maplen, b"\0")
                for i in range(min(ncpumaps, obj.doc.vcpus))]

    async def get_vcpus_flags(self, dom: DomainRef, flags: int = 0) -> int:
        if flags & ~(_AFFECT_LIVE | _AFFECT_CONFIG | _VCPU_MAXIMUM):
            raise _err(ErrorCode.INVALID_ARG,
                       f"unsupported flags (0x{flags:x}) in function testDomainGetVcpusFlags")
        obj = self._obj(dom)
        if flags & _AFFECT_LIVE and flags & _AFFECT_CONFIG:
            raise VirtError("invalid argument: flags 'affect live' and 'affect config' are mutually exclusive",
                            ErrorCode.INVALID_ARG, ErrorDomain.DOMAIN)
        if flags & _AFFECT_LIVE and not obj.active:
            raise VirtError("Requested operation is not valid: domain is not running",
                            ErrorCode.OPERATION_INVALID, ErrorDomain.DOMAIN)
        doc = obj.new_doc if flags & _AFFECT_CONFIG and obj.new_doc is not None else obj.doc
        if flags & _VCPU_MAXIMUM:
            return doc.vcpus
        el = doc.root.find("vcpu")
        current = el.get("current") if el is not None else None
        return int(current) if current is not None and current.isdigit() else doc.vcpus
