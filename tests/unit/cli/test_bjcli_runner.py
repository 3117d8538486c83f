"""pyvirsh's one-shot block-job runner (cli/blockjob_sync.run_job) on a scripted connection:
registration before the job, --verbose progress only on 500 ms ticks without an event (and
only when it changed), --timeout aborting, pivot on READY with its error wording, a shut-off
domain not waited for, a refused registration handed back before anything started."""

from __future__ import annotations

import io
from typing import Any, cast

import pytest

from pyvirt.cli import blockjob_sync as bs
from pyvirt.cli.blockjob import CANCELED, COMPLETED, READY, commit_ready
from pyvirt.cli.ctl import CmdFailed
from pyvirt.drivers.refs import DomainRef
from pyvirt.errors import ErrorCode, VirtError
from pyvirt.remote import protocol_core as P
from pyvirt.rpc import xdr

DOM = DomainRef("d", b"\x05" * 16, 7)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeConn:
    """Answers like a daemon from a script: ``waits`` is what each wait_message returns
    (None: the time-out ran out, advancing the clock by it), ``infos`` the job progress."""

    def __init__(self, clock: Clock, waits: list[tuple[int, int] | None], infos: list[tuple[int, int]],
                 refuse: bool = False, abort_error: str | None = None) -> None:
        self.clock = clock
        self.waits = waits
        self.infos = infos
        self.refuse = refuse
        self.abort_error = abort_error
        self.log: list[str] = []
        self.timeouts: list[float | None] = []

    def call(self, proc: P.Procedure[Any, Any], args: Any) -> Any:
        self.log.append(proc.name)
        if proc is P.DOMAIN_GET_BLOCK_JOB_INFO:
            cur, end = self.infos.pop(0)
            return P.GetBlockJobInfoRet(1, 3, 0, cur, end)
        if proc is P.DOMAIN_BLOCK_JOB_ABORT:
            self.log[-1] += f" flags={args.flags}"
            if self.abort_error:
                raise VirtError(self.abort_error, ErrorCode.OPERATION_INVALID)
        return None

    def call_many(self, calls: list[tuple[P.Procedure[Any, Any], Any]]) -> list[Any]:
        out: list[Any] = []
        for i, (proc, args) in enumerate(calls):
            self.log.append(f"{proc.name} {args[0]}")
            if proc is P.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY:
                out.append(VirtError("unknown procedure", ErrorCode.NO_SUPPORT) if self.refuse and i
                           else P.EventRegisterRet(20 + i))
            else:
                out.append(None)
        return out

    def wait_message(self, timeout: float | None) -> tuple[int, bytes] | None:
        self.timeouts.append(timeout)
        item = self.waits.pop(0)
        if item is None:
            assert timeout is not None, "would block forever"
            self.clock.now += timeout
            return None
        cid, status = item
        return P.EVENT_BLOCK_JOB_2.number, xdr.encode(P.EVENT_BLOCK_JOB_2.args,
                                                      P.BlockJob2Msg(cid, DOM, "vda", 3, status))


class FakeCtl:
    def __init__(self) -> None:
        self.err = io.StringIO()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(bs, "monotonic", c)
    monkeypatch.setattr(bs.jobs, "monotonic", c)
    return c


def run(conn: FakeConn, ctl: FakeCtl, dom: DomainRef = DOM, **kw: Any) -> Any:
    opts: dict[str, Any] = {"blocking": True, "verbose": False, "timeout": None, "label": "Block commit",
                            "on_ready": None}
    opts.update(kw)
    return bs.run_job(cast(Any, ctl), cast(Any, conn), dom, "vda", lambda: conn.log.append("START"), **opts)


def test_verbose_progress_on_ticks_then_pivot(clock: Clock) -> None:
    conn = FakeConn(clock, [None, None, None, (99, COMPLETED), (21, READY)], [(0, 100), (0, 100), (40, 100), (90, 100)])
    ctl = FakeCtl()
    res = run(conn, ctl, verbose=True, on_ready=commit_ready("vda", True, False, 1))
    assert res == "\nSuccessfully pivoted"
    # registered (BLOCK_JOB then BLOCK_JOB_2) before the job; info once at start, then per tick
    assert conn.log == ["CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY 8", "CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY 16",
                        "START", "DOMAIN_GET_BLOCK_JOB_INFO", "DOMAIN_GET_BLOCK_JOB_INFO", "DOMAIN_GET_BLOCK_JOB_INFO",
                        "DOMAIN_GET_BLOCK_JOB_INFO", "DOMAIN_BLOCK_JOB_ABORT flags=3",
                        "CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY 20",
                        "CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY 21"]
    assert conn.timeouts == [0.5] * 5
    # unchanged progress is not printed again; the end is 100 %
    assert ctl.err.getvalue() == ("\rBlock commit: [  0 %]\rBlock commit: [ 40 %]\rBlock commit: [ 90 %]"
                                  "\rBlock commit: [100 %]")


def test_without_verbose_waits_without_a_timer(clock: Clock) -> None:
    conn = FakeConn(clock, [(21, COMPLETED)], [])
    ctl = FakeCtl()
    assert run(conn, ctl, label="Block Pull") == COMPLETED
    assert conn.timeouts == [None] and "DOMAIN_GET_BLOCK_JOB_INFO" not in conn.log and ctl.err.getvalue() == ""


def test_timeout_aborts(clock: Clock) -> None:
    conn = FakeConn(clock, [None], [])
    assert run(conn, FakeCtl(), timeout=2) == CANCELED
    assert conn.timeouts == [2.0]
    assert "DOMAIN_BLOCK_JOB_ABORT flags=0" in conn.log and conn.log[-1].startswith("CONNECT_DOMAIN_EVENT_CALLBACK_DE")


def test_pivot_failure_wording_and_plain_errors(clock: Clock) -> None:
    conn = FakeConn(clock, [(20, READY)], [], abort_error="block copy still active")
    with pytest.raises(CmdFailed) as e:
        run(conn, FakeCtl(), on_ready=commit_ready("vda", True, False, 0))
    assert e.value.lines == ("failed to pivot job for disk vda", "block copy still active")
    conn = FakeConn(clock, [(20, READY)], [], abort_error="nope")
    with pytest.raises(CmdFailed) as e:
        run(conn, FakeCtl(), on_ready=commit_ready("vda", False, True, 0))  # --keep-overlay: the error alone
    assert e.value.lines == ("nope",)


def test_shut_off_domain_and_not_blocking_do_not_register(clock: Clock) -> None:
    conn = FakeConn(clock, [], [])
    assert run(conn, FakeCtl(), dom=DomainRef("d", DOM.uuid, -1)) == COMPLETED
    assert conn.log == ["START"]
    conn = FakeConn(clock, [], [])
    assert run(conn, FakeCtl(), blocking=False) is None
    assert conn.log == ["START"]


def test_refused_registration_is_handed_back_before_the_job(clock: Clock) -> None:
    conn = FakeConn(clock, [], [], refuse=True)
    with pytest.raises(bs.NeedsFullDriver):
        run(conn, FakeCtl())
    assert "START" not in conn.log
    assert conn.log[-1] == "CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY 20"  # the half that worked, undone
