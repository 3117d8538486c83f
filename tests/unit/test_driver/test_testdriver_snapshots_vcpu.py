"""TestDriver snapshots and vCPUs: libvirt 9.0's test-driver semantics (taken from the real
virsh / python3-libvirt on test:///default; the byte-for-byte oracle comparison is in
tests/integration/test_pyvirsh_vs_virsh_snapvcpu.py)."""

from __future__ import annotations

import time

import pytest

from pyvirt.drivers.base import SnapshotRef
from pyvirt.drivers.test.driver import TestDriver, run_sync
from pyvirt.drivers.test.node import TestNodeHub
from pyvirt.enums import DomainState
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

SNAP = "<domainsnapshot><name>{}</name></domainsnapshot>"


@pytest.fixture
def drv() -> TestDriver:
    return TestDriver(hub=TestNodeHub())  # a private node: no sharing with other tests


def names(drv: TestDriver, flags: int = 0) -> list[str]:
    return run_sync(drv.snapshot_list_names(run_sync(drv.lookup_by_name("test")), flags))


def test_create_records_state_time_and_domain(drv: TestDriver) -> None:
    dom = run_sync(drv.lookup_by_name("test"))
    before = int(time.time())
    snap = run_sync(drv.snapshot_create_xml(dom, SNAP.format("s1")))
    xml = run_sync(drv.snapshot_get_xml_desc(snap))
    assert "<state>running</state>" in xml
    created = int(xml.split("<creationTime>")[1].split("<")[0])
    assert before <= created <= int(time.time())
    assert "<memory snapshot='internal'/>" in xml and "<disk name='vda' snapshot='internal'/>" in xml
    assert "  <domain type='test'>\n    <name>test</name>" in xml and " id=" not in xml
    run_sync(drv.destroy(dom))
    xml2 = run_sync(drv.snapshot_get_xml_desc(run_sync(drv.snapshot_create_xml(dom, SNAP.format("s2")))))
    assert "<state>shutoff</state>" in xml2 and "<memory snapshot='no'/>" in xml2
    assert "<parent>\n    <name>s1</name>\n  </parent>" in xml2


def test_tree_current_delete(drv: TestDriver) -> None:
    dom = run_sync(drv.lookup_by_name("test"))
    for n in ("a", "b", "c"):
        run_sync(drv.snapshot_create_xml(dom, SNAP.format(n)))
    assert names(drv) == ["a", "b", "c"]
    assert names(drv, 1) == ["a"]  # roots
    assert names(drv, 4) == ["c"]  # leaves
    assert run_sync(drv.snapshot_current(dom)).name == "c"
    assert run_sync(drv.snapshot_get_parent(SnapshotRef(dom, "c"))).name == "b"
    assert run_sync(drv.snapshot_list_children_names(SnapshotRef(dom, "a"), 1)) == ["b", "c"]  # descendants
    run_sync(drv.snapshot_delete(SnapshotRef(dom, "b")))  # c moves up to a
    assert run_sync(drv.snapshot_get_parent(SnapshotRef(dom, "c"))).name == "a"
    run_sync(drv.snapshot_delete(SnapshotRef(dom, "a"), 4))  # children only
    assert names(drv) == ["a"] and run_sync(drv.snapshot_current(dom)).name == "a"
    run_sync(drv.snapshot_delete(SnapshotRef(dom, "a")))
    with pytest.raises(VirtError) as ei:
        run_sync(drv.snapshot_current(dom))
    assert (ei.value.code, ei.value.domain) == (ErrorCode.NO_DOMAIN_SNAPSHOT, ErrorDomain.TEST)


def test_revert_restores_state(drv: TestDriver) -> None:
    dom = run_sync(drv.lookup_by_name("test"))
    run_sync(drv.destroy(dom))
    run_sync(drv.snapshot_create_xml(dom, SNAP.format("off")))
    run_sync(drv.create(dom))
    run_sync(drv.suspend(dom))
    run_sync(drv.snapshot_create_xml(dom, SNAP.format("paused")))
    run_sync(drv.revert_to_snapshot(SnapshotRef(dom, "off")))
    assert run_sync(drv.get_state(dom))[0] == DomainState.SHUTOFF
    run_sync(drv.revert_to_snapshot(SnapshotRef(dom, "paused")))
    assert run_sync(drv.get_state(dom)) == (DomainState.PAUSED, 7)  # VIR_DOMAIN_PAUSED_FROM_SNAPSHOT
    run_sync(drv.revert_to_snapshot(SnapshotRef(dom, "off"), 1))  # --running
    assert run_sync(drv.get_state(dom)) == (DomainState.RUNNING, 4)  # VIR_DOMAIN_RUNNING_FROM_SNAPSHOT


def test_errors_are_libvirts(drv: TestDriver) -> None:
    dom = run_sync(drv.lookup_by_name("test"))
    run_sync(drv.snapshot_create_xml(dom, SNAP.format("x")))
    with pytest.raises(VirtError) as ei:
        run_sync(drv.snapshot_create_xml(dom, SNAP.format("x")))
    assert (ei.value.code, ei.value.domain, ei.value.message) == (
        ErrorCode.OPERATION_FAILED, ErrorDomain.DOMAIN, "operation failed: domain moment x already exists")
    with pytest.raises(VirtError) as ei:
        run_sync(drv.snapshot_lookup_by_name(dom, "nope"))
    assert ei.value.message == "Domain snapshot not found: no domain snapshot with matching name 'nope'"
    with pytest.raises(VirtError) as ei:
        run_sync(drv.snapshot_create_xml(
            dom, "<domainsnapshot><disks><disk name='vdz' snapshot='internal'/></disks></domainsnapshot>"))
    assert (ei.value.code, ei.value.domain) == (ErrorCode.CONFIG_UNSUPPORTED, ErrorDomain.DOMAIN_SNAPSHOT)


def test_vcpus_and_pinning(drv: TestDriver) -> None:
    dom = run_sync(drv.lookup_by_name("test"))
    m = run_sync(drv.node_get_cpu_map())
    assert (m.cpus, m.cpumap, m.online) == (8, b"\x15", 3)
    info, maps = run_sync(drv.get_vcpus(dom, 8, 1))
    assert [(v.number, v.state, v.cpu) for v in info] == [(0, 1, 15), (1, 1, 15)]
    assert maps == b"\xff\xff"
    run_sync(drv.pin_vcpu(dom, 1, b"\x06"))
    info, maps = run_sync(drv.get_vcpus(dom, 8, 2))
    assert maps == b"\xff\xff\x06\x00" and info[1].cpu == 2
    assert run_sync(drv.get_vcpu_pin_info(dom, 2, 1, 0)) == [b"\xff", b"\x06"]
    with pytest.raises(VirtError) as ei:
        run_sync(drv.pin_vcpu_flags(dom, 0, b"\x01", 1))
    assert ei.value.message == "unsupported flags (0x1) in function testDomainPinVcpuFlags"
    with pytest.raises(VirtError) as ei:
        run_sync(drv.pin_vcpu(dom, 2, b"\x01"))
    assert ei.value.message == "invalid argument: requested vcpu '2' is not present in the domain"
    run_sync(drv.destroy(dom))
    with pytest.raises(VirtError) as ei:
        run_sync(drv.get_vcpus(dom, 2, 1))
    assert ei.value.code == ErrorCode.OPERATION_INVALID
    assert run_sync(drv.get_vcpus_flags(dom, 2 | 4)) == 2
