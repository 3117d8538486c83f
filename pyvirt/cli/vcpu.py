"""vCPU commands: vcpuinfo, vcpupin, vcpucount, nodecpumap — virsh 9.0's output and errors.

Affinity is shown as virsh does: one ``y``/``-`` per host CPU (``--pretty``: a range list
"0-3,5 (out of 8)"), the host CPU count coming from virNodeGetCPUMap so offline CPUs still
have a column (the seed's "New API to retrieve node CPU map").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyvirt.cli.ctl import CmdFailed, Ctl
from pyvirt.cli.fmt import table
from pyvirt.cli.spec import BoundArgs
from pyvirt.conf.cpumap import format_cpuset, from_cpumap, maplen, parse_cpuset, to_cpumap, yes_dash
from pyvirt.errors import ErrorCode, VirtError

if TYPE_CHECKING:
    from pyvirt.drivers.base import DomainRef

_AFFECT_LIVE, _AFFECT_CONFIG = 1, 2
_VCPU_MAXIMUM, _VCPU_GUEST = 4, 8
_VCPU_STATES = ("offline", "running", "blocked")  # VIR_VCPU_*; anything else is "no state"


def _max_cpus(ctl: Ctl) -> int:
    with ctl.failing("Unable to get cpu map"):
        return ctl.call(ctl.conn.node_get_cpu_map()).cpus


def _affinity(cpumap: bytes, ncpus: int, pretty: bool) -> str:
    if pretty:
        return f"{format_cpuset(from_cpumap(cpumap, ncpus))} (out of {ncpus})"
    return yes_dash(cpumap, ncpus)


def cmd_vcpuinfo(ctl: Ctl, a: BoundArgs) -> None:
    dom = ctl.domain(a.req("domain"))
    ncpus = _max_cpus(ctl)
    pretty = a.flag("pretty")
    with ctl.failing("Unable to get domain information"):
        info = ctl.call(ctl.conn.get_info(dom))
    mlen = maplen(ncpus)
    try:
        vcpus, maps = ctl.call(ctl.conn.get_vcpus(dom, info.nr_virt_cpu, mlen))
    except VirtError as e:
        if ctl.call(ctl.conn.is_active(dom)):
            raise CmdFailed(e.message) from None
        # an inactive domain has no vCPU threads: show the configured affinity only
        with ctl.failing("Unable to get vcpu pin info"):
            pins = ctl.call(ctl.conn.get_vcpu_pin_info(dom, info.nr_virt_cpu, mlen, _AFFECT_CONFIG))
        out = []
        for i, m in enumerate(pins):
            out.append(f"{'VCPU:':<15} {i}\n{'CPU:':<15} N/A\n{'State:':<15} N/A\n"
                       f"{'CPU time':<15} N/A\n{'CPU Affinity:':<15} {_affinity(m, ncpus, pretty)}\n\n")
        ctl.print("".join(out)[:-1])  # the command's own end of line closes the last block
        return
    out = []
    for i, v in enumerate(vcpus):
        state = _VCPU_STATES[v.state] if 0 <= v.state < len(_VCPU_STATES) else "no state"
        m = maps[i * mlen:(i + 1) * mlen]
        # virsh leaves the CPU time line out when the driver reports none (0)
        cpu_time = f"{'CPU time:':<15} {v.cpu_time / 1e9:.1f}s\n" if v.cpu_time else ""
        out.append(f"{'VCPU:':<15} {v.number}\n{'CPU:':<15} {v.cpu}\n{'State:':<15} {state}\n"
                   f"{cpu_time}{'CPU Affinity:':<15} {_affinity(m, ncpus, pretty)}\n\n")
    ctl.print("".join(out)[:-1])


def _affect_flags(a: BoundArgs) -> int:
    if a.flag("current") and (a.flag("live") or a.flag("config")):
        other = "live" if a.flag("live") else "config"
        raise CmdFailed(f"Options --current and --{other} are mutually exclusive")
    return (_AFFECT_LIVE if a.flag("live") else 0) | (_AFFECT_CONFIG if a.flag("config") else 0)


def _vcpu_count(ctl: Ctl, dom: DomainRef, flags: int) -> int:
    """virsh's virshCPUCountCollect: virDomainGetVcpusFlags, else virDomainGetInfo."""
    try:
        return ctl.call(ctl.conn.get_vcpus_flags(dom, flags))
    except VirtError as e:
        # only a driver without the call falls back (virDomainGetInfo knows the live count)
        if e.code != ErrorCode.NO_SUPPORT or flags & _AFFECT_CONFIG:
            raise CmdFailed(e.message) from None
        return ctl.call(ctl.conn.get_info(dom)).nr_virt_cpu


def cmd_vcpupin(ctl: Ctl, a: BoundArgs) -> None:
    flags = _affect_flags(a)
    ncpus = _max_cpus(ctl)
    dom = ctl.domain(a.req("domain"))
    vcpu = a.int("vcpu")
    cpulist = a.get("cpulist")
    if vcpu is not None and vcpu < 0:  # an unsigned option in virsh
        raise CmdFailed(f"Numeric value '{a.get('vcpu')}' for <vcpu> option is malformed or out of range")
    mlen = maplen(ncpus)
    if cpulist is None:
        if flags & _AFFECT_CONFIG and not ctl.call(ctl.conn.is_persistent(dom)):
            raise CmdFailed("cannot get vcpupin for transient domain")
        if flags & _AFFECT_LIVE and not ctl.call(ctl.conn.is_active(dom)):
            raise CmdFailed("cannot get vcpupin for offline domain")
        count = _vcpu_count(ctl, dom, flags | _VCPU_MAXIMUM)
        if vcpu is not None and vcpu >= count:
            live = flags & _AFFECT_LIVE or (not flags & _AFFECT_CONFIG and ctl.call(ctl.conn.is_active(dom)))
            kind = "live" if live else "persistent"
            raise CmdFailed(f"vcpu {vcpu} is out of range of {kind} cpu count {count}")
        try:
            pins = ctl.call(ctl.conn.get_vcpu_pin_info(dom, count, mlen, flags))
        except VirtError as e:
            raise CmdFailed(e.message) from None
        rows = [[str(i), format_cpuset(from_cpumap(m))] for i, m in enumerate(pins)
                if vcpu is None or i == vcpu]
        ctl.print(table(["VCPU", "CPU Affinity"], rows))
        return
    if vcpu is None:
        raise CmdFailed("vcpupin: Missing vCPU number in pin mode.")
    if cpulist.startswith("r"):
        cpus = set(range(ncpus))
    else:
        try:
            cpus = parse_cpuset(cpulist)
        except VirtError as e:
            raise CmdFailed(f"Invalid cpulist '{cpulist}'", e.message) from None
        if not cpus:
            raise CmdFailed(f"Invalid cpulist '{cpulist}'")
        if max(cpus) >= ncpus:
            raise CmdFailed(f"CPU {max(cpus)} in cpulist '{cpulist}' exceed the maxcpu {ncpus}")
    cpumap = to_cpumap(cpus, ncpus)
    try:
        if a.flag("live") or a.flag("config") or a.flag("current"):
            ctl.call(ctl.conn.pin_vcpu_flags(dom, vcpu, cpumap, flags))
        else:  # virsh calls virDomainPinVcpu when no option is given
            ctl.call(ctl.conn.pin_vcpu(dom, vcpu, cpumap))
    except VirtError as e:
        raise CmdFailed(e.message) from None


def cmd_vcpucount(ctl: Ctl, a: BoundArgs) -> None:
    dom = ctl.domain(a.req("domain"))
    # here --current only means "not --live/--config" and combines with either (as in virsh)
    flags = (_AFFECT_LIVE if a.flag("live") else 0) | (_AFFECT_CONFIG if a.flag("config") else 0)
    maximum, active, guest = a.flag("maximum"), a.flag("active"), a.flag("guest")
    if maximum and active:
        raise CmdFailed("Options --active and --maximum are mutually exclusive")
    if not (maximum or active or guest or flags or a.flag("current")):
        active_dom = ctl.call(ctl.conn.is_active(dom))
        persistent = ctl.call(ctl.conn.is_persistent(dom))
        out = []
        for kind, kflag in (("maximum", _VCPU_MAXIMUM), ("current", 0)):
            for where, wflag in (("config", _AFFECT_CONFIG), ("live", _AFFECT_LIVE)):
                if (wflag == _AFFECT_LIVE and not active_dom) or (wflag == _AFFECT_CONFIG and not persistent):
                    continue  # virsh skips live rows of an inactive domain, config rows of a transient one
                n = _vcpu_count(ctl, dom, kflag | wflag)
                out.append(f"{kind:<12} {where:<12} {n:3d}\n")
        ctl.print("".join(out))
        return
    n = _vcpu_count(ctl, dom, flags | (_VCPU_MAXIMUM if maximum else 0) | (_VCPU_GUEST if guest else 0))
    ctl.print(f"{n}\n")


def cmd_nodecpumap(ctl: Ctl, a: BoundArgs) -> None:
    with ctl.failing("Unable to get cpu map"):
        m = ctl.call(ctl.conn.node_get_cpu_map())
    shown = format_cpuset(from_cpumap(m.cpumap, m.cpus)) if a.flag("pretty") else yes_dash(m.cpumap, m.cpus)
    ctl.print(f"{'CPUs present:':<15} {m.cpus}\n{'CPUs online:':<15} {m.online}\n{'CPU map:':<15} {shown}\n")
