"""virDomainOpenConsole: a ByteStream on the domain's serial console (pty or unix socket)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import termios
import tty
import xml.etree.ElementTree as ET

from pyvirt.errors import ErrorCode, ErrorDomain, VirtError


def _wake(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class PtyStream:
    """Non-blocking reads/writes on a pty master's slave side, driven by the event loop."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._loop = asyncio.get_running_loop()

    async def read(self, n: int = 65536) -> bytes:
        while True:
            try:
                return os.read(self._fd, n)
            except BlockingIOError:
                pass
            except OSError:
                return b""  # EIO: QEMU closed the pty
            fut: asyncio.Future[None] = self._loop.create_future()
            self._loop.add_reader(self._fd, _wake, fut)
            try:
                await fut
            finally:
                self._loop.remove_reader(self._fd)

    async def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                n = os.write(self._fd, view)
                view = view[n:]
                continue
            except BlockingIOError:
                pass
            fut: asyncio.Future[None] = self._loop.create_future()
            self._loop.add_writer(self._fd, _wake, fut)
            try:
                await fut
            finally:
                self._loop.remove_writer(self._fd)

    async def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class SocketStream:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._r, self._w = reader, writer

    async def read(self, n: int = 65536) -> bytes:
        return await self._r.read(n)

    async def write(self, data: bytes) -> None:
        self._w.write(data)
        await self._w.drain()

    async def close(self) -> None:
        self._w.close()
        with contextlib.suppress(Exception):
            await self._w.wait_closed()


def _find_console(root: ET.Element, dev_name: str | None) -> ET.Element | None:
    devices = root.find("devices")
    if devices is None:
        return None
    candidates = devices.findall("console") + devices.findall("serial")
    if dev_name is None:
        return candidates[0] if candidates else None
    for el in candidates:
        alias = el.find("alias")
        if alias is not None and alias.get("name") == dev_name:
            return el
    return None


async def open_console(live_xml: str, dev_name: str | None, flags: int = 0) -> PtyStream | SocketStream:
    """Open the console named by alias (``serial0``) or the first one.

    Raises VIR_ERR_INTERNAL_ERROR like libvirt when there is no such character device, and
    VIR_ERR_OPERATION_UNSUPPORTED when it is not a pty/unix one.
    """
    root = ET.fromstring(live_xml)
    el = _find_console(root, dev_name)
    if el is None:
        raise VirtError(f"internal error: cannot find character device {dev_name or '<null>'}",
                        ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU)
    kind = el.get("type", "pty")
    src = el.find("source")
    path = src.get("path") if src is not None else None
    if kind == "pty" and path:
        fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        with contextlib.suppress(termios.error):
            tty.setraw(fd)
        return PtyStream(fd)
    if kind == "unix" and path:
        r, w = await asyncio.open_unix_connection(path)
        return SocketStream(r, w)
    raise VirtError(f"Operation not supported: character device {dev_name or 'console'} is not using a PTY",
                    ErrorCode.OPERATION_UNSUPPORTED, ErrorDomain.QEMU)
