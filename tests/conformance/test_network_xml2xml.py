"""libvirt's networkxml2xml corpus: every input parses, defaults and formats to its expected
output byte for byte; the inputs without an output are libvirt's parse-error cases and must
be rejected (with the message libvirt 9.0 gives, checked against its test driver)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pyvirt.conf.network import parse_network_xml
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "libvirt-testdata" / "tests"
IN, OUT = CORPUS / "networkxml2xmlin", CORPUS / "networkxml2xmlout"
SCHEMA = CORPUS.parent / "src" / "conf" / "schemas" / "network.rng"

# libvirt 9.0's errors for the corpus inputs it refuses (python3-libvirt, test:///default)
ERRORS = {
    "hostdev-duplicate": "XML error: PCI device '0000:03:00.3' can only be listed once in network hostdev",
    "passthrough-duplicate": "XML error: interface 'eth3' can only be listed once in network passthrough-duplicate",
    "open-network-with-forward-dev": "XML error: forward dev not allowed for network 'open' with forward mode='open'",
    "routed-network-no-dns-extra-elements": "XML error: Extra data in disabled network 'local'",
}


def _cases() -> list[str]:
    return sorted(p.stem for p in IN.glob("*.xml")) if IN.is_dir() else ["missing"]


@pytest.mark.parametrize("name", _cases())
def test_network_xml2xml(name: str) -> None:
    if not IN.is_dir():
        pytest.skip(f"libvirt test data not found at {IN}")
    xml = (IN / f"{name}.xml").read_text()
    out = OUT / f"{name}.xml"
    if not out.exists():
        with pytest.raises(VirtError) as ei:
            parse_network_xml(xml)
        assert (ei.value.code, ei.value.domain) == (ErrorCode.XML_ERROR, ErrorDomain.NETWORK)
        assert ei.value.message == ERRORS[name]
        return
    got = parse_network_xml(xml).format()
    assert got == out.read_text()
    assert parse_network_xml(got).format() == got  # formatting is a fixed point
    if SCHEMA.is_file():
        from lxml import etree

        rng = etree.RelaxNG(etree.parse(str(SCHEMA)))
        assert rng.validate(etree.fromstring(got.encode())), rng.error_log


def test_uuid_is_generated_once_and_kept() -> None:
    d = parse_network_xml("<network><name>n</name></network>")
    assert re.fullmatch(r"<uuid>[0-9a-f-]{36}</uuid>", d.format().splitlines()[2].strip())
    assert parse_network_xml(d.format()).uuid == d.uuid


@pytest.mark.parametrize(("xml", "code", "domain", "msg"), [
    ("<network/>", ErrorCode.NO_NAME, ErrorDomain.NETWORK, "missing name information"),
    ("<network><name>a/b</name></network>", ErrorCode.XML_DETAIL, ErrorDomain.XML, "invalid char in name: /"),
    ("<foo><name>a</name></foo>", ErrorCode.XML_ERROR, ErrorDomain.XML,
     "XML error: expecting root element of 'network', not 'foo'"),
    ("<network><name>u</name><uuid>zzz</uuid></network>", ErrorCode.INTERNAL_ERROR, ErrorDomain.NETWORK,
     "internal error: malformed uuid element"),
    ("<network><name>f</name><forward mode='bogus'/></network>", ErrorCode.CONFIG_UNSUPPORTED, ErrorDomain.NETWORK,
     "unsupported configuration: unknown forwarding type 'bogus'"),
    ("<network><name>ni</name><ip address='bad'/></network>", ErrorCode.XML_ERROR, ErrorDomain.NETWORK,
     "XML error: Invalid address 'bad' in network 'ni'"),
    ("<network><name>nd</name><bridge name='b' delay='x'/></network>", ErrorCode.XML_ERROR, ErrorDomain.NETWORK,
     "XML error: Invalid delay value in network 'nd'"),
    ("<network><name>nv</name><forward mode='open'/></network>", ErrorCode.XML_ERROR, ErrorDomain.NETWORK,
     "XML error: open forwarding requested, but no IP address provided for network 'nv'"),
    ("<network><name>x</na", ErrorCode.XML_DETAIL, ErrorDomain.NETWORK,
     "(network_definition):1: expected '>'\n<network><name>x</na\n--------------------^"),
    ("<netw", ErrorCode.XML_DETAIL, ErrorDomain.NETWORK,
     "(network_definition):1: Couldn't find end of Start Tag netw line 1\n<netw\n-----^"),
])
def test_errors_like_libvirt(xml: str, code: int, domain: int, msg: str) -> None:
    """Codes and messages as python3-libvirt reports them for networkDefineXML on test:///default."""
    with pytest.raises(VirtError) as ei:
        parse_network_xml(xml)
    assert (ei.value.code, ei.value.domain, ei.value.message) == (code, domain, msg)
