"""protocol.py assembles the procedure tables from the family modules (proto_*.py).

The families are star-imported there, so these tests hold what a star import would let
slip: a procedure declared in a module the table does not read, one number declared twice
(the dict would keep only the last), one name bound to different objects in two families
(the last import would shadow the other), a family importing another family, and a record
declared as a ``typing.NamedTuple`` (costs ~5x a Record at every daemon/client start).
"""

from __future__ import annotations

import ast
import pkgutil
import types
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import pyvirt.remote
from pyvirt.remote import protocol as P
from pyvirt.rpc.record import Record

REMOTE_DIR = Path(pyvirt.remote.__file__).parent


def _family_names() -> list[str]:
    """Every module of pyvirt.remote that declares protocol structures, found on disk."""
    return sorted(m.name for m in pkgutil.iter_modules([str(REMOTE_DIR)])
                  if m.name == "protocol_core" or m.name.startswith("proto_"))


def _declared(mods: list[types.ModuleType]) -> list[P.Procedure[Any, Any]]:
    """Each Procedure object defined (not merely imported) in the given modules, once."""
    seen: dict[int, P.Procedure[Any, Any]] = {}
    for mod in mods:
        for p in vars(mod).values():
            if isinstance(p, P.Procedure):
                seen[id(p)] = p
    return list(seen.values())


def _duplicate_numbers(procs: list[P.Procedure[Any, Any]]) -> dict[tuple[bool, int], int]:
    counts = Counter((p.message, p.number) for p in procs)
    return {k: n for k, n in counts.items() if n != 1}


def _shadowed(mods: list[types.ModuleType]) -> dict[str, list[str]]:
    """Public names bound to different objects in different modules."""
    owners: dict[str, dict[int, list[str]]] = {}
    for mod in mods:
        for name, obj in vars(mod).items():
            if name.startswith("_") or isinstance(obj, types.ModuleType):
                continue
            owners.setdefault(name, {}).setdefault(id(obj), []).append(mod.__name__)
    return {n: [m for ms in by_obj.values() for m in ms]
            for n, by_obj in owners.items() if len(by_obj) > 1}


def test_every_family_module_feeds_the_tables() -> None:
    on_disk = _family_names()
    assert len(on_disk) > 2, on_disk
    assert sorted(m.__name__.rsplit(".", 1)[1] for m in P.FAMILIES) == on_disk


def test_each_declared_number_once_and_in_the_tables() -> None:
    procs = _declared(list(P.FAMILIES))
    assert _duplicate_numbers(procs) == {}
    calls = {p.number: p for p in procs if not p.message}
    events = {p.number: p for p in procs if p.message}
    # the same objects, not equal look-alikes: handlers compare procedures by identity
    assert set(P.PROCEDURES) == set(calls)
    assert set(P.EVENTS) == set(events)
    assert all(P.PROCEDURES[n] is p for n, p in calls.items())
    assert all(P.EVENTS[n] is p for n, p in events.items())
    # and every one is reachable as P.<its variable name>
    for mod in P.FAMILIES:
        for name, obj in vars(mod).items():
            if isinstance(obj, P.Procedure) and not name.startswith("_"):
                assert getattr(P, name) is obj, name


def test_duplicate_detection_works() -> None:
    # a second declaration of an existing number, in a module of its own
    fake = types.ModuleType("pyvirt.remote.proto_fake")
    fake.AGAIN = P.Procedure(P.DOMAIN_CREATE.number, "DOMAIN_CREATE", P.DOM_ARGS, P.V)  # type: ignore[attr-defined]
    assert _duplicate_numbers(_declared([*P.FAMILIES, fake])) == {(False, P.DOMAIN_CREATE.number): 2}
    fake.DomArgs = tuple  # type: ignore[attr-defined]
    assert "DomArgs" in _shadowed([*P.FAMILIES, fake])


def test_no_name_shadowed_between_families() -> None:
    assert _shadowed(list(P.FAMILIES)) == {}


def test_protocol_reexports_every_public_name() -> None:
    for mod in P.FAMILIES:
        for name, obj in vars(mod).items():
            if not name.startswith("_") and not isinstance(obj, types.ModuleType):
                assert getattr(P, name) is obj, f"{mod.__name__}.{name}"


@pytest.mark.parametrize("name", [n for n in _family_names() if n.startswith("proto_")])
def test_family_imports_only_core_and_common(name: str) -> None:
    tree = ast.parse((REMOTE_DIR / f"{name}.py").read_text())
    allowed = {"pyvirt.remote.protocol_core", "pyvirt.remote.proto_common"}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pyvirt.remote"):
            assert node.module in allowed and node.module != f"pyvirt.remote.{name}", (name, node.module)
        if isinstance(node, ast.Import):
            assert not any(a.name.startswith("pyvirt.remote") for a in node.names), name


def test_records_are_rpc_records() -> None:
    # a tuple class with _fields declared in a family: typing.NamedTuple would pass as a
    # record everywhere else, so look at the base
    records = [obj for mod in P.FAMILIES for obj in vars(mod).values()
               if isinstance(obj, type) and issubclass(obj, tuple) and hasattr(obj, "_fields")
               and obj.__module__ == mod.__name__]
    assert len(records) > 100
    assert [r.__qualname__ for r in records if not issubclass(r, Record)] == []
