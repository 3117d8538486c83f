"""Framing, the 32 MiB cap, and remote_error encoding as libvirtd sends it."""

from __future__ import annotations

import pytest

from pyvirt.errors import ErrorCode, ErrorDomain, VirtError
from pyvirt.rpc import packet as pk


def test_frame_header_layout() -> None:
    raw = pk.frame(0x20008086, 1, 66, pk.MessageType.CALL, 0, pk.MessageStatus.OK)
    # length word counts itself: 4 + 24-byte header
    assert raw.hex() == "0000001c" "20008086" "00000001" "00000042" "00000000" "00000000" "00000000"
    hdr = pk.parse_header(raw[4:])
    assert (hdr.prog, hdr.vers, hdr.proc, hdr.type, hdr.serial, hdr.status) == (0x20008086, 1, 66, 0, 0, 0)


def test_frame_reader_splits_and_buffers() -> None:
    a = pk.frame(1, 1, 1, 0, 0, 0, b"abcd")
    b = pk.frame(1, 1, 2, 0, 1, 0)
    r = pk.FrameReader()
    stream = a + b
    got = list(r.feed(stream[:5])) + list(r.feed(stream[5:40])) + list(r.feed(stream[40:]))
    assert got == [a[4:], b[4:]]
    assert r.pending == 0


@pytest.mark.parametrize("length", [0, 27, pk.MESSAGE_MAX + 1, 0xFFFFFFFF])
def test_frame_reader_rejects_bad_lengths(length: int) -> None:
    r = pk.FrameReader()
    with pytest.raises(pk.FramingError):
        list(r.feed(length.to_bytes(4, "big") + b"\0" * 24))


def test_frame_over_cap_refused() -> None:
    with pytest.raises(VirtError):
        pk.frame(1, 1, 1, 0, 0, 0, b"\0" * pk.PAYLOAD_MAX + b"\0")


# libvirtd 9.0's reply to an unknown procedure (captured from the real daemon).
UNKNOWN_9999 = bytes.fromhex(
    "00000027000000070000000100000017756e6b6e6f776e2070726f6365647572653a203939393900000000"
    "02000000000000000100000002257300000000000100000017756e6b6e6f776e2070726f63656475726"
    "53a20393939390000000000ffffffffffffffff00000000"
)
# The test driver's "Domain not found" (rpc-traces/virsh-9.0.0-test-driver/error.jsonl).
NO_DOMAIN = bytes.fromhex(
    "0000002a0000000c0000000100000010446f6d61696e206e6f7420666f756e640000000200000000000000"
    "0100000010446f6d61696e206e6f7420666f756e640000000000000000ffffffffffffffff00000000"
)


def test_rpc_error_bytes_match_libvirtd() -> None:
    assert pk.encode_error(pk.rpc_error("unknown procedure: 9999")) == UNKNOWN_9999


def test_virt_error_bytes_match_libvirtd() -> None:
    e = VirtError("Domain not found", ErrorCode.NO_DOMAIN, ErrorDomain.TEST)
    assert pk.encode_error(pk.error_from_virt(e)) == NO_DOMAIN


def test_error_roundtrip_to_virt_error() -> None:
    err = pk.decode_error(NO_DOMAIN)
    e = pk.error_to_virt(err)
    assert (e.code, e.domain, e.message) == (ErrorCode.NO_DOMAIN, ErrorDomain.TEST, "Domain not found")
    assert err.str1 == "Domain not found" and err.int1 == -1


def test_generic_prefix_split_into_str1_str2() -> None:
    e = VirtError("Requested operation is not valid: domain is not running", ErrorCode.OPERATION_INVALID)
    w = pk.error_from_virt(e)
    assert (w.str1, w.str2) == ("Requested operation is not valid: %s", "domain is not running")


def test_truncated_error_payload() -> None:
    with pytest.raises(VirtError):
        pk.decode_error(NO_DOMAIN[:20])
