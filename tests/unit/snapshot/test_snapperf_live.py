"""The live external disk switch (snapshot_live.switch_external) against the scripted fake
QMP server, with the driver's real domain store and snapshot metadata files on disk:
what QEMU is asked, which files change (all of them after a successful transaction, none
after a failed one), that they replace the old ones only after QEMU's reply, each
definition/metadata file fsynced before, and the live XML's chain (the overlay numbered
next, known images keeping their index, as libvirtd 9.0 numbers them)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fakes.qmp_server import FakeQMPServer
from lxml import etree

from pyvirt.conf.snapshot import DomainSnapshotDef, SnapshotDiskDef, SnapshotLocation, SnapshotState
from pyvirt.drivers.qemu.domainobj import DomainDefinition, DomainObj, DomainStore
from pyvirt.drivers.qemu.monitor import QMPMonitor
from pyvirt.drivers.qemu.paths import QemuPaths
from pyvirt.drivers.qemu.snapshot_disks import BlockTop, DiskInfo
from pyvirt.drivers.qemu.snapshot_live import switch_external
from pyvirt.drivers.qemu.snapshot_meta import SnapshotTree, TreeCache
from pyvirt.drivers.qemu.status import StatusDoc
from pyvirt.enums import DomainState
from pyvirt.errors import ErrorCode, VirtError

UUID = "6b3f1a52-3b9e-4a37-9d35-4f1ad3e2b7a1"

CONFIG = """<domain type='qemu'>
  <name>d</name>
  <uuid>{uuid}</uuid>
  <memory unit='KiB'>131072</memory>
  <os>
    <type arch='x86_64' machine='pc-q35-7.2'>hvm</type>
  </os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='{top}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
  </devices>
</domain>
"""

# the live XML of a guest started on top <- base: libvirt's start numbering (top 1, base 2)
LIVE = """<domain type='qemu' id='1'>
  <name>d</name>
  <uuid>{uuid}</uuid>
  <memory unit='KiB'>131072</memory>
  <os>
    <type arch='x86_64' machine='pc-q35-7.2'>hvm</type>
  </os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='{top}' index='1'/>
      <backingStore type='file' index='2'>
        <format type='qcow2'/>
        <source file='{base}'/>
        <backingStore/>
      </backingStore>
      <target dev='vda' bus='virtio'/>
      <alias name='virtio-disk0'/>
    </disk>
  </devices>
</domain>
"""


@dataclass
class Env:
    tmp: Path
    srv: FakeQMPServer
    mon: QMPMonitor
    store: DomainStore
    obj: DomainObj
    tree: SnapshotTree
    cache: TreeCache
    top: str
    base: str

    def files(self) -> dict[str, bytes]:
        """Every file under the state dirs (temporary ones included), by relative path."""
        return {str(p.relative_to(self.tmp)): p.read_bytes() for p in sorted(self.tmp.rglob("*"))
                if p.is_file() and p.suffix != ".sock" and "images" not in p.parts}

    def snap(self, name: str, overlay: str) -> DomainSnapshotDef:
        d = DomainSnapshotDef(name=name, state=SnapshotState.DISK_SNAPSHOT, creation_time=1_700_000_000,
                              parent=self.tree.current, memory=SnapshotLocation.NO, has_disks=True)
        sd = SnapshotDiskDef("vda", SnapshotLocation.EXTERNAL, type="file", driver_type="qcow2")
        sd.set_source(overlay)
        d.disks = [sd]
        d.set_domain_xml(self.obj.live_xml, self.obj.config_xml)
        return d

    def pair(self, d: DomainSnapshotDef) -> list[tuple[DiskInfo, SnapshotDiskDef]]:
        return [(DiskInfo("vda", self.top, "qcow2", "file", "disk", "virtio-disk0", False, None), d.disks[0])]

    def tops(self) -> dict[str, BlockTop]:
        image = {"filename": self.top, "format": "qcow2", "backing-image": {"filename": self.base, "format": "qcow2"}}
        return {"virtio-disk0": BlockTop("libvirt-1-format", image)}


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    paths = QemuPaths("qemu:///embed", tmp_path / "etc", tmp_path / "run", tmp_path / "lib", tmp_path / "cache",
                      tmp_path / "log")
    paths.ensure()
    images = tmp_path / "images"
    images.mkdir()
    top, base = str(images / "top.qcow2"), str(images / "base.qcow2")
    store = DomainStore(paths)
    obj = store.new_obj("d", uuid.UUID(UUID).bytes)
    obj.set_definition(DomainDefinition.parse(CONFIG.format(uuid=UUID, top=top)))
    obj.persistent = True
    obj.live_xml = LIVE.format(uuid=UUID, top=top, base=base)
    obj.id, obj.state, obj.pid = 1, DomainState.RUNNING, 4242
    store.save_config(obj)
    store.save_status(obj)
    cache = TreeCache()
    tree = SnapshotTree.load(paths.lib_dir / "snapshot" / "d", UUID, cache)
    srv = await FakeQMPServer(str(tmp_path / "m.sock")).start()
    mon = await QMPMonitor.connect_path(srv.path)
    e = Env(tmp_path, srv, mon, store, obj, tree, cache, top, base)
    # an existing current snapshot, written the ordinary way
    first = e.snap("s0", str(images / "s0-never-used.qcow2"))
    tree.snaps["s0"] = first
    tree.set_current("s0")
    yield e
    await mon.close()
    await srv.stop()


def disk_chain(xml: str) -> list[tuple[str | None, str | None]]:
    """(source file, index) from the top of vda's chain down."""
    disk = etree.fromstring(xml.encode()).find("devices/disk")
    assert disk is not None
    src = disk.find("source")
    assert src is not None
    out = [(src.get("file"), src.get("index"))]
    bs = disk.find("backingStore")
    while bs is not None and bs.find("source") is not None:
        s = bs.find("source")
        assert s is not None
        out.append((s.get("file"), bs.get("index")))
        bs = bs.find("backingStore")
    return out


async def test_switch_writes_every_file_after_the_transaction(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    overlay = str(env.tmp / "images" / "s1.qcow2")
    d = env.snap("s1", overlay)
    visible_at_transaction: dict[str, bytes] = {}
    order: list[tuple[str, str]] = []  # ("fsync", inode) / ("replace", inode of the source) / ("transaction", "")
    replaced_to: dict[str, str] = {}  # inode of the source -> where it went
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        order.append(("fsync", str(os.fstat(fd).st_ino)))
        real_fsync(fd)

    def replace(src: Any, dst: Any) -> None:
        ino = str(os.stat(src).st_ino)
        order.append(("replace", ino))
        replaced_to[ino] = str(Path(dst).relative_to(env.tmp))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)

    def transaction(args: dict[str, Any]) -> dict[str, Any]:
        visible_at_transaction.update((p, b) for p, b in env.files().items() if not p.endswith(".tmp"))
        order.append(("transaction", ""))
        return {"return": {}}

    env.srv.handlers["transaction"] = transaction
    before = env.files()
    await switch_external(env.store, env.obj, env.mon, env.tops(), env.pair(d), reuse=False, meta=(env.tree, d))

    # QEMU: exactly one command, the transaction on the disk's top node
    assert env.srv.commands() == ["qmp_capabilities", "transaction"]
    action = env.srv.calls[1][1]["actions"][0]
    assert action["type"] == "blockdev-snapshot-sync"
    assert action["data"]["node-name"] == "libvirt-1-format"
    assert action["data"]["snapshot-file"] == overlay
    assert action["data"]["mode"] == "absolute-paths"
    # nothing changed where readers look while QEMU had the transaction ...
    assert visible_at_transaction == before
    # ... the four files replaced the old ones after its reply, each definition and
    # metadata file fsynced before (the status document is not fsynced, as save_status)
    fsynced = {ino for what, ino in order if what == "fsync"}
    replaced = [ino for what, ino in order if what == "replace"]
    assert len(replaced) == 4 and len(fsynced) == 3
    assert {replaced_to[i] for i in replaced if i not in fsynced} == {"run/d.xml"}
    first = min(order.index(("replace", i)) for i in replaced)
    assert first > order.index(("transaction", ""))
    assert first > max(i for i, (w, _) in enumerate(order) if w == "fsync")

    after = env.files()
    assert not [p for p in after if p.endswith(".tmp")]
    changed = {p for p in after if before.get(p) != after[p]}
    assert changed == {"run/d.xml", "etc/d.xml", "lib/snapshot/d/s0.xml", "lib/snapshot/d/s1.xml"}

    # live XML (in memory and in the status file): overlay on top, numbered next, the
    # known images keep their indexes (libvirtd 9.0: 3 / 1 / 2)
    want = [(overlay, "3"), (env.top, "1"), (env.base, "2")]
    assert disk_chain(env.obj.live_xml or "") == want
    assert disk_chain(StatusDoc.parse(after["run/d.xml"].decode()).live_xml) == want
    # the persistent definition names the overlay alone, in memory and on disk
    cfg = after["etc/d.xml"].decode()
    assert disk_chain(cfg) == [(overlay, None)]
    assert env.obj.config_xml == cfg
    assert env.obj.definition.format() == cfg
    # metadata: s1 current, s0 no longer; both files as format() writes them
    tree = SnapshotTree.load(env.tree.dir, UUID)  # no cache: what a restarted driver reads
    assert tree.current == "s1" and list(tree.snaps) == ["s0", "s1"]
    assert after["lib/snapshot/d/s0.xml"].decode() == tree.snaps["s0"].format(internal=True, current=False)
    assert after["lib/snapshot/d/s1.xml"].decode() == tree.snaps["s1"].format(internal=True, current=True)
    assert tree.snaps["s1"].parent == "s0"


async def test_failed_transaction_changes_no_file(env: Env) -> None:
    overlay = env.tmp / "images" / "s1.qcow2"
    d = env.snap("s1", str(overlay))

    def transaction(args: dict[str, Any]) -> dict[str, Any]:
        overlay.write_bytes(b"QFI\xfb")  # QEMU created the overlay before the action failed
        return {"error": {"class": "GenericError", "desc": "Could not open backing file"}}

    env.srv.handlers["transaction"] = transaction
    before = env.files()
    live, cfg = env.obj.live_xml, env.obj.config_xml
    with pytest.raises(VirtError) as ei:
        await switch_external(env.store, env.obj, env.mon, env.tops(), env.pair(d), reuse=False, meta=(env.tree, d))
    assert ei.value.code == ErrorCode.INTERNAL_ERROR
    assert "Could not open backing file" in str(ei.value)
    assert env.files() == before  # nothing renamed, no temporary file left
    assert not overlay.exists()
    assert (env.obj.live_xml, env.obj.config_xml) == (live, cfg)
    assert env.obj.definition.format() == cfg
    assert SnapshotTree.load(env.tree.dir, UUID).current == "s0"


async def test_reuse_keeps_the_callers_overlay_on_failure(env: Env) -> None:
    overlay = env.tmp / "images" / "mine.qcow2"
    overlay.write_bytes(b"precreated")
    d = env.snap("s1", str(overlay))
    env.srv.handlers["transaction"] = {"error": {"class": "GenericError", "desc": "nope"}}
    with pytest.raises(VirtError):
        await switch_external(env.store, env.obj, env.mon, env.tops(), env.pair(d), reuse=True, meta=(env.tree, d))
    assert overlay.read_bytes() == b"precreated"
    assert env.srv.calls[1][1]["actions"][0]["data"]["mode"] == "existing"


async def test_transient_domain_no_metadata(env: Env) -> None:
    """A transient guest has no definition file; --no-metadata writes no snapshot file."""
    env.store.remove_config(env.obj)
    env.obj.persistent = False
    overlay = str(env.tmp / "images" / "s1.qcow2")
    d = env.snap("s1", overlay)
    env.srv.handlers["transaction"] = {"return": {}}
    before = env.files()
    await switch_external(env.store, env.obj, env.mon, env.tops(), env.pair(d), reuse=False, meta=None)
    after = env.files()
    assert {p for p in after if before.get(p) != after[p]} == {"run/d.xml"}
    assert disk_chain(env.obj.live_xml or "")[0] == (overlay, "3")


async def test_unwritable_file_after_the_switch(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """QEMU switched but a file cannot be written (disk full): no half-written file is
    published, the object follows QEMU, and the caller hears about it."""
    import errno

    from pyvirt.drivers.qemu.snapshot_meta import StagedFiles

    real = StagedFiles._write

    def write(tmp: Path, data: bytes, durable: bool) -> None:
        if tmp.name.startswith(".s1.xml"):
            tmp.write_bytes(data[:10])  # what a full disk leaves behind
            raise OSError(errno.ENOSPC, "No space left on device")
        real(tmp, data, durable)

    monkeypatch.setattr(StagedFiles, "_write", staticmethod(write))
    overlay = str(env.tmp / "images" / "s1.qcow2")
    d = env.snap("s1", overlay)
    env.srv.handlers["transaction"] = {"return": {}}
    before = env.files()
    with pytest.raises(VirtError) as ei:
        await switch_external(env.store, env.obj, env.mon, env.tops(), env.pair(d), reuse=False, meta=(env.tree, d))
    assert ei.value.code == ErrorCode.OPERATION_FAILED
    assert "No space left on device" in str(ei.value)
    assert env.files() == before
    assert disk_chain(env.obj.live_xml or "")[0] == (overlay, "3")
