"""Snapshots of a shut-off domain through QemuDriver (real qemu-img, no QEMU process).

Checks files with qemu-img itself, metadata with a second driver instance (a restart).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest

from pyvirt.drivers.base import SnapshotRef
from pyvirt.drivers.qemu.driver import QemuDriver
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

pytestmark = pytest.mark.skipif(shutil.which("qemu-img") is None or shutil.which("qemu-io") is None,
                                reason="qemu-img / qemu-io not installed")

_CAPS_CACHE = Path(tempfile.mkdtemp(prefix="pyvirt-caps-"))

XML = """<domain type='qemu'>
  <name>snapdom</name>
  <uuid>{uuid}</uuid>
  <memory unit='MiB'>64</memory>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='{img}/vda.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='{img}/vdb.qcow2'/>
      <target dev='vdb' bus='virtio'/>
    </disk>
  </devices>
</domain>"""


def img_info(path: str) -> dict[str, Any]:
    out = subprocess.run(["qemu-img", "info", "-U", "--output=json", path], capture_output=True, check=True, text=True)
    return dict(json.loads(out.stdout))


def write(path: Path, offset: int, data: bytes) -> None:
    subprocess.run(["qemu-io", "-f", "qcow2", "-c", f"write -P {data[0]} {offset} 512", str(path)],
                   check=True, capture_output=True)


def read_byte(path: Path, offset: int) -> int:
    out = subprocess.run(["qemu-io", "-r", "-U", "-f", "qcow2", "-c", f"read -v {offset} 1", str(path)],
                         check=True, capture_output=True, text=True).stdout
    return int(out.split(":", 1)[1].split()[0], 16)


async def open_drv(root: Path) -> QemuDriver:
    drv = await QemuDriver.open(f"qemu:///embed?root={root}")
    drv.lc.caps_cache_dir = _CAPS_CACHE
    return drv


@pytest.fixture
def img(tmp_path: Path) -> Path:
    d = tmp_path / "img"
    d.mkdir()
    for n in ("vda", "vdb"):
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(d / f"{n}.qcow2"), "4M"], check=True)
    return d


async def test_internal_offline_create_list_revert_delete(tmp_path: Path, img: Path) -> None:
    drv = await open_drv(tmp_path / "root")
    dom = await drv.define_xml(XML.format(uuid=uuid.uuid4(), img=img))
    write(img / "vda.qcow2", 0, b"\x11")
    s1 = await drv.snapshot_create_xml(dom, "<domainsnapshot><name>s1</name><description>d</description></domainsnapshot>")
    assert s1.name == "s1"
    names = [s["name"] for s in img_info(str(img / "vda.qcow2"))["snapshots"]]
    assert names == ["s1"]
    write(img / "vda.qcow2", 0, b"\x22")
    await drv.snapshot_create_xml(dom, "<domainsnapshot><name>s2</name></domainsnapshot>")
    assert await drv.snapshot_list_names(dom) == ["s1", "s2"]
    assert (await drv.snapshot_get_parent(SnapshotRef(dom, "s2"))).name == "s1"
    assert (await drv.snapshot_current(dom)).name == "s2"
    xml = await drv.snapshot_get_xml_desc(SnapshotRef(dom, "s1"))
    assert "<state>shutoff</state>" in xml and "<disk name='vda' snapshot='internal'/>" in xml
    assert "<memory snapshot='no'/>" in xml

    # a restarted driver sees the same tree
    await drv.close()
    drv = await open_drv(tmp_path / "root")
    dom = await drv.lookup_by_name("snapdom")
    assert await drv.snapshot_list_names(dom, 1) == ["s1"]  # roots
    assert await drv.snapshot_list_names(dom, 4) == ["s2"]  # leaves
    assert (await drv.snapshot_current(dom)).name == "s2"

    await drv.revert_to_snapshot(SnapshotRef(dom, "s1"))
    assert read_byte(img / "vda.qcow2", 0) == 0x11
    assert (await drv.snapshot_current(dom)).name == "s1"
    assert await drv.get_state(dom) == (5, 0)  # shut off (unknown): libvirt 9.0 after an offline revert

    with pytest.raises(VirtError) as e:
        await drv.revert_to_snapshot(SnapshotRef(dom, "nope"))
    assert e.value.code == ErrorCode.NO_DOMAIN_SNAPSHOT

    await drv.snapshot_delete(SnapshotRef(dom, "s1"), 1)  # with children
    assert await drv.snapshot_list_names(dom) == []
    assert not img_info(str(img / "vda.qcow2")).get("snapshots")
    await drv.close()


async def test_external_offline_overlay_revert_and_merge(tmp_path: Path, img: Path) -> None:
    drv = await open_drv(tmp_path / "root")
    dom = await drv.define_xml(XML.format(uuid=uuid.uuid4(), img=img))
    write(img / "vda.qcow2", 0, b"\x11")
    await drv.snapshot_create_xml(dom, "<domainsnapshot><name>e1</name></domainsnapshot>", 16)  # disk-only
    over = img / "vda.e1"
    assert img_info(str(over))["backing-filename"] == str(img / "vda.qcow2")
    defn = await drv.get_xml_desc(dom)
    assert f"<source file='{over}'/>" in defn and f"<source file='{img}/vdb.e1'/>" in defn
    write(over, 0, b"\x33")
    assert read_byte(img / "vda.qcow2", 0) == 0x11

    # revert: a fresh overlay on the frozen file
    await drv.revert_to_snapshot(SnapshotRef(dom, "e1"))
    assert read_byte(over, 0) == 0x11

    # delete merges the overlay back and the definition follows
    write(over, 512, b"\x44")
    await drv.snapshot_delete(SnapshotRef(dom, "e1"))
    assert not over.exists()
    assert read_byte(img / "vda.qcow2", 512) == 0x44
    assert f"<source file='{img}/vda.qcow2'/>" in await drv.get_xml_desc(dom)
    await drv.close()


async def test_bad_input_changes_nothing(tmp_path: Path, img: Path) -> None:
    drv = await open_drv(tmp_path / "root")
    dom = await drv.define_xml(XML.format(uuid=uuid.uuid4(), img=img))
    before = sorted(p.name for p in img.iterdir())
    bad = ("<domainsnapshot><name>x</name><disks><disk name='vdz' snapshot='external'>"
           f"<source file='{img}/z.qcow2'/></disk></disks></domainsnapshot>")
    with pytest.raises(VirtError) as e:
        await drv.snapshot_create_xml(dom, bad, 16)
    assert (e.value.code, e.value.domain) == (ErrorCode.CONFIG_UNSUPPORTED, ErrorDomain.DOMAIN_SNAPSHOT)
    assert e.value.message == "unsupported configuration: no disk named 'vdz'"
    (img / "exists.qcow2").write_bytes(b"x" * 10)
    before = sorted(p.name for p in img.iterdir())
    exists = ("<domainsnapshot><name>x</name><disks><disk name='vda' snapshot='external'>"
              f"<source file='{img}/exists.qcow2'/></disk></disks></domainsnapshot>")
    with pytest.raises(VirtError) as e:
        await drv.snapshot_create_xml(dom, exists, 16)
    # (code, domain) as libvirtd 9.0 answers python3-libvirt for the same calls
    assert (e.value.code, e.value.domain) == (ErrorCode.CONFIG_UNSUPPORTED, ErrorDomain.QEMU)
    assert "already exists and is not a block device" in e.value.message
    assert sorted(p.name for p in img.iterdir()) == before
    assert await drv.snapshot_list_names(dom) == []
    await drv.snapshot_create_xml(dom, "<domainsnapshot><name>a</name></domainsnapshot>")
    with pytest.raises(VirtError) as e:
        await drv.snapshot_create_xml(dom, "<domainsnapshot><name>a</name></domainsnapshot>")
    assert e.value.code == ErrorCode.OPERATION_FAILED
    with pytest.raises(VirtError) as e:
        await drv.snapshot_create_xml(dom, "<domainsnapshot/>", 64)  # quiesce without disk-only
    assert (e.value.code, e.value.domain) == (ErrorCode.INVALID_ARG, ErrorDomain.QEMU)
    with pytest.raises(VirtError) as e:
        await drv.snapshot_create_xml(dom, "<domainsnapshot><name>a/b</name></domainsnapshot>")
    assert (e.value.code, e.value.domain) == (ErrorCode.XML_DETAIL, ErrorDomain.QEMU)
    with pytest.raises(VirtError) as e:
        await drv.snapshot_create_xml(dom, "<domainsnapshot><memory snapshot='external' file='/m'/></domainsnapshot>")
    assert (e.value.code, e.value.domain) == (ErrorCode.XML_ERROR, ErrorDomain.DOMAIN_SNAPSHOT)
    await drv.close()


async def test_external_chain_delete_children_merges_everything(tmp_path: Path, img: Path) -> None:
    """e1 <- e2 stacked, under an internal parent (libvirt 9.0 refuses both cases):
    delete e1 --children merges e2 into e1's overlay, then that into the base."""
    drv = await open_drv(tmp_path / "root")
    dom = await drv.define_xml(XML.format(uuid=uuid.uuid4(), img=img))
    await drv.snapshot_create_xml(dom, "<domainsnapshot><name>i0</name></domainsnapshot>")
    await drv.snapshot_create_xml(dom, "<domainsnapshot><name>e1</name></domainsnapshot>", 16)
    write(img / "vda.e1", 0, b"\x55")
    await drv.snapshot_create_xml(dom, "<domainsnapshot><name>e2</name></domainsnapshot>", 16)
    write(img / "vda.e2", 512, b"\x66")
    assert await drv.snapshot_list_names(dom, 512) == ["e1", "e2"]  # --external
    assert await drv.snapshot_list_names(dom, 256) == ["i0"]  # --internal
    await drv.snapshot_delete(SnapshotRef(dom, "e1"), 1)
    assert await drv.snapshot_list_names(dom) == ["i0"]
    assert (await drv.snapshot_current(dom)).name == "i0"
    for name in ("vda.e1", "vda.e2", "vdb.e1", "vdb.e2"):
        assert not (img / name).exists(), name
    assert read_byte(img / "vda.qcow2", 0) == 0x55 and read_byte(img / "vda.qcow2", 512) == 0x66
    assert f"<source file='{img}/vda.qcow2'/>" in await drv.get_xml_desc(dom)
    await drv.close()


async def test_metadata_only_and_no_metadata(tmp_path: Path, img: Path) -> None:
    drv = await open_drv(tmp_path / "root")
    dom = await drv.define_xml(XML.format(uuid=uuid.uuid4(), img=img))
    await drv.snapshot_create_xml(dom, "<domainsnapshot><name>nm</name></domainsnapshot>", 4)  # no metadata
    assert await drv.snapshot_list_names(dom) == []
    assert "nm" in [s["name"] for s in img_info(str(img / "vda.qcow2"))["snapshots"]]
    await drv.snapshot_create_xml(dom, "<domainsnapshot><name>m</name></domainsnapshot>")
    await drv.snapshot_delete(SnapshotRef(dom, "m"), 2)  # --metadata: the qcow2 keeps it
    assert await drv.snapshot_list_names(dom) == []
    assert [s["name"] for s in img_info(str(img / "vda.qcow2"))["snapshots"]] == ["nm", "m"]
    await drv.close()


async def test_undefine_with_snapshots(tmp_path: Path, img: Path) -> None:
    drv = await open_drv(tmp_path / "root")
    dom = await drv.define_xml(XML.format(uuid=uuid.uuid4(), img=img))
    await drv.snapshot_create_xml(dom, "<domainsnapshot><name>a</name></domainsnapshot>")
    with pytest.raises(VirtError) as e:
        await drv.undefine(dom)
    assert e.value.code == ErrorCode.OPERATION_INVALID
    assert e.value.message == "Requested operation is not valid: cannot delete inactive domain with 1 snapshots"
    assert await drv.lookup_by_name("snapdom")
    await drv.undefine(dom, 2)  # --snapshots-metadata
    assert not (tmp_path / "root" / "lib" / "qemu" / "snapshot" / "snapdom").exists()
    await drv.close()
