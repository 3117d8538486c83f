"""Block jobs across a driver restart: what QEMU cannot tell a new daemon, and re-adoption.

QEMU keeps running a block job when the daemon that started it goes away; a restarted
daemon sees it in ``query-block-jobs`` and our job ids (``commit-vda``...) say its kind and
disk. Two things are not in QEMU's view and are kept in a small record in the domain's
private run dir (``domain-ID-NAME/blockjobs.json``, removed with that dir at stop):

- the images a ``--delete`` commit removes once it completed;
- the node name of a copy's target (a second copy after a pivot gets a numbered one), which
  must be deleted if the copy is cancelled;
- a copy's destination and an active commit's base: the ``<mirror>`` of the live XML
  (:mod:`.blockjob_mirror`).

Only jobs with such facts write a record (a pull or a plain commit does not).
The write is a plain rename without fsync: a host crash ends QEMU and its jobs too.

At (re)attach :func:`adopt_all` registers every job QEMU runs for the domain, with its
ready state, and concludes the ones that ended while nobody listened (their events went
to no one): the live XML chain is refreshed, deleted images go, and the BLOCK_JOB /
BLOCK_JOB_2 events reach the clients of the new daemon, as libvirt does on reconnect
(status XML + query-block-jobs).
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyvirt.drivers.qemu.backingchain import ChainLayer
from pyvirt.enums import BlockJobStatus, BlockJobType

if TYPE_CHECKING:
    from pyvirt.drivers.qemu.blockjob import BlockJobs, JobState
    from pyvirt.drivers.qemu.domainobj import DomainObj
    from pyvirt.drivers.qemu.monitor import QMPMonitor

RECORD = "blockjobs.json"


@dataclass(slots=True)
class JobRecord:
    """The part of a :class:`JobState` QEMU does not report."""

    jid: str
    disk: str
    type: int
    path: str
    delete: list[str] = field(default_factory=list)
    copy_node: str | None = None
    copy_dest: str | None = None
    copy_format: str | None = None

    @classmethod
    def of(cls, job: JobState) -> JobRecord:
        dest = job.copy_dest
        return cls(job.jid, job.disk, int(job.type), job.path, list(job.delete), job.copy_node,
                   dest.path if dest else None, dest.format if dest else None)

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> JobRecord:
        return cls(str(raw["jid"]), str(raw["disk"]), int(raw["type"]), str(raw["path"]),
                   [str(p) for p in raw.get("delete") or []], raw.get("copy_node"),
                   raw.get("copy_dest"), raw.get("copy_format"))

    def needed(self) -> bool:
        """Whether this job has anything a restarted driver could not rebuild."""
        return bool(self.delete) or self.copy_node is not None or self.copy_dest is not None


def record_path(bj: BlockJobs, obj: DomainObj) -> Path:
    from pyvirt.drivers.qemu.domainobj import domain_dir

    return domain_dir(bj.lc.paths.run_dir, obj.id, obj.name) / RECORD


def load_records(path: Path) -> dict[str, JobRecord]:
    """disk -> record; a missing or unreadable file is no records (adoption then falls
    back to what QEMU reports)."""
    try:
        raw = json.loads(path.read_text())
        return {r.disk: r for r in (JobRecord.parse(x) for x in raw)}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def _write(path: Path, records: dict[str, JobRecord]) -> None:
    if not records:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps([asdict(r) for r in records.values()]))
    os.replace(tmp, path)


def remember(bj: BlockJobs, obj: DomainObj, job: JobState) -> None:
    """Record a job just started (no-op unless it has non-derivable facts)."""
    rec = JobRecord.of(job)
    if not rec.needed():
        return
    path = record_path(bj, obj)
    if not path.parent.is_dir():
        return
    records = load_records(path)
    records[job.disk] = rec
    _write(path, records)


def forget(bj: BlockJobs, obj: DomainObj, disk: str) -> None:
    """Drop a concluded job's record (a stat when there is none)."""
    path = record_path(bj, obj)
    if not path.exists():
        return
    records = load_records(path)
    if records.pop(disk, None) is not None or not records:
        _write(path, records)


def restore(bj: BlockJobs, obj: DomainObj, job: JobState) -> JobState:
    """Fill a job rebuilt from its QEMU id with its record, if one was kept."""
    rec = load_records(record_path(bj, obj)).get(job.disk)
    if rec is None or rec.jid != job.jid:
        return job
    job.path = rec.path or job.path
    job.delete = list(rec.delete)
    if rec.copy_node:
        job.copy_node = rec.copy_node
    if rec.copy_dest:
        job.copy_dest = ChainLayer(rec.copy_dest, rec.copy_format or "raw")
    return job


async def adopt_all(bj: BlockJobs, obj: DomainObj, mon: QMPMonitor) -> list[JobState]:
    """At attach: take over every block job QEMU runs for ``obj``; conclude those that ended
    while no driver listened. Returns the jobs still running."""
    from pyvirt.drivers.qemu.blockjob import JobState, find_disk, parse_job_id
    from pyvirt.drivers.qemu.monitor import QMPClosed, QMPCommandError
    from pyvirt.errors import VirtError

    try:
        jobs = await mon.execute("query-block-jobs")
    except (QMPClosed, QMPCommandError):
        return []
    running: list[JobState] = []
    seen: set[str] = set()
    for j in jobs:
        jid = str(j.get("device", ""))
        parsed = parse_job_id(jid)
        if parsed is None:
            continue  # not ours (a job someone started by hand)
        kind, dev = parsed
        seen.add(dev)
        job = bj.job_state(obj, dev)
        if job is None:
            try:
                d = find_disk(bj.live_model(obj), dev)
            except VirtError:
                continue
            src = d.source.path if d.source is not None and d.source.path else dev
            job = JobState(jid, dev, kind, src)
            if kind is BlockJobType.COPY:
                job.copy_node = f"pyvirt-copy-{dev}"
            restore(bj, obj, job)
            bj._jobs[(obj.name, dev)] = job
        job.ready = job.ready or bool(j.get("ready"))
        if j.get("status") == "concluded":
            if not job.done.is_set() and not job.concluding:
                await bj._conclude(obj, mon, job, await _ended_as(bj, obj, mon, job, j))
        else:
            running.append(job)
    # records of jobs QEMU no longer has (ended and dismissed before a crash): stale
    path = record_path(bj, obj)
    if path.exists():
        records = load_records(path)
        stale = [k for k in records if k not in seen]
        for k in stale:
            del records[k]
        if stale:
            _write(path, records)
    return running


async def _ended_as(bj: BlockJobs, obj: DomainObj, mon: QMPMonitor, job: JobState,
                    info: dict[str, Any]) -> BlockJobStatus:
    """How a job that concluded unobserved ended. QEMU says only whether it failed; a
    mirror (copy, active commit) that concluded without error either pivoted (the disk's
    top image changed) or was cancelled after it was ready."""
    error = str(info.get("error") or "")
    if error:
        return BlockJobStatus.CANCELED if "cancel" in error.lower() else BlockJobStatus.FAILED
    if job.type not in (BlockJobType.COPY, BlockJobType.ACTIVE_COMMIT) or job.pivoting:
        return BlockJobStatus.COMPLETED
    from pyvirt.drivers.qemu.blockjob import find_disk
    from pyvirt.errors import VirtError

    try:
        _root, chain, _names = await bj._chain_nodes(mon, find_disk(bj.live_model(obj), job.disk))
    except VirtError:
        return BlockJobStatus.CANCELED
    old_top = bj._disk_chain(obj, job.disk)
    if chain and old_top and chain[0].path != old_top[0].path:
        job.pivoting = True  # what _conclude reads to keep the new top and persist it
        return BlockJobStatus.COMPLETED
    return BlockJobStatus.CANCELED
