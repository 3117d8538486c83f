"""Domain events: registration calls and the messages the server sends.

Part of :mod:`pyvirt.remote.protocol`, which re-exports every name here: import from there.
Two generations: callback-based (REGISTER_ANY with a callbackID, messages carrying it), and
the old style (no callbackID) that clients use against a daemon without
VIR_DRV_FEATURE_REMOTE_EVENT_CALLBACK; both wrap the same per-event message records.
"""

from __future__ import annotations

# The callback registration calls and the two block-job messages are declared in
# protocol_core (the one-shot client's pyvirsh blockcommit/blockpull --wait waits on them).
from pyvirt.remote.protocol_core import BLOCK_JOB_MSG, I, NonnullDomain, NonnullString, S, V, _m, _p

# Records: typed as NamedTuples for mypy, built by rpc.record at run time (no typing
# import, a fifth of a NamedTuple's declaration cost: every async client and pyvirtd pays it).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple as Record

    from pyvirt.drivers.base import DomainRef
else:
    from pyvirt.rpc.record import Record


class LifecycleMsg(Record):
    dom: DomainRef
    event: int
    detail: int


class CallbackLifecycleMsg(Record):
    callbackID: int
    msg: LifecycleMsg


class RebootMsg(Record):
    dom: DomainRef


class CallbackRebootMsg(Record):
    callbackID: int
    msg: RebootMsg


class TrayChangeMsg(Record):
    dom: DomainRef
    devAlias: str
    reason: int


class CallbackTrayChangeMsg(Record):
    callbackID: int
    msg: TrayChangeMsg


class DeviceRemovedMsg(Record):
    dom: DomainRef
    devAlias: str


class CallbackDeviceRemovedMsg(Record):
    callbackID: int
    msg: DeviceRemovedMsg


class AgentLifecycleMsg(Record):
    callbackID: int
    dom: DomainRef
    state: int
    reason: int


class LegacyEventRegisteredRet(Record):
    cb_registered: int


class LegacyEventIdArgs(Record):
    eventID: int


LIFECYCLE_MSG = S(LifecycleMsg, NonnullDomain, I, I)
REBOOT_MSG = S(RebootMsg, NonnullDomain)
TRAY_CHANGE_MSG = S(TrayChangeMsg, NonnullDomain, NonnullString, I)
DEVICE_REMOVED_MSG = S(DeviceRemovedMsg, NonnullDomain, NonnullString)

# ---- callback-based (server -> client MESSAGE packets, serial 1, carrying the callbackID)
EVENT_LIFECYCLE = _m(
    318, "DOMAIN_EVENT_CALLBACK_LIFECYCLE", S(CallbackLifecycleMsg, I, LIFECYCLE_MSG)
)
EVENT_REBOOT = _m(319, "DOMAIN_EVENT_CALLBACK_REBOOT", S(CallbackRebootMsg, I, REBOOT_MSG))
EVENT_TRAY_CHANGE = _m(
    328, "DOMAIN_EVENT_CALLBACK_TRAY_CHANGE", S(CallbackTrayChangeMsg, I, TRAY_CHANGE_MSG)
)
EVENT_DEVICE_REMOVED = _m(
    333, "DOMAIN_EVENT_CALLBACK_DEVICE_REMOVED", S(CallbackDeviceRemovedMsg, I, DEVICE_REMOVED_MSG)
)
EVENT_AGENT_LIFECYCLE = _m(
    348, "DOMAIN_EVENT_CALLBACK_AGENT_LIFECYCLE", S(AgentLifecycleMsg, I, NonnullDomain, I, I)
)

# ---- old style (libvirt clients older than 1.2.1, or a daemon without callback events):
# one registration per event ID and connection, messages without a callbackID
CONNECT_DOMAIN_EVENT_REGISTER = _p(
    105, "CONNECT_DOMAIN_EVENT_REGISTER", V, S(LegacyEventRegisteredRet, I), high=True
)
CONNECT_DOMAIN_EVENT_DEREGISTER = _p(
    106, "CONNECT_DOMAIN_EVENT_DEREGISTER", V, S(LegacyEventRegisteredRet, I), high=True
)
LEGACY_EVENT_LIFECYCLE = _m(107, "DOMAIN_EVENT_LIFECYCLE", LIFECYCLE_MSG)
CONNECT_DOMAIN_EVENT_REGISTER_ANY = _p(
    167, "CONNECT_DOMAIN_EVENT_REGISTER_ANY", S(LegacyEventIdArgs, I), V, high=True
)
CONNECT_DOMAIN_EVENT_DEREGISTER_ANY = _p(
    168, "CONNECT_DOMAIN_EVENT_DEREGISTER_ANY", S(LegacyEventIdArgs, I), V, high=True
)
LEGACY_EVENT_REBOOT = _m(169, "DOMAIN_EVENT_REBOOT", REBOOT_MSG)
LEGACY_EVENT_BLOCK_JOB = _m(241, "DOMAIN_EVENT_BLOCK_JOB", BLOCK_JOB_MSG)
LEGACY_EVENT_TRAY_CHANGE = _m(268, "DOMAIN_EVENT_TRAY_CHANGE", TRAY_CHANGE_MSG)
LEGACY_EVENT_DEVICE_REMOVED = _m(311, "DOMAIN_EVENT_DEVICE_REMOVED", DEVICE_REMOVED_MSG)
