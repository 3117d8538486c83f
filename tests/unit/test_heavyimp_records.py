"""drivers.base's records are FrozenRecords at run time (drivers/frozenrec.py) and frozen
slotted dataclasses to mypy: each must behave as the dataclass the same source declares."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import sys
from pathlib import Path
from typing import Any

import pytest

from pyvirt.drivers import base
from pyvirt.drivers.frozenrec import FrozenRecord
from pyvirt.enums import EventID, LifecycleEvent


def _dataclass_twin() -> dict[str, Any]:
    """drivers/base.py executed with the real ``dataclasses.dataclass``."""
    src = Path(str(base.__file__)).read_text()
    line = "    from pyvirt.drivers.frozenrec import dataclass\n"
    assert src.count(line) == 1
    src = src.replace(line, "    from dataclasses import dataclass\n")
    ns: dict[str, Any] = {"__name__": "twin_base"}
    sys.modules["twin_base"] = type(sys)("twin_base")  # dataclasses looks the module up
    try:
        exec(compile(src, "twin_base.py", "exec"), ns)  # noqa: S102 (our own source)
    finally:
        del sys.modules["twin_base"]
    return ns


RECORDS = sorted((k for k, v in vars(base).items()
                  if isinstance(v, type) and issubclass(v, FrozenRecord) and v.__module__ == base.__name__))
TWIN = _dataclass_twin()


def _sample(cls: type[Any], salt: int) -> list[Any]:
    """Distinct positional values for every field (the record never checks types)."""
    return [f"{name}-{salt}" for name in cls.__match_args__]


def test_records_found() -> None:
    # (the snapshot, network, pool and volume refs live in drivers/refs_objects.py since session 3)
    assert len(RECORDS) >= 15 and "DomainInfo" in RECORDS and "LifecycleEventMsg" in RECORDS


@pytest.mark.parametrize("name", RECORDS)
def test_record_matches_dataclass(name: str) -> None:
    ours: Any = getattr(base, name)
    theirs: Any = TWIN[name]
    assert hasattr(theirs, "__dataclass_fields__")  # the twin is a real dataclass
    names = tuple(f.name for f in dataclasses.fields(theirs))
    assert ours.__match_args__ == theirs.__match_args__ == names
    assert ours.__doc__ == theirs.__doc__
    assert (ours.__qualname__, ours.__module__) == (theirs.__qualname__.replace("twin_", ""), base.__name__)
    for salt in (1, 2):
        args = _sample(ours, salt)
        a, b = ours(*args), theirs(*args)
        assert repr(a) == repr(b)
        assert hash(a) == hash(b)
        assert a == ours(*args) and a != ours(*_sample(ours, salt + 10))
        assert (a == b) is False  # another class, as between two dataclasses
        kw = dict(zip(names, args, strict=True))
        assert ours(**kw) == a and repr(theirs(**kw)) == repr(a)
        for n in names:
            assert getattr(a, n) == getattr(b, n)
        assert pickle.loads(pickle.dumps(a)) == a and copy.deepcopy(a) == a and copy.copy(a) == a
        with pytest.raises(AttributeError, match="cannot assign to field"):
            setattr(a, names[0], 1)
        with pytest.raises(AttributeError, match="cannot delete field"):
            delattr(a, names[0])
        with pytest.raises(AttributeError):
            a.extra = 1  # slotted: no other attributes
    assert not hasattr(ours(*_sample(ours, 0)), "__dict__")
    # dataclasses' own functions see the same dataclass
    a, b = ours(*_sample(ours, 3)), theirs(*_sample(ours, 3))
    assert all(map(dataclasses.is_dataclass, (a, ours)))  # (no type narrowing of a)
    assert [(f.name, f.type, f.default, f.init, f.repr, f.compare, f.hash, f.kw_only)
            for f in dataclasses.fields(a)] == \
        [(f.name, f.type, f.default, f.init, f.repr, f.compare, f.hash, f.kw_only)
         for f in dataclasses.fields(b)]
    assert dataclasses.asdict(a) == dataclasses.asdict(b)
    assert dataclasses.astuple(a) == dataclasses.astuple(b)
    changed = dataclasses.replace(a, **{names[-1]: "changed"})
    assert type(changed) is ours and repr(changed) == repr(dataclasses.replace(b, **{names[-1]: "changed"}))
    # missing and unexpected arguments fail as with the dataclass
    required = [f.name for f in dataclasses.fields(theirs)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    for bad in ((), tuple(range(len(names) + 1))):
        if len(bad) < len(required) or len(bad) > len(names):
            with pytest.raises(TypeError):
                ours(*bad)
            with pytest.raises(TypeError):
                theirs(*bad)
    with pytest.raises(TypeError):
        ours(*_sample(ours, 0), **{names[0]: 1})
    with pytest.raises(TypeError):
        ours(*_sample(ours, 0)[:len(required)], nosuchfield=1)


def test_defaults_and_properties() -> None:
    s = base.BlockStats(1, 2, 3, 4)
    assert (s.errs, s.flush_req, s.flush_total_times) == (-1, 0, 0)
    assert base.BlockStats(1, 2, 3, 4, errs=7).errs == 7
    ref = base.DomainRef("d", b"\0" * 16)
    ev = base.LifecycleEventMsg(ref, LifecycleEvent.STARTED, 1)
    assert ev.event_id is EventID.LIFECYCLE and isinstance(ev, base.DomainEvent)
    assert base.RebootEventMsg(ref).event_id is EventID.REBOOT
    with pytest.raises(NotImplementedError):
        _ = base.DomainEvent(ref).event_id
    match ev:
        case base.LifecycleEventMsg(d, what, detail):
            assert (d, what, detail) == (ref, LifecycleEvent.STARTED, 1)
        case _:
            pytest.fail("no match")


def test_dataclass_fields_per_class() -> None:
    # a parent's fields asked first must not answer for its subclasses (each class caches its own)
    assert [f.name for f in dataclasses.fields(base.DomainEvent)] == ["dom"]
    assert [f.name for f in dataclasses.fields(base.LifecycleEventMsg)] == ["dom", "event", "detail"]
    assert [f.name for f in dataclasses.fields(base.RebootEventMsg)] == ["dom"]


def test_non_record_params_use_real_dataclass() -> None:
    from pyvirt.drivers.frozenrec import dataclass

    @dataclass(order=True)
    class P:
        x: int

    assert dataclasses.is_dataclass(P) and P(1) < P(2)


def test_event_bus() -> None:
    bus = base.EventBus()
    seen: list[base.DomainEvent] = []
    tok = bus.subscribe(seen.append)
    ev = base.RebootEventMsg(base.DomainRef("d", b"\0" * 16))
    bus.publish(ev)
    bus.unsubscribe(tok)
    bus.publish(ev)
    assert seen == [ev] and bus.subscribe(seen.append) == tok + 1
