"""virDomainSnapshot through the libvirt-python facade and pyvirsh's snapshot commands, on a
shut-off qemu:///embed domain (real qemu-img, no QEMU process)."""

from __future__ import annotations

import io
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from pyvirt import libvirt
from pyvirt.cli.snapshot_create import build_create_as_xml

pytestmark = pytest.mark.skipif(shutil.which("qemu-img") is None, reason="qemu-img not installed")

XML = """<domain type='qemu'>
  <name>fsnap</name>
  <uuid>{uuid}</uuid>
  <memory unit='MiB'>64</memory>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='{img}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
  </devices>
</domain>"""


@pytest.fixture
def domxml(tmp_path: Path) -> str:
    img = tmp_path / "vda.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(img), "4M"], check=True)
    return XML.format(uuid=uuid.uuid4(), img=img)


def test_facade_snapshot_api(tmp_path: Path, domxml: str) -> None:
    conn = libvirt.open(f"qemu:///embed?root={tmp_path / 'root'}")
    try:
        dom = conn.defineXML(domxml)
        assert dom.snapshotNum() == 0 and dom.hasCurrentSnapshot() == 0
        s1 = dom.snapshotCreateXML("<domainsnapshot><name>s1</name></domainsnapshot>")
        s2 = dom.snapshotCreateXML("<domainsnapshot><name>s2</name></domainsnapshot>")
        assert isinstance(s1, libvirt.virDomainSnapshot) and s1.getName() == "s1"
        assert dom.snapshotListNames() == ["s1", "s2"]
        assert [s.getName() for s in dom.listAllSnapshots(libvirt.VIR_DOMAIN_SNAPSHOT_LIST_ROOTS)] == ["s1"]
        assert s2.getParent().getName() == "s1" and s2.isCurrent() == 1 and s1.isCurrent() == 0
        assert s1.numChildren() == 1 and [c.getName() for c in s1.listAllChildren()] == ["s2"]
        assert s1.hasMetadata() == 1 and "<name>s1</name>" in s1.getXMLDesc()
        assert dom.snapshotCurrent().getName() == "s2"
        assert dom.revertToSnapshot(s1) == 0
        assert dom.snapshotCurrent().getName() == "s1"
        assert dom.state() == [libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_SHUTOFF_UNKNOWN]  # as libvirt 9.0
        with pytest.raises(libvirt.libvirtError) as e:
            dom.snapshotLookupByName("nope")
        assert e.value.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN_SNAPSHOT
        assert e.value.get_error_domain() == libvirt.VIR_FROM_QEMU  # libvirt's QEMU driver reports it
        with pytest.raises(libvirt.libvirtError) as e:
            s1.getParent()
        assert e.value.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN_SNAPSHOT
        assert s1.delete(libvirt.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN) == 0
        assert dom.snapshotNum() == 0
        dom.undefine()
    finally:
        conn.close()


def test_print_xml_like_virsh() -> None:
    # virsh snapshot-create-as test s3 --print-xml --diskspec vdz,snapshot=external,file=/tmp/x
    assert build_create_as_xml("s3", None, None, ["vdz,snapshot=external,file=/tmp/x"]) == (
        "<domainsnapshot>\n  <name>s3</name>\n  <disks>\n    <disk name='vdz' snapshot='external'>\n"
        "      <source file='/tmp/x'/>\n    </disk>\n  </disks>\n</domainsnapshot>\n")
    assert "<memory snapshot='external' file='/m,x'/>" in build_create_as_xml(
        None, "d", "file=/m,,x,snapshot=external", [])


def test_pyvirsh_snapshot_tree_and_messages(tmp_path: Path, domxml: str) -> None:
    from pyvirt.cli.ctl import Ctl
    from pyvirt.cli.main import run_line
    from pyvirt.cli.spec import split_commands

    (tmp_path / "d.xml").write_text(domxml)
    out, err = io.StringIO(), io.StringIO()
    ctl = Ctl(f"qemu:///embed?root={tmp_path / 'root'}", out=out, err=err)
    script = (f"define {tmp_path / 'd.xml'}; snapshot-create-as fsnap a; snapshot-create-as fsnap b; "
              "snapshot-create-as fsnap c; snapshot-revert fsnap a; snapshot-create-as fsnap d; "
              "snapshot-revert fsnap b; snapshot-create-as fsnap e; snapshot-list fsnap --tree")
    try:
        for cmd in split_commands(script):
            run_line(ctl, [cmd])
        text = out.getvalue()
        # the tree exactly as virsh 9.0 prints it for the same history (checked on test:///default)
        assert text.endswith("a\n  |\n  +- b\n  |   |\n  |   +- c\n  |   +- e\n  |     \n  +- d\n    \n\n")
        assert "Domain snapshot a created\nDomain snapshot b created\n" in text
        assert "Domain snapshot a reverted\n\n" in text
        out.truncate(0)
        out.seek(0)
        run_line(ctl, [["snapshot-revert", "fsnap", "nope"]])
        assert err.getvalue().endswith("error: Domain snapshot not found: no domain snapshot with matching name 'nope'\n")
        run_line(ctl, [["snapshot-info", "fsnap", "e"]])
        assert out.getvalue().endswith("Name:           e\nDomain:         fsnap\nCurrent:        yes\nState:          shutoff\n"
                                  "Location:       internal\nParent:         b\nChildren:       0\n"
                                  "Descendants:    0\nMetadata:       yes\n\n")
    finally:
        ctl.disconnect()


def test_pyvirsh_snapshot_edit(tmp_path: Path, domxml: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from pyvirt.cli.ctl import Ctl
    from pyvirt.cli.main import run_line

    (tmp_path / "d.xml").write_text(domxml)
    out, err = io.StringIO(), io.StringIO()
    ctl = Ctl(f"qemu:///embed?root={tmp_path / 'root'}", out=out, err=err)
    monkeypatch.setenv("EDITOR", "sed -i s/hello/bye/")
    monkeypatch.delenv("VISUAL", raising=False)
    try:
        run_line(ctl, [["define", str(tmp_path / "d.xml")]])
        run_line(ctl, [["snapshot-create-as", "fsnap", "s1", "--description", "hello"]])
        out.truncate(0)
        out.seek(0)
        run_line(ctl, [["snapshot-edit", "fsnap", "s1"]])
        run_line(ctl, [["snapshot-edit", "fsnap", "--current"]])
        # virsh 9.0 prints exactly these for the same edits (checked on test:///default)
        assert out.getvalue() == "Snapshot s1 edited.\n\nSnapshot s1 XML configuration not changed.\n\n"
        out.truncate(0)
        out.seek(0)
        run_line(ctl, [["snapshot-dumpxml", "fsnap", "s1"]])
        assert "<description>bye</description>" in out.getvalue()
        assert err.getvalue() == ""
    finally:
        ctl.disconnect()


async def test_aio_snapshot_methods(tmp_path: Path, domxml: str) -> None:
    from pyvirt import aio

    conn = await aio.open(f"qemu:///embed?root={tmp_path / 'root'}")
    try:
        dom = await conn.define_xml(domxml)
        s1 = await dom.snapshot_create_xml("<domainsnapshot><name>s1</name></domainsnapshot>")
        assert s1.name == "s1" and s1.dom.uuid == dom.uuid
        assert [s.name for s in await dom.list_all_snapshots()] == ["s1"]
        assert (await dom.snapshot_current()).name == "s1"
        assert "<name>s1</name>" in await dom.snapshot_xml_desc(await dom.snapshot_lookup_by_name("s1"))
        await dom.revert_to_snapshot(s1)
        await dom.snapshot_delete(s1)
        assert await dom.list_all_snapshots() == []
    finally:
        await conn.close()
