"""Live ``<source index='N'>`` numbering of a starting domain's disks, as libvirtd 9.0 shows
it (each case below was read from the real libvirtd's live XML here): disk tops from the last
disk up, then backing images from the last disk up."""

from __future__ import annotations

from typing import Any

import pytest

from pyvirt.conf.domain import format_domain, parse_domain
from pyvirt.drivers.qemu.backingchain import ChainLayer, start_indexes
from pyvirt.drivers.qemu.blockjob import BlockJobs


def _chain(*names: str) -> list[ChainLayer]:
    return [ChainLayer(f"/i/{n}", "qcow2") for n in names]


@pytest.mark.parametrize(("chains", "want"), [
    # vda top+base, vdb raw, vdc raw  -> libvirtd: vda 3 (base 4), vdb 2, vdc 1
    ([_chain("top", "base"), _chain("b"), _chain("c")], [[3, 4], [2], [1]]),
    # vda raw, vdb top+base, hdc empty CD-ROM  -> vda 3, vdb 2 (base 4), hdc takes 1
    ([_chain("b"), _chain("top", "base"), []], [[3], [2, 4], []]),
    # vda top+base, vdb top3+top2+base  -> vda 2 (base 5), vdb 1 (3, 4)
    ([_chain("top", "base"), _chain("top3", "top2", "base")], [[2, 5], [1, 3, 4]]),
    ([_chain("only")], [[1]]),
    ([], []),
])
def test_start_indexes_like_libvirtd(chains: list[list[ChainLayer]], want: list[list[int]]) -> None:
    assert start_indexes(chains) == want


LIVE = """<domain type='qemu' id='1'>
  <name>d</name>
  <uuid>6b3f1a52-3b9e-4a37-9d35-4f1ad3e2b7a1</uuid>
  <memory unit='KiB'>131072</memory>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/i/top.qcow2'/>
      <target dev='vda' bus='virtio'/>
      <alias name='virtio-disk0'/>
    </disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='/i/b.raw'/>
      <target dev='vdb' bus='virtio'/>
      <alias name='virtio-disk1'/>
    </disk>
  </devices>
</domain>
"""


class _Mon:
    """Answers query-block as QEMU 7.2 does for the two disks above (and no node names)."""

    generation = 0

    async def execute(self, cmd: str, args: dict[str, Any] | None = None) -> Any:
        if cmd == "query-named-block-nodes":
            return []
        assert cmd == "query-block"
        return [
            {"qdev": "/machine/peripheral/virtio-disk0/virtio-backend", "inserted": {"image": {
                "filename": "/i/top.qcow2", "format": "qcow2",
                "backing-image": {"filename": "/i/base.qcow2", "format": "qcow2"}}}},
            {"qdev": "/machine/peripheral/virtio-disk1/virtio-backend", "inserted": {"image": {
                "filename": "/i/b.raw", "format": "raw"}}},
        ]


class _Jobs:
    _block_entry = staticmethod(BlockJobs._block_entry)
    _pipelined = BlockJobs._pipelined

    def __init__(self) -> None:
        self._nodes: dict[Any, Any] = {}


async def test_two_disk_guest_numbers_from_the_last_disk() -> None:
    m = parse_domain(LIVE)
    await BlockJobs.chains_into_model(_Jobs(), m, _Mon())  # type: ignore[arg-type]
    out = str(format_domain(m))
    # libvirtd for this guest: vda's top 2 and its base 3, vdb 1
    assert "<source file='/i/top.qcow2' index='2'/>" in out
    assert "<backingStore type='file' index='3'>" in out
    assert "<source file='/i/b.raw' index='1'/>" in out
