"""libvirt's typed parameters on the wire (``remote_typed_param``).

A typed parameter is a field name plus a value whose XDR encoding depends on a type
discriminant (``remote_typed_param_value``): INT=1 .. STRING=7, the numbers of
virTypedParameterType. Procedures carry them as ``remote_typed_param params<MAX>``.

At the API boundary libvirt-python speaks plain dicts; :func:`from_dict` and
:func:`to_dict` convert, the former with a per-API table of the types libvirt expects
for each known name (libvirt-python does the same: the C API validates the types).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from pyvirt.errors import ErrorCode, ErrorDomain, VirtError
from pyvirt.rpc import xdr

# remote_nonnull_string's bound (REMOTE_STRING_MAX); rpc cannot import remote.protocol.
_STRING_MAX = 4194304
_D = struct.Struct(">d")

TypedValue = int | float | bool | str


class TypedParamType(IntEnum):
    """virTypedParameterType: the wire discriminant of remote_typed_param_value."""

    INT = 1
    UINT = 2
    LLONG = 3
    ULLONG = 4
    DOUBLE = 5
    BOOLEAN = 6
    STRING = 7


@dataclass(frozen=True, slots=True)
class TypedParam:
    field: str
    type: TypedParamType
    value: TypedValue


class _Double:
    __slots__ = ()
    name = "double"

    def pack(self, out: bytearray, v: float) -> None:
        out += _D.pack(float(v))

    def unpack(self, buf: xdr.Buffer, off: int) -> tuple[float, int]:
        end = off + 8
        if end > len(buf):
            raise xdr.XdrError(f"XDR data truncated: need 8 bytes at offset {off}, have {len(buf) - off}")
        return float(_D.unpack_from(buf, off)[0]), end


Double = _Double()
FieldName = xdr.String(_STRING_MAX)

# One codec per arm, in declaration order; BOOLEAN is an ``int b`` on the wire (any
# non-zero is true, as libvirt reads it), not an XDR bool.
_ARMS: dict[TypedParamType, xdr.Codec[Any]] = {
    TypedParamType.INT: xdr.Int,
    TypedParamType.UINT: xdr.UInt,
    TypedParamType.LLONG: xdr.Hyper,
    TypedParamType.ULLONG: xdr.UHyper,
    TypedParamType.DOUBLE: Double,
    TypedParamType.BOOLEAN: xdr.Int,
    TypedParamType.STRING: FieldName,
}


class TypedParamValueCodec:
    """remote_typed_param_value as ``(TypedParamType, value)``; unknown types are refused."""

    __slots__ = ()

    def pack(self, out: bytearray, v: tuple[TypedParamType, TypedValue]) -> None:
        t, val = v
        arm = _ARMS.get(t)
        if arm is None:
            raise xdr.XdrError(f"invalid typed parameter type {int(t)}")
        out += struct.pack(">i", int(t))
        if t is TypedParamType.BOOLEAN:
            val = 1 if val else 0
        elif t is TypedParamType.STRING and not isinstance(val, str):
            raise xdr.XdrError(f"typed parameter of type string needs a str, got {type(val).__name__}")
        arm.pack(out, val)

    def unpack(self, buf: xdr.Buffer, off: int) -> tuple[tuple[TypedParamType, TypedValue], int]:
        d, off = xdr.Int.unpack(buf, off)
        try:
            t = TypedParamType(d)
        except ValueError:
            raise xdr.XdrError(f"invalid typed parameter type {d}") from None
        val, off = _ARMS[t].unpack(buf, off)
        if t is TypedParamType.BOOLEAN:
            val = bool(val)
        return (t, val), off


TYPED_PARAM_VALUE = TypedParamValueCodec()


class TypedParamCodec(xdr.StructCodec[TypedParam]):
    """remote_typed_param {field, value}; the record keeps type and value side by side, so
    pack/unpack are written out (the generic loop would need a (type, value) field)."""

    def __init__(self) -> None:
        # StructCodec checks the spec's two fields against a record of that shape; the values
        # themselves are built by the pack/unpack below.
        super().__init__(_WireTypedParam, (FieldName, TYPED_PARAM_VALUE))  # type: ignore[arg-type]
        self.cls = TypedParam

    def pack(self, out: bytearray, v: TypedParam) -> None:
        FieldName.pack(out, v.field)
        TYPED_PARAM_VALUE.pack(out, (v.type, v.value))

    def unpack(self, buf: xdr.Buffer, off: int) -> tuple[TypedParam, int]:
        name, off = FieldName.unpack(buf, off)
        (t, val), off = TYPED_PARAM_VALUE.unpack(buf, off)
        return TypedParam(name, t, val), off


@dataclass(frozen=True, slots=True)
class _WireTypedParam:
    """The spec's field list (field, value), for StructCodec's bookkeeping only."""

    field: str
    value: tuple[TypedParamType, TypedValue]


TYPED_PARAM = TypedParamCodec()


def params_array(max_items: int) -> xdr.Array[TypedParam]:
    """``remote_typed_param params<max_items>``."""
    return xdr.Array(TYPED_PARAM, max_items)


# ----------------------------------------------------------------------------- dict boundary


def _bad(msg: str, code: ErrorCode = ErrorCode.INVALID_ARG) -> VirtError:
    return VirtError(msg, code, ErrorDomain.NONE)


def _coerce(name: str, t: TypedParamType, v: object) -> TypedValue:
    if t is TypedParamType.STRING:
        if not isinstance(v, str):
            raise _bad(f"invalid argument: parameter '{name}' must be a string")
        return v
    if t is TypedParamType.BOOLEAN:
        return bool(v)
    if t is TypedParamType.DOUBLE:
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            raise _bad(f"invalid argument: parameter '{name}' must be a number")
        return float(v)
    if not isinstance(v, int) or isinstance(v, bool):
        raise _bad(f"invalid argument: parameter '{name}' must be an integer")
    lo, hi = _RANGES[t]
    if not lo <= v <= hi:
        raise _bad(f"invalid argument: value {v} of parameter '{name}' is out of range")
    return v


_RANGES = {
    TypedParamType.INT: (-(1 << 31), (1 << 31) - 1),
    TypedParamType.UINT: (0, (1 << 32) - 1),
    TypedParamType.LLONG: (-(1 << 63), (1 << 63) - 1),
    TypedParamType.ULLONG: (0, (1 << 64) - 1),
}


def from_dict(values: Mapping[str, object], types: Mapping[str, TypedParamType]) -> list[TypedParam]:
    """A libvirt-python params dict -> typed parameters, in the dict's order.

    Raises VirtError(VIR_ERR_ARGUMENT_UNSUPPORTED) for a name ``types`` does not know (libvirt's
    drivers refuse unknown parameters) and VIR_ERR_INVALID_ARG for a value of the wrong kind.
    """
    out: list[TypedParam] = []
    for name, v in values.items():
        t = types.get(name)
        if t is None:
            raise _bad(f"argument unsupported: parameter '{name}' not supported", ErrorCode.ARGUMENT_UNSUPPORTED)
        out.append(TypedParam(name, t, _coerce(name, t, v)))
    return out


def to_dict(params: Sequence[TypedParam]) -> dict[str, TypedValue]:
    """Typed parameters -> the dict libvirt-python returns (a later duplicate wins)."""
    return {p.field: p.value for p in params}


def validate(params: Sequence[TypedParam], types: Mapping[str, TypedParamType]) -> dict[str, TypedValue]:
    """Server side: every name known, with the expected type, none repeated -> a dict."""
    out: dict[str, TypedValue] = {}
    for p in params:
        t = types.get(p.field)
        if t is None:
            raise _bad(f"argument unsupported: parameter '{p.field}' not supported", ErrorCode.ARGUMENT_UNSUPPORTED)
        if p.type is not t:
            raise _bad(f"invalid argument: invalid type '{p.type.name.lower()}' for parameter '{p.field}', "
                       f"expected '{t.name.lower()}'")
        if p.field in out:
            raise _bad(f"invalid argument: parameter '{p.field}' occurs multiple times")
        out[p.field] = p.value
    return out
