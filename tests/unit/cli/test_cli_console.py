"""The console pump: keyboard -> guest until ^], guest -> terminal until the stream ends."""

from __future__ import annotations

import asyncio
import os

import pytest

from pyvirt.cli.console import _pump


class FakeStream:
    """A guest console: says hello, then records what it is sent until closed."""

    def __init__(self) -> None:
        self.sent = bytearray()
        self.closed = asyncio.Event()
        self._said_hello = False

    async def read(self, n: int = 65536) -> bytes:
        if not self._said_hello:
            self._said_hello = True
            return b"guest says hello\r\n"
        await self.closed.wait()
        return b""

    async def write(self, data: bytes) -> None:
        self.sent += data

    async def close(self) -> None:
        self.closed.set()


async def test_keys_go_to_guest_until_escape(capfd: pytest.CaptureFixture[str]) -> None:
    r, w = os.pipe()
    stream = FakeStream()
    try:
        task = asyncio.create_task(_pump(stream, r))
        os.write(w, b"ls -l\r")
        await asyncio.sleep(0)  # let the reader see the first chunk on its own
        os.write(w, b"pwd\x1dignored")
        await asyncio.wait_for(task, 5)
    finally:
        os.close(r)
        os.close(w)
    assert bytes(stream.sent) == b"ls -l\rpwd"
    assert stream.closed.is_set()
    assert "guest says hello" in capfd.readouterr().out


async def test_guest_hangup_ends_the_session() -> None:
    r, w = os.pipe()

    class Gone(FakeStream):
        async def read(self, n: int = 65536) -> bytes:
            return b""

    try:
        await asyncio.wait_for(_pump(Gone(), r), 5)
    finally:
        os.close(r)
        os.close(w)
