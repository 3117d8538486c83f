"""test:///default — libvirt's in-memory test driver, in Python.

Semantics, messages and error codes follow libvirt 9.0's test driver as observed with the
real ``virsh -c test:///default`` and python3-libvirt: the stock running domain ``test``
(id 1), immediate shutdown, reboot without events, ``not running``/``not paused`` internal
errors, undefine of a running domain leaving it transient, and so on.

Every method completes without awaiting anything, so a caller may drive the coroutines
without an event loop (pyvirsh does, to keep its start-up light); see :func:`run_sync`.
"""

from __future__ import annotations

import time
from collections.abc import Coroutine
from typing import Any, TypeVar

from pyvirt.drivers.base import (
    DomainInfo,
    DomainRef,
    Driver,
    LifecycleEventMsg,
    NodeInfo,
)
from pyvirt.drivers.listfilter import domain_matches
from pyvirt.drivers.storage.memory import MemoryStorageMixin
from pyvirt.drivers.test import domxml
from pyvirt.drivers.test.blockinfo import TestBlockMixin
from pyvirt.drivers.test.caps import capabilities_xml
from pyvirt.drivers.test.mixin import driver_error as _err
from pyvirt.drivers.test.network import TestNetworkMixin
from pyvirt.drivers.test.node import PROCESS_HUB, TestDomainObj, TestNode, TestNodeHub
from pyvirt.drivers.test.screenshot import TestScreenshotMixin
from pyvirt.drivers.test.snapshot import TestSnapshotMixin
from pyvirt.drivers.test.vcpu import TestVcpuMixin
from pyvirt.enums import (
    DefinedDetail,
    DestroyFlags,
    DomainCreateFlags,
    DomainState,
    LifecycleEvent,
    PausedReason,
    ResumedDetail,
    RunningReason,
    ShutoffReason,
    StartedDetail,
    StoppedDetail,
    SuspendedDetail,
    UndefinedDetail,
    UndefineFlags,
    XMLFlags,
)
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

T = TypeVar("T")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends (every TestDriver method) without an event loop."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    coro.close()
    raise RuntimeError("coroutine suspended; it needs an event loop")


def _unsupported_flags(flags: int, fn: str) -> VirtError:
    return _err(ErrorCode.INVALID_ARG, f"unsupported flags (0x{flags:x}) in function {fn}")


def _not_running() -> VirtError:
    return _err(ErrorCode.OPERATION_INVALID, "Requested operation is not valid: domain is not running",
                ErrorDomain.DOMAIN)


class TestDriver(TestVcpuMixin, TestSnapshotMixin, TestNetworkMixin, TestScreenshotMixin, TestBlockMixin,
                 MemoryStorageMixin, Driver):
    # storage: pyvirt/drivers/storage/memory.py; snapshots, vCPUs: test/snapshot.py, test/vcpu.py;
    # networks, screenshots: test/network.py, test/screenshot.py; block stats/info: test/blockinfo.py
    """One connection to a test node. Connections to test:///default share one node."""

    __test__ = False  # not a pytest test class despite the name

    def __init__(self, uri: str = "test:///default", hub: TestNodeHub = PROCESS_HUB,
                 readonly: bool = False) -> None:
        super().__init__()
        self._uri = uri
        self._readonly = readonly
        self._path = _uri_path(uri)
        self._hub = hub
        self._node: TestNode | None = hub.acquire(self._path)
        self._node.buses.append(self.events)

    # ------------------------------------------------------------------ connection
    @property
    def node(self) -> TestNode:
        if self._node is None:
            raise _err(ErrorCode.INVALID_CONN, "invalid connection pointer in virConnect",
                       ErrorDomain.NONE)
        return self._node

    async def close(self) -> None:
        if self._node is None:
            return
        self._node.buses.remove(self.events)
        self._node = None
        self._hub.release(self._path)

    def uri(self) -> str:
        return self._uri

    def type_name(self) -> str:
        return "TEST"

    async def get_version(self) -> int:
        return 2  # libvirt's test hypervisor reports version 0.0.2

    async def get_hostname(self) -> str:
        import socket  # only this call needs it; keeps pyvirsh start-up light

        return socket.gethostname()

    async def get_capabilities(self) -> str:
        return capabilities_xml(self.node.node_info)

    async def node_get_info(self) -> NodeInfo:
        return self.node.node_info

    def _rw(self, api: str) -> None:
        """A read-only connection refuses every call that changes something."""
        if self._readonly:
            raise _err(ErrorCode.OPERATION_DENIED,
                       f"operation forbidden: read only access prevents {api}", ErrorDomain.DOMAIN)

    # ------------------------------------------------------------------ lookup
    def _ref(self, obj: TestDomainObj) -> DomainRef:
        return DomainRef(obj.doc.name, obj.doc.uuid, obj.id if obj.active else -1)

    def _obj(self, dom: DomainRef) -> TestDomainObj:
        """Resolve a handle by UUID, as libvirt's driver does for every per-domain call."""
        for obj in self.node.domains:
            if obj.doc.uuid == dom.uuid:
                return obj
        raise _err(ErrorCode.NO_DOMAIN, "Domain not found: no domain with matching uuid "
                   f"'{domxml.format_uuid(dom.uuid)}' ({dom.name})")

    @staticmethod
    def _not_found() -> VirtError:
        return _err(ErrorCode.NO_DOMAIN, "Domain not found")

    async def lookup_by_name(self, name: str) -> DomainRef:
        for obj in self.node.domains:
            if obj.doc.name == name:
                return self._ref(obj)
        raise self._not_found()

    async def lookup_by_uuid(self, uuid: bytes) -> DomainRef:
        for obj in self.node.domains:
            if obj.doc.uuid == uuid:
                return self._ref(obj)
        raise self._not_found()

    async def lookup_by_id(self, id: int) -> DomainRef:
        for obj in self.node.domains:
            if obj.active and obj.id == id:
                return self._ref(obj)
        raise self._not_found()

    async def list_all_domains(self, flags: int = 0) -> list[DomainRef]:
        if not flags:  # no filter: skip the per-domain flag checks (listAllDomains hot path)
            return [self._ref(o) for o in self.node.domains]
        return [self._ref(o) for o in self.node.domains if _matches(o, flags)]

    # ------------------------------------------------------------------ definition
    def _emit(self, obj: TestDomainObj, event: LifecycleEvent, detail: int) -> None:
        self.node.publish(LifecycleEventMsg(self._ref(obj), event, detail))

    def _check_clash(self, doc: domxml.DomainDoc) -> TestDomainObj | None:
        """The existing object this definition replaces, or an error if it clashes."""
        for obj in self.node.domains:
            if obj.doc.uuid == doc.uuid:
                if obj.doc.name != doc.name:
                    raise _err(ErrorCode.OPERATION_FAILED,
                               f"operation failed: domain '{obj.doc.name}' is already defined "
                               f"with uuid {domxml.format_uuid(obj.doc.uuid)}", ErrorDomain.DOMAIN)
                return obj
            if obj.doc.name == doc.name:
                raise _err(ErrorCode.OPERATION_FAILED,
                           f"operation failed: domain '{obj.doc.name}' already exists with uuid "
                           f"{domxml.format_uuid(obj.doc.uuid)}", ErrorDomain.DOMAIN)
        return None

    async def define_xml(self, xml: str, flags: int = 0) -> DomainRef:
        self._rw("virDomainDefineXMLFlags" if flags else "virDomainDefineXML")
        if flags & ~1:
            raise _unsupported_flags(flags, "testDomainDefineXMLFlags")
        doc = _parse(xml)
        obj = self._check_clash(doc)
        if obj is None:
            obj = TestDomainObj(doc, DomainState.SHUTOFF, ShutoffReason.UNKNOWN)
            self.node.domains.append(obj)
            detail = DefinedDetail.ADDED
        else:
            if obj.active:
                obj.new_doc = doc
            else:
                obj.doc = doc
            detail = DefinedDetail.UPDATED if obj.persistent else DefinedDetail.ADDED
            obj.persistent = True
        self._emit(obj, LifecycleEvent.DEFINED, detail)
        return self._ref(obj)

    async def create_xml(self, xml: str, flags: int = 0) -> DomainRef:
        self._rw("virDomainCreateXML")
        if flags & ~DomainCreateFlags.START_VALIDATE:
            raise _unsupported_flags(flags, "testDomainCreateXML")
        doc = _parse(xml)
        obj = self._check_clash(doc)
        if obj is not None:
            if obj.active:
                raise _err(ErrorCode.OPERATION_INVALID, "Requested operation is not valid: "
                           f"domain '{doc.name}' is already active", ErrorDomain.DOMAIN)
            obj.new_doc, obj.doc = obj.doc, doc
        else:
            obj = TestDomainObj(doc, persistent=False)
            self.node.domains.append(obj)
        self.node.start(obj, RunningReason.BOOTED)
        self._emit(obj, LifecycleEvent.STARTED, StartedDetail.BOOTED)
        return self._ref(obj)

    async def undefine(self, dom: DomainRef, flags: int = 0) -> None:
        self._rw("virDomainUndefineFlags" if flags else "virDomainUndefine")
        if flags & UndefineFlags.NVRAM:  # every other undefine flag is accepted (and moot)
            raise _unsupported_flags(flags, "testDomainUndefineFlags")
        obj = self._obj(dom)
        # libvirt's test driver does not refuse a transient domain here; neither do we.
        obj.autostart = False
        self._emit(obj, LifecycleEvent.UNDEFINED, UndefinedDetail.REMOVED)
        if obj.active:
            obj.persistent = False
            obj.new_doc = None
        else:
            self.node.domains.remove(obj)

    async def get_xml_desc(self, dom: DomainRef, flags: int = 0) -> str:
        obj = self._obj(dom)
        if flags & XMLFlags.INACTIVE:
            return (obj.new_doc or obj.doc).format(None)
        return obj.doc.format(obj.id if obj.active else None)

    # ------------------------------------------------------------------ state
    async def get_info(self, dom: DomainRef) -> DomainInfo:
        obj = self._obj(dom)
        # libvirt's test driver reports the wall clock as CPU time; so do we.
        return DomainInfo(obj.state, obj.doc.max_mem_kib, obj.doc.cur_mem_kib, obj.doc.vcpus,
                          time.time_ns())

    async def get_state(self, dom: DomainRef, flags: int = 0) -> tuple[int, int]:
        obj = self._obj(dom)
        return int(obj.state), int(obj.reason)

    async def is_active(self, dom: DomainRef) -> bool:
        return self._obj(dom).active

    async def is_persistent(self, dom: DomainRef) -> bool:
        return self._obj(dom).persistent

    async def get_autostart(self, dom: DomainRef) -> bool:
        return self._obj(dom).autostart

    async def set_autostart(self, dom: DomainRef, autostart: bool) -> None:
        self._rw("virDomainSetAutostart")
        obj = self._obj(dom)
        if not obj.persistent:
            raise _err(ErrorCode.OPERATION_INVALID, "Requested operation is not valid: "
                       "cannot set autostart for transient domain", ErrorDomain.DOMAIN)
        obj.autostart = autostart

    async def get_os_type(self, dom: DomainRef) -> str:
        self._obj(dom)
        return "linux"  # what libvirt's test driver answers for every domain

    async def get_messages(self, dom: DomainRef, flags: int = 0) -> list[str]:
        """virDomainGetMessages: taint and deprecation notes of the live definition."""
        return domxml.taint_messages(self._obj(dom).doc.root)

    async def has_managed_save_image(self, dom: DomainRef, flags: int = 0) -> bool:
        return self._obj(dom).managed_save

    async def node_get_security_model(self) -> tuple[str, str]:
        """(model, doi) of virNodeGetSecurityModel."""
        return "testSecurity", ""

    async def get_security_label(self, dom: DomainRef) -> tuple[str, bool]:
        """(label, enforcing) of virDomainGetSecurityLabel; empty label when inactive."""
        obj = self._obj(dom)
        return ("libvirt-test", True) if obj.active else ("", False)

    # ------------------------------------------------------------------ lifecycle
    def _stop(self, obj: TestDomainObj, reason: ShutoffReason, detail: StoppedDetail) -> None:
        obj.state, obj.reason = DomainState.SHUTOFF, reason
        self._emit(obj, LifecycleEvent.STOPPED, detail)
        obj.id = -1
        if obj.new_doc is not None:
            obj.doc, obj.new_doc = obj.new_doc, None
        if not obj.persistent:
            self.node.domains.remove(obj)

    async def create(self, dom: DomainRef, flags: int = 0) -> DomainRef:
        self._rw("virDomainCreateWithFlags" if flags else "virDomainCreate")
        obj = self._obj(dom)
        if flags:
            raise _unsupported_flags(flags, "testDomainCreateWithFlags")
        if obj.active:
            raise _err(ErrorCode.INTERNAL_ERROR,
                       f"internal error: Domain '{obj.doc.name}' is already running")
        self.node.start(obj, RunningReason.BOOTED)
        self._emit(obj, LifecycleEvent.STARTED, StartedDetail.BOOTED)
        return self._ref(obj)

    async def destroy(self, dom: DomainRef, flags: int = 0) -> None:
        self._rw("virDomainDestroyFlags" if flags else "virDomainDestroy")
        if flags & ~DestroyFlags.GRACEFUL:
            raise _unsupported_flags(flags, "testDomainDestroyFlags")
        obj = self._obj(dom)
        if not obj.active:
            raise _not_running()
        self._stop(obj, ShutoffReason.DESTROYED, StoppedDetail.DESTROYED)

    async def shutdown(self, dom: DomainRef, flags: int = 0) -> None:
        self._rw("virDomainShutdownFlags" if flags else "virDomainShutdown")
        if flags:
            raise _unsupported_flags(flags, "testDomainShutdownFlags")
        obj = self._obj(dom)
        if not obj.active:
            raise _err(ErrorCode.INTERNAL_ERROR,
                       f"internal error: domain '{obj.doc.name}' not running")
        self._stop(obj, ShutoffReason.SHUTDOWN, StoppedDetail.SHUTDOWN)

    async def reboot(self, dom: DomainRef, flags: int = 0) -> None:
        self._rw("virDomainReboot")
        obj = self._obj(dom)
        if not obj.active:
            raise _not_running()
        # The guest "reboots" at once: on_reboot decides between a fresh boot and a stop.
        if obj.doc.on_reboot == "destroy":
            self._stop(obj, ShutoffReason.SHUTDOWN, StoppedDetail.SHUTDOWN)
        elif obj.doc.on_reboot == "preserve":
            obj.state, obj.reason = DomainState.SHUTDOWN, 1
        else:
            # libvirt's test driver emits no event here (not even VIR_DOMAIN_EVENT_ID_REBOOT).
            obj.state, obj.reason = DomainState.RUNNING, RunningReason.BOOTED

    async def reset(self, dom: DomainRef, flags: int = 0) -> None:
        self._rw("virDomainReset")
        if flags:
            raise _unsupported_flags(flags, "testDomainReset")
        if not self._obj(dom).active:
            raise _not_running()

    async def suspend(self, dom: DomainRef) -> None:
        self._rw("virDomainSuspend")
        obj = self._obj(dom)
        if obj.state != DomainState.RUNNING:
            raise _err(ErrorCode.INTERNAL_ERROR,
                       f"internal error: domain '{obj.doc.name}' not running")
        obj.state, obj.reason = DomainState.PAUSED, PausedReason.USER
        self._emit(obj, LifecycleEvent.SUSPENDED, SuspendedDetail.PAUSED)

    async def resume(self, dom: DomainRef) -> None:
        self._rw("virDomainResume")
        obj = self._obj(dom)
        if obj.state != DomainState.PAUSED:
            raise _err(ErrorCode.INTERNAL_ERROR,
                       f"internal error: domain '{obj.doc.name}' not paused")
        obj.state, obj.reason = DomainState.RUNNING, RunningReason.UNPAUSED
        self._emit(obj, LifecycleEvent.RESUMED, ResumedDetail.UNPAUSED)


def _parse(xml: str) -> domxml.DomainDoc:
    doc = domxml.parse(xml)
    domxml.apply_test_defaults(doc)
    # Any virt type is accepted: libvirt's test driver defines type='kvm' domains too.
    return doc


def _uri_path(uri: str) -> str:
    rest = uri.split("://", 1)[1] if "://" in uri else ""
    path = rest[rest.find("/"):] if "/" in rest else ""
    path = path.split("?", 1)[0]
    if path in ("", "/"):
        raise _err(ErrorCode.INVALID_ARG, "invalid argument: testOpen: supply a path or use "
                   "test:///default", ErrorDomain.TEST)
    return path


def _matches(obj: TestDomainObj, flags: int) -> bool:
    return domain_matches(flags, active=obj.active, persistent=obj.persistent,
                          autostart=obj.autostart, state=obj.state)
