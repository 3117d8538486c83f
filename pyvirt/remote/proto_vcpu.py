"""vCPU procedures: count, info, pinning, and the node CPU map.

Part of :mod:`pyvirt.remote.protocol`, which re-exports every name here: import from there.
"""

from __future__ import annotations

from pyvirt.remote.protocol_core import DOM_FLAGS_ARGS, UH, I, NonnullDomain, S, U, V, _p
from pyvirt.rpc import xdr

# Records: typed as NamedTuples for mypy, built by rpc.record at run time (no typing
# import, a fifth of a NamedTuple's declaration cost: every async client and pyvirtd pays it).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple as Record

    from pyvirt.drivers.base import DomainRef
else:
    from pyvirt.rpc.record import Record


CPUMAP_MAX = 2048
VCPUINFO_MAX = 16384
CPUMAPS_MAX = 8388608


class GetVcpusFlagsRet(Record):
    num: int


class VcpuInfoWire(Record):
    """remote_vcpu_info."""

    number: int
    state: int
    cpu_time: int
    cpu: int


class GetVcpusArgs(Record):
    dom: DomainRef
    maxinfo: int
    maplen: int


class GetVcpusRet(Record):
    info: list[VcpuInfoWire]
    cpumaps: bytes


class PinVcpuArgs(Record):
    dom: DomainRef
    vcpu: int
    cpumap: bytes


class PinVcpuFlagsArgs(Record):
    dom: DomainRef
    vcpu: int
    cpumap: bytes
    flags: int


class GetVcpuPinInfoArgs(Record):
    dom: DomainRef
    ncpumaps: int
    maplen: int
    flags: int


class GetVcpuPinInfoRet(Record):
    cpumaps: bytes
    num: int


class NodeGetCpuMapArgs(Record):
    need_map: int
    need_online: int
    flags: int


class NodeGetCpuMapRet(Record):
    cpumap: bytes
    online: int
    ret: int


VcpuInfoCodec = S(VcpuInfoWire, U, I, UH, I)

DOMAIN_GET_VCPUS = _p(
    20, "DOMAIN_GET_VCPUS", S(GetVcpusArgs, NonnullDomain, I, I),
    S(GetVcpusRet, xdr.Array(VcpuInfoCodec, VCPUINFO_MAX), xdr.Opaque(CPUMAPS_MAX)), high=True,
)
DOMAIN_PIN_VCPU = _p(
    26, "DOMAIN_PIN_VCPU", S(PinVcpuArgs, NonnullDomain, U, xdr.Opaque(CPUMAP_MAX)), V, rw=True
)
DOMAIN_GET_VCPUS_FLAGS = _p(200, "DOMAIN_GET_VCPUS_FLAGS", DOM_FLAGS_ARGS, S(GetVcpusFlagsRet, I))
DOMAIN_PIN_VCPU_FLAGS = _p(
    225, "DOMAIN_PIN_VCPU_FLAGS", S(PinVcpuFlagsArgs, NonnullDomain, U, xdr.Opaque(CPUMAP_MAX), U), V, rw=True
)
DOMAIN_GET_VCPU_PIN_INFO = _p(
    230, "DOMAIN_GET_VCPU_PIN_INFO", S(GetVcpuPinInfoArgs, NonnullDomain, I, I, U),
    S(GetVcpuPinInfoRet, xdr.Opaque(CPUMAPS_MAX), I),
)
NODE_GET_CPU_MAP = _p(
    293, "NODE_GET_CPU_MAP", S(NodeGetCpuMapArgs, I, I, U), S(NodeGetCpuMapRet, xdr.Opaque(CPUMAP_MAX), U, I)
)
