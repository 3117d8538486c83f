"""Live XML from the real libvirt 9.0 (a transient QEMU guest started paused under
qemu:///system) parses and formats back byte for byte; its --inactive dump too."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from pyvirt.conf.domain import format_domain, parse_domain

GUEST = """<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <serial type='pty'/>
    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
    <interface type='user'><model type='virtio'/></interface>
    <graphics type='vnc' autoport='yes' listen='127.0.0.1'/>
    <disk type='file' device='cdrom'><target dev='hdc' bus='ide'/><readonly/></disk>
  </devices>
</domain>
"""


def _virsh(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["virsh", "-q", "-c", "qemu:///system", *args], input=stdin,
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.oracle
def test_real_libvirt_live_xml_round_trips(tmp_path: Path) -> None:
    try:
        if _virsh("uri").returncode != 0:
            pytest.skip("the oracle libvirtd (qemu:///system) is not running")
    except FileNotFoundError:
        pytest.skip("virsh (the oracle) is not installed")
    name = f"pyvirt-conf-{uuid.uuid4().hex[:8]}"
    xml_file = tmp_path / "g.xml"
    xml_file.write_text(GUEST.format(name=name))
    started = _virsh("create", str(xml_file), "--paused")
    if started.returncode != 0:
        pytest.skip(f"could not start a guest under the oracle: {started.stderr.strip()}")
    try:
        live = _virsh("dumpxml", name).stdout.rstrip("\n") + "\n"
        inactive = _virsh("dumpxml", "--inactive", name).stdout.rstrip("\n") + "\n"
    finally:
        _virsh("destroy", name)
    assert "<alias name='serial0'/>" in live and " id='" in live
    assert format_domain(parse_domain(live)) == live
    # the inactive dump of a transient guest still carries aliases (libvirt keeps them when
    # formatting a live definition); parse it live-preserving and format it back as is
    assert format_domain(parse_domain(inactive)) == inactive
