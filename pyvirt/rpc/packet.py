"""libvirt RPC packets: framing (from :mod:`.wire`), message types as IntEnums, errors.

Wire facts (virnetprotocol.x, and observed on real traffic in rpc-traces/): the length word
counts itself; the header is program, version, procedure, type, serial, status; a message
is at most 32 MiB; clients number calls from serial 0; events are MESSAGE packets; a stream
ends with an empty CONTINUE packet; keepalive is its own program with PING/PONG messages.

The framing itself lives in :mod:`pyvirt.rpc.wire` (no ``enum``, no :mod:`pyvirt.errors`),
which one-shot clients import alone; everything is re-exported here, the module to import.
"""

from __future__ import annotations

from enum import IntEnum

from pyvirt.errors import ErrorCode, ErrorDomain, ErrorLevel, VirtError
from pyvirt.rpc import xdr

# Re-exported ("X as X", which mypy requires) so that this stays the module to import.
# ruff: noqa: PLC0414
# isort: off
from pyvirt.rpc.wire import (
    HEADER_MAX as HEADER_MAX,
    KEEPALIVE_PING as KEEPALIVE_PING,
    KEEPALIVE_PONG as KEEPALIVE_PONG,
    KEEPALIVE_PROGRAM as KEEPALIVE_PROGRAM,
    KEEPALIVE_VERSION as KEEPALIVE_VERSION,
    LEN_MAX as LEN_MAX,
    MESSAGE_INITIAL as MESSAGE_INITIAL,
    MESSAGE_MAX as MESSAGE_MAX,
    NUM_FDS_MAX as NUM_FDS_MAX,
    PAYLOAD_MAX as PAYLOAD_MAX,
    STRING_MAX as STRING_MAX,
    FrameReader as FrameReader,
    Header as Header,
    begin_frame as begin_frame,
    finish_frame as finish_frame,
    frame as frame,
    parse_header as parse_header,
)
from pyvirt.rpc.wireerrors import FramingError as FramingError
# isort: on

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple as Record
else:
    from pyvirt.rpc.record import Record


# wire.MsgType / wire.MsgStatus carry the same numbers as plain ints (test_packet checks).
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


# ----------------------------------------------------------------------------- errors


class ErrDomain(Record):
    name: str
    uuid: bytes
    id: int


class ErrNetwork(Record):
    name: str
    uuid: bytes


class RemoteError(Record):
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
