"""Old-style (non-callback) domain event registration: CONNECT_DOMAIN_EVENT_REGISTER[_ANY]
and DEREGISTER[_ANY], and the old event messages (no callbackID) they deliver.

Three views: raw packets against pyvirtd (and the same packets against the real libvirtd,
side by side, when it runs here); python3-libvirt driven onto the old procedures by a daemon
that answers VIR_DRV_FEATURE_REMOTE_EVENT_CALLBACK with 0, as a pre-1.2.1 libvirtd did; and
our own client falling back the same way.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import struct
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pyvirt.daemon.config import DaemonConfig
from pyvirt.daemon.thread import DaemonThread
from pyvirt.drivers.base import DomainEvent, LifecycleEventMsg
from pyvirt.remote import handlers
from pyvirt.remote import protocol as P
from pyvirt.remote.client import RemoteDriver

SYS_PY = "/usr/bin/python3"
LIBVIRTD_SOCK = "/run/libvirt/libvirt-sock"

PROBE_XML = (
    "<domain type='test'><name>oldstyle</name><uuid>5b0c4b0e-6f1a-4f7e-9a53-0d7e1b2c3d4e</uuid>"
    "<memory>1024</memory><os><type>hvm</type></os></domain>"
)


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[DaemonThread]:
    with DaemonThread(DaemonConfig(root=tmp_path / "r", keepalive_interval=0, reattach=False)) as d:
        yield d


@pytest.fixture
def old_daemon(tmp_path: Path) -> Iterator[DaemonThread]:
    cfg = DaemonConfig(root=tmp_path / "o", keepalive_interval=0, reattach=False, event_callbacks=False)
    with DaemonThread(cfg) as d:
        yield d


# ----------------------------------------------------------------------------- raw packets


def _xs(s: str) -> bytes:
    b = s.encode()
    return struct.pack(">I", len(b)) + b + b"\0" * (-len(b) % 4)


class Raw:
    """A bare remote-program client: calls in order, MESSAGE packets collected aside."""

    def __init__(self, path: str) -> None:
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(5)
        self.s.connect(path)
        self.serial = 0
        self.messages: list[tuple[int, bytes]] = []

    def _recv(self) -> tuple[int, int, int, bytes]:
        (n,) = struct.unpack(">I", self.s.recv(4, socket.MSG_WAITALL))
        body = self.s.recv(n - 4, socket.MSG_WAITALL)
        _, _, proc, typ, _, status = struct.unpack(">IIiiIi", body[:24])
        return proc, typ, status, body[24:]

    def call(self, proc: int, payload: bytes = b"") -> tuple[int, bytes]:
        self.s.sendall(struct.pack(">IIIiiIi", 28 + len(payload), P.PROGRAM, 1, proc, 0, self.serial, 0) + payload)
        self.serial += 1
        while True:
            rproc, typ, status, body = self._recv()
            if typ == 1:
                return status, body
            self.messages.append((rproc, body))

    def wait_messages(self, n: int) -> None:
        while len(self.messages) < n:
            rproc, typ, _, body = self._recv()
            if typ == 2:
                self.messages.append((rproc, body))

    def close(self) -> None:
        self.s.close()


def _error_text(body: bytes) -> str:
    # remote_error: code, domain, message (a remote_string: present flag, length, bytes)
    (code, dom, _, n) = struct.unpack(">iiII", body[:16])
    return f"{code}/{dom}: {body[16 : 16 + n].decode()}"


def raw_scenario(path: str) -> list[str]:
    """The same packets libvirtd and pyvirtd get; a readable log of what came back."""
    c = Raw(path)
    out: list[str] = []
    try:
        c.call(P.AUTH_LIST.number)
        st, body = c.call(P.CONNECT_OPEN.number, b"\0\0\0\1" + _xs("test:///default") + b"\0\0\0\0")
        assert st == 0, body

        def step(tag: str, proc: int, payload: bytes = b"") -> None:
            st, body = c.call(proc, payload)
            out.append(f"{tag}: " + (f"ok {body.hex()}" if st == 0 else _error_text(body)))

        i32 = lambda v: struct.pack(">i", v)
        step("register", 105)
        step("register again", 105)
        step("register_any lifecycle", 167, i32(0))
        step("register_any reboot", 167, i32(1))
        step("register_any reboot again", 167, i32(1))
        step("register_any device-removed", 167, i32(15))
        step("register_any block-job-2", 167, i32(16))
        step("register_any -1", 167, i32(-1))
        step("callback lifecycle", 316, i32(0) + i32(0))
        step("callback block-job-2", 316, i32(16) + i32(0))
        st, dom = c.call(P.DOMAIN_DEFINE_XML_FLAGS.number, _xs(PROBE_XML) + b"\0\0\0\0")
        assert st == 0, _error_text(dom)
        for name, proc in (("create", 9), ("destroy", 12), ("undefine", 35)):
            step(name, proc, dom)
        c.wait_messages(4)  # defined, started, stopped, undefined
        out += [f"event {proc}: {body.hex()}" for proc, body in c.messages]
        step("deregister_any reboot", 168, i32(1))
        step("deregister_any reboot again", 168, i32(1))
        step("deregister_any 99", 168, i32(99))
        step("deregister", 106)
        step("deregister again", 106)
        step("deregister_any lifecycle", 168, i32(0))
    finally:
        c.close()
    return out


def test_raw_old_style_registration(daemon: DaemonThread) -> None:
    log = raw_scenario(str(daemon.cfg.rw_socket))
    # old-style lifecycle messages: proc 107, remote_domain_event_lifecycle_msg without a
    # callbackID (dom, event, detail): defined/added, started/booted, stopped/destroyed,
    # undefined/removed
    events = [ln for ln in log if ln.startswith("event")]
    assert [e.split(":")[0] for e in events] == ["event 107"] * 4
    tails = [bytes.fromhex(e.split(": ")[1])[-8:] for e in events]
    assert [struct.unpack(">ii", t) for t in tails] == [(0, 0), (2, 0), (5, 1), (1, 0)]
    assert "register again: 8/0: invalid argument: event callback already tracked" in log
    assert "register_any block-job-2: 1/7: internal error: unsupported event ID 16" in log
    assert "register_any device-removed: ok " in log
    assert "deregister again: 1/7: internal error: domain event 0 not registered" in log


@pytest.mark.oracle
@pytest.mark.skipif(not os.path.exists(LIBVIRTD_SOCK), reason="libvirtd (the oracle) is not running")
def test_raw_old_style_equals_libvirtd(daemon: DaemonThread) -> None:
    ours = raw_scenario(str(daemon.cfg.rw_socket))
    theirs = raw_scenario(LIBVIRTD_SOCK)
    assert ours == theirs


def test_old_style_needs_no_callback_feature(old_daemon: DaemonThread) -> None:
    c = Raw(str(old_daemon.cfg.rw_socket))
    try:
        c.call(P.AUTH_LIST.number)
        c.call(P.CONNECT_OPEN.number, b"\0\0\0\1" + _xs("test:///default") + b"\0\0\0\0")
        st, body = c.call(P.CONNECT_SUPPORTS_FEATURE.number, struct.pack(">i", 14))
        assert (st, body) == (0, b"\0\0\0\0")  # REMOTE_EVENT_CALLBACK: not offered
        st, body = c.call(P.CONNECT_SUPPORTS_FEATURE.number, struct.pack(">i", 15))
        assert (st, body) == (0, b"\0\0\0\1")
    finally:
        c.close()


# ----------------------------------------------------------------------------- python3-libvirt

PY_EVENTS = r"""
import sys, threading, time, libvirt
libvirt.virEventRegisterDefaultImpl()
threading.Thread(target=lambda: [libvirt.virEventRunDefaultImpl() for _ in iter(int, 1)], daemon=True).start()
c = libvirt.open(sys.argv[1])
old, new = [], []
def on_old(conn, dom, ev, det, op):
    old.append((dom.name(), ev, det))
c.domainEventRegister(on_old, None)
cid = c.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                               lambda conn, dom, ev, det, op: new.append((dom.name(), ev, det)), None)
d = c.lookupByName("test")
d.suspend(); d.resume(); d.destroy(); d.create()
n = c.defineXML(open(sys.argv[2]).read()); n.create(); n.destroy(); n.undefine()
end = time.time() + 5
while (len(old) < 8 or len(new) < 8) and time.time() < end:
    time.sleep(0.01)
print("old", old)
print("new", new)
c.domainEventDeregister(on_old)
c.domainEventDeregisterAny(cid)
c.close()
"""


def _has_py_libvirt() -> bool:
    if not os.path.exists(SYS_PY):
        return False
    return subprocess.run([SYS_PY, "-c", "import libvirt"], capture_output=True, check=False).returncode == 0


@pytest.mark.oracle
@pytest.mark.skipif(not _has_py_libvirt(), reason="python3-libvirt not installed")
def test_python3_libvirt_uses_old_procedures(old_daemon: DaemonThread, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []

    def spy(num: int) -> None:
        fn = handlers.HANDLERS[num]

        async def wrapped(s: Any, a: Any) -> Any:
            seen.append(num)
            return await fn(s, a)

        monkeypatch.setitem(handlers.HANDLERS, num, wrapped)

    for num in (105, 106, 167, 168, 316, 317):
        spy(num)
    (tmp_path / "probe.xml").write_text(PROBE_XML)
    (tmp_path / "s.py").write_text(PY_EVENTS)

    def run(conn: str) -> list[str]:
        p = subprocess.run([SYS_PY, "s.py", conn, "probe.xml"], capture_output=True, text=True,
                           timeout=60, cwd=tmp_path, check=False)  # fmt: skip
        assert p.returncode == 0, p.stderr
        return p.stdout.splitlines()

    ours = run(f"test+unix:///default?socket={old_daemon.cfg.rw_socket}")
    # the C client registered once, old-style, for both lifecycle callbacks (it multiplexes
    # them) and dropped that registration with DEREGISTER_ANY when the last one went; it
    # never used the callback procedures
    assert seen == [105, 168], seen
    theirs = run("test:///default")
    assert ours == theirs
    assert ours[0].startswith("old [('test', 3, 0), ('test', 4, 0), ('test', 5, 1), ('test', 2, 0)")


@pytest.mark.oracle
@pytest.mark.skipif(not _has_py_libvirt(), reason="python3-libvirt not installed")
def test_python3_libvirt_both_styles_on_a_callback_daemon(daemon: DaemonThread, tmp_path: Path) -> None:
    """Against a normal daemon the C client maps domainEventRegister onto the callback
    procedures; with domainEventRegisterAny for the same event it shares one registration,
    so the daemon's one-registration-per-event rule never refuses it."""
    (tmp_path / "probe.xml").write_text(PROBE_XML)
    (tmp_path / "s.py").write_text(PY_EVENTS)
    p = subprocess.run([SYS_PY, "s.py", f"test+unix:///default?socket={daemon.cfg.rw_socket}", "probe.xml"],
                       capture_output=True, text=True, timeout=60, cwd=tmp_path, check=False)
    assert p.returncode == 0, p.stderr
    q = subprocess.run([SYS_PY, "s.py", "test:///default", "probe.xml"], capture_output=True, text=True,
                       timeout=60, cwd=tmp_path, check=False)
    assert p.stdout == q.stdout


# ----------------------------------------------------------------------------- our client


async def test_pyvirt_client_falls_back_to_old_style(old_daemon: DaemonThread) -> None:
    drv = await RemoteDriver.open(f"test+unix:///default?socket={old_daemon.cfg.rw_socket}")
    got: list[DomainEvent] = []
    arrived = asyncio.Event()

    def on_event(ev: DomainEvent) -> None:
        got.append(ev)
        if len(got) >= 2:
            arrived.set()

    try:
        drv.events.subscribe(on_event)
        await drv.register_events()
        dom = await drv.lookup_by_name("test")
        await drv.suspend(dom)
        await drv.resume(dom)
        await asyncio.wait_for(arrived.wait(), 5)
    finally:
        await drv.close()
    assert [(type(e), getattr(e, "event", None), getattr(e, "detail", None)) for e in got] == [
        (LifecycleEventMsg, 3, 0), (LifecycleEventMsg, 4, 0),
    ]


@pytest.mark.oracle
@pytest.mark.skipif(shutil.which("virsh") is None, reason="virsh (libvirt-clients) not installed")
def test_real_virsh_event_loop_old_style(old_daemon: DaemonThread) -> None:
    """virsh 9.0's `event --loop` against a daemon without callback events: it registers
    old-style and prints the old messages' events like the callback ones."""
    uri = f"test+unix:///default?socket={old_daemon.cfg.rw_socket}"
    watcher = subprocess.Popen(["virsh", "-c", uri, "event", "--event", "lifecycle", "--loop", "--timeout", "3"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        end = time.monotonic() + 5
        while time.monotonic() < end:  # until its registration reached the daemon
            sessions = [c.session for c in list(old_daemon.daemon.server.clients)]
            if any(getattr(s, "events", None) and s.events[0].legacy for s in sessions):  # type: ignore[union-attr]
                break
            time.sleep(0.05)
        subprocess.run(["virsh", "-c", uri, "suspend test; resume test"], capture_output=True, check=True, timeout=30)
        out, _ = watcher.communicate(timeout=10)
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait()
    assert [ln for ln in out.splitlines() if ln] == [
        "event 'lifecycle' for domain 'test': Suspended Paused",
        "event 'lifecycle' for domain 'test': Resumed Unpaused",
        "event loop timed out",
        "events received: 2",
    ]
