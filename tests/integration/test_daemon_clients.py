"""Real libvirt clients against pyvirtd: Debian's virsh and python3-libvirt (the C library).

The expectation is the same client's output against libvirt's own test driver
(``test:///default`` in-process, a fresh node per virsh run, as our daemon gives a fresh
node to its first connection), with the values libvirt derives from the clock removed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyvirt.daemon.config import DaemonConfig
from pyvirt.daemon.thread import DaemonThread

pytestmark = pytest.mark.oracle

VIRSH = shutil.which("virsh")
SYS_PY = "/usr/bin/python3"

PROBE_XML = """<domain type='test'>
  <name>probe-rpc</name>
  <uuid>0b7c1c2e-5c1f-4a35-9d7e-7d8b7c3e0a11</uuid>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type>hvm</type></os>
</domain>
"""


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[DaemonThread]:
    with DaemonThread(DaemonConfig(root=tmp_path / "root")) as d:
        yield d


def uri(d: DaemonThread, ro: bool = False) -> str:
    sock = d.cfg.ro_socket if ro else d.cfg.rw_socket
    return f"test+unix:///default?socket={sock}"


def virsh(conn: str, cmds: str, cwd: Path) -> str:
    assert VIRSH is not None
    p = subprocess.run([VIRSH, "-c", conn, cmds], capture_output=True, text=True, timeout=60, cwd=cwd, check=False)
    out = p.stdout + p.stderr + f"[rc={p.returncode}]"
    # CPU time comes from the wall clock in libvirt's test driver
    return "\n".join(ln for ln in out.splitlines() if not ln.startswith("CPU time:"))


needs_virsh = pytest.mark.skipif(VIRSH is None, reason="virsh (libvirt-clients) not installed")


@needs_virsh
def test_virsh_session_equals_libvirt(daemon: DaemonThread, tmp_path: Path) -> None:
    (tmp_path / "probe.xml").write_text(PROBE_XML)
    cmds = (
        "list --all; dominfo test; define probe.xml; list --all; start probe-rpc; "
        "domstate probe-rpc --reason; dominfo probe-rpc; destroy probe-rpc; domstate probe-rpc --reason; "
        "undefine probe-rpc; suspend test; domstate test --reason; resume test; shutdown test; "
        "domstate test --reason; dumpxml test; list --all; dominfo no-such-domain; version"
    )
    ours = virsh(uri(daemon), cmds, tmp_path)
    theirs = virsh("test:///default", cmds, tmp_path)
    # `version` through a daemon adds the daemon's library line; compare everything before it
    assert ours.split("Compiled against")[0] == theirs.split("Compiled against")[0]
    assert "Running hypervisor: TEST" in ours


@needs_virsh
def test_virsh_readonly_socket(daemon: DaemonThread, tmp_path: Path) -> None:
    out = virsh(uri(daemon, ro=True), "list --all; destroy test", tmp_path)
    assert " 1    test   running" in out
    assert "read only access prevents virDomainDestroy" in out
    assert out.endswith("[rc=1]")


@needs_virsh
def test_virsh_event_loop(daemon: DaemonThread, tmp_path: Path) -> None:
    assert VIRSH is not None
    watcher = subprocess.Popen(
        [VIRSH, "-c", uri(daemon), "event", "--all", "--loop", "--timeout", "3"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        # wait until the watcher's registrations reached the daemon (27 callbacks)
        end = time.monotonic() + 5
        while time.monotonic() < end:
            sessions = [c.session for c in list(daemon.daemon.server.clients)]
            if any(len(getattr(s, "events", [])) >= 20 for s in sessions):
                break
            time.sleep(0.05)
        virsh(uri(daemon), "suspend test; resume test; destroy test; start test", tmp_path)
        out, _ = watcher.communicate(timeout=10)
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait()
    assert [ln for ln in out.splitlines() if ln] == [
        "event 'lifecycle' for domain 'test': Suspended Paused",
        "event 'lifecycle' for domain 'test': Resumed Unpaused",
        "event 'lifecycle' for domain 'test': Stopped Destroyed",
        "event 'lifecycle' for domain 'test': Started Booted",
        "event loop timed out",
        "events received: 4",
    ]


PY_SCENARIO = r"""
import sys, threading, time, libvirt
libvirt.virEventRegisterDefaultImpl()
threading.Thread(target=lambda: [libvirt.virEventRunDefaultImpl() for _ in iter(int, 1)], daemon=True).start()
c = libvirt.open(sys.argv[1])
print(c.getType(), c.getURI() if sys.argv[1].startswith("test:") else "uri")
print(sorted((d.name(), d.ID(), d.isActive(), d.isPersistent()) for d in c.listAllDomains()))
d = c.lookupByName("test")
print(d.info()[:4], d.state(), d.UUIDString(), d.autostart(), d.hasManagedSaveImage())
got = []
def cb(conn, dom, event, detail, opaque):
    got.append((dom.name(), event, detail))
cid = c.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, cb, None)
d.suspend(); print(d.state()); d.resume(); d.destroy(); print(d.state()); d.create()
n = c.defineXML(open(sys.argv[2]).read())
print(n.name(), n.UUIDString(), n.isActive()); n.create(); print(n.state()); n.destroy(); n.undefine()
try:
    c.lookupByName("nope")
except libvirt.libvirtError as e:
    print("error", e.get_error_code(), e.get_error_domain(), e.get_error_message())
try:
    d.resume()
except libvirt.libvirtError as e:
    print("error", e.get_error_code(), e.get_error_domain(), e.get_error_message())
end = time.time() + 5
while len(got) < 8 and time.time() < end:
    time.sleep(0.01)
print("events", got)
c.domainEventDeregisterAny(cid)
print("ids", sorted(c.listDomainsID()), sorted(c.listDefinedDomains()), c.numOfDomains())
print("node", c.getInfo()[0:3], c.getHostname() != "")
c.close()
"""


@pytest.mark.skipif(not os.path.exists(SYS_PY), reason="system python3 not installed")
def test_python3_libvirt_equals_libvirt(daemon: DaemonThread, tmp_path: Path) -> None:
    probe = subprocess.run([SYS_PY, "-c", "import libvirt"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip("python3-libvirt not installed")
    (tmp_path / "probe.xml").write_text(PROBE_XML)
    (tmp_path / "s.py").write_text(PY_SCENARIO)

    def run(conn: str) -> str:
        p = subprocess.run([SYS_PY, "s.py", conn, "probe.xml"], capture_output=True, text=True,
                           timeout=60, cwd=tmp_path, check=False)  # fmt: skip
        return p.stdout + p.stderr

    ours, theirs = run(uri(daemon)), run("test:///default")
    assert ours.splitlines()[1:] == theirs.splitlines()[1:]
    assert ours.startswith("TEST uri")
