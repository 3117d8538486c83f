"""remote_typed_param codec: every arm round trips with libvirt's byte layout, truncated or
malformed input raises XdrError, and the dict helpers refuse what libvirt refuses."""

from __future__ import annotations

import struct

import pytest

from pyvirt.drivers.base import BlockStats, DomainRef
from pyvirt.errors import ErrorCode, VirtError
from pyvirt.remote import protocol as P
from pyvirt.remote.typedparam_maps import BLOCK_COPY_TYPES, params_to_stats, stats_to_params
from pyvirt.rpc import xdr
from pyvirt.rpc.typedparams import (
    TYPED_PARAM,
    TypedParam,
    TypedParamType,
    from_dict,
    params_array,
    to_dict,
    validate,
)

T = TypedParamType


def xstr(s: str) -> bytes:
    b = s.encode()
    return struct.pack(">I", len(b)) + b + b"\0" * (-len(b) % 4)


CASES = [
    (TypedParam("i", T.INT, -5), struct.pack(">i", 1) + struct.pack(">i", -5)),
    (TypedParam("ui", T.UINT, 0xFFFFFFFF), struct.pack(">i", 2) + struct.pack(">I", 0xFFFFFFFF)),
    (TypedParam("l", T.LLONG, -(1 << 40)), struct.pack(">i", 3) + struct.pack(">q", -(1 << 40))),
    (TypedParam("bandwidth", T.ULLONG, 1 << 63), struct.pack(">i", 4) + struct.pack(">Q", 1 << 63)),
    (TypedParam("d", T.DOUBLE, 2.5), struct.pack(">i", 5) + struct.pack(">d", 2.5)),
    (TypedParam("b", T.BOOLEAN, True), struct.pack(">i", 6) + struct.pack(">i", 1)),
    (TypedParam("s", T.STRING, "qcow2é"), struct.pack(">i", 7) + xstr("qcow2é")),
]


@pytest.mark.parametrize(("param", "tail"), CASES, ids=lambda c: c.type.name if isinstance(c, TypedParam) else "")
def test_round_trip_and_wire_layout(param: TypedParam, tail: bytes) -> None:
    wire = xdr.encode(TYPED_PARAM, param)
    assert wire == xstr(param.field) + tail
    back = xdr.decode(TYPED_PARAM, wire)
    assert back == param
    assert type(back.value) is type(param.value)


@pytest.mark.parametrize(("param", "tail"), CASES, ids=lambda c: c.type.name if isinstance(c, TypedParam) else "")
def test_every_truncation_is_an_error(param: TypedParam, tail: bytes) -> None:
    wire = xdr.encode(TYPED_PARAM, param)
    for n in range(len(wire)):
        with pytest.raises(xdr.XdrError):
            xdr.decode(TYPED_PARAM, wire[:n])


def test_boolean_reads_any_nonzero_as_true() -> None:
    wire = xstr("b") + struct.pack(">ii", 6, 7)
    assert xdr.decode(TYPED_PARAM, wire) == TypedParam("b", T.BOOLEAN, True)
    assert xdr.decode(TYPED_PARAM, xstr("b") + struct.pack(">ii", 6, 0)).value is False


@pytest.mark.parametrize("disc", [0, 8, -1])
def test_unknown_type_is_refused(disc: int) -> None:
    with pytest.raises(xdr.XdrError, match="typed parameter type"):
        xdr.decode(TYPED_PARAM, xstr("x") + struct.pack(">ii", disc, 0))


def test_out_of_range_values_do_not_encode() -> None:
    for p in (TypedParam("x", T.UINT, -1), TypedParam("x", T.INT, 1 << 31), TypedParam("x", T.STRING, 3)):
        with pytest.raises(xdr.XdrError):
            xdr.encode(TYPED_PARAM, p)


def test_array_limit_both_ways() -> None:
    arr = params_array(2)
    ps = [TypedParam("a", T.INT, 1), TypedParam("b", T.STRING, "x")]
    assert xdr.decode(arr, xdr.encode(arr, ps)) == ps
    with pytest.raises(xdr.XdrError, match="exceeds maximum"):
        xdr.encode(arr, ps + ps)
    big = xdr.encode(params_array(3), ps + ps[:1])
    with pytest.raises(xdr.XdrError, match="exceeds maximum"):
        xdr.decode(arr, big)


def test_block_copy_args_round_trip() -> None:
    dom = DomainRef("g", bytes(range(16)), 3)
    params = from_dict({"bandwidth": 1 << 20, "granularity": 65536, "buf-size": 1 << 24}, BLOCK_COPY_TYPES)
    a = P.BlockCopyArgs(dom, "vda", "<disk/>", params, 3)
    codec = P.DOMAIN_BLOCK_COPY.args
    assert xdr.decode(codec, xdr.encode(codec, a)) == a
    assert [p.type for p in params] == [T.ULLONG, T.UINT, T.ULLONG]


def test_from_dict_refuses_unknown_names_and_wrong_kinds() -> None:
    with pytest.raises(VirtError) as e:
        from_dict({"speed": 1}, BLOCK_COPY_TYPES)
    assert e.value.code == ErrorCode.ARGUMENT_UNSUPPORTED
    for bad in ({"bandwidth": -1}, {"bandwidth": "1"}, {"granularity": 1 << 32}, {"bandwidth": True}):
        with pytest.raises(VirtError) as e:
            from_dict(bad, BLOCK_COPY_TYPES)
        assert e.value.code == ErrorCode.INVALID_ARG


def test_validate_checks_type_and_duplicates() -> None:
    ok = [TypedParam("bandwidth", T.ULLONG, 5)]
    assert validate(ok, BLOCK_COPY_TYPES) == {"bandwidth": 5}
    with pytest.raises(VirtError, match="expected 'ullong'"):
        validate([TypedParam("bandwidth", T.LLONG, 5)], BLOCK_COPY_TYPES)
    with pytest.raises(VirtError, match="multiple"):
        validate(ok + ok, BLOCK_COPY_TYPES)
    with pytest.raises(VirtError) as e:
        validate([TypedParam("nope", T.INT, 1)], BLOCK_COPY_TYPES)
    assert e.value.code == ErrorCode.ARGUMENT_UNSUPPORTED


def test_block_stats_params_libvirt_names_and_order() -> None:
    st = BlockStats(1, 2, 3, 4, -1, 5, 6, 7, 8)
    ps = stats_to_params(st)
    assert list(to_dict(ps)) == ["wr_bytes", "wr_operations", "rd_bytes", "rd_operations", "flush_operations",
                                 "wr_total_times", "rd_total_times", "flush_total_times"]
    assert all(p.type is T.LLONG for p in ps)
    assert params_to_stats(ps) == st
    with_errs = BlockStats(1, 2, 3, 4, 9, 5, 6, 7, 8)
    assert to_dict(stats_to_params(with_errs))["errs"] == 9
    assert params_to_stats(stats_to_params(with_errs)) == with_errs
    ret = P.BlockStatsFlagsRet(ps, len(ps))
    assert xdr.decode(P.DOMAIN_BLOCK_STATS_FLAGS.ret, xdr.encode(P.DOMAIN_BLOCK_STATS_FLAGS.ret, ret)) == ret


def test_facade_blockcopy_refuses_unknown_parameter_before_the_driver() -> None:
    from pyvirt import libvirt

    conn = libvirt.open("test:///default")
    try:
        dom = conn.lookupByName("test")
        with pytest.raises(libvirt.libvirtError) as e:
            dom.blockCopy("vda", "<disk type='file'><source file='/tmp/x'/></disk>", {"speed": 1}, 0)
        assert e.value.get_error_code() == ErrorCode.ARGUMENT_UNSUPPORTED
        assert "speed" in str(e.value)
    finally:
        conn.close()
