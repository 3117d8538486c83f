"""RemoteDriver's side of libvirt's QEMU program (qemu_protocol.py): monitor and agent commands
and QMP monitor events, against pyvirtd or libvirtd.

Monitor events arrive as DOMAIN_QEMU_MONITOR_EVENT messages of that program naming the
server's callback id; each goes to the local callback registered under that id. Messages
for an id not (yet) known locally are dropped, as libvirt's client does.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from pyvirt.drivers.base import DomainRef, QemuMonitorEventCallback, QemuMonitorEventMsg
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError
from pyvirt.remote import qemu_protocol as Q
from pyvirt.rpc import xdr

if TYPE_CHECKING:
    from pyvirt.rpc.client import RPCClient

log = logging.getLogger(__name__)


class RemoteQemuMixin:
    """Mixed into RemoteDriver before Driver."""

    if TYPE_CHECKING:
        _rpc: RPCClient

    _qemu_cbs: dict[int, QemuMonitorEventCallback] | None = None

    async def _qcall(self, proc: Any, args: Any) -> Any:
        # the RPC client takes replies (and messages) of the programs it knows only
        self._rpc.other_programs.setdefault(Q.QEMU_PROGRAM, self._on_qemu_message)
        reply = await self._rpc.call(proc.number, xdr.encode(proc.args, args), program=Q.QEMU_PROGRAM)
        return xdr.decode(proc.ret, reply, exact=False)

    async def qemu_monitor_command(self, dom: DomainRef, cmd: str, flags: int = 0) -> str:
        ret: Q.MonitorCommandRet = await self._qcall(Q.DOMAIN_QEMU_MONITOR_COMMAND,
                                                     Q.MonitorCommandArgs(dom, cmd, flags))
        return ret.result

    async def qemu_agent_command(self, dom: DomainRef, cmd: str, timeout: int, flags: int = 0) -> str | None:
        ret: Q.AgentCommandRet = await self._qcall(Q.DOMAIN_QEMU_AGENT_COMMAND,
                                                   Q.AgentCommandArgs(dom, cmd, timeout, flags))
        return ret.result

    async def qemu_attach(self, pid: int, flags: int = 0) -> DomainRef:
        ret = await self._qcall(Q.DOMAIN_QEMU_ATTACH, Q.AttachArgs(pid, flags))
        dom: DomainRef = ret.dom
        return dom

    async def qemu_monitor_event_register(self, dom: DomainRef | None, event: str | None, flags: int,
                                          cb: QemuMonitorEventCallback) -> int:
        if self._qemu_cbs is None:
            self._qemu_cbs = {}
        ret: Q.MonitorEventRegisterRet = await self._qcall(
            Q.CONNECT_DOMAIN_QEMU_MONITOR_EVENT_REGISTER, Q.MonitorEventRegisterArgs(dom, event, flags))
        self._qemu_cbs[ret.callback_id] = cb
        return ret.callback_id

    async def qemu_monitor_event_deregister(self, callback_id: int) -> None:
        if not self._qemu_cbs or callback_id not in self._qemu_cbs:
            raise VirtError(f"invalid argument: event callback id {callback_id} not registered",
                            ErrorCode.INVALID_ARG, ErrorDomain.NONE)
        del self._qemu_cbs[callback_id]
        await self._qcall(Q.CONNECT_DOMAIN_QEMU_MONITOR_EVENT_DEREGISTER, Q.MonitorEventDeregisterArgs(callback_id))

    def _on_qemu_message(self, proc: int, payload: bytes) -> None:
        if proc != Q.DOMAIN_QEMU_MONITOR_EVENT.number:
            return
        try:
            m: Q.MonitorEventMsg = xdr.decode(Q.DOMAIN_QEMU_MONITOR_EVENT.args, payload, exact=False)
        except (VirtError, ValueError):
            log.warning("undecodable QEMU monitor event")
            return
        cb = (self._qemu_cbs or {}).get(m.callback_id)
        if cb is not None:
            cb(QemuMonitorEventMsg(m.dom, m.event, m.seconds, m.micros, m.details))
