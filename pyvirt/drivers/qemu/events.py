"""QMP events -> per-domain worker queue -> state change -> API events.

The monitor's reader calls :meth:`DomainRuntime.enqueue` (never blocks, never calls QMP);
one worker task per running domain drains the queue in order and asks the driver (through
:class:`EventSink`) to apply each item. The mapping from a QMP event to a state change is
pure (:func:`transition`) so it is unit-tested without QEMU.

Idempotent transitions: an API call (suspend) and the QMP event it causes (STOP) both
request "paused"; whichever is applied first changes state and publishes, the second is a
no-op. That matches libvirt, where the event handler and the API share the object state.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from dataclasses import dataclass, field
from typing import Protocol

from pyvirt.drivers.qemu.monitor import QMPEvent, QMPMonitor
from pyvirt.drivers.qemu.process import ProcessWatch
from pyvirt.enums import (
    CrashedDetail,
    CrashedReason,
    DomainState,
    LifecycleEvent,
    PausedReason,
    ResumedDetail,
    RunningReason,
    ShutdownDetail,
    ShutdownReason,
    SuspendedDetail,
)


class Action(enum.Enum):
    NONE = "none"
    KILL = "kill"  # stop QEMU; the exit then records shutoff
    FAKE_REBOOT = "fake-reboot"  # system_reset (+ cont): on_reboot=restart after a powerdown
    REBOOT_EVENT = "reboot-event"  # publish the REBOOT event only
    TRAY = "tray"
    DEVICE_DELETED = "device-deleted"


@dataclass(frozen=True, slots=True)
class Transition:
    state: DomainState | None = None  # None: unchanged
    reason: int = 0
    event: LifecycleEvent | None = None
    detail: int = 0
    action: Action = Action.NONE
    pre_event: tuple[LifecycleEvent, int] | None = None  # published before ``event``


@dataclass(frozen=True, slots=True)
class ProcessExited:
    """Queue item: the QEMU process is gone (pidfd fired)."""


QueueItem = QMPEvent | ProcessExited


@dataclass(frozen=True, slots=True)
class Actions:
    """The definition's lifecycle actions (on_poweroff / on_reboot / on_crash)."""

    on_poweroff: str = "destroy"
    on_reboot: str = "restart"
    on_crash: str = "destroy"


def transition(
    state: DomainState, ev: QMPEvent, *, fake_reboot: bool, pause_reason: int, actions: Actions,
    after_shutdown: bool = False, destroying: bool = False,
) -> Transition:
    """What a QMP event does to a domain in ``state``. Pure.

    ``after_shutdown``: QEMU saw a guest SHUTDOWN and, under -no-shutdown, pauses the vCPUs;
    that STOP is not a user-visible pause (libvirt ignores it as well).
    """
    name = ev.name
    if name == "STOP":
        if state is DomainState.RUNNING and not after_shutdown:
            return Transition(DomainState.PAUSED, pause_reason, LifecycleEvent.SUSPENDED, SuspendedDetail.PAUSED)
        return Transition()
    if name == "RESUME":
        if state is DomainState.PAUSED:
            return Transition(DomainState.RUNNING, RunningReason.UNPAUSED, LifecycleEvent.RESUMED, ResumedDetail.UNPAUSED)
        return Transition()
    if name == "SHUTDOWN":
        guest = bool(ev.data.get("guest", False))
        reset_like = ev.data.get("reason") == "guest-reset"
        if fake_reboot or (guest and not reset_like and actions.on_poweroff == "restart"):
            return Transition(action=Action.FAKE_REBOOT)
        if state is DomainState.SHUTDOWN or (state is DomainState.CRASHED and not destroying):
            return Transition()  # our own kill after a poweroff/panic: the stop is recorded on exit
        detail = ShutdownDetail.GUEST if guest else ShutdownDetail.HOST
        return Transition(DomainState.SHUTDOWN, ShutdownReason.UNKNOWN, LifecycleEvent.SHUTDOWN, detail,
                          Action.NONE if destroying else Action.KILL)
    if name == "RESET":
        return Transition(action=Action.REBOOT_EVENT)
    if name == "GUEST_PANICKED":
        act = Action.KILL if actions.on_crash in ("destroy", "coredump-destroy") else (
            Action.FAKE_REBOOT if actions.on_crash in ("restart", "coredump-restart") else Action.NONE
        )
        if state is not DomainState.RUNNING and state is not DomainState.PAUSED:
            return Transition()
        # libvirt reports the vCPU stop that comes with a preserved panic as a pause first.
        pre = (LifecycleEvent.SUSPENDED, int(SuspendedDetail.PAUSED)) if act is Action.NONE and state is DomainState.RUNNING else None
        return Transition(DomainState.CRASHED, CrashedReason.PANICKED, LifecycleEvent.CRASHED, CrashedDetail.PANICKED, act, pre)
    if name == "DEVICE_TRAY_MOVED":
        return Transition(action=Action.TRAY)
    if name == "DEVICE_DELETED":
        return Transition(action=Action.DEVICE_DELETED)
    return Transition()


class EventSink(Protocol):
    async def apply(self, rt: DomainRuntime, item: QueueItem) -> None: ...


@dataclass(eq=False)
class DomainRuntime:
    """Everything that exists only while a domain's QEMU runs and we are attached to it."""

    name: str
    monitor: QMPMonitor | None
    watch: ProcessWatch
    sink: EventSink
    queue: asyncio.Queue[QueueItem] = field(default_factory=asyncio.Queue)
    fake_reboot: bool = False
    got_shutdown: bool = False
    paused_by_shutdown: bool = False  # SHUTDOWN seen, -no-shutdown stopped the vCPUs
    being_destroyed: bool = False
    pause_reason: int = int(PausedReason.UNKNOWN)
    monitor_closed: asyncio.Event = field(default_factory=asyncio.Event)
    stopped: asyncio.Event = field(default_factory=asyncio.Event)  # cleanup done (shutoff recorded)
    reboot_done: asyncio.Event = field(default_factory=asyncio.Event)  # set when no fake reboot is pending
    _task: asyncio.Task[None] | None = None
    _detached: bool = False

    def start(self) -> None:
        if self.monitor is not None:
            self.monitor.on_event = self.enqueue
            self.monitor.on_close = self.monitor_closed.set
        else:
            self.monitor_closed.set()
        self._task = asyncio.get_running_loop().create_task(self._worker(), name=f"qemu-worker-{self.name}")

    def enqueue(self, item: QueueItem) -> None:
        self.queue.put_nowait(item)

    def on_exit(self) -> None:
        self.enqueue(ProcessExited())

    async def _worker(self) -> None:
        while not self._detached:
            item = await self.queue.get()
            try:
                await self.sink.apply(self, item)
            except Exception:
                import logging

                logging.getLogger(__name__).exception("handling %r for %s", item, self.name)
            finally:
                self.queue.task_done()

    async def drain(self, timeout: float = 2.0) -> None:
        """Wait until the monitor hung up and every queued event was applied."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.monitor_closed.wait(), timeout)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.queue.join(), timeout)

    async def detach(self) -> None:
        """Stop listening (QEMU keeps running): cancel the worker, release the monitor.

        Called from the worker itself (a stop it recorded), the worker ends after the
        current item instead of being cancelled mid-way.
        """
        self._detached = True
        self.watch.stop()
        if self.monitor is not None:
            self.monitor.on_close = None
            await self.monitor.close()
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
