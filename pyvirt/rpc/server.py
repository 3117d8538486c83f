"""Generic libvirt-RPC server: listeners, per-client framing, keepalive, flow control.

Knows nothing about domains. A :class:`ProgramFactory` makes one :class:`Session` per
client; the connection hands it every CALL and STREAM packet of its program and sends
whatever it writes back. The keepalive program (PING/PONG) is handled here, as are the
errors libvirtd gives for packets no program can take ("Cannot find program ...",
"Unexpected message status ..."). Framing errors (length outside 28..32 MiB) drop the
client, as libvirtd does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import ssl
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from pyvirt.rpc import packet as pk
from pyvirt.rpc.packet import MessageStatus, MessageType

if TYPE_CHECKING:
    from pyvirt.rpc.tlsacl import DnAllowList

log = logging.getLogger(__name__)

KEEPALIVE_INTERVAL = 5.0
KEEPALIVE_COUNT = 5
MAX_CLIENT_REQUESTS = 5  # libvirtd.conf max_client_requests: calls in flight per client
MAX_WRITE_BUFFER = 4 * pk.MESSAGE_MAX  # unread output per client before it is dropped


class Session(Protocol):
    """One client's state in a program (e.g. the remote program's open driver)."""

    def on_call(self, hdr: pk.Header, payload: bytes) -> Coroutine[Any, Any, None] | None:
        """Handle a CALL; return a coroutine to run if the work could not finish inline."""

    def on_stream(self, hdr: pk.Header, payload: bytes) -> None: ...

    def on_closed(self, inflight: set[asyncio.Task[None]]) -> None:
        """The client is gone; ``inflight`` are its calls still running."""


class ProgramFactory(Protocol):
    program: int
    version: int

    def new_session(self, conn: ServerConnection) -> Session: ...


@dataclass
class ListenerSpec:
    path: str
    mode: int
    readonly: bool


# Bytes read from a client socket at a time. One buffer per connection, read into with
# recv_into (asyncio.BufferedProtocol): the plain Protocol's recv(256 KiB) allocates (and,
# above malloc's mmap threshold, maps and unmaps) a fresh 256 KiB object for every packet,
# ~14 us of a ~100 us call round trip.
RECV_BUFFER = 256 * 1024


class ServerConnection(asyncio.BufferedProtocol):
    """One client socket."""

    def __init__(self, factory: ProgramFactory, readonly: bool, server: RPCServer, tls: bool = False,
                 dn_acl: DnAllowList | None = None) -> None:
        self.factory = factory
        self.tls = tls
        self.dn_acl = dn_acl  # tls_allowed_dn_list: checked once the handshake is done
        self.readonly = readonly
        self.server = server
        self.reader = pk.FrameReader()
        self.transport: asyncio.Transport | None = None
        self.session: Session | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        self.inflight = 0
        self._read_paused_by: set[str] = set()
        self._ka_handle: asyncio.TimerHandle | None = None
        self._ka_unanswered = 0
        self._ka_enabled = False
        self.closed = False
        self._writable = asyncio.Event()
        self._writable.set()
        self._rbuf = memoryview(bytearray(RECV_BUFFER))

    # ---- asyncio.BufferedProtocol
    def get_buffer(self, sizehint: int) -> memoryview:
        return self._rbuf

    def buffer_updated(self, nbytes: int) -> None:
        self.data_received(bytes(self._rbuf[:nbytes]))

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if self.tls:
            if self.dn_acl is not None:
                from pyvirt.rpc.tlsacl import REFUSED, subject_dn

                dn = subject_dn(transport.get_extra_info("peercert") or {})
                if not self.dn_acl.allows(dn):
                    # like libvirtd: no confirmation byte, the client reads end of file
                    log.warning("%s (client DN: %s)", REFUSED, dn)
                    self.closed = True
                    transport.close()
                    return
            # The TLS handshake (client certificate verified against our CA) is done by now;
            # libvirt's server then confirms with one byte, which its clients wait for.
            transport.write(b"\x01")
        self.session = self.factory.new_session(self)
        self.server.clients.add(self)

    def data_received(self, data: bytes) -> None:
        self._ka_unanswered = 0
        try:
            for pkt in self.reader.feed(data):
                self._packet(pkt)
        except pk.FramingError as e:
            log.info("dropping client: %s", e)
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._writable.set()
        self.server.clients.discard(self)
        if self._ka_handle is not None:
            self._ka_handle.cancel()
        # Calls in flight are not cancelled: like libvirtd, a job a client started (a domain
        # start, a migration) completes even if the client vanished; its reply is dropped.
        if self.server.stopping:
            for t in list(self.tasks):
                t.cancel()
        if self.session is not None:
            self.session.on_closed(set(self.tasks))
            self.session = None

    def pause_writing(self) -> None:
        self._writable.clear()
        self._pause_reading("write")

    def resume_writing(self) -> None:
        self._writable.set()
        self._resume_reading("write")

    async def wait_writable(self) -> None:
        """Wait while the client is not reading (its socket buffer and ours are full);
        producers of unsolicited data (stream pumps) call this so memory stays bounded."""
        await self._writable.wait()

    # ---- flow control
    def _pause_reading(self, why: str) -> None:
        if not self._read_paused_by and self.transport is not None and not self.closed:
            self.transport.pause_reading()
        self._read_paused_by.add(why)

    def _resume_reading(self, why: str) -> None:
        self._read_paused_by.discard(why)
        if not self._read_paused_by and self.transport is not None and not self.closed:
            self.transport.resume_reading()

    # ---- packets
    def _packet(self, pkt: bytes) -> None:
        hdr = pk.parse_header(pkt)
        payload = pkt[24:]
        if hdr.prog == pk.KEEPALIVE_PROGRAM and hdr.vers == pk.KEEPALIVE_VERSION:
            if hdr.type == MessageType.MESSAGE and hdr.proc == pk.KEEPALIVE_PING:
                self.send(pk.frame(pk.KEEPALIVE_PROGRAM, 1, pk.KEEPALIVE_PONG, MessageType.MESSAGE, 0, 0))
            return  # PONG: the data itself already reset the unanswered count
        if (hdr.prog != self.factory.program or hdr.vers != self.factory.version) and \
                (hdr.prog, hdr.vers) not in getattr(self.factory, "extra_programs", ()):
            if hdr.type == MessageType.CALL:
                self.reply_error(hdr, pk.rpc_error(f"Cannot find program {hdr.prog} version {hdr.vers}"))
            return
        session = self.session
        if session is None:
            return
        if hdr.type == MessageType.CALL:
            if hdr.status != MessageStatus.OK:
                self.reply_error(hdr, pk.rpc_error(f"Unexpected message status {hdr.status}"))
                return
            coro = session.on_call(hdr, payload)
            if coro is not None:
                self._spawn(coro)
        elif hdr.type == MessageType.STREAM:
            session.on_stream(hdr, payload)
        # Anything else from a client (REPLY, MESSAGE, *_WITH_FDS we do not offer) is ignored,
        # as libvirtd ignores it.

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        self.inflight += 1
        if self.inflight >= MAX_CLIENT_REQUESTS:
            self._pause_reading("requests")
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        self.inflight -= 1
        if self.inflight < MAX_CLIENT_REQUESTS:
            self._resume_reading("requests")
        if not task.cancelled() and task.exception() is not None:
            log.error("call handler crashed", exc_info=task.exception())

    # ---- output
    def send(self, data: bytes | bytearray) -> None:
        if self.transport is not None and not self.closed:
            self.transport.write(data)
            # Replies are bounded by reading backpressure, but events and stream data are
            # not: a client that stops reading while they pile up is dropped, as libvirtd
            # drops clients whose outgoing queue overflows.
            if self.transport.get_write_buffer_size() > self.server.max_write_buffer:
                log.warning("client is not reading its messages; dropping it")
                self.transport.abort()
                self.closed = True

    def reply(self, hdr: pk.Header, payload: bytes) -> None:
        self.send(pk.frame(hdr.prog, hdr.vers, hdr.proc, MessageType.REPLY, hdr.serial, MessageStatus.OK, payload))

    def reply_error(self, hdr: pk.Header, err: pk.RemoteError) -> None:
        self.send(
            pk.frame(
                hdr.prog, hdr.vers, hdr.proc, MessageType.REPLY, hdr.serial, MessageStatus.ERROR,
                pk.encode_error(err),
            )
        )  # fmt: skip

    def close_after_reply(self) -> None:
        """Close once the reply being produced now has been queued (it is written first)."""
        asyncio.get_running_loop().call_soon(self.close)

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.closed = True
            self.transport.close()

    # ---- keepalive (started when the client says it speaks the keepalive program)
    def start_keepalive(self, interval: float = KEEPALIVE_INTERVAL, count: int = KEEPALIVE_COUNT) -> None:
        if self._ka_enabled or interval <= 0:
            return
        self._ka_enabled = True
        loop = asyncio.get_running_loop()

        def tick() -> None:
            if self.closed:
                return
            if self._ka_unanswered >= count:
                log.info("client stopped answering keepalive; dropping it")
                self.close()
                return
            self._ka_unanswered += 1
            self.send(pk.frame(pk.KEEPALIVE_PROGRAM, 1, pk.KEEPALIVE_PING, MessageType.MESSAGE, 0, 0))
            self._ka_handle = loop.call_later(interval, tick)

        self._ka_handle = loop.call_later(interval, tick)


class RPCServer:
    """Unix-socket listeners sharing one program."""

    def __init__(self, factory: ProgramFactory) -> None:
        self.factory = factory
        self.clients: set[ServerConnection] = set()
        # clean-up work started from transport callbacks (a vanished client's driver close)
        self.background: set[asyncio.Task[None]] = set()
        self.stopping = False
        self.max_write_buffer = MAX_WRITE_BUFFER
        self._servers: list[asyncio.AbstractServer] = []
        self._paths: list[str] = []

    async def listen_unix(self, spec: ListenerSpec) -> None:
        os.makedirs(os.path.dirname(spec.path) or ".", exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(spec.path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        # Create the socket with the final mode: no window where a 0600 socket is 0666.
        old = os.umask(0o777 & ~spec.mode)
        try:
            sock.bind(spec.path)
        finally:
            os.umask(old)
        os.chmod(spec.path, spec.mode)
        sock.listen(128)
        loop = asyncio.get_running_loop()
        srv = await loop.create_unix_server(
            lambda: ServerConnection(self.factory, spec.readonly, self), sock=sock
        )
        self._servers.append(srv)
        self._paths.append(spec.path)

    async def listen_tls(self, host: str, port: int, ctx: ssl.SSLContext,
                         dn_acl: DnAllowList | None = None) -> int:
        """TCP+TLS listener (libvirt's 16514); ``ctx`` must require client certificates.

        Returns the bound port (useful with port 0)."""
        if ctx.verify_mode != ssl.CERT_REQUIRED:
            raise ValueError("TLS listener needs client certificates (CERT_REQUIRED)")
        loop = asyncio.get_running_loop()
        srv = await loop.create_server(
            lambda: ServerConnection(self.factory, False, self, tls=True, dn_acl=dn_acl), host, port, ssl=ctx
        )
        self._servers.append(srv)
        return int(srv.sockets[0].getsockname()[1])

    async def close(self) -> None:
        self.stopping = True
        for srv in self._servers:
            srv.close()
        for c in list(self.clients):
            c.close()
        # connection_lost runs on a later loop iteration and may start release tasks
        # (dispatch's on_closed): let it run, then wait for every task it started.
        await asyncio.sleep(0)
        while self.background:
            await asyncio.gather(*list(self.background), return_exceptions=True)
        for p in self._paths:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(p)
        self._servers.clear()
        self._paths.clear()
