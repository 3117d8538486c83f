"""The block job fast path on the scripted fake QMP server: a job this driver started ends
with no chain or node re-query (the new chain follows from the job, the nodes to delete
were named at its start), the dismiss and deletions go out together (written before any
reply is read), the status is saved before the job is dismissed (crash safety), the start
sends its two queries together, and a failure while concluding still releases a waiting
pivot. An adopted job (no start-time knowledge) still asks QEMU."""

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

from pyvirt.conf.domain import parse_domain
from pyvirt.drivers.base import BlockJobEventMsg, DomainEvent, EventBus
from pyvirt.drivers.qemu.backingchain import chain_of
from pyvirt.drivers.qemu.blockjob import ABORT_PIVOT, COMMIT_ACTIVE, BlockJobs, find_disk
from pyvirt.drivers.qemu.monitor import QMPEvent, QMPMonitor
from pyvirt.enums import BlockJobStatus


@dataclass
class Store:
    """Records how many QMP commands the server had seen at each status save."""

    srv: FakeQMPServer
    obj: Obj | None = None
    saves: list[tuple[int, str]] = field(default_factory=list)
    fail: bool = False

    def save_status(self, obj: Any) -> None:
        if self.fail:
            raise OSError(28, "No space left on device")
        self.saves.append((len(self.srv.calls), str(obj.live_xml)))


@dataclass
class Qemu(ChainQemu):
    """query-block / query-named-block-nodes follow the chain; the top has -blockdev names,
    the images below were opened by QEMU (``#blockN``), as when a domain starts without
    <backingStore> in its XML."""

    def top_node(self) -> str:
        return self.names()[0]

    def names(self) -> list[str]:
        return ["libvirt-1-format" if "sn2" in p else f"#block{i}" for i, p in enumerate(self.chain)]

    def nodes(self, _a: dict[str, Any]) -> dict[str, Any]:
        out = []
        for p, name in zip(self.chain, self.names(), strict=True):
            proto = "libvirt-1-storage" if name == "libvirt-1-format" else f"{name}-file"
            out += [{"node-name": name, "drv": "qcow2", "file": p}, {"node-name": proto, "drv": "file", "file": p}]
        return {"return": out}


Env = tuple[FakeQMPServer, Qemu, BlockJobs, Obj, list[DomainEvent], "asyncio.Queue[QMPEvent]", Store, list[str]]


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    files = [str(tmp_path / f"{n}.qcow2") for n in ("sn2", "sn1", "base")]
    for f in files:
        Path(f).write_bytes(b"")
    srv = await FakeQMPServer(str(tmp_path / "m.sock")).start()
    q = Qemu(files)
    srv.handlers["query-block"] = q.query_block
    srv.handlers["query-named-block-nodes"] = q.nodes
    srv.handlers["job-dismiss"] = {"return": {}}
    srv.handlers["blockdev-del"] = {"return": {}}
    mon = await QMPMonitor.connect_path(srv.path)
    # the order in which this client writes commands and reads replies
    wire: list[str] = []
    writer = mon._writer
    orig_write, orig_dispatch = writer.write, mon._dispatch

    def write(data: Any) -> None:
        wire.append("w")
        orig_write(data)

    def dispatch(msg: dict[str, Any]) -> None:
        if "event" not in msg:
            wire.append("r")
        orig_dispatch(msg)

    writer.write = write  # type: ignore[method-assign]  # a tap on the monitor's writes
    mon._dispatch = dispatch  # type: ignore[method-assign]
    qmp_events: asyncio.Queue[QMPEvent] = asyncio.Queue()
    mon.on_event = qmp_events.put_nowait
    bus = EventBus()
    seen: list[DomainEvent] = []
    bus.subscribe(seen.append)
    obj = Obj(LIVE.format(top=files[0]))
    obj.runtime = Rt(mon)
    store = Store(srv)
    jobs = BlockJobs(cast(Any, Lc(Rt(mon))), cast(Any, store), bus)
    yield srv, q, jobs, obj, seen, qmp_events, store, wire
    await mon.close()
    await srv.stop()


def script_active_commit(srv: FakeQMPServer, qemu: Qemu) -> None:
    _sn2, sn1, base = qemu.chain

    def commit(a: dict[str, Any]) -> dict[str, Any]:
        srv.emit("BLOCK_JOB_READY", {"device": a["job-id"], "type": "commit", "len": 1, "offset": 1, "speed": 0})
        return {"return": {}}

    def complete(a: dict[str, Any]) -> dict[str, Any]:
        qemu.chain = [sn1, base]
        srv.emit("BLOCK_JOB_COMPLETED", {"device": a["device"], "type": "commit", "len": 1, "offset": 1, "speed": 0})
        return {"return": {}}

    srv.handlers["block-commit"] = commit
    srv.handlers["block-job-complete"] = complete


def live_chain(obj: Obj) -> list[str]:
    return [c.path for c in chain_of(find_disk(parse_domain(obj.live_xml), "vda"))]


async def test_pivot_ends_without_requery_in_one_batch(env: Env) -> None:
    srv, qemu, jobs, obj, seen, qev, store, wire = env
    sn2, sn1, base = qemu.chain
    script_active_commit(srv, qemu)
    await jobs.refresh_chains(cast(Any, obj))  # the live XML shows the chain, as after start
    store.saves.clear()
    wire.clear()
    await jobs.commit(cast(Any, obj), "vda", sn1, None, 0, COMMIT_ACTIVE)
    # the start's two queries were both written before either reply was read
    assert wire[:4] == ["w", "w", "r", "r"]
    assert [c for c, _ in srv.calls[-3:]] == ["query-block", "query-named-block-nodes", "block-commit"]
    await deliver(jobs, obj, qev, "BLOCK_JOB_READY")
    job = await jobs.abort(cast(Any, obj), "vda", ABORT_PIVOT)
    n = len(srv.calls)
    wire.clear()
    await deliver(jobs, obj, qev, "BLOCK_JOB_COMPLETED")
    # no query-block / query-named-block-nodes: dismiss and the old top's -blockdev pair
    # (format first), QEMU's own '#block' nodes left alone
    assert srv.calls[n:] == [("job-dismiss", {"id": "active-commit-vda"}),
                             ("blockdev-del", {"node-name": "libvirt-1-format"}),
                             ("blockdev-del", {"node-name": "libvirt-1-storage"})]
    assert wire == ["w", "r", "r", "r"]  # one write, one round trip
    # one status save, before the dismiss reached QEMU, already with the new chain
    assert len(store.saves) == 1 and store.saves[0][0] == n
    assert f"file='{sn1}'" in store.saves[0][1] and f"file='{sn2}'" not in store.saves[0][1]
    assert job.done.is_set() and job.status is BlockJobStatus.COMPLETED
    assert live_chain(obj) == [sn1, base] == qemu.chain
    assert [e.status for e in seen if isinstance(e, BlockJobEventMsg)] == [BlockJobStatus.READY,
                                                                            BlockJobStatus.COMPLETED]


async def test_pull_chain_from_the_job(env: Env) -> None:
    srv, qemu, jobs, obj, _seen, qev, _store, _wire = env
    sn2, _sn1, base = qemu.chain

    def stream(a: dict[str, Any]) -> dict[str, Any]:
        qemu.chain = [sn2, base]  # sn1 pulled into sn2, base stays below
        srv.emit("BLOCK_JOB_COMPLETED", {"device": a["job-id"], "type": "stream", "len": 1, "offset": 1, "speed": 0})
        return {"return": {}}

    srv.handlers["block-stream"] = stream
    await jobs.refresh_chains(cast(Any, obj))
    await jobs.pull(cast(Any, obj), "vda", base, 0, 0)
    n = len(srv.calls)
    await deliver(jobs, obj, qev, "BLOCK_JOB_COMPLETED")
    # sn1's node was QEMU's own (#block1): nothing to delete, only the dismiss
    assert srv.calls[n:] == [("job-dismiss", {"id": "pull-vda"})]
    assert live_chain(obj) == [sn2, base] == qemu.chain


async def test_stale_live_xml_falls_back_to_query(env: Env) -> None:
    """The live XML does not show the chain the job started from (here: no backing chain
    at all): the end of the job asks QEMU rather than trusting the start-time view."""
    srv, qemu, jobs, obj, _seen, qev, _store, _wire = env
    _sn2, sn1, base = qemu.chain
    script_active_commit(srv, qemu)
    await jobs.commit(cast(Any, obj), "vda", sn1, None, 0, COMMIT_ACTIVE)
    await deliver(jobs, obj, qev, "BLOCK_JOB_READY")
    await jobs.abort(cast(Any, obj), "vda", ABORT_PIVOT)
    n = len(srv.calls)
    await deliver(jobs, obj, qev, "BLOCK_JOB_COMPLETED")
    assert "query-block" in [c for c, _ in srv.calls[n:]]
    assert live_chain(obj) == [sn1, base] == qemu.chain


async def test_failure_while_concluding_releases_the_pivot(env: Env) -> None:
    srv, qemu, jobs, obj, _seen, qev, store, _wire = env
    _sn2, sn1, _base = qemu.chain
    script_active_commit(srv, qemu)
    await jobs.refresh_chains(cast(Any, obj))
    await jobs.commit(cast(Any, obj), "vda", sn1, None, 0, COMMIT_ACTIVE)
    await deliver(jobs, obj, qev, "BLOCK_JOB_READY")
    job = await jobs.abort(cast(Any, obj), "vda", ABORT_PIVOT)
    store.fail = True
    with pytest.raises(OSError):
        await deliver(jobs, obj, qev, "BLOCK_JOB_COMPLETED")
    # the waiter (block_job_abort's pivot) is not left hanging, and the disk is free again
    await asyncio.wait_for(job.done.wait(), 1)
    assert job.status is BlockJobStatus.COMPLETED
    assert jobs.job_state(cast(Any, obj), "vda") is None
    # the status was not written, so the job was not dismissed either: a re-attaching
    # driver still finds it concluded in QEMU and concludes it from query-block
    assert "job-dismiss" not in [c for c, _ in srv.calls]


async def test_dismiss_and_deletions_go_behind_the_reply_but_before_the_next_command(env: Env) -> None:
    """With the driver's background set, the end of the job does not wait for QEMU to run
    the dismiss and deletions, yet they were written first: a command a woken client
    sends right away reaches QEMU after them, and closing waits for their replies."""
    srv, qemu, jobs, obj, _seen, qev, _store, _wire = env
    _sn2, sn1, _base = qemu.chain
    script_active_commit(srv, qemu)
    bg: list[asyncio.Task[None]] = []

    def background(coro: Any) -> None:
        bg.append(asyncio.ensure_future(coro))

    cast(Any, jobs.lc)._background = background
    await jobs.refresh_chains(cast(Any, obj))
    await jobs.commit(cast(Any, obj), "vda", sn1, None, 0, COMMIT_ACTIVE)
    await deliver(jobs, obj, qev, "BLOCK_JOB_READY")
    job = await jobs.abort(cast(Any, obj), "vda", ABORT_PIVOT)
    n = len(srv.calls)

    async def client() -> None:
        await job.done.wait()
        await cast(Any, jobs.lc).rt.monitor.execute("query-status")  # the woken client's next command

    waiter = asyncio.ensure_future(client())
    await deliver(jobs, obj, qev, "BLOCK_JOB_COMPLETED")
    assert job.done.is_set() and len(bg) == 1 and not bg[0].done()  # replies not awaited by the end
    await asyncio.wait_for(waiter, 5)
    await asyncio.wait_for(bg[0], 5)
    assert [c for c, _ in srv.calls[n:]] == ["job-dismiss", "blockdev-del", "blockdev-del", "query-status"]


async def seed(jobs: BlockJobs, obj: Obj) -> None:
    """What domain start does: the chains into the model, the nodes into the cache."""
    from pyvirt.conf.domain import format_domain

    m = parse_domain(obj.live_xml)
    await jobs.chains_into_model(m, obj.runtime.monitor)
    obj.live_xml = str(format_domain(m))


async def test_first_job_after_start_asks_nothing(env: Env) -> None:
    """Start's query-block carries query-named-block-nodes along; a job started before the
    monitor saw any graph change (only queries, stop/cont, guest notices) uses that and
    sends its command alone, and the job still ends on the right chain."""
    srv, qemu, jobs, obj, _seen, qev, _store, _wire = env
    _sn2, sn1, base = qemu.chain
    script_active_commit(srv, qemu)
    await seed(jobs, obj)
    assert [c for c, _ in srv.calls[-2:]] == ["query-block", "query-named-block-nodes"]
    await obj.runtime.monitor.execute("stop")
    n = len(srv.calls)
    await jobs.commit(cast(Any, obj), "vda", sn1, None, 0, COMMIT_ACTIVE)
    assert srv.calls[n:] == [("block-commit", {"job-id": "active-commit-vda", "device": "libvirt-1-format",
                                               "base-node": "#block1", "auto-finalize": True,
                                               "auto-dismiss": False})]
    await deliver(jobs, obj, qev, "BLOCK_JOB_READY")
    await jobs.abort(cast(Any, obj), "vda", ABORT_PIVOT)
    await deliver(jobs, obj, qev, "BLOCK_JOB_COMPLETED")
    assert live_chain(obj) == [sn1, base] == qemu.chain


async def test_graph_change_or_other_chain_asks_again(env: Env) -> None:
    """The cache is not used once the monitor's generation moved (any non-query command
    or device event), nor when the live XML shows another chain than the cached one."""
    srv, qemu, jobs, obj, _seen, _qev, _store, _wire = env
    _sn2, sn1, _base = qemu.chain
    srv.handlers["block-commit"] = {"return": {}}
    srv.handlers["human-monitor-command"] = {"return": ""}
    await seed(jobs, obj)
    await obj.runtime.monitor.execute("human-monitor-command", {"command-line": "drive_add 0 x"})
    n = len(srv.calls)
    await jobs.commit(cast(Any, obj), "vda", sn1, None, 0, COMMIT_ACTIVE)
    assert [c for c, _ in srv.calls[n:]] == ["query-block", "query-named-block-nodes", "block-commit"]
    jobs._jobs.clear()  # as if that job had ended
    await seed(jobs, obj)
    obj.live_xml = LIVE.format(top=sn1)  # the live XML says the top is another image
    n = len(srv.calls)
    await jobs.commit(cast(Any, obj), "vda", qemu.chain[2], None, 0, COMMIT_ACTIVE)
    assert [c for c, _ in srv.calls[n:]] == ["query-block", "query-named-block-nodes", "block-commit"]
