"""libvirt-python's vCPU calls on test:///default through the facade, against python3-libvirt
(the C library) when it is installed: same values, same shapes, same errors."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from pyvirt import libvirt

SCRIPT = """
import json
import {mod} as libvirt
c = libvirt.open("test:///default"); d = c.lookupByName("test")
out = {{"map": c.getCPUMap()}}
info, maps = d.vcpus()
out["info"] = [(a, b, ct > 0, e) for a, b, ct, e in info]
out["maps"] = maps
out["pin"] = d.pinVcpu(1, (True, False, True))
out["pininfo"] = d.vcpuPinInfo(0)
out["counts"] = [d.vcpusFlags(0), d.vcpusFlags(4), d.vcpusFlags(2)]
try:
    d.pinVcpuFlags(0, (True,), 2)
except libvirt.libvirtError as e:
    out["err"] = [e.get_error_code(), e.get_error_domain(), e.get_error_message()]
d.destroy()
try:
    d.vcpus()
except libvirt.libvirtError as e:
    out["err2"] = [e.get_error_code(), e.get_error_domain(), e.get_error_message()]
out["pininfo_off"] = d.vcpuPinInfo(2)
c.close()  # the test node resets when its last connection closes
print(json.dumps(out))
"""

REPO = Path(__file__).resolve().parents[3]


def _run_ours() -> dict[str, object]:
    ns: dict[str, object] = {}
    import contextlib
    import io

    buf = io.StringIO()
    libvirt.registerErrorHandler(lambda ctx, err: None, None)
    try:
        with contextlib.redirect_stdout(buf):
            exec(SCRIPT.format(mod="pyvirt.libvirt"), ns)  # noqa: S102 (our own fixed script)
    finally:
        libvirt.registerErrorHandler(None, None)
    return json.loads(buf.getvalue())  # type: ignore[no-any-return]


def test_vcpu_calls_shapes() -> None:
    got = _run_ours()
    assert got["map"] == [8, [True, False, True, False, True, False, False, False], 3]
    assert got["info"] == [[0, 1, True, 15], [1, 1, True, 15]]
    assert got["maps"] == [[True] * 8, [True] * 8]
    assert got["pin"] == 0
    assert got["pininfo"] == [[True] * 8, [True, False, True] + [False] * 5]
    assert got["counts"] == [2, 2, 2]
    assert got["err"] == [8, 12, "unsupported flags (0x2) in function testDomainPinVcpuFlags"]
    assert got["err2"] == [55, 12, "Requested operation is not valid: cannot list vcpus for an inactive domain"]


def test_vcpu_calls_match_python3_libvirt() -> None:
    probe = subprocess.run(["/usr/bin/python3", "-c", "import libvirt"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip("python3-libvirt (the C library's binding) is not installed")
    real = subprocess.run(["/usr/bin/python3", "-c", SCRIPT.format(mod="libvirt")], capture_output=True,
                          text=True, check=True, cwd=REPO)
    assert _run_ours() == json.loads(real.stdout)
