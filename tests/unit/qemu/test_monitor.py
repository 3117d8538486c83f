"""QMP client against the scripted fake server: handshake, commands, errors, events, hangup."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fakes.qmp_server import FakeQMPServer

from pyvirt.drivers.qemu.monitor import QMPClosed, QMPCommandError, QMPEvent, QMPMonitor


@pytest.fixture
async def server(tmp_path: Path) -> FakeQMPServer:
    srv = await FakeQMPServer(str(tmp_path / "mon.sock")).start()
    yield srv  # type: ignore[misc]
    await srv.stop()


async def test_handshake_negotiates_capabilities(server: FakeQMPServer) -> None:
    mon = await QMPMonitor.connect_path(server.path)
    assert server.commands() == ["qmp_capabilities"]
    assert mon.greeting["version"]["qemu"]["major"] == 7
    await mon.close()


async def test_execute_returns_value_and_records_arguments(server: FakeQMPServer) -> None:
    server.handlers["human-monitor-command"] = lambda a: {"return": "echo:" + a["command-line"]}
    mon = await QMPMonitor.connect_path(server.path)
    assert await mon.execute("human-monitor-command", {"command-line": "info"}) == "echo:info"
    assert server.calls[-1] == ("human-monitor-command", {"command-line": "info"})
    await mon.close()


async def test_error_reply_raises_command_error(server: FakeQMPServer) -> None:
    mon = await QMPMonitor.connect_path(server.path)
    with pytest.raises(QMPCommandError) as ei:
        await mon.execute("no-such-command")
    assert ei.value.error_class == "CommandNotFound"
    assert mon.connected  # an error reply does not break the session
    await mon.close()


async def test_events_are_delivered_in_order_before_the_reply(server: FakeQMPServer) -> None:
    mon = await QMPMonitor.connect_path(server.path)
    seen: list[QMPEvent] = []
    mon.on_event = seen.append
    await mon.execute("stop")
    await mon.execute("cont")
    assert [e.name for e in seen] == ["STOP", "RESUME"]
    assert seen[0].timestamp == pytest.approx(1.000002)
    await mon.close()


async def test_pending_call_fails_when_peer_hangs_up(server: FakeQMPServer) -> None:
    server.handlers["query-status"] = lambda a: (_ for _ in ()).throw(ConnectionResetError())  # type: ignore[misc]
    mon = await QMPMonitor.connect_path(server.path)
    closed = asyncio.Event()
    mon.on_close = closed.set
    with pytest.raises(QMPClosed):
        await mon.execute("query-status", timeout=5)
    await asyncio.wait_for(closed.wait(), 5)
    with pytest.raises(QMPClosed):
        await mon.execute("query-status")


async def test_second_client_after_first_releases(server: FakeQMPServer) -> None:
    a = await QMPMonitor.connect_path(server.path)
    await a.close()
    b = await QMPMonitor.connect_path(server.path)
    assert (await b.execute("query-status"))["status"] == "prelaunch"
    assert server.clients == 2
    await b.close()


async def test_connect_to_missing_socket_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        await QMPMonitor.connect_path(str(tmp_path / "nothing.sock"))


async def test_generation_moves_on_graph_changes_only(server: FakeQMPServer) -> None:
    """Queries, run-state commands and guest notices leave ``generation`` alone; any other
    command or event (which may change devices or the block graph) moves it."""
    server.handlers["blockdev-add"] = {"return": {}}
    server.handlers["human-monitor-command"] = {"return": ""}
    mon = await QMPMonitor.connect_path(server.path)
    seen: list[QMPEvent] = []
    mon.on_event = seen.append
    g = mon.generation
    await mon.execute("query-status")
    await mon.execute("stop")  # and its STOP event
    await mon.execute("cont")  # and RESUME
    server.emit("RTC_CHANGE", {"offset": 1})
    await mon.execute("query-status")  # the event is read before this reply
    assert [e.name for e in seen] == ["STOP", "RESUME", "RTC_CHANGE"]
    assert mon.generation == g
    await mon.execute("blockdev-add", {"driver": "null-co", "node-name": "n"})
    assert mon.generation == g + 1
    await mon.execute("human-monitor-command", {"command-line": "info"})  # HMP can do anything
    assert mon.generation == g + 2
    server.emit("DEVICE_TRAY_MOVED", {"device": "", "id": "sata0-0-0", "tray-open": True})
    await mon.execute("query-status")
    assert mon.generation == g + 3
    await mon.close()


async def test_send_nowait_writes_in_order_and_queues_behind_a_held_lock(server: FakeQMPServer) -> None:
    """send_nowait: the commands reach QEMU in the given order ahead of any command sent
    after it; with the write lock held (an fd send may bypass the transport's buffer) they
    queue behind it, still ahead of later commands. Each future gives the whole reply."""
    server.handlers["job-dismiss"] = {"return": {}}
    server.handlers["blockdev-del"] = {"error": {"class": "GenericError", "desc": "no node"}}
    mon = await QMPMonitor.connect_path(server.path)
    futs = mon.send_nowait([("job-dismiss", {"id": "j"}), ("blockdev-del", {"node-name": "n"})])
    await mon.execute("query-status")
    replies = await asyncio.gather(*futs)
    assert replies[0]["return"] == {} and replies[1]["error"]["desc"] == "no node"
    assert server.commands()[-3:] == ["job-dismiss", "blockdev-del", "query-status"]
    async with mon._lock:  # as _send_with_fd holds it, then writes past the transport
        futs = mon.send_nowait([("job-dismiss", {"id": "k"})])
        _cid, line, fd_cmd = mon._register({"execute": "query-status"})
        mon._writer.write(line)
    later = asyncio.ensure_future(mon.execute("query-status", {}))
    await asyncio.gather(*futs, fd_cmd, later)
    assert server.calls[-3:] == [("query-status", {}), ("job-dismiss", {"id": "k"}), ("query-status", {})]
    await mon.close()
