"""drivers.refs.DomainRef is hand-written (no dataclasses on pyvirsh's light path) but must
behave as the frozen dataclass it replaced: value equality and hash, immutability, repr,
copy/pickle, match patterns, and the XDR codec's field order."""

from __future__ import annotations

import copy
import pickle

import pytest

from pyvirt.drivers.base import DomainRef
from pyvirt.remote import protocol as P
from pyvirt.rpc import xdr

U = bytes(range(16))


def test_value_semantics() -> None:
    a, b = DomainRef("x", U, 3), DomainRef("x", U, 3)
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != DomainRef("x", U) and DomainRef("x", U).id == -1
    assert a != ("x", U, 3)  # not a tuple
    assert repr(a) == f"DomainRef(name='x', uuid={U!r}, id=3)"


def test_frozen() -> None:
    a = DomainRef("x", U, 3)
    with pytest.raises(AttributeError):
        a.id = 4
    with pytest.raises(AttributeError):
        del a.name
    with pytest.raises(AttributeError):
        a.extra = 1
    assert a.id == 3


def test_copy_pickle_match() -> None:
    a = DomainRef("x", U, 3)
    assert copy.copy(a) == a and copy.deepcopy(a) == a
    assert pickle.loads(pickle.dumps(a)) == a
    match a:
        case DomainRef(name, uuid, id):
            assert (name, uuid, id) == ("x", U, 3)
        case _:
            pytest.fail("DomainRef did not match positionally")


def test_wire_order_and_generic_codec() -> None:
    a = DomainRef("dom", U, 7)
    fast = xdr.encode(P.NonnullDomain, a)
    generic = xdr.StructCodec(DomainRef, (P.NonnullString, P.Uuid, xdr.Int))
    assert generic.field_names == ("name", "uuid", "id")
    assert xdr.encode(generic, a) == fast
    assert xdr.decode(generic, fast) == a == xdr.decode(P.NonnullDomain, fast)
