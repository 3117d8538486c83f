"""A Driver that talks to a daemon over the remote protocol: pyvirtd or the real libvirtd.

URIs: ``<driver>+unix:///<path>?socket=SOCK`` (``test+unix:///default?socket=...``,
``qemu+unix:///system?socket=...``) or a plain ``qemu:///system`` / ``test:///default``
with an explicit ``socket``. The daemon is asked to open the URI without the transport and
the query, exactly what libvirt's remote driver sends (``test:///default``).

The connect sequence mirrors virsh's, so daemons see the same traffic from us as from the
C library: AUTH_LIST, keepalive feature probe, CONNECT_OPEN, event/close callback features.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from pyvirt.drivers.base import (
    ByteStream,
    DomainEvent,
    DomainInfo,
    DomainRef,
    Driver,
    EventBus,
    EventCallback,
    NodeInfo,
)
from pyvirt.enums import DomainState, EventID
from pyvirt.errors import ErrorCode, ErrorDomain, InvalidArg, VirtError
from pyvirt.remote import events as rev
from pyvirt.remote import protocol as P
from pyvirt.remote.blockjob_client import RemoteBlockJobMixin
from pyvirt.remote.network_client import RemoteNetworkMixin
from pyvirt.remote.qemu_client import RemoteQemuMixin
from pyvirt.remote.screenshot_client import RemoteScreenshotMixin
from pyvirt.remote.snapshot_client import RemoteSnapshotMixin
from pyvirt.remote.storage_client import RemoteStorageMixin
from pyvirt.remote.vcpu_client import RemoteVcpuMixin
from pyvirt.rpc import packet as pk
from pyvirt.rpc import xdr
from pyvirt.rpc.client import RPCClient, StreamChannel
from pyvirt.rpc.packet import MessageStatus

if TYPE_CHECKING:
    import ssl  # imported only for +tls URIs: start-up of unix-socket clients stays light

log = logging.getLogger(__name__)

R = TypeVar("R")

CLOSE_REASON_ERROR = 0

# The events the Driver interface models; BLOCK_JOB_2 stands for both block-job kinds.
_EVENT_IDS = (
    EventID.LIFECYCLE,
    EventID.REBOOT,
    EventID.BLOCK_JOB_2,
    EventID.TRAY_CHANGE,
    EventID.DEVICE_REMOVED,
    EventID.AGENT_LIFECYCLE,
)

SYSTEM_SOCKET = "/run/pyvirt/libvirt-sock"
SESSION_IDLE_TIMEOUT = 30  # seconds an auto-spawned session daemon lingers without clients


def session_socket() -> str:
    xdg = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    return os.path.join(xdg, "pyvirt", "libvirt-sock")


@dataclass(frozen=True)
class Target:
    """Where a client URI leads: the URI the daemon should open, and how to reach it."""

    name: str
    transport: str  # "unix" or "tls"
    socket: str = ""
    host: str = ""
    port: int = 16514
    pkipath: str = ""

    def tls_context(self) -> ssl.SSLContext:
        """libvirt's client PKI layout: pkipath=DIR, else /etc/pki (root) or ~/.pki/libvirt."""
        import ssl

        if self.pkipath:
            ca, cert, key = (os.path.join(self.pkipath, f) for f in ("cacert.pem", "clientcert.pem", "clientkey.pem"))
        elif os.getuid() == 0:
            ca, cert, key = ("/etc/pki/CA/cacert.pem", "/etc/pki/libvirt/clientcert.pem",
                             "/etc/pki/libvirt/private/clientkey.pem")  # fmt: skip
        else:
            d = os.path.expanduser("~/.pki/libvirt")
            ca, cert, key = (os.path.join(d, f) for f in ("cacert.pem", "clientcert.pem", "clientkey.pem"))
        try:
            ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca)
            ctx.load_cert_chain(cert, key)
        except (OSError, ssl.SSLError) as e:
            raise VirtError(f"Cannot read TLS certificates: {e}", ErrorCode.SYSTEM_ERROR, ErrorDomain.RPC) from None
        return ctx


def parse_uri(uri: str) -> Target:
    u = urlsplit(uri)
    scheme, _, transport = u.scheme.partition("+")
    q = parse_qs(u.query)
    # Only the driver part goes to the daemon, as libvirt's remote driver sends it:
    # "test+unix:///default?socket=..." and "qemu+tls://host/system" open "test:///default"
    # and "qemu:///system".
    name = f"{scheme}://{u.path}" if transport else f"{scheme}://{u.netloc}{u.path}"
    if transport in ("", "unix"):
        sock = q.get("socket", [""])[0]
        if not sock:
            sock = session_socket() if u.path.rstrip("/") == "/session" else SYSTEM_SOCKET
        return Target(name, "unix", socket=sock)
    if transport == "tls":
        return Target(name, "tls", host=u.hostname or "localhost", port=u.port or 16514,
                      pkipath=q.get("pkipath", [""])[0])  # fmt: skip
    raise InvalidArg(f"transport '{transport}' is not supported", ErrorCode.INVALID_ARG, ErrorDomain.REMOTE)


def split_uri(uri: str) -> tuple[str, str]:
    """(URI the daemon should open, socket path) from a unix-socket client URI."""
    t = parse_uri(uri)
    if t.transport != "unix":
        raise InvalidArg(f"transport '{t.transport}' is not supported", ErrorCode.INVALID_ARG, ErrorDomain.REMOTE)
    return t.name, t.socket


class _RemoteEventBus(EventBus):
    """EventBus that asks the server for events once somebody subscribes."""

    def __init__(self, on_first: Any) -> None:
        super().__init__()
        self._on_first = on_first

    def subscribe(self, cb: EventCallback) -> int:
        first = not self._subs
        token = super().subscribe(cb)
        if first:
            self._on_first()
        return token


class _RemoteStream:
    """A ByteStream over a STREAM channel (console)."""

    def __init__(self, rpc: RPCClient, ch: StreamChannel) -> None:
        self._rpc = rpc
        self._ch = ch
        self._eof = False
        self._closed = False

    async def read(self, n: int = 65536) -> bytes:
        if self._eof:
            return b""
        status, payload = await self._ch.queue.get()
        if status == MessageStatus.CONTINUE:
            if not payload:
                self._eof = True
            return payload
        if status == MessageStatus.ERROR:
            self._eof = True
            raise pk.error_to_virt(pk.decode_error(payload))
        self._eof = True  # OK: the server finished the stream
        return b""

    async def write(self, data: bytes) -> None:
        for i in range(0, len(data), 262144):
            self._rpc.send_stream(self._ch.proc, self._ch.serial, MessageStatus.CONTINUE, data[i : i + 262144])

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(VirtError):
            self._rpc.send_stream(self._ch.proc, self._ch.serial, MessageStatus.OK)
            # wait for the server's OK; data still in flight before it is dropped
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5):
                    while True:
                        status, _ = await self._ch.queue.get()
                        if status != MessageStatus.CONTINUE:
                            break
        self._rpc.drop_stream(self._ch.serial)


class RemoteDriver(RemoteQemuMixin, RemoteVcpuMixin, RemoteSnapshotMixin, RemoteStorageMixin, RemoteBlockJobMixin,
                   RemoteNetworkMixin, RemoteScreenshotMixin, Driver):
    def __init__(self, uri: str, rpc: RPCClient, type_name: str) -> None:
        super().__init__()
        self.events = _RemoteEventBus(self._want_events)
        self._uri = uri
        self._rpc = rpc
        self._type = type_name
        self._callbacks: dict[int, EventID] = {}
        self._events_task: asyncio.Task[None] | None = None
        self._closing = False
        self._legacy_events = False
        rpc.on_message = self._on_message

    @classmethod
    async def open(cls, uri: str, readonly: bool = False, keepalive: float = 5.0) -> RemoteDriver:
        target = parse_uri(uri)
        name = target.name
        if target.transport == "tls":
            rpc = await RPCClient.connect_tls(target.host, target.port, target.tls_context(), P.PROGRAM, P.VERSION)
        else:
            try:
                rpc = await RPCClient.connect_unix(target.socket, P.PROGRAM, P.VERSION)
            except VirtError:
                # Like libvirt, a session URI with no daemon listening starts one for this user.
                if name.rstrip("/") != "qemu:///session" or "socket=" in uri:
                    raise
                rpc = await _spawn_session_daemon(target.socket)
        try:
            await _call(rpc, P.AUTH_LIST, None)
            ka = await _call(rpc, P.CONNECT_SUPPORTS_FEATURE, P.SupportsFeatureArgs(P.DrvFeature.PROGRAM_KEEPALIVE))
            if ka.supported:
                rpc.start_keepalive(keepalive)
            await _call(rpc, P.CONNECT_OPEN, P.OpenArgs(name, 1 if readonly else 0))
            supported = []
            for f in (P.DrvFeature.REMOTE_EVENT_CALLBACK, P.DrvFeature.REMOTE_CLOSE_CALLBACK):
                supported.append((await _call(rpc, P.CONNECT_SUPPORTS_FEATURE, P.SupportsFeatureArgs(f))).supported)
            await _call(rpc, P.CONNECT_REGISTER_CLOSE_CALLBACK, None)
            t = await _call(rpc, P.CONNECT_GET_TYPE, None)
        except BaseException:
            rpc.close()
            raise
        drv = cls(uri, rpc, t.type)
        # a daemon without callback events gets the old registrations (remote/legacy_events.py)
        drv._legacy_events = not supported[0]
        return drv

    async def _call(self, proc: P.Procedure[Any, R], args: Any = None) -> R:
        return await _call(self._rpc, proc, args)

    async def _call_stream(self, proc: P.Procedure[Any, Any], args: Any) -> tuple[bytes, ByteStream]:
        """A call whose data follows on a stream (console, volume transfer, screenshot):
        the raw reply (for the caller to decode, if it carries anything) and the stream."""
        raw, ch = await self._rpc.call_stream(proc.number, xdr.encode(proc.args, args))
        return raw, _RemoteStream(self._rpc, ch)

    # ---- events
    def _want_events(self) -> None:
        if self._events_task is None:
            self._events_task = asyncio.get_running_loop().create_task(self._register_events())

    async def register_events(self) -> None:
        """Register server-side callbacks for every event the Driver interface models.

        Idempotent; subscribing to ``events`` starts it in the background, and awaiting it
        guarantees no later event is missed.
        """
        self._want_events()
        assert self._events_task is not None
        await asyncio.shield(self._events_task)

    async def _register_events(self) -> None:
        if self._legacy_events:
            from pyvirt.remote.legacy_events import LEGACY_CLIENT_EVENT_IDS

            for eid in LEGACY_CLIENT_EVENT_IDS:
                await self._call(P.CONNECT_DOMAIN_EVENT_REGISTER_ANY, P.LegacyEventIdArgs(int(eid)))
            return
        async def register(eid: EventID) -> None:
            r = await self._call(P.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, P.EventRegisterArgs(int(eid), None))
            self._callbacks[r.callbackID] = eid

        # all at once: one round trip instead of one per event id (a --wait client waits on it)
        await asyncio.gather(*(register(eid) for eid in _EVENT_IDS))

    def _on_message(self, proc: int, payload: bytes) -> None:
        if self._legacy_events:
            from pyvirt.remote.legacy_events import decode_legacy_event

            try:
                legacy = decode_legacy_event(proc, payload)
            except (VirtError, ValueError):
                log.warning("undecodable event %d", proc)
                return
            if legacy is not None:
                self.events.publish(legacy)
            return
        try:
            decoded = rev.decode_event(proc, payload)
        except (VirtError, ValueError):
            log.warning("undecodable event %d", proc)
            return
        if decoded is None:
            return
        cid, ev = decoded
        if cid in self._callbacks:
            self.events.publish(ev)

    # ---- connection
    def add_close_callback(self, cb: Callable[[int], None]) -> None:
        """Call ``cb(reason)`` if the connection drops without :meth:`close` (virConnectCloseReason:
        0 error, 1 end of file, 2 keepalive timeout)."""

        def on_close(exc: Exception | None) -> None:
            if not self._closing:
                cb(self._rpc.close_reason if exc is None else CLOSE_REASON_ERROR)

        self._rpc.on_close.append(on_close)

    async def close(self) -> None:
        self._closing = True
        if self._rpc.closed:
            return
        with contextlib.suppress(VirtError):
            await self._call(P.CONNECT_UNREGISTER_CLOSE_CALLBACK)
            await self._call(P.CONNECT_CLOSE)
        self._rpc.close()

    def uri(self) -> str:
        return self._uri

    def type_name(self) -> str:
        return self._type

    async def get_version(self) -> int:
        return (await self._call(P.CONNECT_GET_VERSION)).hv_ver

    async def get_lib_version(self) -> int:
        return (await self._call(P.CONNECT_GET_LIB_VERSION)).lib_ver

    async def get_hostname(self) -> str:
        return (await self._call(P.CONNECT_GET_HOSTNAME)).hostname

    async def get_capabilities(self) -> str:
        return (await self._call(P.CONNECT_GET_CAPABILITIES)).capabilities

    async def get_domain_capabilities(
        self, emulator: str | None, arch: str | None, machine: str | None, virttype: str | None, flags: int
    ) -> str:
        a = P.GetDomainCapabilitiesArgs(emulator, arch, machine, virttype, flags)
        return (await self._call(P.CONNECT_GET_DOMAIN_CAPABILITIES, a)).capabilities

    async def node_get_info(self) -> NodeInfo:
        r = await self._call(P.NODE_GET_INFO)
        return NodeInfo(r.model, r.memory, r.cpus, r.mhz, r.nodes, r.sockets, r.cores, r.threads)

    async def is_alive(self) -> bool:
        return not self._rpc.closed

    # ---- lookup / listing
    async def list_all_domains(self, flags: int = 0) -> list[DomainRef]:
        return (await self._call(P.CONNECT_LIST_ALL_DOMAINS, P.ListAllDomainsArgs(1, flags))).domains

    async def lookup_by_name(self, name: str) -> DomainRef:
        return (await self._call(P.DOMAIN_LOOKUP_BY_NAME, P.LookupByNameArgs(name))).dom

    async def lookup_by_uuid(self, uuid: bytes) -> DomainRef:
        return (await self._call(P.DOMAIN_LOOKUP_BY_UUID, P.LookupByUuidArgs(uuid))).dom

    async def lookup_by_id(self, id: int) -> DomainRef:
        return (await self._call(P.DOMAIN_LOOKUP_BY_ID, P.LookupByIdArgs(id))).dom

    async def list_domain_ids(self) -> list[int]:
        n = (await self._call(P.CONNECT_NUM_OF_DOMAINS)).num
        return (await self._call(P.CONNECT_LIST_DOMAINS, P.ListDomainsArgs(n))).ids

    async def list_defined_domains(self) -> list[str]:
        n = (await self._call(P.CONNECT_NUM_OF_DEFINED_DOMAINS)).num
        return (await self._call(P.CONNECT_LIST_DEFINED_DOMAINS, P.ListDefinedDomainsArgs(n))).names

    # ---- definition
    async def define_xml(self, xml: str, flags: int = 0) -> DomainRef:
        if flags:
            return (await self._call(P.DOMAIN_DEFINE_XML_FLAGS, P.DefineXmlFlagsArgs(xml, flags))).dom
        return (await self._call(P.DOMAIN_DEFINE_XML, P.DefineXmlArgs(xml))).dom

    async def create_xml(self, xml: str, flags: int = 0) -> DomainRef:
        return (await self._call(P.DOMAIN_CREATE_XML, P.CreateXmlArgs(xml, flags))).dom

    async def undefine(self, dom: DomainRef, flags: int = 0) -> None:
        await self._call(P.DOMAIN_UNDEFINE_FLAGS, P.DomFlagsArgs(dom, flags))

    async def get_xml_desc(self, dom: DomainRef, flags: int = 0) -> str:
        return (await self._call(P.DOMAIN_GET_XML_DESC, P.DomFlagsArgs(dom, flags))).xml

    # ---- state
    async def get_info(self, dom: DomainRef) -> DomainInfo:
        r = await self._call(P.DOMAIN_GET_INFO, P.DomArgs(dom))
        state = DomainState(r.state) if r.state in DomainState._value2member_map_ else DomainState.NOSTATE
        return DomainInfo(state, r.maxMem, r.memory, r.nrVirtCpu, r.cpuTime)

    async def get_state(self, dom: DomainRef, flags: int = 0) -> tuple[int, int]:
        r = await self._call(P.DOMAIN_GET_STATE, P.DomFlagsArgs(dom, flags))
        return r.state, r.reason

    async def is_active(self, dom: DomainRef) -> bool:
        return bool((await self._call(P.DOMAIN_IS_ACTIVE, P.DomArgs(dom))).active)

    async def is_persistent(self, dom: DomainRef) -> bool:
        return bool((await self._call(P.DOMAIN_IS_PERSISTENT, P.DomArgs(dom))).persistent)

    async def get_autostart(self, dom: DomainRef) -> bool:
        return bool((await self._call(P.DOMAIN_GET_AUTOSTART, P.DomArgs(dom))).autostart)

    async def set_autostart(self, dom: DomainRef, autostart: bool) -> None:
        await self._call(P.DOMAIN_SET_AUTOSTART, P.SetAutostartArgs(dom, int(autostart)))

    async def has_managed_save_image(self, dom: DomainRef, flags: int = 0) -> bool:
        return bool((await self._call(P.DOMAIN_HAS_MANAGED_SAVE_IMAGE, P.DomFlagsArgs(dom, flags))).result)

    async def get_os_type(self, dom: DomainRef) -> str:
        return (await self._call(P.DOMAIN_GET_OS_TYPE, P.DomArgs(dom))).type

    async def node_get_security_model(self) -> tuple[str, str]:
        r = await self._call(P.NODE_GET_SECURITY_MODEL)
        return r.model, r.doi

    async def get_security_label(self, dom: DomainRef) -> tuple[str, bool]:
        r = await self._call(P.DOMAIN_GET_SECURITY_LABEL, P.DomArgs(dom))
        return r.label, bool(r.enforcing)

    async def get_messages(self, dom: DomainRef, flags: int = 0) -> list[str]:
        return list((await self._call(P.DOMAIN_GET_MESSAGES, P.DomFlagsArgs(dom, flags))).msgs)

    # ---- lifecycle
    async def create(self, dom: DomainRef, flags: int = 0) -> DomainRef:
        return (await self._call(P.DOMAIN_CREATE_WITH_FLAGS, P.DomFlagsArgs(dom, flags))).dom

    async def destroy(self, dom: DomainRef, flags: int = 0) -> None:
        if flags:
            await self._call(P.DOMAIN_DESTROY_FLAGS, P.DomFlagsArgs(dom, flags))
        else:
            await self._call(P.DOMAIN_DESTROY, P.DomArgs(dom))

    async def shutdown(self, dom: DomainRef, flags: int = 0) -> None:
        if flags:
            await self._call(P.DOMAIN_SHUTDOWN_FLAGS, P.DomFlagsArgs(dom, flags))
        else:
            await self._call(P.DOMAIN_SHUTDOWN, P.DomArgs(dom))

    async def reboot(self, dom: DomainRef, flags: int = 0) -> None:
        await self._call(P.DOMAIN_REBOOT, P.DomFlagsArgs(dom, flags))

    async def reset(self, dom: DomainRef, flags: int = 0) -> None:
        await self._call(P.DOMAIN_RESET, P.DomFlagsArgs(dom, flags))

    async def suspend(self, dom: DomainRef) -> None:
        await self._call(P.DOMAIN_SUSPEND, P.DomArgs(dom))

    async def resume(self, dom: DomainRef) -> None:
        await self._call(P.DOMAIN_RESUME, P.DomArgs(dom))

    async def open_console(self, dom: DomainRef, dev_name: str | None, flags: int = 0) -> ByteStream:
        return (await self._call_stream(P.DOMAIN_OPEN_CONSOLE, P.OpenConsoleArgs(dom, dev_name, flags)))[1]


async def _call(rpc: RPCClient, proc: P.Procedure[Any, R], args: Any) -> R:
    out = bytearray()
    proc.args.pack(out, args)
    reply = await rpc.call(proc.number, bytes(out))
    return xdr.decode(proc.ret, reply, exact=False)


async def _spawn_session_daemon(sock: str) -> RPCClient:
    import subprocess

    # Daemonize through a short-lived shell, as libvirt does: the daemon is re-parented to
    # init, outlives this process and leaves no child for our event loop to reap.
    spawner = subprocess.Popen(  # noqa: ASYNC220 - the shell exits at once
        ["/bin/sh", "-c", 'exec "$0" -m pyvirt.daemon --session --timeout "$1" </dev/null >/dev/null 2>&1 &',
         sys.executable, str(SESSION_IDLE_TIMEOUT)],
        start_new_session=True,
    )  # fmt: skip
    spawner.wait()
    # The daemon gives no readiness signal but its socket: retry connecting, as libvirt's
    # client does after spawning virtqemud/libvirtd --timeout.
    delay = 0.01
    async with asyncio.timeout(10):
        while True:
            try:
                return await RPCClient.connect_unix(sock, P.PROGRAM, P.VERSION)
            except VirtError:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.2)


async def open_remote(uri: str, readonly: bool = False) -> RemoteDriver:
    return await RemoteDriver.open(uri, readonly)


__all__ = ["DomainEvent", "RemoteDriver", "open_remote", "split_uri"]
