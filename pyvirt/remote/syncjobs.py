"""Block jobs on the blocking one-shot client (:mod:`.syncclient`): ``pyvirsh blockcommit``
and ``blockpull`` through a daemon without asyncio, the async RPC client or the Driver ABC.

The calls are the async remote driver's (``DOMAIN_BLOCK_COMMIT``, ``DOMAIN_BLOCK_PULL``,
``DOMAIN_BLOCK_REBASE``, ``DOMAIN_BLOCK_JOB_ABORT``, ``DOMAIN_GET_BLOCK_JOB_INFO``).
Waiting follows virsh 9.0's ``--wait``: it registers ``BLOCK_JOB`` (the disk named by its
source path) and then ``BLOCK_JOB_2`` (named by its target) for the one domain, and an event
counts when it names the disk exactly as the user did. Unlike virsh, nothing is polled: the
end arrives on the socket, and the caller blocks on it.
"""

from __future__ import annotations

from time import monotonic

from pyvirt.remote import protocol_core as P
from pyvirt.rpc import xdr

TYPE_CHECKING = False  # typing stays off the one-shot path (it imports re)
if TYPE_CHECKING:
    from pyvirt.drivers.refs import DomainRef
    from pyvirt.remote.syncclient import SyncRemoteReads

# virDomainEventID: the two block-job events, in the order virsh registers them
EVENT_ID_BLOCK_JOB = 8
EVENT_ID_BLOCK_JOB_2 = 16


def block_commit(conn: SyncRemoteReads, dom: DomainRef, disk: str, base: str | None,
                 top: str | None, bandwidth: int, flags: int) -> None:
    conn.call(P.DOMAIN_BLOCK_COMMIT, P.BlockCommitArgs(dom, disk, base, top, bandwidth, flags))


def block_rebase(conn: SyncRemoteReads, dom: DomainRef, disk: str, base: str | None,
                 bandwidth: int, flags: int) -> None:
    conn.call(P.DOMAIN_BLOCK_REBASE, P.BlockRebaseArgs(dom, disk, base, bandwidth, flags))


def block_pull(conn: SyncRemoteReads, dom: DomainRef, disk: str, bandwidth: int, flags: int) -> None:
    conn.call(P.DOMAIN_BLOCK_PULL, P.BlockBandwidthArgs(dom, disk, bandwidth, flags))


def block_job_abort(conn: SyncRemoteReads, dom: DomainRef, disk: str, flags: int) -> None:
    conn.call(P.DOMAIN_BLOCK_JOB_ABORT, P.BlockPathFlagsArgs(dom, disk, flags))


def block_job_progress(conn: SyncRemoteReads, dom: DomainRef, disk: str) -> tuple[int, int] | None:
    """(cur, end) of the disk's job, None when it has none."""
    r = conn.call(P.DOMAIN_GET_BLOCK_JOB_INFO, P.BlockPathFlagsArgs(dom, disk, 0))
    return (r.cur, r.end) if r.found else None


class BlockJobWatch:
    """The two block-job event registrations for one domain, and the disk they wait for."""

    __slots__ = ("_conn", "_ids", "_uuid", "disk")

    def __init__(self, conn: SyncRemoteReads, dom: DomainRef, disk: str, ids: list[int]) -> None:
        self._conn = conn
        self._uuid = dom.uuid
        self._ids = ids
        self.disk = disk

    @classmethod
    def open(cls, conn: SyncRemoteReads, dom: DomainRef, disk: str) -> BlockJobWatch | None:
        """Register both events (one round trip); None when the daemon refused either (no
        callback events: an old daemon), with whatever did register undone."""
        res = conn.call_many([
            (P.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, P.EventRegisterArgs(eid, dom))
            for eid in (EVENT_ID_BLOCK_JOB, EVENT_ID_BLOCK_JOB_2)])
        ids = [r.callbackID for r in res if isinstance(r, P.EventRegisterRet)]
        watch = cls(conn, dom, disk, ids)
        if len(ids) != len(res):
            watch.close()
            return None
        return watch

    def next_status(self, timeout: float | None) -> int | None:
        """The status (virConnectDomainEventBlockJobStatus) of the next event for the disk,
        waiting at most ``timeout`` seconds (None: as long as it takes); None on time-out."""
        deadline = None if timeout is None else monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - monotonic())
            msg = self._conn.wait_message(left)
            if msg is None:
                return None
            proc, payload = msg
            if proc == P.EVENT_BLOCK_JOB_2.number:
                b2 = xdr.decode(P.EVENT_BLOCK_JOB_2.args, payload, exact=False)
                cid, uuid, name, status = b2.callbackID, b2.dom.uuid, b2.dst, b2.status
            elif proc == P.EVENT_BLOCK_JOB.number:
                b1 = xdr.decode(P.EVENT_BLOCK_JOB.args, payload, exact=False)
                cid, uuid, name, status = b1.callbackID, b1.msg.dom.uuid, b1.msg.path, b1.msg.status
            else:
                continue
            if cid in self._ids and uuid == self._uuid and name == self.disk:
                return int(status)

    def close(self) -> None:
        """Deregister (one round trip); errors are moot, the connection closes next."""
        if self._ids:
            self._conn.call_many([(P.CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY, P.EventDeregisterArgs(cid))
                                  for cid in self._ids])
            self._ids = []
