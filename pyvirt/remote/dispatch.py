"""Server side of the remote program: decode a CALL, run the driver method, encode the reply.

One :class:`RemoteSession` per client holds its open driver, event registrations and
streams. Order of checks follows libvirtd (observed with raw packets against it): unknown
procedure, then authentication (AUTH_LIST first), then payload decoding, then read-only
access, then "connection not open".

Calls run eagerly: the handler coroutine is stepped inline and only gets its own task if
it actually waits (a QEMU job, a monitor reply). Cheap queries thus cost no task switch,
and a long job never blocks other calls of the same or other clients.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from pyvirt.drivers.base import ByteStream, DomainEvent, DomainRef, Driver
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError
from pyvirt.remote import events as rev
from pyvirt.remote import handlers, legacy_events, procnames
from pyvirt.remote import protocol as P
from pyvirt.rpc import packet as pk
from pyvirt.rpc import xdr
from pyvirt.rpc.packet import MessageStatus, MessageType
from pyvirt.rpc.server import ServerConnection

QEMU_PROGRAM = 0x20008087  # qemu_protocol.QEMU_PROGRAM, without importing it for every daemon

log = logging.getLogger(__name__)

Opener = Callable[[str | None, bool], Awaitable[Driver]]
Releaser = Callable[[Driver], Awaitable[None]]


async def _close(drv: Driver) -> None:
    await drv.close()

_NO_AUTH_NEEDED = frozenset({P.AUTH_LIST.number})
# CONNECT_SUPPORTS_FEATURE is let through so its handler can answer the keepalive probe
# clients send before CONNECT_OPEN; it raises "not open" itself for any other feature.
_NO_CONN_NEEDED = frozenset(
    {P.AUTH_LIST.number, P.CONNECT_OPEN.number, P.CONNECT_CLOSE.number, P.CONNECT_SUPPORTS_FEATURE.number}
)


def not_open_error() -> VirtError:
    return VirtError("internal error: hypervisor connection not open", ErrorCode.INTERNAL_ERROR, ErrorDomain.RPC)


@dataclass
class EventReg:
    callback_id: int
    event_id: int
    dom_uuid: bytes | None
    legacy: bool = False  # old-style registration: events go out without a callbackID


@dataclass
class StreamState:
    serial: int
    proc: int
    stream: ByteStream
    pump: asyncio.Task[None] | None = None
    # client->stream data and the final OK/ERROR go through one queue and one writer task,
    # so writes keep their order and the finish comes after the last write
    inbox: asyncio.Queue[tuple[int, bytes]] = field(default_factory=asyncio.Queue)
    writer: asyncio.Task[None] | None = None


@dataclass
class RemoteProgram:
    """ProgramFactory for the remote program; the daemon supplies how URIs open drivers."""

    opener: Opener
    releaser: Releaser = _close  # shared drivers (one per qemu URI) are not closed per client
    program: int = P.PROGRAM
    version: int = P.VERSION
    keepalive_interval: float = 5.0
    keepalive_count: int = 5
    # False: answer VIR_DRV_FEATURE_REMOTE_EVENT_CALLBACK with 0, like a libvirtd older than
    # 1.2.1, so clients register events the old way (remote/legacy_events.py)
    event_callbacks: bool = True
    # further programs served on the same connection (rpc/server.py): libvirt-qemu's
    extra_programs: tuple[tuple[int, int], ...] = ((QEMU_PROGRAM, 1),)

    def new_session(self, conn: ServerConnection) -> RemoteSession:
        return RemoteSession(self, conn)


@dataclass
class RemoteSession:
    program: RemoteProgram
    conn: ServerConnection
    driver: Driver | None = None
    authenticated: bool = False
    readonly: bool = False
    close_callback: bool = False
    events: list[EventReg] = field(default_factory=list)
    _next_callback_id: int = 0
    _event_token: int | None = None
    streams: dict[int, StreamState] = field(default_factory=dict)
    qemu_events: set[int] = field(default_factory=set)  # QMP event callbacks (qemu_handlers.py)
    current_serial: int = 0  # serial of the call being stepped inline (streams need it)

    def __post_init__(self) -> None:
        self.readonly = self.conn.readonly

    # ------------------------------------------------------------------ calls
    def on_call(self, hdr: pk.Header, payload: bytes) -> Coroutine[Any, Any, None] | None:
        proc = P.PROCEDURES.get(hdr.proc)
        handler = handlers.HANDLERS.get(hdr.proc)
        if hdr.prog == QEMU_PROGRAM:  # libvirt-qemu's program (remote/qemu_handlers.py)
            from pyvirt.remote import qemu_handlers
            from pyvirt.remote.qemu_protocol import QEMU_PROCEDURES

            proc = QEMU_PROCEDURES.get(hdr.proc)
            handler = qemu_handlers.QEMU_HANDLERS.get(hdr.proc)
        if proc is None or handler is None:
            if hdr.prog == QEMU_PROGRAM:
                self.conn.reply_error(hdr, pk.rpc_error(f"unknown procedure: {hdr.proc}"))
                return None
            self._unsupported(hdr)
            return None
        if not self.authenticated and hdr.proc not in _NO_AUTH_NEEDED:
            self.conn.reply_error(hdr, pk.rpc_error("authentication required"))
            return None
        try:
            args = xdr.decode(proc.args, payload, exact=False)
        except xdr.XdrError:
            self.conn.reply_error(hdr, pk.rpc_error("Unable to decode message payload"))
            return None
        if self.readonly and not proc.readonly:
            dom = P.api_error_domain(proc.name)  # the API's source file: DOMAIN, NETWORK, STORAGE...
            self._error(hdr, VirtError(
                f"operation forbidden: read only access prevents {proc.api}",
                ErrorCode.OPERATION_DENIED, dom,
            ))  # fmt: skip
            return None
        if self.driver is None and hdr.proc not in _NO_CONN_NEEDED:
            self._error(hdr, not_open_error())
            return None
        self.current_serial = hdr.serial
        coro = handler(self, args)
        try:
            yielded = coro.send(None)
        except StopIteration as stop:
            self._reply(hdr, proc, stop.value)
            return None
        except VirtError as e:
            self._error(hdr, e)
            return None
        except Exception as e:  # a bug in a driver must not take the daemon down
            log.exception("procedure %s failed", proc.name)
            self._error(hdr, VirtError(f"internal error: {e}", ErrorCode.INTERNAL_ERROR))
            return None
        return self._finish(hdr, proc, coro, yielded)

    async def _finish(
        self, hdr: pk.Header, proc: P.Procedure[Any, Any], coro: Coroutine[Any, Any, Any], yielded: Any
    ) -> None:
        """Continue a handler that suspended: forward each awaited future, like a Task does."""
        try:
            while True:
                try:
                    if yielded is None:
                        await asyncio.sleep(0)
                    else:
                        # The handler yielded with the future marked "blocking"; a Task clears
                        # that mark when it takes the future over, and so must we.
                        yielded._asyncio_future_blocking = False
                        await yielded
                except asyncio.CancelledError:
                    yielded = coro.throw(asyncio.CancelledError())
                    continue
                except BaseException:  # noqa: BLE001, S110 - the handler sees it on resume
                    pass  # the handler sees the future's exception when it resumes
                yielded = coro.send(None)
        except StopIteration as stop:
            self._reply(hdr, proc, stop.value)
        except VirtError as e:
            self._error(hdr, e)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            log.exception("procedure %s failed", proc.name)
            self._error(hdr, VirtError(f"internal error: {e}", ErrorCode.INTERNAL_ERROR))
        finally:
            coro.close()

    def _unsupported(self, hdr: pk.Header) -> None:
        """A procedure we do not serve: libvirtd's own error for numbers it does not know,
        and for the ones it knows, the "not supported by the connection driver" error a
        driver lacking the call gives, so clients fall back exactly as they do with libvirt.
        Like any call, that second kind needs authentication and an open connection first."""
        name = procnames.name_of(hdr.proc)
        if name is None:
            self.conn.reply_error(hdr, pk.rpc_error(f"unknown procedure: {hdr.proc}"))
        elif not self.authenticated:
            self.conn.reply_error(hdr, pk.rpc_error("authentication required"))
        elif self.driver is None:
            self._error(hdr, not_open_error())
        else:
            api = P.api_name(name)
            self._error(hdr, VirtError(
                f"this function is not supported by the connection driver: {api}",
                ErrorCode.NO_SUPPORT, P.api_error_domain(name),
            ))  # fmt: skip

    def _reply(self, hdr: pk.Header, proc: P.Procedure[Any, Any], value: Any) -> None:
        out = pk.begin_frame()
        try:
            proc.ret.pack(out, value)
            pk.finish_frame(out, hdr.prog, hdr.vers, hdr.proc, MessageType.REPLY, hdr.serial, MessageStatus.OK)
        except VirtError as e:  # unencodable (over a limit): the client gets the error instead
            self._error(hdr, e)
            return
        self.conn.send(out)

    def _error(self, hdr: pk.Header, e: VirtError) -> None:
        self.conn.reply_error(hdr, pk.error_from_virt(e))

    @property
    def drv(self) -> Driver:
        assert self.driver is not None
        return self.driver

    # ------------------------------------------------------------------ events
    def register_event(self, event_id: int, dom: DomainRef | None, legacy: bool = False) -> int:
        uuid = dom.uuid if dom else None
        # libvirtd keeps one registration per (event, domain filter) per client, old or new style
        if any(r.event_id == event_id and r.dom_uuid == uuid for r in self.events):
            raise VirtError("invalid argument: event callback already tracked", ErrorCode.INVALID_ARG)
        cid = self._next_callback_id
        self._next_callback_id += 1
        self.events.append(EventReg(cid, event_id, uuid, legacy))
        if self._event_token is None:
            self._event_token = self.drv.events.subscribe(self._on_event)
        return cid

    def deregister_event(self, callback_id: int) -> bool:
        for i, reg in enumerate(self.events):
            if reg.callback_id == callback_id:
                del self.events[i]
                return True
        return False

    def deregister_legacy_event(self, event_id: int) -> bool:
        # libvirtd drops the first registration of that event, whatever its style or filter
        for i, reg in enumerate(self.events):
            if reg.event_id == event_id:
                del self.events[i]
                return True
        return False

    def _on_event(self, ev: DomainEvent) -> None:
        for reg in self.events:
            if reg.dom_uuid is not None and reg.dom_uuid != ev.dom.uuid:
                continue
            if reg.legacy:
                encoded = legacy_events.encode_legacy_event(ev, reg.event_id)
            else:
                encoded = rev.encode_event(ev, reg.event_id, reg.callback_id)
            if encoded is not None:
                proc, payload = encoded
                # Events travel as MESSAGE packets with serial 1, as libvirtd sends them.
                self.conn.send(pk.frame(P.PROGRAM, P.VERSION, proc, MessageType.MESSAGE, 1, 0, payload))

    def _drop_events(self) -> None:
        if self._event_token is not None and self.driver is not None:
            self.driver.events.unsubscribe(self._event_token)
        self._event_token = None
        self.events.clear()

    # ------------------------------------------------------------------ streams
    def start_stream(self, hdr_serial: int, proc: int, stream: ByteStream) -> None:
        st = StreamState(hdr_serial, proc, stream)
        self.streams[hdr_serial] = st
        # call_soon: the pump starts after the call's reply has been written.
        loop = asyncio.get_running_loop()
        loop.call_soon(self._start_pump, st)

    def _start_pump(self, st: StreamState) -> None:
        if self.conn.closed:
            return
        st.pump = asyncio.get_running_loop().create_task(self._pump(st))

    async def _pump(self, st: StreamState) -> None:
        try:
            while True:
                await self.conn.wait_writable()
                if self.conn.closed:
                    return
                data = await st.stream.read(65536)
                self._stream_send(st, MessageStatus.CONTINUE, data)
                if not data:  # end of stream: an empty CONTINUE packet
                    return
        except VirtError as e:
            self._stream_send(st, MessageStatus.ERROR, pk.encode_error(pk.error_from_virt(e)))
        except Exception as e:  # the driver's stream failed (its fd closed under it...)
            if st.serial not in self.streams or self.conn.closed:
                return  # we are closing it ourselves: nobody to tell
            log.debug("stream read failed", exc_info=True)
            self._stream_send(
                st, MessageStatus.ERROR, pk.encode_error(pk.rpc_error(f"stream read failed: {e}"))
            )

    def _stream_send(self, st: StreamState, status: int, payload: bytes) -> None:
        self.conn.send(pk.frame(P.PROGRAM, P.VERSION, st.proc, MessageType.STREAM, st.serial, status, payload))

    def on_stream(self, hdr: pk.Header, payload: bytes) -> None:
        st = self.streams.get(hdr.serial)
        if st is None:
            return  # libvirtd ignores stream packets for unknown streams
        if hdr.status == MessageStatus.CONTINUE and not payload:
            return  # the client's end of data: nothing to write
        st.inbox.put_nowait((hdr.status, payload))
        if st.writer is None:
            st.writer = asyncio.get_running_loop().create_task(self._stream_writer(st))

    async def _stream_writer(self, st: StreamState) -> None:
        while True:
            status, data = await st.inbox.get()
            if status != MessageStatus.CONTINUE:
                # OK: finish, close our side and confirm; ERROR: the client aborted
                await self._stream_close(st, confirm=status == MessageStatus.OK)
                return
            try:
                await st.stream.write(data)
            except (VirtError, OSError) as e:
                err = e if isinstance(e, VirtError) else VirtError(
                    f"stream write failed: {e}", ErrorCode.RPC, ErrorDomain.STREAMS
                )  # fmt: skip
                self._stream_send(st, MessageStatus.ERROR, pk.encode_error(pk.error_from_virt(err)))
                self.streams.pop(st.serial, None)
                return

    async def _stream_close(self, st: StreamState, confirm: bool) -> None:
        self.streams.pop(st.serial, None)
        if st.pump is not None:
            st.pump.cancel()
        try:
            await st.stream.close()
        finally:
            if confirm:
                self._stream_send(st, MessageStatus.OK, b"")

    # ------------------------------------------------------------------ lifetime
    async def close_driver(self) -> None:
        self._drop_events()
        if self.qemu_events:
            from pyvirt.remote import qemu_handlers

            await qemu_handlers.drop_all(self)
        streams = list(self.streams.values())
        self.streams.clear()  # first: pumps failing on the closing streams then stay quiet
        for st in streams:
            for t in (st.pump, st.writer):
                if t is not None:
                    t.cancel()
            try:
                await st.stream.close()
            except Exception:
                log.debug("closing stream failed", exc_info=True)
        self.streams.clear()
        drv, self.driver = self.driver, None
        if drv is not None:
            await self.program.releaser(drv)

    def on_closed(self, inflight: set[asyncio.Task[None]]) -> None:
        """The client went away: once its calls in flight finish, release its driver
        (in a task: transport callbacks must not wait)."""
        if self.driver is None and not self.streams:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return

        async def release() -> None:
            if inflight:
                await asyncio.wait(inflight)
            await self.close_driver()

        task = loop.create_task(release())
        self.conn.server.background.add(task)
        task.add_done_callback(self.conn.server.background.discard)
