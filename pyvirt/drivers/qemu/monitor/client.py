"""A small asyncio QMP client.

Why not ``qemu.qmp.QMPClient`` directly: we need to run on a socket we created ourselves
(the listening end is passed to QEMU as an fd, so there is no connect-retry race) and to
reconnect to a unix path from a fresh process; a ~150 line client with an explicit run
state is simpler to reason about than adapting the library's accept/connect paths. The
protocol layering follows qemu.qmp: transport (StreamReader/Writer) -> QMP framing
(greeting, ids, events) -> typed wrappers (:mod:`.commands`).

The reader task only parses and dispatches: replies resolve their pending future, events
go to the ``on_event`` callback, which must not block (the domain worker enqueues them).
On disconnect every pending call fails with :class:`QMPClosed`.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import itertools
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

JSONObject = dict[str, Any]


class QMPClosed(Exception):
    """The monitor connection is gone (QEMU exited or the socket closed)."""


class QMPCommandError(Exception):
    """QEMU answered a command with an error object."""

    def __init__(self, command: str, error_class: str, desc: str) -> None:
        super().__init__(f"{command}: {error_class}: {desc}")
        self.command = command
        self.error_class = error_class
        self.desc = desc


@dataclass(frozen=True, slots=True)
class QMPEvent:
    name: str
    data: JSONObject = field(default_factory=dict)
    timestamp: float = 0.0


class RunState(enum.Enum):
    IDLE = "idle"
    RUNNING = "running"
    CLOSED = "closed"


EventHandler = Callable[[QMPEvent], None]
CloseHandler = Callable[[], None]


# Events that tell of the guest's or the VM's run state and never of a change to devices
# or the block graph (anything else bumps QMPMonitor.generation).
_STATE_EVENTS = frozenset({
    "RTC_CHANGE", "STOP", "RESUME", "RESET", "POWERDOWN", "SHUTDOWN", "SUSPEND", "WAKEUP",
    "NIC_RX_FILTER_CHANGED", "BALLOON_CHANGE", "VSERPORT_CHANGE", "GUEST_PANICKED",
    "WATCHDOG", "ACPI_DEVICE_OST",
})


# Commands that never touch devices or the block graph (neither do the query-* ones).
_STATE_COMMANDS = frozenset({
    "qmp_capabilities", "cont", "stop", "system_reset", "system_powerdown", "system_wakeup",
    "qom-get", "qom-list", "getfd", "closefd", "set_link", "balloon", "send-key", "inject-nmi",
    "screendump", "block-job-set-speed", "migrate-set-capabilities", "migrate-set-parameters",
})


class QMPMonitor:
    """One QMP session. Create with :meth:`connect_path` or :meth:`from_socket`."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._ids = itertools.count(1)
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()  # QMP is strictly request/response per id; keep writes whole
        self.state = RunState.IDLE
        self.greeting: JSONObject = {}
        self.on_event: EventHandler | None = None
        self.on_close: CloseHandler | None = None
        # Bumped by every command that is not a query and every event that is not a guest
        # notice (_STATE_EVENTS): what was learnt about QEMU's block graph at one value
        # still holds while it stays the same (BlockJobs' node cache).
        self.generation = 0

    # ------------------------------------------------------------------ construction
    @classmethod
    async def connect_path(cls, path: str, timeout: float = 5.0) -> QMPMonitor:
        """Connect to a listening QMP unix socket and do the handshake.

        Raises OSError if nobody listens, QMPClosed if the peer hangs up during greeting.
        """
        reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(path, limit=1 << 24), timeout)
        mon = cls(reader, writer)
        await mon._handshake(timeout)
        return mon

    async def _handshake(self, timeout: float) -> None:
        line = await asyncio.wait_for(self._reader.readline(), timeout)
        if not line:
            raise QMPClosed("monitor closed before greeting")
        greeting = json.loads(line)
        if "QMP" not in greeting:
            raise QMPClosed(f"unexpected QMP greeting: {line[:200]!r}")
        self.greeting = greeting["QMP"]
        self.state = RunState.RUNNING
        self._task = asyncio.get_running_loop().create_task(self._read_loop(), name="qmp-reader")
        await self.execute("qmp_capabilities")

    # ------------------------------------------------------------------ I/O
    async def _read_loop(self) -> None:
        try:
            while True:
                line = await self._reader.readline()
                if not line:
                    break
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue  # QEMU never sends garbage; a fake might. Skip, don't die.
                self._dispatch(msg)
        except (ConnectionError, OSError):
            pass
        finally:
            self._closed()

    def _dispatch(self, msg: JSONObject) -> None:
        if "event" in msg:
            if msg["event"] not in _STATE_EVENTS:
                self.generation += 1
            ts = msg.get("timestamp") or {}
            ev = QMPEvent(
                str(msg["event"]),
                dict(msg.get("data") or {}),
                float(ts.get("seconds", 0)) + float(ts.get("microseconds", 0)) / 1e6,
            )
            if self.on_event is not None:
                self.on_event(ev)
            return
        fut = self._pending.pop(str(msg.get("id")), None)
        if fut is None or fut.done():
            return
        fut.set_result(msg)

    def _closed(self) -> None:
        if self.state is RunState.CLOSED:
            return
        self.state = RunState.CLOSED
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(QMPClosed("monitor connection closed"))
        self._pending.clear()
        with contextlib.suppress(Exception):
            self._writer.close()
        if self.on_close is not None:
            self.on_close()

    async def execute(self, command: str, arguments: JSONObject | None = None, timeout: float | None = 60.0) -> Any:
        """Run one command; returns its ``return`` value.

        Raises QMPCommandError on an error reply, QMPClosed if the connection is (or goes) down,
        asyncio.TimeoutError if QEMU does not answer in time.
        """
        return _result(command, await self._roundtrip(_command(command, arguments), timeout))

    async def execute_raw(self, msg: JSONObject, timeout: float | None = 60.0) -> JSONObject:
        """Send a whole command object as given (plus our "id") and return QEMU's whole
        reply, error replies included: libvirt-qemu's monitor pass-through."""
        return await self._roundtrip(msg, timeout)

    async def execute_with_fd(self, command: str, arguments: JSONObject | None, fd: int,
                              timeout: float | None = 60.0) -> Any:
        """Like :meth:`execute`, passing ``fd`` along with the command (SCM_RIGHTS), as
        ``getfd``/``add-fd`` need. The command goes out in one sendmsg on a dup of the
        socket, under the write lock, after pending writes drained."""
        return _result(command, await self._roundtrip(_command(command, arguments), timeout, fd=fd))

    def send_nowait(self, calls: list[tuple[str, JSONObject | None]]) -> list[asyncio.Future[JSONObject]]:
        """Write ``calls`` now, in order and in one write, without waiting: they reach QEMU
        ahead of any command sent after this returns (QEMU runs a monitor's commands in
        arrival order). Each future gives that command's whole reply (error replies too)."""
        if self.state is not RunState.RUNNING:
            raise QMPClosed("monitor is not connected")
        if self._lock.locked():
            # a locked write may be an fd send that bypasses the transport's buffer: queue
            # behind it instead (the lock is FIFO, so these still precede any later command)
            return [asyncio.ensure_future(self._roundtrip(_command(c, a), None)) for c, a in calls]
        data = bytearray()
        futs = []
        for command, arguments in calls:
            _cid, line, fut = self._register(_command(command, arguments))
            data += line
            futs.append(fut)
        self._writer.write(bytes(data))  # whole lines into the transport's buffer: no interleaving
        return futs

    def _register(self, msg: JSONObject) -> tuple[str, bytes, asyncio.Future[JSONObject]]:
        """A fresh "id", ``msg`` with it as one line, and the future its reply will set."""
        cid = f"pyvirt-{next(self._ids)}"
        cmd = str(msg.get("execute", ""))
        if not cmd.startswith("query-") and cmd not in _STATE_COMMANDS:
            self.generation += 1
        fut: asyncio.Future[JSONObject] = asyncio.get_running_loop().create_future()
        self._pending[cid] = fut
        return cid, json.dumps({**msg, "id": cid}).encode() + b"\n", fut

    async def _roundtrip(self, msg: JSONObject, timeout: float | None, fd: int | None = None) -> JSONObject:
        """Send ``msg`` with a fresh "id" (and ``fd``, if given) and wait for QEMU's reply."""
        if self.state is not RunState.RUNNING:
            raise QMPClosed("monitor is not connected")
        cid, data, fut = self._register(msg)
        async with self._lock:
            try:
                if fd is None:
                    self._writer.write(data)
                    await self._writer.drain()
                else:
                    await self._send_with_fd(data, fd)
            except (ConnectionError, OSError) as e:
                self._pending.pop(cid, None)
                raise QMPClosed(str(e)) from e
        try:
            reply: JSONObject = await asyncio.wait_for(fut, timeout)
        finally:
            self._pending.pop(cid, None)
        return reply

    async def _send_with_fd(self, data: bytes, fd: int) -> None:
        import socket

        await self._writer.drain()
        tsock = self._writer.get_extra_info("socket")
        with socket.socket(fileno=os.dup(tsock.fileno())) as sock:
            sock.setblocking(True)
            socket.send_fds(sock, [data], [fd])

    async def close(self) -> None:
        """Drop the connection (QEMU keeps running; another client may connect later)."""
        if self.state is not RunState.CLOSED:
            with contextlib.suppress(Exception):
                self._writer.close()
                await self._writer.wait_closed()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        self._closed()

    @property
    def connected(self) -> bool:
        return self.state is RunState.RUNNING


def _command(command: str, arguments: JSONObject | None) -> JSONObject:
    msg: JSONObject = {"execute": command}
    if arguments:
        msg["arguments"] = arguments
    return msg


def _result(command: str, reply: JSONObject) -> Any:
    """A reply's ``return`` value, or its error as QMPCommandError."""
    if "error" in reply:
        err = reply["error"]
        raise QMPCommandError(command, str(err.get("class", "GenericError")), str(err.get("desc", "")))
    return reply.get("return")
