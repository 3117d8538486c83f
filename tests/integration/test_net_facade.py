"""Virtual networks through the libvirt-python facade, side by side with python3-libvirt.

One script (network calls on test:///default, then a screenshot) runs with
``pyvirt.libvirt`` in process and through pyvirtd, and with the real python3-libvirt through
pyvirtd; every output must equal python3-libvirt's against libvirt's own test driver. A second
script checks the "no network driver" errors of a QEMU connection (libvirt's embedded QEMU
driver has none either).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyvirt.daemon.config import DaemonConfig
from pyvirt.daemon.thread import DaemonThread

SYS_PY = "/usr/bin/python3"

FACADE = r'''
import sys
if sys.argv[1] == "ours":
    import pyvirt.libvirt as libvirt
else:
    import libvirt
libvirt.registerErrorHandler(lambda *a: None, None)
uri = sys.argv[2]
c = libvirt.open(uri)
def t(tag, f):
    try: r = f(); print(tag, "OK", r)
    except libvirt.libvirtError as e: print(tag, "ERR", e.get_error_code(), e.get_error_domain(), e.get_error_message())
n = c.networkLookupByName('default')
t("name", lambda: (n.name(), n.UUIDString(), len(n.UUID()), n.isActive(), n.isPersistent(), n.autostart(), n.bridgeName()))
t("xml", lambda: n.XMLDesc(0))
t("xml1", lambda: n.XMLDesc(1))
t("list", lambda: [x.name() for x in c.listAllNetworks(0)])
t("nums", lambda: (c.numOfNetworks(), c.numOfDefinedNetworks(), c.listNetworks(), c.listDefinedNetworks()))
t("byuuid", lambda: c.networkLookupByUUIDString('dd8fe884-6c02-601e-7551-cca97df1c5df').name())
t("byuuid2", lambda: c.networkLookupByUUID(n.UUID()).name())
t("nouuid", lambda: c.networkLookupByUUIDString('11111111-2222-3333-4444-555555555555'))
t("noname", lambda: c.networkLookupByName('nosuch'))
X = "<network><name>t1</name><uuid>11111111-2222-3333-4444-555555555555</uuid><bridge name='br7'/><forward mode='route'/><ip address='10.0.0.1' prefix='24'/></network>"
t("define", lambda: c.networkDefineXML(X).name())
m = c.networkLookupByName('t1')
t("t1", lambda: (m.isActive(), m.isPersistent(), m.autostart(), m.bridgeName()))
t("t1xml", lambda: m.XMLDesc())
t("start", lambda: m.create()); t("start2", lambda: m.create())
t("undef-active", lambda: m.undefine())
t("autostart", lambda: (m.setAutostart(1), m.autostart()))
t("flags", lambda: [x.name() for x in c.listAllNetworks(2 | 16)])
t("flags2", lambda: [x.name() for x in c.listAllNetworks(1)])
t("redefine", lambda: c.networkDefineXML(X.replace("br7", "br8")).name())
t("bridge-live", lambda: m.bridgeName())
t("destroy", lambda: m.destroy())
t("bridge-after", lambda: m.bridgeName())
t("destroy2", lambda: m.destroy())
t("undefine", lambda: m.undefine())
t("gone", lambda: m.isActive())
t("dupname", lambda: c.networkDefineXML("<network><name>default</name></network>"))
t("dupuuid", lambda: c.networkDefineXML("<network><name>zz</name><uuid>dd8fe884-6c02-601e-7551-cca97df1c5df</uuid></network>"))
t("transient", lambda: c.networkCreateXML("<network><name>tr</name><uuid>21111111-2222-3333-4444-555555555555</uuid></network>").isPersistent())
t("tr-destroy", lambda: c.networkLookupByName('tr').destroy())
t("tr-gone", lambda: c.networkLookupByName('tr'))
t("noname", lambda: c.networkDefineXML("<network/>"))
t("badroot", lambda: c.networkDefineXML("<foo/>"))
t("badxml", lambda: c.networkDefineXML("<network><name>x</na"))
t("slash", lambda: c.networkDefineXML("<network><name>a/b</name></network>"))
t("nobridge", lambda: c.networkCreateXML("<network><name>nb</name><uuid>31111111-2222-3333-4444-555555555555</uuid></network>").bridgeName())
d = c.lookupByName('test')
st = c.newStream(0)
def shot():
    mime = d.screenshot(st, 0, 0)
    data = b""
    while True:
        b = st.recv(65536)
        if not b: break
        data += b
    st.finish()
    import hashlib
    return mime, len(data), hashlib.sha256(data).hexdigest()[:16]
t("shot", shot)
t("shot-flags", lambda: d.screenshot(c.newStream(0), 0, 1))
ro = libvirt.openReadOnly(uri)
t("ro-destroy", lambda: ro.networkLookupByName('default').destroy())
t("ro-shot", lambda: ro.lookupByName('test').screenshot(ro.newStream(0), 0, 0))
'''

NO_NETWORK = r'''
import sys
if sys.argv[1] == "ours":
    import pyvirt.libvirt as libvirt
else:
    import libvirt
libvirt.registerErrorHandler(lambda *a: None, None)
libvirt.virEventRegisterDefaultImpl()
c = libvirt.open(sys.argv[2])
for tag, f in (("listall", lambda: c.listAllNetworks()), ("num", lambda: c.numOfNetworks()),
               ("numdef", lambda: c.numOfDefinedNetworks()), ("list", lambda: c.listNetworks()),
               ("listdef", lambda: c.listDefinedNetworks()),
               ("byname", lambda: c.networkLookupByName("default")),
               ("byuuid", lambda: c.networkLookupByUUIDString("dd8fe884-6c02-601e-7551-cca97df1c5df")),
               ("define", lambda: c.networkDefineXML("<network><name>x</name></network>")),
               ("create", lambda: c.networkCreateXML("<network><name>x</name></network>"))):
    try: print(tag, f())
    except libvirt.libvirtError as e: print(tag, e.get_error_code(), e.get_error_domain(), e.get_error_message())
'''


def _has_py_libvirt() -> bool:
    if not os.path.exists(SYS_PY):
        return False
    return subprocess.run([SYS_PY, "-c", "import libvirt"], capture_output=True, check=False).returncode == 0


pytestmark = [
    pytest.mark.oracle,
    pytest.mark.skipif(not _has_py_libvirt(), reason="python3-libvirt not installed"),
]


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[DaemonThread]:
    with DaemonThread(DaemonConfig(root=tmp_path / "root", keepalive_interval=0, reattach=False)) as d:
        yield d


def run(py: str, script: Path, who: str, uri: str) -> str:
    p = subprocess.run([py, str(script), who, uri], capture_output=True, text=True, timeout=120, check=False)
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_network_calls_equal_python3_libvirt(daemon: DaemonThread, tmp_path: Path) -> None:
    script = tmp_path / "facade.py"
    script.write_text(FACADE)
    want = run(SYS_PY, script, "theirs", "test:///default")
    assert "xml OK <network>" in want and "shot OK ('image/png'" in want
    remote = f"test+unix:///default?socket={daemon.cfg.rw_socket}"
    assert run(sys.executable, script, "ours", "test:///default") == want
    assert run(sys.executable, script, "ours", remote) == want
    assert run(SYS_PY, script, "theirs", remote) == want


def test_qemu_has_no_network_driver(daemon: DaemonThread, tmp_path: Path) -> None:
    script = tmp_path / "nonet.py"
    script.write_text(NO_NETWORK)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    want = run(SYS_PY, script, "theirs", f"qemu:///embed?root={tmp_path / 'a'}")
    assert "listall 3 19 this function is not supported by the connection driver: virConnectListAllNetworks" in want
    assert run(sys.executable, script, "ours", f"qemu:///embed?root={tmp_path / 'b'}") == want
    # through pyvirtd: the daemon names the procedure the client called, as libvirtd does
    remote = f"qemu+unix:///system?socket={daemon.cfg.rw_socket}"
    assert run(SYS_PY, script, "theirs", remote) == want
    assert run(sys.executable, script, "ours", remote) == want


READ_ONLY = r'''
import sys, libvirt
libvirt.registerErrorHandler(lambda *a: None, None)
c=libvirt.open(sys.argv[1])
for f in (lambda: c.networkLookupByName('default').destroy(), lambda: c.storagePoolLookupByName('default-pool').destroy(), lambda: c.lookupByName('test').screenshot(c.newStream(0),0,0), lambda: c.networkLookupByName('default').setAutostart(0), lambda: c.lookupByName('test').snapshotCreateXML('<domainsnapshot/>'), lambda: c.lookupByName('test').destroy(), lambda: c.networkDefineXML('<network><name>q</name></network>')):
    try: print(f())
    except libvirt.libvirtError as e: print(e.get_error_code(), e.get_error_domain(), e.get_error_message())
'''
LIBVIRTD_RO = "/run/libvirt/libvirt-sock-ro"


@pytest.mark.skipif(not Path(LIBVIRTD_RO).exists(), reason="libvirtd (the oracle) is not running")
def test_read_only_socket_refusals_equal_libvirtd(daemon: DaemonThread, tmp_path: Path) -> None:
    """A client on the read-only socket (without asking for read-only itself): each write is
    refused from its API's error domain (network, storage, domain, snapshot), as libvirtd does."""
    script = tmp_path / "ro.py"
    script.write_text(READ_ONLY)
    want = run(SYS_PY, script, f"test+unix:///default?socket={LIBVIRTD_RO}", "")
    assert "29 19 operation forbidden: read only access prevents virNetworkDestroy" in want
    assert run(SYS_PY, script, f"test+unix:///default?socket={daemon.cfg.ro_socket}", "") == want
