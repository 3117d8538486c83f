"""vcpuinfo / vcpupin / vcpucount / nodecpumap on real QEMU: pyvirsh (qemu:///embed) against
the real virsh on the real libvirtd, with the same diskless two-vCPU type='qemu' guest.

Compared byte for byte, except the host CPU a vCPU last ran on and its CPU time (the
scheduler's choice), and what the pin changed is also checked in the XML both sides print.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VIRSH = shutil.which("virsh")
LIBVIRTD_SOCK = Path("/run/libvirt/libvirt-sock")
QEMU = Path("/usr/bin/qemu-system-x86_64")

pytestmark = [
    pytest.mark.oracle,
    pytest.mark.e2e,
    pytest.mark.skipif(VIRSH is None, reason="the real virsh is not installed"),
    pytest.mark.skipif(not LIBVIRTD_SOCK.exists(),
                       reason="the real libvirtd is not running (../shared/oracle/start-libvirtd.sh)"),
    pytest.mark.skipif(not QEMU.exists(), reason="qemu-system-x86_64 is not installed"),
]

NAME = "pyvirt-vcpu-cmp"
XML = f"""<domain type='qemu'>
  <name>{NAME}</name>
  <uuid>5f1c2d3e-4a5b-6c7d-8e9f-a0b1c2d3e4f5</uuid>
  <memory unit='MiB'>64</memory>
  <vcpu placement='static'>2</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices><emulator>{QEMU}</emulator><memballoon model='none'/></devices>
</domain>
"""

LINE = (
    f"start {NAME}; vcpuinfo {NAME}; vcpupin {NAME}; vcpupin {NAME} 1 1; vcpuinfo {NAME}; "
    f"vcpupin {NAME} 0 0 --config; vcpupin {NAME} --config; vcpupin {NAME}; vcpupin {NAME} 1; "
    f"nodecpumap; nodecpumap --pretty; vcpucount {NAME}; vcpucount {NAME} --live --maximum; "
    f"vcpupin {NAME} 0 5; vcpupin {NAME} 7 0; vcpuinfo {NAME} --pretty; "
    f"destroy {NAME}; vcpuinfo {NAME}; vcpupin {NAME}; vcpucount {NAME}"
)

_MASKS = (
    (re.compile(r"^CPU:( +)\d+$", re.MULTILINE), r"CPU:\1<n>"),
    (re.compile(r"^CPU time:.*\n", re.MULTILINE), ""),
)


def _mask(text: str) -> str:
    for rx, repl in _MASKS:
        text = rx.sub(repl, text)
    return text


def _run(argv: list[str], line: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("LIBVIRT_DEFAULT_URI", "VIRSH_DEFAULT_CONNECT_URI")}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["LC_ALL"] = "C"
    return subprocess.run([*argv, line], env=env, capture_output=True, text=True, timeout=120, check=False)


def _pins(xml: str) -> list[str]:
    return re.findall(r"<vcpupin [^>]*/>", xml)


def test_vcpu_commands_match_libvirtd(tmp_path: Path) -> None:
    xml = tmp_path / "dom.xml"
    xml.write_text(XML)
    # a short root: QEMU's monitor socket path must fit sockaddr_un
    root = Path(tempfile.mkdtemp(prefix="pvc", dir="/tmp"))
    ours_uri = f"qemu:///embed?root={root}"
    real_argv = [VIRSH or "virsh", "-c", "qemu:///system"]
    ours_argv = [sys.executable, "-m", "pyvirt.cli", "-c", ours_uri]
    _run(real_argv, f"destroy {NAME}; undefine {NAME}")  # a leftover from an interrupted run
    try:
        for argv in (real_argv, ours_argv):
            assert _run(argv, f"define {xml}").returncode == 0
        real, ours = _run(real_argv, LINE), _run(ours_argv, LINE)
        assert "CPU Affinity" in real.stdout
        assert _mask(ours.stdout) == _mask(real.stdout), ours.stderr
        assert ours.stderr == real.stderr
        assert ours.returncode == real.returncode
        # the --config pin is in both persistent definitions
        real_x = _run(real_argv, f"dumpxml {NAME} --inactive").stdout
        ours_x = _run(ours_argv, f"dumpxml {NAME} --inactive").stdout
        assert _pins(ours_x) == _pins(real_x) == ["<vcpupin vcpu='0' cpuset='0'/>"]
    finally:
        _run(real_argv, f"destroy {NAME}; undefine {NAME}")
        _run(ours_argv, f"destroy {NAME}; undefine {NAME}")
        shutil.rmtree(root, ignore_errors=True)
