"""A blocking, read-only remote-protocol client for one-shot callers (pyvirsh's light reads).

``pyvirsh list`` against a running pyvirtd needs a handful of calls in a row and no events,
streams or keepalive; the asyncio client (:mod:`.client`) brings asyncio, the RPC client
machinery and the whole driver surface with it. This client sends the same packets
(:mod:`pyvirt.rpc.wire` framing, the declarations and codecs of :mod:`.protocol_core`) over a plain
blocking socket, one call at a time, and serves only what the light commands use.

Its coroutine methods carry the :class:`pyvirt.drivers.base.Driver` names and never
suspend (``inline``): callers drive them without an event loop.
"""

from __future__ import annotations

# _socket, the C module under socket: the wrapper module converts its constants to IntEnums
# and imports selectors, ~2.5 ms of a one-shot pyvirsh; this client needs none of that.
import _socket

from pyvirt.remote import protocol_core as P  # not protocol: only these few calls

# wire, not packet: packet's IntEnums and error records load with an error reply only
from pyvirt.rpc import wire, xdr

TYPE_CHECKING = False  # typing stays off the one-shot path (it imports re)
if TYPE_CHECKING:
    from typing import Any, TypeVar

    from pyvirt.drivers.refs import DomainRef
    from pyvirt.errors import VirtError

    R = TypeVar("R")


# pyvirt.errors (with enum and ~300 IntEnum members) loads only when there is an error to
# raise or to catch: a successful one-shot read never needs it.
def _virt_error() -> type[VirtError]:
    from pyvirt.errors import VirtError

    return VirtError


def _connection_lost() -> VirtError:
    """What the async client raises when the daemon goes away (rpc.client's wording)."""
    from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

    return VirtError("End of file while reading data: Input/output error",
                     ErrorCode.SYSTEM_ERROR, ErrorDomain.RPC)


def _reply_error(payload: bytes) -> VirtError:
    """The daemon's error reply as the exception the async client raises for it."""
    from pyvirt.rpc import packet as pk

    return pk.error_to_virt(pk.decode_error(payload))


class SyncRemoteReads:
    """One connection to a daemon, opened read-only-style for the light commands."""

    inline = True

    def __init__(self, sock: _socket.socket, uri: str) -> None:
        self._sock = sock
        self._uri = uri
        self._serial = 0  # libvirt's clients number their calls from 0
        self._reader = wire.FrameReader()
        self._ready: list[bytes] = []
        # Events (MESSAGE packets: procedure, payload) that arrived while a reply was
        # awaited, in order; only a caller that registered callbacks gets any.
        self.events: list[tuple[int, bytes]] = []
        self._replies: dict[int, bytes] = {}  # pipelined replies that came before theirs

    @classmethod
    def open(cls, path: str, uri: str, readonly: bool = False) -> SyncRemoteReads:
        """Connect to the daemon socket at ``path`` and open ``uri`` on it.

        The handshake is the async client's minus what one-shot reads never use (keepalive,
        close callback, event features): AUTH_LIST, then CONNECT_OPEN. Raises OSError when
        nothing listens and VirtError for the daemon's refusals.
        """
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC)
        try:
            sock.connect(path)
            conn = cls(sock, uri)
            conn._call(P.AUTH_LIST, None)
            conn._call(P.CONNECT_OPEN, P.OpenArgs(uri, 1 if readonly else 0))
        except BaseException:
            sock.close()
            raise
        return conn

    def _packet(self) -> bytes:
        while not self._ready:
            data = self._sock.recv(65536)
            if not data:
                raise _connection_lost()
            self._ready.extend(self._reader.feed(data))
        return self._ready.pop(0)

    def call(self, proc: P.Procedure[Any, R], args: Any, program: int = P.PROGRAM) -> R:
        """One call of ``proc`` (a protocol_core declaration, or ``program``'s: libvirt's
        QEMU program, remote/qemu_protocol.py); the daemon's error as VirtError."""
        return self._call(proc, args, program)

    def _call(self, proc: P.Procedure[Any, R], args: Any, program: int = P.PROGRAM) -> R:
        try:
            serial = self._serial
            self._sock.sendall(self._frame(proc, args, program))
            return self._reply(proc, serial, program)
        except OSError:
            raise _connection_lost() from None

    def _frame(self, proc: P.Procedure[Any, Any], args: Any, program: int = P.PROGRAM) -> bytes:
        """The CALL packet for the next serial (both programs are at version 1)."""
        out = bytearray()
        proc.args.pack(out, args)
        serial = self._serial
        self._serial += 1
        return wire.frame(program, P.VERSION, proc.number, wire.MsgType.CALL, serial,
                          wire.MsgStatus.OK, bytes(out))

    def _reply(self, proc: P.Procedure[Any, R], serial: int, program: int = P.PROGRAM) -> R:
        p = self._replies.pop(serial, None)
        while p is None:
            p = self._packet()
            hdr = wire.parse_header(p)
            if hdr.prog == wire.KEEPALIVE_PROGRAM and hdr.proc == wire.KEEPALIVE_PING:
                # we never advertise keepalive, but answer a ping like the async client
                self._sock.sendall(wire.frame(wire.KEEPALIVE_PROGRAM, 1, wire.KEEPALIVE_PONG,
                                              wire.MsgType.MESSAGE, 0, 0))
                p = None
            elif hdr.prog == P.PROGRAM and hdr.type == wire.MsgType.MESSAGE:
                self.events.append((hdr.proc, p[24:]))  # the remote program's events
                p = None
            elif hdr.prog != program or hdr.type != wire.MsgType.REPLY:
                p = None
            elif hdr.serial != serial:
                self._replies[hdr.serial] = p  # an earlier pipelined call's
                p = None
        if wire.parse_header(p).status != wire.MsgStatus.OK:
            raise _reply_error(p[24:])
        return xdr.decode(proc.ret, p[24:], exact=False)

    def call_many(self, calls: list[tuple[P.Procedure[Any, Any], Any]]) -> list[Any]:
        """Several calls in one write, their results (or the VirtError each raised) in
        order: the daemon works on them together, one round trip instead of one each."""
        try:
            first = self._serial
            self._sock.sendall(b"".join(self._frame(proc, args) for proc, args in calls))
            out: list[Any] = []
            for i, (proc, _) in enumerate(calls):
                try:
                    out.append(self._reply(proc, first + i))
                except _virt_error() as e:
                    out.append(e)
            return out
        except OSError:
            raise _connection_lost() from None

    def wait_message(self, timeout: float | None) -> tuple[int, bytes] | None:
        """The next event (procedure, payload) in arrival order, waiting on the socket at
        most ``timeout`` seconds (None: until one comes); None when the time ran out."""
        if self.events:
            return self.events.pop(0)
        self._sock.settimeout(timeout)
        try:
            while not self.events:
                p = self._packet()
                hdr = wire.parse_header(p)
                if hdr.prog == wire.KEEPALIVE_PROGRAM and hdr.proc == wire.KEEPALIVE_PING:
                    self._sock.sendall(wire.frame(wire.KEEPALIVE_PROGRAM, 1, wire.KEEPALIVE_PONG,
                                                  wire.MsgType.MESSAGE, 0, 0))
                elif hdr.prog == P.PROGRAM and hdr.type == wire.MsgType.MESSAGE:
                    self.events.append((hdr.proc, p[24:]))
        except TimeoutError:
            return None
        except OSError:
            raise _connection_lost() from None
        finally:
            self._sock.settimeout(None)
        return self.events.pop(0)

    # ------------------------------------------------------------ Driver-shaped reads
    def uri(self) -> str:
        return self._uri

    async def close(self) -> None:
        try:
            self._call(P.CONNECT_CLOSE, None)
        except _virt_error():
            pass  # the daemon went away first: nothing left to close but the socket
        finally:
            self._sock.close()

    async def list_all_domains(self, flags: int = 0) -> list[DomainRef]:
        return self._call(P.CONNECT_LIST_ALL_DOMAINS, P.ListAllDomainsArgs(1, flags)).domains

    async def lookup_by_name(self, name: str) -> DomainRef:
        return self._call(P.DOMAIN_LOOKUP_BY_NAME, P.LookupByNameArgs(name)).dom

    async def lookup_by_uuid(self, uuid: bytes) -> DomainRef:
        return self._call(P.DOMAIN_LOOKUP_BY_UUID, P.LookupByUuidArgs(uuid)).dom

    async def lookup_by_id(self, id: int) -> DomainRef:
        return self._call(P.DOMAIN_LOOKUP_BY_ID, P.LookupByIdArgs(id)).dom

    async def get_state(self, dom: DomainRef, flags: int = 0) -> tuple[int, int]:
        r = self._call(P.DOMAIN_GET_STATE, P.DomFlagsArgs(dom, flags))
        return r.state, r.reason
