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
    line = ("uri; hostname; nodeinfo; version; dominfo no-such-domain-x; "
            "domstate no-such-domain-x; event --all --timeout 1")
    real = _run([VIRSH or "virsh"], uri, line)
    ours = _run([sys.executable, "-m", "pyvirt.cli"], uri, line)
    assert ours == real
    assert "Running hypervisor: QEMU" in real[0]
