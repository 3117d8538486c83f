"""rpc.wire (the framing one-shot clients import alone) agrees with rpc.packet's public API,
and the exceptions that moved out of xdr/packet are still the ones callers catch."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from pyvirt.errors import RPCError, VirtError
from pyvirt.rpc import packet as pk
from pyvirt.rpc import wire, wireerrors, xdr


def test_plain_message_types_are_the_enums_numbers() -> None:
    for plain, enum in ((wire.MsgType, pk.MessageType), (wire.MsgStatus, pk.MessageStatus)):
        names = {k: v for k, v in vars(plain).items() if k.isupper()}
        assert names == {m.name: m.value for m in enum}, enum.__name__


def test_packet_reexports_the_same_framing() -> None:
    for name in ("frame", "begin_frame", "finish_frame", "parse_header", "FrameReader",
                 "Header", "MESSAGE_MAX", "PAYLOAD_MAX", "KEEPALIVE_PROGRAM"):
        assert getattr(pk, name) is getattr(wire, name), name
    assert pk.FramingError is wireerrors.FramingError


def test_header_is_a_record_of_the_six_words() -> None:
    raw = wire.frame(0x20008086, 1, 273, wire.MsgType.REPLY, 7, wire.MsgStatus.ERROR, b"x" * 4)
    hdr = wire.parse_header(raw[4:])
    assert hdr == (0x20008086, 1, 273, 1, 7, 1)
    assert hdr._fields == ("prog", "vers", "proc", "type", "serial", "status")
    assert (hdr.type, hdr.status) == (pk.MessageType.REPLY, pk.MessageStatus.ERROR)


def test_errors_raised_without_packet_are_the_rpc_errors() -> None:
    with pytest.raises(pk.FramingError) as fe:
        list(wire.FrameReader().feed((5).to_bytes(4, "big") + b"\0" * 24))
    assert isinstance(fe.value, RPCError)
    with pytest.raises(VirtError, match="exceeds maximum"):
        wire.frame(1, 1, 1, 0, 0, 0, b"\0" * (wire.PAYLOAD_MAX + 1))
    with pytest.raises(xdr.XdrError) as xe:
        xdr.decode(xdr.Int, b"\0\0")
    assert type(xe.value) is wireerrors.XdrError and isinstance(xe.value, RPCError)
    from pyvirt.rpc.xdr import XdrError

    assert XdrError is wireerrors.XdrError
    with pytest.raises(AttributeError):
        xdr.NoSuchName  # noqa: B018 - the module's lazy attribute hook must not invent names


PROBE = """
import sys
import pyvirt.remote.syncclient, pyvirt.rpc.wire, pyvirt.rpc.xdr
before = sorted(sys.modules)
from pyvirt.rpc import xdr
try:
    xdr.decode(xdr.Int, b"")
except xdr.XdrError as e:
    caught = type(e).__mro__[1].__name__
after = sorted(sys.modules)
import json  # only now: it imports re (and enum)
print(json.dumps([before, caught, after]))
"""


def test_error_machinery_loads_only_when_raised() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    before, caught, after = json.loads(out)
    heavy = {"typing", "enum", "re", "pyvirt.errors", "pyvirt.rpc.packet",
             "pyvirt.rpc.wireerrors", "dataclasses", "collections"}
    assert not heavy & set(before), sorted(heavy & set(before))
    assert caught == "RPCError"
    assert {"pyvirt.errors", "pyvirt.rpc.wireerrors"} <= set(after)
