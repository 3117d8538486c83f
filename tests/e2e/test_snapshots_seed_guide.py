"""The seed's snapshot guide ("docs: Add detailed notes snapshots, blockcommit, blockpull"),
its virsh command lines as written (with our names and paths), run by the real virsh and by
pyvirsh against pyvirtd, on the real test guest with its disk writer running."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pyvirt.daemon.config import DaemonConfig
from pyvirt.daemon.thread import DaemonThread

VIRSH = shutil.which("virsh")

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(VIRSH is None, reason="virsh (libvirt-clients) not installed")]


def sh(argv: list[str]) -> str:
    p = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert p.returncode == 0, (argv, p.stdout, p.stderr)
    return p.stdout


def test_seed_snapshot_guide_through_pyvirtd(embed_root: Path, guest_xml, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from test_snapshots import assert_intact  # the writer's on-disk pattern check

    assert VIRSH is not None
    xml = tmp_path / "f17vm1.xml"
    xml.write_text(guest_xml("f17vm1", cmdline_extra="testguest.writer=1"))
    log = embed_root / "images" / "f17vm1-console.log"
    disk = str(embed_root / "images" / "f17vm1-vda.qcow2")
    sn1 = str(embed_root / "images" / "sn1-of-f17vm1.qcow2")
    with DaemonThread(DaemonConfig(root=embed_root / "d")) as d:
        uri = f"qemu+unix:///system?socket={d.cfg.rw_socket}"
        virsh = [VIRSH, "-c", uri]
        pyvirsh = [sys.executable, "-m", "pyvirt.cli", "-c", uri]
        sh([*virsh, "define", str(xml)])
        sh([*virsh, "start", "f17vm1"])
        deadline = time.monotonic() + 90
        while b"TESTGUEST WRITER start" not in (log.read_bytes() if log.exists() else b""):
            assert time.monotonic() < deadline, "guest did not start its writer"
            time.sleep(0.1)  # the console log is a file: nothing to wait on
        time.sleep(0.5)

        # "virsh snapshot-create-as f17vm1 snap1 snap1-desc" (internal, live, with memory)
        assert sh([*virsh, "snapshot-create-as", "f17vm1", "snap1", "snap1-desc"]) == "Domain snapshot snap1 created\n"
        listing = sh([*virsh, "snapshot-list", "f17vm1"])
        assert listing.splitlines()[0].split() == ["Name", "Creation", "Time", "State"]
        assert listing.splitlines()[2].split()[0::4] == ["snap1", "running"]
        info = sh(["qemu-img", "info", "-U", disk])
        assert "snap1" in info  # the internal snapshot is in the qcow2, as the guide shows

        # "virsh snapshot-create-as --domain f17-base snap1 snap1-desc --disk-only
        #   --diskspec vda,snapshot=external,file=/export/vmimages/sn1-of-f17-base.qcow2 --atomic"
        out = sh([*virsh, "snapshot-create-as", "--domain", "f17vm1", "snap2", "snap2-desc", "--disk-only",
                  "--diskspec", f"vda,snapshot=external,file={sn1}", "--atomic"])
        assert out == "Domain snapshot snap2 created\n"
        blk = sh([*virsh, "domblklist", "f17vm1"])
        assert f"vda      {sn1}" in blk
        assert sh([*pyvirsh, "domblklist", "f17vm1"]) == blk
        tree = sh([*pyvirsh, "snapshot-list", "f17vm1", "--tree"])
        assert tree == "snap1\n  |\n  +- snap2\n    \n\n"
        assert sh([*virsh, "snapshot-list", "f17vm1", "--tree"]) == tree
        seq = assert_intact(sn1, tmp_path)

        # "virsh snapshot-revert --domain f17vm1 snap1"
        assert sh([*virsh, "snapshot-revert", "--domain", "f17vm1", "snap1"]) == "Domain snapshot snap1 reverted\n\n"
        assert sh([*virsh, "domstate", "--reason", "f17vm1"]) == "running (from snapshot)\n\n"
        assert f"vda      {disk}" in sh([*virsh, "domblklist", "f17vm1"])
        back = assert_intact(disk, tmp_path)
        assert back <= seq  # the disk went back to snap1's moment, before snap2
        assert sh([*pyvirsh, "snapshot-current", "f17vm1", "--name"]) == "snap1\n"
        sh([*virsh, "destroy", "f17vm1"])
