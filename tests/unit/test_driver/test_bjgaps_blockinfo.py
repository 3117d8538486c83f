"""domblkstat / domblkinfo on test:///default: pyvirsh prints what virsh 9.0 prints against
libvirt's test driver (the time-derived counters masked), and the facade raises the codes
python3-libvirt gets. The counters themselves are checked for libvirt's derivation from one
timestamp (rd_req = t/10, rd_bytes = t/20, wr_req = t/30, wr_bytes = t/40, errs = seconds/2)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pyvirt import libvirt

VIRSH = shutil.which("virsh")
SYS_PY = "/usr/bin/python3"


def mask(text: str) -> str:
    return re.sub(r"\d{6,}", "N", text)


def run(argv: list[str], script: str) -> tuple[str, str, int]:
    p = subprocess.run([*argv, "-c", "test:///default", script], capture_output=True, text=True, timeout=60,
                       check=False)
    return mask(p.stdout), mask(p.stderr), p.returncode


@pytest.mark.skipif(VIRSH is None, reason="the real virsh is not installed")
@pytest.mark.parametrize("script", [
    "domblkstat test vda", "domblkstat test vda --human", "domblkstat test", "domblkstat test vdz",
    "domblkstat test /guest/diskimage1",
    "domblkinfo test vda", "domblkinfo test vda --human", "domblkinfo test --all", "domblkinfo test --all --human",
    "domblkinfo test vdz", "domblkinfo test /guest/diskimage1",
    # a shut-off copy of the test domain: info works, stats need it running (and a path first)
    ("define {xml}; domblkinfo t2 vda; domblkstat t2 vda; domblkstat t2 ''; domblkstat t2 vdz; start t2; "
    "domblkstat t2 vda --human; destroy t2"),
])
def test_pyvirsh_like_virsh(script: str, tmp_path: Path) -> None:
    assert VIRSH is not None
    if "{xml}" in script:
        xml = subprocess.run([VIRSH, "-c", "test:///default", "dumpxml", "test"], capture_output=True, text=True,
                             check=True).stdout
        xml = re.sub(r"<uuid>.*</uuid>", "", xml.replace("<name>test</name>", "<name>t2</name>"))
        (tmp_path / "t2.xml").write_text(xml)
        script = script.format(xml=tmp_path / "t2.xml")
    expected = run([VIRSH], script)
    assert run([sys.executable, "-m", "pyvirt.cli"], script) == expected
    assert expected[2] != 0 or expected[0].strip()  # the case ran something


def test_counters_derive_from_one_timestamp() -> None:
    conn = libvirt.open("test:///default")
    try:
        dom = conn.lookupByName("test")
        before = time.time()
        rd_req, rd_bytes, wr_req, wr_bytes, errs = dom.blockStats("vda")
        after = time.time()
    finally:
        conn.close()
    t = rd_req * 10  # microseconds, up to the truncation of the division
    assert int(before * 1e6) - 10 <= t <= int(after * 1e6)
    assert abs(rd_bytes * 20 - t) < 40 and abs(wr_req * 30 - t) < 40 and abs(wr_bytes * 40 - t) < 80
    assert errs in (int(before) // 2, int(after) // 2)


PROBE = r"""
import json, sys
import {mod} as libvirt
libvirt.registerErrorHandler(lambda *a: None, None)
d = libvirt.open("test:///default").lookupByName("test")
out = []
for f in (lambda: d.blockStatsFlags("vda", 0), lambda: d.blockInfo("vda", 1), lambda: d.blockStats(""),
          lambda: d.blockStats("vdz"), lambda: d.blockInfo("vdz", 0), lambda: d.blockInfo("vda", 0)):
    try:
        out.append(["OK", list(f())])
    except libvirt.libvirtError as e:
        out.append([e.get_error_code(), e.get_error_domain(), e.get_error_message()])
print(json.dumps(out))
"""


@pytest.mark.skipif(not Path(SYS_PY).exists(), reason="python3-libvirt not installed")
def test_facade_errors_like_python3_libvirt() -> None:
    def probe(python: str, mod: str) -> object:
        p = subprocess.run([python, "-c", PROBE.replace("{mod}", mod)], capture_output=True, text=True, check=True,
                           timeout=60)
        return json.loads(p.stdout)

    expected = probe(SYS_PY, "libvirt")
    if not isinstance(expected, list) or len(expected) != 6:
        pytest.skip("python3-libvirt probe failed")
    assert probe(sys.executable, "pyvirt.libvirt") == expected
