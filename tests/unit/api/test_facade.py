"""pyvirt.libvirt semantics that need no oracle: the error handler's lifetime (the seed's
JNA post), last-error state, libvirt's default error line, connection reference counting,
event and close callback dispatch through the default event implementation."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import threading
import weakref
from collections.abc import Iterator
from typing import Any

import pytest

from pyvirt import libvirt
from pyvirt.aio import Connection
from pyvirt.drivers.test.driver import TestDriver
from pyvirt.uri import parse_uri


@pytest.fixture(autouse=True)
def _reset_handler() -> Iterator[None]:
    yield
    libvirt.registerErrorHandler(None, None)
    libvirt.virResetLastError()


@pytest.fixture
def conn() -> Iterator[libvirt.virConnect]:
    c = libvirt.open("test:///default")
    yield c
    if c._o is not None:
        c.close()


class _Ctx:
    pass


def _register_and_forget(calls: list[tuple[str, int]]) -> tuple[weakref.ref[Any], weakref.ref[Any]]:
    ctx = _Ctx()

    def handler(c: _Ctx, err: tuple[Any, ...]) -> None:
        calls.append((type(c).__name__, err[0]))

    assert libvirt.registerErrorHandler(handler, ctx) == 1
    return weakref.ref(handler), weakref.ref(ctx)


def test_error_handler_is_kept_alive_after_the_caller_drops_it(conn: libvirt.virConnect) -> None:
    calls: list[tuple[str, int]] = []
    handler_ref, ctx_ref = _register_and_forget(calls)
    gc.collect()
    assert handler_ref() is not None and ctx_ref() is not None, \
        "the library must hold the handler and its context (strong references)"
    with pytest.raises(libvirt.libvirtError):
        conn.lookupByName("no-such-domain")
    assert calls == [("_Ctx", libvirt.VIR_ERR_NO_DOMAIN)]


def test_replacing_or_resetting_releases_the_old_handler(conn: libvirt.virConnect) -> None:
    calls: list[tuple[str, int]] = []
    first = _register_and_forget(calls)
    second = _register_and_forget(calls)
    gc.collect()
    assert first[0]() is None and first[1]() is None, "a replaced handler must be released"
    assert second[0]() is not None
    libvirt.registerErrorHandler(None, None)
    gc.collect()
    assert second[0]() is None and second[1]() is None, "reset must release the handler"
    with pytest.raises(libvirt.libvirtError):
        conn.lookupByID(4242)
    assert calls == []


def test_default_handler_prints_libvirts_line(conn: libvirt.virConnect,
                                              capfd: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(libvirt.libvirtError):
        conn.lookupByName("no-such-domain")
    assert capfd.readouterr().err == "libvirt: Test Driver error : Domain not found\n"


def test_libvirt_error_fields(conn: libvirt.virConnect) -> None:
    libvirt.registerErrorHandler(lambda _c, _e: None, None)
    with pytest.raises(libvirt.libvirtError) as ei:
        conn.lookupByName("no-such-domain")
    e = ei.value
    assert e.err == (42, 12, "Domain not found", 2, "Domain not found", None, None, -1, -1)
    assert (e.get_error_code(), e.get_error_domain(), e.get_error_message(),
            e.get_error_level(), e.get_str1(), e.get_str2(), e.get_str3(), e.get_int1(),
            e.get_int2()) == e.err
    assert str(e) == "Domain not found" and e.args == ("Domain not found",)
    assert libvirt.virGetLastError() == e.err
    assert libvirt.virGetLastErrorCode() == 42 and libvirt.virGetLastErrorDomain() == 12
    assert libvirt.virGetLastErrorMessage() == "Domain not found"
    libvirt.virResetLastError()
    assert libvirt.virGetLastError() is None and libvirt.virGetLastErrorMessage() == "no error"
    plain = libvirt.libvirtError("fallback")
    assert str(plain) == "fallback" and plain.err is None and plain.get_error_code() is None


def test_last_error_is_per_thread(conn: libvirt.virConnect) -> None:
    libvirt.registerErrorHandler(lambda _c, _e: None, None)
    with pytest.raises(libvirt.libvirtError):
        conn.lookupByName("no-such-domain")
    seen: list[object] = []
    t = threading.Thread(target=lambda: seen.append(libvirt.virGetLastError()))
    t.start()
    t.join()
    assert seen == [None] and libvirt.virGetLastError() is not None


def test_close_counts_domain_handles() -> None:
    c = libvirt.open("test:///default")
    aio_conn = c._o
    assert aio_conn is not None
    dom = c.lookupByName("test")
    assert c.close() == 1, "a live virDomain keeps the connection referenced"
    assert dom.name() == "test" and dom.isActive() == 1, "the handle still works"
    assert not aio_conn.closed
    with pytest.raises(libvirt.libvirtError) as ei:
        c.getURI()
    assert ei.value.get_error_code() == libvirt.VIR_ERR_INVALID_CONN
    del dom
    gc.collect()
    # The last handle's finalizer closes the connection on the loop thread.
    libvirt.virEventRegisterDefaultImpl()
    done = threading.Event()

    def until_closed(timer: int, _o: object) -> None:
        if aio_conn.closed:
            done.set()

    t = libvirt.virEventAddTimeout(5, until_closed, None)
    for _ in range(400):
        libvirt.virEventRunDefaultImpl()
        if done.is_set():
            break
    libvirt.virEventRemoveTimeout(t)
    assert aio_conn.closed
    assert libvirt.open("test:///default").close() == 0


def test_context_manager_closes() -> None:
    with libvirt.open("test:///default") as c:
        assert c.getType() == "TEST"
    assert c._o is None


def test_events_dispatch_in_the_callers_thread(conn: libvirt.virConnect) -> None:
    libvirt.virEventRegisterDefaultImpl()
    got: list[tuple[Any, ...]] = []
    cid = conn.domainEventRegisterAny(
        None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
        lambda c, d, ev, detail, op: got.append((c is conn, d.name(), ev, detail, op,
                                                 threading.get_ident())), "opq")
    dom = conn.lookupByName("test")
    dom.suspend()
    dom.resume()
    assert got == [], "callbacks wait for virEventRunDefaultImpl, as in libvirt"
    while len(got) < 2:
        libvirt.virEventRunDefaultImpl()
    me = threading.get_ident()
    assert got == [(True, "test", libvirt.VIR_DOMAIN_EVENT_SUSPENDED, 0, "opq", me),
                   (True, "test", libvirt.VIR_DOMAIN_EVENT_RESUMED, 0, "opq", me)]
    conn.domainEventDeregisterAny(cid)
    libvirt.registerErrorHandler(lambda _c, _e: None, None)
    with pytest.raises(libvirt.libvirtError) as ei:
        conn.domainEventDeregisterAny(cid)
    assert ei.value.get_error_code() == libvirt.VIR_ERR_INVALID_ARG
    with pytest.raises(libvirt.libvirtError) as ei:
        conn.domainEventRegisterAny(None, 99, lambda *a: None, None)
    assert ei.value.get_error_code() == libvirt.VIR_ERR_INVALID_ARG


def test_event_registration_needs_an_event_impl() -> None:
    code = ("import pyvirt.libvirt as libvirt\n"
            "libvirt.registerErrorHandler(lambda c, e: None, None)\n"
            "c = libvirt.open('test:///default')\n"
            "try:\n"
            "    c.domainEventRegisterAny(None, 0, lambda *a: None, None)\n"
            "except libvirt.libvirtError as e:\n"
            "    print(e.err[:3])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "(1, 0, 'internal error: could not initialize domain event timer')"


def test_close_callback_client_and_peer() -> None:
    libvirt.virEventRegisterDefaultImpl()
    drv = TestDriver("test:///default")
    c = libvirt.virConnect(Connection(drv, parse_uri("test+unix:///default"), remote=True))
    got: list[tuple[bool, int, str]] = []
    assert c.registerCloseCallback(lambda cc, reason, op: got.append((cc is c, reason, op)),
                                   "o") == 0
    assert c.close() == 0
    assert got == [(True, libvirt.VIR_CONNECT_CLOSE_REASON_CLIENT, "o")]

    drv2 = TestDriver("test:///default")
    c2 = libvirt.virConnect(Connection(drv2, parse_uri("test+unix:///default"), remote=True))
    c2.registerCloseCallback(lambda cc, reason, op: got.append((cc is c2, reason, op)), "p")
    drv2.notify_closed(libvirt.VIR_CONNECT_CLOSE_REASON_EOF)
    while len(got) < 2:
        libvirt.virEventRunDefaultImpl()
    assert got[1] == (True, libvirt.VIR_CONNECT_CLOSE_REASON_EOF, "p")
    assert c2.close() == 0  # still allowed after a loss; frees the driver
    assert got[2:] == [], "a connection lost once is not reported closed twice"


def test_open_readonly_and_openauth(conn: libvirt.virConnect) -> None:
    libvirt.registerErrorHandler(lambda _c, _e: None, None)
    for ro in (libvirt.openReadOnly("test:///default"),
               libvirt.openAuth("test:///default", [], libvirt.VIR_CONNECT_RO)):
        with pytest.raises(libvirt.libvirtError) as ei:
            ro.defineXML("<domain type='test'><name>x</name></domain>")
        assert ei.value.get_error_code() == libvirt.VIR_ERR_OPERATION_DENIED
        ro.close()


def test_default_uri_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIBVIRT_DEFAULT_URI", "test:///default")
    c = libvirt.open()
    assert c.getURI() == "test:///default"
    c.close()
    assert libvirt.getVersion() >= 9_000_000


def test_import_is_light() -> None:
    code = ("import sys, pyvirt.libvirt\n"
            "print(sorted(m for m in ('asyncio', 'lxml', 'pyvirt.drivers', 'pyvirt.aio',"
            " 'pyvirt.libvirt_constants') if m in sys.modules))\n"
            "import threading\n"
            "print(threading.active_count())\n")
    env = dict(os.environ)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=env)
    assert out.stdout.split("\n")[:2] == ["[]", "1"], "import must not load asyncio/drivers " \
        "or start the loop thread"


def test_test_driver_runs_inline_without_a_loop_thread() -> None:
    code = ("import sys, threading, pyvirt.libvirt as libvirt\n"
            "libvirt.virEventRegisterDefaultImpl()\n"
            "c = libvirt.open('test:///default')\n"
            "got = []\n"
            "c.domainEventRegisterAny(None, 0, lambda *a: got.append(a[2]), None)\n"
            "d = c.lookupByName('test'); d.suspend(); d.resume()\n"
            "while len(got) < 2: libvirt.virEventRunDefaultImpl()\n"
            "print(got, threading.active_count(), 'asyncio' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[3, 4] 1 False"


APP_LOOP = r'''
import select, pyvirt.libvirt as libvirt
handles, timeouts = {}, {}
def add_handle(fd, events, cb, opaque):
    handles[len(handles) + 1] = (fd, events, cb, opaque); return len(handles)
def add_timeout(ms, cb, opaque):
    timeouts[len(timeouts) + 1] = (ms, cb, opaque); return len(timeouts)
libvirt.virEventRegisterImpl(add_handle, lambda w, e: None, handles.pop,
                             add_timeout, lambda t, ms: None, timeouts.pop)
c = libvirt.open("test:///default")
got = []
c.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                         lambda conn, dom, ev, det, op: got.append((dom.name(), ev, det)), None)
tid = libvirt.virEventAddTimeout(5, lambda t, op: got.append(("timer", op)), "t")
d = c.lookupByName("test"); d.suspend()
for _ in range(20):
    if len(got) >= 1: break
    ready, _, _ = select.select([h[0] for h in handles.values()], [], [], 1.0)
    for w, (fd, ev, cb, op) in list(handles.items()):
        if fd in ready: cb(w, fd, libvirt.VIR_EVENT_HANDLE_READABLE, op)
print(got, sorted(timeouts) == [tid], len(handles))
'''


def test_application_event_loop() -> None:
    out = subprocess.run([sys.executable, "-c", APP_LOOP], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[('test', 3, 0)] True 1"


def test_child_after_fork_gets_its_own_runtime(tmp_path: Any) -> None:
    code = ("import os, tempfile, asyncio, pyvirt.libvirt as libvirt\n"
            "from pyvirt._compat.runtime import runtime\n"
            "async def two(): return 2\n"
            "assert runtime().run(two()) == 2  # the parent's loop thread is up\n"
            "pid = os.fork()\n"
            "if pid == 0:\n"
            "    os._exit(0 if runtime().run(two()) == 2 else 1)\n"
            "_, status = os.waitpid(pid, 0)\n"
            "print(os.waitstatus_to_exitcode(status))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=30)
    assert out.stdout.strip() == "0"


def test_event_callback_signatures_per_event_id(conn: libvirt.virConnect) -> None:
    """Each event id calls back with libvirt-python's argument list."""
    from pyvirt.drivers import base as b
    from pyvirt.enums import (
        AgentLifecycleReason,
        AgentLifecycleState,
        BlockJobStatus,
        BlockJobType,
        TrayChangeReason,
    )

    libvirt.virEventRegisterDefaultImpl()
    got: list[tuple[Any, ...]] = []

    def rec(*args: Any) -> None:
        assert args[0] is conn and isinstance(args[1], libvirt.virDomain)
        got.append((args[1].name(), *args[2:]))

    ids = [libvirt.VIR_DOMAIN_EVENT_ID_REBOOT, libvirt.VIR_DOMAIN_EVENT_ID_BLOCK_JOB,
           libvirt.VIR_DOMAIN_EVENT_ID_BLOCK_JOB_2, libvirt.VIR_DOMAIN_EVENT_ID_TRAY_CHANGE,
           libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED, libvirt.VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE]
    cids = [conn.domainEventRegisterAny(None, i, rec, f"op{i}") for i in ids]
    ref = conn.lookupByName("test")._dom.ref
    aio = conn._o
    assert aio is not None
    for ev in (b.RebootEventMsg(ref),
               b.BlockJobEventMsg(ref, "/img/top.qcow2", "vda", BlockJobType.COMMIT,
                                  BlockJobStatus.READY),
               b.TrayChangeEventMsg(ref, "ide0-1-0", TrayChangeReason.OPEN),
               b.DeviceRemovedEventMsg(ref, "virtio-disk1"),
               b.AgentLifecycleEventMsg(ref, AgentLifecycleState.CONNECTED,
                                        AgentLifecycleReason.CHANNEL)):
        aio.driver.events.publish(ev)
    while len(got) < 6:
        libvirt.virEventRunDefaultImpl()
    assert got == [
        ("test", "op1"),
        ("test", "/img/top.qcow2", libvirt.VIR_DOMAIN_BLOCK_JOB_TYPE_COMMIT,
         libvirt.VIR_DOMAIN_BLOCK_JOB_READY, "op8"),
        ("test", "vda", libvirt.VIR_DOMAIN_BLOCK_JOB_TYPE_COMMIT,
         libvirt.VIR_DOMAIN_BLOCK_JOB_READY, "op16"),
        ("test", "ide0-1-0", libvirt.VIR_DOMAIN_EVENT_TRAY_CHANGE_OPEN, "op10"),
        ("test", "virtio-disk1", "op15"),
        ("test", libvirt.VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_STATE_CONNECTED,
         libvirt.VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_REASON_CHANNEL, "op18"),
    ]
    for cid in cids:
        conn.domainEventDeregisterAny(cid)


def test_event_callback_and_opaque_are_kept_until_deregistered(conn: libvirt.virConnect) -> None:
    """The JNA lesson applies to event callbacks too: the library owns what it was given."""
    libvirt.virEventRegisterDefaultImpl()
    got: list[int] = []

    def register() -> tuple[int, weakref.ref[Any], weakref.ref[Any]]:
        opaque = _Ctx()

        def cb(c: Any, d: Any, ev: int, detail: int, op: _Ctx) -> None:
            got.append(ev)

        cid = conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, cb, opaque)
        return cid, weakref.ref(cb), weakref.ref(opaque)

    cid, cb_ref, op_ref = register()
    gc.collect()
    assert cb_ref() is not None and op_ref() is not None
    dom = conn.lookupByName("test")
    dom.suspend()
    dom.resume()
    while len(got) < 2:
        libvirt.virEventRunDefaultImpl()
    assert got == [libvirt.VIR_DOMAIN_EVENT_SUSPENDED, libvirt.VIR_DOMAIN_EVENT_RESUMED]
    conn.domainEventDeregisterAny(cid)
    gc.collect()
    assert cb_ref() is None and op_ref() is None, "deregistering must release them"
