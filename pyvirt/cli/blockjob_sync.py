"""pyvirsh blockcommit / blockpull on the blocking one-shot daemon client.

Through a daemon socket (the URI forms :func:`pyvirt.cli.ctl.open_light` takes) a block job
command needs a handful of calls and one or two events: this runs them on
:class:`pyvirt.remote.syncclient.SyncRemoteReads` without asyncio, the async RPC client or
the Driver ABC (~80 ms of imports for a ~6 ms job). What it prints and returns is what
:func:`pyvirt.cli.blockjob._job_run` gives the commands on the driver proper:

- blocking: both block-job events registered for the domain before the job starts (one
  round trip, as virsh 9.0 registers BLOCK_JOB then BLOCK_JOB_2), the job, then the first
  event naming the disk as the user did; ``--pivot`` / ``--keep-overlay`` abort on READY;
  ``--timeout`` aborts the job when it runs out;
- ``--verbose``: the progress line once the job started and 100 % at its end, and (as
  virsh, which polls every 500 ms) the job's progress re-read while nothing arrived for
  500 ms, printed when it changed - the only job-info queries;
- a shut-off domain (id -1 in the reference the lookup just returned: libvirt's
  virDomainIsActive) runs the job offline inside the call: nothing to wait for.
"""

from __future__ import annotations

from time import monotonic

from pyvirt.cli.blockjob import CANCELED, COMPLETED, READY, progress
from pyvirt.cli.ctl import CmdFailed, virt_error
from pyvirt.remote import syncjobs as jobs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from pyvirt.cli.ctl import Ctl
    from pyvirt.drivers.refs import DomainRef
    from pyvirt.remote.syncclient import SyncRemoteReads

__all__ = ["NeedsFullDriver", "jobs", "run_job", "run_or_reopen"]

PROGRESS_TICK = 0.5  # virsh's --verbose refresh period (it polls at that pace)


class NeedsFullDriver(Exception):
    """The daemon has no callback events (an old libvirtd): the async client's legacy
    registrations serve it. Raised before anything started."""


def run_job(ctl: Ctl, conn: SyncRemoteReads, dom: DomainRef, disk: str, start: Callable[[], None], *,
            blocking: bool, verbose: bool, timeout: int | None, label: str,
            on_ready: tuple[int | None, str, str | None] | None) -> str | int | None:
    """Start a job; when blocking, wait for its end (or READY, then ``on_ready``: see
    :func:`pyvirt.cli.blockjob.commit_ready`). None when not blocking, else the final
    message or the status the job ended with. A daemon error is CmdFailed(its message)."""
    try:
        return _run(ctl, conn, dom, disk, start, blocking, verbose, timeout, label, on_ready)
    except virt_error() as e:
        raise CmdFailed(e.message) from None


def run_or_reopen(ctl: Ctl, conn: SyncRemoteReads, dom: DomainRef, disk: str, start: Callable[[], None], *,
                  blocking: bool, verbose: bool, timeout: int | None, label: str,
                  on_ready: tuple[int | None, str, str | None] | None
                  ) -> tuple[SyncRemoteReads | None, str | int | None]:
    """:func:`run_job` on ``conn``: (``conn``, its result); or, when the daemon has no
    callback events, (None, None) with the driver proper open in its place for the caller's
    async path (nothing was started)."""
    try:
        return conn, run_job(ctl, conn, dom, disk, start, blocking=blocking, verbose=verbose, timeout=timeout,
                             label=label, on_ready=on_ready)
    except NeedsFullDriver:
        ctl.reopen_full()
        return None, None


def _run(ctl: Ctl, conn: SyncRemoteReads, dom: DomainRef, disk: str, start: Callable[[], None],
         blocking: bool, verbose: bool, timeout: int | None, label: str,
         on_ready: tuple[int | None, str, str | None] | None) -> str | int | None:
    if not blocking:
        start()
        return None
    if dom.id == -1:  # offline: the job ends inside the call
        start()
        return COMPLETED
    # registered before the job starts: an event sent before would be lost
    watch = jobs.BlockJobWatch.open(conn, dom, disk)
    if watch is None:
        raise NeedsFullDriver
    try:
        start()
        shown: tuple[int, int] | None = None
        if verbose:
            shown = _show(ctl, conn, dom, disk, label, shown)
        deadline = None if not timeout else monotonic() + timeout
        while True:
            wait = None if deadline is None else max(0.0, deadline - monotonic())
            if verbose:
                wait = PROGRESS_TICK if wait is None else min(wait, PROGRESS_TICK)
            status = watch.next_status(wait)
            if status is None:
                if deadline is not None and monotonic() >= deadline:
                    jobs.block_job_abort(conn, dom, disk, 0)
                    return CANCELED
                if verbose:
                    shown = _show(ctl, conn, dom, disk, label, shown)
                continue
            if verbose and status in (READY, COMPLETED):
                progress(ctl, label, 1, 1)
            if status == READY and on_ready is not None:
                abort, msg, failed = on_ready
                if abort is not None:
                    try:
                        jobs.block_job_abort(conn, dom, disk, abort)
                    except virt_error() as e:
                        if failed is None:
                            raise
                        raise CmdFailed(failed, e.message) from None
                return msg
            return status
    finally:
        watch.close()


def _show(ctl: Ctl, conn: SyncRemoteReads, dom: DomainRef, disk: str, label: str,
          shown: tuple[int, int] | None) -> tuple[int, int] | None:
    """Print the job's progress if it changed since ``shown``; what is shown now."""
    now = jobs.block_job_progress(conn, dom, disk)
    if now is not None and now != shown:
        progress(ctl, label, *now)
        return now
    return shown
