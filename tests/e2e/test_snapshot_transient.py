"""A transient domain's snapshot metadata goes with the domain (libvirt discards it when the
domain object is removed), so a new transient domain of the same name starts clean."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pyvirt import libvirt

pytestmark = pytest.mark.e2e

SNAP = """<domainsnapshot><name>s1</name><disks>
<disk name='vda' snapshot='external'><source file='{f}'/></disk></disks></domainsnapshot>"""


def test_transient_domain_snapshots_go_with_it(embed_root: Path, guest_xml: Callable[..., str]) -> None:
    conn = libvirt.open(f"qemu:///embed?root={embed_root}")
    try:
        xml = guest_xml("tsnap")
        meta = embed_root / "lib" / "qemu" / "snapshot" / "tsnap"
        for round_ in (1, 2):
            dom = conn.createXML(xml, libvirt.VIR_DOMAIN_START_PAUSED)
            assert dom.snapshotListNames() == []  # round 2: nothing left from round 1
            dom.snapshotCreateXML(SNAP.format(f=embed_root / f"ov{round_}.qcow2"),
                                  libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY)
            assert dom.snapshotListNames() == ["s1"]
            assert meta.is_dir()
            dom.destroy()
            assert not meta.exists(), f"round {round_}: metadata outlived the transient domain"
            with pytest.raises(libvirt.libvirtError):
                conn.lookupByName("tsnap")
    finally:
        conn.close()
