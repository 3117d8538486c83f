"""Old-style (non-callback) domain event registration, server and client halves.

libvirt clients use CONNECT_DOMAIN_EVENT_REGISTER / _REGISTER_ANY when the daemon does not
offer VIR_DRV_FEATURE_REMOTE_EVENT_CALLBACK (libvirt before 1.2.1, and any client talking to
such a daemon). Such a registration has no callbackID on the wire: its events travel as the
old messages (DOMAIN_EVENT_LIFECYCLE, _REBOOT, _BLOCK_JOB, ...) whose body is the callback
form's inner message. Rules, as libvirtd 9.0 applies them (checked with raw packets):

* REGISTER is REGISTER_ANY for the lifecycle event; both reply ``cb_registered`` 0 / nothing;
* only the event IDs that have an old message (LIFECYCLE .. DEVICE_REMOVED, 0..15) are
  accepted, anything else is "internal error: unsupported event ID N";
* one registration per (event, domain filter) per connection, old or new style alike: a
  second one is "invalid argument: event callback already tracked" (VIR_FROM_NONE);
* deregistering an event with no old-style registration is "domain event N not registered".

Registered into ``handlers.HANDLERS`` when :mod:`pyvirt.remote.handlers` imports this.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyvirt.drivers.base import (
    BlockJobEventMsg,
    DeviceRemovedEventMsg,
    DomainEvent,
    LifecycleEventMsg,
    RebootEventMsg,
    TrayChangeEventMsg,
)
from pyvirt.enums import BlockJobStatus, BlockJobType, EventID, LifecycleEvent, TrayChangeReason
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError
from pyvirt.remote import protocol as P
from pyvirt.remote.handlers import serves
from pyvirt.rpc import xdr

if TYPE_CHECKING:
    from pyvirt.remote.dispatch import RemoteSession

# VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED (15) is the last event with an old-style message.
LEGACY_LAST_EVENT_ID = 15
# What our client registers old-style: the events the Driver interface models that have an
# old form (BLOCK_JOB stands in for BLOCK_JOB_2, AGENT_LIFECYCLE has none).
LEGACY_CLIENT_EVENT_IDS = (
    EventID.LIFECYCLE, EventID.REBOOT, EventID.BLOCK_JOB, EventID.TRAY_CHANGE, EventID.DEVICE_REMOVED,
)


def _unsupported(event_id: int) -> VirtError:
    return VirtError(f"internal error: unsupported event ID {event_id}", ErrorCode.INTERNAL_ERROR, ErrorDomain.RPC)


def _not_registered(event_id: int) -> VirtError:
    return VirtError(
        f"internal error: domain event {event_id} not registered", ErrorCode.INTERNAL_ERROR, ErrorDomain.RPC
    )


def _register(s: RemoteSession, event_id: int) -> None:
    if event_id < 0 or event_id > LEGACY_LAST_EVENT_ID:
        raise _unsupported(event_id)
    s.register_event(event_id, None, legacy=True)


def _deregister(s: RemoteSession, event_id: int) -> None:
    if event_id < 0 or event_id > LEGACY_LAST_EVENT_ID:
        raise _unsupported(event_id)
    if not s.deregister_legacy_event(event_id):
        raise _not_registered(event_id)


@serves(P.CONNECT_DOMAIN_EVENT_REGISTER)
async def event_register(s: RemoteSession, a: None) -> P.LegacyEventRegisteredRet:
    _register(s, EventID.LIFECYCLE)
    return P.LegacyEventRegisteredRet(0)  # libvirtd leaves the field unset (zero)


@serves(P.CONNECT_DOMAIN_EVENT_DEREGISTER)
async def event_deregister(s: RemoteSession, a: None) -> P.LegacyEventRegisteredRet:
    _deregister(s, EventID.LIFECYCLE)
    return P.LegacyEventRegisteredRet(0)


@serves(P.CONNECT_DOMAIN_EVENT_REGISTER_ANY)
async def event_register_any(s: RemoteSession, a: P.LegacyEventIdArgs) -> None:
    _register(s, a.eventID)


@serves(P.CONNECT_DOMAIN_EVENT_DEREGISTER_ANY)
async def event_deregister_any(s: RemoteSession, a: P.LegacyEventIdArgs) -> None:
    _deregister(s, a.eventID)


def encode_legacy_event(ev: DomainEvent, event_id: int) -> tuple[int, bytes] | None:
    """The old-style (procedure, payload) of ``ev`` for a registration of ``event_id``;
    None when that registration does not want it. A block-job change reaches BLOCK_JOB
    registrations only (BLOCK_JOB_2 has no old form and cannot be registered old-style)."""
    if isinstance(ev, LifecycleEventMsg) and event_id == EventID.LIFECYCLE:
        m = P.LifecycleMsg(ev.dom, int(ev.event), int(ev.detail))
        return P.LEGACY_EVENT_LIFECYCLE.number, xdr.encode(P.LEGACY_EVENT_LIFECYCLE.args, m)
    if isinstance(ev, RebootEventMsg) and event_id == EventID.REBOOT:
        return P.LEGACY_EVENT_REBOOT.number, xdr.encode(P.LEGACY_EVENT_REBOOT.args, P.RebootMsg(ev.dom))
    if isinstance(ev, BlockJobEventMsg) and event_id == EventID.BLOCK_JOB:
        bj = P.BlockJobMsg(ev.dom, ev.path, int(ev.type), int(ev.status))
        return P.LEGACY_EVENT_BLOCK_JOB.number, xdr.encode(P.LEGACY_EVENT_BLOCK_JOB.args, bj)
    if isinstance(ev, TrayChangeEventMsg) and event_id == EventID.TRAY_CHANGE:
        tc = P.TrayChangeMsg(ev.dom, ev.dev_alias, int(ev.reason))
        return P.LEGACY_EVENT_TRAY_CHANGE.number, xdr.encode(P.LEGACY_EVENT_TRAY_CHANGE.args, tc)
    if isinstance(ev, DeviceRemovedEventMsg) and event_id == EventID.DEVICE_REMOVED:
        dr = P.DeviceRemovedMsg(ev.dom, ev.dev_alias)
        return P.LEGACY_EVENT_DEVICE_REMOVED.number, xdr.encode(P.LEGACY_EVENT_DEVICE_REMOVED.args, dr)
    return None


def decode_legacy_event(proc: int, payload: bytes) -> DomainEvent | None:
    """A client's view of an old-style event message; None for the ones we do not model."""
    decl = P.EVENTS.get(proc)
    if decl is None:
        return None
    m = xdr.decode(decl.args, payload, exact=False)
    if proc == P.LEGACY_EVENT_LIFECYCLE.number:
        return LifecycleEventMsg(m.dom, LifecycleEvent(m.event), m.detail)
    if proc == P.LEGACY_EVENT_REBOOT.number:
        return RebootEventMsg(m.dom)
    if proc == P.LEGACY_EVENT_BLOCK_JOB.number:
        return BlockJobEventMsg(m.dom, m.path, "", BlockJobType(m.type), BlockJobStatus(m.status))
    if proc == P.LEGACY_EVENT_TRAY_CHANGE.number:
        return TrayChangeEventMsg(m.dom, m.devAlias, TrayChangeReason(m.reason))
    if proc == P.LEGACY_EVENT_DEVICE_REMOVED.number:
        return DeviceRemovedEventMsg(m.dom, m.devAlias)
    return None
