"""pyvirsh blockcommit, blockpull, blockcopy, blockjob, domblkinfo, domblkstat, blockresize,
save, restore, managedsave, managedsave-remove - with virsh 9.0's output.

``--wait`` waits on the BLOCK_JOB events (virsh polls every 500 ms; we never poll). The
``--verbose`` progress bar goes to stderr as virsh's does (``\\rBlock Pull: [100 %]``).
Messages carry no trailing newline where virsh's do not: the command separator (an empty
line after every command) ends them, as in virsh.

On a shut-off domain, commit and pull run offline (qemu-img) inside the API call; there
is nothing to wait for, so the completion message follows at once.

blockcommit and blockpull are light commands: through a daemon socket they run on the
blocking one-shot client (pyvirt.cli.blockjob_sync), so this module keeps asyncio, the
Driver ABC, pyvirt.enums and pyvirt.errors off its import path (each is loaded where the
driver proper is used); the statuses and job types are spelled out as ints (a unit test
holds them to pyvirt.enums).
"""

from __future__ import annotations

from pyvirt.cli.ctl import CmdFailed, virt_error

TYPE_CHECKING = False  # typing imports re: kept off the one-shot path
if TYPE_CHECKING:
    import asyncio
    from collections.abc import Awaitable, Callable

    from pyvirt.cli.ctl import Ctl
    from pyvirt.cli.spec import BoundArgs
    from pyvirt.drivers.base import BlockJobEventMsg, DomainEvent, DomainRef, Driver

COMMIT_SHALLOW, COMMIT_DELETE, COMMIT_ACTIVE, COMMIT_RELATIVE, COMMIT_BYTES = 1, 2, 4, 8, 16
REBASE_SHALLOW, REBASE_REUSE_EXT, REBASE_COPY, REBASE_RELATIVE, REBASE_BYTES = 1, 2, 8, 16, 64
ABORT_ASYNC, ABORT_PIVOT = 1, 2
SAVE_BYPASS_CACHE, SAVE_RUNNING, SAVE_PAUSED = 1, 2, 4
# virConnectDomainEventBlockJobStatus and virDomainBlockJobType (pyvirt.enums' BlockJobStatus
# and BlockJobType; plain ints so that the one-shot path does not import enum)
COMPLETED, FAILED, CANCELED, READY = 0, 1, 2, 3
JOB_PULL, JOB_COPY, JOB_COMMIT, JOB_ACTIVE_COMMIT = 1, 2, 3, 4

_LABELS = {JOB_PULL: "Block Pull", JOB_COPY: "Block Copy", JOB_COMMIT: "Block commit",
           JOB_ACTIVE_COMMIT: "Active Block Commit"}
_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")


def _pretty(n: int) -> tuple[float, str]:
    val, unit = float(n), 0
    while val >= 1024 and unit < len(_UNITS) - 1:
        val /= 1024
        unit += 1
    return val, _UNITS[unit]


def _run(ctl: Ctl, coro: Awaitable[object]) -> None:
    async def go() -> None:
        await coro

    try:
        ctl.call(go())
    except virt_error() as e:
        raise CmdFailed(e.message) from None


def progress(ctl: Ctl, label: str, cur: int, end: int) -> None:
    pct = 100 if end == 0 else int(cur * 100 / end)
    ctl.err.write(f"\r{label}: [{pct:3d} %]")
    ctl.err.flush()


def _bandwidth(ctl: Ctl, a: BoundArgs) -> int:
    return a.int("bandwidth") or 0


class _Waiter:
    """Collects one disk's block job events from the moment it is created."""

    def __init__(self, drv: Driver, dom: DomainRef) -> None:
        import asyncio

        from pyvirt.drivers.base import BlockJobEventMsg

        self.drv = drv
        self.dom = dom
        self._kind = BlockJobEventMsg
        self.queue: asyncio.Queue[BlockJobEventMsg] = asyncio.Queue()
        self.token = drv.events.subscribe(self._on)

    def _on(self, ev: DomainEvent) -> None:
        if isinstance(ev, self._kind) and ev.dom.uuid == self.dom.uuid:
            self.queue.put_nowait(ev)

    async def next(self, disk: str, path: str, timeout: float | None) -> BlockJobEventMsg:
        import asyncio

        async def loop() -> BlockJobEventMsg:
            while True:
                ev = await self.queue.get()
                if disk in (ev.disk, ev.path) or path in (ev.disk, ev.path):
                    return ev

        return await asyncio.wait_for(loop(), timeout)

    def close(self) -> None:
        self.drv.events.unsubscribe(self.token)


async def _disk_target(drv: Driver, dom: DomainRef, disk: str) -> str:
    """The target name (``vda``) of the disk whose target or source file is ``disk``."""
    if "/" not in disk:
        return disk
    from xml.etree import ElementTree

    root = ElementTree.fromstring(await drv.get_xml_desc(dom, 0))
    for d in root.iterfind("./devices/disk"):
        src, tgt = d.find("source"), d.find("target")
        if src is None or tgt is None:
            continue
        if disk in (src.get("file"), src.get("dev")):
            return tgt.get("dev") or disk
    return disk


async def _job_run(ctl: Ctl, dom: DomainRef, disk: str, start: Callable[[], Awaitable[None]], *,
                   blocking: bool, verbose: bool, timeout: int | None, label_type: int,
                   on_ready: Callable[[], Awaitable[str]] | None) -> str | int | None:
    """Start a job; when blocking, wait for its end (or READY, then ``on_ready``).

    Returns None when not blocking, the final message, or the status it ended with.
    """
    import asyncio

    # the driver proper's statuses stay pyvirt.enums members (its modules load it anyway)
    from pyvirt.enums import BlockJobStatus

    drv = ctl.conn
    # Subscribe first: a remote connection then registers its event callbacks while
    # is_active travels, and the job starts only once they are in place - an event the
    # server sent before would be lost and --wait would never return.
    waiter = _Waiter(drv, dom) if blocking else None
    try:
        active = await drv.is_active(dom)
        if waiter is not None and not active:  # offline: the job ends inside the call
            waiter.close()
            waiter = None
        register: Callable[[], Awaitable[None]] | None = getattr(drv, "register_events", None)
        if waiter is not None and register is not None:
            await register()
        await start()
        if waiter is None:
            return None if not blocking else BlockJobStatus.COMPLETED
        if verbose:
            info = await drv.get_block_job_info(dom, disk, 0)
            if info is not None:
                progress(ctl, _LABELS[label_type], info.cur, info.end)
        # BLOCK_JOB_2 (all a remote client subscribes to) names the disk by target: a
        # --path given as the image file must be matched through the domain's disks.
        target = await _disk_target(drv, dom, disk)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout if timeout else None
        while True:
            left = None if deadline is None else max(0.0, deadline - loop.time())
            try:
                ev = await waiter.next(disk, target, left)
            except TimeoutError:
                await drv.block_job_abort(dom, disk, 0)
                return BlockJobStatus.CANCELED
            if verbose and ev.status in (READY, COMPLETED):
                progress(ctl, _LABELS[label_type], 1, 1)
            if ev.status == READY:
                if on_ready is not None:
                    return await on_ready()
                return BlockJobStatus.READY
            return ev.status
    finally:
        if waiter is not None:
            waiter.close()


def _run_job(ctl: Ctl, coro: Awaitable[str | int | None]) -> str | int | None:
    async def go() -> str | int | None:
        return await coro

    try:
        return ctl.call_async(go())
    except virt_error() as e:
        raise CmdFailed(e.message) from None


def _check_verbose(a: BoundArgs, blocking: bool, extra: str) -> None:
    if a.flag("verbose") and not blocking:
        raise CmdFailed(f"--verbose requires at least one of --timeout, --wait, --pivot, or --{extra}")
    if a.flag("async") and not blocking:
        raise CmdFailed(f"--async requires at least one of --timeout, --wait, --pivot, or --{extra}")


# ----------------------------------------------------------------------------- blockcommit


def commit_ready(path: str, pivot: bool, keep: bool, abort_flags: int) -> tuple[int | None, str, str | None]:
    """What an active commit does on READY: (abort flags, or None for nothing; the final
    message; the line a failed abort is reported under, or None for the error alone)."""
    if pivot:
        return abort_flags | ABORT_PIVOT, "\nSuccessfully pivoted", f"failed to pivot job for disk {path}"
    if keep:
        return abort_flags, "\nCommit complete, overlay image kept", None
    return None, "\nNow in synchronized phase", None


def cmd_blockcommit(ctl: Ctl, a: BoundArgs) -> None:
    one_shot = ctl.one_shot_client()
    d = ctl.domain(a.req("domain"))
    path = a.req("path")
    pivot, keep = a.flag("pivot"), a.flag("keep-overlay")
    if pivot and keep:
        raise CmdFailed("Options --pivot and --keep-overlay are mutually exclusive")
    active = a.flag("active") or pivot or keep
    timeout = a.int("timeout")
    blocking = a.flag("wait") or pivot or keep or timeout is not None
    _check_verbose(a, blocking, "keep-overlay")
    flags = 0
    for opt, bit in (("shallow", COMMIT_SHALLOW), ("delete", COMMIT_DELETE), ("keep-relative", COMMIT_RELATIVE),
                     ("bytes", COMMIT_BYTES)):
        if a.flag(opt):
            flags |= bit
    if active:
        flags |= COMMIT_ACTIVE
    abort_flags = ABORT_ASYNC if a.flag("async") else 0
    on_ready = commit_ready(path, pivot, keep, abort_flags)
    base, top, bw = a.get("base"), a.get("top"), _bandwidth(ctl, a)
    res: str | int | None = None
    if one_shot is not None:
        from pyvirt.cli import blockjob_sync as bs

        conn = one_shot
        one_shot, res = bs.run_or_reopen(
            ctl, conn, d, path, lambda: bs.jobs.block_commit(conn, d, path, base, top, bw, flags),
            blocking=blocking, verbose=a.flag("verbose"), timeout=timeout, label=_LABELS[JOB_COMMIT],
            on_ready=on_ready)
    if one_shot is None:
        drv = ctl.conn

        async def ready() -> str:
            abort, msg, failed = on_ready
            if abort is not None:
                try:
                    await drv.block_job_abort(d, path, abort)
                except virt_error() as e:
                    if failed is None:
                        raise
                    raise CmdFailed(failed, e.message) from None
            return msg

        res = _run_job(ctl, _job_run(
            ctl, d, path, lambda: drv.block_commit(d, path, base, top, bw, flags),
            blocking=blocking, verbose=a.flag("verbose"), timeout=timeout,
            label_type=JOB_COMMIT, on_ready=ready))
    if res is None:
        ctl.print_extra("Active Block Commit started" if active else "Block Commit started")
    elif isinstance(res, str):
        ctl.print_extra(res)
    elif res == FAILED:
        raise CmdFailed("\nCommit failed")
    elif res == CANCELED:
        ctl.print_extra("\nCommit aborted")
    elif active and pivot:  # offline: the commit already made the base the disk's source
        ctl.print_extra("\nSuccessfully pivoted")
    else:
        ctl.print_extra("\nCommit complete")


# ----------------------------------------------------------------------------- blockpull


def cmd_blockpull(ctl: Ctl, a: BoundArgs) -> None:
    one_shot = ctl.one_shot_client()
    d = ctl.domain(a.req("domain"))
    path = a.req("path")
    timeout = a.int("timeout")
    blocking = a.flag("wait") or timeout is not None
    if a.flag("verbose") and not blocking:
        raise CmdFailed("missing --wait option")
    if a.flag("async") and not blocking:
        raise CmdFailed("missing --wait option")
    base = a.get("base")
    # virsh: virDomainBlockRebase with a base or --keep-relative, else virDomainBlockPull
    # (its own flag set and errors; BANDWIDTH_BYTES is 64 in both)
    rebase = base is not None or a.flag("keep-relative")
    flags = (REBASE_RELATIVE if a.flag("keep-relative") else 0) | (REBASE_BYTES if a.flag("bytes") else 0)
    bw = _bandwidth(ctl, a)
    res: str | int | None = None
    if one_shot is not None:
        from pyvirt.cli import blockjob_sync as bs

        conn = one_shot

        def start_sync() -> None:
            if rebase:
                bs.jobs.block_rebase(conn, d, path, base, bw, flags)
            else:
                bs.jobs.block_pull(conn, d, path, bw, flags)

        one_shot, res = bs.run_or_reopen(ctl, conn, d, path, start_sync, blocking=blocking,
                                         verbose=a.flag("verbose"), timeout=timeout, label=_LABELS[JOB_PULL],
                                         on_ready=None)
    if one_shot is None:
        drv = ctl.conn
        res = _run_job(ctl, _job_run(
            ctl, d, path,
            (lambda: drv.block_rebase(d, path, base, bw, flags)) if rebase else (lambda: drv.block_pull(d, path, bw, flags)),
            blocking=blocking, verbose=a.flag("verbose"), timeout=timeout, label_type=JOB_PULL, on_ready=None))
    if res is None:
        ctl.print_extra("Block Pull started")
    elif res == FAILED:
        raise CmdFailed("\nPull failed")
    elif res == CANCELED:
        ctl.print_extra("\nPull aborted")
    else:
        ctl.print_extra("\nPull complete")


# ----------------------------------------------------------------------------- blockcopy


def _copy_sizes(a: BoundArgs) -> tuple[int, int]:
    """--granularity (unsigned int) and --buf-size (unsigned long long), as virsh parses them."""
    out = []
    for opt, top in (("granularity", (1 << 32) - 1), ("buf-size", (1 << 64) - 1)):
        text = a.get(opt)
        if text is None:
            out.append(0)
            continue
        if not text.isdigit() or int(text) > top:
            raise CmdFailed(f"Numeric value '{text}' for <{opt}> option is malformed or out of range")
        out.append(int(text))
    return out[0], out[1]


def _xml_attr(v: str) -> str:
    """A value for a single-quoted XML attribute."""
    from xml.sax.saxutils import escape

    return escape(v, {"'": "&apos;"})


def cmd_blockcopy(ctl: Ctl, a: BoundArgs) -> None:
    d = ctl.domain(a.req("domain"))
    path = a.req("path")
    dest = a.get("dest")
    if not dest:
        raise CmdFailed("need either --dest or --xml")
    pivot, finish = a.flag("pivot"), a.flag("finish")
    if pivot and finish:
        raise CmdFailed("Options --pivot and --finish are mutually exclusive")
    timeout = a.int("timeout")
    blocking = a.flag("wait") or pivot or finish or timeout is not None
    _check_verbose(a, blocking, "finish")
    flags = REBASE_COPY
    if a.flag("shallow"):
        flags |= REBASE_SHALLOW
    if a.flag("reuse-external"):
        flags |= REBASE_REUSE_EXT
    if a.flag("bytes"):
        flags |= REBASE_BYTES
    fmt = a.get("format")
    granularity, buf_size = _copy_sizes(a)
    abort_flags = ABORT_ASYNC if a.flag("async") else 0
    drv = ctl.conn

    async def start() -> None:
        # like virsh: options only virDomainBlockCopy's typed parameters carry select it
        if fmt or granularity or buf_size:
            driver = f"<driver type='{_xml_attr(fmt)}'/>" if fmt else ""
            xml = f"<disk type='file'><source file='{_xml_attr(dest)}'/>{driver}</disk>"
            bw = _bandwidth(ctl, a)
            await drv.block_copy(d, path, xml, bw if a.flag("bytes") else bw << 20,
                                 (1 if a.flag("shallow") else 0) | (2 if a.flag("reuse-external") else 0),
                                 granularity=granularity, buf_size=buf_size)
        else:
            await drv.block_rebase(d, path, dest, _bandwidth(ctl, a), flags)

    async def ready() -> str:
        if pivot:
            try:
                await drv.block_job_abort(d, path, abort_flags | ABORT_PIVOT)
            except virt_error() as e:
                raise CmdFailed(f"failed to pivot job for disk {path}", e.message) from None
            return "\nSuccessfully pivoted"
        if finish:
            await drv.block_job_abort(d, path, abort_flags)
            return "\nSuccessfully copied"
        return "\nNow in mirroring phase"

    res = _run_job(ctl, _job_run(ctl, d, path, start, blocking=blocking, verbose=a.flag("verbose"),
                                 timeout=timeout, label_type=JOB_COPY, on_ready=ready))
    if res is None:
        ctl.print_extra("Block Copy started")
    elif isinstance(res, str):
        ctl.print_extra(res)
    elif res == FAILED:
        raise CmdFailed("\nCopy failed")
    elif res == CANCELED:
        ctl.print_extra("\nCopy aborted")


# ----------------------------------------------------------------------------- blockjob


def cmd_blockjob(ctl: Ctl, a: BoundArgs) -> None:
    d = ctl.domain(a.req("domain"))
    path = a.req("path")
    drv = ctl.conn
    bw = a.int("bandwidth")
    if a.flag("abort") or a.flag("pivot"):
        flags = (ABORT_ASYNC if a.flag("async") else 0) | (ABORT_PIVOT if a.flag("pivot") else 0)
        _run(ctl, drv.block_job_abort(d, path, flags))
        return
    if bw is not None:
        _run(ctl, drv.block_job_set_speed(d, path, bw, 1 if a.flag("bytes") else 0))
        return
    try:
        info = ctl.call(drv.get_block_job_info(d, path, 1))  # bytes: virsh prints both units
    except virt_error() as e:
        raise CmdFailed(e.message) from None
    if info is None:
        ctl.print(f"No current block job for {path}")
        return
    if a.flag("raw"):
        ctl.print(f" type={int(info.type)}\n bandwidth={info.bandwidth}\n cur={info.cur}\n end={info.end}\n")
        return
    progress(ctl, _LABELS.get(info.type, "Unknown job"), info.cur, info.end)
    if info.bandwidth:
        val, unit = _pretty(info.bandwidth)
        ctl.print(f"    Bandwidth limit: {info.bandwidth} bytes/s ({val:.3f} {unit}/s)\n")
    else:
        ctl.print("\n")


# ----------------------------------------------------------------------------- block devices


def cmd_domblkinfo(ctl: Ctl, a: BoundArgs) -> None:
    if a.flag("all"):
        if a.get("device"):
            raise CmdFailed("Options --all and --device are mutually exclusive")
        from pyvirt.cli.blockinfo_all import domblkinfo_all

        domblkinfo_all(ctl, ctl.domain(a.req("domain")), a.flag("human"))
        return
    d = ctl.domain(a.req("domain"))
    dev = a.get("device")
    if not dev:
        raise CmdFailed("command 'domblkinfo' requires <device> option")
    try:
        info = ctl.call(ctl.conn.get_block_info(d, dev, 0))
    except virt_error() as e:
        raise CmdFailed(e.message) from None
    for label, n in (("Capacity:", info.capacity), ("Allocation:", info.allocation), ("Physical:", info.physical)):
        if a.flag("human"):
            val, unit = _pretty(n)
            ctl.print(f"{label:<16}{val:.3f} {unit}\n")
        else:
            ctl.print(f"{label:<16}{n}\n")


def cmd_domblkstat(ctl: Ctl, a: BoundArgs) -> None:
    d = ctl.domain(a.req("domain"))
    dev = a.get("device") or ""
    try:
        # virsh asks virDomainBlockStatsFlags (every counter), as we do
        st = ctl.call(ctl.conn.block_stats_flags(d, dev))
    except virt_error() as e:
        from pyvirt.errors import ErrorCode

        if e.code != ErrorCode.NO_SUPPORT:
            raise CmdFailed(e.message) from None
        from pyvirt.cli.blockstats_legacy import domblkstat_legacy  # virsh's fallback (test driver)

        domblkstat_legacy(ctl, d, a.req("domain"), dev, a.flag("human"))
        return
    rows = [("rd_req", st.rd_req), ("rd_bytes", st.rd_bytes), ("wr_req", st.wr_req), ("wr_bytes", st.wr_bytes),
            ("flush_operations", st.flush_req), ("rd_total_times", st.rd_total_times),
            ("wr_total_times", st.wr_total_times), ("flush_total_times", st.flush_total_times)]
    if st.errs >= 0:
        rows.insert(4, ("errs", st.errs))
    if a.flag("human"):
        ctl.print(f"Device: {dev}\n")
        for name, n in rows:
            ctl.print(f" {_HUMAN[name]:<31} {n}\n")
    else:
        for name, n in rows:
            ctl.print(f"{dev} {name} {n}\n")


# virsh domblkstat --human labels, by the short field name
_HUMAN = {
    "rd_req": "number of read operations:", "rd_bytes": "number of bytes read:",
    "wr_req": "number of write operations:", "wr_bytes": "number of bytes written:", "errs": "error count:",
    "flush_operations": "number of flush operations:", "rd_total_times": "total duration of reads (ns):",
    "wr_total_times": "total duration of writes (ns):", "flush_total_times": "total duration of flushes (ns):",
}


def cmd_blockresize(ctl: Ctl, a: BoundArgs) -> None:
    from pyvirt.cli.storage_impl import _scaled

    d = ctl.domain(a.req("domain"))
    path = a.req("path")
    text = a.req("size")
    # virsh: a bare number is KiB; with a suffix it is scaled to bytes (then BYTES flag).
    if text.isdigit():
        size, flags = int(text) * 1024, 1
    else:
        size, flags = _scaled(text, "size"), 1
    try:
        ctl.call(ctl.conn.block_resize(d, path, size, flags))
    except virt_error() as e:
        raise CmdFailed(f"Failed to resize block device '{path}'", e.message) from None
    ctl.print_extra(f"Block device '{path}' is resized")


# ----------------------------------------------------------------------------- save / restore


def _save_flags(a: BoundArgs) -> int:
    return ((SAVE_BYPASS_CACHE if a.flag("bypass-cache") else 0) | (SAVE_RUNNING if a.flag("running") else 0)
            | (SAVE_PAUSED if a.flag("paused") else 0))


def _read_xml(path: str | None) -> str | None:
    if path is None:
        return None
    try:
        with open(path) as f:
            return f.read()
    except OSError as e:
        raise CmdFailed(f"Failed to read file '{path}' to parse: {e.strerror}") from None


def cmd_save(ctl: Ctl, a: BoundArgs) -> None:
    name = a.req("domain")
    d = ctl.domain(name)
    to = a.req("file")
    xml = _read_xml(a.get("xml"))
    try:
        ctl.call(ctl.conn.save(d, to, xml, _save_flags(a)))
    except virt_error() as e:
        raise CmdFailed(f"Failed to save domain '{name}' to {to}", e.message) from None
    ctl.print_extra(f"\nDomain '{name}' saved to {to}\n")


def cmd_restore(ctl: Ctl, a: BoundArgs) -> None:
    frm = a.req("file")
    xml = _read_xml(a.get("xml"))
    try:
        ctl.call(ctl.conn.restore(frm, xml, _save_flags(a)))
    except virt_error() as e:
        raise CmdFailed(f"Failed to restore domain from {frm}", e.message) from None
    ctl.print_extra(f"Domain restored from {frm}\n")


def cmd_managedsave(ctl: Ctl, a: BoundArgs) -> None:
    name = a.req("domain")
    d = ctl.domain(name)
    try:
        ctl.call(ctl.conn.managed_save(d, _save_flags(a)))
    except virt_error() as e:
        raise CmdFailed(f"Failed to save domain '{name}' state", e.message) from None
    ctl.print_extra(f"\nDomain '{name}' state saved by libvirt\n")


def cmd_managedsave_remove(ctl: Ctl, a: BoundArgs) -> None:
    name = a.req("domain")
    d = ctl.domain(name)
    try:
        has = ctl.call(ctl.conn.has_managed_save_image(d, 0))
    except virt_error() as e:
        raise CmdFailed("Failed to check for domain managed save image", e.message) from None
    if not has:
        ctl.print_extra(f"Domain '{name}' has no manage save image; removal skipped")
        return
    try:
        ctl.call(ctl.conn.managed_save_remove(d, 0))
    except virt_error() as e:
        raise CmdFailed(f"Failed to remove managed save image for domain '{name}'", e.message) from None
    ctl.print_extra(f"Removed managedsave image for domain '{name}'")
