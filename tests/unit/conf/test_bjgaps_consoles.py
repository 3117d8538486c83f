"""Only the first console may be a serial console (a console without a target type is one):
the same combinations are defined on libvirt 9.0 (test:///default through python3-libvirt,
and libvirtd's qemu:///system when it runs) and on pyvirt (the generic conf layer the QEMU
driver uses, and the test driver); accepted or refused must agree, with libvirt's error."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import pytest

from pyvirt import libvirt
from pyvirt.conf.domain import parse_domain
from pyvirt.errors import VirtError

SYS_PY = "/usr/bin/python3"
LIBVIRTD_SOCK = Path("/var/run/libvirt/libvirt-sock")

V, N, S = ("<console type='pty'><target type='virtio'/></console>", "<console type='pty'/>",
           "<console type='pty'><target type='serial'/></console>")
CASES = {
    "virtio+typeless": V + N,
    "virtio+serial": V + S,
    "virtio+serial-port1": V + "<console type='pty'><target type='serial' port='1'/></console>",
    "typeless+virtio+typeless": N + V + N,
    "serial-device+virtio+typeless": "<serial type='pty'/>" + V + N,
    "typeless+typeless": N + N,
    "typeless+serial": N + S,
    "virtio+virtio": V + V,
    "typeless+virtio": N + V,
    "serial-device+virtio": "<serial type='pty'/>" + V,
    "virtio+virtio+typeless": V + V + N,
    "virtio": V,
}


def xml(virt: str, ostype: str, devices: str) -> str:
    machine = " machine='q35'" if virt == "qemu" else ""
    return (f"<domain type='{virt}'><name>pvcon{uuid.uuid4().hex[:8]}</name><memory unit='MiB'>64</memory>"
            f"<os><type arch='x86_64'{machine}>{ostype}</type></os><devices>{devices}</devices></domain>")


ORACLE = r"""
import json, sys, libvirt
libvirt.registerErrorHandler(lambda *a: None, None)
conn = libvirt.open(sys.argv[1])
out = {}
for name, x in json.loads(sys.stdin.read()).items():
    try:
        conn.defineXML(x).undefine()
        out[name] = "ok"
    except libvirt.libvirtError as e:
        out[name] = [e.get_error_code(), e.get_error_domain(), e.get_error_message()]
print(json.dumps(out))
"""


def oracle(uri: str, docs: dict[str, str]) -> dict[str, object]:
    if not Path(SYS_PY).exists():
        pytest.skip("python3-libvirt (the oracle) not installed")
    p = subprocess.run([SYS_PY, "-c", ORACLE, uri], input=json.dumps(docs), capture_output=True, text=True,
                       timeout=120, check=False)
    if p.returncode != 0:
        pytest.skip(f"the libvirt oracle failed: {p.stderr.strip()[-200:]}")
    result: dict[str, object] = json.loads(p.stdout)
    return result


def outcome(fn: object) -> object:
    try:
        fn()  # type: ignore[operator]
        return "ok"
    except VirtError as e:
        return [int(e.code), int(e.domain), e.message]
    except libvirt.libvirtError as e:
        return [e.get_error_code(), e.get_error_domain(), e.get_error_message()]


@pytest.mark.parametrize("ostype", ["hvm", "xen"])
def test_test_driver_like_libvirts(ostype: str) -> None:
    docs = {k: xml("test", ostype, v) for k, v in CASES.items()}
    expected = oracle("test:///default", docs)
    assert "ok" in expected.values() and any(v != "ok" for v in expected.values())  # both kinds ran
    conn = libvirt.open("test:///default")
    try:
        mine = {k: outcome(lambda x=x: conn.defineXML(x).undefine()) for k, x in docs.items()}
    finally:
        conn.close()
    assert mine == expected


@pytest.mark.skipif(not LIBVIRTD_SOCK.exists(), reason="libvirtd (the oracle) is not running")
def test_generic_layer_like_libvirtd() -> None:
    docs = {k: xml("qemu", "hvm", v) for k, v in CASES.items()}
    expected = oracle("qemu:///system", docs)
    mine = {k: outcome(lambda x=x: parse_domain(x)) for k, x in docs.items()}
    assert mine == expected
