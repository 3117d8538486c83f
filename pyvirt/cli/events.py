"""The event command: wait for domain events and print them as virsh does."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from pyvirt.cli.ctl import CmdFailed, Ctl
from pyvirt.cli.fmt import lifecycle_text
from pyvirt.cli.spec import BoundArgs
from pyvirt.drivers.base import (
    AgentLifecycleEventMsg,
    BlockJobEventMsg,
    DeviceRemovedEventMsg,
    DomainEvent,
    LifecycleEventMsg,
    RebootEventMsg,
    TrayChangeEventMsg,
)
from pyvirt.enums import EventID

# virsh's event names, indexed by VIR_DOMAIN_EVENT_ID_*.
EVENT_NAMES = (
    "lifecycle", "reboot", "rtc-change", "watchdog", "io-error", "graphics", "io-error-reason",
    "control-error", "block-job", "disk-change", "tray-change", "pm-wakeup", "pm-suspend",
    "balloon-change", "pm-suspend-disk", "device-removed", "block-job-2", "tunable",
    "agent-lifecycle", "device-added", "migration-iteration", "job-completed",
    "device-removal-failed", "metadata-change", "block-threshold", "memory-failure",
    "memory-device-size-change",
)
_JOB_TYPES = ("unknown", "Block Pull", "Block Copy", "Block Commit", "Active Block Commit",
              "Backup")
_JOB_STATUS = ("completed", "failed", "canceled", "ready")
_INT_MAX_MS = 2**31 - 1


def format_event(ev: DomainEvent, wanted: set[int]) -> list[str]:
    """The lines virsh prints for one event, given the event ids the user registered."""
    name = ev.dom.name
    if isinstance(ev, LifecycleEventMsg) and EventID.LIFECYCLE in wanted:
        text = lifecycle_text(ev.event, ev.detail)
        return [f"event 'lifecycle' for domain '{name}': {text}\n"]
    if isinstance(ev, RebootEventMsg) and EventID.REBOOT in wanted:
        return [f"event 'reboot' for domain '{name}'\n"]
    if isinstance(ev, BlockJobEventMsg):
        # One job change is two libvirt events: by disk path and by target name.
        out = []
        jt = _JOB_TYPES[ev.type] if 0 <= ev.type < len(_JOB_TYPES) else "unknown"
        st = _JOB_STATUS[ev.status] if 0 <= ev.status < len(_JOB_STATUS) else "unknown"
        if EventID.BLOCK_JOB in wanted:
            out.append(f"event 'block-job' for domain '{name}': {jt} for {ev.path} {st}\n")
        if EventID.BLOCK_JOB_2 in wanted:
            out.append(f"event 'block-job-2' for domain '{name}': {jt} for {ev.disk} {st}\n")
        return out
    if isinstance(ev, TrayChangeEventMsg) and EventID.TRAY_CHANGE in wanted:
        what = "opened" if ev.reason == 0 else "closed"
        return [f"event 'tray-change' for domain '{name}' disk {ev.dev_alias}: {what}\n"]
    if isinstance(ev, DeviceRemovedEventMsg) and EventID.DEVICE_REMOVED in wanted:
        return [f"event 'device-removed' for domain '{name}': {ev.dev_alias}\n"]
    if isinstance(ev, AgentLifecycleEventMsg) and EventID.AGENT_LIFECYCLE in wanted:
        state = {1: "connected", 2: "disconnected"}.get(int(ev.state), "unknown")
        reason = ("unknown", "domain started", "channel event")[ev.reason] \
            if 0 <= ev.reason < 3 else "unknown"
        return [(f"event 'agent-lifecycle' for domain '{name}': state: '{state}' "
                 f"reason: '{reason}'\n")]
    return []


def _timestamp() -> str:
    now = time.time()
    ms = int(now * 1000) % 1000
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now)) + f".{ms:03d}+0000"


def cmd_event(ctl: Ctl, a: BoundArgs) -> None:
    if a.flag("list"):
        for n in EVENT_NAMES:
            ctl.print(f"{n}\n")
        return
    event = a.get("event")
    if event is None and not a.flag("all"):
        raise CmdFailed("one of --list, --all, or --event <type> is required")
    if event is not None and a.flag("all"):
        raise CmdFailed("Options --all and --event are mutually exclusive")
    timeout_ms = 0
    raw = a.get("timeout")
    if raw is not None:
        if not raw.isdigit() or int(raw) <= 0 or int(raw) > _INT_MAX_MS // 1000:
            raise CmdFailed(f"Numeric value '{raw}' for <timeout> option is malformed or out "
                            "of range")
        timeout_ms = int(raw) * 1000
    if event is not None:
        if event not in EVENT_NAMES:
            raise CmdFailed(f"unknown event type {event}")
        wanted = {EVENT_NAMES.index(event)}
    else:
        wanted = set(range(len(EVENT_NAMES)))
    dom = ctl.domain(a.req("domain")) if a.get("domain") is not None else None
    loop_mode = a.flag("loop")
    stamp = a.flag("timestamp")
    result = ctl.call_async(_wait(ctl, wanted, dom.uuid if dom else None, loop_mode,
                                  timeout_ms / 1000 if timeout_ms else None, stamp))
    if result.timed_out:
        ctl.print("event loop timed out\n")
    ctl.print(f"events received: {result.count}\n")
    if result.count == 0:
        raise CmdFailed()  # no message: virsh's event just exits 1 when nothing arrived


@dataclass(frozen=True)
class WaitResult:
    count: int
    timed_out: bool


async def _wait(ctl: Ctl, wanted: set[int], uuid: bytes | None, loop_mode: bool,
                timeout: float | None, stamp: bool) -> WaitResult:
    """Print matching events until one arrives (or forever with --loop), or the timeout."""
    done = asyncio.get_running_loop().create_future()
    count = 0

    def on_event(ev: DomainEvent) -> None:
        nonlocal count
        if uuid is not None and ev.dom.uuid != uuid:
            return
        lines = format_event(ev, wanted)
        for line in lines:
            ctl.print(f"{_timestamp()}: {line}" if stamp else line)
        ctl.out.flush()
        if lines:
            count += 1
            if not loop_mode and not done.done():
                done.set_result(None)

    token = ctl.conn.events.subscribe(on_event)
    try:
        await asyncio.wait_for(asyncio.shield(done), timeout)
    except TimeoutError:
        return WaitResult(count, True)
    except (asyncio.CancelledError, KeyboardInterrupt):
        return WaitResult(count, False)
    finally:
        ctl.conn.events.unsubscribe(token)
    return WaitResult(count, False)
