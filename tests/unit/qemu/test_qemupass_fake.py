"""libvirt-qemu pass-through of the QEMU driver against the scripted fake QMP server:
monitor commands (QMP as given, HMP through human-monitor-command), taint, QMP event
callbacks with libvirt's filters, and the NO_SUPPORT default of drivers without it."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_driver_fake import FakeRun, fake_running, open_drv, stop_run

from pyvirt.cli.qemu_cmds import pretty
from pyvirt.drivers.base import QemuMonitorEventMsg
from pyvirt.drivers.qemu.driver import QemuDriver
from pyvirt.drivers.qemu.passthrough import event_matcher
from pyvirt.drivers.test.driver import TestDriver
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[tuple[QemuDriver, FakeRun]]:
    drv = await open_drv(tmp_path / "root")
    run = await fake_running(drv, "pt")
    yield drv, run
    await drv.close()
    await stop_run(run)


async def test_qmp_command_goes_as_given_and_the_whole_reply_comes_back(running: tuple[QemuDriver, FakeRun]) -> None:
    drv, run = running
    ref = await drv.lookup_by_name("pt")
    out = json.loads(await drv.qemu_monitor_command(ref, '{"execute":"query-status"}'))
    assert out["return"] == {"status": "running", "running": True, "singlestep": False}
    assert str(out["id"]).startswith("pyvirt-")
    # an error reply is the result, not a failure (libvirt returns it as the string)
    err = json.loads(await drv.qemu_monitor_command(ref, '{"execute":"nosuch","arguments":{"a":1}}'))
    assert err["error"]["class"] == "CommandNotFound"
    assert ("nosuch", {"a": 1}) in run.server.calls


async def test_hmp_goes_through_human_monitor_command(running: tuple[QemuDriver, FakeRun]) -> None:
    drv, run = running
    run.server.handlers["human-monitor-command"] = lambda a: {"return": f"ran {a['command-line']}\r\n"}
    ref = await drv.lookup_by_name("pt")
    assert await drv.qemu_monitor_command(ref, "info status", 1) == "ran info status\r\n"
    assert ("human-monitor-command", {"command-line": "info status"}) in run.server.calls


async def test_command_errors_and_taint(running: tuple[QemuDriver, FakeRun]) -> None:
    drv, _run = running
    ref = await drv.lookup_by_name("pt")
    assert not any("custom monitor" in m for m in await drv.get_messages(ref))
    for bad, text in (("garbage", "cannot parse json garbage"),
                      ('{"execute":"query-status","id":"x"}', "Unable to append command 'id' string"),
                      ("[1,2]", "Unable to append command 'id' string")):
        with pytest.raises(VirtError) as ei:
            await drv.qemu_monitor_command(ref, bad)
        assert ei.value.code == ErrorCode.INTERNAL_ERROR and text in ei.value.message
    with pytest.raises(VirtError) as ei:
        await drv.qemu_monitor_command(ref, "{}", 2)
    assert ei.value.code == ErrorCode.INVALID_ARG
    # the first command marked the domain, as libvirt's taint does
    assert (await drv.get_messages(ref))[0] == "tainted: custom monitor control commands issued"


async def test_monitor_events_with_filters(running: tuple[QemuDriver, FakeRun]) -> None:
    drv, run = running
    ref = await drv.lookup_by_name("pt")
    got: dict[str, list[QemuMonitorEventMsg]] = {"all": [], "rx": [], "exact": []}
    done = asyncio.Event()

    def sink(key: str) -> object:
        def cb(m: QemuMonitorEventMsg) -> None:
            got[key].append(m)
            if key == "all" and m.event == "RESUME":
                done.set()
        return cb

    ids = [await drv.qemu_monitor_event_register(ref, None, 0, sink("all")),  # type: ignore[arg-type]
           await drv.qemu_monitor_event_register(None, "^job_", 3, sink("rx")),  # type: ignore[arg-type]
           await drv.qemu_monitor_event_register(ref, "STOP", 0, sink("exact"))]  # type: ignore[arg-type]
    assert ids == [0, 1, 2]
    run.server.emit("JOB_STATUS_CHANGE", {"id": "j1", "status": "created"})
    await drv.suspend(ref)
    await drv.resume(ref)
    await asyncio.wait_for(done.wait(), 5)
    names = [m.event for m in got["all"]]
    assert names[:3] == ["JOB_STATUS_CHANGE", "STOP", "RESUME"]
    first = got["all"][0]
    assert (first.seconds, first.micros) == (1, 2)  # the fake's timestamp, split as libvirt does
    assert first.details == '{"id":"j1","status":"created"}'
    assert got["all"][1].details is None  # no data: libvirt's NULL
    assert [m.event for m in got["rx"]] == ["JOB_STATUS_CHANGE"]
    assert [m.event for m in got["exact"]] == ["STOP"]
    for cid in ids:
        await drv.qemu_monitor_event_deregister(cid)
    with pytest.raises(VirtError) as ei:
        await drv.qemu_monitor_event_deregister(ids[0])
    assert ei.value.code == ErrorCode.INVALID_ARG
    n = len(got["all"])
    await drv.suspend(ref)
    await asyncio.sleep(0.1)
    assert len(got["all"]) == n


async def test_not_running(tmp_path: Path) -> None:
    drv = await open_drv(tmp_path / "root")
    try:
        ref = await drv.define_xml(
            "<domain type='qemu'><name>off</name><memory unit='MiB'>64</memory>"
            "<os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os></domain>")
        with pytest.raises(VirtError) as ei:
            await drv.qemu_monitor_command(ref, '{"execute":"query-status"}')
        assert ei.value.code == ErrorCode.OPERATION_INVALID
        with pytest.raises(VirtError) as ei:
            await drv.qemu_agent_command(ref, '{"execute":"guest-ping"}', -1)
        assert ei.value.code == ErrorCode.OPERATION_INVALID
    finally:
        await drv.close()


async def test_test_driver_has_no_support_like_libvirt() -> None:
    # virsh -c test:///default qemu-monitor-command test ... (libvirt 9.0): code 3, VIR_FROM_NONE
    drv = TestDriver()
    try:
        ref = await drv.lookup_by_name("test")
        calls = {
            "virDomainQemuMonitorCommand": drv.qemu_monitor_command(ref, "{}"),
            "virDomainQemuAgentCommand": drv.qemu_agent_command(ref, "{}", -1),
            "virConnectDomainQemuMonitorEventRegister": drv.qemu_monitor_event_register(ref, None, 0, print),
            "virDomainQemuAttach": drv.qemu_attach(1),
        }
        for api, coro in calls.items():
            with pytest.raises(VirtError) as ei:
                await coro
            assert (ei.value.code, ei.value.domain) == (ErrorCode.NO_SUPPORT, ErrorDomain.NONE)
            assert ei.value.message == f"this function is not supported by the connection driver: {api}"
    finally:
        await drv.close()  # the shared test node resets only when its last connection closes


def test_matcher() -> None:
    assert event_matcher("STOP", 0)("STOP") and not event_matcher("STOP", 0)("stop")
    assert event_matcher("stop", 2)("STOP")
    assert event_matcher("S.*", 1)("RESUME") and not event_matcher("^S", 1)("RESUME")
    assert event_matcher(None, 0)("ANY")
    with pytest.raises(VirtError):
        event_matcher("(", 1)


def test_pretty_as_virsh_prints_it() -> None:
    # virsh 9.0 qemu-monitor-command --pretty '{"execute":"cont"}' -> libvirtd printed this
    assert pretty({"return": {}, "id": "libvirt-447"}) == '{\n  "return": {\n\n  },\n  "id": "libvirt-447"\n}'
    assert pretty({"a": [1, {"b": False}]}) == '{\n  "a": [\n    1,\n    {\n      "b": false\n    }\n  ]\n}'
