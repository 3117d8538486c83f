"""cachetune / memorytune: what libvirt 9.0 shows after define (checked with virsh), and its
errors for colliding allocations."""

from __future__ import annotations

import pytest

from pyvirt.conf.domain import format_domain, parse_domain
from pyvirt.conf.domain.resctrl import format_bitmap
from pyvirt.errors import ErrorCode, VirtError

DOM = ("<domain type='qemu'><name>rt</name><memory>1024</memory><vcpu>{n}</vcpu>"
       "<cputune>{tune}</cputune><os><type>hvm</type></os></domain>")


def test_canonical_order_units_and_clipping() -> None:
    tune = ("<cachetune vcpus='0-1,3'><cache id='0' level='3' type='both' size='1048576' "
            "unit='B'/><cache id='0' level='2' type='data' size='1536' unit='KiB'/>"
            "<cache id='1' level='3' type='code' size='2' unit='MiB'/>"
            "<monitor level='3' vcpus='1,3'/></cachetune>"
            "<cachetune vcpus='5-9,^6'><cache id='0' level='3' type='both' size='1000' "
            "unit='B'/></cachetune><cachetune vcpus='100'><cache id='1' level='3' type='code' "
            "size='6' unit='MiB'/></cachetune>"
            "<memorytune vcpus='2'><node id='1' bandwidth='10'/><node id='0' bandwidth='20'/>"
            "</memorytune>")
    out = format_domain(parse_domain(DOM.format(n=8, tune=tune)))
    assert out[out.index("  <cputune>"):out.index("  </cputune>")] == """  <cputune>
    <cachetune vcpus='0-1,3'>
      <cache id='0' level='2' type='data' size='1536' unit='KiB'/>
      <cache id='0' level='3' type='both' size='1' unit='MiB'/>
      <cache id='1' level='3' type='code' size='2' unit='MiB'/>
      <monitor level='3' vcpus='1,3'/>
    </cachetune>
    <cachetune vcpus='5,7'>
      <cache id='0' level='3' type='both' size='1000' unit='B'/>
    </cachetune>
    <memorytune vcpus='2'>
      <node id='0' bandwidth='20'/>
      <node id='1' bandwidth='10'/>
    </memorytune>
"""


BAD = [
    (("<cachetune vcpus='0'><cache id='0' level='3' type='code' size='12' unit='KiB'/>"
     "<cache id='0' level='3' type='code' size='18' unit='KiB'/></cachetune>"),
     ErrorCode.XML_ERROR, ("XML error: Colliding cache allocations for cache level '3' id '0', "
     "type 'code'")),
    (("<cachetune vcpus='0-1'><cache id='0' level='3' type='both' size='768' unit='KiB'/>"
     "<monitor level='3' vcpus='2'/></cachetune>"),
     ErrorCode.INVALID_ARG, "invalid argument: Monitor vcpus conflicts with allocation"),
    (("<cachetune vcpus='0'><cache id='0' level='3' type='code' size='12' unit='KiB'/>"
     "</cachetune><cachetune vcpus='0'><cache id='0' level='3' type='data' size='18' "
     "unit='KiB'/></cachetune>"), ErrorCode.XML_ERROR, "XML error: Identical vcpus in cachetunes found"),
    (("<memorytune vcpus='0'><node id='0' bandwidth='50'/><node id='0' bandwidth='50'/>"
     "</memorytune>"), ErrorCode.XML_ERROR, "XML error: Memory Bandwidth already defined for node 0"),
    (("<cachetune vcpus='0-1'><cache id='0' level='3' type='code' size='12' unit='KiB'/>"
     "</cachetune><memorytune vcpus='0'><node id='0' bandwidth='50'/></memorytune>"),
     ErrorCode.XML_ERROR, "XML error: Overlapping vcpus in resctrls"),
]


@pytest.mark.parametrize(("tune", "code", "msg"), BAD, ids=[m[:40] for _, _, m in BAD])
def test_colliding_tunes(tune: str, code: ErrorCode, msg: str) -> None:
    with pytest.raises(VirtError) as ei:
        parse_domain(DOM.format(n=4, tune=tune))
    assert (ei.value.code, ei.value.message) == (code, msg)


@pytest.mark.parametrize(("ids", "text"), [({0, 1, 3}, "0-1,3"), ({5}, "5"), ({1, 2, 3, 7, 9, 10}, "1-3,7,9-10")])
def test_bitmap_format(ids: set[int], text: str) -> None:
    assert format_bitmap(ids) == text
