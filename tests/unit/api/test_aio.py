"""pyvirt.aio against the in-process test driver: typed API, errors, events, close."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator

import pytest

import pyvirt.aio as virt
from pyvirt.aio.registry import DriverEntry, Opened, open_uri
from pyvirt.drivers.base import BlockJobEventMsg, DomainRef, LifecycleEventMsg, RebootEventMsg
from pyvirt.drivers.test.driver import TestDriver
from pyvirt.enums import BlockJobStatus, BlockJobType, DomainState, EventID, LifecycleEvent
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError
from pyvirt.uri import ConnectURI, parse_uri

XML = """<domain type='test'>
  <name>aio-a</name>
  <uuid>11111111-2222-3333-4444-555555555555</uuid>
  <memory unit='KiB'>65536</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
</domain>"""


@pytest.fixture
async def conn() -> AsyncIterator[virt.Connection]:
    c = await virt.open("test:///default")
    yield c
    await c.close()


async def test_connection_queries(conn: virt.Connection) -> None:
    assert await conn.get_uri() == "test:///default"
    assert await conn.get_type() == "TEST"
    assert await conn.get_lib_version() >= 9_000_000
    assert await conn.is_alive()
    names = [d.name for d in await conn.list_all_domains()]
    assert "test" in names
    assert await conn.num_of_domains() == len(await conn.list_domain_ids())
    node = await conn.node_info()
    assert node.cpus > 0


async def test_define_start_lifecycle(conn: virt.Connection) -> None:
    dom = await conn.define_xml(XML)
    try:
        assert dom.name == "aio-a" and dom.id == -1
        assert dom.uuid_string == "11111111-2222-3333-4444-555555555555"
        assert (await dom.state())[0] == DomainState.SHUTOFF
        await dom.create()
        assert dom.id > 0, "create() must give the handle its new id, as libvirt does"
        assert (await dom.info()).state == DomainState.RUNNING
        await dom.suspend()
        assert (await dom.state())[0] == DomainState.PAUSED
        await dom.resume()
        await dom.destroy()
        assert dom.id == -1 and not await dom.is_active()
        same = await conn.lookup_by_uuid_string(dom.uuid_string)
        assert same == dom and hash(same) == hash(dom)
    finally:
        await dom.undefine()
    with pytest.raises(VirtError) as ei:
        await conn.lookup_by_name("aio-a")
    assert ei.value.code == ErrorCode.NO_DOMAIN


@pytest.mark.parametrize("bad", ["zz", "11111111-2222-3333-4444-55555555555g", ""])
async def test_bad_uuid(conn: virt.Connection, bad: str) -> None:
    with pytest.raises(VirtError) as ei:
        await conn.lookup_by_uuid_string(bad)
    assert (ei.value.code, ei.value.domain, ei.value.message) == (
        ErrorCode.INVALID_ARG, ErrorDomain.DOMAIN, "Invalid UUID")


async def test_readonly_refuses_changes() -> None:
    ro = await virt.open("test:///default", readonly=True)
    try:
        with pytest.raises(VirtError) as ei:
            await ro.define_xml(XML)
        assert (ei.value.code, ei.value.domain) == (ErrorCode.OPERATION_DENIED, ErrorDomain.DOMAIN)
        assert ei.value.message == "operation forbidden: read only access prevents virDomainDefineXML"
        dom = await ro.lookup_by_name("test")
        with pytest.raises(VirtError, match="prevents virDomainSuspend"):
            await dom.suspend()
        assert (await dom.state())[0] == DomainState.RUNNING  # queries still work
    finally:
        await ro.close()


async def test_closed_connection_is_invalid() -> None:
    c = await virt.open("test:///default")
    await c.close()
    await c.close()  # idempotent
    with pytest.raises(VirtError) as ei:
        await c.get_uri()
    assert ei.value.code == ErrorCode.INVALID_CONN


async def test_event_stream_and_callbacks(conn: virt.Connection) -> None:
    seen: list[tuple[str, EventID]] = []
    token = conn.add_domain_event_callback(lambda _c, d, _ev, i: seen.append((d.name, i)),
                                           EventID.LIFECYCLE)
    dom = await conn.lookup_by_name("test")
    async with conn.domain_events([EventID.LIFECYCLE], dom) as events:
        await dom.suspend()
        await dom.resume()
        got = [await events.get(1.0), await events.get(1.0)]
    kinds = [ev.event for _, ev in got if isinstance(ev, LifecycleEventMsg)]
    assert kinds == [LifecycleEvent.SUSPENDED, LifecycleEvent.RESUMED]
    assert seen == [("test", EventID.LIFECYCLE)] * 2
    conn.remove_domain_event_callback(token)
    with pytest.raises(VirtError) as ei:
        conn.remove_domain_event_callback(token)
    assert ei.value.message == f"invalid argument: could not find event callback {token} for deletion"


async def test_event_filters_by_domain_and_id(conn: virt.Connection) -> None:
    test_dom = await conn.lookup_by_name("test")
    got: list[EventID] = []
    conn.add_domain_event_callback(lambda *_a: got.append(EventID.REBOOT), EventID.REBOOT)
    conn.add_domain_event_callback(lambda *_a: got.append(EventID.LIFECYCLE), EventID.LIFECYCLE)
    bj = BlockJobEventMsg(test_dom.ref, "/img/a.qcow2", "vda", BlockJobType.COMMIT,
                          BlockJobStatus.READY)
    seen_bj: list[EventID] = []
    conn.add_domain_event_callback(lambda _c, _d, _e, i: seen_bj.append(i), EventID.BLOCK_JOB)
    conn.add_domain_event_callback(lambda _c, _d, _e, i: seen_bj.append(i), EventID.BLOCK_JOB_2)
    conn.driver.events.publish(RebootEventMsg(test_dom.ref))
    conn.driver.events.publish(bj)
    assert got == [EventID.REBOOT]
    # A callback bound to one domain ignores the others'.
    mine: list[str] = []
    conn.add_domain_event_callback(lambda _c, d, _e, _i: mine.append(d.name), EventID.REBOOT,
                                   test_dom)
    conn.driver.events.publish(RebootEventMsg(DomainRef("x", b"\x01" * 16)))
    conn.driver.events.publish(RebootEventMsg(test_dom.ref))
    assert mine == ["test"]
    # One QEMU job event is delivered as both ids, as libvirt pairs them.
    assert seen_bj == [EventID.BLOCK_JOB, EventID.BLOCK_JOB_2]


async def test_all_events_stream_gets_block_job_once(conn: virt.Connection) -> None:
    d = await conn.lookup_by_name("test")
    stream = conn.domain_events()
    conn.driver.events.publish(BlockJobEventMsg(d.ref, "/p", "vda", BlockJobType.PULL,
                                                BlockJobStatus.COMPLETED))
    conn.driver.events.publish(RebootEventMsg(d.ref))
    first, second = await stream.get(1.0), await stream.get(1.0)
    assert isinstance(first[1], BlockJobEventMsg) and isinstance(second[1], RebootEventMsg)
    await stream.aclose()


# --------------------------------------------------------------- registry and close callbacks

async def _fake_remote(uri: ConnectURI, readonly: bool) -> Opened:
    return Opened(TestDriver("test:///default"), remote=True)


async def test_registry_is_data_and_first_match_wins() -> None:
    entries = (DriverEntry("fake", lambda u: u.driver == "fake", _fake_remote),
               DriverEntry("never", lambda u: True, _fake_remote))
    opened = await open_uri(parse_uri("fake:///x"), False, entries)
    assert opened.remote
    await opened.driver.close()
    with pytest.raises(VirtError) as ei:
        await open_uri(parse_uri("nope:///x"))
    assert (ei.value.code, ei.value.message) == (ErrorCode.NO_CONNECT,
                                                  "no connection driver available for nope:///x")


async def test_close_callbacks_client_and_peer() -> None:
    opened = await _fake_remote(parse_uri("test:///default"), False)
    c = virt.Connection(opened.driver, parse_uri("test+unix:///default"), remote=True)
    reasons: list[int] = []
    c.register_close_callback(lambda _c, r: reasons.append(r))
    await c.close()
    assert reasons == [virt.CLOSE_REASON_CLIENT]

    drv = TestDriver("test:///default")
    c2 = virt.Connection(drv, parse_uri("test+unix:///default"), remote=True)
    tok = c2.register_close_callback(lambda _c, r: reasons.append(r))
    drv.notify_closed(virt.CLOSE_REASON_KEEPALIVE)  # what a remote driver does on timeout
    assert reasons[-1] == virt.CLOSE_REASON_KEEPALIVE and c2.closed
    with pytest.raises(VirtError):
        c2.unregister_close_callback(tok)  # already fired and cleared
    await drv.close()


async def test_local_close_fires_no_callback() -> None:
    c = await virt.open("test:///default")
    fired: list[int] = []
    c.register_close_callback(lambda _c, r: fired.append(r))
    await c.close()
    assert fired == []  # libvirt's in-process drivers have no close callbacks


@pytest.mark.parametrize(
    ("uri", "code", "domain", "message"),
    [
        ("qemu:///bogus", ErrorCode.INTERNAL_ERROR, ErrorDomain.NONE,
         "internal error: unexpected qemu URI path '/bogus', try qemu:///system"),
        ("qemu:///embed", ErrorCode.INVALID_ARG, ErrorDomain.URI,
         "invalid argument: Missing URI parameter 'root'"),
        ("qemu:///embed?root=rel", ErrorCode.CONFIG_UNSUPPORTED, ErrorDomain.NONE,
         "unsupported configuration: root path must be absolute"),
        ("test://", ErrorCode.INVALID_ARG, ErrorDomain.TEST,
         "invalid argument: testOpen: supply a path or use test:///default"),
        ("xen:///system", ErrorCode.NO_CONNECT, ErrorDomain.NONE,
         "no connection driver available for xen:///system"),
    ],
)
async def test_open_errors_match_libvirt(uri: str, code: int, domain: int, message: str) -> None:
    with pytest.raises(VirtError) as ei:
        await virt.open(uri)
    assert (ei.value.code, ei.value.domain, ei.value.message) == (code, domain, message)


def test_opening_test_driver_imports_no_qemu_code() -> None:
    import subprocess

    code = ("import asyncio, sys, pyvirt.aio as v\n"
            "async def m():\n    c = await v.open('test:///default')\n    await c.close()\n"
            "asyncio.run(m())\n"
            "bad = [n for n in sys.modules if n.startswith(('pyvirt.drivers.qemu', "
            "'pyvirt.remote', 'pyvirt.rpc', 'lxml'))]\n"
            "print(bad)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


async def test_informational_passthroughs(conn: virt.Connection) -> None:
    dom = await conn.lookup_by_name("test")
    model = await conn.node_security_model()
    assert model == await conn.driver.node_get_security_model()
    assert await dom.security_label() == await conn.driver.get_security_label(dom.ref)
    assert await dom.messages() == []
    assert await dom.os_type() == "linux"  # what libvirt 9.0 says of the stock domain
    missing = await conn.define_xml(XML)
    await missing.undefine()
    with pytest.raises(VirtError) as ei:
        await missing.messages()
    assert ei.value.code == ErrorCode.NO_DOMAIN
