"""DOMAIN_BLOCK_STATS_FLAGS / DOMAIN_BLOCK_COPY server handlers and client methods, wired
back to back without a socket: libvirt's two-call nparams dance, the nparams limit, and
block copy parameters validated and handed to the driver."""

from __future__ import annotations

from typing import Any, cast

import pytest

from pyvirt.drivers.base import BlockStats, DomainRef
from pyvirt.errors import ErrorCode, VirtError
from pyvirt.remote import blockjob_handlers as H
from pyvirt.remote import protocol as P
from pyvirt.remote.blockjob_client import RemoteBlockJobMixin
from pyvirt.rpc import xdr
from pyvirt.rpc.typedparams import TypedParam, TypedParamType

DOM = DomainRef("g", bytes(16), 1)


class FakeDriver:
    def __init__(self) -> None:
        self.copies: list[tuple[Any, ...]] = []
        self.stats_calls = 0

    async def block_stats_flags(self, dom: DomainRef, disk: str, flags: int = 0) -> BlockStats:
        self.stats_calls += 1
        return BlockStats(1, 2, 3, 4, -1, 5, 6, 7, 8 + len(disk))

    async def block_copy(self, dom: DomainRef, disk: str, destxml: str, bandwidth: int, flags: int = 0,
                         *, granularity: int = 0, buf_size: int = 0) -> None:
        self.copies.append((disk, destxml, bandwidth, flags, granularity, buf_size))


class Session:
    def __init__(self) -> None:
        self.drv = FakeDriver()


class LoopbackClient(RemoteBlockJobMixin):
    """_call encodes the args, runs the handler, and decodes the reply, as over the wire."""

    def __init__(self, s: Session) -> None:
        self.s = s
        self.calls: list[int] = []

    async def _call(self, proc: P.Procedure[Any, Any], args: Any = None) -> Any:
        self.calls.append(proc.number)
        a = xdr.decode(proc.args, xdr.encode(proc.args, args))
        handler: Any = {P.DOMAIN_BLOCK_STATS_FLAGS.number: H.block_stats_flags,
                   P.DOMAIN_BLOCK_COPY.number: H.block_copy}[proc.number]
        r = await handler(cast(Any, self.s), a)
        return xdr.decode(proc.ret, xdr.encode(proc.ret, r))


async def test_block_stats_flags_count_then_values() -> None:
    s = Session()
    r = await H.block_stats_flags(cast(Any, s), P.BlockStatsFlagsArgs(DOM, "vda", 0, 0))
    assert r == P.BlockStatsFlagsRet([], 8)
    r = await H.block_stats_flags(cast(Any, s), P.BlockStatsFlagsArgs(DOM, "vda", 3, 0))
    assert [p.field for p in r.params] == ["wr_bytes", "wr_operations", "rd_bytes"] and r.nparams == 3
    with pytest.raises(VirtError) as e:
        await H.block_stats_flags(cast(Any, s), P.BlockStatsFlagsArgs(DOM, "vda", 17, 0))
    assert e.value.code == ErrorCode.RPC


async def test_client_and_server_agree() -> None:
    s = Session()
    c = LoopbackClient(s)
    st = await c.block_stats_flags(DOM, "vdb", 4)
    assert st == BlockStats(1, 2, 3, 4, -1, 5, 6, 7, 11)
    assert c.calls == [243, 243] and s.drv.stats_calls == 2
    await c.block_copy(DOM, "vda", "<disk/>", 1 << 20, 2, granularity=65536, buf_size=1 << 22)
    await c.block_copy(DOM, "vdb", "<disk/>", 0)
    assert s.drv.copies == [("vda", "<disk/>", 1 << 20, 2, 65536, 1 << 22), ("vdb", "<disk/>", 0, 0, 0, 0)]


async def test_block_copy_handler_refuses_bad_parameters() -> None:
    s = Session()
    for params, code in (([TypedParam("speed", TypedParamType.ULLONG, 1)], ErrorCode.ARGUMENT_UNSUPPORTED),
                         ([TypedParam("granularity", TypedParamType.ULLONG, 1)], ErrorCode.INVALID_ARG)):
        with pytest.raises(VirtError) as e:
            await H.block_copy(cast(Any, s), P.BlockCopyArgs(DOM, "vda", "<disk/>", params, 0))
        assert e.value.code == code
    assert s.drv.copies == []
