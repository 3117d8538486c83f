"""vCPU info and pinning for the QEMU driver, and the node CPU map (virNodeGetCPUMap).

Facts come from the running QEMU and the kernel, as libvirt's do: vCPU thread ids from
QMP ``query-cpus-fast``, each thread's affinity from ``sched_getaffinity``, its CPU time and
last host CPU from ``/proc/PID/task/TID/stat``. Pinning sets the thread's affinity (live)
and records ``<cputune><vcpupin>`` in the live XML and/or the persistent definition.
Unpinned vCPUs report the *online* host CPUs, so an offline CPU is never shown or used as
available (the seed's "New API to retrieve node CPU map").
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any

from pyvirt.conf.cpumap import format_cpuset, from_cpumap, parse_cpuset, to_cpumap
from pyvirt.drivers.base import DomainRef, Driver, NodeCpuMap, VcpuInfo
from pyvirt.drivers.qemu import hostinfo
from pyvirt.drivers.qemu.jobs import JobKind
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

if TYPE_CHECKING:
    from pyvirt.drivers.qemu.domainobj import DomainObj, DomainStore
    from pyvirt.drivers.qemu.lifecycle import Lifecycle

_AFFECT_LIVE, _AFFECT_CONFIG = 1, 2
_VCPU_MAXIMUM, _VCPU_GUEST = 4, 8
_VCPU_RUNNING = 1
_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _err(code: ErrorCode, msg: str, domain: ErrorDomain = ErrorDomain.QEMU) -> VirtError:
    return VirtError(msg, code, domain)


def _bad_flags(flags: int, fn: str) -> VirtError:
    return _err(ErrorCode.INVALID_ARG, f"unsupported flags (0x{flags:x}) in function {fn}")


def _not_running() -> VirtError:
    return _err(ErrorCode.OPERATION_INVALID, "Requested operation is not valid: domain is not running",
                ErrorDomain.DOMAIN)


def thread_stat(pid: int, tid: int) -> tuple[int, int]:
    """(CPU time in ns, last host CPU) of one thread, from /proc/PID/task/TID/stat."""
    try:
        with open(f"/proc/{pid}/task/{tid}/stat") as f:
            text = f.read()
    except OSError:
        return 0, -1
    # the command name may hold spaces and parentheses: fields start after the last ')'
    fields = text[text.rindex(")") + 2:].split()
    utime, stime, processor = int(fields[11]), int(fields[12]), int(fields[36])
    return (utime + stime) * 1_000_000_000 // _CLK_TCK, processor


def set_vcpupin_xml(xml: str, vcpu: int, cpuset: str) -> str:
    """Record ``<vcpupin vcpu= cpuset=>`` in a libvirt-formatted domain XML (2-space indent),
    creating ``<cputune>`` after ``<vcpu>``/``<iothreads>`` as libvirt orders it."""
    pin = f"    <vcpupin vcpu='{vcpu}' cpuset='{cpuset}'/>\n"
    lines = xml.splitlines(keepends=True)
    existing = re.compile(rf"^    <vcpupin vcpu='{vcpu}' ")
    for i, line in enumerate(lines):
        if existing.match(line):
            lines[i] = pin
            return "".join(lines)
    if "  <cputune>\n" in lines:
        start = lines.index("  <cputune>\n")
        end = lines.index("  </cputune>\n", start)
        at = start + 1
        while at < end and (m := re.match(r"^    <vcpupin vcpu='(\d+)'", lines[at])) is None:
            at += 1
        while at < end and (m := re.match(r"^    <vcpupin vcpu='(\d+)'", lines[at])) and int(m.group(1)) < vcpu:
            at += 1
        lines.insert(at, pin)
        return "".join(lines)
    after = 0
    for i, line in enumerate(lines):
        if re.match(r"^  <(vcpu|vcpus|iothreads|iothreadids)[ >/]", line) or line.startswith(
                ("  </vcpus>", "  </iothreadids>")):
            after = i + 1
    lines[after:after] = ["  <cputune>\n", pin, "  </cputune>\n"]
    return "".join(lines)


class VcpuAPI(Driver):
    """virDomainGetVcpus / PinVcpu(Flags) / GetVcpuPinInfo / GetVcpusFlags, virNodeGetCPUMap."""

    if TYPE_CHECKING:
        store: DomainStore
        lc: Lifecycle

        def _obj(self, dom: DomainRef) -> DomainObj: ...

    async def node_get_cpu_map(self, flags: int = 0) -> NodeCpuMap:
        if flags:
            raise _bad_flags(flags, "virHostCPUGetMap")
        m = hostinfo.cpu_map()
        return NodeCpuMap(m.total, to_cpumap(m.online, m.total), len(m.online))

    async def _threads(self, obj: DomainObj) -> list[tuple[int, int]]:
        """(vCPU index, thread id) of the running vCPUs, from query-cpus-fast (job held)."""
        rt = await self.lc.runtime(obj)
        assert rt.monitor is not None
        cpus: list[dict[str, Any]] = await rt.monitor.execute("query-cpus-fast")
        return sorted((int(c["cpu-index"]), int(c["thread-id"])) for c in cpus)

    def _pins(self, xml: str | None, nvcpus: int, ncpus: int) -> list[bytes]:
        """Each vCPU's configured affinity: its <vcpupin>, else <vcpu cpuset>, else online CPUs."""
        from pyvirt.drivers.qemu.domainobj import DomainDefinition

        online = hostinfo.cpu_map().online
        default = set(online)
        pins: dict[int, set[int]] = {}
        if xml:
            m = DomainDefinition.parse(xml).model
            if m.vcpu.cpuset:
                default = parse_cpuset(m.vcpu.cpuset)
            for p in m.cputune.vcpupins if m.cputune is not None else []:
                pins[p.vcpu] = parse_cpuset(p.cpuset)
        return [to_cpumap(pins.get(i, default), ncpus) for i in range(nvcpus)]

    async def get_vcpus(self, dom: DomainRef, maxinfo: int, maplen: int) -> tuple[list[VcpuInfo], bytes]:
        obj = self._obj(dom)
        async with obj.job.hold(JobKind.QUERY):
            self.store.refresh(obj)
            if not obj.active:
                raise _err(ErrorCode.OPERATION_INVALID,
                           "Requested operation is not valid: cannot list vcpus for an inactive domain")
            threads = await self._threads(obj)
        info: list[VcpuInfo] = []
        maps = bytearray()
        for idx, tid in threads[:maxinfo]:
            cpu_time, cpu = thread_stat(obj.pid, tid)
            info.append(VcpuInfo(idx, _VCPU_RUNNING, cpu_time, cpu))
            try:
                aff = os.sched_getaffinity(tid)
            except OSError:
                aff = set()
            maps += to_cpumap(aff, maplen * 8)
        return info, bytes(maps)

    async def pin_vcpu_flags(self, dom: DomainRef, vcpu: int, cpumap: bytes, flags: int = 0) -> None:
        if flags & ~(_AFFECT_LIVE | _AFFECT_CONFIG):
            raise _bad_flags(flags, "qemuDomainPinVcpuFlags")
        obj = self._obj(dom)
        host = hostinfo.cpu_map()
        cpus = from_cpumap(cpumap, host.total)
        if not cpus & host.online:
            raise _err(ErrorCode.INVALID_ARG, "invalid argument: Empty cpu list for pinning")
        offline = sorted(cpus - host.online)
        if offline:
            # the kernel would refuse an offline CPU anyway; say which one, as libvirt does
            raise _err(ErrorCode.INVALID_ARG, f"invalid argument: CPU {offline[0]} is not online")
        cpuset = format_cpuset(cpus)
        async with obj.job.hold(JobKind.MODIFY):
            self.store.refresh(obj)
            live = bool(flags & _AFFECT_LIVE) or (not flags & _AFFECT_CONFIG and obj.active)
            config = bool(flags & _AFFECT_CONFIG) or (not flags & _AFFECT_LIVE and not obj.active)
            if live and not obj.active:
                raise _not_running()
            if config and not obj.persistent:
                raise _err(ErrorCode.OPERATION_INVALID,
                           "Requested operation is not valid: transient domains do not have any persistent config",
                           ErrorDomain.DOMAIN)
            nv = obj.definition.model.vcpu.count
            if vcpu >= nv:
                kind = "live" if live else "persistent"
                raise _err(ErrorCode.INVALID_ARG, f"invalid argument: vcpu {vcpu} is out of range of {kind} "
                           f"cpu count {nv}")
            if live:
                tids = dict(await self._threads(obj))
                if vcpu not in tids:
                    raise _err(ErrorCode.INVALID_ARG, f"invalid argument: requested vcpu '{vcpu}' is not present "
                               "in the domain")
                os.sched_setaffinity(tids[vcpu], cpus)
                obj.live_xml = set_vcpupin_xml(obj.live_xml or "", vcpu, cpuset)
                self.store.save_status(obj)
            if config:
                from pyvirt.drivers.qemu.domainobj import DomainDefinition

                obj.set_definition(DomainDefinition.parse(set_vcpupin_xml(obj.definition.format(), vcpu, cpuset)))
                self.store.save_config(obj)

    async def pin_vcpu(self, dom: DomainRef, vcpu: int, cpumap: bytes) -> None:
        await self.pin_vcpu_flags(dom, vcpu, cpumap, _AFFECT_LIVE)

    async def get_vcpu_pin_info(self, dom: DomainRef, ncpumaps: int, maplen: int, flags: int = 0) -> list[bytes]:
        if flags & ~(_AFFECT_LIVE | _AFFECT_CONFIG):
            raise _bad_flags(flags, "qemuDomainGetVcpuPinInfo")
        obj = self._obj(dom)
        live = bool(flags & _AFFECT_LIVE) or (not flags & _AFFECT_CONFIG and obj.active)
        if live and not obj.active:
            raise _not_running()
        xml = obj.live_xml if live else obj.definition.format()
        model_vcpus = obj.definition.model.vcpu.count
        return self._pins(xml, min(ncpumaps, model_vcpus), maplen * 8)

    async def get_vcpus_flags(self, dom: DomainRef, flags: int = 0) -> int:
        if flags & ~(_AFFECT_LIVE | _AFFECT_CONFIG | _VCPU_MAXIMUM | _VCPU_GUEST):
            raise _bad_flags(flags, "qemuDomainGetVcpusFlags")
        if flags & _VCPU_GUEST:
            raise _err(ErrorCode.ARGUMENT_UNSUPPORTED,
                       "argument unsupported: QEMU guest agent is not configured")
        obj = self._obj(dom)
        live = bool(flags & _AFFECT_LIVE) or (not flags & _AFFECT_CONFIG and obj.active)
        if live and not obj.active:
            raise _not_running()
        from pyvirt.drivers.qemu.domainobj import DomainDefinition

        m = DomainDefinition.parse(obj.live_xml).model if live and obj.live_xml else obj.definition.model
        if flags & _VCPU_MAXIMUM:
            return m.vcpu.count
        return m.vcpu.current if m.vcpu.current is not None else m.vcpu.count
