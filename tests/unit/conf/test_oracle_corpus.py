"""Every domain XML of libvirt's qemuxml2argv and genericxml2xml inputs, defined on the real
libvirt 9.0 test driver (generic layer only) and parsed by pyvirt.conf: we never reject what
libvirt accepts, and where both reject, code and message are the same. (libvirt rejecting
what we accept is allowed: XML we keep verbatim is not validated.)"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from pyvirt.conf.domain import parse_domain
from pyvirt.errors import VirtError

TESTS = Path(__file__).resolve().parents[3] / ".." / "shared" / "libvirt-testdata" / "tests"
PY = Path("/usr/bin/python3")
ORACLE = """
import json, sys, libvirt
libvirt.registerErrorHandler(lambda *a: None, None)
conn = libvirt.open("test:///default")
out = []
for xml in json.load(sys.stdin):
    try:
        conn.defineXML(xml).undefine()
        out.append(None)
    except libvirt.libvirtError as e:
        out.append([e.get_error_code(), e.get_error_message()])
print(json.dumps(out))
"""
# the test driver ships a domain named 'test' with this uuid; corpus files reuse both
_CLASH = (("<name>test</name>", "<name>xtest</name>"),
          ("<uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>", ""))


@pytest.mark.oracle
def test_corpus_verdicts_match_libvirt() -> None:
    files = sorted((TESTS / "qemuxml2argvdata").glob("*.xml")) + sorted(
        (TESTS / "genericxml2xmlindata").glob("*.xml"))
    if not files:
        pytest.skip(f"libvirt test corpus not found at {TESTS}")
    if not PY.exists() or subprocess.run([str(PY), "-c", "import libvirt"], check=False,
                                         capture_output=True).returncode != 0:
        pytest.skip("python3-libvirt (the oracle) is not installed")
    xmls = []
    for f in files:
        xml = f.read_text()
        for old, new in _CLASH:
            xml = re.sub(re.escape(old), new, xml, count=1)
        xmls.append(xml)
    res = subprocess.run([str(PY), "-c", ORACLE], input=json.dumps(xmls), capture_output=True,
                         text=True, timeout=300, check=True)
    theirs = json.loads(res.stdout)
    wrong: list[str] = []
    agree = 0
    for f, xml, real in zip(files, xmls, theirs, strict=True):
        try:
            parse_domain(xml, inactive=True)
            ours = None
        except VirtError as e:
            ours = [int(e.code), e.message]
        if ours is not None and ours != real:
            wrong.append(f"{f.name}: pyvirt {ours} libvirt {real}")
        elif ours == real:
            agree += 1
    print(f"\noracle corpus: {agree}/{len(files)} identical verdicts")
    assert not wrong, "\n".join(wrong)
    assert agree > len(files) * 0.9
