"""Client side of the vCPU and node CPU map procedures, mixed into RemoteDriver."""

from __future__ import annotations

from pyvirt.drivers.base import DomainRef, NodeCpuMap, VcpuInfo
from pyvirt.remote import protocol as P
from pyvirt.remote.client_mixin import RemoteMixin


class RemoteVcpuMixin(RemoteMixin):
    async def node_get_cpu_map(self, flags: int = 0) -> NodeCpuMap:
        r = await self._call(P.NODE_GET_CPU_MAP, P.NodeGetCpuMapArgs(1, 1, flags))
        return NodeCpuMap(r.ret, r.cpumap, r.online)

    async def get_vcpus(self, dom: DomainRef, maxinfo: int, maplen: int) -> tuple[list[VcpuInfo], bytes]:
        r = await self._call(P.DOMAIN_GET_VCPUS, P.GetVcpusArgs(dom, maxinfo, maplen))
        return [VcpuInfo(i.number, i.state, i.cpu_time, i.cpu) for i in r.info], r.cpumaps

    async def pin_vcpu(self, dom: DomainRef, vcpu: int, cpumap: bytes) -> None:
        await self._call(P.DOMAIN_PIN_VCPU, P.PinVcpuArgs(dom, vcpu, cpumap))

    async def pin_vcpu_flags(self, dom: DomainRef, vcpu: int, cpumap: bytes, flags: int = 0) -> None:
        await self._call(P.DOMAIN_PIN_VCPU_FLAGS, P.PinVcpuFlagsArgs(dom, vcpu, cpumap, flags))

    async def get_vcpu_pin_info(self, dom: DomainRef, ncpumaps: int, maplen: int, flags: int = 0) -> list[bytes]:
        r = await self._call(P.DOMAIN_GET_VCPU_PIN_INFO, P.GetVcpuPinInfoArgs(dom, ncpumaps, maplen, flags))
        return [r.cpumaps[i * maplen:(i + 1) * maplen] for i in range(r.num)]

    async def get_vcpus_flags(self, dom: DomainRef, flags: int = 0) -> int:
        return (await self._call(P.DOMAIN_GET_VCPUS_FLAGS, P.DomFlagsArgs(dom, flags))).num
