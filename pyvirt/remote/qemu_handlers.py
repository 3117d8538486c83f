"""Server side of libvirt's QEMU program (qemu_protocol.py): monitor and agent commands, and
QMP monitor events forwarded to the client as DOMAIN_QEMU_MONITOR_EVENT messages.

RemoteSession.on_call looks a packet of this program up in :data:`QEMU_HANDLERS`; the
session keeps the driver registration ids of its monitor-event callbacks in
``qemu_events`` so a client that goes away leaves none behind (:func:`drop_all`).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from pyvirt.errors import ErrorCode, ErrorDomain, VirtError
from pyvirt.remote import qemu_protocol as Q
from pyvirt.rpc import packet as pk
from pyvirt.rpc import xdr
from pyvirt.rpc.packet import MessageType

if TYPE_CHECKING:
    from pyvirt.drivers.base import QemuMonitorEventMsg
    from pyvirt.remote.dispatch import RemoteSession

QemuHandler = Callable[["RemoteSession", Any], Coroutine[Any, Any, Any]]


async def monitor_command(s: RemoteSession, a: Q.MonitorCommandArgs) -> Q.MonitorCommandRet:
    return Q.MonitorCommandRet(await s.drv.qemu_monitor_command(a.dom, a.cmd, a.flags))


async def attach(s: RemoteSession, a: Q.AttachArgs) -> Any:
    from pyvirt.remote import protocol as P

    return P.DomRet(await s.drv.qemu_attach(a.pid_value, a.flags))


async def agent_command(s: RemoteSession, a: Q.AgentCommandArgs) -> Q.AgentCommandRet:
    return Q.AgentCommandRet(await s.drv.qemu_agent_command(a.dom, a.cmd, a.timeout, a.flags))


async def event_register(s: RemoteSession, a: Q.MonitorEventRegisterArgs) -> Q.MonitorEventRegisterRet:
    conn = s.conn
    box: list[int] = []

    def forward(msg: QemuMonitorEventMsg) -> None:
        if not box:
            return  # registration still in flight: the client does not know the id yet
        payload = xdr.encode(Q.DOMAIN_QEMU_MONITOR_EVENT.args, Q.MonitorEventMsg(
            box[0], msg.dom, msg.event, msg.seconds, msg.micros, msg.details))
        conn.send(pk.frame(Q.QEMU_PROGRAM, Q.QEMU_VERSION, Q.DOMAIN_QEMU_MONITOR_EVENT.number,
                           MessageType.MESSAGE, 1, 0, payload))

    cid = await s.drv.qemu_monitor_event_register(a.dom, a.event, a.flags, forward)
    box.append(cid)
    s.qemu_events.add(cid)
    return Q.MonitorEventRegisterRet(cid)


async def event_deregister(s: RemoteSession, a: Q.MonitorEventDeregisterArgs) -> None:
    if a.callback_id not in s.qemu_events:
        # another client's id is not this one's to drop (libvirtd looks in the client's list)
        raise VirtError(f"invalid argument: qemu monitor event callback {a.callback_id} not registered",
                        ErrorCode.INVALID_ARG, ErrorDomain.NONE)
    s.qemu_events.discard(a.callback_id)
    await s.drv.qemu_monitor_event_deregister(a.callback_id)


async def drop_all(s: RemoteSession) -> None:
    """The client's driver is being released: drop its monitor-event callbacks."""
    ids, s.qemu_events = s.qemu_events, set()
    if s.driver is None:
        return
    for cid in ids:
        try:
            await s.driver.qemu_monitor_event_deregister(cid)
        except VirtError:
            pass


QEMU_HANDLERS: dict[int, QemuHandler] = {
    Q.DOMAIN_QEMU_MONITOR_COMMAND.number: monitor_command,
    Q.DOMAIN_QEMU_ATTACH.number: attach,
    Q.DOMAIN_QEMU_AGENT_COMMAND.number: agent_command,
    Q.CONNECT_DOMAIN_QEMU_MONITOR_EVENT_REGISTER.number: event_register,
    Q.CONNECT_DOMAIN_QEMU_MONITOR_EVENT_DEREGISTER.number: event_deregister,
}
