"""pyvirsh through pyvirtd (remote protocol) against the real virsh on the same daemon.

Both tools connect to one pyvirtd serving test:///default over its unix socket; the node
resets whenever the last client disconnects, so each tool starts from the stock state.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyvirt.daemon.config import DaemonConfig
from pyvirt.daemon.thread import DaemonThread

REPO = Path(__file__).resolve().parents[2]
VIRSH = shutil.which("virsh")
_CPU_TIME = re.compile(r"^CPU time:.*$", re.MULTILINE)

pytestmark = [
    pytest.mark.oracle,
    pytest.mark.skipif(VIRSH is None, reason="the real virsh (libvirt-clients) is not installed"),
]


@pytest.fixture
def test_uri(tmp_path: Path) -> Iterator[str]:
    with DaemonThread(DaemonConfig(root=tmp_path)) as d:
        yield f"test+unix:///default?socket={d.cfg.rw_socket}"


def _run(tool: list[str], uri: str, line: str) -> tuple[str, str, int]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("LIBVIRT_DEFAULT_URI", "VIRSH_DEFAULT_CONNECT_URI")}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    p = subprocess.run([*tool, "-c", uri, line], capture_output=True, text=True, env=env,
                       timeout=60, check=False)
    return _CPU_TIME.sub("CPU time: <clock>", p.stdout), p.stderr, p.returncode


@pytest.mark.parametrize("line", [
    "list --all; dominfo test; domstate test --reason; uri; nodeinfo",
    ("destroy test; list --all; start test; suspend test; list; resume test; "
     "domstate test --reason; dumpxml test; domblklist test --details; domiflist test"),
    "dominfo nosuch; suspend test; suspend test",
    "event --all --timeout 1",
])
def test_same_output_through_pyvirtd(test_uri: str, line: str) -> None:
    real = _run([VIRSH or "virsh"], test_uri, line)
    ours = _run([sys.executable, "-m", "pyvirt.cli"], test_uri, line)
    assert ours == real
    assert real[0] or real[1]


LIBVIRTD_SOCK = Path("/run/libvirt/libvirt-sock")


@pytest.mark.skipif(not LIBVIRTD_SOCK.exists(), reason="the real libvirtd is not running "
                    "(../shared/oracle/start-libvirtd.sh)")
def test_same_output_against_libvirtd() -> None:
    """Our remote client against the real libvirtd, read-only commands only (the daemon's
    domains belong to whoever else uses it, so nothing here changes or lists them)."""
    uri = f"qemu+unix:///system?socket={LIBVIRTD_SOCK}"
    # No event command here: other users' domains on the shared daemon make events.
    line = ("uri; hostname; nodeinfo; version; dominfo no-such-domain-x; "
            "domstate no-such-domain-x")
    real = _run([VIRSH or "virsh"], uri, line)
    ours = _run([sys.executable, "-m", "pyvirt.cli"], uri, line)
    assert ours == real
    assert "Running hypervisor: QEMU" in real[0]


def _sessions_with_events(d: DaemonThread) -> int:
    return sum(1 for c in list(d.daemon.server.clients)
               if getattr(c, "session", None) is not None and getattr(c.session, "events", None))


def test_event_loop_prints_what_virsh_prints(tmp_path: Path) -> None:
    """Both tools listen on one pyvirtd while a third client changes the stock domain."""
    xml = tmp_path / "a.xml"
    xml.write_text("<domain type='test'><name>alpha</name>"
                   "<uuid>11111111-2222-3333-4444-555555555555</uuid>"
                   "<memory>65536</memory><os><type>hvm</type></os></domain>")
    env = {k: v for k, v in os.environ.items()
           if k not in ("LIBVIRT_DEFAULT_URI", "VIRSH_DEFAULT_CONNECT_URI")}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    with DaemonThread(DaemonConfig(root=tmp_path / "d")) as d:
        uri = f"test+unix:///default?socket={d.cfg.rw_socket}"
        line = "event --all --loop --timeout 3"
        listeners = [subprocess.Popen([*tool, "-c", uri, line], stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True, env=env)
                     for tool in ([VIRSH or "virsh"], [sys.executable, "-m", "pyvirt.cli"])]
        # Both must have registered their callbacks before anything happens; the daemon's
        # session table is the only witness, so look at it (bounded).
        deadline = time.monotonic() + 10
        while _sessions_with_events(d) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _sessions_with_events(d) >= 2, "listeners never registered for events"
        changes = f"destroy test; start test; suspend test; resume test; define {xml}; undefine alpha"
        subprocess.run([VIRSH or "virsh", "-c", uri, changes],
                       capture_output=True, check=True, env=env, timeout=30)
        (real_out, real_err), (our_out, our_err) = (p.communicate(timeout=30) for p in listeners)
    assert "event 'lifecycle' for domain 'test': Stopped Destroyed\n" in real_out
    assert (our_out, our_err) == (real_out, real_err)
