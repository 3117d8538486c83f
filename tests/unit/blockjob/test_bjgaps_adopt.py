"""Re-adopting block jobs after a driver restart (blockjob_adopt.py) against the scripted
fake QMP server: a first BlockJobs starts a job and goes away; a second one on the same
run dir adopts what QEMU reports, with the record the first kept (copy node, --delete
list), and concludes jobs that ended unobserved the way they really ended."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest
from fakes.blockjob_domain import ONE_DISK_LIVE as LIVE
from fakes.blockjob_domain import ChainQemu, Lc, Paths, Rt
from fakes.blockjob_domain import DomainStub as Obj
from fakes.qmp_server import FakeQMPServer

from pyvirt.drivers.base import BlockJobEventMsg, DomainEvent, EventBus
from pyvirt.drivers.qemu import blockjob_adopt
from pyvirt.drivers.qemu.blockjob import COMMIT_DELETE, BlockJobs
from pyvirt.drivers.qemu.monitor import QMPMonitor
from pyvirt.enums import BlockJobStatus, BlockJobType


@dataclass
class Store:
    def save_status(self, obj: Any) -> None:
        pass


@dataclass
class Qemu(ChainQemu):
    jobs: list[dict[str, Any]] = field(default_factory=list)

    def nodes(self, _a: dict[str, Any]) -> dict[str, Any]:
        out = [{"node-name": "pyvirt-copy-vda", "drv": "qcow2", "file": "/taken"}]  # an earlier copy's
        for i, p in enumerate(self.chain):
            name = "libvirt-1-format" if i == 0 else f"#block{i}"
            out += [{"node-name": name, "drv": "qcow2", "file": p}, {"node-name": f"{name}-f", "drv": "file", "file": p}]
        return {"return": out}


Env = tuple[FakeQMPServer, Qemu, Obj, Path, Any]


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    files = [str(tmp_path / f"{n}.qcow2") for n in ("top", "mid", "base")]
    for f in files:
        Path(f).write_bytes(b"")
    (tmp_path / "run" / "domain-1-d").mkdir(parents=True)
    srv = await FakeQMPServer(str(tmp_path / "m.sock")).start()
    q = Qemu(files)
    srv.handlers["query-block"] = q.query_block
    srv.handlers["query-named-block-nodes"] = q.nodes
    srv.handlers["query-block-jobs"] = lambda _a: {"return": q.jobs}
    for cmd in ("job-dismiss", "blockdev-add", "blockdev-del", "blockdev-mirror"):
        srv.handlers[cmd] = {"return": {}}
    obj = Obj(LIVE.format(top=files[0]))
    monitors: list[QMPMonitor] = []

    async def driver() -> tuple[BlockJobs, list[DomainEvent]]:
        """A fresh driver process: new BlockJobs, new monitor connection, same run dir."""
        if monitors:
            await monitors[-1].close()
        mon = await QMPMonitor.connect_path(srv.path)
        monitors.append(mon)
        obj.runtime = Rt(mon)
        bus = EventBus()
        seen: list[DomainEvent] = []
        bus.subscribe(seen.append)
        return BlockJobs(cast(Any, Lc(Rt(mon), Paths(tmp_path / "run"))), cast(Any, Store()), bus), seen

    yield srv, q, obj, tmp_path / "run" / "domain-1-d" / "blockjobs.json", driver
    if monitors:
        await monitors[-1].close()
    await srv.stop()


def block_events(seen: list[DomainEvent]) -> list[tuple[str, str, BlockJobType, BlockJobStatus]]:
    return [(e.path, e.disk, e.type, e.status) for e in seen if isinstance(e, BlockJobEventMsg)]


async def test_commit_delete_list_outlives_the_driver_and_is_honoured_at_reconnect(env: Env) -> None:
    srv, qemu, obj, record, driver = env
    top, mid, base = qemu.chain
    srv.handlers["block-commit"] = {"return": {}}
    first, _ = await driver()
    await first.commit(cast(Any, obj), "vda", base, mid, 0, COMMIT_DELETE)
    assert json.loads(record.read_text())[0]["delete"] == [mid]
    # the job ends while no driver listens
    qemu.chain = [top, base]
    qemu.jobs = [{"device": "commit-vda", "type": "commit", "status": "concluded", "ready": False,
                  "len": 1, "offset": 1, "speed": 0}]
    second, seen = await driver()
    running = await blockjob_adopt.adopt_all(second, cast(Any, obj), obj.runtime.monitor)
    assert running == []
    assert ("job-dismiss", {"id": "commit-vda"}) in srv.calls
    assert not Path(mid).exists() and Path(base).exists()
    assert not record.exists()
    assert block_events(seen) == [(top, "vda", BlockJobType.COMMIT, BlockJobStatus.COMPLETED)]
    assert f"<source file='{mid}'" not in obj.live_xml


@pytest.mark.parametrize("pivoted", [True, False])
async def test_copy_that_ended_unobserved_pivoted_or_cancelled(env: Env, pivoted: bool) -> None:
    srv, qemu, obj, record, driver = env
    top, mid, base = qemu.chain
    dest = str(record.parent.parent / "dest.qcow2")
    first, _ = await driver()
    from pyvirt.drivers.qemu.blockjob import COPY_REUSE_EXT

    Path(dest).write_bytes(b"")
    await first.copy(cast(Any, obj), "vda", dest, "qcow2", 0, COPY_REUSE_EXT)
    node = json.loads(record.read_text())[0]["copy_node"]
    assert node == "pyvirt-copy1-vda"  # pyvirt-copy-vda was taken: the record has the real one
    if pivoted:
        qemu.chain = [dest, mid, base]
    qemu.jobs = [{"device": "copy-vda", "type": "mirror", "status": "concluded", "ready": True,
                  "len": 1, "offset": 1, "speed": 0}]
    srv.calls.clear()
    second, seen = await driver()
    await blockjob_adopt.adopt_all(second, cast(Any, obj), obj.runtime.monitor)
    status = BlockJobStatus.COMPLETED if pivoted else BlockJobStatus.CANCELED
    assert block_events(seen) == [(top, "vda", BlockJobType.COPY, status)]
    # a cancelled copy's target node goes, under the name the first driver gave it
    assert (("blockdev-del", {"node-name": node}) in srv.calls) is not pivoted
    assert (f"<source file='{dest}'" in obj.live_xml) is pivoted
    assert not record.exists()


async def test_running_job_adopted_ready_and_stale_records_dropped(env: Env) -> None:
    _srv, qemu, obj, record, driver = env
    top, mid, _base = qemu.chain
    record.write_text(json.dumps([
        {"jid": "active-commit-vda", "disk": "vda", "type": int(BlockJobType.ACTIVE_COMMIT), "path": top,
         "delete": [mid]},
        {"jid": "commit-vdb", "disk": "vdb", "type": int(BlockJobType.COMMIT), "path": "/x", "delete": ["/y"]},
    ]))
    qemu.jobs = [{"device": "active-commit-vda", "type": "commit", "status": "ready", "ready": True,
                  "len": 5, "offset": 5, "speed": 0},
                 {"device": "someone-elses", "type": "stream", "status": "running", "ready": False}]
    bj, seen = await driver()
    running = await blockjob_adopt.adopt_all(bj, cast(Any, obj), obj.runtime.monitor)
    assert [(j.jid, j.type, j.ready, j.delete) for j in running] == [
        ("active-commit-vda", BlockJobType.ACTIVE_COMMIT, True, [mid])]
    assert bj.job_state(cast(Any, obj), "vda") is running[0]
    assert [r["disk"] for r in json.loads(record.read_text())] == ["vda"]  # vdb's job is gone
    assert block_events(seen) == []
    # adopting again (a second attach) changes nothing and concludes nothing
    assert await blockjob_adopt.adopt_all(bj, cast(Any, obj), obj.runtime.monitor) == running


def test_missing_or_garbage_record_is_no_record(tmp_path: Path) -> None:
    assert blockjob_adopt.load_records(tmp_path / "blockjobs.json") == {}
    for junk in ("not json", "[{}]", "{\"a\": 1}"):
        (tmp_path / "blockjobs.json").write_text(junk)
        assert blockjob_adopt.load_records(tmp_path / "blockjobs.json") == {}
