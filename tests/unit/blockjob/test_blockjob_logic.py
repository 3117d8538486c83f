"""Pure parts of the block job code: chain lookups and libvirt's checks, job ids, the live
XML chain (libvirt's layout and index numbering), the save image header."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes.blockjob_domain import ONE_DISK_LIVE

from pyvirt.conf.domain import parse_domain
from pyvirt.drivers.qemu import blockjob as bj
from pyvirt.drivers.qemu.backingchain import (
    ChainLayer,
    chain_from_image_info,
    chain_of,
    live_xml_with_chains,
)
from pyvirt.drivers.qemu.save import MAGIC, SaveHeader, read_header
from pyvirt.enums import BlockJobType
from pyvirt.errors import ErrorCode, VirtError

CHAIN = [ChainLayer(f"/i/{n}.qcow2", "qcow2") for n in ("sn3", "sn2", "sn1", "base")]

LIVE = ONE_DISK_LIVE.format(top="/i/sn3.qcow2")


def test_job_ids_round_trip_kind_and_disk() -> None:
    for kind in (BlockJobType.PULL, BlockJobType.COPY, BlockJobType.COMMIT, BlockJobType.ACTIVE_COMMIT):
        assert bj.parse_job_id(bj.job_id(kind, "vda")) == (kind, "vda")
    assert bj.parse_job_id("active-commit-sda") == (BlockJobType.ACTIVE_COMMIT, "sda")
    assert bj.parse_job_id("backup-vda") is None


@pytest.mark.parametrize(("base", "top", "flags", "want"), [
    (None, None, bj.COMMIT_ACTIVE, (0, 3)),                  # active layer into the bottom
    ("/i/sn1.qcow2", "/i/sn2.qcow2", 0, (1, 2)),             # the seed's --base sn1 --top sn2
    ("/i/base.qcow2", "/i/sn2.qcow2", 0, (1, 3)),
    (None, "/i/sn2.qcow2", bj.COMMIT_SHALLOW, (1, 2)),       # --shallow: top's own backing
    ("/i/sn2.qcow2", None, bj.COMMIT_ACTIVE, (0, 1)),
])
def test_commit_layers(base: str | None, top: str | None, flags: int, want: tuple[int, int]) -> None:
    assert bj.commit_layers(CHAIN, "vda", base, top, flags) == want


@pytest.mark.parametrize(("base", "top", "flags", "msg"), [
    ("/nowhere.qcow2", None, bj.COMMIT_ACTIVE,
     "invalid argument: could not find image '/nowhere.qcow2' beneath '/i/sn3.qcow2' in chain for 'vda'"),
    (None, None, 0, "invalid argument: commit of 'vda' active layer requires active flag"),
    (None, "/i/nowhere.qcow2", 0, "invalid argument: could not find image '/i/nowhere.qcow2' in chain for 'vda'"),
    ("/i/sn3.qcow2", "/i/sn2.qcow2", 0,  # a base above the top is not beneath it
     "invalid argument: could not find image '/i/sn3.qcow2' beneath '/i/sn2.qcow2' in chain for 'vda'"),
    (None, "/i/base.qcow2", 0, "invalid argument: top '/i/base.qcow2' in chain for 'vda' has no backing file"),
])
def test_commit_layers_refuses_like_libvirt(base: str | None, top: str | None, flags: int, msg: str) -> None:
    with pytest.raises(VirtError) as ei:
        bj.commit_layers(CHAIN, "vda", base, top, flags)
    assert ei.value.code == ErrorCode.INVALID_ARG
    assert ei.value.message == msg


def test_find_disk_by_target_or_path_and_missing() -> None:
    m = parse_domain(LIVE)
    assert bj.find_disk(m, "vda").target.dev == "vda"
    assert bj.find_disk(m, "/i/sn3.qcow2").target.dev == "vda"
    with pytest.raises(VirtError) as ei:
        bj.find_disk(m, "vdz")
    assert (ei.value.code, ei.value.message) == (ErrorCode.INVALID_ARG, "invalid argument: disk 'vdz' not found in domain")


def test_bandwidth_units() -> None:
    assert bj.bandwidth_bytes(3, False) == 3 << 20
    assert bj.bandwidth_bytes(3, True) == 3
    with pytest.raises(VirtError):
        bj.bandwidth_bytes(-1, False)


def test_chain_from_query_block_image() -> None:
    image = {"filename": "/i/sn3.qcow2", "format": "qcow2", "backing-image": {
        "filename": "/i/sn2.qcow2", "format": "qcow2", "backing-image": {"filename": "/i/base.raw", "format": "raw"}}}
    assert chain_from_image_info(image) == [ChainLayer("/i/sn3.qcow2", "qcow2"), ChainLayer("/i/sn2.qcow2", "qcow2"),
                                            ChainLayer("/i/base.raw", "raw")]


def test_live_xml_chain_layout_and_indexes_like_libvirt() -> None:
    xml = live_xml_with_chains(LIVE, {"vda": CHAIN})
    # libvirt 9 numbers a chain from the top down and ends it with an empty <backingStore/>
    assert """      <source file='/i/sn3.qcow2' index='1'/>
      <backingStore type='file' index='2'>
        <format type='qcow2'/>
        <source file='/i/sn2.qcow2'/>
        <backingStore type='file' index='3'>
          <format type='qcow2'/>
          <source file='/i/sn1.qcow2'/>
          <backingStore type='file' index='4'>
            <format type='qcow2'/>
            <source file='/i/base.qcow2'/>
            <backingStore/>
          </backingStore>
        </backingStore>
      </backingStore>
      <target dev='vda' bus='virtio'/>""" in xml
    assert chain_of(parse_domain(xml).devices.disks[0]) == CHAIN
    # after an active commit pivots onto sn2, every image keeps its index (as libvirt does)
    after = live_xml_with_chains(xml, {"vda": CHAIN[1:]})
    assert "<source file='/i/sn2.qcow2' index='2'/>" in after
    assert "<backingStore type='file' index='3'>" in after and "sn3" not in after
    # a new image (block copy destination) gets the next free index
    copied = live_xml_with_chains(after, {"vda": [ChainLayer("/i/copy.qcow2", "qcow2")]})
    assert "<source file='/i/copy.qcow2' index='5'/>" in copied
    assert "      <backingStore/>\n      <target dev='vda'" in copied


def test_save_header_round_trip_and_bad_magic(tmp_path: Path) -> None:
    p = tmp_path / "img.save"
    p.write_bytes(SaveHeader("<domain/>", True).encode() + b"QEMU-STREAM")
    hdr, off = read_header(str(p))
    assert hdr == SaveHeader("<domain/>", True)
    assert p.read_bytes()[off:] == b"QEMU-STREAM"
    p.write_bytes(b"x" * len(MAGIC) + b"{}\n")
    with pytest.raises(VirtError) as ei:
        read_header(str(p))
    assert ei.value.code == ErrorCode.OPERATION_FAILED
    with pytest.raises(VirtError) as ei:
        read_header(str(tmp_path / "missing"))
    assert ei.value.code == ErrorCode.SYSTEM_ERROR
