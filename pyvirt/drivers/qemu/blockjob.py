"""Live block jobs: commit, pull (stream), copy (mirror); info, abort/pivot, speed.

QEMU is the authority on a running disk's chain and on its jobs. A job's QMP id encodes
its kind and disk (``commit-vda``, ``active-commit-vda``, ``pull-vda``, ``copy-vda``), so
a driver that attaches later (another one-shot pyvirsh, a restarted daemon) still knows
what a job in ``query-block-jobs`` is. Jobs run with ``auto-dismiss: false``: the
concluded job stays visible until the event handler here has updated the live XML and
dismissed it.

Events: QEMU's BLOCK_JOB_READY / COMPLETED / CANCELLED reach :meth:`BlockJobs.on_event`
through the domain's event worker; each becomes one :class:`BlockJobEventMsg` (the bus
delivers it as BLOCK_JOB with the disk path and BLOCK_JOB_2 with the target, as libvirt
pairs them). Waiting for a job (pivot, synchronous abort) waits on that handler, never
polls.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pyvirt.drivers.base import BlockJobEventMsg, BlockJobInfo, EventBus
from pyvirt.drivers.qemu import blockjob_adopt, blockjob_relative
from pyvirt.drivers.qemu.backingchain import (
    ChainLayer,
    chain_from_image_info,
    chain_of,
    live_xml_and_model_with_chains,
    live_xml_with_chains,
    plain_filename,
)
from pyvirt.enums import BlockJobStatus, BlockJobType
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from pyvirt.conf.domain import DiskDef, DomainDef
    from pyvirt.drivers.qemu.domainobj import DomainObj, DomainStore
    from pyvirt.drivers.qemu.events import DomainRuntime
    from pyvirt.drivers.qemu.lifecycle import Lifecycle
    from pyvirt.drivers.qemu.monitor import QMPEvent, QMPMonitor

# libvirt-python flag values (pyvirt/libvirt_constants.py)
COMMIT_SHALLOW = 1
COMMIT_DELETE = 2
COMMIT_ACTIVE = 4
COMMIT_RELATIVE = 8
COMMIT_BANDWIDTH_BYTES = 16
PULL_BANDWIDTH_BYTES = 64
REBASE_SHALLOW = 1
REBASE_REUSE_EXT = 2
REBASE_COPY_RAW = 4
REBASE_COPY = 8
REBASE_BANDWIDTH_BYTES = 64
REBASE_COPY_DEV = 32  # the copy's destination is a block device
COPY_SHALLOW = 1
COPY_REUSE_EXT = 2
ABORT_ASYNC = 1
ABORT_PIVOT = 2
INFO_BANDWIDTH_BYTES = 1
SPEED_BANDWIDTH_BYTES = 1

_KIND_NAMES = {
    BlockJobType.PULL: "pull", BlockJobType.COPY: "copy", BlockJobType.COMMIT: "commit",
    BlockJobType.ACTIVE_COMMIT: "active-commit",
}
_PROTOCOL_DRIVERS = {"file", "host_device", "host_cdrom", "nbd", "null-co"}


def job_id(kind: BlockJobType, disk: str) -> str:
    return f"{_KIND_NAMES[kind]}-{disk}"


def parse_job_id(jid: str) -> tuple[BlockJobType, str] | None:
    for kind, name in sorted(_KIND_NAMES.items(), key=lambda kv: -len(kv[1])):
        if jid.startswith(name + "-"):
            return kind, jid[len(name) + 1:]
    return None


def err(code: ErrorCode, msg: str) -> VirtError:
    return VirtError(msg, code, ErrorDomain.QEMU)


def bandwidth_bytes(bandwidth: int, in_bytes: bool) -> int:
    """API bandwidth (MiB/s unless the BYTES flag) -> QMP speed in bytes/s."""
    if bandwidth < 0:
        raise err(ErrorCode.INVALID_ARG, f"invalid argument: bandwidth must be less than {(1 << 63) >> 20}")
    return bandwidth if in_bytes else bandwidth << 20


def find_disk(m: DomainDef, disk: str, missing: str | None = None) -> DiskDef:
    """A disk by target name or source path, as libvirt's virDomainDiskByName; ``missing`` is
    the API's own message when there is none (block stats say "invalid path: vdz")."""
    for d in m.devices.disks:
        if d.target.dev == disk or (d.source is not None and d.source.path == disk):
            return d
    raise err(ErrorCode.INVALID_ARG, missing or f"invalid argument: disk '{disk}' not found in domain")


def lookup_layer(chain: list[ChainLayer], name: str | None, start: int, disk: str) -> int:
    """Index in ``chain`` of the image named ``name`` (path) at or below ``start``."""
    if name is None:
        return start
    real = os.path.realpath(name)
    for i in range(start, len(chain)):
        if chain[i].path == name or os.path.realpath(chain[i].path) == real:
            return i
    if start == 0:
        raise err(ErrorCode.INVALID_ARG, f"invalid argument: could not find image '{name}' in chain for '{disk}'")
    raise err(ErrorCode.INVALID_ARG,
              f"invalid argument: could not find image '{name}' beneath '{chain[start - 1].path}' in chain for '{disk}'")


def commit_layers(chain: list[ChainLayer], disk: str, base: str | None, top: str | None,
                  flags: int) -> tuple[int, int]:
    """(top index, base index) of a commit in ``chain``, with libvirt's checks."""
    if len(chain) < 2:
        raise err(ErrorCode.INVALID_ARG, f"invalid argument: top '{chain[0].path if chain else disk}' in chain "
                  f"for '{disk}' has no backing file")
    t = lookup_layer(chain, top, 0, disk)
    if t == 0 and not flags & COMMIT_ACTIVE:
        raise err(ErrorCode.INVALID_ARG, f"invalid argument: commit of '{disk}' active layer requires active flag")
    if t != 0 and flags & COMMIT_ACTIVE:
        raise err(ErrorCode.INVALID_ARG,
                  f"invalid argument: active commit requested but '{chain[t].path}' is not active")
    if t + 1 >= len(chain):
        raise err(ErrorCode.INVALID_ARG,
                  f"invalid argument: top '{chain[t].path}' in chain for '{disk}' has no backing file")
    if flags & COMMIT_SHALLOW:
        if base is not None and lookup_layer(chain, base, t + 1, disk) != t + 1:
            raise err(ErrorCode.INVALID_ARG,
                      f"invalid argument: base '{base}' is not immediately below '{chain[t].path}' in chain for '{disk}'")
        return t, t + 1
    b = lookup_layer(chain, base, t + 1, disk) if base is not None else len(chain) - 1
    return t, b


@dataclass
class JobState:
    """What we remember about a job we started (or found) on one disk."""

    jid: str
    disk: str
    type: BlockJobType
    path: str  # the disk's source when the job started: BLOCK_JOB's identifier
    delete: list[str] = field(default_factory=list)  # images to remove once committed
    copy_node: str | None = None
    copy_dest: ChainLayer | None = None
    ready: bool = False
    aborting: bool = False
    pivoting: bool = False
    done: asyncio.Event = field(default_factory=asyncio.Event)
    status: BlockJobStatus | None = None
    concluding: bool = False  # an event and a re-attach may both see the end: conclude once
    # Known when this driver started the job (not for an adopted one): the chain QEMU
    # showed then, the chain a completed job leaves (None: ask QEMU), and the node names
    # of each image the monitor owns (-blockdev / blockdev-add; format nodes first) - so
    # the end of the job needs no query-block / query-named-block-nodes round trips.
    before: list[ChainLayer] | None = None
    after: list[ChainLayer] | None = None
    owned: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Nodes:
    """A running disk's chain as QEMU holds it: the root node, the images top-down with
    their format node names, and the monitor-owned nodes per image file."""

    root: str
    chain: list[ChainLayer]
    names: list[str]
    owned: dict[str, list[str]]

    def copy(self) -> tuple[str, list[ChainLayer], list[str], dict[str, list[str]]]:
        return self.root, list(self.chain), list(self.names), {k: list(v) for k, v in self.owned.items()}


def _nodes_of(blocks: list[dict[str, Any]], nodes: list[dict[str, Any]], alias: str | None) -> _Nodes | None:
    """The disk's :class:`_Nodes` from query-block and query-named-block-nodes; None when
    the device has no medium."""
    entry = BlockJobs._block_entry(blocks, alias)
    if entry is None or "inserted" not in entry:
        return None
    ins = entry["inserted"]
    chain = chain_from_image_info(ins.get("image") or {})
    by_file: dict[str, str] = {}
    owned: dict[str, list[str]] = {}
    # format nodes before protocol nodes: blockdev-del must go top-down
    for n in sorted(nodes, key=lambda n: str(n.get("drv")) in _PROTOCOL_DRIVERS):
        name = str(n.get("node-name") or "")
        if not name:
            continue
        path = plain_filename(str(n.get("file")))
        if str(n.get("drv")) not in _PROTOCOL_DRIVERS:
            by_file.setdefault(path, name)
        if not name.startswith("#"):  # '#block123': opened by QEMU itself, goes with its parent
            owned.setdefault(path, []).append(name)
    names = [by_file.get(layer.path, "") for layer in chain]
    root = str(ins.get("node-name") or names[0])
    names[0] = root
    return _Nodes(root, chain, names, owned)


class BlockJobs:
    """The running domains' block jobs for one driver instance (no global state)."""

    def __init__(self, lc: Lifecycle, store: DomainStore, events: EventBus) -> None:
        self.lc = lc
        self.store = store
        self.events = events
        self._jobs: dict[tuple[str, str], JobState] = {}
        self._models: dict[str, tuple[str, DomainDef]] = {}
        # per monitor and disk alias: (the monitor's generation then, _Nodes) - see _chain_nodes_owned
        self._nodes: weakref.WeakKeyDictionary[QMPMonitor, dict[str, tuple[int, _Nodes]]] = (
            weakref.WeakKeyDictionary())

    # ------------------------------------------------------------------ helpers
    def live_model(self, obj: DomainObj) -> DomainDef:
        """The parsed live XML, cached per text (read-only: callers never mutate it)."""
        from pyvirt.conf.domain import parse_domain

        text = obj.live_xml or ""
        hit = self._models.get(obj.name)
        if hit is not None and hit[0] == text:
            return hit[1]
        m = parse_domain(text)
        self._models[obj.name] = (text, m)
        return m

    async def _mon(self, obj: DomainObj) -> tuple[DomainRuntime, QMPMonitor]:
        rt = await self.lc.runtime(obj)
        assert rt.monitor is not None
        return rt, rt.monitor

    async def _qmp(self, mon: QMPMonitor, cmd: str, args: dict[str, Any] | None = None) -> Any:
        from pyvirt.drivers.qemu.monitor import QMPClosed, QMPCommandError

        try:
            return await mon.execute(cmd, args)
        except QMPCommandError as e:
            raise err(ErrorCode.INTERNAL_ERROR, f"internal error: unable to execute QEMU command '{cmd}': {e.desc}") from e
        except QMPClosed as e:
            raise err(ErrorCode.OPERATION_FAILED, "operation failed: domain is no longer running") from e

    @staticmethod
    def _block_entry(blocks: list[dict[str, Any]], alias: str | None) -> dict[str, Any] | None:
        for b in blocks:
            qdev = str(b.get("qdev", ""))
            if alias and (qdev == alias or f"/{alias}/" in qdev or qdev.endswith(f"/{alias}")):
                return b
        return None

    async def _chain_nodes(self, mon: QMPMonitor, disk: DiskDef) -> tuple[str, list[ChainLayer], list[str]]:
        """(root node, chain, node name per layer) of a running disk."""
        root, chain, names, _owned = await self._chain_nodes_owned(mon, disk)
        return root, chain, names

    async def _chain_nodes_owned(self, mon: QMPMonitor, disk: DiskDef
                                 ) -> tuple[str, list[ChainLayer], list[str], dict[str, list[str]]]:
        """:meth:`_chain_nodes` plus the monitor-owned node names per image file (format
        nodes first); the two queries go out together (one round trip, not two).

        What the queries found is kept per monitor and disk and used again, without
        asking, while the monitor's ``generation`` has not moved (no command but queries
        and run-state ones, no event but guest notices) and the live XML still shows the
        same chain. Domain start seeds it (:meth:`chains_into_model`)."""
        gen = mon.generation
        hit = self._nodes.get(mon, {}).get(disk.alias) if disk.alias else None  # no alias: no key, no cache
        if hit is not None and hit[0] == gen and hit[1].chain == chain_of(disk):
            return hit[1].copy()
        blocks, nodes = await self._pipelined(
            mon, [("query-block", None), ("query-named-block-nodes", {"flat": True})], strict=True)
        found = _nodes_of(blocks, nodes, disk.alias)
        if found is None:
            raise err(ErrorCode.OPERATION_INVALID, f"Requested operation is not valid: disk '{disk.target.dev}' does not have a source")
        if disk.alias:
            self._nodes.setdefault(mon, {})[disk.alias] = (gen, found)
        return found.copy()

    async def _pipelined(self, mon: QMPMonitor, calls: list[tuple[str, dict[str, Any] | None]], *,
                         strict: bool = False) -> list[Any]:
        """Send ``calls`` at once and collect the replies in order. QEMU runs a monitor's
        commands one after the other in the order they arrive, so this keeps their order
        and costs one round trip instead of one each. ``strict``: the first failure raises
        (as :meth:`_qmp`); otherwise failed calls give their exception in the list."""
        import asyncio

        if strict:
            return list(await asyncio.gather(*(self._qmp(mon, c, a) for c, a in calls)))
        return list(await asyncio.gather(*(mon.execute(c, a) for c, a in calls), return_exceptions=True))

    def _busy(self, obj: DomainObj, disk: str) -> None:
        if (obj.name, disk) in self._jobs:
            raise err(ErrorCode.BLOCK_COPY_ACTIVE, f"block copy still active: disk '{disk}' already in active block job")

    async def refresh_chains(self, obj: DomainObj, mon: QMPMonitor | None = None, *, save: bool = True) -> None:
        """Rebuild the live XML's backing chains from query-block (and persist the status)."""
        if mon is None:
            if obj.runtime is None or obj.runtime.monitor is None:
                return
            mon = obj.runtime.monitor
        m = self.live_model(obj)
        blocks = await self._qmp(mon, "query-block")
        chains: dict[str, list[ChainLayer]] = {}
        for d in m.devices.disks:
            entry = self._block_entry(blocks, d.alias)
            if entry is not None and "inserted" in entry:
                chains[d.target.dev] = chain_from_image_info(entry["inserted"].get("image") or {})
        obj.live_xml = live_xml_with_chains(obj.live_xml or "", chains)
        if save:
            self.store.save_status(obj)

    async def chains_into_model(self, m: DomainDef, mon: QMPMonitor) -> None:
        """At start: put every disk's chain (query-block) into the runtime model before
        the first live XML is formatted - no second parse, format or status write."""
        from pyvirt.drivers.qemu.backingchain import set_disk_chain, start_indexes
        from pyvirt.drivers.qemu.monitor import QMPClosed, QMPCommandError

        gen = mon.generation
        # the node names ride along (seeding _chain_nodes_owned's cache for a first job)
        blocks, nodes = await self._pipelined(
            mon, [("query-block", None), ("query-named-block-nodes", {"flat": True})])
        if isinstance(blocks, (QMPClosed, QMPCommandError)):
            return
        if isinstance(blocks, BaseException):
            raise blocks
        if isinstance(nodes, BaseException):
            nodes = []  # the chains alone; no node cache
        chains: list[list[ChainLayer]] = []
        cache = self._nodes.setdefault(mon, {})
        for d in m.devices.disks:
            entry = self._block_entry(blocks, d.alias)
            chains.append(chain_from_image_info(entry["inserted"].get("image") or {})
                          if entry is not None and "inserted" in entry else [])
            found = _nodes_of(blocks, nodes, d.alias) if nodes and d.alias else None
            if found is not None and d.alias:
                cache[d.alias] = (gen, found)
        # libvirt's numbering (from the last disk up), not definition order
        for d, chain, idx in zip(m.devices.disks, chains, start_indexes(chains), strict=True):
            if chain:
                set_disk_chain(d, chain, 0, {layer.path: i for layer, i in zip(chain, idx, strict=True)})

    # ------------------------------------------------------------------ start jobs
    async def commit(self, obj: DomainObj, disk: str, base: str | None, top: str | None,
                     bandwidth: int, flags: int) -> None:
        d = find_disk(self.live_model(obj), disk)
        dev = d.target.dev
        self._busy(obj, dev)
        _rt, mon = await self._mon(obj)
        root, chain, names, owned = await self._chain_nodes_owned(mon, d)
        t, b = commit_layers(chain, dev, base, top, flags)
        kind = BlockJobType.ACTIVE_COMMIT if t == 0 else BlockJobType.COMMIT
        jid = job_id(kind, dev)
        args: dict[str, Any] = {"job-id": jid, "device": root, "base-node": names[b],
                                "auto-finalize": True, "auto-dismiss": False}
        if t != 0:
            args["top-node"] = names[t]
        speed = bandwidth_bytes(bandwidth, bool(flags & COMMIT_BANDWIDTH_BYTES))
        if speed:
            args["speed"] = speed
        if not names[b] or not names[t]:
            raise err(ErrorCode.INTERNAL_ERROR, f"internal error: cannot find the block nodes of the chain of '{dev}'")
        if flags & COMMIT_RELATIVE and t != 0:  # an active commit has no image above top: no-op
            args["backing-file"] = await blockjob_relative.relative_backing(chain[0].path, chain[0].format, t - 1, b)
        job = JobState(jid, dev, kind, d.source.path if d.source and d.source.path else dev,
                       before=chain, after=chain[:t] + chain[b:], owned=owned)
        if kind is BlockJobType.ACTIVE_COMMIT:
            job.copy_dest = chain[b]  # the mirror target the live XML shows (blockjob_mirror.py)
        if flags & COMMIT_DELETE:
            job.delete = [layer.path for layer in chain[t:b]] if t != 0 else [layer.path for layer in chain[1:b]]
        self._jobs[(obj.name, dev)] = job
        try:
            await self._qmp(mon, "block-commit", args)
        except BaseException:
            self._jobs.pop((obj.name, dev), None)
            raise
        self._remember(obj, job)

    async def pull(self, obj: DomainObj, disk: str, base: str | None, bandwidth: int, flags: int) -> None:
        d = find_disk(self.live_model(obj), disk)
        dev = d.target.dev
        self._busy(obj, dev)
        _rt, mon = await self._mon(obj)
        root, chain, names, owned = await self._chain_nodes_owned(mon, d)
        args: dict[str, Any] = {"job-id": job_id(BlockJobType.PULL, dev), "device": root, "auto-dismiss": False}
        b = len(chain)  # no base: everything below the top is pulled into it
        if base is not None:
            b = lookup_layer(chain, base, 1, dev)
            args["base-node"] = names[b]
            if flags & blockjob_relative.REBASE_RELATIVE:
                args["backing-file"] = await blockjob_relative.relative_backing(chain[0].path, chain[0].format, 0, b)
        speed = bandwidth_bytes(bandwidth, bool(flags & PULL_BANDWIDTH_BYTES))
        if speed:
            args["speed"] = speed
        job = JobState(str(args["job-id"]), dev, BlockJobType.PULL, d.source.path if d.source and d.source.path else dev,
                       before=chain, after=chain[:1] + chain[b:], owned=owned)
        self._jobs[(obj.name, dev)] = job
        try:
            await self._qmp(mon, "block-stream", args)
        except BaseException:
            self._jobs.pop((obj.name, dev), None)
            raise

    async def copy(self, obj: DomainObj, disk: str, dest: str, fmt: str | None, bandwidth: int, flags: int,
                   *, granularity: int = 0, buf_size: int = 0) -> None:
        """blockcopy to a file: ``flags`` are VIR_DOMAIN_BLOCK_COPY_* (shallow, reuse-ext)."""
        from pyvirt.drivers.qemu.backingchain import run_qemu_img

        d = find_disk(self.live_model(obj), disk)
        dev = d.target.dev
        self._busy(obj, dev)
        _rt, mon = await self._mon(obj)
        root, chain, names, owned = await self._chain_nodes_owned(mon, d)
        shallow = bool(flags & COPY_SHALLOW) and len(chain) > 1
        reuse = bool(flags & COPY_REUSE_EXT)
        dest = os.path.abspath(dest)
        fmt = fmt or (chain[0].format if not reuse else None) or "raw"
        if reuse and not os.path.exists(dest):
            raise err(ErrorCode.INVALID_ARG, f"invalid argument: missing destination file for disk '{dev}': {dest}")
        if not reuse and os.path.exists(dest):
            raise err(ErrorCode.CONFIG_UNSUPPORTED, f"unsupported configuration: external destination file for "
                      f"disk {dev} already exists and is not a block device: {dest}")
        created = False
        if not reuse:
            entry = self._block_entry(await self._qmp(mon, "query-block"), d.alias) or {}
            size = int(entry.get("inserted", {}).get("image", {}).get("virtual-size", 0))
            args = ["create", "-q", "-f", fmt]
            if shallow:
                args += ["-b", chain[1].path, "-F", chain[1].format]
            await run_qemu_img(*args, dest, str(size))
            created = True
        # after a pivot the previous copy's node is the disk's root: a second copy needs a new name
        taken = {str(n.get("node-name")) for n in await self._qmp(mon, "query-named-block-nodes", {"flat": True})}
        node = next(n for n in (f"pyvirt-copy{i or ''}-{dev}" for i in range(len(taken) + 1)) if n not in taken)
        add: dict[str, Any] = {"driver": fmt, "node-name": node, "file": {"driver": "file", "filename": dest}}
        if shallow and fmt == "qcow2":
            add["backing"] = names[1] or None
        elif fmt == "qcow2":
            add["backing"] = None
        jid = job_id(BlockJobType.COPY, dev)
        job = JobState(jid, dev, BlockJobType.COPY, d.source.path if d.source and d.source.path else dev,
                       copy_node=node, copy_dest=ChainLayer(dest, fmt))
        if not reuse:  # a file we created: its chain is ours to know (a reused one may have its own)
            job.before, job.after = chain, [ChainLayer(dest, fmt), *(chain[1:] if shallow else [])]
            job.owned = {**owned, dest: [node]}
        self._jobs[(obj.name, dev)] = job
        try:
            await self._qmp(mon, "blockdev-add", add)
            margs: dict[str, Any] = {"job-id": jid, "device": root, "target": node,
                                     "sync": "top" if shallow else "full", "auto-dismiss": False}
            speed = bandwidth_bytes(bandwidth, True)
            if speed:
                margs["speed"] = speed
            # virDomainBlockCopy's granularity / buf-size typed parameters; QEMU checks the values
            if granularity:
                margs["granularity"] = granularity
            if buf_size:
                margs["buf-size"] = buf_size
            try:
                await self._qmp(mon, "blockdev-mirror", margs)
            except BaseException:
                with contextlib.suppress(VirtError):
                    await self._qmp(mon, "blockdev-del", {"node-name": node})
                raise
            self._remember(obj, job)
        except BaseException:
            self._jobs.pop((obj.name, dev), None)
            if created:
                with contextlib.suppress(OSError):
                    os.unlink(dest)
            raise

    # ------------------------------------------------------------------ manage jobs
    def _job(self, obj: DomainObj, dev: str) -> JobState | None:
        return self._jobs.get((obj.name, dev))

    async def _adopt(self, obj: DomainObj, mon: QMPMonitor, d: DiskDef) -> JobState | None:
        """A job QEMU runs that this driver did not start (an earlier process did)."""
        dev = d.target.dev
        job = self._job(obj, dev)
        if job is not None:
            return job
        for j in await self._qmp(mon, "query-block-jobs"):
            parsed = parse_job_id(str(j.get("device", "")))
            if parsed is not None and parsed[1] == dev:
                job = JobState(str(j["device"]), dev, parsed[0], d.source.path if d.source and d.source.path else dev,
                               ready=bool(j.get("ready")))
                if parsed[0] is BlockJobType.COPY:
                    job.copy_node = f"pyvirt-copy-{dev}"
                blockjob_adopt.restore(self, obj, job)
                self._jobs[(obj.name, dev)] = job
                if j.get("status") == "concluded":
                    await self._conclude(obj, mon, job, BlockJobStatus.COMPLETED if not j.get("error") else BlockJobStatus.FAILED)
                    return None
                return job
        return None

    async def info(self, obj: DomainObj, disk: str, flags: int) -> BlockJobInfo | None:
        d = find_disk(self.live_model(obj), disk)
        _rt, mon = await self._mon(obj)
        job = await self._adopt(obj, mon, d)
        if job is None:
            return None
        for j in await self._qmp(mon, "query-block-jobs"):
            if j.get("device") == job.jid:
                speed = int(j.get("speed", 0))
                bw = speed if flags & INFO_BANDWIDTH_BYTES else speed >> 20
                return BlockJobInfo(job.type, bw, int(j.get("offset", 0)), int(j.get("len", 0)))
        return None

    async def set_speed(self, obj: DomainObj, disk: str, bandwidth: int, flags: int) -> None:
        d = find_disk(self.live_model(obj), disk)
        _rt, mon = await self._mon(obj)
        job = await self._adopt(obj, mon, d)
        if job is None:
            raise err(ErrorCode.OPERATION_INVALID, f"Requested operation is not valid: disk {d.target.dev} does not have an active block job")
        speed = bandwidth_bytes(bandwidth, bool(flags & SPEED_BANDWIDTH_BYTES))
        await self._qmp(mon, "block-job-set-speed", {"device": job.jid, "speed": speed})

    async def abort(self, obj: DomainObj, disk: str, flags: int) -> JobState:
        """Cancel a job, or (PIVOT) complete a ready copy / active commit. Returns the job
        state; unless ASYNC the caller awaits ``state.done`` (outside the domain job)."""
        d = find_disk(self.live_model(obj), disk)
        dev = d.target.dev
        _rt, mon = await self._mon(obj)
        job = await self._adopt(obj, mon, d)
        if job is None:
            raise err(ErrorCode.OPERATION_INVALID, f"Requested operation is not valid: disk {dev} does not have an active block job")
        if job.aborting or job.pivoting:
            raise err(ErrorCode.OPERATION_INVALID, f"Requested operation is not valid: block job on disk '{dev}' is still being ended")
        if flags & ABORT_PIVOT:
            if job.type not in (BlockJobType.COPY, BlockJobType.ACTIVE_COMMIT):
                raise err(ErrorCode.OPERATION_INVALID,
                          f"Requested operation is not valid: pivot of disk '{dev}' requires an active copy job")
            if not job.ready:
                raise err(ErrorCode.BLOCK_COPY_ACTIVE, f"block copy still active: disk '{dev}' not ready for pivot yet")
            job.pivoting = True
            try:
                await self._qmp(mon, "block-job-complete", {"device": job.jid})
            except BaseException:
                job.pivoting = False
                raise
        else:
            job.aborting = True
            try:
                await self._qmp(mon, "block-job-cancel", {"device": job.jid})
            except BaseException:
                job.aborting = False
                raise
        return job

    # ------------------------------------------------------------------ events
    async def on_event(self, obj: DomainObj, rt: DomainRuntime, ev: QMPEvent) -> None:
        jid = str(ev.data.get("device", ""))
        parsed = parse_job_id(jid)
        if parsed is None or rt.monitor is None:
            return
        kind, dev = parsed
        job = self._jobs.get((obj.name, dev))
        if job is None:
            d = find_disk(self.live_model(obj), dev)
            job = JobState(jid, dev, kind, d.source.path if d.source and d.source.path else dev)
            if kind is BlockJobType.COPY:
                job.copy_node = f"pyvirt-copy-{dev}"
            blockjob_adopt.restore(self, obj, job)
            self._jobs[(obj.name, dev)] = job
        if ev.name == "BLOCK_JOB_READY":
            job.ready = True
            self.events.publish(BlockJobEventMsg(obj.ref(), job.path, dev, job.type, BlockJobStatus.READY))
        elif ev.name == "BLOCK_JOB_COMPLETED":
            failed = bool(ev.data.get("error"))
            status = BlockJobStatus.FAILED if failed else (
                BlockJobStatus.CANCELED if job.aborting and not job.pivoting else BlockJobStatus.COMPLETED)
            await self._conclude(obj, rt.monitor, job, status)
        elif ev.name == "BLOCK_JOB_CANCELLED":
            await self._conclude(obj, rt.monitor, job, BlockJobStatus.CANCELED)

    async def _conclude(self, obj: DomainObj, mon: QMPMonitor, job: JobState, status: BlockJobStatus) -> None:
        """The job ended: dismiss it, drop a copy target we did not pivot to, update the
        chain (live XML, and the persistent source after a pivot), delete committed images."""
        if job.concluding:
            return
        job.concluding = True
        try:
            new = await self._finish(obj, mon, job, status)
            if status is BlockJobStatus.COMPLETED and job.delete:
                keep = {layer.path for layer in new}
                for p in job.delete:
                    if p not in keep:
                        with contextlib.suppress(OSError):
                            os.unlink(p)
        finally:
            # whatever failed above, nobody may wait forever on this job (a pivot's abort,
            # a client's --wait): QEMU did end it
            self._jobs.pop((obj.name, job.disk), None)
            blockjob_adopt.forget(self, obj, job.disk)
            job.status = status
            job.done.set()
            self.events.publish(BlockJobEventMsg(obj.ref(), job.path, job.disk, job.type, status))

    async def _finish(self, obj: DomainObj, mon: QMPMonitor, job: JobState, status: BlockJobStatus
                      ) -> list[ChainLayer]:
        """Put the disk's new chain into the live XML (and the persistent source after a
        pivot), save the status once, then dismiss the job and delete the nodes of images
        that left the chain. Returns the new chain.

        For a job this driver started, the new chain follows from the old one and the job
        (a pivoted active commit leaves chain[base:], a pull the top over its base...) and
        the nodes to delete were named at the start: the dismiss and the deletions go out
        together, one round trip. An adopted job (started by an earlier process) asks QEMU.

        Crash safety: the status is written before the job is dismissed. Dying before the
        write leaves the concluded job in QEMU (auto-dismiss is off) and the next driver's
        re-adoption (blockjob_adopt) concludes it from query-block; dying after it leaves
        a status that already shows the new chain."""
        from pyvirt.drivers.qemu.monitor import QMPClosed, QMPCommandError

        pivoted = status is BlockJobStatus.COMPLETED and (
            job.type is BlockJobType.COMMIT or job.type is BlockJobType.PULL or job.pivoting)
        old = self._disk_chain(obj, job.disk)
        known = job.before is not None and old == job.before
        new = (job.after if pivoted else old) if known else None
        if new is not None:
            if new != old:
                self._set_live_chain(obj, job.disk, new)
        else:
            with contextlib.suppress(VirtError, QMPClosed, QMPCommandError):
                await self.refresh_chains(obj, mon, save=False)
            new = self._disk_chain(obj, job.disk)
        if pivoted and old and new and old[0].path != new[0].path:
            self._persist_source(obj, job.disk, old[0].path, new[0])
        self.store.save_status(obj)  # once, with the new chain (and next_xml if it changed)
        calls: list[tuple[str, dict[str, Any] | None]] = [("job-dismiss", {"id": job.jid})]
        if job.copy_node and not pivoted:
            calls.append(("blockdev-del", {"node-name": job.copy_node}))
        gone = {layer.path for layer in old} - {layer.path for layer in new}
        if not known:
            await self._pipelined(mon, calls)  # failures (node already gone, QEMU exited) change nothing here
            if old and new:
                await self._drop_nodes(mon, gone)
            return new
        calls += [("blockdev-del", {"node-name": n}) for n in self._owned_nodes(job, old, gone)]
        collect = self._send_behind(mon, calls)
        background = getattr(self.lc, "_background", None)  # Lifecycle's task set; unit fakes have none
        if background is not None:
            background(collect)
        else:
            await collect
        return new

    @staticmethod
    def _send_behind(mon: QMPMonitor, calls: list[tuple[str, dict[str, Any] | None]]
                     ) -> Coroutine[Any, Any, None]:
        """Send the dismiss and deletions without making the job's end wait for them (they
        cost QEMU ~1 ms each). They are written before the caller publishes the end and
        releases the waiters, so they reach the monitor before any command a woken client
        sends next: QEMU runs those after them (a new job with the same id, or on the
        image below, finds the old job and nodes gone). The replies are collected in the
        driver's background set (the returned coroutine), which closing the driver waits
        for - a one-shot pyvirsh does not hang up first (QEMU drops the queued commands of
        a monitor that closed)."""
        import asyncio

        from pyvirt.drivers.qemu.monitor import QMPClosed

        try:
            futs = mon.send_nowait(calls)
        except QMPClosed:
            futs = []

        async def collect() -> None:
            # failures change nothing here; a QEMU that never answers must not hold up close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*futs, return_exceptions=True), 60)

        return collect()

    @staticmethod
    def _owned_nodes(job: JobState, old: list[ChainLayer], gone: set[str]) -> list[str]:
        """Monitor-owned nodes of the images in ``gone``, top image first and each image's
        format node before its protocol node (blockdev-del's order)."""
        out: list[str] = []
        for layer in old:
            if layer.path in gone:
                out += job.owned.get(layer.path, [])
        return out

    def _set_live_chain(self, obj: DomainObj, dev: str, chain: list[ChainLayer]) -> None:
        """Show ``chain`` for disk ``dev`` in the live XML: one format, and a parse only
        when no model of the current text is cached (the cached one is changed in place:
        it describes the old text, which is being replaced); the model stays cached for
        the new text (no re-parse for the next call)."""
        old = obj.live_xml or ""
        hit = self._models.get(obj.name)
        text, m = live_xml_and_model_with_chains(old, {dev: chain},
                                                 hit[1] if hit is not None and hit[0] == old else None)
        obj.live_xml = text
        self._models[obj.name] = (text, m)

    @staticmethod
    async def _drop_nodes(mon: QMPMonitor, gone: set[str]) -> None:
        """Delete the monitor-owned nodes of images that left the chain (the -blockdev pair
        of an old top, a copy target): while they exist they keep a reference to the
        image below, which then is no root node and cannot start the next job. Format
        nodes first, then their protocol nodes; nodes QEMU opened itself go on their own."""
        from pyvirt.drivers.qemu.monitor import QMPClosed, QMPCommandError

        if not gone:
            return
        try:
            nodes = await mon.execute("query-named-block-nodes", {"flat": True})
        except (QMPClosed, QMPCommandError):
            return
        doomed = [n for n in nodes if plain_filename(str(n.get("file"))) in gone and n.get("node-name")]
        doomed.sort(key=lambda n: str(n.get("drv")) in _PROTOCOL_DRIVERS)
        for n in doomed:
            with contextlib.suppress(QMPClosed, QMPCommandError):
                await mon.execute("blockdev-del", {"node-name": str(n["node-name"])})

    def _disk_chain(self, obj: DomainObj, dev: str) -> list[ChainLayer]:
        try:
            return chain_of(find_disk(self.live_model(obj), dev))
        except VirtError:
            return []

    def _persist_source(self, obj: DomainObj, dev: str, old_path: str, new: ChainLayer) -> None:
        """After a pivot the next boot must use the new image, as libvirt updates it."""
        from pyvirt.conf.domain import format_domain, parse_domain

        if not obj.persistent or obj.config_xml is None:
            return
        text = obj.next_xml or obj.config_xml
        m = parse_domain(text)
        try:
            d = find_disk(m, dev)
        except VirtError:
            return
        if d.source is None or d.source.path != old_path:
            return
        d.source.path = new.path
        if d.driver is not None:
            d.driver.type = new.format
        d.backing_store = None
        new_xml = str(format_domain(m, inactive=True))
        if obj.next_xml is not None:
            obj.next_xml = new_xml  # the caller saves the status that carries it
        else:
            from pyvirt.drivers.qemu.domainobj import DomainDefinition

            obj.set_definition(DomainDefinition.parse(new_xml))
            self.store.save_config(obj)

    def job_state(self, obj: DomainObj, dev: str) -> JobState | None:
        return self._jobs.get((obj.name, dev))

    def _remember(self, obj: DomainObj, job: JobState) -> None:
        """Keep what a restarted driver needs of a job just started (blockjob_adopt.py)."""
        if self._jobs.get((obj.name, job.disk)) is job and not job.concluding:
            blockjob_adopt.remember(self, obj, job)
