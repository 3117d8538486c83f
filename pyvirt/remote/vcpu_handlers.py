"""Server side of the vCPU and node CPU map procedures (registered into handlers.HANDLERS)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyvirt.errors import ErrorCode, ErrorDomain, VirtError
from pyvirt.remote import protocol as P
from pyvirt.remote.handlers import serves

if TYPE_CHECKING:
    from pyvirt.remote.dispatch import RemoteSession


def _rpc_err(msg: str) -> VirtError:
    return VirtError(f"RPC error: {msg}", ErrorCode.RPC, ErrorDomain.RPC)


def _check_maps(count: int, what: str, maplen: int) -> None:
    """libvirtd's limits on a vCPU reply's size: ``count`` entries (named ``what`` in the
    message), ``count * maplen`` bytes of maps."""
    if count > P.VCPUINFO_MAX:
        raise _rpc_err(f"{what} > REMOTE_VCPUINFO_MAX")
    if count * maplen > P.CPUMAPS_MAX:
        # libvirtd words the second check "maxinfo" for both procedures
        raise _rpc_err("maxinfo * maplen > REMOTE_CPUMAPS_MAX")


def _fit(maps: bytes, size: int) -> bytes:
    """The reply carries exactly the buffer the client gave (count x maplen), zero-filled."""
    return maps[:size].ljust(size, b"\0")


@serves(P.NODE_GET_CPU_MAP)
async def node_get_cpu_map(s: RemoteSession, a: P.NodeGetCpuMapArgs) -> P.NodeGetCpuMapRet:
    m = await s.drv.node_get_cpu_map(a.flags)
    return P.NodeGetCpuMapRet(m.cpumap if a.need_map else b"", m.online if a.need_online else 0, m.cpus)


@serves(P.DOMAIN_GET_VCPUS)
async def get_vcpus(s: RemoteSession, a: P.GetVcpusArgs) -> P.GetVcpusRet:
    _check_maps(a.maxinfo, "maxinfo", a.maplen)
    info, maps = await s.drv.get_vcpus(a.dom, a.maxinfo, a.maplen)
    wire = [P.VcpuInfoWire(v.number, v.state, v.cpu_time, v.cpu) for v in info]
    return P.GetVcpusRet(wire, _fit(maps, a.maxinfo * a.maplen))


@serves(P.DOMAIN_PIN_VCPU)
async def pin_vcpu(s: RemoteSession, a: P.PinVcpuArgs) -> None:
    await s.drv.pin_vcpu(a.dom, a.vcpu, a.cpumap)


@serves(P.DOMAIN_PIN_VCPU_FLAGS)
async def pin_vcpu_flags(s: RemoteSession, a: P.PinVcpuFlagsArgs) -> None:
    await s.drv.pin_vcpu_flags(a.dom, a.vcpu, a.cpumap, a.flags)


@serves(P.DOMAIN_GET_VCPU_PIN_INFO)
async def get_vcpu_pin_info(s: RemoteSession, a: P.GetVcpuPinInfoArgs) -> P.GetVcpuPinInfoRet:
    _check_maps(a.ncpumaps, "ncpumaps", a.maplen)
    maps = await s.drv.get_vcpu_pin_info(a.dom, a.ncpumaps, a.maplen, a.flags)
    return P.GetVcpuPinInfoRet(_fit(b"".join(maps), a.ncpumaps * a.maplen), len(maps))
