"""A procedure and its *_FLAGS twin served by one handler (remote/handlers.py): the args as
decoded from the wire reach the driver with the twin's flags, and with 0 for the older
procedure that has none."""

from __future__ import annotations

from typing import Any

import pytest

from pyvirt.drivers.base import DomainRef
from pyvirt.remote import handlers
from pyvirt.remote import protocol as P
from pyvirt.rpc import xdr

DOM = DomainRef("d", bytes(range(16)), -1)


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def __getattr__(self, name: str) -> Any:
        async def method(*args: Any) -> Any:
            self.calls.append((name, args))
            return DOM

        return method


class _Session:
    def __init__(self) -> None:
        self.drv = _Recorder()


CASES: list[tuple[P.Procedure[Any, Any], Any, tuple[str, tuple[Any, ...]]]] = [
    (P.DOMAIN_DEFINE_XML, P.DefineXmlArgs("<domain/>"), ("define_xml", ("<domain/>", 0))),
    (P.DOMAIN_DEFINE_XML_FLAGS, P.DefineXmlFlagsArgs("<domain/>", 1), ("define_xml", ("<domain/>", 1))),
    (P.DOMAIN_UNDEFINE, P.DomArgs(DOM), ("undefine", (DOM, 0))),
    (P.DOMAIN_UNDEFINE_FLAGS, P.DomFlagsArgs(DOM, 6), ("undefine", (DOM, 6))),
    (P.DOMAIN_DESTROY, P.DomArgs(DOM), ("destroy", (DOM, 0))),
    (P.DOMAIN_DESTROY_FLAGS, P.DomFlagsArgs(DOM, 1), ("destroy", (DOM, 1))),
    (P.DOMAIN_SHUTDOWN, P.DomArgs(DOM), ("shutdown", (DOM, 0))),
    (P.DOMAIN_SHUTDOWN_FLAGS, P.DomFlagsArgs(DOM, 4), ("shutdown", (DOM, 4))),
]


@pytest.mark.parametrize(("proc", "args", "want"), CASES, ids=[str(c[0].number) for c in CASES])
async def test_twin_flags_reach_driver(proc: P.Procedure[Any, Any], args: Any, want: tuple[str, tuple[Any, ...]]) -> None:
    decoded = xdr.decode(proc.args, xdr.encode(proc.args, args))
    s: Any = _Session()
    ret = await handlers.HANDLERS[proc.number](s, decoded)
    assert s.drv.calls == [want]
    # the reply is what the procedure declares: a domain for define, nothing otherwise
    assert ret == (P.DomRet(DOM) if want[0] == "define_xml" else None)
