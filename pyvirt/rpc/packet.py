"""libvirt RPC framing: length word, 24-byte header, payload; error payloads; keepalive.

Wire facts (virnetprotocol.x, and observed on real traffic in rpc-traces/): the length word
counts itself; the header is program, version, procedure, type, serial, status; a message
is at most 32 MiB; clients number calls from serial 0; events are MESSAGE packets; a stream
ends with an empty CONTINUE packet; keepalive is its own program with PING/PONG messages.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from enum import IntEnum
from typing import NamedTuple

from pyvirt.errors import ErrorCode, ErrorDomain, ErrorLevel, RPCError, VirtError
from pyvirt.rpc import xdr

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


class MessageType(IntEnum):
    CALL = 0
    REPLY = 1
    MESSAGE = 2
    STREAM = 3
    CALL_WITH_FDS = 4
    REPLY_WITH_FDS = 5
    STREAM_HOLE = 6


class MessageStatus(IntEnum):
    OK = 0
    ERROR = 1
    CONTINUE = 2


_LEN = struct.Struct(">I")
# proc and type/status are signed ints in the spec; program, version, serial unsigned.
_HDR = struct.Struct(">IIiiIi")
_FRAME = struct.Struct(">IIIiiIi")


# Records are NamedTuples rather than dataclasses: every client imports this module, and
# ``dataclasses`` (with inspect/ast) was a third of a one-shot ``pyvirsh list``'s imports.
class Header(NamedTuple):
    prog: int
    vers: int
    proc: int
    type: int
    serial: int
    status: int


class FramingError(RPCError):
    """The byte stream cannot be split into packets (bad length): the peer is dropped."""


def frame(prog: int, vers: int, proc: int, type: int, serial: int, status: int, payload: bytes = b"") -> bytes:
    """One whole packet, length word included."""
    n = 28 + len(payload)
    if n > MESSAGE_MAX:
        raise RPCError(f"packet of {n} bytes exceeds maximum {MESSAGE_MAX}")
    return _FRAME.pack(n, prog, vers, proc, type, serial, status) + payload


def begin_frame() -> bytearray:
    """A buffer with room for the length word and header; append the payload, then
    :func:`finish_frame`. Saves copying large payloads (a 4 MiB XML) into a new packet."""
    return bytearray(28)


def finish_frame(buf: bytearray, prog: int, vers: int, proc: int, type: int, serial: int, status: int) -> bytearray:
    n = len(buf)
    if n > MESSAGE_MAX:
        raise RPCError(f"packet of {n} bytes exceeds maximum {MESSAGE_MAX}")
    _FRAME.pack_into(buf, 0, n, prog, vers, proc, type, serial, status)
    return buf


def parse_header(pkt: bytes | memoryview) -> Header:
    """Header of a packet without its length word (``pkt`` is at least 24 bytes)."""
    return Header(*_HDR.unpack_from(pkt, 0))


class FrameReader:
    """Incremental splitter: feed bytes, iterate whole packets (without the length word).

    Lengths below the header size or above the 32 MiB cap raise :class:`FramingError`;
    libvirt drops such a client, and so do we.
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


# ----------------------------------------------------------------------------- errors


class ErrDomain(NamedTuple):
    name: str
    uuid: bytes
    id: int


class ErrNetwork(NamedTuple):
    name: str
    uuid: bytes


class RemoteError(NamedTuple):
    """virNetMessageError / remote_error."""

    code: int
    domain: int
    message: str | None
    level: int
    dom: ErrDomain | None
    str1: str | None
    str2: str | None
    str3: str | None
    int1: int
    int2: int
    net: ErrNetwork | None


_Str = xdr.String(STRING_MAX)
_OptStr = xdr.Optional(_Str)
_Uuid = xdr.FixedOpaque(16)
ERR_DOMAIN = xdr.struct_codec(ErrDomain, _Str, _Uuid, xdr.Int)
ERR_NETWORK = xdr.struct_codec(ErrNetwork, _Str, _Uuid)
REMOTE_ERROR = xdr.struct_codec(
    RemoteError,
    xdr.Int, xdr.Int, _OptStr, xdr.Int, xdr.Optional(ERR_DOMAIN),
    _OptStr, _OptStr, _OptStr, xdr.Int, xdr.Int, xdr.Optional(ERR_NETWORK),
)  # fmt: skip

# libvirt's generic text per code (virErrorMsg): its reports carry "<generic>: %s" in str1
# and the detail in str2, and clients rebuild nothing from them, but byte-exact replies need
# them. Codes not listed fall back to the "%s" form libvirt uses for pre-formatted messages.
_GENERIC: dict[int, str] = {
    ErrorCode.INTERNAL_ERROR: "internal error",
    ErrorCode.NO_SUPPORT: "this function is not supported by the connection driver",
    ErrorCode.INVALID_ARG: "invalid argument",
    ErrorCode.OPERATION_FAILED: "operation failed",
    ErrorCode.NO_DOMAIN: "Domain not found",
    ErrorCode.OPERATION_INVALID: "Requested operation is not valid",
    ErrorCode.CONFIG_UNSUPPORTED: "unsupported configuration",
    ErrorCode.XML_ERROR: "XML error",
    ErrorCode.OPERATION_UNSUPPORTED: "Operation not supported",
    ErrorCode.ARGUMENT_UNSUPPORTED: "argument unsupported",
    ErrorCode.OPERATION_TIMEOUT: "Timed out during operation",
    ErrorCode.ACCESS_DENIED: "access denied",
    ErrorCode.OPERATION_DENIED: "operation forbidden",
    ErrorCode.NO_NETWORK: "Network not found",
    ErrorCode.NO_STORAGE_POOL: "Storage pool not found",
    ErrorCode.NO_STORAGE_VOL: "Storage volume not found",
    ErrorCode.INVALID_CONN: "invalid connection pointer in",
    ErrorCode.NO_CONNECT: "no connection driver available for",
}


def error_from_virt(e: VirtError, dom: ErrDomain | None = None) -> RemoteError:
    """Build the wire error for an exception, recovering libvirt's str1/str2 split."""
    msg = e.message
    str1, str2 = e.str1, e.str2
    if str1 is None:
        generic = _GENERIC.get(int(e.code))
        if generic is not None and msg == generic:
            str1, str2 = generic, None
        elif generic is not None and msg.startswith(generic + ": "):
            str1, str2 = generic + ": %s", msg[len(generic) + 2 :]
        else:
            str1, str2 = "%s", msg
    int1 = e.int1 if (e.int1 or e.int2) else -1
    int2 = e.int2 if (e.int1 or e.int2) else -1
    return RemoteError(
        int(e.code), int(e.domain), msg, int(e.level), dom, str1, str2, e.str3, int1, int2, None
    )


def rpc_error(message: str) -> RemoteError:
    """An error raised by the RPC layer itself (VIR_FROM_RPC / VIR_ERR_RPC), as libvirtd sends."""
    return RemoteError(
        ErrorCode.RPC, ErrorDomain.RPC, message, ErrorLevel.ERROR, None, "%s", message, None, -1, -1, None
    )


def error_to_virt(err: RemoteError) -> VirtError:
    e = VirtError(
        err.message or "unknown error",
        err.code,
        err.domain,
        level=ErrorLevel(err.level) if err.level in (0, 1, 2) else ErrorLevel.ERROR,
        str1=err.str1,
        str2=err.str2,
        str3=err.str3,
        int1=err.int1,
        int2=err.int2,
    )
    return e


def encode_error(err: RemoteError) -> bytes:
    return xdr.encode(REMOTE_ERROR, err)


def decode_error(payload: bytes | memoryview) -> RemoteError:
    return xdr.decode(REMOTE_ERROR, payload, exact=False)
