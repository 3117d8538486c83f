"""Spawning and stopping QEMU: the only place with process side effects.

* The QMP listening socket is created, bound and listening *before* QEMU starts and is
  handed over as an inherited fd (``-chardev socket,...,fd=N,server=on,wait=off``), so our
  connect can never race QEMU's startup. We close our copy right after the spawn, so if
  QEMU dies early the connect/greeting fails instead of hanging.
* Exit is watched through a pidfd registered with the event loop (works for children and
  for QEMUs we reattach to after a restart); nothing polls.
* QEMU runs in its own session so it outlives one-shot clients (pyvirsh) that started it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pyvirt.drivers.qemu.monitor import QMPClosed, QMPMonitor
from pyvirt.drivers.qemu.status import pid_alive_as, proc_start_time
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

# libvirt (virProcessKillPainfully) gives SIGTERM 10 s before escalating to SIGKILL.
TERM_GRACE = 10.0
KILL_GRACE = 5.0


@dataclass
class ProcessWatch:
    """Signals once when the process exits (pidfd readable)."""

    pid: int
    exited: asyncio.Event = field(default_factory=asyncio.Event)
    _pidfd: int = -1
    _callbacks: list[Callable[[], None]] = field(default_factory=list)

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            self._pidfd = os.pidfd_open(self.pid)
        except ProcessLookupError:
            self._fire()
            return
        loop.add_reader(self._pidfd, self._fire)

    def on_exit(self, cb: Callable[[], None]) -> None:
        """Call cb (in the loop) once the process has exited; at once if it already has."""
        if self.exited.is_set():
            asyncio.get_running_loop().call_soon(cb)
        else:
            self._callbacks.append(cb)

    def _fire(self) -> None:
        if self.exited.is_set():
            return
        if self._pidfd >= 0:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = -1
        # Reap if it was our child (otherwise it is init's business).
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(self.pid, os.WNOHANG)
        self.exited.set()
        cbs, self._callbacks = self._callbacks, []
        for cb in cbs:
            cb()

    def stop(self) -> None:
        if self._pidfd >= 0:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = -1


@dataclass
class Spawned:
    pid: int
    start_time: int
    monitor: QMPMonitor
    watch: ProcessWatch


def make_monitor_listener(path: Path) -> socket.socket:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    sock.listen(1)
    return sock


def log_tail(log: Path, since: int) -> str:
    try:
        with log.open("rb") as f:
            f.seek(since)
            text = f.read().decode(errors="replace")
    except OSError:
        return ""
    return text.strip()


async def spawn(
    argv: list[str],
    *,
    listener: socket.socket,
    log_path: Path,
    cwd: Path,
    handshake_timeout: float = 30.0,
) -> Spawned:
    """Start QEMU (it is started with -S), connect QMP, return the live handles.

    Raises VirtError(INTERNAL_ERROR) with QEMU's own message from the log if QEMU exits or
    closes the monitor before the handshake completes.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    log_start = os.fstat(log_fd).st_size
    monitor_path = listener.getsockname()
    try:
        proc = subprocess.Popen(  # noqa: ASYNC220 - fork+exec only; exit is watched by pidfd
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log_fd,
            stderr=log_fd,
            pass_fds=(listener.fileno(),),
            cwd=cwd,
            start_new_session=True,
        )
    except OSError as e:
        raise VirtError(
            f"Cannot find QEMU binary {argv[0]}: {e.strerror}", ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU
        ) from e
    finally:
        os.close(log_fd)
        listener.close()
    # Popen keeps a handle only for reaping; the pidfd watch reaps instead.
    proc.returncode = 0  # keep Popen.__del__ from warning; we own the pid now
    watch = ProcessWatch(proc.pid)
    watch.start()
    start_time = proc_start_time(proc.pid) or 0

    async def connect() -> QMPMonitor:
        return await QMPMonitor.connect_path(monitor_path, handshake_timeout)

    conn = asyncio.ensure_future(connect())
    exited = asyncio.ensure_future(watch.exited.wait())
    try:
        done, _ = await asyncio.wait({conn, exited}, timeout=handshake_timeout, return_when=asyncio.FIRST_COMPLETED)
        if conn in done and conn.exception() is None:
            return Spawned(proc.pid, start_time, conn.result(), watch)
        if conn in done:
            exc = conn.exception()
        else:
            exc = None
    finally:
        exited.cancel()
    if not conn.done():
        conn.cancel()
        with contextlib.suppress(BaseException):
            await conn
    # Failure: make sure it is gone, then report what QEMU said.
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGKILL)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(watch.exited.wait(), KILL_GRACE)
    tail = log_tail(log_path, log_start)
    if tail:
        msg = f"internal error: qemu unexpectedly closed the monitor: {tail}"
    elif isinstance(exc, (QMPClosed, OSError)):
        msg = f"internal error: qemu unexpectedly closed the monitor: {exc}"
    else:
        msg = "internal error: QEMU did not answer on its monitor in time"
    raise VirtError(msg, ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU)


async def kill(watch: ProcessWatch, *, graceful: bool, term_grace: float | None = None) -> None:
    """SIGTERM, wait for exit (``term_grace``, default TERM_GRACE); then SIGKILL unless graceful.

    Raises VirtError(SYSTEM_ERROR) like libvirt when the process survives.
    """
    if term_grace is None:
        term_grace = TERM_GRACE
    if watch.exited.is_set():
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(watch.pid, signal.SIGTERM)
    try:
        await asyncio.wait_for(watch.exited.wait(), term_grace)
        return
    except TimeoutError:
        if graceful:
            raise VirtError(
                f"Failed to terminate process {watch.pid} with SIGTERM: Device or resource busy",
                ErrorCode.SYSTEM_ERROR,
                ErrorDomain.NONE,
            ) from None
    with contextlib.suppress(ProcessLookupError):
        os.kill(watch.pid, signal.SIGKILL)
    try:
        await asyncio.wait_for(watch.exited.wait(), KILL_GRACE)
    except TimeoutError:
        raise VirtError(
            f"Failed to terminate process {watch.pid} with SIGKILL: Device or resource busy",
            ErrorCode.SYSTEM_ERROR,
            ErrorDomain.NONE,
        ) from None


def still_ours(pid: int, start_time: int) -> bool:
    return pid > 0 and pid_alive_as(pid, start_time)
