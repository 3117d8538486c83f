"""libvirt-qemu pass-through on the real test guest through a throw-away pyvirtd, driven by
the real virsh and python3-libvirt's libvirt_qemu (libvirt's QEMU program on the wire), and
pyvirsh side by side with virsh, against pyvirtd and against libvirtd (a diskless transient
domain there). Two boots: the guest under pyvirtd, the stub under libvirtd."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyvirt.daemon.config import DaemonConfig
from pyvirt.daemon.thread import DaemonThread

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
PYVIRSH = [sys.executable, "-m", "pyvirt.cli"]
LIBVIRTD = "qemu+unix:///system?socket=/var/run/libvirt/libvirt-sock"

XML = """<domain type='qemu'><name>{name}</name><uuid>{uuid}</uuid><memory unit='MiB'>128</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='q35'>hvm</type><kernel>{g}/vmlinuz</kernel><initrd>{g}/initramfs.cpio.gz</initrd>
<cmdline>console=ttyS0 quiet testguest.net=none</cmdline></os><devices>
<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
<memballoon model='none'/></devices></domain>"""

# python3-libvirt: monitor events around suspend/resume, then the agent once it connects
# (waited for on libvirt's agent-lifecycle event, not polled).
LV_SCRIPT = r"""
import sys, threading, libvirt, libvirt_qemu as q
libvirt.virEventRegisterDefaultImpl()
threading.Thread(target=lambda: [libvirt.virEventRunDefaultImpl() for _ in iter(int, 1)], daemon=True).start()
c = libvirt.open(sys.argv[1]); d = c.lookupByName(sys.argv[2])
seen, cond = [], threading.Condition()
def cb(conn, dom, event, secs, micros, details, opaque):
    with cond:
        seen.append((event, dom.name(), details)); cond.notify_all()
def agent(conn, dom, state, reason, opaque):
    with cond:
        seen.append(("AGENT", state)); cond.notify_all()
cid = q.qemuMonitorEventRegister(c, d, "stop|resume", cb, None,
                                 q.VIR_CONNECT_DOMAIN_QEMU_MONITOR_EVENT_REGISTER_REGEX
                                 | q.VIR_CONNECT_DOMAIN_QEMU_MONITOR_EVENT_REGISTER_NOCASE)
c.domainEventRegisterAny(d, libvirt.VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE, agent, None)
d.suspend(); d.resume()
with cond:
    cond.wait_for(lambda: any(e[0] == "RESUME" for e in seen), 20)
    print("EVENTS", [e for e in seen if e[0] != "AGENT"])
    cond.wait_for(lambda: ("AGENT", 1) in seen or "connected" in d.XMLDesc(0) and "state='connected'" in d.XMLDesc(0), 90)
q.qemuMonitorEventDeregister(c, cid)
print("AGENT", q.qemuAgentCommand(d, '{"execute":"guest-ping"}', 10, 0))
print("HMP", repr(q.qemuMonitorCommand(d, "info status", q.VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP)))
"""

CASES = (
    ["--hmp", "info status"],
    ["--return-value", '{"execute":"query-status"}'],
    ["--pretty", "--return-value", '{"execute":"query-status"}'],
    ['{"execute":"nosuch"}'],
    ["--return-value", '{"execute":"nosuch"}'],
    ['{"execute":"query-status","id":"mine"}'],
    ["--hmp", "--pretty", "info status"],
)


def _run(argv: list[str], timeout: float = 60) -> tuple[int, str, str]:
    p = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=timeout, cwd=REPO)
    return p.returncode, re.sub(r'"(libvirt|pyvirt)-\d+"', '"ID"', p.stdout), p.stderr


@pytest.fixture
def daemon_uri(guest_dir: Path) -> Iterator[tuple[str, Path]]:
    if shutil.which("virsh") is None or not Path("/usr/bin/python3").exists():
        pytest.skip("libvirt's virsh / python3-libvirt not installed")
    d = Path(tempfile.mkdtemp(prefix="pvqp", dir="/tmp"))
    d.chmod(0o755)
    try:
        with DaemonThread(DaemonConfig(root=d / "root")) as daemon:
            yield f"qemu+unix:///system?socket={daemon.cfg.rw_socket}", guest_dir
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_passthrough_through_pyvirtd_and_beside_libvirtd(daemon_uri: tuple[str, Path], tmp_path: Path) -> None:
    uri, g = daemon_uri
    name = f"pvqp{uuid.uuid4().hex[:6]}"
    x = tmp_path / "g.xml"
    x.write_text(XML.format(name=name, uuid=uuid.uuid4(), g=g))
    assert _run(["virsh", "-c", uri, "create", str(x)])[0] == 0
    oracle = None
    try:
        # python3-libvirt's libvirt_qemu against pyvirtd: filtered events, agent, HMP
        code, out, err = _run(["/usr/bin/python3", "-c", LV_SCRIPT, uri, name], timeout=150)
        assert code == 0, err
        assert f"EVENTS [('STOP', '{name}', None), ('RESUME', '{name}', None)]" in out
        assert "AGENT {\"return\":{}}" in out
        assert "HMP 'VM status: running\\r\\n'" in out
        # the agent through real virsh and pyvirsh: same bytes
        agent = ["qemu-agent-command", name, '{"execute":"guest-ping"}']
        assert _run(["virsh", "-c", uri, *agent]) == _run([*PYVIRSH, "-c", uri, *agent]) == (0, '{"return":{}}\n\n', "")
        # every case: virsh and pyvirsh through pyvirtd, virsh and pyvirsh through libvirtd
        ox = tmp_path / "o.xml"
        oracle = f"pvqpo{uuid.uuid4().hex[:6]}"
        ox.write_text(f"<domain type='qemu'><name>{oracle}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
                      "<os><type arch='x86_64' machine='q35'>hvm</type></os></domain>")
        if _run(["virsh", "-c", LIBVIRTD, "create", str(ox)])[0] != 0:
            oracle = None
        for case in CASES:
            ours = _run(["virsh", "-c", uri, "qemu-monitor-command", name, *case])
            assert _run([*PYVIRSH, "-c", uri, "qemu-monitor-command", name, *case]) == ours, case
            if oracle is not None:
                assert _run(["virsh", "-c", LIBVIRTD, "qemu-monitor-command", oracle, *case]) == ours, case
                assert _run([*PYVIRSH, "-c", LIBVIRTD, "qemu-monitor-command", oracle, *case]) == ours, case
        # through a daemon socket the command is light: no asyncio, async client or errors
        probe = ("import sys; from pyvirt.cli.main import main; rc = main(sys.argv[1:]); "
                 "print(sorted(m for m in ('asyncio', 'pyvirt.remote.client', 'pyvirt.errors', 'typing') "
                 "if m in sys.modules)); sys.exit(rc)")
        code, out, _ = _run([sys.executable, "-c", probe, "-c", uri, "qemu-monitor-command", name, "--hmp",
                             "info status"])
        assert code == 0 and out.startswith("VM status: running") and out.endswith("\n[]\n"), out
        code, out, _ = _run(["virsh", "-c", uri, "dominfo", name])
        assert "tainted: custom monitor control commands issued" in out
        assert "tainted: custom guest agent control commands issued" in out
    finally:
        _run(["virsh", "-c", uri, "destroy", name])
        if oracle is not None:
            _run(["virsh", "-c", LIBVIRTD, "destroy", oracle])
