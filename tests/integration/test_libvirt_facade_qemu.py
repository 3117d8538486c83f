"""pyvirt.libvirt on qemu:///embed: the facade drives a real QEMU in process.

No guest is booted (the domain starts paused and has no disk), so this stays fast; the
point is the facade's plumbing over the asyncio QEMU driver: the loop thread keeps QMP
events flowing while the application is idle, and lifecycle events reach callbacks
through virEventRunDefaultImpl in libvirt's order.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from pyvirt import libvirt

QEMU = "/usr/bin/qemu-system-x86_64"
XML = f"""<domain type='qemu'>
  <name>facade-q</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices><emulator>{QEMU}</emulator></devices>
</domain>"""


@pytest.fixture
def conn(tmp_path: Path) -> Any:
    if not shutil.which(QEMU):
        pytest.skip(f"{QEMU} is not installed")
    libvirt.virEventRegisterDefaultImpl()
    c = libvirt.open(f"qemu:///embed?root={tmp_path}")
    yield c
    for d in c.listAllDomains(0):
        if d.isActive():
            d.destroy()
        if d.isPersistent():
            d.undefine()
    c.close()


def test_lifecycle_through_the_facade(conn: Any) -> None:
    assert conn.getType() == "QEMU"
    assert conn.getURI().startswith("qemu:///embed?root=")
    assert conn.getLibVersion() >= 9_000_000
    assert conn.getVersion() >= 7_000_000  # QEMU 7.x as major*1e6 + minor*1e3 + micro

    events: list[tuple[str, int, int]] = []
    conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                lambda c, d, ev, det, op: events.append((d.name(), ev, det)),
                                None)
    dom = conn.defineXML(XML)
    assert dom.state() == [libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_SHUTOFF_UNKNOWN]
    assert dom.ID() == -1 and dom.isPersistent() == 1 and dom.isActive() == 0

    assert dom.createWithFlags(libvirt.VIR_DOMAIN_START_PAUSED) == 0
    assert dom.ID() > 0
    assert dom.state() == [libvirt.VIR_DOMAIN_PAUSED, libvirt.VIR_DOMAIN_PAUSED_USER]
    assert dom.resume() == 0
    assert dom.state() == [libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_RUNNING_UNPAUSED]
    same = conn.lookupByID(dom.ID())
    assert same.UUIDString() == dom.UUIDString()
    assert dom.destroy() == 0
    assert dom.state() == [libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_SHUTOFF_DESTROYED]

    libvirt.registerErrorHandler(lambda _c, _e: None, None)
    try:
        with pytest.raises(libvirt.libvirtError) as ei:
            dom.suspend()
        assert ei.value.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID
    finally:
        libvirt.registerErrorHandler(None, None)

    want = [(libvirt.VIR_DOMAIN_EVENT_DEFINED, libvirt.VIR_DOMAIN_EVENT_DEFINED_ADDED),
            (libvirt.VIR_DOMAIN_EVENT_STARTED, libvirt.VIR_DOMAIN_EVENT_STARTED_BOOTED),
            (libvirt.VIR_DOMAIN_EVENT_SUSPENDED, libvirt.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED),
            (libvirt.VIR_DOMAIN_EVENT_RESUMED, libvirt.VIR_DOMAIN_EVENT_RESUMED_UNPAUSED),
            (libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_DESTROYED)]
    done: list[bool] = []
    timer = libvirt.virEventAddTimeout(10_000, lambda t, o: done.append(True), None)
    while not done and [e[1:] for e in events if e[1] != libvirt.VIR_DOMAIN_EVENT_SHUTDOWN] != want:
        libvirt.virEventRunDefaultImpl()
    libvirt.virEventRemoveTimeout(timer)
    assert all(name == "facade-q" for name, _, _ in events)
    # SHUTDOWN events around a destroy are the QEMU driver's business; the order of the
    # others is libvirt's.
    assert [e[1:] for e in events if e[1] != libvirt.VIR_DOMAIN_EVENT_SHUTDOWN] == want
    assert dom.undefine() == 0
