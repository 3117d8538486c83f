"""A scripted fake QMP server for unit tests.

It listens on a unix socket path, speaks the QMP greeting/handshake, and answers commands
from a table of handlers (a fixed reply dict or a callable ``(args) -> reply``). Every
command received is recorded in ``calls`` so tests can assert on the exact conversation.
``emit()`` pushes an event to the connected client. Like QEMU, it serves one client at a
time and accepts the next one after the first disconnects.

It also models the little bit of run state the driver relies on (running/paused/shutdown)
so ``stop``/``cont``/``system_powerdown``/``quit`` behave like QEMU by default.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Reply = dict[str, Any]
Handler = Reply | Callable[[dict[str, Any]], Reply]


@dataclass
class FakeQMPServer:
    path: str
    status: str = "prelaunch"
    handlers: dict[str, Handler] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # What system_powerdown does: "poweroff" (guest reacts, SHUTDOWN event) or "ignore".
    powerdown: str = "poweroff"
    _server: asyncio.AbstractServer | None = None
    _writer: asyncio.StreamWriter | None = None
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    quit_requested: asyncio.Event = field(default_factory=asyncio.Event)
    clients: int = 0

    async def start(self) -> FakeQMPServer:
        self._server = await asyncio.start_unix_server(self._client, path=self.path)
        return self

    async def stop(self) -> None:
        if self._writer is not None:
            self._writer.close()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    async def drop_client(self) -> None:
        """Simulate QEMU dying: hang up on the current client."""
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()

    def emit(self, event: str, data: dict[str, Any] | None = None) -> None:
        msg: dict[str, Any] = {"event": event, "timestamp": {"seconds": 1, "microseconds": 2}}
        if data is not None:
            msg["data"] = data
        if self._writer is not None:
            self._writer.write(json.dumps(msg).encode() + b"\n")

    def commands(self) -> list[str]:
        return [c for c, _ in self.calls]

    # ---------------------------------------------------------------- default QEMU model
    def _default(self, cmd: str, args: dict[str, Any]) -> Reply:
        if cmd == "qmp_capabilities":
            return {"return": {}}
        if cmd == "query-status":
            return {"return": {"status": self.status, "running": self.status == "running", "singlestep": False}}
        if cmd == "cont":
            self.status = "running"
            self.emit("RESUME")
            return {"return": {}}
        if cmd == "stop":
            self.status = "paused"
            self.emit("STOP")
            return {"return": {}}
        if cmd == "system_powerdown":
            if self.powerdown == "poweroff":
                self.emit("POWERDOWN")
                self.status = "shutdown"
                self.emit("SHUTDOWN", {"guest": True, "reason": "guest-shutdown"})
                self.emit("STOP")
            return {"return": {}}
        if cmd == "system_reset":
            self.emit("RESET", {"guest": False, "reason": "host-qmp-system-reset"})
            return {"return": {}}
        if cmd == "set-action":
            return {"return": {}}
        if cmd == "quit":
            self.quit_requested.set()
            return {"return": {}}
        if cmd == "query-chardev":
            return {"return": [{"label": "charmonitor", "filename": "unix:" + self.path}]}
        return {"error": {"class": "CommandNotFound", "desc": f"The command {cmd} has not been found"}}

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._writer is not None and not self._writer.is_closing():
            writer.close()  # QEMU's monitor chardev serves one client at a time
            return
        self._writer = writer
        self.clients += 1
        greeting = {"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": "fake"},
                            "capabilities": ["oob"]}}
        writer.write(json.dumps(greeting).encode() + b"\n")
        self.connected.set()
        try:
            while line := await reader.readline():
                msg = json.loads(line)
                cmd = str(msg.get("execute"))
                args = dict(msg.get("arguments") or {})
                self.calls.append((cmd, args))
                h = self.handlers.get(cmd)
                reply = (h(args) if callable(h) else dict(h)) if h is not None else self._default(cmd, args)
                reply["id"] = msg.get("id")
                # events emitted by the handler were queued first; QEMU also sends them
                # around the reply, and clients must cope with either order.
                writer.write(json.dumps(reply).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()
            if self._writer is writer:
                self._writer = None
                self.connected.clear()
