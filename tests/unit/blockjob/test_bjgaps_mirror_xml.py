"""The <mirror> element added to the live XML for running copies and active commits
(blockjob_mirror.py): placement, attributes, indexes, readiness, escaping, and nothing for
other jobs or other domains. The layout is libvirt 9.0's (tests/e2e/test_bjgaps_mirror.py
compares it with libvirtd)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from pyvirt.drivers.base import EventBus
from pyvirt.drivers.qemu.backingchain import ChainLayer
from pyvirt.drivers.qemu.blockjob import BlockJobs, JobState
from pyvirt.drivers.qemu.blockjob_mirror import live_xml_with_mirrors
from pyvirt.enums import BlockJobType

LIVE = """<domain type='qemu' id='1'>
  <name>d</name>
  <uuid>6b3f1a52-3b9e-4a37-9d35-4f1ad3e2b7a1</uuid>
  <memory unit='KiB'>131072</memory>
  <os>
    <type arch='x86_64' machine='pc-q35-7.2'>hvm</type>
  </os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/i/act.qcow2' index='2'/>
      <backingStore type='file' index='3'>
        <format type='qcow2'/>
        <source file='/i/mid.qcow2'/>
        <backingStore/>
      </backingStore>
      <target dev='vda' bus='virtio'/>
      <alias name='virtio-disk0'/>
    </disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/i/vdb.qcow2' index='1'/>
      <backingStore/>
      <target dev='vdb' bus='virtio'/>
      <alias name='virtio-disk1'/>
    </disk>
  </devices>
</domain>
"""


@dataclass
class Obj:
    live_xml: str
    name: str = "d"


def jobs_with(*jobs: tuple[str, JobState]) -> BlockJobs:
    bj = BlockJobs(cast(Any, None), cast(Any, None), EventBus())
    for name, job in jobs:
        bj._jobs[(name, job.disk)] = job
    return bj


def test_no_mirroring_job_leaves_the_xml_alone() -> None:
    obj = Obj(LIVE)
    pull = JobState("pull-vda", "vda", BlockJobType.PULL, "/i/act.qcow2")
    assert live_xml_with_mirrors(jobs_with(("d", pull)), cast(Any, obj)) is obj.live_xml
    other = JobState("copy-vda", "vda", BlockJobType.COPY, "/x", copy_dest=ChainLayer("/c.qcow2", "qcow2"))
    assert live_xml_with_mirrors(jobs_with(("other", other)), cast(Any, obj)) == LIVE


def test_active_commit_mirror_names_the_base_with_its_index() -> None:
    job = JobState("active-commit-vda", "vda", BlockJobType.ACTIVE_COMMIT, "/i/act.qcow2",
                   copy_dest=ChainLayer("/i/mid.qcow2", "qcow2"))
    out = live_xml_with_mirrors(jobs_with(("d", job)), cast(Any, Obj(LIVE)))
    assert out == LIVE.replace("      <target dev='vda'", """      <mirror type='file' job='active-commit'>
        <format type='qcow2'/>
        <source file='/i/mid.qcow2' index='3'/>
      </mirror>
      <target dev='vda'""")
    job.ready = True
    assert "<mirror type='file' job='active-commit' ready='yes'>" in live_xml_with_mirrors(
        jobs_with(("d", job)), cast(Any, Obj(LIVE)))
    job.concluding = True  # on its way out: the XML no longer shows it
    assert live_xml_with_mirrors(jobs_with(("d", job)), cast(Any, Obj(LIVE))) == LIVE


def test_copy_mirror_takes_the_next_free_index_and_escapes() -> None:
    job = JobState("copy-vdb", "vdb", BlockJobType.COPY, "/i/vdb.qcow2", ready=True,
                   copy_dest=ChainLayer("/i/o'k&.raw", "raw"))
    out = live_xml_with_mirrors(jobs_with(("d", job)), cast(Any, Obj(LIVE)))
    assert out == LIVE.replace("      <target dev='vdb'", """      <mirror type='file' file='/i/o&apos;k&amp;.raw' format='raw' job='copy' ready='yes'>
        <format type='raw'/>
        <source file='/i/o&apos;k&amp;.raw' index='4'/>
      </mirror>
      <target dev='vdb'""")
