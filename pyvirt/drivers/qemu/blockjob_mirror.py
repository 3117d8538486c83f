"""The ``<mirror>`` a disk shows in the live XML while a copy or an active commit runs.

libvirt 9.0 (checked with virsh dumpxml against libvirtd) adds, after the disk's chain::

    <mirror type='file' file='DEST' format='FMT' job='copy' ready='yes'>   (copy)
      <format type='FMT'/>
      <source file='DEST' index='N'/>        N: the domain's next free source index
    </mirror>
    <mirror type='file' job='active-commit' ready='yes'>                   (active commit)
      <format type='FMT'/>
      <source file='BASE' index='I'/>        I: the base's index in the chain
    </mirror>

``ready='yes'`` once QEMU said BLOCK_JOB_READY. The element is added when the live XML is
handed out (dumpxml), from the jobs the driver knows - also the ones re-adopted after a
restart (:mod:`.blockjob_adopt` keeps the mirror target) - so starting and ending a job
costs no extra status write.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyvirt.drivers.qemu.backingchain import disk_indexes
from pyvirt.enums import BlockJobType

if TYPE_CHECKING:
    from pyvirt.conf.domain import DiskDef
    from pyvirt.drivers.qemu.blockjob import BlockJobs, JobState
    from pyvirt.drivers.qemu.domainobj import DomainObj

_MIRRORING = (BlockJobType.COPY, BlockJobType.ACTIVE_COMMIT)


def _q(value: str) -> str:
    return "'" + value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace(
        "'", "&apos;").replace('"', "&quot;") + "'"


def mirror_lines(job: JobState, disk: DiskDef, next_index: int, indent: str) -> list[str]:
    dest = job.copy_dest
    assert dest is not None
    ready = " ready='yes'" if job.ready else ""
    if job.type is BlockJobType.COPY:
        head = f"<mirror type='file' file={_q(dest.path)} format={_q(dest.format)} job='copy'{ready}>"
        index = next_index
    else:
        head = f"<mirror type='file' job='active-commit'{ready}>"
        index = disk_indexes(disk).get(dest.path, next_index)
    return [indent + head, f"{indent}  <format type={_q(dest.format)}/>",
            f"{indent}  <source file={_q(dest.path)} index='{index}'/>", indent + "</mirror>"]


def live_xml_with_mirrors(bj: BlockJobs, obj: DomainObj) -> str:
    """``obj``'s live XML with a ``<mirror>`` in each disk a copy or active commit runs on."""
    text = obj.live_xml or ""
    jobs = [j for (name, _dev), j in bj._jobs.items()
            if name == obj.name and j.type in _MIRRORING and j.copy_dest is not None and not j.concluding]
    if not jobs or not text:
        return text
    from pyvirt.drivers.qemu.blockjob import find_disk
    from pyvirt.errors import VirtError

    model = bj.live_model(obj)
    used = [i for d in model.devices.disks for i in disk_indexes(d).values()]
    next_index = max(used, default=0) + 1
    lines = text.split("\n")
    for job in jobs:
        try:
            disk = find_disk(model, job.disk)
        except VirtError:
            continue
        marker = f"<target dev={_q(job.disk)}"
        at = next((i for i, line in enumerate(lines) if line.lstrip().startswith(marker)), None)
        if at is None:
            continue
        indent = lines[at][: len(lines[at]) - len(lines[at].lstrip())]
        lines[at:at] = mirror_lines(job, disk, next_index, indent)
    return "\n".join(lines)
