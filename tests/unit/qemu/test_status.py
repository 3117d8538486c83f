"""Status documents, atomic writes, /proc helpers, id allocation, paths per URI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pyvirt.drivers.qemu.domainobj import DomainStore
from pyvirt.drivers.qemu.paths import QemuPaths
from pyvirt.drivers.qemu.status import (
    IdAllocator,
    StatusDoc,
    atomic_write,
    pid_alive_as,
    proc_cpu_time_ns,
    proc_start_time,
)
from pyvirt.errors import VirtError


def _doc(**kw: object) -> StatusDoc:
    base: dict[str, object] = {
        "name": "vm'1&<x>", "uuid": "8d7e2f94-1d2c-4b8a-9c3e-0f0a1b2c3d4e", "id": 7, "pid": 1234, "start_time": 99,
        "monitor": "/run/x/domain-7-vm/monitor.sock", "state": 3, "reason": 1,
        "live_xml": "<domain type='qemu' id='7'><name>vm'1&amp;&lt;x&gt;</name></domain>", "persistent": False,
    }
    base.update(kw)
    return StatusDoc(**base)  # type: ignore[arg-type]


def test_status_round_trip_with_awkward_characters() -> None:
    d = _doc()
    assert StatusDoc.parse(d.format()) == d


def test_cheap_scan_reads_root_attributes_and_defers_live_xml(tmp_path: Path) -> None:
    p = tmp_path / "vm.xml"
    atomic_write(p, _doc().format())
    st = DomainStore.read_status(p)
    assert st is not None
    assert (st.name, st.id, st.pid, st.start_time, st.state, st.reason, st.persistent) == (
        "vm'1&<x>", 7, 1234, 99, 3, 1, False)
    assert st.monitor == "/run/x/domain-7-vm/monitor.sock"


def test_atomic_write_leaves_no_temp_files(tmp_path: Path) -> None:
    p = tmp_path / "a.xml"
    atomic_write(p, "one")
    atomic_write(p, "two")
    assert p.read_text() == "two"
    assert sorted(os.listdir(tmp_path)) == ["a.xml"]


def test_proc_helpers_on_self_and_missing_pid() -> None:
    me = os.getpid()
    st = proc_start_time(me)
    assert st is not None and st > 0
    assert pid_alive_as(me, st)
    assert not pid_alive_as(me, st + 1)  # pid reuse guard
    assert proc_cpu_time_ns(me) > 0
    assert proc_start_time(2**22 + 12345) is None
    assert proc_cpu_time_ns(2**22 + 12345) == 0


def test_ids_increase_from_one_and_persist(tmp_path: Path) -> None:
    a = IdAllocator(tmp_path / "next-id")
    assert [a.next(), a.next()] == [1, 2]
    assert IdAllocator(tmp_path / "next-id").next() == 3


def test_paths_per_uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = QemuPaths.from_uri("qemu:///system")
    assert (s.config_dir, s.run_dir, s.lib_dir, s.cache_dir, s.log_dir) == (
        Path("/etc/pyvirt/qemu"), Path("/run/pyvirt/qemu"), Path("/var/lib/pyvirt/qemu"),
        Path("/var/cache/pyvirt/qemu"), Path("/var/log/pyvirt/qemu"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "rt"))
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    u = QemuPaths.from_uri("qemu:///session")
    assert u.config_dir == tmp_path / ".config/pyvirt/qemu"
    assert u.run_dir == tmp_path / "rt/pyvirt/qemu"
    e = QemuPaths.from_uri(f"qemu:///embed?root={tmp_path}/r")
    assert all(str(p).startswith(f"{tmp_path}/r/") for p in (e.config_dir, e.run_dir, e.lib_dir, e.cache_dir, e.log_dir))
    assert e.uri == f"qemu:///embed?root={tmp_path}/r"
    with pytest.raises(VirtError):
        QemuPaths.from_uri("qemu:///embed")
    with pytest.raises(VirtError):
        QemuPaths.from_uri("qemu:///bogus")
