"""The test guest on real QEMU through pyvirtd and pyvirt's remote client: console stream,
lifecycle and reboot events, all over the remote protocol."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pyvirt.daemon.config import DaemonConfig
from pyvirt.daemon.main import Daemon
from pyvirt.drivers.base import ByteStream, DomainEvent, LifecycleEventMsg, RebootEventMsg
from pyvirt.enums import DomainState, LifecycleEvent
from pyvirt.remote.client import RemoteDriver

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
GUEST = REPO / ".guest"
READY = b"TESTGUEST READY"


@pytest.fixture
async def daemon() -> AsyncIterator[Daemon]:
    missing = [f for f in ("vmlinuz", "initramfs.cpio.gz", "disk.qcow2") if not (GUEST / f).is_file()]
    if missing or shutil.which("qemu-system-x86_64") is None:
        pytest.skip(f"test guest ({GUEST}) or QEMU missing: run tools/build-test-guest.sh")
    root = Path(tempfile.mkdtemp(prefix="pvr", dir="/tmp"))  # short: QEMU socket paths
    d = Daemon(DaemonConfig(root=root, reattach=False))
    await d.start()
    try:
        yield d
    finally:
        await d.stop()
        shutil.rmtree(root, ignore_errors=True)


def guest_xml(root: Path, name: str) -> str:
    disk = root / f"{name}.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(GUEST / "disk.qcow2"), "-F", "qcow2",
                    str(disk)], check=True)  # fmt: skip
    return f"""<domain type='qemu'>
  <name>{name}</name><uuid>{uuid.uuid4()}</uuid>
  <memory unit='MiB'>128</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type>
    <kernel>{GUEST}/vmlinuz</kernel><initrd>{GUEST}/initramfs.cpio.gz</initrd>
    <cmdline>console=ttyS0 quiet panic=-1 testguest.net=none</cmdline></os>
  <features><acpi/></features>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='{disk}'/>
      <target dev='vda' bus='virtio'/></disk>
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <memballoon model='none'/>
  </devices>
</domain>"""


async def read_until(stream: ByteStream, marker: bytes, timeout: float = 90) -> bytes:
    buf = b""

    async def loop() -> bytes:
        nonlocal buf
        while marker not in buf:
            chunk = await stream.read()
            if not chunk:
                raise AssertionError(f"console closed before {marker!r}: {buf[-300:]!r}")
            buf += chunk
        return buf

    return await asyncio.wait_for(loop(), timeout)


async def test_guest_console_and_events_over_the_remote_protocol(daemon: Daemon) -> None:
    assert daemon.cfg.root is not None
    d = await RemoteDriver.open(f"qemu+unix:///system?socket={daemon.cfg.rw_socket}")
    events: list[DomainEvent] = []
    d.events.subscribe(events.append)
    await d.register_events()
    dom = await d.define_xml(guest_xml(daemon.cfg.root, "rc-e2e"))
    try:
        dom = await d.create(dom)
        stream = await d.open_console(dom, None)
        try:
            await read_until(stream, READY)
            await d.reboot(dom)
            await read_until(stream, READY)  # came back up, seen through the same stream
        finally:
            await stream.close()
        assert any(isinstance(e, RebootEventMsg) and e.dom.name == "rc-e2e" for e in events)
        assert (await d.get_state(dom))[0] == DomainState.RUNNING
        await d.destroy(dom)
        async with asyncio.timeout(10):
            while not any(isinstance(e, LifecycleEventMsg) and e.event == LifecycleEvent.STOPPED for e in events):
                await asyncio.sleep(0.01)
        kinds = [e.event for e in events if isinstance(e, LifecycleEventMsg) and e.dom.name == "rc-e2e"]
        assert kinds[0] == LifecycleEvent.DEFINED and LifecycleEvent.STARTED in kinds
    finally:
        if await d.is_active(dom):
            await d.destroy(dom)
        await d.undefine(dom)
        await d.close()
