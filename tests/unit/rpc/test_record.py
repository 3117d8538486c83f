"""pyvirt.rpc.record.Record behaves like the typing.NamedTuple it is typed as.

Each check builds the same record both ways and compares what a caller can observe:
construction (positional, keyword, defaults, the errors), tuple behaviour, the NamedTuple
helpers, pickling and copying, pattern matching, immutability.
"""

from __future__ import annotations

import copy
import pickle
from typing import Any, NamedTuple

import pytest

from pyvirt.rpc import xdr

# declared the way protocol modules declare their records
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple as Record
else:
    from pyvirt.rpc.record import Record


class NT(NamedTuple):
    name: str
    uuid: bytes
    id: int = -1


class RC(Record):  # at module level, as pickle needs
    name: str
    uuid: bytes
    id: int = -1


def _outcome(fn: Any) -> tuple[str, Any]:
    try:
        return "ok", tuple(fn())
    except Exception as e:  # noqa: BLE001 - the kind of failure is what is compared
        return type(e).__name__, None


@pytest.mark.parametrize(("args", "kwargs"), [
    (("a", b"u"), {}),
    (("a", b"u", 3), {}),
    (("a",), {"uuid": b"u"}),
    ((), {"id": 4, "uuid": b"u", "name": "n"}),
    (("a",), {}),  # missing uuid
    (("a", b"u", 3, 4), {}),  # too many
    (("a", b"u"), {"name": "b"}),  # twice
    (("a", b"u"), {"other": 1}),  # unknown
])
def test_construction_matches(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    assert _outcome(lambda: RC(*args, **kwargs)) == _outcome(lambda: NT(*args, **kwargs))


def test_tuple_behaviour() -> None:
    r, n = RC("a", b"u", 2), NT("a", b"u", 2)
    assert r == n == ("a", b"u", 2)
    assert hash(r) == hash(n)
    assert r != RC("a", b"u", 3)
    assert tuple(r) == tuple(n) and len(r) == 3 and r[1] == b"u" and r[-1] == 2
    name, uuid, id_ = r
    assert (name, uuid, id_) == ("a", b"u", 2)
    assert (r.name, r.uuid, r.id) == (n.name, n.uuid, n.id)
    assert RC("a", b"u") < RC("b", b"u")
    assert repr(r) == repr(n).replace("NT(", "RC(")
    assert isinstance(r, tuple)
    from pyvirt.rpc.record import Record as RuntimeRecord

    assert isinstance(r, RuntimeRecord)


def test_namedtuple_helpers() -> None:
    r, n = RC("a", b"u", 2), NT("a", b"u", 2)
    assert RC._fields == NT._fields == ("name", "uuid", "id")
    assert RC._field_defaults == NT._field_defaults == {"id": -1}
    assert RC.__match_args__ == NT.__match_args__
    assert r._asdict() == n._asdict()
    assert r._replace(id=7) == n._replace(id=7) and type(r._replace(id=7)) is RC
    with pytest.raises(ValueError):
        n._replace(bogus=1)
    with pytest.raises(ValueError):
        r._replace(bogus=1)
    assert RC._make(["x", b"y", 1]) == NT._make(["x", b"y", 1])
    with pytest.raises(TypeError):
        NT._make(["x"])
    with pytest.raises(TypeError):
        RC._make(["x"])
    assert RC.name.__doc__ == NT.name.__doc__


def test_pickle_copy_and_match() -> None:
    r = RC("a", b"u", 2)
    for clone in (pickle.loads(pickle.dumps(r)), copy.copy(r), copy.deepcopy(r)):
        assert clone == r and type(clone) is RC
    match r:
        case RC(name, _, id_):
            assert (name, id_) == ("a", 2)
        case _:
            pytest.fail("class pattern did not match")


def test_immutable_and_slotted() -> None:
    r = RC("a", b"u")
    with pytest.raises(AttributeError):
        r.name = "b"
    with pytest.raises(AttributeError):
        r.other = 1  # no __dict__, as a NamedTuple instance
    assert not hasattr(r, "__dict__")


def test_declaration_errors_match() -> None:
    with pytest.raises(ValueError):
        class _Bad(Record):
            _private: int
    with pytest.raises(TypeError):
        class _Order(Record):
            a: int = 0
            b: int


def test_subclass_adds_methods_only() -> None:
    class Named(RC):
        def label(self) -> str:
            return f"{self.name}#{self.id}"

    x = Named("a", b"u", 5)
    assert x.label() == "a#5" and x == RC("a", b"u", 5) and Named._fields == RC._fields
    assert not hasattr(x, "__dict__")


def test_struct_codec_maps_records_by_field_order() -> None:
    codec = xdr.struct_codec(RC, xdr.String(), xdr.FixedOpaque(2), xdr.Int)
    assert codec.field_names == ("name", "uuid", "id")
    r = RC("dom", b"\1\2", -1)
    assert xdr.decode(codec, xdr.encode(codec, r)) == r
