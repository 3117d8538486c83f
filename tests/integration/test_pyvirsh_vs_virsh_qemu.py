"""pyvirsh on real QEMU (qemu:///embed) against the real virsh on the real libvirtd.

The same domain XML (the project's test guest, fixed UUID and MAC) is defined, started,
paused, resumed and destroyed by both; outputs must match except what cannot: domain ids,
the disk image path (each side gets its own overlay), the XML file name and CPU time.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GUEST = REPO / ".guest"
VIRSH = shutil.which("virsh")
LIBVIRTD_SOCK = Path("/run/libvirt/libvirt-sock")

pytestmark = [
    pytest.mark.oracle,
    pytest.mark.e2e,
    pytest.mark.skipif(VIRSH is None, reason="the real virsh is not installed"),
    pytest.mark.skipif(not LIBVIRTD_SOCK.exists(),
                       reason="the real libvirtd is not running (../shared/oracle/start-libvirtd.sh)"),
    pytest.mark.skipif(not (GUEST / "vmlinuz").exists(),
                       reason="test guest not built (tools/build-test-guest.sh)"),
]

NAME = "pyvirsh-cmp-guest"
XML = """<domain type='qemu'>
  <name>{name}</name>
  <uuid>0b0e1c2d-3e4f-5061-7283-94a5b6c7d8e9</uuid>
  <memory unit='MiB'>128</memory>
  <vcpu placement='static'>1</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>{guest}/vmlinuz</kernel>
    <initrd>{guest}/initramfs.cpio.gz</initrd>
    <cmdline>console=ttyS0 quiet panic=-1 testguest.net=none</cmdline>
  </os>
  <features><acpi/></features>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='{disk}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='user'><mac address='52:54:00:aa:bb:cc'/><model type='virtio'/></interface>
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <memballoon model='none'/>
  </devices>
</domain>
"""

# Nothing that lists the daemon's domains: other users of the shared libvirtd have theirs.
LINE = ("define {xml}; start {n}; domstate {n} --reason; dominfo {n}; suspend {n}; "
        "domstate {n} --reason; resume {n}; domstate {n} --reason; "
        "domblklist {n} --details; domiflist {n}; start {n}; destroy {n}; "
        "domstate {n} --reason; dominfo {n}; undefine {n}; domstate {n}")

_NORMALIZE = (
    (re.compile(r"^Id:( +)\d+$", re.MULTILINE), r"Id:\1<id>"),
    (re.compile(r"^CPU time:.*$", re.MULTILINE), "CPU time: <clock>"),
)


def _normalize(text: str, workdir: Path) -> str:
    text = text.replace(str(workdir), "<dir>")
    for rx, sub in _NORMALIZE:
        text = rx.sub(sub, text)
    return text


@pytest.fixture
def workdirs() -> Iterator[tuple[Path, Path]]:
    # Short paths: QEMU's unix sockets live under the embed root (108-byte limit).
    ours = Path(tempfile.mkdtemp(prefix="pvq-", dir="/tmp"))
    real = Path(tempfile.mkdtemp(prefix="pvq-", dir="/tmp"))
    yield ours, real
    subprocess.run([VIRSH or "virsh", "-c", "qemu:///system", f"destroy {NAME}; undefine {NAME}"],
                   capture_output=True, check=False)
    # An in-process (embed) guest outlives pyvirsh by design; a failed test must not leak it.
    for pidfile in ours.glob("root/run/qemu/*/qemu.pid"):
        pid = int(pidfile.read_text().split()[0])
        cmdline = Path(f"/proc/{pid}/cmdline")
        if cmdline.exists() and str(ours).encode() in cmdline.read_bytes():
            os.kill(pid, 9)
    for d in (ours, real):
        shutil.rmtree(d, ignore_errors=True)


def _prepare(d: Path) -> Path:
    disk = d / "vda.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(GUEST / "disk.qcow2"),
                    "-F", "qcow2", str(disk)], check=True)
    xml = d / "guest.xml"
    xml.write_text(XML.format(name=NAME, guest=GUEST, disk=disk))
    return xml


def test_guest_lifecycle_matches_libvirt(workdirs: tuple[Path, Path]) -> None:
    ours_dir, real_dir = workdirs
    env = {k: v for k, v in os.environ.items()
           if k not in ("LIBVIRT_DEFAULT_URI", "VIRSH_DEFAULT_CONNECT_URI")}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    results = []
    for tool, uri, d in (
        ([VIRSH or "virsh"], "qemu:///system", real_dir),
        ([sys.executable, "-m", "pyvirt.cli"], f"qemu:///embed?root={ours_dir / 'root'}", ours_dir),
    ):
        xml = _prepare(d)
        p = subprocess.run([*tool, "-c", uri, LINE.format(xml=xml, n=NAME)], capture_output=True,
                           text=True, env=env, timeout=120, check=False)
        results.append((_normalize(p.stdout, d), _normalize(p.stderr, d), p.returncode))
    real, ours = results
    if "running (booted)" not in real[0] or "paused (user)" not in real[0]:
        # The oracle itself failed (the shared libvirtd is busy or out of memory): nothing to
        # compare against, which says nothing about pyvirsh.
        pytest.skip(f"libvirtd could not run the scenario: {real[1].strip()[:300]}")
    assert ours[0] == real[0]
    assert ours[1] == real[1]
    assert ours[2] == real[2]


def _pty_transcript(argv: list[str], env: dict[str, str], marker: bytes) -> tuple[bytes, int]:
    """Run argv on a pty; type ^] once a full line containing marker came out; return all."""
    import pty
    import select
    import time

    pid, fd = pty.fork()
    if pid == 0:  # child
        os.execve(argv[0], argv, env)
    out, sent = b"", False
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], deadline - time.monotonic())
            if not ready:
                break
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the child closed the pty
                break
            if not chunk:
                break
            out += chunk
            if not sent and marker in out and out.find(b"\n", out.find(marker)) >= 0:
                os.write(fd, b"\x1d")
                sent = True
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    return out, os.waitstatus_to_exitcode(status)


def test_start_console_reaches_guest_and_escape_returns(workdirs: tuple[Path, Path]) -> None:
    ours_dir, _ = workdirs
    xml = _prepare(ours_dir)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    uri = f"qemu:///embed?root={ours_dir / 'root'}"
    out, code = _pty_transcript(
        [sys.executable, "-m", "pyvirt.cli", "-c", uri,
         f"define {xml}; start {NAME} --console; domstate {NAME}; destroy {NAME}"],
        env, b"TESTGUEST READY")
    text = out.decode(errors="replace").replace("\r\n", "\n")
    head = (f"Domain '{NAME}' defined from {xml}\n\nDomain '{NAME}' started\n"
            f"Connected to domain '{NAME}'\nEscape character is ^] (Ctrl + ])\n")
    assert text.startswith(head), text
    assert "TESTGUEST READY" in text
    # After ^] virsh prints nothing, not even the blank line: the next command follows.
    assert text.endswith(f"\nrunning\n\nDomain '{NAME}' destroyed\n\n"), text
    assert code == 0
