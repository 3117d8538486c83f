"""Generic libvirt-RPC client: calls matched to replies by serial, messages, streams, keepalive.

Knows nothing about domains. Serials start at 0 as libvirt's client numbers them. Pending
calls fail cleanly with VIR_ERR_SYSTEM_ERROR / VIR_FROM_RPC when the connection drops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pyvirt.errors import ErrorCode, ErrorDomain, VirtError
from pyvirt.rpc import packet as pk
from pyvirt.rpc.packet import MessageStatus, MessageType

if TYPE_CHECKING:
    import ssl  # imported when a TLS connection is made: clients on unix sockets skip it

log = logging.getLogger(__name__)

MessageHandler = Callable[[int, bytes], None]  # (procedure, payload)
CloseHandler = Callable[[Exception | None], None]


def connection_lost_error(detail: str = "End of file while reading data: Input/output error") -> VirtError:
    return VirtError(detail, ErrorCode.SYSTEM_ERROR, ErrorDomain.RPC)


@dataclass
class StreamChannel:
    """Incoming STREAM packets for one call serial."""

    serial: int
    proc: int
    queue: asyncio.Queue[tuple[int, bytes]] = field(default_factory=asyncio.Queue)


class RPCClient(asyncio.BufferedProtocol):
    # recv_into one buffer per connection: a plain Protocol's recv(256 KiB) allocates a
    # fresh 256 KiB object per packet (see rpc/server.py RECV_BUFFER).
    RECV_BUFFER = 256 * 1024

    def __init__(self, program: int, version: int) -> None:
        self.program = program
        self.version = version
        self.transport: asyncio.Transport | None = None
        self.reader = pk.FrameReader()
        self._serial = 0
        self._pending: dict[int, asyncio.Future[bytes]] = {}
        self._streams: dict[int, StreamChannel] = {}
        self.on_message: MessageHandler | None = None
        # further programs on this connection (libvirt-qemu's): their MESSAGE packets' handler
        self.other_programs: dict[int, MessageHandler] = {}
        self.on_close: list[CloseHandler] = []
        self.closed = False
        self._ka_handle: asyncio.TimerHandle | None = None
        self._ka_unanswered = 0
        # virConnectCloseReason for close callbacks: 1 EOF, 2 keepalive timeout
        self.close_reason = 1
        # over TLS libvirt's server first sends one byte: 1 = it accepted our certificate
        self._tls_confirm: asyncio.Future[None] | None = None
        self._rbuf = memoryview(bytearray(self.RECV_BUFFER))

    @classmethod
    async def connect_unix(cls, path: str, program: int, version: int) -> RPCClient:
        loop = asyncio.get_running_loop()
        try:
            _, proto = await loop.create_unix_connection(lambda: cls(program, version), path)
        except OSError as e:
            raise VirtError(
                f"Failed to connect socket to '{path}': {e.strerror}", ErrorCode.SYSTEM_ERROR, ErrorDomain.RPC
            ) from None
        return proto

    @classmethod
    async def connect_tls(
        cls, host: str, port: int, ctx: ssl.SSLContext, program: int, version: int
    ) -> RPCClient:
        import ssl

        loop = asyncio.get_running_loop()

        def make() -> RPCClient:
            c = cls(program, version)
            c._tls_confirm = loop.create_future()
            return c

        try:
            _, proto = await loop.create_connection(make, host, port, ssl=ctx, server_hostname=host)
        except (OSError, ssl.SSLError) as e:
            raise VirtError(
                f"unable to connect to server at '{host}:{port}': {e}", ErrorCode.SYSTEM_ERROR, ErrorDomain.RPC
            ) from None
        assert proto._tls_confirm is not None
        try:
            async with asyncio.timeout(30):
                await proto._tls_confirm
        except BaseException:
            proto.close()
            raise
        return proto

    # ---- asyncio.BufferedProtocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._rbuf

    def buffer_updated(self, nbytes: int) -> None:
        self.data_received(bytes(self._rbuf[:nbytes]))

    def data_received(self, data: bytes) -> None:
        self._ka_unanswered = 0
        if self._tls_confirm is not None and not self._tls_confirm.done():
            if data[:1] != b"\x01":
                self._tls_confirm.set_exception(VirtError(
                    "authentication failed: server verification (of our certificate or IP address) failed",
                    ErrorCode.AUTH_FAILED, ErrorDomain.RPC,
                ))  # fmt: skip
                self.close()
                return
            self._tls_confirm.set_result(None)
            data = data[1:]
        try:
            for p in self.reader.feed(data):
                self._packet(p)
        except pk.FramingError as e:
            log.warning("bad packet from server: %s", e)
            if self.transport is not None:
                self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._ka_handle is not None:
            self._ka_handle.cancel()
        err = connection_lost_error()
        if self._tls_confirm is not None and not self._tls_confirm.done():
            # the server dropped us instead of confirming: it refused our certificate (its
            # DN allow-list, say); libvirt's client reports exactly this
            self._tls_confirm.set_exception(VirtError(
                "server verification (of our certificate or IP address) failed", ErrorCode.RPC, ErrorDomain.RPC))
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(err)
        self._pending.clear()
        for ch in self._streams.values():
            ch.queue.put_nowait((MessageStatus.ERROR, pk.encode_error(pk.error_from_virt(err))))
        for cb in list(self.on_close):
            try:
                cb(exc)
            except Exception:
                log.exception("close callback failed")

    def _packet(self, p: bytes) -> None:
        hdr = pk.parse_header(p)
        payload = p[24:]
        if hdr.prog == pk.KEEPALIVE_PROGRAM:
            if hdr.proc == pk.KEEPALIVE_PING:
                self._send(pk.frame(pk.KEEPALIVE_PROGRAM, 1, pk.KEEPALIVE_PONG, MessageType.MESSAGE, 0, 0))
            return
        if hdr.prog != self.program and hdr.prog not in self.other_programs:
            return
        if hdr.type == MessageType.REPLY:
            fut = self._pending.pop(hdr.serial, None)
            if fut is None or fut.done():
                return
            if hdr.status == MessageStatus.OK:
                fut.set_result(payload)
            else:
                try:
                    fut.set_exception(pk.error_to_virt(pk.decode_error(payload)))
                except VirtError as e:  # undecodable error payload
                    fut.set_exception(e)
        elif hdr.type == MessageType.MESSAGE:
            on_message = self.on_message if hdr.prog == self.program else self.other_programs[hdr.prog]
            if on_message is not None:
                try:
                    on_message(hdr.proc, payload)
                except Exception:
                    log.exception("message handler failed for procedure %d", hdr.proc)
        elif hdr.type == MessageType.STREAM:
            ch = self._streams.get(hdr.serial)
            if ch is not None:
                ch.queue.put_nowait((hdr.status, payload))

    # ---- output
    def _send(self, data: bytes) -> None:
        if self.transport is None or self.closed:
            raise connection_lost_error("client socket is closed")
        self.transport.write(data)

    def next_serial(self) -> int:
        s = self._serial
        self._serial = (s + 1) & 0xFFFFFFFF
        return s

    async def call(self, proc: int, payload: bytes = b"", program: int | None = None) -> bytes:
        """Send a CALL and wait for its REPLY payload; remote errors raise VirtError.
        ``program``: another program of the connection (version 1; its replies share the
        serials)."""
        return (await self._call(proc, payload, False, program))[0]

    async def call_stream(self, proc: int, payload: bytes = b"") -> tuple[bytes, StreamChannel]:
        """A call that opens a stream: its STREAM packets are queued from the moment of
        sending, so none is lost between the reply and the caller reading them."""
        reply, ch = await self._call(proc, payload, True)
        assert ch is not None
        return reply, ch

    async def _call(self, proc: int, payload: bytes, stream: bool,
                    program: int | None = None) -> tuple[bytes, StreamChannel | None]:
        serial = self.next_serial()
        fut: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._pending[serial] = fut
        ch = None
        if stream:
            ch = self._streams[serial] = StreamChannel(serial, proc)
        try:
            prog, vers = (self.program, self.version) if program is None else (program, 1)
            self._send(pk.frame(prog, vers, proc, MessageType.CALL, serial, MessageStatus.OK, payload))
            return await fut, ch
        except BaseException:
            self._pending.pop(serial, None)
            self._streams.pop(serial, None)
            raise

    def stream_channel(self, serial: int) -> StreamChannel | None:
        return self._streams.get(serial)

    def drop_stream(self, serial: int) -> None:
        self._streams.pop(serial, None)

    def send_stream(self, proc: int, serial: int, status: int, payload: bytes = b"") -> None:
        self._send(pk.frame(self.program, self.version, proc, MessageType.STREAM, serial, status, payload))

    # ---- keepalive
    def start_keepalive(self, interval: float = 5.0, count: int = 5) -> None:
        """Ping the server after ``interval`` s of silence; give up after ``count`` misses."""
        if interval <= 0 or self._ka_handle is not None:
            return
        loop = asyncio.get_running_loop()

        def tick() -> None:
            if self.closed:
                return
            if self._ka_unanswered >= count:
                log.warning("server stopped answering keepalive; closing connection")
                self.close_reason = 2
                self.close()
                return
            self._ka_unanswered += 1
            with contextlib.suppress(VirtError):
                self._send(pk.frame(pk.KEEPALIVE_PROGRAM, 1, pk.KEEPALIVE_PING, MessageType.MESSAGE, 0, 0))
            self._ka_handle = loop.call_later(interval, tick)

        self._ka_handle = loop.call_later(interval, tick)

    def close(self) -> None:
        if self._ka_handle is not None:
            self._ka_handle.cancel()
        if self.transport is not None and not self.closed:
            self.transport.close()
