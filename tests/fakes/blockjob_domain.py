"""The domain the block-job unit tests drive over the fake QMP server: a one-disk live XML
(``ONE_DISK_LIVE.format(top=PATH)``), the bits of DomainObj, Lifecycle and DomainRuntime the
block job code touches, a chain model the fake server answers query-block from, and the
event hand-over the domain worker does."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from pyvirt.drivers.base import DomainRef

if TYPE_CHECKING:
    from pyvirt.drivers.qemu.blockjob import BlockJobs
    from pyvirt.drivers.qemu.monitor import QMPEvent, QMPMonitor

ONE_DISK_LIVE = """<domain type='qemu' id='1'>
  <name>d</name>
  <uuid>6b3f1a52-3b9e-4a37-9d35-4f1ad3e2b7a1</uuid>
  <memory unit='KiB'>131072</memory>
  <os>
    <type arch='x86_64' machine='pc-q35-7.2'>hvm</type>
  </os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='{top}'/>
      <target dev='vda' bus='virtio'/>
      <alias name='virtio-disk0'/>
    </disk>
  </devices>
</domain>
"""


@dataclass
class DomainStub:
    """The bits of DomainObj the block job code touches."""

    live_xml: str
    name: str = "d"
    id: int = 1  # the run dir's domain-ID-NAME (blockjob_adopt's records)
    uuid: bytes = b"\x01" * 16
    persistent: bool = False
    config_xml: str | None = None
    next_xml: str | None = None
    runtime: Any = None  # set by the fixtures: refresh_chains reads obj.runtime.monitor

    def ref(self) -> DomainRef:
        return DomainRef(self.name, self.uuid, 1)


@dataclass
class Rt:
    """DomainRuntime: its monitor."""

    monitor: QMPMonitor


@dataclass
class Paths:
    run_dir: Path = Path("/nonexistent")  # no domain dir: blockjob_adopt keeps no records


@dataclass
class Lc:
    """Lifecycle: the one domain's runtime, and the run dir."""

    rt: Rt
    paths: Paths = field(default_factory=Paths)

    async def runtime(self, obj: Any) -> Rt:
        return self.rt


@dataclass
class ChainQemu:
    """A chain model behind the fake server (top first): query-block follows what the jobs
    did; the top is the -blockdev node ``libvirt-1-format``. Subclasses answer
    query-named-block-nodes (``nodes``) in their own naming."""

    chain: list[str]

    def image(self, i: int = 0) -> dict[str, Any]:
        img: dict[str, Any] = {"filename": self.chain[i], "format": "qcow2"}
        if i + 1 < len(self.chain):
            img["backing-image"] = self.image(i + 1)
        return img

    def top_node(self) -> str:
        return "libvirt-1-format"

    def query_block(self, _a: dict[str, Any]) -> dict[str, Any]:
        return {"return": [{"device": "", "qdev": "/machine/peripheral/virtio-disk0/virtio-backend",
                            "inserted": {"node-name": self.top_node(), "image": self.image()}}]}


async def deliver(jobs: BlockJobs, obj: Any, q: asyncio.Queue[QMPEvent], name: str) -> None:
    """Hand QEMU's events to the handler (the domain worker's job) up to ``name``."""
    while True:
        ev = await asyncio.wait_for(q.get(), 5)
        await jobs.on_event(cast(Any, obj), cast(Any, jobs.lc).rt, ev)
        if ev.name == name:
            return
