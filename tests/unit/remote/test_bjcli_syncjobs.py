"""The one-shot client's block-job additions against a scripted server on a socket pair:
pipelined calls answered out of order with events in between, errors per call, waiting
for an event with a time-out, and BlockJobWatch's matching (callback, domain, disk as
given) and registration fallback."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pyvirt.drivers.refs import DomainRef
from pyvirt.errors import ErrorCode, VirtError
from pyvirt.remote import protocol_core as P
from pyvirt.remote import syncjobs
from pyvirt.remote.syncclient import SyncRemoteReads
from pyvirt.rpc import packet, wire, xdr

DOM = DomainRef("d", b"\x07" * 16, 3)
OTHER = DomainRef("e", b"\x08" * 16, 4)

# A server step: the calls received so far (proc, serial, args payload) -> packets to send.
Script = Callable[[list[tuple[int, int, bytes]]], list[bytes]]
Server = tuple[SyncRemoteReads, Callable[[int, Script], None], list[tuple[int, int, bytes]]]


def reply(proc: P.Procedure[Any, Any], serial: int, ret: object) -> bytes:
    return wire.frame(P.PROGRAM, P.VERSION, proc.number, wire.MsgType.REPLY, serial, wire.MsgStatus.OK,
                      xdr.encode(proc.ret, ret))


def error(proc: P.Procedure[Any, Any], serial: int, message: str) -> bytes:
    err = packet.error_from_virt(VirtError(message, ErrorCode.INVALID_ARG))
    return wire.frame(P.PROGRAM, P.VERSION, proc.number, wire.MsgType.REPLY, serial, wire.MsgStatus.ERROR,
                      packet.encode_error(err))


def event(proc: P.Procedure[Any, Any], msg: object) -> bytes:
    return wire.frame(P.PROGRAM, P.VERSION, proc.number, wire.MsgType.MESSAGE, 1, wire.MsgStatus.OK,
                      xdr.encode(proc.args, msg))


def bj2(cid: int, dom: DomainRef, dst: str, status: int) -> bytes:
    return event(P.EVENT_BLOCK_JOB_2, P.BlockJob2Msg(cid, dom, dst, 1, status))


def bj1(cid: int, dom: DomainRef, path: str, status: int) -> bytes:
    return event(P.EVENT_BLOCK_JOB, P.CallbackBlockJobMsg(cid, P.BlockJobMsg(dom, path, 1, status)))


@pytest.fixture
def server() -> Iterator[Server]:
    """(client, arm(after_n_calls, script), calls seen). A step runs once the server has
    received that many calls in total."""
    a, b = socket.socketpair()
    seen: list[tuple[int, int, bytes]] = []
    steps: dict[int, Script] = {}
    lock = threading.Lock()

    def serve() -> None:
        reader = wire.FrameReader()
        while True:
            try:
                data = b.recv(65536)
            except OSError:
                return
            if not data:
                return
            for p in reader.feed(data):
                h = wire.parse_header(p)
                with lock:
                    seen.append((h.proc, h.serial, bytes(p[24:])))
                    step = steps.pop(len(seen), None)
                if step is not None:
                    b.sendall(b"".join(step(seen)))

    t = threading.Thread(target=serve, daemon=True)
    t.start()

    def arm(n: int, script: Script) -> None:
        with lock:
            steps[n] = script

    yield SyncRemoteReads(a, "qemu:///system"), arm, seen
    a.close()
    b.close()
    t.join(5)


def test_pipelined_calls_out_of_order_with_events_between(server: Server) -> None:
    conn, arm, seen = server
    arm(2, lambda s: [bj2(5, DOM, "vda", 3), reply(P.DOMAIN_GET_STATE, 1, P.GetStateRet(1, 1)),
                      bj1(5, DOM, "/x", 0), reply(P.DOMAIN_LOOKUP_BY_NAME, 0, P.DomRet(DOM))])
    res = conn.call_many([(P.DOMAIN_LOOKUP_BY_NAME, P.LookupByNameArgs("d")),
                          (P.DOMAIN_GET_STATE, P.DomFlagsArgs(DOM, 0))])
    assert res == [P.DomRet(DOM), P.GetStateRet(1, 1)]
    assert [p for p, _, _ in seen] == [P.DOMAIN_LOOKUP_BY_NAME.number, P.DOMAIN_GET_STATE.number]
    # the events that came while replies were awaited are kept, in order
    assert [p for p, _ in conn.events] == [P.EVENT_BLOCK_JOB_2.number, P.EVENT_BLOCK_JOB.number]
    first = conn.wait_message(0)
    assert first is not None and first[0] == P.EVENT_BLOCK_JOB_2.number


def test_one_failed_call_of_several(server: Server) -> None:
    conn, arm, _ = server
    arm(2, lambda s: [error(P.DOMAIN_LOOKUP_BY_NAME, 0, "no such thing"),
                      reply(P.DOMAIN_GET_STATE, 1, P.GetStateRet(5, 0))])
    res = conn.call_many([(P.DOMAIN_LOOKUP_BY_NAME, P.LookupByNameArgs("d")),
                          (P.DOMAIN_GET_STATE, P.DomFlagsArgs(DOM, 0))])
    assert isinstance(res[0], VirtError) and res[0].message == "no such thing"
    assert res[1] == P.GetStateRet(5, 0)


def test_wait_message_times_out_then_returns_the_event(server: Server) -> None:
    conn, arm, _ = server
    t0 = time.monotonic()
    assert conn.wait_message(0.05) is None
    assert time.monotonic() - t0 >= 0.04
    arm(1, lambda s: [reply(P.DOMAIN_GET_STATE, 0, P.GetStateRet(1, 1)), bj2(1, DOM, "vda", 0)])
    assert conn.call(P.DOMAIN_GET_STATE, P.DomFlagsArgs(DOM, 0)) == P.GetStateRet(1, 1)
    msg = conn.wait_message(5)
    assert msg is not None and msg[0] == P.EVENT_BLOCK_JOB_2.number
    assert conn.wait_message(0.01) is None


def _registered(arm: Callable[[int, Script], None], first: int = 11) -> None:
    arm(2, lambda s: [reply(P.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, 0, P.EventRegisterRet(first)),
                      reply(P.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, 1, P.EventRegisterRet(first + 1))])


def test_watch_registers_virsh_pair_and_matches_disk_as_given(server: Server) -> None:
    conn, arm, seen = server
    _registered(arm)
    watch = syncjobs.BlockJobWatch.open(conn, DOM, "vda")
    assert watch is not None
    regs = [xdr.decode(P.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY.args, a) for _, _, a in seen]
    assert regs == [P.EventRegisterArgs(8, DOM), P.EventRegisterArgs(16, DOM)]  # BLOCK_JOB, then _2
    # not ours (callback 99), another domain, another disk, the path form: skipped
    arm(3, lambda s: [bj2(99, DOM, "vda", 1), bj2(12, OTHER, "vda", 1), bj2(12, DOM, "vdb", 1),
                      bj1(11, DOM, "/img/top.qcow2", 1), reply(P.DOMAIN_GET_STATE, 2, P.GetStateRet(1, 1)),
                      bj2(12, DOM, "vda", 3)])
    conn.call(P.DOMAIN_GET_STATE, P.DomFlagsArgs(DOM, 0))
    assert watch.next_status(5) == 3
    assert watch.next_status(0.02) is None
    arm(5, lambda s: [reply(P.CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY, 3, None),
                      reply(P.CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY, 4, None)])
    watch.close()
    dereg = [xdr.decode(P.CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY.args, a) for _, _, a in seen[3:]]
    assert dereg == [P.EventDeregisterArgs(11), P.EventDeregisterArgs(12)]


def test_watch_on_a_path_takes_the_block_job_event(server: Server) -> None:
    conn, arm, _ = server
    # the events right behind the registration replies: waiting takes them from the socket
    arm(2, lambda s: [reply(P.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, 0, P.EventRegisterRet(40)),
                      reply(P.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, 1, P.EventRegisterRet(41)),
                      bj2(41, DOM, "vda", 1), bj1(40, DOM, "/img/top.qcow2", 0)])
    watch = syncjobs.BlockJobWatch.open(conn, DOM, "/img/top.qcow2")
    assert watch is not None
    assert watch.next_status(5) == 0


def test_watch_refused_registration_undoes_the_other(server: Server) -> None:
    conn, arm, seen = server
    arm(2, lambda s: [reply(P.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, 0, P.EventRegisterRet(7)),
                      error(P.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, 1, "unknown procedure")])
    arm(3, lambda s: [reply(P.CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY, 2, None)])
    assert syncjobs.BlockJobWatch.open(conn, DOM, "vda") is None
    assert seen[2][0] == P.CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY.number
    assert xdr.decode(P.CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY.args, seen[2][2]) == P.EventDeregisterArgs(7)
