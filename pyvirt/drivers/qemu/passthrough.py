"""libvirt-qemu's pass-through for the QEMU driver: arbitrary monitor commands (QMP, or
HMP through QMP's human-monitor-command), arbitrary guest-agent commands, and every QMP
event of a domain's monitor delivered to registered callbacks.

As in libvirt, what a user sends here is at the user's risk: a command that changes the
block graph, the run state or devices behind our back is not reflected in the driver's
state (the live XML, block jobs) until QEMU reports it through an event we already
handle. The domain is marked tainted ("custom monitor control commands issued" /
"custom guest agent control commands issued"), shown by virDomainGetMessages; the mark is
a small file in the domain's run directory, so it holds for other processes and across a
daemon restart and goes with the run directory when the domain stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyvirt.drivers.base import DomainRef, QemuMonitorEventCallback, QemuMonitorEventMsg
from pyvirt.drivers.qemu.jobs import JobKind
from pyvirt.drivers.qemu.monitor import QMPClosed, QMPCommandError, QMPEvent
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

if TYPE_CHECKING:
    from pyvirt.drivers.qemu.domainobj import DomainObj, DomainStore
    from pyvirt.drivers.qemu.lifecycle import Lifecycle

MONITOR_HMP = 1  # VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP
EVENT_REGEX = 1  # VIR_CONNECT_DOMAIN_QEMU_MONITOR_EVENT_REGISTER_REGEX
EVENT_NOCASE = 2  # ..._NOCASE
AGENT_BLOCK, AGENT_DEFAULT, AGENT_NOWAIT = -2, -1, 0  # VIR_DOMAIN_QEMU_AGENT_COMMAND_*
AGENT_DEFAULT_TIMEOUT = 5.0  # libvirt's QEMU_AGENT_WAIT_TIME
TAINT_FILE = "taint"
TAINT_MONITOR = "tainted: custom monitor control commands issued"
TAINT_AGENT = "tainted: custom guest agent control commands issued"
_SYNC_ID = 0x5079_7671


def _err(msg: str, code: ErrorCode, domain: ErrorDomain = ErrorDomain.QEMU) -> VirtError:
    return VirtError(msg, code, domain)


def compact(value: Any) -> str:
    """JSON as libvirt writes it back (no spaces, UTF-8 kept)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def parse_command(cmd: str) -> dict[str, Any]:
    """The QMP/agent command object, with libvirt's errors for what it refuses."""
    try:
        obj = json.loads(cmd)
    except ValueError as e:
        raise _err(f"internal error: cannot parse json {cmd}: {e}", ErrorCode.INTERNAL_ERROR,
                   ErrorDomain.NONE) from None
    # libvirt appends its own "id" to the object: a non-object, or one with an id, fails
    if not isinstance(obj, dict) or "id" in obj:
        raise _err("internal error: Unable to append command 'id' string", ErrorCode.INTERNAL_ERROR,
                   ErrorDomain.NONE)
    return obj


def event_matcher(event: str | None, flags: int) -> Callable[[str], bool]:
    """libvirt's filter: exact name (NOCASE: ignoring case) or, with REGEX, a regex search."""
    if event is None:
        return lambda _name: True
    if flags & EVENT_REGEX:
        try:
            rx = re.compile(event, re.IGNORECASE if flags & EVENT_NOCASE else 0)
        except re.error as e:
            raise _err(f"invalid argument: failed to compile regex '{event}': {e}", ErrorCode.INVALID_ARG,
                       ErrorDomain.NONE) from None
        return lambda name: rx.search(name) is not None
    if flags & EVENT_NOCASE:
        low = event.lower()
        return lambda name: name.lower() == low
    return lambda name: name == event


def event_message(dom: DomainRef, ev: QMPEvent) -> QemuMonitorEventMsg:
    secs = int(ev.timestamp)
    micros = min(999_999, max(0, round((ev.timestamp - secs) * 1e6)))
    return QemuMonitorEventMsg(dom, ev.name, secs, micros, compact(ev.data) if ev.data else None)


@dataclass(frozen=True, slots=True)
class _Reg:
    uuid: bytes | None
    match: Callable[[str], bool]
    cb: QemuMonitorEventCallback


def read_taints(ddir: Path) -> list[str]:
    try:
        return [line for line in (ddir / TAINT_FILE).read_text().splitlines() if line]
    except OSError:
        return []


def _taint(ddir: Path, what: str) -> None:
    if what not in read_taints(ddir):
        with contextlib.suppress(OSError), open(ddir / TAINT_FILE, "a") as f:
            f.write(what + "\n")


class PassthroughAPI:
    """Mixed into QemuDriver (before Driver): the libvirt-qemu entry points."""

    lc: Lifecycle
    store: DomainStore
    _qemu_event_regs: dict[int, _Reg]
    _qemu_event_ids: itertools.count[int]

    if TYPE_CHECKING:
        def _obj(self, dom: DomainRef) -> DomainObj: ...

    def init_passthrough(self) -> None:
        self._qemu_event_regs = {}
        self._qemu_event_ids = itertools.count(0)  # libvirt numbers from 0
        self.lc.monitor_event_hook = self._on_monitor_event

    def domain_taints(self, obj: DomainObj) -> list[str]:
        """The pass-through taint lines of a running domain (virDomainGetMessages)."""
        return read_taints(self._ddir(obj)) if obj.active else []

    def _ddir(self, obj: DomainObj) -> Path:
        from pyvirt.drivers.qemu.domainobj import domain_dir

        return domain_dir(self.lc.paths.run_dir, obj.id, obj.name)

    # ------------------------------------------------------------------ monitor command
    async def qemu_monitor_command(self, dom: DomainRef, cmd: str, flags: int = 0) -> str:
        if flags & ~MONITOR_HMP:
            raise _err(f"unsupported flags (0x{flags:x}) in function qemuDomainQemuMonitorCommandWithFiles",
                       ErrorCode.INVALID_ARG)
        obj = self._obj(dom)
        async with obj.job.hold(JobKind.QUERY):
            self.store.refresh(obj)
            if not obj.active:
                raise _err("Requested operation is not valid: domain is not running",
                           ErrorCode.OPERATION_INVALID, ErrorDomain.DOMAIN)
            _taint(self._ddir(obj), TAINT_MONITOR)
            rt = await self.lc.runtime(obj)
            assert rt.monitor is not None
            try:
                if flags & MONITOR_HMP:
                    out = await rt.monitor.execute("human-monitor-command", {"command-line": cmd})
                    return str(out or "")
                return compact(await rt.monitor.execute_raw(parse_command(cmd)))
            except QMPCommandError as e:
                raise _err(f"internal error: unable to execute QEMU command '{e.command}': {e.desc}",
                           ErrorCode.INTERNAL_ERROR) from e
            except QMPClosed as e:
                raise _err("operation failed: domain is no longer running", ErrorCode.OPERATION_FAILED) from e

    async def qemu_attach(self, pid: int, flags: int = 0) -> DomainRef:
        # libvirt 9.0's QEMU driver no longer attaches to foreign QEMUs either.
        raise _err("this function is not supported by the connection driver: virDomainQemuAttach",
                   ErrorCode.NO_SUPPORT, ErrorDomain.NONE)

    # ------------------------------------------------------------------ guest agent
    async def qemu_agent_command(self, dom: DomainRef, cmd: str, timeout: int, flags: int = 0) -> str | None:
        if flags:
            raise _err(f"unsupported flags (0x{flags:x}) in function qemuDomainQemuAgentCommand",
                       ErrorCode.INVALID_ARG)
        if timeout < AGENT_BLOCK:
            raise _err(f"invalid argument: timeout must be >= {AGENT_BLOCK}", ErrorCode.INVALID_ARG, ErrorDomain.NONE)
        obj = self._obj(dom)
        async with obj.job.hold(JobKind.MODIFY):
            self.store.refresh(obj)
            if not obj.active:
                raise _err("Requested operation is not valid: domain is not running",
                           ErrorCode.OPERATION_INVALID, ErrorDomain.DOMAIN)
            path = _agent_path(obj.live_xml or "")
            if path is None:
                raise _err("argument unsupported: QEMU guest agent is not configured",
                           ErrorCode.ARGUMENT_UNSUPPORTED)
            _taint(self._ddir(obj), TAINT_AGENT)
            command = parse_command(cmd)
            wait = None if timeout == AGENT_BLOCK else (AGENT_DEFAULT_TIMEOUT if timeout == AGENT_DEFAULT
                                                        else float(timeout))
            return await agent_call(path, command, wait)

    # ------------------------------------------------------------------ events
    async def qemu_monitor_event_register(self, dom: DomainRef | None, event: str | None, flags: int,
                                          cb: QemuMonitorEventCallback) -> int:
        if flags & ~(EVENT_REGEX | EVENT_NOCASE):
            raise _err(f"unsupported flags (0x{flags:x}) in function qemuConnectDomainQemuMonitorEventRegister",
                       ErrorCode.INVALID_ARG)
        match = event_matcher(event, flags)
        if dom is None:
            self.store.load()  # domains another process started since
        objs = [self._obj(dom)] if dom is not None else list(self.store.by_name.values())
        # Events flow only while this driver holds the monitor: attach to what runs now
        # (the daemon does at start; a one-off process on first use).
        for obj in objs:
            self.store.refresh(obj)
            if obj.active and (obj.runtime is None or obj.runtime.monitor is None):
                with contextlib.suppress(VirtError):
                    async with obj.job.hold(JobKind.QUERY):
                        self.store.refresh(obj)
                        if obj.active:
                            await self.lc.attach(obj)
        cid = next(self._qemu_event_ids)
        self._qemu_event_regs[cid] = _Reg(dom.uuid if dom is not None else None, match, cb)
        return cid

    async def qemu_monitor_event_deregister(self, callback_id: int) -> None:
        if self._qemu_event_regs.pop(callback_id, None) is None:
            raise _err(f"invalid argument: event callback id {callback_id} not registered",
                       ErrorCode.INVALID_ARG, ErrorDomain.NONE)

    def _on_monitor_event(self, obj: DomainObj, ev: QMPEvent) -> None:
        if not self._qemu_event_regs:
            return
        msg: QemuMonitorEventMsg | None = None
        for reg in list(self._qemu_event_regs.values()):
            if (reg.uuid is None or reg.uuid == obj.uuid) and reg.match(ev.name):
                msg = msg or event_message(obj.ref(), ev)
                reg.cb(msg)


def _agent_path(live_xml: str) -> str | None:
    import xml.etree.ElementTree as ET

    from pyvirt.drivers.qemu.lifecycle import _agent_channel

    if not live_xml:
        return None
    path, _idx = _agent_channel(ET.fromstring(live_xml))
    return path


def _not_responding(why: str) -> VirtError:
    return _err(f"Guest agent is not responding: {why}", ErrorCode.AGENT_UNRESPONSIVE)


async def agent_call(path: str, command: dict[str, Any], timeout: float | None) -> str | None:
    """One command on qemu-ga's channel (guest-sync first, so a half-read request another
    client left does not eat our reply). timeout None: wait for ever; 0: do not wait."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(path, limit=1 << 24), 5.0)
    except (OSError, TimeoutError) as e:
        raise _not_responding("QEMU guest agent is not connected") from e
    try:
        writer.write(b"\xff" + json.dumps({"execute": "guest-sync", "arguments": {"id": _SYNC_ID}}).encode() + b"\n")
        await writer.drain()
        await asyncio.wait_for(_read_until_sync(reader), AGENT_DEFAULT_TIMEOUT)
        writer.write(json.dumps(command).encode() + b"\n")
        await writer.drain()
        if timeout == 0:
            return None
        try:
            line = await asyncio.wait_for(reader.readline(), timeout)
        except TimeoutError:
            raise _not_responding("Guest agent not available for now") from None
        if not line:
            raise _not_responding("QEMU guest agent is not connected")
        reply = json.loads(line)
        if isinstance(reply, dict) and "error" in reply:
            err = reply["error"] or {}
            raise _err(f"internal error: unable to execute QEMU agent command '{command.get('execute', '')}': "
                       f"{err.get('desc', '')}", ErrorCode.INTERNAL_ERROR)
        return compact(reply)
    except (OSError, TimeoutError, ValueError) as e:
        raise _not_responding("QEMU guest agent is not connected") from e
    finally:
        writer.close()


async def _read_until_sync(reader: asyncio.StreamReader) -> None:
    while True:
        line = await reader.readline()
        if not line:
            raise OSError("agent closed")
        with contextlib.suppress(ValueError, AttributeError):
            if json.loads(line.lstrip(b"\xff")).get("return") == _SYNC_ID:
                return
