"""The daemon's size checks on vCPU replies (remote/vcpu_handlers.py): both procedures
refuse an entry count over REMOTE_VCPUINFO_MAX and a map buffer over REMOTE_CPUMAPS_MAX
with libvirtd's RPC error wording, before the driver is asked anything."""

from __future__ import annotations

from typing import Any

import pytest

from pyvirt.drivers.base import DomainRef
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError
from pyvirt.remote import protocol as P
from pyvirt.remote.vcpu_handlers import get_vcpu_pin_info, get_vcpus

DOM = DomainRef("d", bytes(16), -1)


class _NoDriver:
    @property
    def drv(self) -> Any:
        raise AssertionError("the limit check must come before the driver call")


async def _rpc_error(coro: Any) -> str:
    with pytest.raises(VirtError) as e:
        await coro
    assert (e.value.code, e.value.domain) == (ErrorCode.RPC, ErrorDomain.RPC)
    return e.value.message


async def test_get_vcpus_limits() -> None:
    s: Any = _NoDriver()
    msg = await _rpc_error(get_vcpus(s, P.GetVcpusArgs(DOM, P.VCPUINFO_MAX + 1, 1)))
    assert msg == "RPC error: maxinfo > REMOTE_VCPUINFO_MAX"
    maplen = P.CPUMAPS_MAX // P.VCPUINFO_MAX + 1
    msg = await _rpc_error(get_vcpus(s, P.GetVcpusArgs(DOM, P.VCPUINFO_MAX, maplen)))
    assert msg == "RPC error: maxinfo * maplen > REMOTE_CPUMAPS_MAX"


async def test_get_vcpu_pin_info_limits() -> None:
    s: Any = _NoDriver()
    msg = await _rpc_error(get_vcpu_pin_info(s, P.GetVcpuPinInfoArgs(DOM, P.VCPUINFO_MAX + 1, 1, 0)))
    assert msg == "RPC error: ncpumaps > REMOTE_VCPUINFO_MAX"
    maplen = P.CPUMAPS_MAX // P.VCPUINFO_MAX + 1
    msg = await _rpc_error(get_vcpu_pin_info(s, P.GetVcpuPinInfoArgs(DOM, P.VCPUINFO_MAX, maplen, 0)))
    assert msg == "RPC error: maxinfo * maplen > REMOTE_CPUMAPS_MAX"
