"""TestDriver: libvirt's test driver semantics (state + reason, errors, events, sharing).

The expectations were taken from the real libvirt 9.0 test driver (python3-libvirt and
virsh on test:///default); the oracle comparison lives in tests/integration.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pyvirt.drivers.base import DomainEvent, LifecycleEventMsg
from pyvirt.drivers.test.driver import TestDriver, run_sync
from pyvirt.drivers.test.node import TestNodeHub
from pyvirt.enums import (
    DomainState,
    LifecycleEvent,
    ListDomainsFlags,
    PausedReason,
    RunningReason,
    ShutoffReason,
    XMLFlags,
)
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

REPO = Path(__file__).resolve().parents[3]
NODE_XML = (REPO / ".." / "shared" / "libvirt-testdata" / "extra-libvirt-11.3.0" / "examples"
            / "xml" / "test" / "testnode.xml")

XML = """<domain type='test'>
  <name>{name}</name>
  <uuid>{uuid}</uuid>
  <memory unit='MiB'>64</memory>
  <os><type>hvm</type></os>
</domain>"""
U1 = "11111111-2222-3333-4444-555555555555"


@pytest.fixture
async def drv() -> AsyncIterator[TestDriver]:
    d = TestDriver("test:///default", hub=TestNodeHub())
    yield d
    await d.close()


def record(d: TestDriver) -> list[tuple[str, int, int]]:
    seen: list[tuple[str, int, int]] = []

    def cb(ev: DomainEvent) -> None:
        assert isinstance(ev, LifecycleEventMsg)
        seen.append((ev.dom.name, int(ev.event), ev.detail))

    d.events.subscribe(cb)
    return seen


async def test_stock_objects(drv: TestDriver) -> None:
    doms = await drv.list_all_domains()
    assert [(d.name, d.id) for d in doms] == [("test", 1)]
    ref = doms[0]
    assert await drv.get_state(ref) == (DomainState.RUNNING, RunningReason.UNKNOWN)
    info = await drv.get_info(ref)
    assert (info.max_mem, info.memory, info.nr_virt_cpu) == (8388608, 2097152, 2)
    assert set(drv.node.networks) == {"default"}
    assert set(drv.node.pools) == {"default-pool"}
    assert set(drv.node.interfaces) == {"eth1"}
    assert set(drv.node.node_devices) == {"computer"}
    assert (await drv.node_get_info()).cpus == 16


async def test_lifecycle_states_and_events(drv: TestDriver) -> None:
    seen = record(drv)
    ref = await drv.lookup_by_name("test")
    await drv.suspend(ref)
    assert await drv.get_state(ref) == (DomainState.PAUSED, PausedReason.USER)
    await drv.resume(ref)
    assert await drv.get_state(ref) == (DomainState.RUNNING, RunningReason.UNPAUSED)
    await drv.reboot(ref)  # no event, back to booted
    assert await drv.get_state(ref) == (DomainState.RUNNING, RunningReason.BOOTED)
    await drv.shutdown(ref)
    assert await drv.get_state(ref) == (DomainState.SHUTOFF, ShutoffReason.SHUTDOWN)
    ref = await drv.create(ref)
    assert ref.id == 2
    await drv.destroy(ref)
    assert await drv.get_state(ref) == (DomainState.SHUTOFF, ShutoffReason.DESTROYED)
    assert seen == [("test", LifecycleEvent.SUSPENDED, 0), ("test", LifecycleEvent.RESUMED, 0),
                    ("test", LifecycleEvent.STOPPED, 0), ("test", LifecycleEvent.STARTED, 0),
                    ("test", LifecycleEvent.STOPPED, 1)]


@pytest.mark.parametrize(("op", "code", "domain", "message"), [
    ("suspend_twice", ErrorCode.INTERNAL_ERROR, ErrorDomain.TEST,
     "internal error: domain 'test' not running"),
    ("resume_running", ErrorCode.INTERNAL_ERROR, ErrorDomain.TEST,
     "internal error: domain 'test' not paused"),
    ("create_active", ErrorCode.INTERNAL_ERROR, ErrorDomain.TEST,
     "internal error: Domain 'test' is already running"),
    ("destroy_twice", ErrorCode.OPERATION_INVALID, ErrorDomain.DOMAIN,
     "Requested operation is not valid: domain is not running"),
    ("start_paused", ErrorCode.INVALID_ARG, ErrorDomain.TEST,
     "unsupported flags (0x1) in function testDomainCreateWithFlags"),
])
async def test_errors(drv: TestDriver, op: str, code: int, domain: int, message: str) -> None:
    ref = await drv.lookup_by_name("test")
    with pytest.raises(VirtError) as ei:
        if op == "suspend_twice":
            await drv.suspend(ref)
            await drv.suspend(ref)
        elif op == "resume_running":
            await drv.resume(ref)
        elif op == "create_active":
            await drv.create(ref)
        elif op == "destroy_twice":
            await drv.destroy(ref)
            await drv.destroy(ref)
        else:
            await drv.destroy(ref)
            await drv.create(ref, 1)
    assert (ei.value.code, ei.value.domain, ei.value.message) == (code, domain, message)


async def test_lookup_errors(drv: TestDriver) -> None:
    for coro in (drv.lookup_by_name("nope"), drv.lookup_by_id(7),
                 drv.lookup_by_uuid(b"\x00" * 16)):
        with pytest.raises(VirtError) as ei:
            await coro
        assert (ei.value.code, ei.value.domain) == (ErrorCode.NO_DOMAIN, ErrorDomain.TEST)
        assert ei.value.message == "Domain not found"


async def test_define_undefine_and_transient(drv: TestDriver) -> None:
    seen = record(drv)
    ref = await drv.define_xml(XML.format(name="a", uuid=U1))
    assert ref.id == -1 and await drv.is_persistent(ref)
    await drv.define_xml(XML.format(name="a", uuid=U1))  # redefine: UPDATED
    ref = await drv.create(ref)
    await drv.undefine(ref)  # running: becomes transient
    assert not await drv.is_persistent(ref) and await drv.is_active(ref)
    await drv.destroy(ref)  # transient + stopped: gone
    with pytest.raises(VirtError):
        await drv.lookup_by_name("a")
    assert seen == [("a", LifecycleEvent.DEFINED, 0), ("a", LifecycleEvent.DEFINED, 1),
                    ("a", LifecycleEvent.STARTED, 0), ("a", LifecycleEvent.UNDEFINED, 0),
                    ("a", LifecycleEvent.STOPPED, 1)]


async def test_define_clash_and_bad_xml(drv: TestDriver) -> None:
    with pytest.raises(VirtError) as ei:
        await drv.define_xml(XML.format(name="test", uuid=U1))
    assert ei.value.code == ErrorCode.OPERATION_FAILED
    assert "already exists with uuid 6695eb01-f6a4-8304-79aa-97f2502e193f" in ei.value.message
    with pytest.raises(VirtError) as ei:
        await drv.define_xml("<domain type='test'><memory>1</memory></domain>")
    assert ei.value.code == ErrorCode.NO_NAME
    with pytest.raises(VirtError) as ei:
        await drv.define_xml("<domain")
    assert ei.value.code == ErrorCode.XML_DETAIL
    assert [d.name for d in await drv.list_all_domains()] == ["test"]


async def test_create_xml_is_transient(drv: TestDriver) -> None:
    ref = await drv.create_xml(XML.format(name="t", uuid=U1))
    assert ref.id == 2 and not await drv.is_persistent(ref)
    with pytest.raises(VirtError) as ei:
        await drv.create_xml(XML.format(name="t", uuid=U1))
    assert ei.value.code == ErrorCode.OPERATION_INVALID


async def test_running_redefine_takes_effect_on_stop(drv: TestDriver) -> None:
    ref = await drv.lookup_by_name("test")
    xml = await drv.get_xml_desc(ref, XMLFlags.INACTIVE)
    assert "id=" not in xml.splitlines()[0]
    await drv.define_xml(xml.replace("<vcpu placement='static'>2</vcpu>",
                                     "<vcpu placement='static'>4</vcpu>"))
    assert (await drv.get_info(ref)).nr_virt_cpu == 2
    assert "<vcpu placement='static'>4</vcpu>" in await drv.get_xml_desc(ref, XMLFlags.INACTIVE)
    await drv.destroy(ref)
    assert (await drv.get_info(ref)).nr_virt_cpu == 4


async def test_list_filters(drv: TestDriver) -> None:
    await drv.define_xml(XML.format(name="off", uuid=U1))
    F = ListDomainsFlags

    async def names(flags: int) -> list[str]:
        return sorted(d.name for d in await drv.list_all_domains(flags))

    assert await names(0) == ["off", "test"]
    assert await names(F.ACTIVE) == ["test"]
    assert await names(F.INACTIVE) == ["off"]
    assert await names(F.SHUTOFF) == ["off"]
    assert await names(F.RUNNING | F.SHUTOFF) == ["off", "test"]
    assert await names(F.TRANSIENT) == []
    assert await names(F.AUTOSTART) == []
    await drv.set_autostart(await drv.lookup_by_name("off"), True)
    assert await names(F.AUTOSTART) == ["off"]


async def test_default_node_shared_and_reset() -> None:
    hub = TestNodeHub()
    a = TestDriver("test:///default", hub=hub)
    b = TestDriver("test:///default", hub=hub)
    seen_b = record(b)
    ref = await a.lookup_by_name("test")
    await a.destroy(ref)
    # b sees a's change and a's event: one node, every connection's bus.
    assert await b.get_state(ref) == (DomainState.SHUTOFF, ShutoffReason.DESTROYED)
    assert seen_b == [("test", LifecycleEvent.STOPPED, 1)]
    await a.close()
    assert not await b.is_active(ref)
    await b.close()
    c = TestDriver("test:///default", hub=hub)
    assert await c.is_active(await c.lookup_by_name("test"))  # fresh node after last close
    await c.close()


def test_run_sync_needs_no_loop() -> None:
    d = TestDriver("test:///default", hub=TestNodeHub())
    assert run_sync(d.get_version()) == 2
    assert run_sync(d.lookup_by_id(1)).name == "test"
    run_sync(d.close())


@pytest.mark.skipif(not NODE_XML.exists(), reason="libvirt test corpus absent (../shared)")
async def test_node_file() -> None:
    d = TestDriver(f"test://{NODE_XML.resolve()}", hub=TestNodeHub())
    doms = await d.list_all_domains()
    assert [x.name for x in doms] == ["fv0", "fc4", "fc5"]
    assert [x.id for x in doms] == [1, 2, 3]
    info = await d.node_get_info()
    assert (info.model, info.cpus, info.mhz, info.memory) == ("i986", 50, 6000, 8192000)
    fc5 = await d.lookup_by_name("fc5")
    msgs = await d.get_messages(fc5)
    assert msgs[0] == "tainted: running with undesirable elevated privileges"
    assert msgs[-1] == "deprecated configuration: CPU model Deprecated-Test"
    await d.close()


def test_lazy_stock_doc_has_the_parsed_facts() -> None:
    from pyvirt.drivers.test import domxml
    from pyvirt.drivers.test.node import STOCK_DOMAIN_XML, stock_domain_doc

    lazy, parsed = stock_domain_doc(), domxml.parse(STOCK_DOMAIN_XML)
    for f in ("name", "uuid", "virt_type", "max_mem_kib", "cur_mem_kib", "vcpus", "on_reboot",
              "on_poweroff"):
        assert getattr(lazy, f) == getattr(parsed, f), f
    assert lazy.format(1) == parsed.format(1)
