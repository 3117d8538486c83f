"""Driver events -> remote-program MESSAGE payloads (server) and back (client)."""

from __future__ import annotations

from pyvirt.drivers.base import (
    AgentLifecycleEventMsg,
    BlockJobEventMsg,
    DeviceRemovedEventMsg,
    DomainEvent,
    LifecycleEventMsg,
    RebootEventMsg,
    TrayChangeEventMsg,
)
from pyvirt.enums import (
    AgentLifecycleReason,
    AgentLifecycleState,
    BlockJobStatus,
    BlockJobType,
    EventID,
    LifecycleEvent,
    TrayChangeReason,
)
from pyvirt.remote import protocol as P
from pyvirt.rpc import xdr


def encode_event(ev: DomainEvent, event_id: int, callback_id: int) -> tuple[int, bytes] | None:
    """The (procedure, payload) for ``ev`` as seen by a registration for ``event_id``.

    None when that registration does not want this event. One block-job change is delivered
    to BLOCK_JOB registrations (disk path) and to BLOCK_JOB_2 ones (target name), as libvirt does.
    """
    if isinstance(ev, LifecycleEventMsg) and event_id == EventID.LIFECYCLE:
        m = P.CallbackLifecycleMsg(callback_id, P.LifecycleMsg(ev.dom, int(ev.event), int(ev.detail)))
        return P.EVENT_LIFECYCLE.number, xdr.encode(P.EVENT_LIFECYCLE.args, m)
    if isinstance(ev, RebootEventMsg) and event_id == EventID.REBOOT:
        return P.EVENT_REBOOT.number, xdr.encode(
            P.EVENT_REBOOT.args, P.CallbackRebootMsg(callback_id, P.RebootMsg(ev.dom))
        )
    if isinstance(ev, BlockJobEventMsg):
        if event_id == EventID.BLOCK_JOB:
            bj = P.BlockJobMsg(ev.dom, ev.path, int(ev.type), int(ev.status))
            return P.EVENT_BLOCK_JOB.number, xdr.encode(
                P.EVENT_BLOCK_JOB.args, P.CallbackBlockJobMsg(callback_id, bj)
            )
        if event_id == EventID.BLOCK_JOB_2:
            b2 = P.BlockJob2Msg(callback_id, ev.dom, ev.disk, int(ev.type), int(ev.status))
            return P.EVENT_BLOCK_JOB_2.number, xdr.encode(P.EVENT_BLOCK_JOB_2.args, b2)
        return None
    if isinstance(ev, TrayChangeEventMsg) and event_id == EventID.TRAY_CHANGE:
        tc = P.TrayChangeMsg(ev.dom, ev.dev_alias, int(ev.reason))
        return P.EVENT_TRAY_CHANGE.number, xdr.encode(
            P.EVENT_TRAY_CHANGE.args, P.CallbackTrayChangeMsg(callback_id, tc)
        )
    if isinstance(ev, DeviceRemovedEventMsg) and event_id == EventID.DEVICE_REMOVED:
        dr = P.DeviceRemovedMsg(ev.dom, ev.dev_alias)
        return P.EVENT_DEVICE_REMOVED.number, xdr.encode(
            P.EVENT_DEVICE_REMOVED.args, P.CallbackDeviceRemovedMsg(callback_id, dr)
        )
    if isinstance(ev, AgentLifecycleEventMsg) and event_id == EventID.AGENT_LIFECYCLE:
        al = P.AgentLifecycleMsg(callback_id, ev.dom, int(ev.state), int(ev.reason))
        return P.EVENT_AGENT_LIFECYCLE.number, xdr.encode(P.EVENT_AGENT_LIFECYCLE.args, al)
    return None


def decode_event(proc: int, payload: bytes) -> tuple[int, DomainEvent] | None:
    """(callbackID, event) from a MESSAGE packet; None for events we do not model."""
    decl = P.EVENTS.get(proc)
    if decl is None:
        return None
    m = xdr.decode(decl.args, payload, exact=False)
    if isinstance(m, P.CallbackLifecycleMsg):
        return m.callbackID, LifecycleEventMsg(m.msg.dom, LifecycleEvent(m.msg.event), m.msg.detail)
    if isinstance(m, P.CallbackRebootMsg):
        return m.callbackID, RebootEventMsg(m.msg.dom)
    if isinstance(m, P.CallbackBlockJobMsg):
        b = m.msg
        return m.callbackID, BlockJobEventMsg(b.dom, b.path, "", BlockJobType(b.type), BlockJobStatus(b.status))
    if isinstance(m, P.BlockJob2Msg):
        return m.callbackID, BlockJobEventMsg(m.dom, "", m.dst, BlockJobType(m.type), BlockJobStatus(m.status))
    if isinstance(m, P.CallbackTrayChangeMsg):
        t = m.msg
        return m.callbackID, TrayChangeEventMsg(t.dom, t.devAlias, TrayChangeReason(t.reason))
    if isinstance(m, P.CallbackDeviceRemovedMsg):
        return m.callbackID, DeviceRemovedEventMsg(m.msg.dom, m.msg.devAlias)
    if isinstance(m, P.AgentLifecycleMsg):
        return m.callbackID, AgentLifecycleEventMsg(
            m.dom, AgentLifecycleState(m.state), AgentLifecycleReason(m.reason)
        )
    return None
