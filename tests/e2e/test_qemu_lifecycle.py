"""The QEMU driver on real QEMU (TCG) with the project's test guest.

Waits are on events (lifecycle events, console bytes), never sleeps: the guest prints
``TESTGUEST READY`` on its serial console, which we read through virDomainOpenConsole.
"""

from __future__ import annotations

import asyncio
import os
import signal
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from pyvirt.drivers.base import (
    AgentLifecycleEventMsg,
    ByteStream,
    DomainEvent,
    DomainRef,
    LifecycleEventMsg,
    RebootEventMsg,
)
from pyvirt.drivers.qemu.driver import QemuDriver
from pyvirt.enums import (
    AgentLifecycleReason,
    AgentLifecycleState,
    DestroyFlags,
    DomainCreateFlags,
    DomainState,
    LifecycleEvent,
    ListDomainsFlags,
    PausedReason,
    RunningReason,
    ShutdownDetail,
    ShutdownFlags,
    ShutoffReason,
    StoppedDetail,
)
from pyvirt.errors import ErrorCode, VirtError

pytestmark = pytest.mark.e2e

L = LifecycleEvent
CAPS_CACHE = Path(tempfile.mkdtemp(prefix="pyvirt-caps-"))  # probe QEMU once per run
READY = b"TESTGUEST READY"


class Events:
    """Collects a driver's events; wait() blocks until a predicate over them holds."""

    def __init__(self, drv: QemuDriver) -> None:
        self.items: list[DomainEvent] = []
        self._cond = asyncio.Condition()
        drv.events.subscribe(self._on)

    def _on(self, ev: DomainEvent) -> None:
        self.items.append(ev)
        asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self._cond:
            self._cond.notify_all()

    def lifecycle(self, name: str) -> list[tuple[int, int]]:
        return [(int(e.event), int(e.detail)) for e in self.items
                if isinstance(e, LifecycleEventMsg) and e.dom.name == name]

    async def wait_for(self, pred: Callable[[], bool], timeout: float = 60) -> None:
        async def loop() -> None:
            async with self._cond:
                await self._cond.wait_for(pred)

        await asyncio.wait_for(loop(), timeout)

    async def wait_lifecycle(self, name: str, ev: tuple[int, int], timeout: float = 60) -> None:
        await self.wait_for(lambda: ev in self.lifecycle(name), timeout)


async def read_until(stream: ByteStream, marker: bytes, timeout: float = 90) -> bytes:
    buf = b""

    async def loop() -> bytes:
        nonlocal buf
        while marker not in buf:
            chunk = await stream.read(4096)
            if not chunk:
                raise AssertionError(f"console closed before {marker!r}: {buf[-500:]!r}")
            buf += chunk
        return buf

    return await asyncio.wait_for(loop(), timeout)


async def boot_ready(drv: QemuDriver, dom: DomainRef) -> None:
    stream = await drv.open_console(dom, None)
    try:
        await read_until(stream, READY)
    finally:
        await stream.close()


@pytest.fixture
async def drv(embed_root: Path) -> AsyncIterator[QemuDriver]:
    d = await QemuDriver.open(f"qemu:///embed?root={embed_root}")
    d.lc.caps_cache_dir = CAPS_CACHE
    yield d
    for ref in await d.list_all_domains(ListDomainsFlags.ACTIVE):
        try:
            await d.destroy(ref)
        except VirtError:
            pass
    await d.close()


def qemu_pid(root: Path, name: str) -> int:
    text = (root / "run/qemu" / f"{name}.xml").read_text()
    start = text.index(" pid='") + 6
    return int(text[start : text.index("'", start)])


async def test_lifecycle_start_suspend_resume_shutdown_start_destroy(drv: QemuDriver, guest_xml: Callable[..., str],
                                                                     embed_root: Path) -> None:
    ev = Events(drv)
    dom = await drv.define_xml(guest_xml("life"))
    dom = await drv.create(dom)
    assert dom.id == 1
    assert await drv.get_state(dom) == (DomainState.RUNNING, RunningReason.BOOTED)
    live = await drv.get_xml_desc(dom)
    assert "<domain type='qemu' id='1'>" in live and "machine='pc-q35-7.2'" in live
    assert "<source path='/dev/pts/" in live and "tty='/dev/pts/" in live
    assert "<source path=" not in await drv.get_xml_desc(dom, 2)  # inactive XML has no runtime bits
    await boot_ready(drv, dom)

    await drv.suspend(dom)
    assert await drv.get_state(dom) == (DomainState.PAUSED, PausedReason.USER)
    await drv.resume(dom)
    assert await drv.get_state(dom) == (DomainState.RUNNING, RunningReason.UNPAUSED)
    info = await drv.get_info(dom)
    assert (info.state, info.max_mem, info.nr_virt_cpu) == (DomainState.RUNNING, 131072, 1)
    assert info.cpu_time > 0

    await drv.shutdown(dom)  # ACPI: the guest powers itself off
    await ev.wait_lifecycle("life", (L.STOPPED, StoppedDetail.SHUTDOWN))
    assert await drv.get_state(dom) == (DomainState.SHUTOFF, ShutoffReason.SHUTDOWN)
    # QEMU is gone, so its serial log file is complete: the console went to the log too
    log = (embed_root / "images/life-console.log").read_bytes()
    assert READY in log and b"TESTGUEST POWEROFF" in log
    assert not await drv.is_active(dom)
    assert (await drv.lookup_by_name("life")).id == -1
    assert ev.lifecycle("life") == [
        (L.DEFINED, 0), (L.RESUMED, 0), (L.STARTED, 0), (L.SUSPENDED, 0), (L.RESUMED, 0),
        (L.SHUTDOWN, ShutdownDetail.GUEST), (L.STOPPED, StoppedDetail.SHUTDOWN),
    ]

    dom = await drv.create(dom, DomainCreateFlags.START_PAUSED)
    assert dom.id == 2  # ids keep increasing
    assert await drv.get_state(dom) == (DomainState.PAUSED, PausedReason.USER)
    with pytest.raises(VirtError) as ei:
        await drv.create(dom)
    assert ei.value.code == ErrorCode.OPERATION_INVALID
    assert ei.value.message == "Requested operation is not valid: domain is already running"
    pid = qemu_pid(embed_root, "life")
    await drv.destroy(dom)
    assert await drv.get_state(dom) == (DomainState.SHUTOFF, ShutoffReason.DESTROYED)
    assert not Path(f"/proc/{pid}").exists()
    assert ev.lifecycle("life")[-4:] == [
        (L.STARTED, 0), (L.SUSPENDED, 0), (L.SHUTDOWN, ShutdownDetail.HOST), (L.STOPPED, StoppedDetail.DESTROYED)]
    assert list((embed_root / "run/qemu").glob("*.xml")) == []


async def test_driver_restart_reattaches_and_guest_keeps_running(drv: QemuDriver, guest_xml: Callable[..., str],
                                                                 embed_root: Path) -> None:
    dom = await drv.create(await drv.define_xml(guest_xml("keep")))
    await boot_ready(drv, dom)
    pid = qemu_pid(embed_root, "keep")
    await drv.close()  # the old driver goes away; QEMU must not

    d2 = await QemuDriver.open(f"qemu:///embed?root={embed_root}")
    try:
        await d2.reconnect_all()
        ref = await d2.lookup_by_name("keep")
        assert ref.id == dom.id
        assert await d2.get_state(ref) == (DomainState.RUNNING, RunningReason.BOOTED)
        assert qemu_pid(embed_root, "keep") == pid and Path(f"/proc/{pid}").exists()
        ev = Events(d2)
        # the reattached driver controls the guest and receives its events
        await d2.suspend(ref)
        await d2.resume(ref)
        await d2.shutdown(ref)
        await ev.wait_lifecycle("keep", (L.STOPPED, StoppedDetail.SHUTDOWN))
        assert await d2.get_state(ref) == (DomainState.SHUTOFF, ShutoffReason.SHUTDOWN)
    finally:
        await d2.close()


async def test_qemu_killed_is_crashed(drv: QemuDriver, guest_xml: Callable[..., str], embed_root: Path) -> None:
    ev = Events(drv)
    dom = await drv.create(await drv.define_xml(guest_xml("crash")))
    os.kill(qemu_pid(embed_root, "crash"), signal.SIGKILL)
    await ev.wait_lifecycle("crash", (L.STOPPED, StoppedDetail.FAILED))
    assert await drv.get_state(dom) == (DomainState.SHUTOFF, ShutoffReason.CRASHED)


async def test_concurrent_state_changes_are_serialized(drv: QemuDriver, guest_xml: Callable[..., str]) -> None:
    dom = await drv.create(await drv.define_xml(guest_xml("conc")), DomainCreateFlags.START_PAUSED)
    results = await asyncio.gather(
        drv.resume(dom), drv.suspend(dom), drv.resume(dom), drv.destroy(dom), drv.resume(dom),
        return_exceptions=True,
    )
    assert results[:4] == [None, None, None, None]
    assert isinstance(results[4], VirtError) and results[4].code == ErrorCode.OPERATION_INVALID
    assert await drv.get_state(dom) == (DomainState.SHUTOFF, ShutoffReason.DESTROYED)


async def test_transient_domain_vanishes_on_destroy(drv: QemuDriver, guest_xml: Callable[..., str]) -> None:
    dom = await drv.create_xml(guest_xml("trans"), DomainCreateFlags.START_PAUSED)
    assert not await drv.is_persistent(dom) and await drv.is_active(dom)
    assert [r.name for r in await drv.list_all_domains(ListDomainsFlags.TRANSIENT)] == ["trans"]
    with pytest.raises(VirtError) as ei:
        await drv.create_xml(guest_xml("trans"))
    assert ei.value.code in (ErrorCode.OPERATION_FAILED, ErrorCode.OPERATION_INVALID)
    await drv.destroy(dom)
    with pytest.raises(VirtError) as ei:
        await drv.lookup_by_name("trans")
    assert ei.value.code == ErrorCode.NO_DOMAIN


async def test_bad_xml_starts_nothing(drv: QemuDriver, guest_xml: Callable[..., str], embed_root: Path) -> None:
    good = guest_xml("bad")
    cases = [
        (good.replace("<name>bad</name>", ""), ErrorCode.NO_NAME),
        (good.replace("bus='virtio'", "bus='foo'"), ErrorCode.XML_ERROR),
        (good.replace("</disk>", "</disk>" + good[good.index("<disk"):good.index("</disk>") + 7]), ErrorCode.XML_ERROR),
        (good.replace("unit='MiB'", "unit='XiB'"), ErrorCode.INVALID_ARG),
    ]
    for xml, code in cases:
        with pytest.raises(VirtError) as ei:
            await drv.create_xml(xml)
        assert ei.value.code == code, ei.value
    await drv.define_xml(good)
    with pytest.raises(VirtError) as ei:  # same name, other uuid
        await drv.define_xml(guest_xml("bad"))
    assert ei.value.code == ErrorCode.OPERATION_FAILED
    assert [r.name for r in await drv.list_all_domains()] == ["bad"]
    assert await drv.list_all_domains(ListDomainsFlags.ACTIVE) == []
    assert list((embed_root / "run/qemu").glob("*.xml")) == []


async def test_qemu_start_failure_reports_qemu_error(drv: QemuDriver, guest_xml: Callable[..., str],
                                                    embed_root: Path) -> None:
    xml = guest_xml("nokernel").replace("/vmlinuz</kernel>", "/no-such-kernel</kernel>")
    dom = await drv.define_xml(xml)
    with pytest.raises(VirtError) as ei:
        await drv.create(dom)
    assert ei.value.code == ErrorCode.INTERNAL_ERROR
    assert "no-such-kernel" in ei.value.message
    assert await drv.get_state(dom) == (DomainState.SHUTOFF, ShutoffReason.FAILED)
    assert list((embed_root / "run/qemu").glob("*.xml")) == []


async def test_reboot_keeps_running_and_emits_reboot(drv: QemuDriver, guest_xml: Callable[..., str]) -> None:
    ev = Events(drv)
    dom = await drv.create(await drv.define_xml(guest_xml("reb")))
    await boot_ready(drv, dom)
    stream = await drv.open_console(dom, "serial0")
    try:
        await drv.reboot(dom)
        await ev.wait_for(lambda: any(isinstance(e, RebootEventMsg) for e in ev.items))
        await read_until(stream, READY)  # the guest came back up
    finally:
        await stream.close()
    assert await drv.get_state(dom) == (DomainState.RUNNING, RunningReason.BOOTED)
    assert (L.STOPPED, StoppedDetail.SHUTDOWN) not in ev.lifecycle("reb")


async def test_guest_agent_shutdown(drv: QemuDriver, guest_xml: Callable[..., str]) -> None:
    ev = Events(drv)
    chan = "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>"
    dom = await drv.create(await drv.define_xml(guest_xml("ga", devices_extra=chan)))
    stream = await drv.open_console(dom, None)
    try:
        out = await read_until(stream, READY)
        await read_until(stream, b"\n", 10) if not out.rstrip(b"\r").endswith(b"\n") else None
    finally:
        await stream.close()
    # As libvirtd (checked with virsh event --all): disconnected/domain-started at start,
    # connected/channel once qemu-ga opens its port; the live XML follows.
    def agent() -> list[tuple[int, int]]:
        return [(int(e.state), int(e.reason)) for e in ev.items
                if isinstance(e, AgentLifecycleEventMsg) and e.dom.name == "ga"]

    await ev.wait_for(lambda: (AgentLifecycleState.CONNECTED, AgentLifecycleReason.CHANNEL) in agent(), 30)
    assert agent()[0] == (AgentLifecycleState.DISCONNECTED, AgentLifecycleReason.DOMAIN_STARTED)
    live = await drv.get_xml_desc(dom)
    assert "org.qemu.guest_agent.0" in live and "<alias name='channel0'/>" in live
    assert "name='org.qemu.guest_agent.0' state='connected'/>" in live
    await drv.shutdown(dom, ShutdownFlags.GUEST_AGENT)
    await ev.wait_lifecycle("ga", (L.STOPPED, StoppedDetail.SHUTDOWN))
    assert await drv.get_state(dom) == (DomainState.SHUTOFF, ShutoffReason.SHUTDOWN)


async def test_agent_flag_without_channel_is_unsupported(drv: QemuDriver, guest_xml: Callable[..., str]) -> None:
    dom = await drv.create(await drv.define_xml(guest_xml("noga")), DomainCreateFlags.START_PAUSED)
    with pytest.raises(VirtError) as ei:
        await drv.shutdown(dom, ShutdownFlags.GUEST_AGENT)
    assert ei.value.code == ErrorCode.ARGUMENT_UNSUPPORTED


async def test_graceful_destroy_of_uncooperative_qemu_fails_then_force_works(
        drv: QemuDriver, guest_xml: Callable[..., str], embed_root: Path) -> None:
    dom = await drv.create(await drv.define_xml(guest_xml("stub")), DomainCreateFlags.START_PAUSED)
    pid = qemu_pid(embed_root, "stub")
    os.kill(pid, signal.SIGSTOP)  # a QEMU that cannot react to SIGTERM
    try:
        from pyvirt.drivers.qemu import process

        old = process.TERM_GRACE
        process.TERM_GRACE = 0.5
        try:
            with pytest.raises(VirtError) as ei:
                await drv.destroy(dom, DestroyFlags.GRACEFUL)
        finally:
            process.TERM_GRACE = old
        assert ei.value.code == ErrorCode.SYSTEM_ERROR
        assert await drv.is_active(dom)
    finally:
        os.kill(pid, signal.SIGCONT)
    await drv.destroy(dom)
    assert await drv.get_state(dom) == (DomainState.SHUTOFF, ShutoffReason.DESTROYED)


# ---------------------------------------------------------------------------- oracle

_ORACLE_SCRIPT = r'''
import json, sys, threading, time, libvirt
xml, log = sys.argv[1], sys.argv[2]
libvirt.virEventRegisterDefaultImpl()
threading.Thread(target=lambda: [libvirt.virEventRunDefaultImpl() for _ in iter(int, 1)], daemon=True).start()
conn = libvirt.open("qemu:///system")
events, steps = [], []
cond = threading.Condition()
def cb(c, d, ev, detail, opaque):
    if d.name() != sys.argv[3]:
        return  # other domains of the shared oracle
    with cond:
        events.append([ev, detail]); cond.notify_all()
conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, cb, None)
def wait_ev(e):
    with cond:
        assert cond.wait_for(lambda: e in events, 90), (e, events)
def step(name):
    time.sleep(0.3)  # let libvirtd apply QEMU's events before we look
    steps.append([name] + list(dom.state()))
dom = conn.defineXML(xml)
try:
    dom.create(); step("start")
    deadline = time.time() + 90
    while b"TESTGUEST READY" not in open(log, "rb").read():
        assert time.time() < deadline; time.sleep(0.1)
    dom.suspend(); step("suspend")
    dom.resume(); step("resume")
    dom.shutdown(); wait_ev([5, 0]); step("shutdown")
    dom.createWithFlags(libvirt.VIR_DOMAIN_START_PAUSED); step("start-paused")
    dom.resume(); step("resume-2")
    dom.destroy(); step("destroy")
finally:
    if dom.isActive(): dom.destroy()
    dom.undefine()
wait_ev([1, 0])
print(json.dumps({"steps": steps, "events": events}))
'''


def _oracle_available() -> str | None:
    import shutil
    import subprocess

    if not Path("/usr/bin/python3").exists() or shutil.which("virsh") is None:
        return "libvirt (virsh, python3-libvirt) not installed"
    r = subprocess.run(["/usr/bin/python3", "-c", "import libvirt; libvirt.open('qemu:///system').getVersion()"],
                       capture_output=True, text=True, check=False)
    return None if r.returncode == 0 else f"libvirtd oracle not reachable: {r.stderr.strip()[-200:]}"


@pytest.mark.oracle
async def test_states_and_events_match_libvirt(guest_xml: Callable[..., str], embed_root: Path) -> None:
    """The same scenario, same XML, on the real libvirtd and on pyvirt: same states, same events."""
    import json
    import uuid as uuidlib

    why = _oracle_available()
    if why:
        pytest.skip(why)
    name = f"pyvirt-oracle-{uuidlib.uuid4().hex[:8]}"
    xml = guest_xml(name)
    os.chmod(embed_root, 0o755)
    os.chmod(embed_root / "images", 0o777)  # libvirtd's QEMU runs as another user
    for f in (embed_root / "images").iterdir():
        os.chmod(f, 0o666)
    log = embed_root / "images" / f"{name}-console.log"
    proc = await asyncio.create_subprocess_exec(
        "/usr/bin/python3", "-c", _ORACLE_SCRIPT, xml, str(log), name,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 240)
    assert proc.returncode == 0, err.decode()[-2000:]
    oracle = json.loads(out)
    log.unlink(missing_ok=True)

    drv = await QemuDriver.open(f"qemu:///embed?root={embed_root}")
    ev = Events(drv)
    steps: list[list[object]] = []

    async def step(label: str) -> None:
        steps.append([label, *await drv.get_state(dom)])

    try:
        dom = await drv.define_xml(xml)
        await drv.create(dom)
        await step("start")
        await boot_ready(drv, dom)
        await drv.suspend(dom)
        await step("suspend")
        await drv.resume(dom)
        await step("resume")
        await drv.shutdown(dom)
        await ev.wait_lifecycle(name, (L.STOPPED, StoppedDetail.SHUTDOWN))
        await step("shutdown")
        await drv.create(dom, DomainCreateFlags.START_PAUSED)
        await step("start-paused")
        await drv.resume(dom)
        await step("resume-2")
        await drv.destroy(dom)
        await step("destroy")
        await drv.undefine(dom)
    finally:
        await drv.close()
    assert steps == oracle["steps"]
    ours = [list(e) for e in ev.lifecycle(name)]
    assert ours == oracle["events"]


@pytest.mark.parametrize(
    ("on_crash", "events", "final"),
    [
        # checked against libvirtd 9.0 with the same XML
        ("destroy", [(L.CRASHED, 0), (L.STOPPED, StoppedDetail.CRASHED)], (DomainState.SHUTOFF, ShutoffReason.CRASHED)),
        ("preserve", [(L.SUSPENDED, 0), (L.CRASHED, 0)], (DomainState.CRASHED, 1)),
    ],
)
async def test_guest_panic_follows_on_crash(drv: QemuDriver, guest_xml: Callable[..., str], on_crash: str,
                                            events: list[tuple[int, int]], final: tuple[int, int]) -> None:
    ev = Events(drv)
    xml = guest_xml(f"panic-{on_crash}", cmdline_extra="testguest.panic=1", devices_extra="<panic model='isa'/>",
                    on_crash=on_crash)
    dom = await drv.create(await drv.define_xml(xml))
    await ev.wait_lifecycle(dom.name, events[-1], timeout=90)
    assert ev.lifecycle(dom.name)[3:] == events  # after DEFINED, RESUMED, STARTED
    assert await drv.get_state(dom) == final
    if on_crash == "preserve":
        await drv.destroy(dom)
        assert ev.lifecycle(dom.name)[-2:] == [(L.SHUTDOWN, ShutdownDetail.HOST), (L.STOPPED, StoppedDetail.DESTROYED)]


async def test_autostart_and_unix_socket_console(drv: QemuDriver, guest_xml: Callable[..., str],
                                                embed_root: Path) -> None:
    sock = embed_root / "images" / "ux-serial.sock"
    xml = guest_xml("ux").replace(
        "<serial type='pty'>",
        f"<serial type='unix'>\n      <source mode='bind' path='{sock}'/>",
    ).replace("<console type='pty'>\n      <target type='serial' port='0'/>\n    </console>", "")
    dom = await drv.define_xml(xml)
    await drv.set_autostart(dom, True)
    assert await drv.autostart_all() == ["ux"]
    assert await drv.autostart_all() == []  # already running
    stream = await drv.open_console(dom, None)
    try:
        await read_until(stream, READY)
    finally:
        await stream.close()
    assert [r.name for r in await drv.list_all_domains(ListDomainsFlags.AUTOSTART | ListDomainsFlags.RUNNING)] == ["ux"]
