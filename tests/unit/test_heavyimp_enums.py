"""pyvirt.errors / pyvirt.enums build their IntEnums in one step (errors.int_table); each
table must be exactly the enum class syntax would have built from the same source."""

from __future__ import annotations

import enum
import pickle
import types
from pathlib import Path

import pytest

import pyvirt.enums
import pyvirt.errors


def _class_syntax_twin(mod: types.ModuleType) -> dict[str, object]:
    """The module's source with every table declared as an ordinary ``class X(IntEnum)``."""
    src = Path(str(mod.__file__)).read_text()
    assert src.count("@int_table\n") == src.count("(IntTable):") > 0
    src = src.replace("@int_table\n", "").replace("(IntTable):", "(IntEnum):")
    src = src.replace("from pyvirt.errors import IntTable, int_table", "from enum import IntEnum")
    ns: dict[str, object] = {"__name__": mod.__name__}
    exec(compile(src, str(mod.__file__), "exec"), ns)  # noqa: S102 (our own source, rebuilt)
    return ns


def _tables(mod: types.ModuleType) -> list[type[enum.IntEnum]]:
    return [v for v in vars(mod).values()
            if isinstance(v, type) and issubclass(v, enum.IntEnum) and v.__module__ == mod.__name__]


@pytest.mark.parametrize("mod", [pyvirt.errors, pyvirt.enums], ids=lambda m: m.__name__)
def test_tables_equal_class_syntax(mod: types.ModuleType) -> None:
    twin = _class_syntax_twin(mod)
    tables = _tables(mod)
    assert len(tables) >= 3
    for t in tables:
        ref = twin[t.__name__]
        assert isinstance(ref, type) and issubclass(ref, enum.IntEnum)
        enum._test_simple_enum(t, ref)  # type: ignore[attr-defined]  # the stdlib's own check
        assert list(t.__members__.items()) == [(k, t(v.value)) for k, v in ref.__members__.items()]
        assert (t.__doc__, t.__qualname__, t.__module__) == (ref.__doc__, ref.__qualname__, ref.__module__)
        for a, b in zip(t, ref, strict=True):
            assert (str(a), format(a), f"{a:d}", a.name, a.value, a.__doc__, hash(a)) == \
                (str(b), format(b), f"{b:d}", b.name, b.value, b.__doc__, hash(b))
            assert repr(a) == repr(b)  # same class name and module: same repr
            assert pickle.loads(pickle.dumps(a)) is a


def test_lookups_and_errors() -> None:
    from pyvirt.enums import DomainState
    from pyvirt.errors import ErrorCode, ErrorDomain, NoDomain, VirtError

    assert DomainState(1) is DomainState.RUNNING and DomainState["PAUSED"] == 3
    with pytest.raises(ValueError):
        DomainState(99)
    e = NoDomain("gone")
    assert e.code is ErrorCode.NO_DOMAIN and isinstance(e.code, enum.IntEnum)
    assert int(ErrorDomain.QEMU) == 10 and f"{ErrorCode.NO_DOMAIN}" == "42"
    # VirtError maps known wire numbers through the tables' value maps, keeps unknown ones
    known, unknown = VirtError("x", 42, 10), VirtError("x", 999, 999)
    assert known.code is ErrorCode.NO_DOMAIN and known.domain is ErrorDomain.QEMU
    assert (unknown.code, unknown.domain) == (999, 999) and type(unknown.code) is int
