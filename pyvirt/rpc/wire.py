"""libvirt RPC framing with nothing but ``struct``: length word, 24-byte header, payload.

Wire facts (virnetprotocol.x, and observed on real traffic in rpc-traces/): the length word
counts itself; the header is program, version, procedure, type, serial, status; a message
is at most 32 MiB; clients number calls from serial 0; events are MESSAGE packets; a stream
ends with an empty CONTINUE packet; keepalive is its own program with PING/PONG messages.

:mod:`pyvirt.rpc.packet` re-exports all of this beside the IntEnum message types and the
error records; import from there. This part stands alone for one-shot clients
(:mod:`pyvirt.remote.syncclient`), which frame calls and read replies on every run but
build an error only when the daemon sends one: so the message types are plain ints here
(:class:`MsgType`, :class:`MsgStatus`; ``packet.MessageType``/``MessageStatus`` are the
IntEnums of the same numbers, a unit test holds them equal) and :mod:`pyvirt.errors` loads
only when a framing error is raised.
"""

from __future__ import annotations

# struct.py only re-exports the C module _struct: importing that saves a module load on
# every client start-up (a one-shot pyvirsh through pyvirtd counts each).
import _struct as struct

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import NamedTuple as Record

    from pyvirt.errors import RPCError
else:
    from pyvirt.rpc.record import Record

MESSAGE_INITIAL = 65536
MESSAGE_MAX = 33554432
HEADER_MAX = 24
PAYLOAD_MAX = MESSAGE_MAX - HEADER_MAX - 4
LEN_MAX = 4
STRING_MAX = 4194304
NUM_FDS_MAX = 32

KEEPALIVE_PROGRAM = 0x6B656570
KEEPALIVE_VERSION = 1
KEEPALIVE_PING = 1
KEEPALIVE_PONG = 2


class MsgType:
    """virNetMessageType as plain ints (``packet.MessageType`` is the IntEnum)."""

    CALL = 0
    REPLY = 1
    MESSAGE = 2
    STREAM = 3
    CALL_WITH_FDS = 4
    REPLY_WITH_FDS = 5
    STREAM_HOLE = 6


class MsgStatus:
    """virNetMessageStatus as plain ints (``packet.MessageStatus`` is the IntEnum)."""

    OK = 0
    ERROR = 1
    CONTINUE = 2


_LEN = struct.Struct(">I")
# proc and type/status are signed ints in the spec; program, version, serial unsigned.
_HDR = struct.Struct(">IIiiIi")
_FRAME = struct.Struct(">IIIiiIi")


class Header(Record):
    prog: int
    vers: int
    proc: int
    type: int
    serial: int
    status: int


def _too_big(n: int) -> RPCError:
    from pyvirt.errors import RPCError

    return RPCError(f"packet of {n} bytes exceeds maximum {MESSAGE_MAX}")


def frame(prog: int, vers: int, proc: int, type: int, serial: int, status: int, payload: bytes = b"") -> bytes:
    """One whole packet, length word included."""
    n = 28 + len(payload)
    if n > MESSAGE_MAX:
        raise _too_big(n)
    return _FRAME.pack(n, prog, vers, proc, type, serial, status) + payload


def begin_frame() -> bytearray:
    """A buffer with room for the length word and header; append the payload, then
    :func:`finish_frame`. Saves copying large payloads (a 4 MiB XML) into a new packet."""
    return bytearray(28)


def finish_frame(buf: bytearray, prog: int, vers: int, proc: int, type: int, serial: int, status: int) -> bytearray:
    n = len(buf)
    if n > MESSAGE_MAX:
        raise _too_big(n)
    _FRAME.pack_into(buf, 0, n, prog, vers, proc, type, serial, status)
    return buf


def parse_header(pkt: bytes | memoryview) -> Header:
    """Header of a packet without its length word (``pkt`` is at least 24 bytes)."""
    return Header._make(_HDR.unpack_from(pkt, 0))


class FrameReader:
    """Incremental splitter: feed bytes, iterate whole packets (without the length word).

    Lengths below the header size or above the 32 MiB cap raise
    :class:`~pyvirt.rpc.wireerrors.FramingError` (``packet.FramingError``); libvirt drops
    such a client, and so do we.
    """

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> Iterator[bytes]:
        buf = self._buf
        buf += data
        off = 0
        n = len(buf)
        try:
            while n - off >= 4:
                (ln,) = _LEN.unpack_from(buf, off)
                if ln < 28 or ln > MESSAGE_MAX:
                    from pyvirt.rpc.wireerrors import FramingError

                    raise FramingError(f"packet length {ln} out of range 28..{MESSAGE_MAX}")
                if n - off < ln:
                    break
                yield bytes(buf[off + 4 : off + ln])
                off += ln
        finally:
            if off:
                del buf[:off]

    @property
    def pending(self) -> int:
        return len(self._buf)
