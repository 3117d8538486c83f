"""QMP event -> state transition table (pure), checked against libvirt 9's observed behaviour."""

from __future__ import annotations

from pyvirt.drivers.qemu.events import Action, Actions, Transition, transition
from pyvirt.drivers.qemu.monitor import QMPEvent
from pyvirt.enums import (
    CrashedDetail,
    DomainState,
    LifecycleEvent,
    PausedReason,
    ResumedDetail,
    RunningReason,
    ShutdownDetail,
    SuspendedDetail,
)

R, P, S = DomainState.RUNNING, DomainState.PAUSED, DomainState.SHUTDOWN
DEF = Actions()


def t(state: DomainState, name: str, data: dict[str, object] | None = None, *, fake: bool = False,
      reason: int = PausedReason.UNKNOWN, actions: Actions = DEF) -> Transition:
    return transition(state, QMPEvent(name, dict(data or {})), fake_reboot=fake, pause_reason=reason, actions=actions)


def test_stop_pauses_running_with_pending_reason() -> None:
    assert t(R, "STOP", reason=PausedReason.USER) == Transition(P, PausedReason.USER, LifecycleEvent.SUSPENDED, SuspendedDetail.PAUSED)
    assert t(R, "STOP").reason == PausedReason.UNKNOWN


def test_stop_after_shutdown_or_when_paused_is_ignored() -> None:
    assert t(S, "STOP") == Transition()
    assert t(P, "STOP") == Transition()


def test_resume_only_from_paused() -> None:
    assert t(P, "RESUME") == Transition(R, RunningReason.UNPAUSED, LifecycleEvent.RESUMED, ResumedDetail.UNPAUSED)
    assert t(R, "RESUME") == Transition()


def test_guest_poweroff_records_shutdown_and_kills() -> None:
    tr = t(R, "SHUTDOWN", {"guest": True, "reason": "guest-shutdown"})
    assert (tr.state, tr.event, tr.detail, tr.action) == (S, LifecycleEvent.SHUTDOWN, ShutdownDetail.GUEST, Action.KILL)
    host = t(R, "SHUTDOWN", {"guest": False, "reason": "host-signal"})
    assert host.detail == ShutdownDetail.HOST


def test_shutdown_during_fake_reboot_resets_instead() -> None:
    assert t(R, "SHUTDOWN", {"guest": True}, fake=True) == Transition(action=Action.FAKE_REBOOT)


def test_on_poweroff_restart_turns_poweroff_into_reboot() -> None:
    acts = Actions(on_poweroff="restart")
    assert t(R, "SHUTDOWN", {"guest": True, "reason": "guest-shutdown"}, actions=acts).action is Action.FAKE_REBOOT
    # but a reboot under -no-reboot (on_reboot=destroy) still stops the domain
    assert t(R, "SHUTDOWN", {"guest": True, "reason": "guest-reset"}, actions=acts).action is Action.KILL


def test_reset_gives_reboot_event() -> None:
    assert t(R, "RESET").action is Action.REBOOT_EVENT


def test_panic_follows_on_crash() -> None:
    tr = t(R, "GUEST_PANICKED")
    assert (tr.state, tr.event, tr.detail, tr.action) == (DomainState.CRASHED, LifecycleEvent.CRASHED, CrashedDetail.PANICKED, Action.KILL)
    assert t(R, "GUEST_PANICKED", actions=Actions(on_crash="preserve")).action is Action.NONE
    assert t(R, "GUEST_PANICKED", actions=Actions(on_crash="restart")).action is Action.FAKE_REBOOT


def test_device_events_and_unknown_events() -> None:
    assert t(R, "DEVICE_TRAY_MOVED", {"id": "sata0-0-0", "tray-open": True}).action is Action.TRAY
    assert t(R, "DEVICE_DELETED", {"device": "net1"}).action is Action.DEVICE_DELETED
    assert t(R, "RTC_CHANGE", {"offset": 1}) == Transition()


def test_preserved_panic_reports_the_pause_first() -> None:
    tr = t(R, "GUEST_PANICKED", {"action": "pause"}, actions=Actions(on_crash="preserve"))
    assert tr.pre_event == (LifecycleEvent.SUSPENDED, SuspendedDetail.PAUSED)
    assert t(R, "GUEST_PANICKED").pre_event is None


def test_shutdown_after_panic_only_counts_when_destroying() -> None:
    C = DomainState.CRASHED
    assert t(C, "SHUTDOWN", {"guest": False}) == Transition()  # our kill for on_crash=destroy
    tr = transition(C, QMPEvent("SHUTDOWN", {"guest": False}), fake_reboot=False, pause_reason=0,
                    actions=DEF, destroying=True)
    assert (tr.state, tr.event, tr.detail, tr.action) == (S, LifecycleEvent.SHUTDOWN, ShutdownDetail.HOST, Action.NONE)
