"""virDomain's vCPU calls and virConnect.getCPUMap for the libvirt-python facade (mixed in by
:mod:`pyvirt._compat.objects`). Shapes follow libvirt-python: CPU maps are tuples of bools,
one per host CPU as virNodeGetCPUMap counts them, and calls that only act return 0."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar, cast

from pyvirt._compat.handle import run_dom
from pyvirt.conf.cpumap import maplen
from pyvirt.errors import ErrorDomain

if TYPE_CHECKING:
    from pyvirt._compat.objects import virConnect, virDomain
    from pyvirt.drivers.base import Driver

T = TypeVar("T")


def _bools(cpumap: bytes, ncpus: int) -> tuple[bool, ...]:
    n = int.from_bytes(cpumap, "little")
    return tuple(bool(n >> i & 1) for i in range(ncpus))


def _bytes(cpus: tuple[bool, ...] | list[bool], ncpus: int) -> bytes:
    n = 0
    for i, on in enumerate(cpus[:ncpus]):
        if on:
            n |= 1 << i
    return n.to_bytes(maplen(ncpus), "little")


def _run(dom: virDomain, api: str, fn: Callable[[Driver], Coroutine[Any, Any, T]], write: bool = False) -> T:
    return run_dom(dom, api, fn, ErrorDomain.DOMAIN, write)


def _host_cpus(dom: virDomain) -> int:
    # libvirt-python sizes every map by virNodeGetCPUMap's count of host CPUs
    return _run(dom, "virNodeGetCPUMap", lambda drv: drv.node_get_cpu_map()).cpus


class VcpuDomainMixin:
    """virDomain.vcpus, pinVcpu, pinVcpuFlags, vcpuPinInfo, vcpusFlags."""

    def vcpus(self) -> tuple[list[tuple[int, int, int, int]], list[tuple[bool, ...]]]:
        d = cast("virDomain", self)
        ncpus = _host_cpus(d)
        nvcpus = _run(d, "virDomainGetInfo", lambda drv: drv.get_info(d._dom.ref)).nr_virt_cpu
        mlen = maplen(ncpus)
        info, maps = _run(d, "virDomainGetVcpus", lambda drv: drv.get_vcpus(d._dom.ref, nvcpus, mlen))
        return ([(v.number, v.state, v.cpu_time, v.cpu) for v in info],
                [_bools(maps[i * mlen:(i + 1) * mlen], ncpus) for i in range(len(info))])

    def pinVcpu(self, vcpu: int, cpumap: tuple[bool, ...]) -> int:
        d = cast("virDomain", self)
        m = _bytes(cpumap, _host_cpus(d))
        _run(d, "virDomainPinVcpu", lambda drv: drv.pin_vcpu(d._dom.ref, vcpu, m), write=True)
        return 0

    def pinVcpuFlags(self, vcpu: int, cpumap: tuple[bool, ...], flags: int = 0) -> int:
        d = cast("virDomain", self)
        m = _bytes(cpumap, _host_cpus(d))
        _run(d, "virDomainPinVcpuFlags", lambda drv: drv.pin_vcpu_flags(d._dom.ref, vcpu, m, flags), write=True)
        return 0

    def vcpuPinInfo(self, flags: int = 0) -> list[tuple[bool, ...]]:
        d = cast("virDomain", self)
        ncpus = _host_cpus(d)
        nvcpus = _run(d, "virDomainGetInfo", lambda drv: drv.get_info(d._dom.ref)).nr_virt_cpu
        maps = _run(d, "virDomainGetVcpuPinInfo",
                    lambda drv: drv.get_vcpu_pin_info(d._dom.ref, nvcpus, maplen(ncpus), flags))
        return [_bools(m, ncpus) for m in maps]

    def vcpusFlags(self, flags: int = 0) -> int:
        d = cast("virDomain", self)
        return _run(d, "virDomainGetVcpusFlags", lambda drv: drv.get_vcpus_flags(d._dom.ref, flags))


class VcpuConnMixin:
    """virConnect.getCPUMap."""

    def getCPUMap(self, flags: int = 0) -> tuple[int, list[bool], int]:
        c = cast("virConnect", self)
        m = c._c("virNodeGetCPUMap", lambda a: a.driver.node_get_cpu_map(flags))
        return m.cpus, list(_bools(m.cpumap, m.cpus)), m.online
