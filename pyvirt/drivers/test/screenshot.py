"""virDomainScreenshot for the test driver: a fixed image, whatever the domain's state or the
screen asked for, as libvirt's test driver does (it streams the PNG it installs as
``$pkgdatadir/test-screenshot.png`` and names it ``image/png``; flags must be 0).

We stream that same installed file when libvirt is on the host, so clients get libvirt's
exact bytes; without it, a small PNG of our own (a grey 64x48 picture built here).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

if TYPE_CHECKING:
    from pyvirt.drivers.base import ByteStream, DomainRef

LIBVIRT_TEST_SCREENSHOT = "/usr/share/libvirt/test-screenshot.png"
MIME = "image/png"


def fallback_png(width: int = 64, height: int = 48, grey: int = 0x80) -> bytes:
    """A valid greyscale PNG: signature, IHDR, one zlib-compressed IDAT, IEND."""
    import struct  # here, not at the top: the test driver loads on every pyvirsh start
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = (b"\0" + bytes([grey]) * width) * height  # filter byte 0 per row
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows, 9))
            + chunk(b"IEND", b""))


def screenshot_image(path: str = LIBVIRT_TEST_SCREENSHOT) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return fallback_png()


class BytesStream:
    """A read-only ByteStream over bytes already in memory."""

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self._pos = 0

    async def read(self, n: int = 65536) -> bytes:
        out = bytes(self._data[self._pos : self._pos + n])
        self._pos += len(out)
        return out

    async def write(self, data: bytes) -> None:
        raise VirtError("stream does not support writing", ErrorCode.OPERATION_INVALID, ErrorDomain.STREAMS)

    async def close(self) -> None:
        self._pos = len(self._data)


class TestScreenshotMixin:
    """The Driver's screenshot method for test:///... connections."""

    __test__ = False  # not a pytest test class despite the name

    if TYPE_CHECKING:  # TestDriver's

        async def get_state(self, dom: DomainRef, flags: int = 0) -> tuple[int, int]: ...

    async def screenshot(self, dom: DomainRef, screen: int, flags: int = 0) -> tuple[str | None, ByteStream]:
        await self.get_state(dom)  # the same lookup error as any call for a missing domain
        if flags:
            raise VirtError(f"unsupported flags (0x{flags:x}) in function testDomainScreenshot",
                            ErrorCode.INVALID_ARG, ErrorDomain.TEST)
        return MIME, BytesStream(screenshot_image())
