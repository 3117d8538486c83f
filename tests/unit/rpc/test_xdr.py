"""XDR codec: RFC 4506 encodings, libvirt's char arrays, and clean errors on bad input."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import pytest

from pyvirt.rpc import xdr


def test_scalars_big_endian_and_widths() -> None:
    assert xdr.encode(xdr.Int, -2) == b"\xff\xff\xff\xfe"
    assert xdr.encode(xdr.UInt, 7) == b"\0\0\0\x07"
    assert xdr.encode(xdr.Hyper, -1) == b"\xff" * 8
    assert xdr.encode(xdr.UHyper, 2**40) == b"\0\0\x01\0\0\0\0\0"
    assert xdr.decode(xdr.Hyper, b"\xff" * 8) == -1
    assert xdr.encode(xdr.Bool, True) == b"\0\0\0\x01"


def test_scalar_out_of_range_is_an_xdr_error() -> None:
    with pytest.raises(xdr.XdrError):
        xdr.encode(xdr.UInt, -1)
    with pytest.raises(xdr.XdrError):
        xdr.encode(xdr.Int, 2**31)


def test_bool_rejects_other_values() -> None:
    with pytest.raises(xdr.XdrError):
        xdr.decode(xdr.Bool, b"\0\0\0\x02")


class Color(IntEnum):
    RED = 0
    BLUE = 2


def test_enum_roundtrip_and_unknown() -> None:
    c = xdr.EnumCodec(Color)
    assert xdr.decode(c, xdr.encode(c, Color.BLUE)) is Color.BLUE
    with pytest.raises(xdr.XdrError):
        xdr.decode(c, b"\0\0\0\x01")


def test_string_padding_and_limits() -> None:
    s = xdr.String(10)
    assert xdr.encode(s, "test") == b"\0\0\0\x04test"
    assert xdr.encode(s, "abcde") == b"\0\0\0\x05abcde\0\0\0"
    assert xdr.decode(s, b"\0\0\0\x05abcde\0\0\0") == "abcde"
    with pytest.raises(xdr.XdrError):
        xdr.encode(s, "x" * 11)
    with pytest.raises(xdr.XdrError):
        xdr.decode(s, b"\0\0\0\x0b" + b"x" * 12)


@pytest.mark.parametrize("cut", range(12))
def test_truncated_input_raises_cleanly(cut: int) -> None:
    data = xdr.encode(xdr.String(), "abcde")
    if cut < len(data):
        with pytest.raises(xdr.XdrError):
            xdr.decode(xdr.String(), data[:cut])


def test_opaque_fixed_and_variable() -> None:
    f = xdr.FixedOpaque(6)
    assert xdr.encode(f, b"abcdef") == b"abcdef\0\0"
    assert xdr.decode(f, b"abcdef\0\0") == b"abcdef"
    with pytest.raises(xdr.XdrError):
        xdr.encode(f, b"abc")
    v = xdr.Opaque(8)
    assert xdr.decode(v, xdr.encode(v, b"\x01\x02\x03")) == b"\x01\x02\x03"


def test_array_optional_and_huge_count() -> None:
    a = xdr.Array(xdr.Int, 4)
    assert xdr.encode(a, [1, 2]) == b"\0\0\0\x02\0\0\0\x01\0\0\0\x02"
    with pytest.raises(xdr.XdrError):
        xdr.encode(a, [0] * 5)
    # a count far beyond the data is refused before any allocation loop
    with pytest.raises(xdr.XdrError):
        xdr.decode(xdr.Array(xdr.Int), b"\x7f\xff\xff\xff")
    o = xdr.Optional(xdr.Int)
    assert xdr.encode(o, None) == b"\0\0\0\0"
    assert xdr.decode(o, b"\0\0\0\x01\0\0\0\x05") == 5


@dataclass
class Pair:
    name: str
    n: int


def test_struct_and_union() -> None:
    c = xdr.struct_codec(Pair, xdr.String(), xdr.UHyper)
    raw = xdr.encode(c, Pair("ab", 3))
    assert raw == b"\0\0\0\x02ab\0\0" + b"\0" * 7 + b"\x03"
    assert xdr.decode(c, raw) == Pair("ab", 3)
    with pytest.raises(TypeError):
        xdr.struct_codec(Pair, xdr.Int)
    u: xdr.Union[tuple[int, object]] = xdr.Union({0: None, 1: xdr.String()})
    assert xdr.decode(u, xdr.encode(u, (1, "x"))) == (1, "x")
    assert xdr.encode(u, (0, None)) == b"\0\0\0\0"
    with pytest.raises(xdr.XdrError):
        xdr.decode(u, b"\0\0\0\x09")


def test_char_arrays_are_one_int_per_char() -> None:
    fixed = xdr.CharArray(4, True)
    assert xdr.encode(fixed, "ab") == b"\0\0\0a\0\0\0b" + b"\0" * 8
    assert xdr.decode(fixed, xdr.encode(fixed, "ab")) == "ab"
    var = xdr.CharArray(16, False)
    # libvirt sends the terminating NUL
    assert xdr.encode(var, "a") == b"\0\0\0\x02\0\0\0a\0\0\0\0"
    assert xdr.decode(var, b"\0\0\0\x02\0\0\0a\0\0\0\0") == "a"


def test_trailing_bytes_strict_by_default() -> None:
    with pytest.raises(xdr.XdrError):
        xdr.decode(xdr.Int, b"\0\0\0\x01\0\0\0\0")
    assert xdr.decode(xdr.Int, b"\0\0\0\x01\0\0\0\0", exact=False) == 1
