"""The hand-written remote_nonnull_domain codec against the generic struct codec."""

from __future__ import annotations

import pytest

from pyvirt.drivers.base import DomainRef
from pyvirt.remote import protocol as P
from pyvirt.rpc import xdr

GENERIC = xdr.struct_codec(DomainRef, P.NonnullString, P.Uuid, xdr.Int)


@pytest.mark.parametrize("name", ["", "a", "ab", "abc", "abcd", "héllo-wörld"])
def test_fast_domain_codec_equals_generic(name: str) -> None:
    d = DomainRef(name, bytes(range(16)), -1)
    raw = xdr.encode(P.NonnullDomain, d)
    assert raw == xdr.encode(GENERIC, d)
    assert xdr.decode(P.NonnullDomain, raw) == d


def test_fast_domain_codec_errors() -> None:
    raw = xdr.encode(P.NonnullDomain, DomainRef("test", b"\1" * 16, 1))
    for cut in range(len(raw)):
        with pytest.raises(xdr.XdrError):
            xdr.decode(P.NonnullDomain, raw[:cut])
    with pytest.raises(xdr.XdrError):
        xdr.encode(P.NonnullDomain, DomainRef("x", b"short", 1))


def test_list_all_domains_reply_bytes() -> None:
    # CONNECT_LIST_ALL_DOMAINS reply of rpc-traces/virsh-9.0.0-test-driver/list-all.jsonl
    t = DomainRef("test", bytes.fromhex("6695eb01f6a4830479aa97f2502e193f"), 1)
    raw = xdr.encode(P.CONNECT_LIST_ALL_DOMAINS.ret, P.ListAllDomainsRet([t], 1))
    assert raw.hex() == "0000000100000004746573746695eb01f6a4830479aa97f2502e193f0000000100000001"
