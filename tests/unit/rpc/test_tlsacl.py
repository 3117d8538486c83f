"""tls_allowed_dn_list matching: the DN string built from a decoded certificate subject, and
libvirt's simple glob (only '*' and '?' are special, the whole DN must match)."""

from __future__ import annotations

from pyvirt.rpc.tlsacl import DnAllowList, subject_dn


def _cert(*rdns: tuple[tuple[str, str], ...]) -> dict[str, object]:
    return {"subject": rdns}


def test_subject_order_short_names_and_escaping() -> None:
    c = _cert((("countryName", "GB"),), (("organizationName", "Red Hat, Inc."),),
              (("organizationalUnitName", "a+b"), ("commonName", "x")), (("emailAddress", "u@h"),),
              (("commonName", " lead#"),), (("title", "#t "),))
    assert subject_dn(c) == r"C=GB,O=Red Hat\, Inc.,OU=a\+b+CN=x,EMAIL=u@h,CN=\ lead#,title=\#t\ "
    assert subject_dn({}) == ""


def test_glob_is_simple_and_anchored() -> None:
    acl = DnAllowList(["C=GB,O=pyvirt,CN=*", "CN=client?"])
    assert acl.allows("C=GB,O=pyvirt,CN=alice")
    assert acl.allows("C=GB,O=pyvirt,CN=")
    assert acl.allows("CN=client1")
    assert not acl.allows("CN=client12")
    assert not acl.allows("X,C=GB,O=pyvirt,CN=alice")  # the whole DN, not a substring
    assert not DnAllowList(["CN=[ab]"]).allows("CN=a")  # brackets are literal
    assert DnAllowList(["CN=[ab]"]).allows("CN=[ab]")
    assert not DnAllowList([]).allows("CN=anyone")
    assert DnAllowList(["*"]).allows("")
