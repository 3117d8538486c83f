"""One small async function per procedure: decoded args -> driver call -> ret struct.

``HANDLERS`` maps procedure numbers to these functions; it is filled once at import by the
``@serves`` decorator and never changes afterwards.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from pyvirt.enums import EventID
from pyvirt.errors import ErrorCode, ErrorDomain, NoSupport, VirtError
from pyvirt.remote import protocol as P

if TYPE_CHECKING:
    from pyvirt.drivers.base import ByteStream
    from pyvirt.remote.dispatch import RemoteSession

Handler = Callable[["RemoteSession", Any], Coroutine[Any, Any, Any]]
F = TypeVar("F", bound=Handler)

HANDLERS: dict[int, Handler] = {}

# Event IDs the daemon can forward (the rest are accepted by libvirt but never fire here).
_LAST_EVENT_ID = max(int(e) for e in EventID)


def serves(*procs: P.Procedure[Any, Any]) -> Callable[[F], F]:
    def deco(fn: F) -> F:
        for p in procs:
            HANDLERS[p.number] = fn
        return fn

    return deco


def _flags(a: object) -> int:
    """The flags of a *_FLAGS procedure's args; 0 for its older twin without them. One
    handler serves both where the driver call and the reply are otherwise the same."""
    return a.flags if isinstance(a, (P.DomFlagsArgs, P.DefineXmlFlagsArgs)) else 0


# ----------------------------------------------------------------------------- connection


@serves(P.AUTH_LIST)
async def auth_list(s: RemoteSession, a: None) -> P.AuthListRet:
    # Unix sockets use auth "none": listing the methods is what authenticates the client.
    s.authenticated = True
    return P.AuthListRet([0])


@serves(P.CONNECT_SUPPORTS_FEATURE)
async def supports_feature(s: RemoteSession, a: P.SupportsFeatureArgs) -> P.SupportsFeatureRet:
    f = a.feature
    if f == P.DrvFeature.PROGRAM_KEEPALIVE:
        s.conn.start_keepalive(s.program.keepalive_interval, s.program.keepalive_count)
        return P.SupportsFeatureRet(1)
    if s.driver is None:
        from pyvirt.remote.dispatch import not_open_error

        raise not_open_error()
    if f == P.DrvFeature.REMOTE_EVENT_CALLBACK:
        return P.SupportsFeatureRet(1 if s.program.event_callbacks else 0)
    if f == P.DrvFeature.REMOTE_CLOSE_CALLBACK:
        return P.SupportsFeatureRet(1)
    return P.SupportsFeatureRet(1 if f == P.DrvFeature.TYPED_PARAM_STRING else 0)


VIR_CONNECT_RO = 1


@serves(P.CONNECT_OPEN)
async def connect_open(s: RemoteSession, a: P.OpenArgs) -> None:
    if s.driver is not None:
        raise VirtError("internal error: connection already open", ErrorCode.INTERNAL_ERROR, ErrorDomain.RPC)
    readonly = s.readonly or bool(a.flags & VIR_CONNECT_RO)
    s.driver = await s.program.opener(a.name, readonly)
    s.readonly = readonly


@serves(P.CONNECT_CLOSE)
async def connect_close(s: RemoteSession, a: None) -> None:
    await s.close_driver()
    # libvirtd drops the client once the reply is out; clients close right after anyway.
    s.conn.close_after_reply()


@serves(P.CONNECT_REGISTER_CLOSE_CALLBACK)
async def register_close_cb(s: RemoteSession, a: None) -> None:
    s.close_callback = True


@serves(P.CONNECT_UNREGISTER_CLOSE_CALLBACK)
async def unregister_close_cb(s: RemoteSession, a: None) -> None:
    s.close_callback = False


@serves(P.CONNECT_GET_TYPE)
async def get_type(s: RemoteSession, a: None) -> P.GetTypeRet:
    # virConnectGetType over the wire is upper-case ("TEST", "QEMU"), as libvirtd sends it.
    return P.GetTypeRet(s.drv.type_name().upper())


@serves(P.CONNECT_GET_VERSION)
async def get_version(s: RemoteSession, a: None) -> P.GetVersionRet:
    return P.GetVersionRet(await s.drv.get_version())


@serves(P.CONNECT_GET_LIB_VERSION)
async def get_lib_version(s: RemoteSession, a: None) -> P.GetLibVersionRet:
    return P.GetLibVersionRet(await s.drv.get_lib_version())


@serves(P.CONNECT_GET_URI)
async def get_uri(s: RemoteSession, a: None) -> P.GetUriRet:
    return P.GetUriRet(s.drv.uri())


@serves(P.CONNECT_GET_HOSTNAME)
async def get_hostname(s: RemoteSession, a: None) -> P.GetHostnameRet:
    return P.GetHostnameRet(await s.drv.get_hostname())


@serves(P.CONNECT_GET_CAPABILITIES)
async def get_caps(s: RemoteSession, a: None) -> P.GetCapabilitiesRet:
    return P.GetCapabilitiesRet(await s.drv.get_capabilities())


@serves(P.CONNECT_GET_DOMAIN_CAPABILITIES)
async def get_domcaps(s: RemoteSession, a: P.GetDomainCapabilitiesArgs) -> P.GetCapabilitiesRet:
    xml = await s.drv.get_domain_capabilities(a.emulatorbin, a.arch, a.machine, a.virttype, a.flags)
    return P.GetCapabilitiesRet(xml)


@serves(P.CONNECT_IS_SECURE)
async def is_secure(s: RemoteSession, a: None) -> P.IsSecureRet:
    return P.IsSecureRet(1)  # unix sockets are local and trusted


@serves(P.CONNECT_GET_MAX_VCPUS)
async def get_max_vcpus(s: RemoteSession, a: P.GetMaxVcpusArgs) -> P.GetMaxVcpusRet:
    fn = getattr(s.drv, "get_max_vcpus", None)
    if fn is None:
        raise NoSupport("this function is not supported by the connection driver: virConnectGetMaxVcpus")
    return P.GetMaxVcpusRet(int(await fn(a.type)))


@serves(P.NODE_GET_INFO)
async def node_get_info(s: RemoteSession, a: None) -> P.NodeGetInfoRet:
    n = await s.drv.node_get_info()
    return P.NodeGetInfoRet(n.model, n.memory, n.cpus, n.mhz, n.nodes, n.sockets, n.cores, n.threads)


@serves(P.NODE_GET_SECURITY_MODEL)
async def node_get_security_model(s: RemoteSession, a: None) -> P.NodeGetSecurityModelRet:
    model, doi = await s.drv.node_get_security_model()
    return P.NodeGetSecurityModelRet(model, doi)


@serves(P.DOMAIN_GET_SECURITY_LABEL)
async def get_security_label(s: RemoteSession, a: P.DomArgs) -> P.GetSecurityLabelRet:
    label, enforcing = await s.drv.get_security_label(a.dom)
    return P.GetSecurityLabelRet(label, int(enforcing))


# ----------------------------------------------------------------------------- listing


@serves(P.CONNECT_LIST_ALL_DOMAINS)
async def list_all(s: RemoteSession, a: P.ListAllDomainsArgs) -> P.ListAllDomainsRet:
    doms = await s.drv.list_all_domains(a.flags)
    if len(doms) > P.DOMAIN_LIST_MAX:
        raise VirtError(
            f"Too many domains '{len(doms)}' for limit '{P.DOMAIN_LIST_MAX}'", ErrorCode.RPC, ErrorDomain.RPC
        )
    return P.ListAllDomainsRet(doms if a.need_results else [], len(doms))


@serves(P.CONNECT_NUM_OF_DOMAINS)
async def num_of_domains(s: RemoteSession, a: None) -> P.NumRet:
    return P.NumRet(len(await s.drv.list_domain_ids()))


@serves(P.CONNECT_NUM_OF_DEFINED_DOMAINS)
async def num_of_defined(s: RemoteSession, a: None) -> P.NumRet:
    return P.NumRet(len(await s.drv.list_defined_domains()))


@serves(P.CONNECT_LIST_DOMAINS)
async def list_domains(s: RemoteSession, a: P.ListDomainsArgs) -> P.ListDomainsRet:
    if a.maxids > P.DOMAIN_LIST_MAX:
        raise VirtError("maxids > REMOTE_DOMAIN_LIST_MAX", ErrorCode.RPC, ErrorDomain.RPC)
    return P.ListDomainsRet((await s.drv.list_domain_ids())[: max(a.maxids, 0)])


@serves(P.CONNECT_LIST_DEFINED_DOMAINS)
async def list_defined(s: RemoteSession, a: P.ListDefinedDomainsArgs) -> P.ListDefinedDomainsRet:
    if a.maxnames > P.DOMAIN_LIST_MAX:
        raise VirtError("maxnames > REMOTE_DOMAIN_LIST_MAX", ErrorCode.RPC, ErrorDomain.RPC)
    return P.ListDefinedDomainsRet((await s.drv.list_defined_domains())[: max(a.maxnames, 0)])


@serves(P.DOMAIN_LOOKUP_BY_NAME)
async def lookup_by_name(s: RemoteSession, a: P.LookupByNameArgs) -> P.DomRet:
    return P.DomRet(await s.drv.lookup_by_name(a.name))


@serves(P.DOMAIN_LOOKUP_BY_UUID)
async def lookup_by_uuid(s: RemoteSession, a: P.LookupByUuidArgs) -> P.DomRet:
    return P.DomRet(await s.drv.lookup_by_uuid(a.uuid))


@serves(P.DOMAIN_LOOKUP_BY_ID)
async def lookup_by_id(s: RemoteSession, a: P.LookupByIdArgs) -> P.DomRet:
    return P.DomRet(await s.drv.lookup_by_id(a.id))


# ----------------------------------------------------------------------------- queries


@serves(P.DOMAIN_GET_INFO)
async def get_info(s: RemoteSession, a: P.DomArgs) -> P.GetInfoRet:
    i = await s.drv.get_info(a.dom)
    return P.GetInfoRet(int(i.state), i.max_mem, i.memory, i.nr_virt_cpu, i.cpu_time)


@serves(P.DOMAIN_GET_STATE)
async def get_state(s: RemoteSession, a: P.DomFlagsArgs) -> P.GetStateRet:
    st, reason = await s.drv.get_state(a.dom, a.flags)
    return P.GetStateRet(int(st), int(reason))


@serves(P.DOMAIN_GET_XML_DESC)
async def get_xml_desc(s: RemoteSession, a: P.DomFlagsArgs) -> P.GetXmlDescRet:
    return P.GetXmlDescRet(await s.drv.get_xml_desc(a.dom, a.flags))


@serves(P.DOMAIN_GET_OS_TYPE)
async def get_os_type(s: RemoteSession, a: P.DomArgs) -> P.GetOsTypeRet:
    return P.GetOsTypeRet(await s.drv.get_os_type(a.dom))


@serves(P.DOMAIN_GET_MAX_MEMORY)
async def get_max_memory(s: RemoteSession, a: P.DomArgs) -> P.GetMaxMemoryRet:
    return P.GetMaxMemoryRet((await s.drv.get_info(a.dom)).max_mem)


@serves(P.DOMAIN_GET_VCPUS_FLAGS)
async def get_vcpus_flags(s: RemoteSession, a: P.DomFlagsArgs) -> P.GetVcpusFlagsRet:
    fn = getattr(s.drv, "get_vcpus_flags", None)
    if fn is None:
        raise NoSupport("this function is not supported by the connection driver: virDomainGetVcpusFlags")
    return P.GetVcpusFlagsRet(int(await fn(a.dom, a.flags)))


@serves(P.DOMAIN_GET_MESSAGES)
async def get_messages(s: RemoteSession, a: P.DomFlagsArgs) -> P.GetMessagesRet:
    return P.GetMessagesRet(list(await s.drv.get_messages(a.dom, a.flags)))


@serves(P.DOMAIN_SNAPSHOT_NUM)
async def snapshot_num(s: RemoteSession, a: P.DomFlagsArgs) -> P.SnapshotNumRet:
    # virsh undefine asks this before undefining; drivers without snapshots have none.
    fn = getattr(s.drv, "snapshot_num", None)
    if fn is not None:
        return P.SnapshotNumRet(int(await fn(a.dom, a.flags)))
    await s.drv.get_state(a.dom)
    return P.SnapshotNumRet(0)


@serves(P.DOMAIN_IS_ACTIVE)
async def is_active(s: RemoteSession, a: P.DomArgs) -> P.IsActiveRet:
    return P.IsActiveRet(int(await s.drv.is_active(a.dom)))


@serves(P.DOMAIN_IS_PERSISTENT)
async def is_persistent(s: RemoteSession, a: P.DomArgs) -> P.IsPersistentRet:
    return P.IsPersistentRet(int(await s.drv.is_persistent(a.dom)))


@serves(P.DOMAIN_GET_AUTOSTART)
async def get_autostart(s: RemoteSession, a: P.DomArgs) -> P.GetAutostartRet:
    return P.GetAutostartRet(int(await s.drv.get_autostart(a.dom)))


@serves(P.DOMAIN_SET_AUTOSTART)
async def set_autostart(s: RemoteSession, a: P.SetAutostartArgs) -> None:
    await s.drv.set_autostart(a.dom, bool(a.autostart))


@serves(P.DOMAIN_HAS_MANAGED_SAVE_IMAGE)
async def has_managed_save(s: RemoteSession, a: P.DomFlagsArgs) -> P.HasManagedSaveImageRet:
    return P.HasManagedSaveImageRet(int(await s.drv.has_managed_save_image(a.dom, a.flags)))


# ----------------------------------------------------------------------------- definition


@serves(P.DOMAIN_DEFINE_XML, P.DOMAIN_DEFINE_XML_FLAGS)
async def define_xml(s: RemoteSession, a: P.DefineXmlArgs | P.DefineXmlFlagsArgs) -> P.DomRet:
    return P.DomRet(await s.drv.define_xml(a.xml, _flags(a)))


@serves(P.DOMAIN_CREATE_XML)
async def create_xml(s: RemoteSession, a: P.CreateXmlArgs) -> P.DomRet:
    return P.DomRet(await s.drv.create_xml(a.xml_desc, a.flags))


@serves(P.DOMAIN_UNDEFINE, P.DOMAIN_UNDEFINE_FLAGS)
async def undefine(s: RemoteSession, a: P.DomArgs | P.DomFlagsArgs) -> None:
    await s.drv.undefine(a.dom, _flags(a))


# ----------------------------------------------------------------------------- lifecycle


@serves(P.DOMAIN_CREATE)
async def create(s: RemoteSession, a: P.DomArgs) -> None:
    await s.drv.create(a.dom, 0)


@serves(P.DOMAIN_CREATE_WITH_FLAGS)
async def create_with_flags(s: RemoteSession, a: P.DomFlagsArgs) -> P.DomRet:
    return P.DomRet(await s.drv.create(a.dom, a.flags))


@serves(P.DOMAIN_DESTROY, P.DOMAIN_DESTROY_FLAGS)
async def destroy(s: RemoteSession, a: P.DomArgs | P.DomFlagsArgs) -> None:
    await s.drv.destroy(a.dom, _flags(a))


@serves(P.DOMAIN_SHUTDOWN, P.DOMAIN_SHUTDOWN_FLAGS)
async def shutdown(s: RemoteSession, a: P.DomArgs | P.DomFlagsArgs) -> None:
    await s.drv.shutdown(a.dom, _flags(a))


@serves(P.DOMAIN_REBOOT)
async def reboot(s: RemoteSession, a: P.DomFlagsArgs) -> None:
    await s.drv.reboot(a.dom, a.flags)


@serves(P.DOMAIN_RESET)
async def reset(s: RemoteSession, a: P.DomFlagsArgs) -> None:
    await s.drv.reset(a.dom, a.flags)


@serves(P.DOMAIN_SUSPEND)
async def suspend(s: RemoteSession, a: P.DomArgs) -> None:
    await s.drv.suspend(a.dom)


@serves(P.DOMAIN_RESUME)
async def resume(s: RemoteSession, a: P.DomArgs) -> None:
    await s.drv.resume(a.dom)


# ----------------------------------------------------------------------------- events, streams


@serves(P.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY)
async def event_register(s: RemoteSession, a: P.EventRegisterArgs) -> P.EventRegisterRet:
    if a.eventID < 0 or a.eventID > _LAST_EVENT_ID:
        raise VirtError(f"internal error: unsupported event ID {a.eventID}", ErrorCode.INTERNAL_ERROR, ErrorDomain.RPC)
    return P.EventRegisterRet(s.register_event(a.eventID, a.dom))


@serves(P.CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY)
async def event_deregister(s: RemoteSession, a: P.EventDeregisterArgs) -> None:
    if not s.deregister_event(a.callbackID):
        raise VirtError(
            f"internal error: domain event callback {a.callbackID} not registered",
            ErrorCode.INTERNAL_ERROR, ErrorDomain.RPC,
        )  # fmt: skip


async def serve_stream(s: RemoteSession, proc: P.Procedure[Any, Any], opening: Awaitable[ByteStream]) -> None:
    """Start the stream of a call whose reply is empty and whose data follows as stream
    packets (console, volume upload/download); ``opening`` is the driver call, not yet
    awaited."""
    # The call's serial names the stream. Read it before the first await: dispatch sets it
    # just before stepping the handler, and other calls may change it later.
    serial = s.current_serial
    s.start_stream(serial, proc.number, await opening)


@serves(P.DOMAIN_OPEN_CONSOLE)
async def open_console(s: RemoteSession, a: P.OpenConsoleArgs) -> None:
    await serve_stream(s, P.DOMAIN_OPEN_CONSOLE, s.drv.open_console(a.dom, a.dev_name, a.flags))


# The storage procedures live in their own module; importing it registers them here.
from pyvirt.remote import (  # noqa: F401
    blockjob_handlers,
    legacy_events,
    network_handlers,
    screenshot_handlers,
    snapshot_handlers,
    storage_handlers,
    vcpu_handlers,
)
