"""The asyncio-native API: :class:`Connection` and :class:`Domain`.

Method names are libvirt's in snake_case (``virDomainCreateWithFlags`` ->
``Domain.create(flags)``). Every failure is a :class:`pyvirt.errors.VirtError` with
libvirt's code, domain and message, including the checks libvirt's public API layer makes
before it reaches a driver (read-only connections, closed connections, bad UUIDs), so the
in-process drivers answer exactly as they would through libvirt.
"""

from __future__ import annotations

import itertools
import uuid as uuidlib
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Self

from pyvirt.aio.common import UuidHandle, writable
from pyvirt.aio.network import NetworkConnMixin
from pyvirt.aio.storage import StorageConnMixin
from pyvirt.drivers.base import (
    BlockInfo,
    BlockJobEventMsg,
    BlockJobInfo,
    BlockStats,
    ByteStream,
    DomainEvent,
    DomainInfo,
    DomainRef,
    Driver,
    NodeInfo,
    SnapshotRef,
)
from pyvirt.enums import EventID, ListDomainsFlags
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError
from pyvirt.uri import ConnectURI

if TYPE_CHECKING:
    import asyncio

# virConnectCloseReason
CLOSE_REASON_ERROR = 0
CLOSE_REASON_EOF = 1
CLOSE_REASON_KEEPALIVE = 2
CLOSE_REASON_CLIENT = 3

CloseCallback = Callable[["Connection", int], None]
DomainEventCallback = Callable[["Connection", "Domain", DomainEvent, EventID], None]


def _invalid_uuid() -> VirtError:
    return VirtError("Invalid UUID", ErrorCode.INVALID_ARG, ErrorDomain.DOMAIN)


def parse_uuid(text: str) -> bytes:
    """A UUID string as libvirt accepts it (dashes anywhere, 32 hex digits)."""
    digits = text.replace("-", "")
    if len(digits) != 32:
        raise _invalid_uuid()
    try:
        return bytes.fromhex(digits)
    except ValueError:
        raise _invalid_uuid() from None


def format_uuid(raw: bytes) -> str:
    return str(uuidlib.UUID(bytes=raw))


def event_matches(ev: DomainEvent, wanted: EventID) -> bool:
    """One block-job message serves both BLOCK_JOB (by path) and BLOCK_JOB_2 (by target)."""
    if wanted == EventID.BLOCK_JOB:
        return isinstance(ev, BlockJobEventMsg)
    return ev.event_id == wanted


@dataclass
class _EventSub:
    cb: DomainEventCallback
    event_id: EventID
    uuid: bytes | None


@dataclass
class _State:
    closed: bool = False  # no more calls: closed by us or lost by the driver
    driver_closed: bool = False  # driver.close() done (also needed after a loss)
    close_cbs: dict[int, CloseCallback] = field(default_factory=dict)
    event_subs: dict[int, _EventSub] = field(default_factory=dict)
    bus_token: int | None = None


class Connection(StorageConnMixin, NetworkConnMixin):  # storage, network calls: aio/storage.py, aio/network.py
    """One open connection. Create with :func:`pyvirt.aio.open`; use ``async with``."""

    def __init__(self, driver: Driver, uri: ConnectURI, *, readonly: bool = False,
                 remote: bool = False) -> None:
        self._driver = driver
        self.parsed_uri = uri
        self.readonly = readonly
        self.remote = remote
        self._st = _State()
        self._ids = itertools.count(0)
        # The remote client reports a lost link through its own add_close_callback; other
        # drivers through the base class's listener (notify_closed).
        remote_hook = getattr(driver, "add_close_callback", None)
        if callable(remote_hook):
            remote_hook(self._peer_closed)
        else:
            driver.add_close_listener(self._peer_closed)

    # ------------------------------------------------------------------ plumbing
    @property
    def driver(self) -> Driver:
        if self._st.closed:
            raise VirtError("invalid connection pointer in virConnect", ErrorCode.INVALID_CONN,
                            ErrorDomain.DOMAIN)
        return self._driver

    @property
    def closed(self) -> bool:
        return self._st.closed

    def _writable(self, api: str) -> Driver:
        return writable(self, api, ErrorDomain.DOMAIN)

    def _dom(self, ref: DomainRef) -> Domain:
        return Domain(self, ref)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ connection
    async def close(self) -> None:
        """Close the driver (also after the peer went away, to free its resources).

        Close callbacks see CLIENT, for remote connections only, as with libvirt.
        """
        if self._st.driver_closed:
            return
        self._st.closed = self._st.driver_closed = True
        if self._st.bus_token is not None:
            self._driver.events.unsubscribe(self._st.bus_token)
            self._st.bus_token = None
        try:
            await self._driver.close()
        finally:
            if self.remote:
                self._fire_close(CLOSE_REASON_CLIENT)

    def _peer_closed(self, reason: int) -> None:
        """The driver lost its connection (EOF, keepalive, error)."""
        if not self._st.closed:
            self._st.closed = True
            self._fire_close(reason)

    def _fire_close(self, reason: int) -> None:
        cbs = list(self._st.close_cbs.values())
        self._st.close_cbs.clear()
        for cb in cbs:
            cb(self, reason)

    def register_close_callback(self, cb: CloseCallback) -> int:
        token = next(self._ids)
        self._st.close_cbs[token] = cb
        return token

    def unregister_close_callback(self, token: int) -> None:
        if self._st.close_cbs.pop(token, None) is None:
            raise VirtError("invalid argument: A different callback was requested",
                            ErrorCode.INVALID_ARG, ErrorDomain.NONE)

    async def get_uri(self) -> str:
        return self.driver.uri()

    async def get_type(self) -> str:
        return self.driver.type_name()

    async def get_version(self) -> int:
        return await self.driver.get_version()

    async def get_lib_version(self) -> int:
        return max(await self.driver.get_lib_version(), 9_000_000)

    async def get_hostname(self) -> str:
        return await self.driver.get_hostname()

    async def get_capabilities(self) -> str:
        return await self.driver.get_capabilities()

    async def get_domain_capabilities(self, emulator: str | None = None, arch: str | None = None,
                                      machine: str | None = None, virttype: str | None = None,
                                      flags: int = 0) -> str:
        return await self.driver.get_domain_capabilities(emulator, arch, machine, virttype, flags)

    async def node_info(self) -> NodeInfo:
        return await self.driver.node_get_info()

    async def is_alive(self) -> bool:
        return not self._st.closed and await self._driver.is_alive()

    async def node_security_model(self) -> tuple[str, str]:
        """virNodeGetSecurityModel: (model, doi)."""
        return await self.driver.node_get_security_model()

    # ------------------------------------------------------------------ domains
    async def list_all_domains(self, flags: int = 0) -> list[Domain]:
        return [self._dom(r) for r in await self.driver.list_all_domains(flags)]

    async def list_domain_ids(self) -> list[int]:
        return await self.driver.list_domain_ids()

    async def list_defined_domains(self) -> list[str]:
        return await self.driver.list_defined_domains()

    async def num_of_domains(self) -> int:
        return len(await self.driver.list_all_domains(ListDomainsFlags.ACTIVE))

    async def num_of_defined_domains(self) -> int:
        return len(await self.driver.list_all_domains(ListDomainsFlags.INACTIVE))

    async def lookup_by_name(self, name: str) -> Domain:
        return self._dom(await self.driver.lookup_by_name(name))

    async def lookup_by_id(self, id: int) -> Domain:
        if id < 0:
            raise VirtError("invalid argument: id must be greater than or equal to 0",
                            ErrorCode.INVALID_ARG, ErrorDomain.DOMAIN)
        return self._dom(await self.driver.lookup_by_id(id))

    async def lookup_by_uuid(self, uuid: bytes) -> Domain:
        if len(uuid) != 16:
            raise _invalid_uuid()
        return self._dom(await self.driver.lookup_by_uuid(bytes(uuid)))

    async def lookup_by_uuid_string(self, uuid: str) -> Domain:
        return await self.lookup_by_uuid(parse_uuid(uuid))

    async def define_xml(self, xml: str, flags: int = 0) -> Domain:
        drv = self._writable("virDomainDefineXML" if not flags else "virDomainDefineXMLFlags")
        return self._dom(await drv.define_xml(xml, flags))

    async def restore(self, frm: str, dxml: str | None = None, flags: int = 0) -> None:
        """virDomainRestore(Flags): start the domain saved in ``frm``."""
        await self._writable("virDomainRestoreFlags" if flags or dxml else "virDomainRestore").restore(frm, dxml, flags)

    async def create_xml(self, xml: str, flags: int = 0) -> Domain:
        return self._dom(await self._writable("virDomainCreateXML").create_xml(xml, flags))

    # ------------------------------------------------------------------ events
    def _ensure_bus(self) -> None:
        if self._st.bus_token is None:
            self._st.bus_token = self.driver.events.subscribe(self._dispatch)

    def _dispatch(self, ev: DomainEvent) -> None:
        for sub in list(self._st.event_subs.values()):
            if sub.uuid is not None and ev.dom.uuid != sub.uuid:
                continue
            if event_matches(ev, sub.event_id):
                sub.cb(self, self._dom(ev.dom), ev, sub.event_id)

    def add_domain_event_callback(self, cb: DomainEventCallback,
                                  event_id: EventID = EventID.LIFECYCLE,
                                  dom: Domain | None = None) -> int:
        """Call ``cb(conn, dom, event, event_id)`` in the loop for each matching event.

        Returns an id for :meth:`remove_domain_event_callback`; ids count from 0 per
        connection, as libvirt's do.
        """
        self._ensure_bus()
        token = next(self._ids)
        self._st.event_subs[token] = _EventSub(cb, EventID(event_id),
                                               dom.uuid if dom is not None else None)
        return token

    def remove_domain_event_callback(self, token: int) -> None:
        if self._st.event_subs.pop(token, None) is None:
            raise VirtError(f"invalid argument: could not find event callback {token} for "
                            "deletion", ErrorCode.INVALID_ARG, ErrorDomain.NONE)

    def domain_events(self, event_ids: Collection[EventID] | None = None,
                      dom: Domain | None = None) -> EventStream:
        """Events as an async iterator, subscribed from this call on (all ids by default).

        ``async with conn.domain_events() as events: async for dom, ev in events: ...``
        """
        return EventStream(self, event_ids, dom)


class EventStream:
    """Queued domain events of one connection; unsubscribes on :meth:`aclose`."""

    def __init__(self, conn: Connection, event_ids: Collection[EventID] | None,
                 dom: Domain | None) -> None:
        import asyncio  # here, not at import: the sync facade's test:// path needs no asyncio

        self._conn = conn
        self._queue: asyncio.Queue[tuple[Domain, DomainEvent]] = asyncio.Queue()
        # One block-job message answers both ids: listen to the one asked for, or to
        # BLOCK_JOB_2 alone when everything is wanted, so it arrives once.
        wanted = list(event_ids) if event_ids is not None else [
            i for i in EventID if i != EventID.BLOCK_JOB]
        self._tokens = [conn.add_domain_event_callback(self._put, i, dom) for i in wanted]

    def _put(self, _conn: Connection, dom: Domain, ev: DomainEvent, _id: EventID) -> None:
        self._queue.put_nowait((dom, ev))

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> tuple[Domain, DomainEvent]:
        return await self._queue.get()

    async def get(self, timeout: float | None = None) -> tuple[Domain, DomainEvent]:
        """The next event; ``TimeoutError`` after ``timeout`` seconds."""
        import asyncio

        return await asyncio.wait_for(self._queue.get(), timeout)

    async def aclose(self) -> None:
        for t in self._tokens:
            self._conn._st.event_subs.pop(t, None)
        self._tokens = []

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class Domain(UuidHandle[DomainRef]):
    """A handle on a domain: name, UUID and the id it had when looked up or started
    (``name``, ``uuid``, ``uuid_string`` from :class:`UuidHandle`)."""

    def __repr__(self) -> str:
        return f"<Domain {self.ref.name!r} id={self.ref.id}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Domain) and other.ref.uuid == self.ref.uuid

    def __hash__(self) -> int:
        return hash(self.ref.uuid)

    @property
    def id(self) -> int:
        return self.ref.id

    def _w(self, api: str) -> Driver:
        return self.conn._writable(api)

    # ------------------------------------------------------------------ queries
    async def xml_desc(self, flags: int = 0) -> str:
        return await self.conn.driver.get_xml_desc(self.ref, flags)

    async def info(self) -> DomainInfo:
        return await self.conn.driver.get_info(self.ref)

    async def state(self, flags: int = 0) -> tuple[int, int]:
        return await self.conn.driver.get_state(self.ref, flags)

    async def is_active(self) -> bool:
        return await self.conn.driver.is_active(self.ref)

    async def is_persistent(self) -> bool:
        return await self.conn.driver.is_persistent(self.ref)

    async def os_type(self) -> str:
        return await self.conn.driver.get_os_type(self.ref)

    async def autostart(self) -> bool:
        return await self.conn.driver.get_autostart(self.ref)

    async def has_managed_save_image(self, flags: int = 0) -> bool:
        return await self.conn.driver.has_managed_save_image(self.ref, flags)

    async def security_label(self) -> tuple[str, bool]:
        """virDomainGetSecurityLabel: (label, enforcing)."""
        return await self.conn.driver.get_security_label(self.ref)

    async def messages(self, flags: int = 0) -> list[str]:
        """virDomainGetMessages: taint and deprecation notes."""
        return await self.conn.driver.get_messages(self.ref, flags)

    async def open_console(self, dev_name: str | None = None, flags: int = 0) -> ByteStream:
        """virDomainOpenConsole: a byte stream on the domain's console (read/write/close)."""
        return await self.conn.driver.open_console(self.ref, dev_name, flags)

    async def screenshot(self, screen: int = 0, flags: int = 0) -> tuple[str | None, ByteStream]:
        """virDomainScreenshot: the image's MIME type and a stream of its bytes."""
        return await self._w("virDomainScreenshot").screenshot(self.ref, screen, flags)

    # ------------------------------------------------------------------ changes
    async def create(self, flags: int = 0) -> None:
        api = "virDomainCreateWithFlags" if flags else "virDomainCreate"
        self.ref = await self._w(api).create(self.ref, flags)

    async def destroy(self, flags: int = 0) -> None:
        await self._w("virDomainDestroyFlags" if flags else "virDomainDestroy").destroy(
            self.ref, flags)
        # libvirt resets the handle's id, as the C virDomain object's id is.
        self.ref = DomainRef(self.ref.name, self.ref.uuid, -1)

    async def shutdown(self, flags: int = 0) -> None:
        await self._w("virDomainShutdownFlags" if flags else "virDomainShutdown").shutdown(
            self.ref, flags)

    async def reboot(self, flags: int = 0) -> None:
        await self._w("virDomainReboot").reboot(self.ref, flags)

    async def reset(self, flags: int = 0) -> None:
        await self._w("virDomainReset").reset(self.ref, flags)

    async def suspend(self) -> None:
        await self._w("virDomainSuspend").suspend(self.ref)

    async def resume(self) -> None:
        await self._w("virDomainResume").resume(self.ref)

    async def undefine(self, flags: int = 0) -> None:
        await self._w("virDomainUndefineFlags" if flags else "virDomainUndefine").undefine(
            self.ref, flags)

    async def set_autostart(self, autostart: bool) -> None:
        await self._w("virDomainSetAutostart").set_autostart(self.ref, bool(autostart))

    # ------------------------------------------------------------------ block jobs, save
    async def block_commit(self, disk: str, base: str | None, top: str | None, bandwidth: int = 0,
                           flags: int = 0) -> None:
        await self._w("virDomainBlockCommit").block_commit(self.ref, disk, base, top, bandwidth, flags)

    async def block_rebase(self, disk: str, base: str | None, bandwidth: int = 0, flags: int = 0) -> None:
        await self._w("virDomainBlockRebase").block_rebase(self.ref, disk, base, bandwidth, flags)

    async def block_pull(self, disk: str, bandwidth: int = 0, flags: int = 0) -> None:
        await self._w("virDomainBlockPull").block_pull(self.ref, disk, bandwidth, flags)

    async def block_copy(self, disk: str, destxml: str, bandwidth: int = 0, flags: int = 0,
                         *, granularity: int = 0, buf_size: int = 0) -> None:
        """virDomainBlockCopy; ``bandwidth`` in bytes/s, granularity / buf-size in bytes (its
        typed parameters; 0 leaves QEMU's default)."""
        await self._w("virDomainBlockCopy").block_copy(self.ref, disk, destxml, bandwidth, flags,
                                                        granularity=granularity, buf_size=buf_size)

    async def block_job_info(self, disk: str, flags: int = 0) -> BlockJobInfo | None:
        return await self.conn.driver.get_block_job_info(self.ref, disk, flags)

    async def block_job_abort(self, disk: str, flags: int = 0) -> None:
        await self._w("virDomainBlockJobAbort").block_job_abort(self.ref, disk, flags)

    async def block_job_set_speed(self, disk: str, bandwidth: int, flags: int = 0) -> None:
        await self._w("virDomainBlockJobSetSpeed").block_job_set_speed(self.ref, disk, bandwidth, flags)

    async def block_info(self, disk: str, flags: int = 0) -> BlockInfo:
        return await self.conn.driver.get_block_info(self.ref, disk, flags)

    async def block_stats(self, disk: str) -> BlockStats:
        return await self.conn.driver.block_stats(self.ref, disk)

    async def block_stats_flags(self, disk: str, flags: int = 0) -> BlockStats:
        """virDomainBlockStatsFlags: every counter (through a daemon: DOMAIN_BLOCK_STATS_FLAGS)."""
        return await self.conn.driver.block_stats_flags(self.ref, disk, flags)

    async def block_resize(self, disk: str, size: int, flags: int = 0) -> None:
        await self._w("virDomainBlockResize").block_resize(self.ref, disk, size, flags)

    async def save(self, to: str, dxml: str | None = None, flags: int = 0) -> None:
        await self._w("virDomainSaveFlags" if flags or dxml else "virDomainSave").save(self.ref, to, dxml, flags)
        self.ref = DomainRef(self.ref.name, self.ref.uuid, -1)

    async def managed_save(self, flags: int = 0) -> None:
        await self._w("virDomainManagedSave").managed_save(self.ref, flags)
        self.ref = DomainRef(self.ref.name, self.ref.uuid, -1)

    async def managed_save_remove(self, flags: int = 0) -> None:
        await self._w("virDomainManagedSaveRemove").managed_save_remove(self.ref, flags)

    # ------------------------------------------------------------------ snapshots
    # Snapshots cross as SnapshotRef (domain + name); the refs' domain is this one.
    async def snapshot_create_xml(self, xml: str, flags: int = 0) -> SnapshotRef:
        return await self._w("virDomainSnapshotCreateXML").snapshot_create_xml(self.ref, xml, flags)

    async def snapshot_lookup_by_name(self, name: str, flags: int = 0) -> SnapshotRef:
        return await self.conn.driver.snapshot_lookup_by_name(self.ref, name, flags)

    async def list_all_snapshots(self, flags: int = 0) -> list[SnapshotRef]:
        return await self.conn.driver.list_all_snapshots(self.ref, flags)

    async def snapshot_current(self, flags: int = 0) -> SnapshotRef:
        return await self.conn.driver.snapshot_current(self.ref, flags)

    async def snapshot_xml_desc(self, snap: SnapshotRef, flags: int = 0) -> str:
        return await self.conn.driver.snapshot_get_xml_desc(snap, flags)

    async def revert_to_snapshot(self, snap: SnapshotRef, flags: int = 0) -> None:
        await self._w("virDomainRevertToSnapshot").revert_to_snapshot(snap, flags)

    async def snapshot_delete(self, snap: SnapshotRef, flags: int = 0) -> None:
        await self._w("virDomainSnapshotDelete").snapshot_delete(snap, flags)


__all__ = [
    "CLOSE_REASON_CLIENT", "CLOSE_REASON_EOF", "CLOSE_REASON_ERROR", "CLOSE_REASON_KEEPALIVE",
    "CloseCallback", "Connection", "Domain", "DomainEventCallback", "EventStream", "event_matches",
    "format_uuid", "parse_uuid",
]
