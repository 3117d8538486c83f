"""pyvirt's remote client against pyvirtd and against the real libvirtd: same scenario,
same results. Plus console streams and connection loss through the client."""

from __future__ import annotations

import asyncio
import os
import uuid as uuidlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from pyvirt.daemon.config import DaemonConfig
from pyvirt.daemon.main import Daemon
from pyvirt.drivers.base import DomainEvent, DomainRef, LifecycleEventMsg
from pyvirt.drivers.test.driver import TestDriver
from pyvirt.errors import OperationInvalid, VirtError
from pyvirt.remote.client import RemoteDriver, split_uri
from pyvirt.remote.dispatch import RemoteProgram
from pyvirt.rpc.server import ListenerSpec, RPCServer

LIBVIRTD_SOCK = "/var/run/libvirt/libvirt-sock"


@pytest.fixture
async def pyvirtd(tmp_path: Path) -> AsyncIterator[Daemon]:
    d = Daemon(DaemonConfig(root=tmp_path, keepalive_interval=0))
    await d.start()
    yield d
    await d.stop()


def test_split_uri() -> None:
    assert split_uri("test+unix:///default?socket=/x/s") == ("test:///default", "/x/s")
    assert split_uri("qemu+unix:///system?socket=/run/s") == ("qemu:///system", "/run/s")
    assert split_uri("qemu:///system") == ("qemu:///system", "/run/pyvirt/libvirt-sock")
    with pytest.raises(VirtError):
        split_uri("qemu+tcp://host/system")


async def scenario(uri: str) -> list[Any]:
    """Everything observable through the Driver interface, minus clock-derived values."""
    name = f"pyvirt-rc-{os.getpid()}"
    uid = uuidlib.uuid5(uuidlib.NAMESPACE_DNS, name)
    xml = (f"<domain type='test'><name>{name}</name><uuid>{uid}</uuid>"
           "<memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>")  # fmt: skip
    out: list[Any] = []
    d = await RemoteDriver.open(uri)
    try:
        events: list[DomainEvent] = []
        d.events.subscribe(events.append)
        await d.register_events()
        out.append((d.type_name(), await d.get_version()))
        t = await d.lookup_by_name("test")
        out.append((t, await d.lookup_by_uuid(t.uuid) == t, await d.lookup_by_id(t.id) == t))
        i = await d.get_info(t)
        out.append((i.state, i.max_mem, i.memory, i.nr_virt_cpu))
        out.append((await d.get_state(t), await d.is_active(t), await d.is_persistent(t)))
        out.append(((await d.node_get_info()).model, await d.get_autostart(t)))
        out.append("<name>test</name>" in await d.get_xml_desc(t))
        p = await d.define_xml(xml)
        out.append((p.name, p.uuid == uid.bytes, p.id, await d.is_active(p)))
        out.append(name in await d.list_defined_domains())
        p = await d.create(p)
        out.append((await d.get_state(p), p.id > 0))
        await d.suspend(p)
        await d.resume(p)
        for bad in (d.resume(p), d.lookup_by_name("no-such-dom")):
            try:
                await bad
            except VirtError as e:
                out.append((int(e.code), int(e.domain), e.message))
        await d.destroy(p)
        await d.undefine(p)
        async with asyncio.timeout(5):
            while len([e for e in events if e.dom.name == name]) < 6:
                await asyncio.sleep(0.01)
        out.append([
            (int(e.event), e.detail) for e in events
            if isinstance(e, LifecycleEventMsg) and e.dom.name == name
        ])  # fmt: skip
    finally:
        await d.close()
    return out


async def test_client_against_pyvirtd_equals_libvirtd(pyvirtd: Daemon) -> None:
    ours = await scenario(f"test+unix:///default?socket={pyvirtd.cfg.rw_socket}")
    assert ours[0] == ("TEST", 2)
    assert ours[-1] == [(0, 0), (2, 0), (3, 0), (4, 0), (5, 1), (1, 0)]
    if not os.access(LIBVIRTD_SOCK, os.W_OK):
        pytest.skip("real libvirtd not running here; pyvirtd half checked")
    theirs = await scenario(f"test+unix:///default?socket={LIBVIRTD_SOCK}")
    assert ours == theirs


async def test_client_sees_daemon_going_away(pyvirtd: Daemon) -> None:
    d = await RemoteDriver.open(f"test+unix:///default?socket={pyvirtd.cfg.rw_socket}")
    await pyvirtd.stop()
    async with asyncio.timeout(5):
        while await d.is_alive():
            await asyncio.sleep(0.01)
    with pytest.raises(VirtError) as ei:
        await d.lookup_by_name("test")
    assert ei.value.code == 38  # VIR_ERR_SYSTEM_ERROR, as libvirt's client reports EOF


# ---------------------------------------------------------------- console streams


class EchoStream:
    """Console stand-in: sends a banner, then echoes what it is sent, upper-cased."""

    def __init__(self) -> None:
        self.q: asyncio.Queue[bytes] = asyncio.Queue()
        self.q.put_nowait(b"login: ")
        self.closed = asyncio.Event()

    async def read(self, n: int = 65536) -> bytes:
        return await self.q.get()

    async def write(self, data: bytes) -> None:
        if data.startswith(b"slow"):
            await asyncio.sleep(0.002 * (len(data) % 3))  # writes that take varying time
        if data == b"bye":
            self.q.put_nowait(b"")  # end of stream
        else:
            self.q.put_nowait(data.upper())

    async def close(self) -> None:
        self.closed.set()


class ConsoleDriver(TestDriver):
    def __init__(self) -> None:
        super().__init__("test:///default")
        self.streams: list[EchoStream] = []

    async def open_console(self, dom: DomainRef, dev_name: str | None, flags: int = 0) -> EchoStream:
        await self.get_state(dom)
        s = EchoStream()
        self.streams.append(s)
        return s


async def test_console_stream_roundtrip(tmp_path: Path) -> None:
    drivers: list[ConsoleDriver] = []

    async def opener(name: str | None, ro: bool) -> ConsoleDriver:
        drivers.append(ConsoleDriver())
        return drivers[-1]

    server = RPCServer(RemoteProgram(opener, keepalive_interval=0))
    sock = str(tmp_path / "s")
    await server.listen_unix(ListenerSpec(sock, 0o600, False))
    try:
        d = await RemoteDriver.open(f"test+unix:///default?socket={sock}")
        t = await d.lookup_by_name("test")
        st = await d.open_console(t, None)
        assert await st.read() == b"login: "
        await st.write(b"root")
        assert await st.read() == b"ROOT"
        chunks = [b"slow%d" % i + b"." * (i % 3) for i in range(30)]
        for c in chunks:
            await st.write(c)
        got = b""
        while len(got) < sum(map(len, chunks)):
            got += await st.read()
        assert got == b"".join(chunks).upper()  # in order, although writes took varying time
        await st.write(b"bye")
        assert await st.read() == b""  # the empty CONTINUE packet ends the stream
        await st.close()
        async with asyncio.timeout(5):
            await drivers[0].streams[0].closed.wait()
        # a second console, abandoned by closing the connection: the daemon closes it too
        st2 = await d.open_console(t, "serial0")
        assert await st2.read() == b"login: "
        await d.close()
        async with asyncio.timeout(5):
            await drivers[0].streams[1].closed.wait()
    finally:
        await server.close()


async def test_session_uri_autospawns_a_daemon_that_exits_when_idle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyvirt.remote.client as rc

    run = tmp_path / "xdg"
    run.mkdir()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(run))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(rc, "SESSION_IDLE_TIMEOUT", 1)
    sock = run / "pyvirt" / "libvirt-sock"
    try:
        d = await RemoteDriver.open("qemu:///session")
        await d.close()
    except VirtError as e:
        # the daemon answered; only the QEMU driver behind it may be missing
        assert e.code == 5 and "qemu:///session" in e.message  # VIR_ERR_NO_CONNECT
    assert sock.exists()
    # idle timeout: the daemon exits and removes its sockets
    async with asyncio.timeout(10):
        while sock.exists():
            await asyncio.sleep(0.05)


class HugeXmlDriver(TestDriver):
    async def get_xml_desc(self, dom: DomainRef, flags: int = 0) -> str:
        return "<domain>" + "x" * (5 * 1024 * 1024) + "</domain>"  # over REMOTE_STRING_MAX


async def test_reply_over_limits_becomes_an_error_and_connection_survives(tmp_path: Path) -> None:
    async def opener(name: str | None, ro: bool) -> HugeXmlDriver:
        return HugeXmlDriver("test:///default")

    server = RPCServer(RemoteProgram(opener, keepalive_interval=0))
    sock = str(tmp_path / "s")
    await server.listen_unix(ListenerSpec(sock, 0o600, False))
    try:
        d = await RemoteDriver.open(f"test+unix:///default?socket={sock}")
        t = await d.lookup_by_name("test")
        with pytest.raises(VirtError) as ei:
            await d.get_xml_desc(t)
        assert ei.value.code == 39  # VIR_ERR_RPC
        assert (await d.get_state(t))[0] == 1  # still connected
        await d.close()
    finally:
        await server.close()


async def test_close_callback_on_daemon_exit_not_on_close(pyvirtd: Daemon) -> None:
    uri = f"test+unix:///default?socket={pyvirtd.cfg.rw_socket}"
    quiet = await RemoteDriver.open(uri)
    reasons: list[int] = []
    quiet.add_close_callback(reasons.append)
    await quiet.close()
    d = await RemoteDriver.open(uri)
    got: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    d.add_close_callback(got.set_result)
    await pyvirtd.stop()
    async with asyncio.timeout(5):
        assert await got == 1  # VIR_CONNECT_CLOSE_REASON_EOF
    assert reasons == []


class SlowDriver(TestDriver):
    """suspend() waits on a gate, like a QEMU job waiting on its monitor."""

    def __init__(self, gate: asyncio.Event, entered: asyncio.Event, log: list[str]) -> None:
        super().__init__("test:///default")
        self.gate, self.entered, self.log = gate, entered, log

    async def suspend(self, dom: DomainRef) -> None:
        self.entered.set()
        await self.gate.wait()
        await super().suspend(dom)
        self.log.append("suspended")

    async def close(self) -> None:
        self.log.append("closed")
        await super().close()

    async def resume(self, dom: DomainRef) -> None:
        # suspends twice (a sleep, then a future failing) before raising: the error must
        # reach the client through the suspended-call path
        await asyncio.sleep(0)
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_later(0.01, fut.set_exception, OperationInvalid("domain is not paused"))
        await fut


async def test_long_call_neither_blocks_others_nor_dies_with_its_client(tmp_path: Path) -> None:
    gate, entered = asyncio.Event(), asyncio.Event()
    log: list[str] = []

    async def opener(name: str | None, ro: bool) -> SlowDriver:
        return SlowDriver(gate, entered, log)

    server = RPCServer(RemoteProgram(opener, keepalive_interval=0))
    sock = str(tmp_path / "s")
    await server.listen_unix(ListenerSpec(sock, 0o600, False))
    uri = f"test+unix:///default?socket={sock}"
    try:
        a = await RemoteDriver.open(uri)
        t = await a.lookup_by_name("test")
        pending = asyncio.ensure_future(a.suspend(t))
        async with asyncio.timeout(5):
            await entered.wait()
        # the same client and another one are served while the job waits
        assert (await a.get_state(t))[0] == 1
        b = await RemoteDriver.open(uri)
        assert (await b.lookup_by_name("test")).name == "test"
        with pytest.raises(VirtError) as ei:
            await b.resume(t)
        assert (ei.value.code, ei.value.message) == (55, "domain is not paused")
        await b.close()
        # client a vanishes mid-call; the job still completes, then its driver is closed
        assert a._rpc.transport is not None
        a._rpc.transport.abort()
        with pytest.raises(VirtError):
            await pending
        await asyncio.sleep(0.05)
        assert "closed" not in log[-1:] or log == ["closed"]  # b's driver may have closed
        gate.set()
        async with asyncio.timeout(5):
            while log.count("closed") < 2:
                await asyncio.sleep(0.01)
        assert log.index("suspended") < len(log) - 1 and log[-1] == "closed"
    finally:
        await server.close()


async def qemu_scenario(uri: str, name: str) -> list[Any]:
    xml = (f"<domain type='qemu'><name>{name}</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>"
           "<os><type arch='x86_64' machine='q35'>hvm</type></os></domain>")  # fmt: skip
    out: list[Any] = []
    d = await RemoteDriver.open(uri)
    events: list[DomainEvent] = []
    d.events.subscribe(events.append)
    await d.register_events()
    p = await d.define_xml(xml)
    try:
        out.append((d.type_name(), p.name, p.id, await d.is_active(p), await d.is_persistent(p)))
        p = await d.create(p)
        out.append((await d.get_state(p), (await d.get_info(p)).state, await d.get_os_type(p)))
        await d.suspend(p)
        out.append(await d.get_state(p))
        await d.resume(p)
        try:
            await d.create(p)
        except VirtError as e:
            out.append((int(e.code), int(e.domain), e.message))
        await d.destroy(p)
        out.append(await d.get_state(p))
    finally:
        if await d.is_active(p):
            await d.destroy(p)
        await d.undefine(p)
    async with asyncio.timeout(10):
        while not any(isinstance(e, LifecycleEventMsg) and e.event == 1 and e.dom.name == name for e in events):
            await asyncio.sleep(0.01)
    out.append([(int(e.event), e.detail) for e in events if isinstance(e, LifecycleEventMsg) and e.dom.name == name])
    await d.close()
    return out


async def test_client_qemu_against_pyvirtd_equals_libvirtd() -> None:
    import shutil
    import tempfile

    if shutil.which("qemu-system-x86_64") is None:
        pytest.skip("QEMU not installed")
    root = Path(tempfile.mkdtemp(prefix="pvc", dir="/tmp"))  # short: QEMU socket paths
    daemon = Daemon(DaemonConfig(root=root, reattach=False, keepalive_interval=0))
    await daemon.start()
    name = f"pyvirt-rcq-{os.getpid()}"
    try:
        ours = await qemu_scenario(f"qemu+unix:///system?socket={daemon.cfg.rw_socket}", name)
    finally:
        await daemon.stop()
        shutil.rmtree(root, ignore_errors=True)
    assert ours[0] == ("QEMU", name, -1, False, True)
    if not os.access(LIBVIRTD_SOCK, os.W_OK):
        pytest.skip("real libvirtd not running here; pyvirtd half checked")
    assert ours == await qemu_scenario(f"qemu+unix:///system?socket={LIBVIRTD_SOCK}", name)
