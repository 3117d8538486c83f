"""QemuDriver against a scripted fake QMP server and a stand-in process (no QEMU).

The "QEMU" of these tests is a ``sleep`` child (its pid and start time go in the status
file, like a real run) and its monitor is tests/fakes/qmp_server.py, so reattach, event
handling, state transitions and job serialization run in milliseconds.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fakes.qmp_server import FakeQMPServer

from pyvirt.drivers.base import DomainEvent, LifecycleEventMsg
from pyvirt.drivers.qemu.driver import QemuDriver
from pyvirt.drivers.qemu.paths import QemuPaths
from pyvirt.drivers.qemu.process import ProcessWatch
from pyvirt.drivers.qemu.status import StatusDoc, atomic_write, proc_start_time
from pyvirt.enums import (
    DomainState,
    LifecycleEvent,
    ListDomainsFlags,
    PausedReason,
    RunningReason,
    ShutoffReason,
    StoppedDetail,
)
from pyvirt.errors import ErrorCode, VirtError

XML = """<domain type='qemu'>
  <name>{name}</name>
  <uuid>{uuid}</uuid>
  <memory unit='MiB'>64</memory>
  <vcpu>2</vcpu>
  <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices>
</domain>"""


def xml(name: str, u: str | None = None) -> str:
    return XML.format(name=name, uuid=u or str(uuid.uuid4()))


@dataclass
class FakeRun:
    proc: subprocess.Popen[bytes]
    server: FakeQMPServer


@pytest.fixture
async def root(tmp_path: Path) -> AsyncIterator[Path]:
    yield tmp_path / "root"


_CAPS_CACHE = Path(tempfile.mkdtemp(prefix="pyvirt-caps-"))  # probe QEMU once per test run


async def open_drv(root: Path) -> QemuDriver:
    drv = await QemuDriver.open(f"qemu:///embed?root={root}")
    drv.lc.caps_cache_dir = _CAPS_CACHE
    return drv


async def fake_running(drv: QemuDriver, name: str, status: str = "running",
                       state: DomainState = DomainState.RUNNING, reason: int = RunningReason.BOOTED) -> FakeRun:
    """Define name and make it look like a QEMU we started earlier (status file + monitor)."""
    ref = await drv.define_xml(xml(name))
    paths: QemuPaths = drv.paths
    ddir = paths.run_dir / f"domain-9-{name}"
    ddir.mkdir(parents=True)
    server = await FakeQMPServer(str(ddir / "monitor.sock"), status=status).start()
    proc = subprocess.Popen(["sleep", "600"])  # noqa: ASYNC220
    (ddir / "qemu.pid").write_text(f"{proc.pid}\n")  # QEMU's -pidfile; removed on orderly exit
    # Like QEMU, the monitor goes away when the process dies.
    watch = ProcessWatch(proc.pid)
    watch.start()
    watch.on_exit(lambda: asyncio.ensure_future(server.drop_client()))
    live = (await drv.get_xml_desc(ref)).replace("<domain type='qemu'>", "<domain type='qemu' id='9'>")
    st = StatusDoc(name, str(uuid.UUID(bytes=ref.uuid)), 9, proc.pid, proc_start_time(proc.pid) or 0,
                   server.path, int(state), int(reason), live)
    atomic_write(paths.run_dir / f"{name}.xml", st.format())
    return FakeRun(proc, server)


async def stop_run(run: FakeRun) -> None:
    await run.server.stop()
    if run.proc.poll() is None:
        run.proc.kill()
    run.proc.returncode = 0


def collect(drv: QemuDriver) -> list[tuple[str, int, int]]:
    seen: list[tuple[str, int, int]] = []

    def cb(ev: DomainEvent) -> None:
        if isinstance(ev, LifecycleEventMsg):
            seen.append((ev.dom.name, int(ev.event), int(ev.detail)))

    drv.events.subscribe(cb)
    return seen


async def wait_state(drv: QemuDriver, name: str, state: DomainState, timeout: float = 5) -> tuple[int, int]:
    ref = await drv.lookup_by_name(name)
    for _ in range(int(timeout / 0.01)):
        st = await drv.get_state(ref)
        if st[0] == state:
            return st
        await asyncio.sleep(0.01)
    raise AssertionError(f"{name} never reached {state}: {await drv.get_state(ref)}")


# ---------------------------------------------------------------------------- definitions


async def test_define_lookup_list_undefine(root: Path) -> None:
    drv = await open_drv(root)
    events = collect(drv)
    u = str(uuid.uuid4())
    ref = await drv.define_xml(xml("a", u))
    assert (await drv.lookup_by_name("a")) == ref
    assert (await drv.lookup_by_uuid(uuid.UUID(u).bytes)).name == "a"
    assert ref.id == -1
    assert await drv.get_state(ref) == (DomainState.SHUTOFF, ShutoffReason.UNKNOWN)
    info = await drv.get_info(ref)
    assert (info.max_mem, info.memory, info.nr_virt_cpu, info.cpu_time) == (65536, 65536, 2, 0)
    assert await drv.is_persistent(ref) and not await drv.is_active(ref)
    assert (root / "etc/qemu/a.xml").exists()
    # a second connection sees it, from the files
    drv2 = await open_drv(root)
    assert [r.name for r in await drv2.list_all_domains(ListDomainsFlags.INACTIVE)] == ["a"]
    await drv.define_xml(xml("a", u))  # redefine same uuid: update
    await drv.undefine(ref)
    assert not (root / "etc/qemu/a.xml").exists()
    assert events == [("a", LifecycleEvent.DEFINED, 0), ("a", LifecycleEvent.DEFINED, 1), ("a", LifecycleEvent.UNDEFINED, 0)]
    with pytest.raises(VirtError) as ei:
        await drv.lookup_by_name("a")
    assert (ei.value.code, ei.value.message) == (ErrorCode.NO_DOMAIN, "Domain not found: no domain with matching name 'a'")


async def test_lookup_errors_match_libvirt(root: Path) -> None:
    drv = await open_drv(root)
    with pytest.raises(VirtError) as ei:
        await drv.lookup_by_id(99)
    assert ei.value.message == "Domain not found: no domain with matching id 99"
    u = "11111111-2222-3333-4444-555555555599"
    with pytest.raises(VirtError) as ei:
        await drv.lookup_by_uuid(uuid.UUID(u).bytes)
    assert ei.value.message == f"Domain not found: no domain with matching uuid '{u}'"
    assert ei.value.code == ErrorCode.NO_DOMAIN and int(ei.value.domain) == 10


async def test_same_name_other_uuid_is_refused(root: Path) -> None:
    drv = await open_drv(root)
    u = "11111111-2222-3333-4444-555555555555"
    await drv.define_xml(xml("bx", u))
    for call in (drv.define_xml, drv.create_xml):
        with pytest.raises(VirtError) as ei:
            await call(xml("bx", "11111111-2222-3333-4444-555555555556"))
        assert ei.value.code == ErrorCode.OPERATION_FAILED
        assert ei.value.message == f"operation failed: domain 'bx' already exists with uuid {u}"
    assert len(await drv.list_all_domains()) == 1


@pytest.mark.parametrize(
    ("mutate", "code", "message"),
    [
        (lambda x: x.replace("<name>bad</name>", ""), ErrorCode.NO_NAME, "missing name information"),
        (lambda x: x.replace("</devices>", "<disk type='file' device='disk'><source file='/tmp/x.qcow2'/>"
                             "<target dev='vda' bus='foo'/></disk></devices>"), ErrorCode.XML_ERROR,
         "XML error: Invalid value for attribute 'bus' in element 'target': 'foo'."),
        (lambda x: x.replace("</devices>", "<disk type='file' device='disk'><source file='/tmp/x.qcow2'/>"
                             "<target dev='vda' bus='virtio'/></disk><disk type='file' device='disk'>"
                             "<source file='/tmp/y.qcow2'/><target dev='vda' bus='virtio'/></disk></devices>"),
         ErrorCode.XML_ERROR, "XML error: target 'vda' duplicated for disk sources '/tmp/x.qcow2' and '/tmp/y.qcow2'"),
        (lambda x: x.replace("unit='MiB'", "unit='MiBs'"), ErrorCode.INVALID_ARG, "invalid argument: unknown suffix 'MiBs'"),
        (lambda x: x.replace("<os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os>", ""),
         ErrorCode.XML_ERROR, "XML error: an os <type> must be specified"),
    ],
)
async def test_bad_xml_defines_nothing(root: Path, mutate: object, code: ErrorCode, message: str) -> None:
    drv = await open_drv(root)
    bad = mutate(xml("bad"))  # type: ignore[operator]
    for call in (drv.define_xml, drv.create_xml):
        with pytest.raises(VirtError) as ei:
            await call(bad)
        assert ei.value.code == code
        assert message in ei.value.message
    assert await drv.list_all_domains() == []
    assert list((root / "etc/qemu").glob("*.xml")) == []


async def test_inactive_domain_state_errors(root: Path) -> None:
    drv = await open_drv(root)
    ref = await drv.define_xml(xml("off"))
    for call, dom in ((drv.suspend, 20), (drv.resume, 20), (drv.destroy, 20), (drv.shutdown, 10), (drv.reset, 20)):
        with pytest.raises(VirtError) as ei:
            await call(ref)
        assert (ei.value.code, int(ei.value.domain)) == (ErrorCode.OPERATION_INVALID, dom), call
        assert ei.value.message == "Requested operation is not valid: domain is not running"


async def test_autostart_symlink_and_list_filters(root: Path) -> None:
    drv = await open_drv(root)
    a = await drv.define_xml(xml("a"))
    await drv.define_xml(xml("b"))
    await drv.set_autostart(a, True)
    assert (root / "etc/qemu/autostart/a.xml").is_symlink()
    drv2 = await open_drv(root)
    assert await drv2.get_autostart(a)
    F = ListDomainsFlags
    names = lambda refs: sorted(r.name for r in refs)
    assert names(await drv2.list_all_domains(F.AUTOSTART)) == ["a"]
    assert names(await drv2.list_all_domains(F.NO_AUTOSTART)) == ["b"]
    assert names(await drv2.list_all_domains(F.SHUTOFF | F.PERSISTENT)) == ["a", "b"]
    assert names(await drv2.list_all_domains(F.ACTIVE)) == []
    assert names(await drv2.list_all_domains(F.RUNNING | F.PAUSED)) == []
    await drv2.set_autostart(a, False)
    assert not (root / "etc/qemu/autostart/a.xml").exists()


# ---------------------------------------------------------------------------- reattach


async def test_reads_need_no_monitor(root: Path) -> None:
    drv = await open_drv(root)
    run = await fake_running(drv, "r", status="running")
    try:
        reader = await open_drv(root)
        ref = await reader.lookup_by_name("r")
        assert ref.id == 9
        assert await reader.get_state(ref) == (DomainState.RUNNING, RunningReason.BOOTED)
        assert "id='9'" in await reader.get_xml_desc(ref)
        assert (await reader.get_info(ref)).cpu_time >= 0
        assert [r.name for r in await reader.list_all_domains(ListDomainsFlags.RUNNING)] == ["r"]
        assert run.server.clients == 0  # nobody touched QMP
    finally:
        await stop_run(run)


async def test_reattach_reconciles_and_follows_events(root: Path) -> None:
    drv = await open_drv(root)
    run = await fake_running(drv, "r", status="paused")  # paused while nobody listened
    try:
        drv2 = await open_drv(root)
        events = collect(drv2)
        await drv2.reconnect_all()
        # query-block-jobs: block jobs an earlier daemon started are re-adopted (blockjob_adopt.py)
        assert run.server.commands() == ["qmp_capabilities", "set-action", "query-status", "query-block-jobs"]
        assert run.server.calls[1] == ("set-action", {"shutdown": "pause"})  # -no-shutdown while we listen
        ref = await drv2.lookup_by_name("r")
        assert await drv2.get_state(ref) == (DomainState.PAUSED, PausedReason.UNKNOWN)
        await drv2.resume(ref)
        assert await drv2.get_state(ref) == (DomainState.RUNNING, RunningReason.UNPAUSED)
        run.server.status = "paused"
        run.server.emit("STOP")  # e.g. an I/O error pause: state follows the event
        assert await wait_state(drv2, "r", DomainState.PAUSED) == (DomainState.PAUSED, PausedReason.UNKNOWN)
        assert events == [("r", LifecycleEvent.RESUMED, 0), ("r", LifecycleEvent.SUSPENDED, 0)]
        # status file follows too: a third connection reads it
        drv3 = await open_drv(root)
        assert await drv3.get_state(ref) == (DomainState.PAUSED, PausedReason.UNKNOWN)
        await drv2.close()
        # nobody listens after close: an unattended guest poweroff must make QEMU exit
        assert run.server.calls[-1] == ("set-action", {"shutdown": "poweroff"})
        # after close the monitor is free for the next process
        drv4 = await open_drv(root)
        await drv4.suspend(ref)  # already paused: no-op like libvirt
        await drv4.close()
        assert run.server.clients == 2
        assert run.proc.poll() is None  # QEMU untouched by attach/detach
    finally:
        await stop_run(run)


async def test_reattach_finishes_a_guest_shutdown_nobody_saw(root: Path) -> None:
    drv = await open_drv(root)
    run = await fake_running(drv, "s", status="shutdown")
    try:
        drv2 = await open_drv(root)
        await drv2.reconnect_all()
        ref = await drv2.lookup_by_name("s")
        assert await drv2.get_state(ref) == (DomainState.SHUTOFF, ShutoffReason.SHUTDOWN)
        assert proc_start_time(run.proc.pid) is None  # killed (and reaped)
        assert not (root / "run/qemu/s.xml").exists()
        assert (await drv2.lookup_by_name("s")).id == -1
    finally:
        await stop_run(run)


async def test_qemu_that_died_meanwhile_is_marked_crashed(root: Path) -> None:
    drv = await open_drv(root)
    run = await fake_running(drv, "d")
    run.proc.kill()
    run.proc.wait()
    try:
        drv2 = await open_drv(root)
        ref = await drv2.lookup_by_name("d")
        assert await drv2.get_state(ref) == (DomainState.SHUTOFF, ShutoffReason.CRASHED)
        assert not (root / "run/qemu/d.xml").exists()
    finally:
        await stop_run(run)


async def test_orderly_exit_while_unattended_is_a_shutdown(root: Path) -> None:
    drv = await open_drv(root)
    run = await fake_running(drv, "o")
    # QEMU exited on its own (guest poweroff under shutdown=poweroff): pidfile gone
    (root / "run/qemu/domain-9-o/qemu.pid").unlink()
    run.proc.terminate()
    run.proc.wait()
    try:
        drv2 = await open_drv(root)
        ref = await drv2.lookup_by_name("o")
        assert await drv2.get_state(ref) == (DomainState.SHUTOFF, ShutoffReason.SHUTDOWN)
        assert not (root / "run/qemu/domain-9-o").exists()
    finally:
        await stop_run(run)


async def test_exit_while_attached_is_recorded(root: Path) -> None:
    drv = await open_drv(root)
    run = await fake_running(drv, "x")
    try:
        await drv.reconnect_all()
        events = collect(drv)
        run.server.emit("SHUTDOWN", {"guest": True, "reason": "guest-shutdown"})
        # the driver kills QEMU after SHUTDOWN (-no-shutdown); our stand-in dies of SIGTERM
        st = await wait_state(drv, "x", DomainState.SHUTOFF)
        assert st == (DomainState.SHUTOFF, ShutoffReason.SHUTDOWN)
        assert events == [("x", LifecycleEvent.SHUTDOWN, 1), ("x", LifecycleEvent.STOPPED, StoppedDetail.SHUTDOWN)]
    finally:
        await stop_run(run)


async def test_unexpected_exit_is_a_crash(root: Path) -> None:
    drv = await open_drv(root)
    run = await fake_running(drv, "y")
    try:
        await drv.reconnect_all()
        events = collect(drv)
        os.kill(run.proc.pid, signal.SIGKILL)
        await run.server.drop_client()
        assert await wait_state(drv, "y", DomainState.SHUTOFF) == (DomainState.SHUTOFF, ShutoffReason.CRASHED)
        assert events == [("y", LifecycleEvent.STOPPED, StoppedDetail.FAILED)]
    finally:
        await stop_run(run)


async def test_concurrent_state_changes_are_serialized(root: Path) -> None:
    drv = await open_drv(root)
    run = await fake_running(drv, "c")
    try:
        await drv.reconnect_all()
        ref = await drv.lookup_by_name("c")
        inside = 0
        peak = 0
        orig = run.server._default

        def slow(cmd: str, args: dict[str, object]) -> dict[str, object]:
            return orig(cmd, args)

        # Count overlapping QMP mutations by wrapping the job: each call holds it while in QMP.
        job = drv.store.by_name["c"].job
        real_hold = job.hold

        def counting_hold(kind):  # type: ignore[no-untyped-def]
            cm = real_hold(kind)

            class Wrap:
                async def __aenter__(self) -> None:
                    nonlocal inside, peak
                    await cm.__aenter__()
                    inside += 1
                    peak = max(peak, inside)
                    await asyncio.sleep(0.01)

                async def __aexit__(self, *exc: object) -> None:
                    nonlocal inside
                    inside -= 1
                    await cm.__aexit__(*exc)

            return Wrap()

        job.hold = counting_hold  # type: ignore[method-assign]
        results = await asyncio.gather(drv.suspend(ref), drv.resume(ref), drv.suspend(ref), drv.destroy(ref),
                                       return_exceptions=True)
        assert peak == 1
        assert results[3] is None  # destroy succeeded
        assert await drv.get_state(ref) == (DomainState.SHUTOFF, ShutoffReason.DESTROYED)
        cmds = [c for c in run.server.commands() if c in ("stop", "cont")]
        assert cmds == ["stop", "cont", "stop"]
    finally:
        await stop_run(run)


async def test_shutoff_reason_survives_for_the_next_process(root: Path) -> None:
    drv = await open_drv(root)
    run = await fake_running(drv, "k")
    try:
        ref = await drv.lookup_by_name("k")
        await drv.destroy(ref)  # attaches on demand, then signals the stand-in
        await drv.close()
        later = await open_drv(root)
        assert await later.get_state(ref) == (DomainState.SHUTOFF, ShutoffReason.DESTROYED)
        await later.undefine(ref)
        assert not (root / "run/qemu/k.shutoff").exists()
    finally:
        await stop_run(run)


async def test_unsupported_flags_like_virCheckFlags(root: Path) -> None:
    drv = await open_drv(root)
    ref = await drv.define_xml(xml("f"))
    with pytest.raises(VirtError) as ei:
        await drv.get_state(ref, 1)
    assert (ei.value.code, int(ei.value.domain)) == (ErrorCode.INVALID_ARG, 10)
    assert ei.value.message == "unsupported flags (0x1) in function qemuDomainGetState"


async def test_listing_parses_no_definition(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """list/state/lookup of many domains read names, uuids and states only (pyvirsh list speed)."""
    drv = await open_drv(root)
    for i in range(50):
        await drv.define_xml(xml(f"m{i:02d}"))
    run = await fake_running(drv, "live")
    try:
        from pyvirt.drivers.qemu import domainobj
        from pyvirt.drivers.qemu.status import StatusDoc

        def boom(*a: object, **k: object) -> None:
            raise AssertionError("a definition or live XML was parsed")

        monkeypatch.setattr(domainobj.DomainDefinition, "parse", classmethod(boom))
        monkeypatch.setattr(StatusDoc, "parse", classmethod(boom))
        fresh = await open_drv(root)
        refs = await fresh.list_all_domains()
        assert len(refs) == 51
        states = [await fresh.get_state(r) for r in refs]
        assert states.count((DomainState.RUNNING, RunningReason.BOOTED)) == 1
        assert [r.name for r in await fresh.list_all_domains(ListDomainsFlags.ACTIVE)] == ["live"]
        assert (await fresh.lookup_by_id(9)).name == "live"
    finally:
        await stop_run(run)


async def test_balloon_change_updates_live_current_memory(root: Path) -> None:
    """QEMU's BALLOON_CHANGE moves the live currentMemory (what dominfo's Used memory shows)."""
    drv = await open_drv(root)
    run = await fake_running(drv, "bal")
    try:
        await drv.reconnect_all()
        ref = await drv.lookup_by_name("bal")
        assert (await drv.get_info(ref)).memory == 65536
        run.server.emit("BALLOON_CHANGE", {"actual": 32 << 20})
        for _ in range(500):
            if (await drv.get_info(ref)).memory != 65536:
                break
            await asyncio.sleep(0.01)
        assert (await drv.get_info(ref)).memory == 32768
        assert "<currentMemory unit='KiB'>32768</currentMemory>" in await drv.get_xml_desc(ref)
        assert "<currentMemory unit='KiB'>65536</currentMemory>" in await drv.get_xml_desc(ref, 2)
    finally:
        await stop_run(run)
