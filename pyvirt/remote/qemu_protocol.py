"""libvirt's QEMU program (0x20008087 v1, qemu_protocol.x): libvirt-qemu's monitor and agent
pass-through and QMP monitor events, on the same connection as the remote program.

Named qemu_protocol, not proto_*: it is not one of protocol.py's FAMILIES (the family
tables and their test take every proto_* module); its procedure numbers (1..) are its own program's and
would collide with the remote program's in those tables; the server and client look a
packet's procedure up here when its header names this program. Procedure names follow the
public API (DOMAIN_QEMU_MONITOR_COMMAND -> virDomainQemuMonitorCommand) so errors name it
as libvirt does; the spec's struct names are given explicitly.
"""

from __future__ import annotations

from pyvirt.remote.protocol_core import (
    DOM_RET,
    I,
    NonnullDomain,
    NonnullString,
    OptDomain,
    OptString,
    Procedure,
    S,
    U,
    V,
    _m,
    _p,
)
from pyvirt.rpc import xdr

TYPE_CHECKING = False  # typing stays off pyvirsh's one-shot qemu-monitor-command
if TYPE_CHECKING:
    from typing import Any
    from typing import NamedTuple as Record

    from pyvirt.drivers.base import DomainRef
else:
    from pyvirt.rpc.record import Record

QEMU_PROGRAM = 0x20008087
QEMU_VERSION = 1


class MonitorCommandArgs(Record):
    dom: DomainRef
    cmd: str
    flags: int


class MonitorCommandRet(Record):
    result: str


class AttachArgs(Record):
    pid_value: int
    flags: int


class AgentCommandArgs(Record):
    dom: DomainRef
    cmd: str
    timeout: int
    flags: int


class AgentCommandRet(Record):
    result: str | None


class MonitorEventRegisterArgs(Record):
    dom: DomainRef | None
    event: str | None
    flags: int


class MonitorEventRegisterRet(Record):
    callback_id: int


class MonitorEventDeregisterArgs(Record):
    callback_id: int


class MonitorEventMsg(Record):
    callback_id: int
    dom: DomainRef
    event: str
    seconds: int
    micros: int
    details: str | None


def _q(number: int, name: str, args: xdr.Codec[Any], ret: xdr.Codec[Any], spec: str, *,
       high: bool = False) -> Procedure[Any, Any]:
    return _p(number, name, args, ret, rw=True, high=high, a=f"qemu_{spec}_args",
              r=None if isinstance(ret, xdr.Void) else f"qemu_{spec}_ret")


DOMAIN_QEMU_MONITOR_COMMAND = _q(
    1, "DOMAIN_QEMU_MONITOR_COMMAND", S(MonitorCommandArgs, NonnullDomain, NonnullString, U),
    S(MonitorCommandRet, NonnullString), "domain_monitor_command")
DOMAIN_QEMU_ATTACH = _q(2, "DOMAIN_QEMU_ATTACH", S(AttachArgs, U, U), DOM_RET, "domain_attach")
DOMAIN_QEMU_AGENT_COMMAND = _q(
    3, "DOMAIN_QEMU_AGENT_COMMAND", S(AgentCommandArgs, NonnullDomain, NonnullString, I, U),
    S(AgentCommandRet, OptString), "domain_agent_command")
CONNECT_DOMAIN_QEMU_MONITOR_EVENT_REGISTER = _q(
    4, "CONNECT_DOMAIN_QEMU_MONITOR_EVENT_REGISTER", S(MonitorEventRegisterArgs, OptDomain, OptString, U),
    S(MonitorEventRegisterRet, I), "connect_domain_monitor_event_register", high=True)
CONNECT_DOMAIN_QEMU_MONITOR_EVENT_DEREGISTER = _q(
    5, "CONNECT_DOMAIN_QEMU_MONITOR_EVENT_DEREGISTER", S(MonitorEventDeregisterArgs, I), V,
    "connect_domain_monitor_event_deregister", high=True)
DOMAIN_QEMU_MONITOR_EVENT = _m(
    6, "DOMAIN_QEMU_MONITOR_EVENT",
    S(MonitorEventMsg, I, NonnullDomain, NonnullString, xdr.Hyper, U, OptString))
# 7, DOMAIN_MONITOR_COMMAND_WITH_FILES, needs fd passing: answered as unsupported.

QEMU_PROCEDURES: dict[int, Procedure[Any, Any]] = {
    p.number: p for p in (DOMAIN_QEMU_MONITOR_COMMAND, DOMAIN_QEMU_ATTACH, DOMAIN_QEMU_AGENT_COMMAND,
                          CONNECT_DOMAIN_QEMU_MONITOR_EVENT_REGISTER, CONNECT_DOMAIN_QEMU_MONITOR_EVENT_DEREGISTER)
}
