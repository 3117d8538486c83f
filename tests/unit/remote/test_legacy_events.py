"""Old-style domain event messages: each modelled event encodes to its old procedure with the
callback form's inner message (no callbackID) and decodes back; a registration gets only its
own event kind (a block-job change reaches BLOCK_JOB, never a BLOCK_JOB_2 one)."""

from __future__ import annotations

import pytest

from pyvirt.drivers.base import (
    BlockJobEventMsg,
    DeviceRemovedEventMsg,
    DomainEvent,
    DomainRef,
    LifecycleEventMsg,
    RebootEventMsg,
    TrayChangeEventMsg,
)
from pyvirt.enums import BlockJobStatus, BlockJobType, EventID, LifecycleEvent, TrayChangeReason
from pyvirt.remote import events as rev
from pyvirt.remote import protocol as P
from pyvirt.remote.legacy_events import decode_legacy_event, encode_legacy_event

DOM = DomainRef("vm", bytes(range(16)), 3)
CASES: list[tuple[DomainEvent, EventID, int]] = [
    (LifecycleEventMsg(DOM, LifecycleEvent.STOPPED, 1), EventID.LIFECYCLE, 107),
    (RebootEventMsg(DOM), EventID.REBOOT, 169),
    (BlockJobEventMsg(DOM, "/img/a.qcow2", "", BlockJobType.COMMIT, BlockJobStatus.COMPLETED), EventID.BLOCK_JOB, 241),
    (TrayChangeEventMsg(DOM, "ide0-0-0", TrayChangeReason.OPEN), EventID.TRAY_CHANGE, 268),
    (DeviceRemovedEventMsg(DOM, "virtio-disk1"), EventID.DEVICE_REMOVED, 311),
]


@pytest.mark.parametrize(("ev", "eid", "proc"), CASES)
def test_round_trip_and_no_callback_id(ev: DomainEvent, eid: EventID, proc: int) -> None:
    enc = encode_legacy_event(ev, eid)
    assert enc is not None and enc[0] == proc
    assert decode_legacy_event(*enc) == ev
    # the callback form is the same body behind a 4-byte callbackID
    cb = rev.encode_event(ev, eid, 7)
    assert cb is not None and cb[1] == b"\0\0\0\7" + enc[1]
    assert P.EVENTS[proc].name.startswith("DOMAIN_EVENT_") and "CALLBACK" not in P.EVENTS[proc].name


@pytest.mark.parametrize(("ev", "eid", "proc"), CASES)
def test_other_registrations_get_nothing(ev: DomainEvent, eid: EventID, proc: int) -> None:
    for other in EventID:
        if other != eid:
            assert encode_legacy_event(ev, other) is None


def test_callback_events_are_not_decoded_as_old_ones() -> None:
    enc = rev.encode_event(CASES[0][0], EventID.LIFECYCLE, 0)
    assert enc is not None and decode_legacy_event(*enc) is None
