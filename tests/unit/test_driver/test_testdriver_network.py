"""TestDriver networks: libvirt 9.0's test-driver semantics (observed with python3-libvirt and
virsh on test:///default; the side-by-side comparisons live in tests/integration)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyvirt.drivers.base import NetworkRef
from pyvirt.drivers.test.driver import TestDriver, run_sync
from pyvirt.drivers.test.node import TestNodeHub
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

REPO = Path(__file__).resolve().parents[3]
NODE_XML = (REPO / ".." / "shared" / "libvirt-testdata" / "extra-libvirt-11.3.0" / "examples"
            / "xml" / "test" / "testnode.xml")
DEFAULT_UUID = bytes.fromhex("dd8fe8846c02601e7551cca97df1c5df")
N2 = "<network><name>n2</name><uuid>11111111-2222-3333-4444-555555555555</uuid><bridge name='b2'/></network>"


@pytest.fixture
def hub() -> TestNodeHub:
    return TestNodeHub()


def _err(fn: object) -> VirtError:
    with pytest.raises(VirtError) as ei:
        run_sync(fn)  # type: ignore[arg-type]
    return ei.value


def test_stock_network(hub: TestNodeHub) -> None:
    d = TestDriver(hub=hub)
    (ref,) = run_sync(d.list_all_networks())
    assert ref == NetworkRef("default", DEFAULT_UUID)
    assert run_sync(d.network_lookup_by_uuid(DEFAULT_UUID)) == ref
    assert (run_sync(d.network_is_active(ref)), run_sync(d.network_is_persistent(ref)),
            run_sync(d.network_get_autostart(ref)), run_sync(d.network_get_bridge_name(ref))) == (
        True, True, False, "virbr0")
    assert "<forward mode='nat'/>" in run_sync(d.network_get_xml_desc(ref))
    e = _err(d.network_get_xml_desc(ref, 1))
    assert (e.code, e.domain, e.message) == (ErrorCode.INVALID_ARG, ErrorDomain.TEST,
                                             "unsupported flags (0x1) in function testNetworkGetXMLDesc")


def test_lifecycle_and_flags(hub: TestNodeHub) -> None:
    d = TestDriver(hub=hub)
    n2 = run_sync(d.network_define_xml(N2))
    assert [r.name for r in run_sync(d.list_all_networks(1))] == ["n2"]  # inactive
    assert [r.name for r in run_sync(d.list_all_networks(2))] == ["default"]  # active
    run_sync(d.network_create(n2))
    e = _err(d.network_create(n2))
    assert (e.code, e.message) == (ErrorCode.OPERATION_INVALID,
                                   "Requested operation is not valid: Network 'n2' is already running")
    e = _err(d.network_undefine(n2))
    assert e.message == "Requested operation is not valid: Network 'n2' is still running"
    run_sync(d.network_set_autostart(n2, True))
    assert [r.name for r in run_sync(d.list_all_networks(16))] == ["n2"]
    assert [r.name for r in run_sync(d.list_all_networks(2 | 32))] == ["default"]
    # a definition given while it runs is kept aside; destroy neither checks nor applies it
    run_sync(d.network_define_xml(N2.replace("b2", "b3")))
    run_sync(d.network_destroy(n2))
    run_sync(d.network_destroy(n2))
    assert run_sync(d.network_get_bridge_name(n2)) == "b2"
    run_sync(d.network_undefine(n2))
    e = _err(d.network_is_active(n2))
    assert (e.code, e.domain, e.message) == (
        ErrorCode.NO_NETWORK, ErrorDomain.TEST,
        "Network not found: no network with matching uuid '11111111-2222-3333-4444-555555555555'")


def test_transient_network_vanishes_on_destroy(hub: TestNodeHub) -> None:
    d = TestDriver(hub=hub)
    t = run_sync(d.network_create_xml("<network><name>tr</name></network>"))
    assert (run_sync(d.network_is_active(t)), run_sync(d.network_is_persistent(t))) == (True, False)
    e = _err(d.network_get_bridge_name(t))
    assert (e.code, e.message) == (ErrorCode.INTERNAL_ERROR,
                                   "internal error: network 'tr' does not have a bridge name.")
    run_sync(d.network_set_autostart(t, True))  # allowed on a transient network, as in libvirt
    run_sync(d.network_destroy(t))
    e = _err(d.network_lookup_by_name("tr"))
    assert e.message == "Network not found: no network with matching name 'tr'"


def test_clashes(hub: TestNodeHub) -> None:
    d = TestDriver(hub=hub)
    e = _err(d.network_define_xml("<network><name>default</name></network>"))
    assert (e.code, e.domain) == (ErrorCode.OPERATION_FAILED, ErrorDomain.NETWORK)
    assert e.message == ("operation failed: network 'default' already exists with uuid "
                         "dd8fe884-6c02-601e-7551-cca97df1c5df")
    e = _err(d.network_define_xml("<network><name>zz</name><uuid>dd8fe884-6c02-601e-7551-cca97df1c5df</uuid>"
                                  "</network>"))
    assert e.message == ("operation failed: network 'default' is already defined with uuid "
                         "dd8fe884-6c02-601e-7551-cca97df1c5df")
    n2 = run_sync(d.network_define_xml(N2))
    run_sync(d.network_create_xml(N2))  # same name and UUID, inactive: it starts, stays persistent
    assert (run_sync(d.network_is_active(n2)), run_sync(d.network_is_persistent(n2))) == (True, True)


def test_state_shared_between_connections_and_reset(hub: TestNodeHub) -> None:
    a, b = TestDriver(hub=hub), TestDriver(hub=hub)
    run_sync(a.network_define_xml(N2))
    assert [r.name for r in run_sync(b.list_all_networks())] == ["default", "n2"]
    run_sync(a.close())
    run_sync(b.close())
    c = TestDriver(hub=hub)
    assert [r.name for r in run_sync(c.list_all_networks())] == ["default"]


@pytest.mark.skipif(not NODE_XML.is_file(), reason="libvirt's example node file not found")
def test_node_file_networks(hub: TestNodeHub) -> None:
    d = TestDriver(f"test://{NODE_XML.resolve()}", hub=hub)
    refs = run_sync(d.list_all_networks())
    assert [r.name for r in refs] == ["private", "default"]
    assert run_sync(d.network_get_bridge_name(refs[1])) == "brdefault"
    assert "<interface dev='eth0'/>" in run_sync(d.network_get_xml_desc(refs[1]))


def test_screenshot(hub: TestNodeHub) -> None:
    from pyvirt.drivers.test.screenshot import fallback_png, screenshot_image

    d = TestDriver(hub=hub)
    dom = run_sync(d.lookup_by_name("test"))
    mime, stream = run_sync(d.screenshot(dom, 7))
    data = run_sync(stream.read(1 << 20))
    assert mime == "image/png" and data == screenshot_image() and data.startswith(b"\x89PNG\r\n\x1a\n")
    assert run_sync(stream.read()) == b""
    e = _err(d.screenshot(dom, 0, 1))
    assert e.message == "unsupported flags (0x1) in function testDomainScreenshot"
    png = fallback_png()
    assert screenshot_image("/nonexistent") == png
    import zlib

    # the fallback is a real PNG: IDAT inflates to 48 rows of filter byte + 64 grey pixels
    idat = png[png.index(b"IDAT") + 4:png.index(b"IEND") - 8]
    assert zlib.decompress(idat) == (b"\0" + b"\x80" * 64) * 48
