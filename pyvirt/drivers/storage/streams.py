"""Volume upload/download as a ByteStream over the volume file (offset, length; 0 = to end)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path


class FileStream:
    def __init__(self, fd: int, length: int, write: bool) -> None:
        self._fd = fd
        self._left = length if length > 0 else None
        self._write = write
        self._closed = asyncio.Event()

    @classmethod
    async def open(cls, path: Path, offset: int, length: int, *, write: bool) -> FileStream:
        fd = os.open(path, os.O_WRONLY if write else os.O_RDONLY)
        os.lseek(fd, offset, os.SEEK_SET)
        return cls(fd, length, write)

    async def read(self, n: int = 65536) -> bytes:
        if self._write:
            # an upload has nothing to send back: a reader (the daemon's stream pump) waits
            # for the end instead of reporting an early end of stream to the client
            await self._closed.wait()
            return b""
        if self._fd < 0:
            return b""
        if self._left is not None:
            n = min(n, self._left)
            if n == 0:
                return b""
        data = await asyncio.to_thread(os.read, self._fd, n)
        if self._left is not None:
            self._left -= len(data)
        return data

    async def write(self, data: bytes) -> None:
        if self._left is not None:
            data = data[: self._left]
            self._left -= len(data)
        view = memoryview(data)
        while view:
            n = await asyncio.to_thread(os.write, self._fd, view)
            view = view[n:]

    async def close(self) -> None:
        if self._fd >= 0:
            if self._write:
                await asyncio.to_thread(os.fsync, self._fd)
            os.close(self._fd)
            self._fd = -1
        self._closed.set()
