"""What the e2e tests that run the test guest beside the real libvirtd (the oracle) share:
the skip marks, and the guest's domain XML around the disks each test gives."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest

VIRSH = shutil.which("virsh")
LIBVIRTD_SOCK = Path("/var/run/libvirt/libvirt-sock")

ORACLE_MARKS = [
    pytest.mark.oracle, pytest.mark.e2e,
    pytest.mark.skipif(VIRSH is None or shutil.which("qemu-img") is None, reason="virsh or qemu-img not installed"),
    pytest.mark.skipif(not LIBVIRTD_SOCK.exists(), reason="libvirtd (the oracle) is not running"),
]


def guest_xml(name: str, guest: Path, disks: str) -> str:
    """The test guest (TCG, its kernel and initramfs, no network) with ``disks`` (the
    <disk> elements, indented four spaces) as its devices."""
    return f"""<domain type='qemu'>
  <name>{name}</name>
  <uuid>{uuid.uuid4()}</uuid>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>{guest}/vmlinuz</kernel>
    <initrd>{guest}/initramfs.cpio.gz</initrd>
    <cmdline>console=ttyS0 quiet panic=-1 testguest.net=none</cmdline>
  </os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
{disks}    <memballoon model='none'/>
  </devices>
</domain>
"""
