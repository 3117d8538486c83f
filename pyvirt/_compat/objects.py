"""virConnect and virDomain of the libvirt-python facade (re-exported by pyvirt.libvirt)."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Self, TypeVar

from pyvirt._compat.blockjob import BlockJobDomainMixin, SaveConnMixin
from pyvirt._compat.errors import call, fail
from pyvirt._compat.network import NetworkConnMixin, ScreenshotDomainMixin
from pyvirt._compat.runtime import runtime
from pyvirt._compat.snapshot import SnapshotDomainMixin
from pyvirt._compat.storage import StorageConnMixin
from pyvirt._compat.vcpu import VcpuConnMixin, VcpuDomainMixin
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

if TYPE_CHECKING:
    from pyvirt.aio.connection import Connection as AioConnection
    from pyvirt.aio.connection import Domain as AioDomain
    from pyvirt.drivers.base import DomainEvent

T = TypeVar("T")
_EVENT_ID_LAST = 27  # VIR_DOMAIN_EVENT_ID_LAST in libvirt 9.0
_EVENT_ID_LIFECYCLE = 0
_EVENT_ID_BLOCK_JOB = 8


def _event_args(ev: DomainEvent, event_id: int) -> tuple[Any, ...]:
    """The middle arguments libvirt-python passes for each event id."""
    from pyvirt.drivers import base as b

    if isinstance(ev, b.LifecycleEventMsg):
        return int(ev.event), int(ev.detail)
    if isinstance(ev, b.BlockJobEventMsg):
        where = ev.path if event_id == _EVENT_ID_BLOCK_JOB else ev.disk
        return where, int(ev.type), int(ev.status)
    if isinstance(ev, b.TrayChangeEventMsg):
        return ev.dev_alias, int(ev.reason)
    if isinstance(ev, b.DeviceRemovedEventMsg):
        return (ev.dev_alias,)
    if isinstance(ev, b.AgentLifecycleEventMsg):
        return int(ev.state), int(ev.reason)
    return ()  # reboot and the other argument-less events


class _ConnCore:
    """What the C ``virConnectPtr`` is: a connection shared, and counted, by its handles.

    libvirt-python's virDomain objects each hold a reference on their connection, so
    ``virConnect.close()`` returns how many remain and the connection really closes when
    the last handle goes away, as in libvirt.
    """

    def __init__(self, aio_conn: AioConnection, inline: bool) -> None:
        self.aio = aio_conn
        self.inline = inline
        self.refs = 1
        self._lock = threading.Lock()

    def ref(self) -> None:
        with self._lock:
            self.refs += 1

    def unref(self, wait: bool = False) -> int:
        with self._lock:
            self.refs -= 1
            left = self.refs
        if left == 0:
            if wait or self.inline:
                call("virConnectClose", self.aio.close(), self.inline)
            else:  # from a finalizer: any thread, maybe the loop's own
                runtime().spawn(self.aio.close())
        return left


class virConnect(StorageConnMixin, NetworkConnMixin, SaveConnMixin, VcpuConnMixin):  # storage calls: pyvirt/_compat/storage.py
    """A hypervisor connection, as libvirt-python's virConnect."""

    def __init__(self, aio_conn: AioConnection, inline: bool = False) -> None:
        # inline: the driver never suspends (test://), so calls run in the caller's thread
        # and no loop thread is ever started for this connection.
        self._core = _ConnCore(aio_conn, inline)
        self._o: AioConnection | None = aio_conn  # None once closed, as in libvirt-python
        self._close_cb: tuple[Callable[[virConnect, int, Any], Any], Any] | None = None
        self._close_reason: int | None = None
        self._closing = False
        self._event_ids: set[int] = set()
        self._old_cbs: dict[Callable[..., Any], Any] = {}
        self._old_token: int | None = None
        # libvirt-python's __del__ closes a connection nobody closed; a finalizer does the
        # same without keeping the object alive.
        self._finalizer = weakref.finalize(self, self._core.unref, False)
        # Not at interpreter exit: the process is going away, and the loop thread may be
        # gone with it (libvirt does not close connections at exit either).
        self._finalizer.atexit = False
        wself = weakref.ref(self)

        def on_close(_c: AioConnection, reason: int) -> None:
            me = wself()
            if me is not None:
                me._on_closed(reason)

        aio_conn.register_close_callback(on_close)

    # ------------------------------------------------------------------ plumbing
    def _aio(self, api: str) -> AioConnection:
        if self._o is None:
            raise fail(VirtError(f"invalid connection pointer in {api}", ErrorCode.INVALID_CONN,
                                 ErrorDomain.DOMAIN), api)
        return self._o

    def _c(self, api: str, fn: Callable[[AioConnection], Coroutine[Any, Any, T]]) -> T:
        return call(api, fn(self._aio(api)), self._core.inline)

    def _wrap(self, dom: AioDomain) -> virDomain:
        return virDomain(self, dom)

    def _on_closed(self, reason: int) -> None:
        """In the loop thread: the connection closed (by us, or the peer went away)."""
        if self._closing:
            self._close_reason = reason  # delivered by close() in the caller's thread
            return
        cb = self._close_cb
        impl = runtime().event_impl
        if cb is not None and impl is not None:
            f, opaque = cb
            impl.post(lambda: f(self, reason, opaque))

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ connection
    def close(self) -> int:
        """virConnectClose: 1 while virDomain handles still hold the connection, else 0.

        libvirt answers "a positive number if at least one reference remains"; it is 1
        (virObjectUnref's boolean), whatever the number of handles.
        """
        self._aio("virConnectClose")
        self._finalizer.detach()
        self._o = None
        self._closing = True
        left = self._core.unref(wait=True)
        if self._close_reason is not None and self._close_cb is not None:
            f, opaque = self._close_cb
            f(self, self._close_reason, opaque)
        return 1 if left > 0 else 0

    def getURI(self) -> str:
        return self._c("virConnectGetURI", lambda c: c.get_uri())

    def getType(self) -> str:
        return self._c("virConnectGetType", lambda c: c.get_type())

    def getVersion(self) -> int:
        return self._c("virConnectGetVersion", lambda c: c.get_version())

    def getLibVersion(self) -> int:
        return self._c("virConnectGetLibVersion", lambda c: c.get_lib_version())

    def getHostname(self) -> str:
        return self._c("virConnectGetHostname", lambda c: c.get_hostname())

    def getCapabilities(self) -> str:
        return self._c("virConnectGetCapabilities", lambda c: c.get_capabilities())

    def getDomainCapabilities(self, emulatorbin: str | None = None, arch: str | None = None,
                              machine: str | None = None, virttype: str | None = None,
                              flags: int = 0) -> str:
        return self._c("virConnectGetDomainCapabilities", lambda c: c.get_domain_capabilities(
            emulatorbin, arch, machine, virttype, flags))

    def getInfo(self) -> list[Any]:
        """virNodeGetInfo as libvirt-python's list; memory in MiB as libvirt-python gives it."""
        i = self._c("virNodeGetInfo", lambda c: c.node_info())
        return [i.model, i.memory // 1024, i.cpus, i.mhz, i.nodes, i.sockets, i.cores, i.threads]

    def isAlive(self) -> int:
        return int(self._c("virConnectIsAlive", lambda c: c.is_alive()))

    def registerCloseCallback(self, cb: Callable[[virConnect, int, Any], Any],
                              opaque: Any) -> int:
        """``cb(conn, reason, opaque)`` when the connection closes (kept strongly)."""
        self._aio("virConnectRegisterCloseCallback")
        self._close_cb = (cb, opaque)
        return 0

    def unregisterCloseCallback(self) -> None:
        self._aio("virConnectUnregisterCloseCallback")
        self._close_cb = None

    # ------------------------------------------------------------------ domains
    def listAllDomains(self, flags: int = 0) -> list[virDomain]:
        return [self._wrap(d) for d in
                self._c("virConnectListAllDomains", lambda c: c.list_all_domains(flags))]

    def listDomainsID(self) -> list[int]:
        return self._c("virConnectListDomains", lambda c: c.list_domain_ids())

    def listDefinedDomains(self) -> list[str]:
        return self._c("virConnectListDefinedDomains", lambda c: c.list_defined_domains())

    def numOfDomains(self) -> int:
        return self._c("virConnectNumOfDomains", lambda c: c.num_of_domains())

    def numOfDefinedDomains(self) -> int:
        return self._c("virConnectNumOfDefinedDomains", lambda c: c.num_of_defined_domains())

    def lookupByName(self, name: str) -> virDomain:
        return self._wrap(self._c("virDomainLookupByName", lambda c: c.lookup_by_name(name)))

    def lookupByID(self, id: int) -> virDomain:
        return self._wrap(self._c("virDomainLookupByID", lambda c: c.lookup_by_id(id)))

    def lookupByUUID(self, uuid: bytes) -> virDomain:
        return self._wrap(self._c("virDomainLookupByUUID", lambda c: c.lookup_by_uuid(uuid)))

    def lookupByUUIDString(self, uuidstr: str) -> virDomain:
        return self._wrap(self._c("virDomainLookupByUUIDString",
                                  lambda c: c.lookup_by_uuid_string(uuidstr)))

    def defineXML(self, xml: str) -> virDomain:
        return self._wrap(self._c("virDomainDefineXML", lambda c: c.define_xml(xml)))

    def defineXMLFlags(self, xml: str, flags: int = 0) -> virDomain:
        return self._wrap(self._c("virDomainDefineXMLFlags", lambda c: c.define_xml(xml, flags)))

    def createXML(self, xmlDesc: str, flags: int = 0) -> virDomain:
        return self._wrap(self._c("virDomainCreateXML", lambda c: c.create_xml(xmlDesc, flags)))

    # ------------------------------------------------------------------ events
    def _need_event_impl(self) -> None:
        if runtime().event_impl is None:
            # libvirt cannot arm its event timer without an event implementation.
            raise fail(VirtError("internal error: could not initialize domain event timer",
                                 ErrorCode.INTERNAL_ERROR, ErrorDomain.NONE),
                       "virConnectDomainEventRegisterAny")

    def _subscribe(self, api: str, event_id: int, dom: virDomain | None,
                   deliver: Callable[[virConnect, virDomain, tuple[Any, ...]], None]) -> int:
        aio = self._aio(api)
        self._need_event_impl()
        from pyvirt.enums import EventID

        wself = weakref.ref(self)

        def on_event(_c: AioConnection, d: AioDomain, ev: DomainEvent, _id: EventID) -> None:
            me, impl = wself(), runtime().event_impl
            if me is not None and impl is not None:
                args = _event_args(ev, event_id)
                impl.post(lambda: deliver(me, me._wrap(d), args))

        async def register() -> int:
            return aio.add_domain_event_callback(on_event, EventID(event_id),
                                                 dom._dom if dom is not None else None)

        return call(api, register(), self._core.inline)

    def domainEventRegisterAny(self, dom: virDomain | None, eventID: int,
                               cb: Callable[..., Any], opaque: Any) -> int:
        """``cb(conn, dom, <event's arguments>, opaque)``; returns the callback id."""
        api = "virConnectDomainEventRegisterAny"
        if not 0 <= eventID < _EVENT_ID_LAST:
            raise fail(VirtError(f"invalid argument: eventID in {api} must be less than "
                                 f"{_EVENT_ID_LAST}", ErrorCode.INVALID_ARG, ErrorDomain.DOMAIN),
                       api)
        cid = self._subscribe(api, eventID, dom,
                              lambda conn, d, args: cb(conn, d, *args, opaque))
        self._event_ids.add(cid)
        return cid

    def domainEventDeregisterAny(self, callbackID: int) -> None:
        api = "virConnectDomainEventDeregisterAny"
        aio = self._aio(api)

        async def remove() -> None:
            aio.remove_domain_event_callback(callbackID)

        call(api, remove(), self._core.inline)
        self._event_ids.discard(callbackID)

    def domainEventRegister(self, cb: Callable[..., Any], opaque: Any) -> None:
        """Old-style lifecycle callbacks: ``cb(conn, dom, event, detail, opaque)``."""
        if self._old_token is None:
            def fan_out(conn: virConnect, d: virDomain, args: tuple[Any, ...]) -> None:
                for f, op in list(conn._old_cbs.items()):
                    f(conn, d, *args, op)

            self._old_token = self._subscribe("virConnectDomainEventRegister",
                                              _EVENT_ID_LIFECYCLE, None, fan_out)
        self._old_cbs[cb] = opaque

    def domainEventDeregister(self, cb: Callable[..., Any]) -> None:
        if not self._old_cbs:
            return
        del self._old_cbs[cb]  # KeyError for a stranger, as libvirt-python
        if not self._old_cbs and self._old_token is not None:
            self.domainEventDeregisterAny(self._old_token)
            self._old_token = None


class virDomain(SnapshotDomainMixin, BlockJobDomainMixin, VcpuDomainMixin, ScreenshotDomainMixin):  # snapshot calls: pyvirt/_compat/snapshot.py
    """A domain handle; keeps its connection open until it is collected, like libvirt."""

    def __init__(self, conn: virConnect, dom: AioDomain) -> None:
        self._conn = conn
        self._dom = dom
        conn._core.ref()
        weakref.finalize(self, conn._core.unref, False).atexit = False

    def _c(self, api: str, fn: Callable[[AioDomain], Coroutine[Any, Any, T]]) -> T:
        return call(api, fn(self._dom), self._conn._core.inline)

    def connect(self) -> virConnect:
        return self._conn

    def name(self) -> str:
        return self._dom.name

    def ID(self) -> int:
        return self._dom.id

    def UUID(self) -> bytes:
        return self._dom.uuid

    def UUIDString(self) -> str:
        return self._dom.uuid_string

    def OSType(self) -> str:
        return self._c("virDomainGetOSType", lambda d: d.os_type())

    def XMLDesc(self, flags: int = 0) -> str:
        return self._c("virDomainGetXMLDesc", lambda d: d.xml_desc(flags))

    def info(self) -> list[int]:
        """[state, maxMem KiB, memory KiB, nrVirtCpu, cpuTime ns]."""
        i = self._c("virDomainGetInfo", lambda d: d.info())
        return [int(i.state), i.max_mem, i.memory, i.nr_virt_cpu, i.cpu_time]

    def state(self, flags: int = 0) -> list[int]:
        st, reason = self._c("virDomainGetState", lambda d: d.state(flags))
        return [int(st), int(reason)]

    def isActive(self) -> int:
        return int(self._c("virDomainIsActive", lambda d: d.is_active()))

    def isPersistent(self) -> int:
        return int(self._c("virDomainIsPersistent", lambda d: d.is_persistent()))

    def autostart(self) -> int:
        return int(self._c("virDomainGetAutostart", lambda d: d.autostart()))

    def setAutostart(self, autostart: int) -> int:
        self._c("virDomainSetAutostart", lambda d: d.set_autostart(bool(autostart)))
        return 0

    def hasManagedSaveImage(self, flags: int = 0) -> int:
        return int(self._c("virDomainHasManagedSaveImage",
                           lambda d: d.has_managed_save_image(flags)))

    def create(self) -> int:
        self._c("virDomainCreate", lambda d: d.create(0))
        return 0

    def createWithFlags(self, flags: int = 0) -> int:
        self._c("virDomainCreateWithFlags", lambda d: d.create(flags))
        return 0

    def destroy(self) -> int:
        self._c("virDomainDestroy", lambda d: d.destroy(0))
        return 0

    def destroyFlags(self, flags: int = 0) -> int:
        self._c("virDomainDestroyFlags", lambda d: d.destroy(flags))
        return 0

    def shutdown(self) -> int:
        self._c("virDomainShutdown", lambda d: d.shutdown(0))
        return 0

    def shutdownFlags(self, flags: int = 0) -> int:
        self._c("virDomainShutdownFlags", lambda d: d.shutdown(flags))
        return 0

    def reboot(self, flags: int = 0) -> int:
        self._c("virDomainReboot", lambda d: d.reboot(flags))
        return 0

    def reset(self, flags: int = 0) -> int:
        self._c("virDomainReset", lambda d: d.reset(flags))
        return 0

    def suspend(self) -> int:
        self._c("virDomainSuspend", lambda d: d.suspend())
        return 0

    def resume(self) -> int:
        self._c("virDomainResume", lambda d: d.resume())
        return 0

    def undefine(self) -> int:
        self._c("virDomainUndefine", lambda d: d.undefine(0))
        return 0

    def undefineFlags(self, flags: int = 0) -> int:
        self._c("virDomainUndefineFlags", lambda d: d.undefine(flags))
        return 0
