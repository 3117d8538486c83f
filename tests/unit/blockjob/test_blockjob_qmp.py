"""BlockJobs against the scripted fake QMP server: the QMP conversation (node names,
job ids, auto-dismiss off, job-dismiss), the events published for BLOCK_JOB /
BLOCK_JOB_2, the live XML chain after completion, a busy disk, pivot and abort."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest
from fakes.blockjob_domain import ONE_DISK_LIVE as LIVE
from fakes.blockjob_domain import ChainQemu, Lc, Rt, deliver
from fakes.blockjob_domain import DomainStub as Obj
from fakes.qmp_server import FakeQMPServer

from pyvirt.drivers.base import BlockJobEventMsg, DomainEvent, EventBus
from pyvirt.drivers.qemu.backingchain import chain_of
from pyvirt.drivers.qemu.blockjob import (
    ABORT_PIVOT,
    COMMIT_ACTIVE,
    COMMIT_DELETE,
    BlockJobs,
    find_disk,
)
from pyvirt.drivers.qemu.monitor import QMPEvent, QMPMonitor
from pyvirt.enums import BlockJobStatus, BlockJobType
from pyvirt.errors import ErrorCode, VirtError


@dataclass
class Store:
    saved: int = 0

    def save_status(self, obj: Any) -> None:
        self.saved += 1


@dataclass
class Qemu(ChainQemu):
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def nodes(self, _a: dict[str, Any]) -> dict[str, Any]:
        out = []
        for i, p in enumerate(self.chain):
            name = "libvirt-1-format" if i == 0 else f"#block{i}"
            out += [{"node-name": name, "drv": "qcow2", "file": p}, {"node-name": f"{name}-f", "drv": "file", "file": p}]
        return {"return": out}


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[tuple[FakeQMPServer, Qemu, BlockJobs, Obj, list[DomainEvent],
                                                     asyncio.Queue[QMPEvent]]]:
    files = [str(tmp_path / f"{n}.qcow2") for n in ("sn2", "sn1", "base")]
    for f in files:
        Path(f).write_bytes(b"")
    srv = await FakeQMPServer(str(tmp_path / "m.sock")).start()
    q = Qemu(files)
    srv.handlers["query-block"] = q.query_block
    srv.handlers["query-named-block-nodes"] = q.nodes
    srv.handlers["job-dismiss"] = {"return": {}}
    mon = await QMPMonitor.connect_path(srv.path)
    qmp_events: asyncio.Queue[QMPEvent] = asyncio.Queue()
    mon.on_event = qmp_events.put_nowait
    bus = EventBus()
    seen: list[DomainEvent] = []
    bus.subscribe(seen.append)
    obj = Obj(LIVE.format(top=files[0]))
    obj.runtime = Rt(mon)
    jobs = BlockJobs(cast(Any, Lc(Rt(mon))), cast(Any, Store()), bus)
    yield srv, q, jobs, obj, seen, qmp_events
    await mon.close()
    await srv.stop()


async def test_commit_with_delete_then_event_updates_chain(env: Any) -> None:
    srv, qemu, jobs, obj, seen, qev = env
    sn2, sn1, base = qemu.chain

    def commit(a: dict[str, Any]) -> dict[str, Any]:
        qemu.chain = [sn2, base]  # sn1's data now lives in base
        srv.emit("BLOCK_JOB_COMPLETED", {"device": a["job-id"], "type": "commit", "len": 1, "offset": 1, "speed": 0})
        return {"return": {}}

    srv.handlers["block-commit"] = commit
    await jobs.commit(cast(Any, obj), "vda", base, sn1, 0, COMMIT_DELETE)
    assert srv.calls[-1] == ("block-commit", {"job-id": "commit-vda", "device": "libvirt-1-format",
                                              "base-node": "#block2", "auto-finalize": True,
                                              "auto-dismiss": False, "top-node": "#block1"})
    await deliver(jobs, obj, qev, "BLOCK_JOB_COMPLETED")
    assert ("job-dismiss", {"id": "commit-vda"}) in srv.calls
    assert [(e.path, e.disk, e.type, e.status) for e in seen if isinstance(e, BlockJobEventMsg)] == [
        (sn2, "vda", BlockJobType.COMMIT, BlockJobStatus.COMPLETED)]
    from pyvirt.conf.domain import parse_domain

    assert [c.path for c in chain_of(find_disk(parse_domain(obj.live_xml), "vda"))] == [sn2, base]
    assert not Path(sn1).exists() and Path(base).exists()  # DELETE removed only what left the chain


async def test_busy_disk_then_active_commit_ready_and_pivot(env: Any) -> None:
    srv, qemu, jobs, obj, seen, qev = env
    sn2, sn1, base = qemu.chain

    def commit(a: dict[str, Any]) -> dict[str, Any]:
        srv.emit("BLOCK_JOB_READY", {"device": a["job-id"], "type": "commit", "len": 1, "offset": 1, "speed": 0})
        return {"return": {}}

    def complete(a: dict[str, Any]) -> dict[str, Any]:
        qemu.chain = [sn1, base]
        srv.emit("BLOCK_JOB_COMPLETED", {"device": a["device"], "type": "commit", "len": 1, "offset": 1, "speed": 0})
        return {"return": {}}

    srv.handlers["block-commit"] = commit
    srv.handlers["block-job-complete"] = complete
    await jobs.refresh_chains(cast(Any, obj))  # what the driver does once the domain runs
    assert f"<source file='{sn2}' index='1'/>" in obj.live_xml
    await jobs.commit(cast(Any, obj), "vda", sn1, None, 0, COMMIT_ACTIVE)
    assert "top-node" not in srv.calls[-1][1] and srv.calls[-1][1]["job-id"] == "active-commit-vda"
    with pytest.raises(VirtError) as ei:  # a second job on the same disk
        await jobs.pull(cast(Any, obj), "vda", None, 0, 0)
    assert ei.value.code == ErrorCode.BLOCK_COPY_ACTIVE
    with pytest.raises(VirtError) as ei:  # pivot before READY
        await jobs.abort(cast(Any, obj), "vda", ABORT_PIVOT)
    assert ei.value.code == ErrorCode.BLOCK_COPY_ACTIVE
    await deliver(jobs, obj, qev, "BLOCK_JOB_READY")
    job = await jobs.abort(cast(Any, obj), "vda", ABORT_PIVOT)
    assert srv.calls[-1] == ("block-job-complete", {"device": "active-commit-vda"})
    await deliver(jobs, obj, qev, "BLOCK_JOB_COMPLETED")
    assert job.done.is_set() and job.status is BlockJobStatus.COMPLETED
    assert [e.status for e in seen if isinstance(e, BlockJobEventMsg)] == [BlockJobStatus.READY,
                                                                            BlockJobStatus.COMPLETED]
    assert f"<source file='{sn1}' index='2'/>" in obj.live_xml  # the pivoted image keeps its index


async def test_abort_reports_canceled_and_keeps_chain(env: Any) -> None:
    srv, qemu, jobs, obj, seen, qev = env
    srv.handlers["block-stream"] = {"return": {}}

    def cancel(a: dict[str, Any]) -> dict[str, Any]:
        srv.emit("BLOCK_JOB_CANCELLED", {"device": a["device"], "type": "stream", "len": 9, "offset": 1, "speed": 0})
        return {"return": {}}

    srv.handlers["block-job-cancel"] = cancel
    srv.handlers["query-block-jobs"] = {"return": [{"device": "pull-vda", "type": "stream", "len": 9, "offset": 3,
                                                    "speed": 2 << 20, "ready": False, "status": "running"}]}
    await jobs.pull(cast(Any, obj), "vda", qemu.chain[1], 0, 0)
    assert srv.calls[-1][1] == {"job-id": "pull-vda", "device": "libvirt-1-format", "auto-dismiss": False,
                                "base-node": "#block1"}
    info = await jobs.info(cast(Any, obj), "vda", 0)
    assert info is not None and (info.type, info.bandwidth, info.cur, info.end) == (BlockJobType.PULL, 2, 3, 9)
    await jobs.abort(cast(Any, obj), "vda", 0)
    await deliver(jobs, obj, qev, "BLOCK_JOB_CANCELLED")
    assert [(e.type, e.status) for e in seen if isinstance(e, BlockJobEventMsg)] == [
        (BlockJobType.PULL, BlockJobStatus.CANCELED)]
    assert jobs.job_state(cast(Any, obj), "vda") is None
