"""save / restore / managedsave: guest memory to a file through QEMU's migration stream.

QEMU 7.2 has no ``file:`` migration URI, so the open file goes to QEMU as a named fd
(``getfd`` over the monitor socket) and the stream is ``fd:NAME`` - outgoing with
``migrate``, incoming with ``-incoming defer`` + ``migrate-incoming``. Completion is
QEMU's MIGRATION event (the ``events`` capability), never a poll.

File layout (our own; libvirt's header need not match): a magic line, one JSON line
(format version, domain XML, whether the guest was running), then QEMU's stream, which
starts right after that line (QEMU reads and writes the fd from its current offset).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyvirt.enums import DomainState, PausedReason, ShutoffReason, StoppedDetail
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

if TYPE_CHECKING:
    from pyvirt.drivers.qemu.domainobj import DomainDefinition, DomainObj
    from pyvirt.drivers.qemu.events import DomainRuntime
    from pyvirt.drivers.qemu.lifecycle import Lifecycle
    from pyvirt.drivers.qemu.monitor import QMPEvent, QMPMonitor

MAGIC = b"PyvirtQemuSave-1\n"
SAVE_BYPASS_CACHE = 1
SAVE_RUNNING = 2
SAVE_PAUSED = 4
FD_NAME = "pyvirt-migrate"


def _err(code: ErrorCode, msg: str) -> VirtError:
    return VirtError(msg, code, ErrorDomain.QEMU)


@dataclass(frozen=True, slots=True)
class SaveHeader:
    xml: str
    running: bool

    def encode(self) -> bytes:
        return MAGIC + json.dumps({"version": 1, "xml": self.xml, "running": self.running}).encode() + b"\n"


def read_header(path: str) -> tuple[SaveHeader, int]:
    """(header, offset of QEMU's stream). INVALID_ARG-like errors as libvirt's for a bad image."""
    try:
        with open(path, "rb") as f:
            magic = f.read(len(MAGIC))
            line = f.readline(1 << 24)
            off = f.tell()
    except OSError as e:
        raise VirtError(f"Failed to open file '{path}': {e.strerror}", ErrorCode.SYSTEM_ERROR, ErrorDomain.QEMU) from e
    if magic != MAGIC:
        raise _err(ErrorCode.OPERATION_FAILED, "operation failed: image magic is incorrect")
    try:
        data = json.loads(line)
        return SaveHeader(str(data["xml"]), bool(data["running"])), off
    except (ValueError, KeyError) as e:
        raise _err(ErrorCode.OPERATION_FAILED, "operation failed: failed to read the save image header") from e


@dataclass
class Migrations:
    """MIGRATION event waiters per domain (one migration at a time per domain)."""

    _waiters: dict[str, asyncio.Future[str]] = field(default_factory=dict)

    def expect(self, name: str) -> asyncio.Future[str]:
        fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._waiters[name] = fut
        return fut

    def drop(self, name: str) -> None:
        self._waiters.pop(name, None)

    async def on_event(self, obj: DomainObj, rt: DomainRuntime, ev: QMPEvent) -> None:
        if ev.name != "MIGRATION":
            return
        status = str(ev.data.get("status", ""))
        fut = self._waiters.get(obj.name)
        if fut is not None and not fut.done() and status in ("completed", "failed", "cancelled"):
            fut.set_result(status)


async def _run_migration(mon: QMPMonitor, migrations: Migrations, name: str, fd: int, *, incoming: bool) -> None:
    from pyvirt.drivers.qemu.monitor import QMPClosed, QMPCommandError

    fut = migrations.expect(name)
    try:
        await mon.execute("migrate-set-capabilities", {"capabilities": [{"capability": "events", "state": True}]})
        await mon.execute_with_fd("getfd", {"fdname": FD_NAME}, fd)
        if incoming:
            await mon.execute("migrate-incoming", {"uri": f"fd:{FD_NAME}"})
        else:
            await mon.execute("migrate", {"uri": f"fd:{FD_NAME}"})
        status = await asyncio.wait_for(fut, None)
    except QMPCommandError as e:
        raise _err(ErrorCode.OPERATION_FAILED, f"operation failed: {e.desc}") from e
    except QMPClosed as e:
        raise _err(ErrorCode.OPERATION_FAILED, "operation failed: domain is no longer running") from e
    finally:
        migrations.drop(name)
    if status != "completed":
        detail = ""
        with contextlib.suppress(QMPClosed, QMPCommandError):
            info: Any = await mon.execute("query-migrate")
            detail = f": {info.get('error-desc', '')}" if isinstance(info, dict) else ""
        raise _err(ErrorCode.OPERATION_FAILED, f"operation failed: migration job: unexpectedly {status}{detail}")


async def save(lc: Lifecycle, migrations: Migrations, obj: DomainObj, path: str, xml: str, flags: int) -> None:
    """Save a running/paused domain's memory to ``path`` and stop it (shut off, saved).

    Caller holds the domain's job and checked it is active. On failure the file is
    removed and the guest keeps running as before.
    """
    from pyvirt.drivers.qemu.monitor import QMPClosed, QMPCommandError
    from pyvirt.drivers.qemu.process import kill

    rt = await lc.runtime(obj)
    assert rt.monitor is not None
    was_running = obj.state is DomainState.RUNNING
    running_after = bool(flags & SAVE_RUNNING) or (was_running and not flags & SAVE_PAUSED)
    old_state, old_reason = obj.state, obj.reason
    if was_running:
        # Set before STOP arrives, so the worker sees no user-visible pause (libvirt: paused/save).
        obj.set_state(DomainState.PAUSED, PausedReason.SAVE)
        try:
            await rt.monitor.execute("stop")
        except (QMPClosed, QMPCommandError) as e:
            obj.set_state(old_state, old_reason)
            raise _err(ErrorCode.OPERATION_FAILED, "operation failed: domain is no longer running") from e
    target = Path(path)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    except OSError as e:
        await _resume(rt, obj, was_running, old_state, old_reason)
        raise VirtError(f"Failed to create file '{path}': {e.strerror}", ErrorCode.SYSTEM_ERROR, ErrorDomain.QEMU) from e
    try:
        os.write(fd, SaveHeader(xml, running_after).encode())
        await _run_migration(rt.monitor, migrations, obj.name, fd, incoming=False)
        await asyncio.to_thread(os.fsync, fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            target.unlink()
        await _resume(rt, obj, was_running, old_state, old_reason)
        raise
    os.close(fd)
    rt.being_destroyed = True
    await kill(rt.watch, graceful=False)
    await rt.drain()
    await lc._finish_stop(obj, rt, ShutoffReason.SAVED, StoppedDetail.SAVED)


async def _resume(rt: DomainRuntime, obj: DomainObj, was_running: bool, state: DomainState, reason: int) -> None:
    from pyvirt.drivers.qemu.monitor import QMPClosed, QMPCommandError

    if was_running and rt.monitor is not None:
        with contextlib.suppress(QMPClosed, QMPCommandError):
            await rt.monitor.execute("cont")
    obj.set_state(state, reason)


async def restore_into(lc: Lifecycle, migrations: Migrations, obj: DomainObj, d: DomainDefinition, path: str,
                       offset: int, paused: bool) -> None:
    """Start ``d`` as ``obj`` from the stream in ``path`` (caller holds the job)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.lseek(fd, offset, os.SEEK_SET)

        async def feed(mon: QMPMonitor) -> None:
            await _run_migration(mon, migrations, obj.name, fd, incoming=True)

        await lc.start(obj, d, paused=paused, incoming=feed)
    finally:
        os.close(fd)


def managed_save_path(lib_dir: Path, name: str) -> Path:
    """Like libvirt's /var/lib/libvirt/qemu/save/NAME.save."""
    return lib_dir / "save" / f"{name}.save"
