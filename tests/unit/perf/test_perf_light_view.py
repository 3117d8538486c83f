"""The light read-only view (pyvirt.drivers.qemu.readonly) answers exactly as the full QEMU
driver does for the same files: listing with every filter, states and reasons, lookups and
their errors, and pyvirsh's output; and it steps aside where only the full driver may act."""

from __future__ import annotations

import io
import itertools
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from pyvirt.cli import ctl as ctl_mod
from pyvirt.cli.main import main
from pyvirt.drivers.base import DomainRef
from pyvirt.drivers.qemu import readonly
from pyvirt.drivers.qemu.driver import QemuDriver
from pyvirt.drivers.qemu.paths import QemuPaths
from pyvirt.drivers.qemu.status import StatusDoc, atomic_write, proc_start_time
from pyvirt.drivers.test.driver import run_sync
from pyvirt.enums import DomainState, ListDomainsFlags, PausedReason, RunningReason, ShutoffReason
from pyvirt.errors import VirtError
from pyvirt.remote import client, sockpaths

XML = """<domain type='qemu'>
  <name>{name}</name>
  <uuid>{uuid}</uuid>
  <memory unit='KiB'>65536</memory>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
</domain>
"""


def _uuid(i: int) -> str:
    return f"{i:08x}-1111-2222-3333-{i:012x}"


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """A real live process for the 'running' status documents to point at."""
    p = subprocess.Popen(["sleep", "300"])
    yield p
    p.kill()
    p.wait()


def _write_state(root: Path, pid: int) -> QemuPaths:
    """Files as the QEMU driver keeps them: shut-off, autostarted, running, paused, a
    transient running domain, a running persistent one, a recorded shut-off reason, and a
    name that needs escaping."""
    paths = QemuPaths.embed(root)
    paths.ensure()
    start = proc_start_time(pid)
    assert start is not None
    names = ["alpha", "Beta", "gamma", "delta", "eps'q&<x>", "zeta"]
    for i, n in enumerate(names):
        atomic_write(paths.config_dir / f"{n}.xml", XML.format(name=n.replace("&", "&amp;")
                     .replace("<", "&lt;").replace(">", "&gt;"), uuid=_uuid(i + 1)))
    atomic_write(paths.autostart_dir / "Beta.xml", "")
    atomic_write(paths.run_dir / "alpha.shutoff", f"{int(ShutoffReason.DESTROYED)}\n")

    def status(name: str, uuid: str, dom_id: int, state: DomainState, reason: int,
               persistent: bool = True) -> None:
        doc = StatusDoc(name=name, uuid=uuid, id=dom_id, pid=pid, start_time=start,
                        monitor=str(paths.run_dir / "mon.sock"), state=int(state),
                        reason=reason, live_xml=XML.format(name=name, uuid=uuid),
                        persistent=persistent)
        atomic_write(paths.run_dir / f"{name}.xml", doc.format())

    status("gamma", _uuid(3), 4, DomainState.RUNNING, int(RunningReason.BOOTED))
    status("delta", _uuid(4), 2, DomainState.PAUSED, int(PausedReason.USER))
    status("eps'q&<x>", _uuid(5), 7, DomainState.RUNNING, int(RunningReason.UNPAUSED))
    status("transient", _uuid(9), 3, DomainState.RUNNING, int(RunningReason.BOOTED),
           persistent=False)
    return paths


def _refs(doms: Sequence[DomainRef | readonly.DomainEntry]) -> list[tuple[str, bytes, int]]:
    return [(d.name, d.uuid, d.id) for d in doms]


FLAG_SETS = [0] + [int(f) for f in ListDomainsFlags] + [
    int(a | b) for a, b in itertools.combinations(list(ListDomainsFlags)[:8], 2)]


@pytest.mark.parametrize("state", ["empty", "several"])
async def test_view_answers_like_the_full_driver(tmp_path: Path, sleeper: subprocess.Popen[bytes],
                                                 state: str) -> None:
    root = tmp_path / "root"
    paths = _write_state(root, sleeper.pid) if state == "several" else QemuPaths.embed(root)
    uri = f"qemu:///embed?root={root}"
    dirs = readonly.light_dirs(uri)
    assert dirs is not None
    view = readonly.QemuReadView.open(uri, *dirs)
    assert view is not None
    full = await QemuDriver.open(uri)
    try:
        assert (str(paths.config_dir), str(paths.run_dir)) == dirs
        for flags in FLAG_SETS:
            want = _refs(await full.list_all_domains(flags))
            got = _refs(run_sync(view.list_all_domains(flags)))
            assert got == want, hex(flags)
        all_refs = await full.list_all_domains(0)
        assert len(all_refs) == (7 if state == "several" else 0)
        for ref in all_refs:
            entry = run_sync(view.lookup_by_name(ref.name))
            assert run_sync(view.get_state(entry)) == await full.get_state(ref)
            assert run_sync(view.is_active(entry)) == await full.is_active(ref)
            assert run_sync(view.is_persistent(entry)) == await full.is_persistent(ref)
            assert run_sync(view.get_autostart(entry)) == await full.get_autostart(ref)
            assert _refs([run_sync(view.lookup_by_uuid(ref.uuid))]) == _refs([ref])
            if ref.id >= 0:
                assert _refs([run_sync(view.lookup_by_id(ref.id))]) == \
                    _refs([await full.lookup_by_id(ref.id)])
        # errors: same code, domain and message
        for call_view, call_full in (
            (view.lookup_by_name("nope"), full.lookup_by_name("nope")),
            (view.lookup_by_uuid(b"\x01" * 16), full.lookup_by_uuid(b"\x01" * 16)),
            (view.lookup_by_id(99), full.lookup_by_id(99)),
        ):
            with pytest.raises(VirtError) as ev:
                run_sync(call_view)
            with pytest.raises(VirtError) as ef:
                await call_full
            assert (ev.value.code, ev.value.domain, ev.value.message) == \
                (ef.value.code, ef.value.domain, ef.value.message)
    finally:
        await full.close()


def _pyvirsh(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    code = main(argv)
    monkeypatch.undo()
    return code, out.getvalue(), err.getvalue()


COMMAND_LINES = [
    ["list"], ["list", "--all"], ["list", "--inactive"], ["list", "--all", "--name"],
    ["list", "--uuid", "--all"], ["list", "--state-paused"], ["list", "--autostart", "--all"],
    ["list", "--transient"], ["domstate", "alpha", "--reason"], ["domstate", "delta", "--reason"],
    ["domstate", "2"], ["domid", "gamma"], ["domid", _uuid(1)], ["domname", "4"],
    ["domuuid", "zeta"], ["domuuid", "nosuch"], ["domstate", "nosuch"], ["domname", "99"],
    ["list; domstate gamma; domid Beta"],
]


def test_pyvirsh_light_output_equals_full(tmp_path: Path, sleeper: subprocess.Popen[bytes],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "root"
    _write_state(root, sleeper.pid)
    uri = f"qemu:///embed?root={root}"
    opened: list[object] = []
    real_open = ctl_mod.open_light

    def spy(u: str, readonly: bool = False) -> object:
        v = real_open(u, readonly)
        opened.append(v)
        return v

    for line in COMMAND_LINES:
        monkeypatch.setattr(ctl_mod, "open_light", spy)
        light = _pyvirsh(["-c", uri, *line], monkeypatch)
        assert opened and opened[-1] is not None, line  # the light view served it
        monkeypatch.setattr(ctl_mod, "open_light", lambda u, readonly=False: None)
        full = _pyvirsh(["-c", uri, *line], monkeypatch)
        assert light == full, line
        opened.clear()


def test_dead_qemu_falls_back_to_the_full_driver(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A status document whose QEMU is gone must be reaped (files written, reason
    recorded): the view refuses, and pyvirsh's answer is the full driver's."""
    p = subprocess.Popen(["sleep", "300"])
    root = tmp_path / "root"
    _write_state(root, p.pid)
    p.kill()
    p.wait()
    uri = f"qemu:///embed?root={root}"
    dirs = readonly.light_dirs(uri)
    assert dirs is not None
    assert readonly.QemuReadView.open(uri, *dirs) is None
    code, out, _ = _pyvirsh(["-c", uri, "list", "--all"], monkeypatch)
    assert code == 0
    assert " gamma " in out and "shut off" in out and "running" not in out
    # once reaped, the light view serves again and agrees
    view = readonly.QemuReadView.open(uri, *dirs)
    assert view is not None
    assert all(not e.active for e in view.by_name.values() if e.persistent)


@pytest.mark.parametrize("uri", [
    "qemu:///system", "qemu:///session", "qemu:///embed?root=/var/tmp/x",
    "qemu:///embed?root=/var/tmp/../tmp/y/",
])
def test_light_dirs_match_qemu_paths(uri: str, monkeypatch: pytest.MonkeyPatch,
                                     tmp_path: Path) -> None:
    for env in ({}, {"XDG_CONFIG_HOME": str(tmp_path / "c"), "XDG_RUNTIME_DIR": str(tmp_path / "r")}):
        for k in ("XDG_CONFIG_HOME", "XDG_RUNTIME_DIR", "XDG_CACHE_HOME"):
            monkeypatch.delenv(k, raising=False)
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        paths = QemuPaths.from_uri(uri)
        assert readonly.light_dirs(uri) == (str(paths.config_dir), str(paths.run_dir))


@pytest.mark.parametrize("uri", ["qemu:///embed?root=rel", "qemu:///embed?root=/a%20b",
                                 "qemu:///embed?root=/a&x=1", "qemu://host/system",
                                 "qemu+unix:///system", "test:///default", "qemu:///system/"])
def test_other_uri_forms_take_the_full_path(uri: str) -> None:
    assert readonly.light_dirs(uri) is None


def test_shared_facts_agree(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert sockpaths.SYSTEM_SOCKET == client.SYSTEM_SOCKET
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    assert sockpaths.session_socket() == client.session_socket()
    F = ListDomainsFlags
    assert (readonly.F_ACTIVE, readonly.F_INACTIVE, readonly.F_PERSISTENT, readonly.F_TRANSIENT,
            readonly.F_RUNNING, readonly.F_PAUSED, readonly.F_SHUTOFF, readonly.F_OTHER,
            readonly.F_MANAGEDSAVE, readonly.F_NO_MANAGEDSAVE, readonly.F_AUTOSTART,
            readonly.F_NO_AUTOSTART, readonly.F_HAS_SNAPSHOT, readonly.F_NO_SNAPSHOT,
            readonly.F_HAS_CHECKPOINT, readonly.F_NO_CHECKPOINT) == (
            F.ACTIVE, F.INACTIVE, F.PERSISTENT, F.TRANSIENT, F.RUNNING, F.PAUSED, F.SHUTOFF,
            F.OTHER, F.MANAGEDSAVE, F.NO_MANAGEDSAVE, F.AUTOSTART, F.NO_AUTOSTART,
            F.HAS_SNAPSHOT, F.NO_SNAPSHOT, F.HAS_CHECKPOINT, F.NO_CHECKPOINT)
    assert (readonly._RUNNING, readonly._PAUSED, readonly._SHUTOFF) == (
        DomainState.RUNNING, DomainState.PAUSED, DomainState.SHUTOFF)


def test_status_attrs_round_trip_escaped_values() -> None:
    doc = StatusDoc(name="a'b\"c&<d>", uuid=_uuid(1), id=3, pid=10, start_time=20,
                    monitor="/x y/'m'", state=3, reason=1, live_xml="<domain/>", persistent=False)
    attrs = readonly.status_attrs(doc.format().split("\n", 1)[0])
    assert attrs["name"] == doc.name and attrs["monitor"] == doc.monitor
    assert (attrs["id"], attrs["state"], attrs["persistent"]) == ("3", "3", "0")


def test_config_uuid() -> None:
    assert readonly.config_uuid(b"<domain><uuid> 00000001-1111-2222-3333-000000000001 </uuid>") \
        == bytes.fromhex("00000001111122223333000000000001")
    assert readonly.config_uuid(b"<domain><name>x</name></domain>") is None
    assert readonly.config_uuid(b"<uuid>zz</uuid>") is None


@pytest.mark.parametrize("pad", [0, 4090, 4093, 5000, 9000])
def test_read_until_finds_markers_across_chunks(tmp_path: Path, pad: int) -> None:
    """The listing reads a prefix up to </uuid>: wherever the uuid sits (a long <title>
    before it, the marker split by a read boundary), the view finds the driver's uuid."""
    uuid = _uuid(77)
    text = f"<domain><title>{'x' * pad}</title><uuid>{uuid}</uuid><name>n</name></domain>\n"
    p = tmp_path / "n.xml"
    p.write_text(text)
    head = readonly._read_until(str(p), b"</uuid>")
    assert b"</uuid>" in head
    assert readonly.config_uuid(head) == bytes.fromhex(uuid.replace("-", ""))


# ---------------------------------------------------------------- through a running pyvirtd
@pytest.fixture
def daemon_with_state(tmp_path: Path, sleeper: subprocess.Popen[bytes],
                      monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """pyvirtd (in a thread) serving the _write_state domains; plain qemu:///system points
    at its socket, as it would at /run/pyvirt/libvirt-sock."""
    from pyvirt.daemon.config import DaemonConfig
    from pyvirt.daemon.thread import DaemonThread

    root = tmp_path / "d"
    _write_state(root, sleeper.pid)
    with DaemonThread(DaemonConfig(root=root, keepalive_interval=0, reattach=False)):
        sock = str(root / "run" / "libvirt-sock")
        monkeypatch.setattr(sockpaths, "SYSTEM_SOCKET", sock)
        yield sock


async def test_sync_client_answers_like_the_async_client(daemon_with_state: str) -> None:
    from pyvirt.remote.syncclient import SyncRemoteReads

    sync = SyncRemoteReads.open(daemon_with_state, "qemu:///system")
    full = await client.RemoteDriver.open(f"qemu+unix:///system?socket={daemon_with_state}")
    try:
        for flags in FLAG_SETS:
            want = _refs(await full.list_all_domains(flags))
            assert _refs(run_sync(sync.list_all_domains(flags))) == want, hex(flags)
        refs = await full.list_all_domains(0)
        assert len(refs) == 7
        for ref in refs:
            assert run_sync(sync.get_state(ref)) == await full.get_state(ref)
            assert _refs([run_sync(sync.lookup_by_name(ref.name))]) == _refs([ref])
            assert _refs([run_sync(sync.lookup_by_uuid(ref.uuid))]) == _refs([ref])
        for call_sync, call_full in (
            (sync.lookup_by_name("nope"), full.lookup_by_name("nope")),
            (sync.lookup_by_id(99), full.lookup_by_id(99)),
        ):
            with pytest.raises(VirtError) as es:
                run_sync(call_sync)
            with pytest.raises(VirtError) as ef:
                await call_full
            assert (es.value.code, es.value.domain, es.value.message) == \
                (ef.value.code, ef.value.domain, ef.value.message)
    finally:
        run_sync(sync.close())
        await full.close()


def test_pyvirsh_through_the_daemon_light_equals_full(daemon_with_state: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from pyvirt.remote.syncclient import SyncRemoteReads

    opened: list[object] = []
    real_open = ctl_mod.open_light

    def spy(u: str, readonly: bool = False) -> object:
        v = real_open(u, readonly)
        opened.append(v)
        return v

    for line in COMMAND_LINES:
        monkeypatch.setattr(ctl_mod, "open_light", spy)
        monkeypatch.setattr(sockpaths, "SYSTEM_SOCKET", daemon_with_state)
        light = _pyvirsh(["-c", "qemu:///system", *line], monkeypatch)
        assert isinstance(opened[-1], SyncRemoteReads), line  # the blocking client served it
        monkeypatch.setattr(ctl_mod, "open_light", lambda u, readonly=False: None)
        full = _pyvirsh(["-c", f"qemu+unix:///system?socket={daemon_with_state}", *line],
                        monkeypatch)
        assert light == full, line
        opened.clear()


def test_sync_client_reports_a_vanished_daemon_like_the_async_client(tmp_path: Path) -> None:
    from pyvirt.daemon.config import DaemonConfig
    from pyvirt.daemon.thread import DaemonThread
    from pyvirt.remote.syncclient import SyncRemoteReads
    from pyvirt.rpc.client import connection_lost_error

    with DaemonThread(DaemonConfig(root=tmp_path, keepalive_interval=0, reattach=False)):
        sync = SyncRemoteReads.open(str(tmp_path / "run" / "libvirt-sock"), "qemu:///system")
        assert run_sync(sync.list_all_domains(0)) == []
    with pytest.raises(VirtError) as e:
        run_sync(sync.list_all_domains(0))
    want = connection_lost_error()
    assert (e.value.code, e.value.domain, e.value.message) == (want.code, want.domain, want.message)
    run_sync(sync.close())  # closing a dead connection is quiet


def test_unreadable_dirs_leave_it_to_the_full_driver(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """(root reads everything, so the failure is simulated) the light open declines
    instead of reporting its own error; the full driver's report is the one users see."""
    def denied(path: str) -> list[str]:
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(readonly, "_dir_names", denied)
    assert ctl_mod.open_light(f"qemu:///embed?root={tmp_path}") is None


@pytest.mark.parametrize("uri", [
    "qemu+unix:///system?socket=/tmp/x/libvirt-sock", "qemu:///system?socket=/run/a b/s",
    "qemu+unix:///session?socket=/r/s", "qemu+unix:///system?socket=/run/libvirt/libvirt-sock",
])
def test_daemon_target_matches_the_client_parser(uri: str) -> None:
    assert sockpaths.daemon_target(uri) == client.split_uri(uri)


@pytest.mark.parametrize("uri", [
    "qemu+unix:///system?socket=rel", "qemu+unix:///system?socket=/a%20b",
    "qemu+unix:///system?socket=/a&mode=legacy", "qemu+unix:///system?socket=/a+b",
    "qemu+unix:///embed?socket=/s", "qemu+tls://h/system?socket=/s", "test+unix:///default?socket=/s",
    "qemu+unix://host/system?socket=/s", "qemu+unix:///system",
])
def test_other_remote_forms_take_the_async_client(uri: str, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sockpaths, "SYSTEM_SOCKET", str(tmp_path / "none"))
    assert sockpaths.daemon_target(uri) is None


def test_pyvirsh_socket_uri_uses_the_sync_client(daemon_with_state: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from pyvirt.remote.syncclient import SyncRemoteReads

    uri = f"qemu+unix:///system?socket={daemon_with_state}"
    opened: list[object] = []
    real_open = ctl_mod.open_light

    def spy(u: str, readonly: bool = False) -> object:
        v = real_open(u, readonly)
        opened.append(v)
        return v

    for line in COMMAND_LINES:
        monkeypatch.setattr(ctl_mod, "open_light", spy)
        light = _pyvirsh(["-c", uri, *line], monkeypatch)
        assert isinstance(opened[-1], SyncRemoteReads), line
        monkeypatch.setattr(ctl_mod, "open_light", lambda u, readonly=False: None)
        full = _pyvirsh(["-c", uri, *line], monkeypatch)
        assert light == full, line
        opened.clear()
