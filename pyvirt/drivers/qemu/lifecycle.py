"""Lifecycle mechanics behind the driver's API: start, attach, stop, and QMP event handling.

Callers (driver.py) hold the domain's job and have refreshed the object from disk; these
methods do the work, persist the status document after every state change and publish
lifecycle events the way libvirt 9 does (checked against the real libvirtd):

* start: RESUMED/UNPAUSED (from QEMU's RESUME after ``cont``) then STARTED/BOOTED, state
  running (booted); with START_PAUSED: STARTED/BOOTED then SUSPENDED/PAUSED, paused (user).
* guest poweroff: SHUTDOWN/FINISHED-GUEST, QEMU is stopped (-no-shutdown keeps it alive
  until we see the event), then STOPPED/SHUTDOWN, shut off (shutdown).
* destroy: QEMU reports SHUTDOWN (host signal) -> SHUTDOWN/HOST, then STOPPED/DESTROYED.
* QEMU dying on its own: STOPPED/FAILED, shut off (crashed).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyvirt.drivers.base import (
    AgentLifecycleEventMsg,
    DeviceRemovedEventMsg,
    EventBus,
    LifecycleEventMsg,
    RebootEventMsg,
    TrayChangeEventMsg,
)
from pyvirt.drivers.qemu import livexml
from pyvirt.drivers.qemu.domainobj import (
    DEFAULT_EMULATOR,
    DomainDefinition,
    DomainObj,
    DomainStore,
    domain_dir,
)
from pyvirt.drivers.qemu.events import (
    Action,
    Actions,
    DomainRuntime,
    ProcessExited,
    QueueItem,
    transition,
)
from pyvirt.drivers.qemu.jobs import JobKind
from pyvirt.drivers.qemu.monitor import QMPClosed, QMPCommandError, QMPEvent, QMPMonitor
from pyvirt.drivers.qemu.paths import QemuPaths
from pyvirt.drivers.qemu.process import (
    ProcessWatch,
    kill,
    make_monitor_listener,
    spawn,
    still_ours,
)
from pyvirt.drivers.qemu.status import IdAllocator
from pyvirt.enums import (
    AgentLifecycleReason,
    AgentLifecycleState,
    DomainState,
    LifecycleEvent,
    PausedReason,
    ResumedDetail,
    RunningReason,
    ShutdownFlags,
    ShutoffReason,
    StartedDetail,
    StoppedDetail,
    SuspendedDetail,
    TrayChangeReason,
)
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

if TYPE_CHECKING:
    from pyvirt.conf.domain import DomainDef
    from pyvirt.drivers.qemu.caps import QemuCaps
    from pyvirt.drivers.qemu.livecpu import CpuidMap

log = logging.getLogger(__name__)

AGENT_CHANNEL = "org.qemu.guest_agent.0"
PIDFILE = "qemu.pid"


def _qmp_error(e: Exception) -> VirtError:
    if isinstance(e, QMPCommandError):
        return VirtError(f"internal error: unable to execute QEMU command '{e.command}': {e.desc}",
                         ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU)
    return VirtError("operation failed: domain is no longer running", ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU)


class Lifecycle:
    """Owns the running domains' runtimes (monitor + worker) for one driver instance."""

    def __init__(self, paths: QemuPaths, store: DomainStore, events: EventBus) -> None:
        self.paths = paths
        self.store = store
        self.events = events
        self._caps: dict[str, QemuCaps] = {}
        self._ids = IdAllocator(paths.run_dir / "next-id")
        self._bg: set[asyncio.Task[None]] = set()
        self.caps_cache_dir = paths.cache_dir  # tests share one across embed roots
        self._cpuid_maps: dict[str, CpuidMap | None] = {}  # per CPU model, loaded on first start
        # Block-job and migration events (BLOCK_JOB_*, JOB_STATUS_CHANGE, MIGRATION) go to
        # the driver's job code (blockjob.py, save.py), still in the domain's worker order.
        self.job_event_hook: Callable[[DomainObj, DomainRuntime, QMPEvent], Awaitable[None]] | None = None
        # Fills live-only facts into the runtime model before the first live XML is written.
        self.live_model_hook: Callable[[Any, QMPMonitor], Awaitable[None]] | None = None
        # Runs when a driver attaches to a QEMU it did not start (restart): re-adopts the
        # block jobs an earlier process started (blockjob_adopt.py).
        self.attach_hook: Callable[[DomainObj, QMPMonitor], Awaitable[None]] | None = None
        # Every QMP event, first thing in the worker: libvirt-qemu's monitor event
        # pass-through (passthrough.py); must not block.
        self.monitor_event_hook: Callable[[DomainObj, QMPEvent], None] | None = None

    # ------------------------------------------------------------------ caps / parse
    async def caps(self, binary: str | None = None) -> QemuCaps:
        from pyvirt.drivers.qemu.caps import load_caps

        path = binary or DEFAULT_EMULATOR
        c = self._caps.get(path)
        if c is None:
            c = await load_caps(path, self.caps_cache_dir)
            self._caps[path] = c
        return c

    async def parse(self, xml: str) -> DomainDefinition:
        """A client's XML -> the definition define/create keep, or libvirt's error.

        Generic parse + validation first (before probing anything), then what libvirt's
        QEMU driver checks and adds from the emulator's capabilities: the virt type, the
        emulator for the arch, the versioned machine type, implicit controllers, default
        devices, aliases and addresses.
        """
        from pyvirt.conf.domain import parse_domain
        from pyvirt.drivers.qemu.postparse import postparse

        m = parse_domain(xml, inactive=True)
        _require_os_type(xml)
        if m.devices.emulator is None:
            from pyvirt.drivers.qemu.caps_probe import emulator_for_arch

            m.devices.emulator = emulator_for_arch(str(m.os.arch or "x86_64"))
        if str(m.type) not in ("qemu", "kvm"):
            raise VirtError(
                f"unsupported configuration: Emulator '{m.devices.emulator}' does not support virt type '{m.type}'",
                ErrorCode.CONFIG_UNSUPPORTED, ErrorDomain.QEMU)
        if m.os.arch is None:
            m.os.arch = "x86_64"
        postparse(m, await self.caps(m.devices.emulator))
        # What define persists is the canonical inactive form, read back: the runtime-only
        # parts postparse assigned (aliases) are not kept in the definition.
        return DomainDefinition.parse(DomainDefinition(m).format())

    # ------------------------------------------------------------------ publishing
    def _publish(self, obj: DomainObj, event: LifecycleEvent, detail: int) -> None:
        self.events.publish(LifecycleEventMsg(obj.ref(), event, int(detail)))

    def _set(self, obj: DomainObj, state: DomainState, reason: int) -> None:
        obj.set_state(state, reason)
        if obj.active:
            self.store.save_status(obj)

    # ------------------------------------------------------------------ start
    async def start(self, obj: DomainObj, d: DomainDefinition, *, paused: bool,
                    incoming: Callable[[QMPMonitor], Awaitable[None]] | None = None) -> None:
        """Spawn and run ``d``. ``incoming`` (restore): QEMU waits for a migration stream
        (``-incoming defer``); the callback feeds it before the vCPUs run, and the domain
        starts as restored (STARTED/RESTORED, running/restored)."""
        live = d.copy()
        emulator = live.emulator
        if not Path(emulator).exists():
            raise VirtError(f"Cannot check QEMU binary {emulator}: No such file or directory",
                            ErrorCode.SYSTEM_ERROR, ErrorDomain.QEMU)
        dom_id = self._ids.next()
        ddir = domain_dir(self.paths.run_dir, dom_id, obj.name)
        ddir.mkdir(parents=True, exist_ok=True)
        listener = make_monitor_listener(ddir / "monitor.sock")
        try:
            argv, model = await self._model_argv(live, dom_id, listener.fileno(), ddir)
        except BaseException:
            listener.close()
            shutil.rmtree(ddir, ignore_errors=True)
            obj.set_state(DomainState.SHUTOFF, ShutoffReason.FAILED)
            raise
        if live.action("on_reboot") == "destroy" and "-no-reboot" not in argv and "-action" not in argv:
            argv.insert(-2, "-no-reboot")  # a guest reboot then arrives as SHUTDOWN(guest-reset)
        # QEMU removes its pidfile on every orderly exit (guest poweroff, quit, SIGTERM) but
        # not when it crashes or is SIGKILLed: how a later process tells the two apart.
        argv[-2:-2] = ["-pidfile", str(ddir / PIDFILE)]
        if incoming is not None:
            argv[-2:-2] = ["-incoming", "defer"]
        try:
            sp = await spawn(argv, listener=listener, log_path=self.paths.log_dir / f"{obj.name}.log",
                             cwd=self.paths.lib_dir)
        except BaseException:
            shutil.rmtree(ddir, ignore_errors=True)
            obj.set_state(DomainState.SHUTOFF, ShutoffReason.FAILED)
            if obj.persistent:
                self.store.save_shutoff_reason(obj)
            raise
        rt = DomainRuntime(obj.name, sp.monitor, sp.watch, self)
        obj.id, obj.pid, obj.start_time, obj.monitor_path = dom_id, sp.pid, sp.start_time, str(ddir / "monitor.sock")
        obj.runtime = rt
        obj.set_state(DomainState.PAUSED, PausedReason.STARTING_UP)
        self.store.clear_shutoff_reason(obj)
        rt.start()
        sp.watch.on_exit(rt.on_exit)
        try:
            facts = await livexml.gather(sp.monitor, model)
            if self.live_model_hook is not None:  # backing chains from query-block (blockjob.py)
                await self.live_model_hook(model, sp.monitor)
            obj.live_xml = livexml.live_xml(model, facts, ddir,
                                            self._cpuid(model.cpu.model if model.cpu is not None else None))
            self.store.save_status(obj)
            if livexml.agent_channel_present(model):
                # libvirt announces the (not yet connected) agent before the vCPUs run
                self.events.publish(AgentLifecycleEventMsg(obj.ref(), AgentLifecycleState.DISCONNECTED,
                                                           AgentLifecycleReason.DOMAIN_STARTED))
            started = StartedDetail.BOOTED
            if incoming is not None:
                await incoming(sp.monitor)
                started = StartedDetail.RESTORED
            if paused:
                self._set(obj, DomainState.PAUSED, PausedReason.USER)
                self._publish(obj, LifecycleEvent.STARTED, started)
                self._publish(obj, LifecycleEvent.SUSPENDED, SuspendedDetail.PAUSED)
            else:
                await sp.monitor.execute("cont")
                # QEMU sends RESUME before the reply; let the worker apply it first so the
                # events come out in libvirt's order (RESUMED/UNPAUSED, STARTED/BOOTED).
                await rt.queue.join()
                self._set(obj, DomainState.RUNNING,
                          RunningReason.RESTORED if incoming is not None else RunningReason.BOOTED)
                self._publish(obj, LifecycleEvent.STARTED, started)
        except BaseException as e:
            rt.being_destroyed = True
            with contextlib.suppress(VirtError):
                await kill(rt.watch, graceful=False, term_grace=2.0)
            await self._finish_stop(obj, rt, ShutoffReason.FAILED, None)
            if isinstance(e, (QMPClosed, QMPCommandError)):
                raise _qmp_error(e) from e
            raise

    async def _model_argv(self, live: DomainDefinition, dom_id: int, monitor_fd: int,
                          ddir: Path) -> tuple[list[str], DomainDef]:
        """argv from the project's builder and the runtime model it was built from (fresh
        aliases and addresses from QEMU's post-parse; the live XML is formatted from it)."""
        from pyvirt.drivers.qemu.command import CommandRuntime, build
        from pyvirt.drivers.qemu.postparse import postparse

        caps = await self.caps(live.emulator)
        m = postparse(live.model, caps)
        m.id = dom_id
        livexml.assign_vnc_ports(m)
        rt = CommandRuntime(domain_id=dom_id, domain_dir=str(ddir), channel_dir=str(ddir),
                            monitor_fd=monitor_fd, master_key=False)
        return build(m, caps, rt), m

    def _cpuid(self, model: str | None) -> CpuidMap | None:
        """The CPU map for the live <cpu> update of ``model``, read once per driver and
        model (None: no map installed)."""
        from pyvirt.drivers.qemu.livecpu import CpuidMap

        if model is None:
            return None
        if model not in self._cpuid_maps:
            self._cpuid_maps[model] = CpuidMap.load(model=model)
        return self._cpuid_maps[model]

    # ------------------------------------------------------------------ attach / reap
    def _unattended_exit(self, obj: DomainObj) -> tuple[ShutoffReason, StoppedDetail]:
        """Why a QEMU nobody listened to is gone: an orderly exit removed its pidfile."""
        if (domain_dir(self.paths.run_dir, obj.id, obj.name) / PIDFILE).exists():
            return ShutoffReason.CRASHED, StoppedDetail.FAILED
        return ShutoffReason.SHUTDOWN, StoppedDetail.SHUTDOWN

    async def reap_dead(self) -> None:
        """Clean up domains whose QEMU exited while nobody was attached.

        A guest that powered off while unattended made QEMU exit (see :meth:`detach_all`),
        which shows up here as shut off (shutdown); a killed or crashed QEMU as crashed.
        """
        for obj in list(self.store.by_name.values()):
            if obj.active and not still_ours(obj.pid, obj.start_time):
                async with obj.job.hold(_job_kind()):
                    self.store.refresh(obj)
                    if obj.active and obj.runtime is None and not still_ours(obj.pid, obj.start_time):
                        await self._finish_stop(obj, None, *self._unattended_exit(obj))

    async def attach(self, obj: DomainObj) -> DomainRuntime | None:
        """Connect to a running domain's monitor and reconcile its state (caller holds the job).

        Returns None (after recording shut off) if the QEMU is gone.
        """
        if obj.runtime is not None:
            rt: DomainRuntime = obj.runtime
            return rt
        if not still_ours(obj.pid, obj.start_time):
            await self._finish_stop(obj, None, *self._unattended_exit(obj))
            return None
        try:
            mon = await QMPMonitor.connect_path(obj.monitor_path, timeout=10.0)
        except (OSError, QMPClosed, TimeoutError) as e:
            raise VirtError(
                f"operation failed: cannot connect to the monitor of domain '{obj.name}': {e or 'busy'}",
                ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU,
            ) from e
        watch = ProcessWatch(obj.pid)
        watch.start()
        rt = DomainRuntime(obj.name, mon, watch, self)
        obj.runtime = rt
        rt.start()
        watch.on_exit(rt.on_exit)
        try:
            # While we listen, a guest poweroff pauses QEMU (-no-shutdown) until we act on it.
            with contextlib.suppress(QMPCommandError):
                await mon.execute("set-action", {"shutdown": "pause"})
            status = (await mon.execute("query-status")).get("status", "")
            if obj.live_xml and "<channel" in obj.live_xml:
                refreshed = livexml.with_channel_states(obj.live_xml, await mon.execute("query-chardev"))
                if refreshed is not None:
                    obj.live_xml = refreshed
                    self.store.save_status(obj)
        except (QMPClosed, QMPCommandError):
            return rt  # the exit is queued; the worker records it
        if status == "shutdown":
            # The guest powered off while nobody listened: finish what -no-shutdown paused.
            rt.got_shutdown = True
            rt.being_destroyed = True
            await kill(watch, graceful=False)
            await rt.drain()
            await self._finish_stop(obj, rt, ShutoffReason.SHUTDOWN, StoppedDetail.SHUTDOWN)
            return None
        if status == "running" and obj.state is not DomainState.RUNNING:
            self._set(obj, DomainState.RUNNING, RunningReason.UNPAUSED)
        elif status in ("paused", "prelaunch", "io-error", "watchdog") and obj.state is DomainState.RUNNING:
            self._set(obj, DomainState.PAUSED, PausedReason.UNKNOWN)
        elif status == "guest-panicked" and obj.state is not DomainState.CRASHED:
            self._set(obj, DomainState.CRASHED, 1)
        if self.attach_hook is not None:
            with contextlib.suppress(QMPClosed, QMPCommandError):
                await self.attach_hook(obj, mon)
        return rt

    async def runtime(self, obj: DomainObj) -> DomainRuntime:
        rt = await self.attach(obj)
        if rt is None or rt.monitor is None:
            raise VirtError("Requested operation is not valid: domain is not running",
                            ErrorCode.OPERATION_INVALID, ErrorDomain.DOMAIN)
        return rt

    async def detach_all(self, reboot_wait: float = 5.0) -> None:
        """Release every monitor; QEMUs keep running.

        Nobody will be listening for a guest poweroff afterwards, so each QEMU is told to
        exit on its own then (``set-action shutdown=poweroff``); the next driver to open
        these dirs sees the orderly exit and records shut off (shutdown). An ACPI reboot in
        flight needs us (the reset is ours to do), so it is waited for first, bounded.
        """
        pending = [o.runtime for o in self.store.by_name.values() if o.runtime is not None and o.runtime.fake_reboot]
        for rt in pending:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(rt.reboot_done.wait(), reboot_wait)
        for t in list(self._bg):
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(t, 15)
        for obj in self.store.by_name.values():
            rt = obj.runtime
            if rt is None:
                continue
            if rt.monitor is not None and rt.monitor.connected and not rt.being_destroyed:
                with contextlib.suppress(QMPClosed, QMPCommandError, TimeoutError):
                    await rt.monitor.execute("set-action", {"shutdown": "poweroff"}, timeout=5)
            obj.runtime = None
            await rt.detach()

    # ------------------------------------------------------------------ stop
    async def _finish_stop(self, obj: DomainObj, rt: DomainRuntime | None,
                           reason: ShutoffReason, detail: StoppedDetail | None) -> None:
        """Record shut off exactly once per run: files, object, event."""
        if rt is not None:
            if obj.runtime is not rt:
                return
            obj.runtime = None
            await rt.detach()
            rt.stopped.set()
        if not obj.active:
            return
        old_id = obj.id
        self.store.remove_status(obj)
        shutil.rmtree(domain_dir(self.paths.run_dir, old_id, obj.name), ignore_errors=True)
        obj.mark_inactive(reason)
        if not obj.persistent:
            self.store.by_name.pop(obj.name, None)
            # a transient domain's snapshot metadata goes with it, as libvirt discards it
            # when the domain object is removed (a new domain of that name starts clean)
            shutil.rmtree(self.paths.snapshot_dir(obj.name), ignore_errors=True)
        else:
            self.store.save_shutoff_reason(obj)
        if detail is not None:
            self._publish(obj, LifecycleEvent.STOPPED, detail)

    async def destroy(self, obj: DomainObj, *, graceful: bool) -> None:
        rt = obj.runtime
        if rt is None:
            try:
                rt = await self.attach(obj)
            except VirtError:
                rt = None  # monitor busy elsewhere: a signal needs no monitor
            if rt is None and not obj.active:
                return
        if rt is None:
            watch = ProcessWatch(obj.pid)
            watch.start()
            await kill(watch, graceful=graceful)
            await self._finish_stop(obj, None, ShutoffReason.DESTROYED, StoppedDetail.DESTROYED)
            return
        rt.being_destroyed = True
        try:
            await kill(rt.watch, graceful=graceful)
        except VirtError:
            rt.being_destroyed = False
            raise
        await rt.drain()
        await self._finish_stop(obj, rt, ShutoffReason.DESTROYED, StoppedDetail.DESTROYED)

    # ------------------------------------------------------------------ guest actions
    async def shutdown(self, obj: DomainObj, flags: int, *, reboot: bool) -> None:
        rt = await self.runtime(obj)
        assert rt.monitor is not None
        live = ET.fromstring(obj.live_xml or "<domain/>")
        agent_path, agent_idx = _agent_channel(live)
        if flags & ShutdownFlags.GUEST_AGENT and agent_path is None:
            raise VirtError("argument unsupported: QEMU guest agent is not configured",
                            ErrorCode.ARGUMENT_UNSUPPORTED, ErrorDomain.QEMU)
        use_agent = bool(flags & ShutdownFlags.GUEST_AGENT)
        if not use_agent and not flags & ShutdownFlags.ACPI_POWER_BTN and agent_path is not None:
            use_agent = await _agent_connected(rt.monitor, agent_idx)
        if use_agent and agent_path is not None:
            try:
                await agent_shutdown(agent_path, "reboot" if reboot else "powerdown")
                return
            except VirtError:
                if flags & ShutdownFlags.GUEST_AGENT:
                    raise  # explicit agent mode has no fallback; the default mode falls back to ACPI
        if reboot:
            rt.fake_reboot = True
            rt.reboot_done.clear()
        try:
            await rt.monitor.execute("system_powerdown")
        except (QMPClosed, QMPCommandError) as e:
            rt.fake_reboot = False
            raise _qmp_error(e) from e

    async def reset(self, obj: DomainObj) -> None:
        rt = await self.runtime(obj)
        assert rt.monitor is not None
        try:
            await rt.monitor.execute("system_reset")
        except (QMPClosed, QMPCommandError) as e:
            raise _qmp_error(e) from e
        if obj.state is DomainState.CRASHED:
            self._set(obj, DomainState.PAUSED, PausedReason.CRASHED)

    async def suspend(self, obj: DomainObj) -> None:
        if obj.state is DomainState.PMSUSPENDED:
            raise VirtError("Requested operation is not valid: domain is pmsuspended",
                            ErrorCode.OPERATION_INVALID, ErrorDomain.QEMU)
        rt = await self.runtime(obj)
        assert rt.monitor is not None
        if obj.state is DomainState.PAUSED:
            return
        rt.pause_reason = int(PausedReason.USER)
        try:
            await rt.monitor.execute("stop")
        except (QMPClosed, QMPCommandError) as e:
            raise _qmp_error(e) from e
        finally:
            rt.pause_reason = int(PausedReason.UNKNOWN)
        if obj.state is DomainState.RUNNING:  # the worker may not have seen STOP yet
            self._set(obj, DomainState.PAUSED, PausedReason.USER)
            self._publish(obj, LifecycleEvent.SUSPENDED, SuspendedDetail.PAUSED)

    async def resume(self, obj: DomainObj) -> None:
        if obj.state is DomainState.PMSUSPENDED:
            raise VirtError("Requested operation is not valid: domain is pmsuspended",
                            ErrorCode.OPERATION_INVALID, ErrorDomain.QEMU)
        rt = await self.runtime(obj)
        assert rt.monitor is not None
        if obj.state is DomainState.RUNNING:
            raise VirtError("Requested operation is not valid: domain is already running",
                            ErrorCode.OPERATION_INVALID, ErrorDomain.QEMU)
        try:
            await rt.monitor.execute("cont")
        except (QMPClosed, QMPCommandError) as e:
            raise _qmp_error(e) from e
        if obj.state is not DomainState.RUNNING:  # type: ignore[comparison-overlap]  # the worker may have applied RESUME
            self._set(obj, DomainState.RUNNING, RunningReason.UNPAUSED)
            self._publish(obj, LifecycleEvent.RESUMED, ResumedDetail.UNPAUSED)

    # ------------------------------------------------------------------ event worker (EventSink)
    async def apply(self, rt: DomainRuntime, item: QueueItem) -> None:
        obj = self.store.by_name.get(rt.name)
        if obj is None or obj.runtime is not rt:
            return
        if isinstance(item, ProcessExited):
            if rt.being_destroyed:
                return  # destroy() records the stop itself
            # Let the monitor's last events (SHUTDOWN...) arrive and apply them first.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(rt.monitor_closed.wait(), 2.0)
            if not rt.queue.empty():
                rt.enqueue(item)
                return
            if rt.got_shutdown:
                await self._finish_stop(obj, rt, ShutoffReason.SHUTDOWN, StoppedDetail.SHUTDOWN)
            elif obj.state is DomainState.CRASHED:
                await self._finish_stop(obj, rt, ShutoffReason.CRASHED, StoppedDetail.CRASHED)
            else:
                await self._finish_stop(obj, rt, ShutoffReason.CRASHED, StoppedDetail.FAILED)
            return
        if self.monitor_event_hook is not None:
            self.monitor_event_hook(obj, item)
        if item.name.startswith("BLOCK_JOB_") or item.name in ("JOB_STATUS_CHANGE", "MIGRATION"):
            if self.job_event_hook is not None:
                await self.job_event_hook(obj, rt, item)
            return
        if item.name == "VSERPORT_CHANGE":
            self._vserport_change(obj, str(item.data.get("id", "")), bool(item.data.get("open")))
            return
        if item.name == "BALLOON_CHANGE":  # the guest's balloon driver moved: live currentMemory
            updated = livexml.with_balloon(obj.live_xml, int(item.data.get("actual", 0))) if obj.live_xml else None
            if updated is not None:
                obj.live_xml = updated
                self.store.save_status(obj)
            return
        acts = Actions()
        if item.name in ("SHUTDOWN", "GUEST_PANICKED"):  # only these depend on the actions
            d = obj.definition if not obj.live_xml else DomainDefinition.parse(obj.live_xml)
            acts = Actions(d.action("on_poweroff"), d.action("on_reboot"), d.action("on_crash"))
        t = transition(obj.state, item, fake_reboot=rt.fake_reboot, pause_reason=rt.pause_reason, actions=acts,
                       after_shutdown=rt.paused_by_shutdown, destroying=rt.being_destroyed)
        if item.name == "SHUTDOWN":
            rt.paused_by_shutdown = True
            if t.state is DomainState.SHUTDOWN:
                rt.got_shutdown = True
        if t.state is not None:
            self._set(obj, t.state, t.reason)
        if t.pre_event is not None:
            self._publish(obj, *t.pre_event)
        if t.event is not None:
            self._publish(obj, t.event, t.detail)
        if t.action is Action.KILL and not rt.being_destroyed:
            self._background(self._kill_after_event(rt))
        elif t.action is Action.FAKE_REBOOT:
            rt.fake_reboot = False
            self._background(self._fake_reboot(obj, rt))
        elif t.action is Action.REBOOT_EVENT:
            self.events.publish(RebootEventMsg(obj.ref()))
        elif t.action is Action.TRAY:
            alias = str(item.data.get("id") or item.data.get("device") or "")
            reason = TrayChangeReason.OPEN if item.data.get("tray-open") else TrayChangeReason.CLOSE
            self.events.publish(TrayChangeEventMsg(obj.ref(), alias, reason))
        elif t.action is Action.DEVICE_DELETED and item.data.get("device"):
            self.events.publish(DeviceRemovedEventMsg(obj.ref(), str(item.data["device"])))

    def _vserport_change(self, obj: DomainObj, alias: str, opened: bool) -> None:
        """The guest opened/closed a virtio port: live XML state, and for the guest agent's
        port libvirt's AGENT_LIFECYCLE event (reason: channel)."""
        changed = livexml.with_channel_state(obj.live_xml or "", alias, opened) if obj.live_xml else None
        if changed is None:
            return
        obj.live_xml, target = changed
        self.store.save_status(obj)
        if target == livexml.AGENT_CHANNEL:
            state = AgentLifecycleState.CONNECTED if opened else AgentLifecycleState.DISCONNECTED
            self.events.publish(AgentLifecycleEventMsg(obj.ref(), state, AgentLifecycleReason.CHANNEL))

    def _background(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._bg.add(task)
        task.add_done_callback(self._bg.discard)

    async def _kill_after_event(self, rt: DomainRuntime) -> None:
        # Not in the worker itself: the worker must stay free to receive the exit.
        with contextlib.suppress(VirtError):
            await kill(rt.watch, graceful=False)

    async def _fake_reboot(self, obj: DomainObj, rt: DomainRuntime) -> None:
        if rt.monitor is None:
            return
        try:
            await rt.monitor.execute("system_reset")
            status = (await rt.monitor.execute("query-status")).get("status")
            # After a guest poweroff QEMU sits in "shutdown"; the reset leaves it stopped
            # ("prelaunch"/"paused"). Run it again unless the user had paused the domain.
            if status != "running" and obj.state is not DomainState.PAUSED:
                await rt.monitor.execute("cont")
        except (QMPClosed, QMPCommandError):
            return
        finally:
            rt.paused_by_shutdown = False
            rt.reboot_done.set()
        if obj.state is DomainState.CRASHED:
            self._set(obj, DomainState.RUNNING, RunningReason.CRASHED)
        # No REBOOT event of our own: QEMU's RESET events already produce them (libvirt
        # reports one per RESET as well).


def _job_kind() -> JobKind:
    return JobKind.MODIFY


def _agent_channel(root: ET.Element) -> tuple[str | None, int]:
    for i, ch in enumerate(root.findall("devices/channel")):
        tgt = ch.find("target")
        src = ch.find("source")
        if tgt is not None and tgt.get("name") == AGENT_CHANNEL and src is not None and src.get("path"):
            return src.get("path"), i
    return None, -1


async def _agent_connected(mon: QMPMonitor, idx: int) -> bool:
    """The guest has the agent's port open (what libvirt learns from VSERPORT_CHANGE)."""
    try:
        for c in await mon.execute("query-chardev"):
            if c.get("label") == f"charchannel{idx}":
                return bool(c.get("frontend-open"))
    except (QMPClosed, QMPCommandError):
        pass
    return False


async def agent_shutdown(path: str, mode: str, timeout: float = 5.0) -> None:
    """Ask qemu-ga to power down / reboot. guest-shutdown sends no reply on success."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(path), timeout)
    except (OSError, TimeoutError) as e:
        raise VirtError("Guest agent is not responding: QEMU guest agent is not connected",
                        ErrorCode.AGENT_UNRESPONSIVE, ErrorDomain.QEMU) from e
    try:
        # guest-sync first: it flushes a half-read request a previous client may have left.
        sync_id = 0x5079_7669
        writer.write(b"\xff" + json.dumps({"execute": "guest-sync", "arguments": {"id": sync_id}}).encode() + b"\n")
        await writer.drain()
        while True:
            line = await asyncio.wait_for(reader.readline(), timeout)
            if not line:
                raise OSError("agent closed")
            with contextlib.suppress(ValueError):
                if json.loads(line.lstrip(b"\xff")).get("return") == sync_id:
                    break
        writer.write(json.dumps({"execute": "guest-shutdown", "arguments": {"mode": mode}}).encode() + b"\n")
        await writer.drain()
    except (OSError, TimeoutError) as e:
        raise VirtError("Guest agent is not responding: QEMU guest agent is not connected",
                        ErrorCode.AGENT_UNRESPONSIVE, ErrorDomain.QEMU) from e
    finally:
        writer.close()


def _require_os_type(xml: str) -> None:
    """libvirt requires <os><type>; the generic model defaults it when <os> is absent."""
    from lxml import etree

    with contextlib.suppress(etree.XMLSyntaxError):
        root = etree.fromstring(xml.encode())
        if root.find("os/type") is None:
            raise VirtError("XML error: an os <type> must be specified", ErrorCode.XML_ERROR, ErrorDomain.DOMAIN)
