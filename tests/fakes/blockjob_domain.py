"""The domain the block-job unit tests drive over the fake QMP server: a one-disk live XML
(``ONE_DISK_LIVE.format(top=PATH)``) and the bits of DomainObj the block job code touches."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyvirt.drivers.base import DomainRef

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
