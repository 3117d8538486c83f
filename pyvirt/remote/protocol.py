"""The libvirt remote program (0x20008086 v1): THE one declaration of what we serve and call.

Hand-written from the specification (remote_protocol.x in libvirt's sources). Each struct
is a dataclass whose fields are in wire order, with its XDR codec next to it; each
procedure names the spec's struct for its arguments/return so a test can check the field
lists and numbers against the spec. ``readonly`` marks calls allowed on the read-only
socket; ``high`` marks calls libvirtd runs on its high-priority workers (never blocking on
a domain job), which we honour by never queueing them behind anything.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from pyvirt.drivers.base import DomainRef, NetworkRef, SnapshotRef, StoragePoolRef, StorageVolRef

# The handshake, the light reads and the shared building blocks are declared in protocol_core
# (one-shot clients import only that) and re-exported here ("X as X", which mypy requires),
# so this module stays the one place to look a procedure up.
# ruff: noqa: PLC0414
# isort: off
from pyvirt.remote.protocol_core import (
    A as A,
    AUTH_LIST as AUTH_LIST,
    AUTH_TYPE_LIST_MAX as AUTH_TYPE_LIST_MAX,
    CONNECT_CLOSE as CONNECT_CLOSE,
    CONNECT_LIST_ALL_DOMAINS as CONNECT_LIST_ALL_DOMAINS,
    CONNECT_OPEN as CONNECT_OPEN,
    DOM_ARGS as DOM_ARGS,
    DOM_FLAGS_ARGS as DOM_FLAGS_ARGS,
    DOM_RET as DOM_RET,
    DOMAIN_GET_STATE as DOMAIN_GET_STATE,
    DOMAIN_LIST_MAX as DOMAIN_LIST_MAX,
    DOMAIN_LOOKUP_BY_ID as DOMAIN_LOOKUP_BY_ID,
    DOMAIN_LOOKUP_BY_NAME as DOMAIN_LOOKUP_BY_NAME,
    DOMAIN_LOOKUP_BY_UUID as DOMAIN_LOOKUP_BY_UUID,
    I as I,
    PROGRAM as PROGRAM,
    R as R,
    S as S,
    STRING_MAX as STRING_MAX,
    U as U,
    UH as UH,
    V as V,
    VERSION as VERSION,
    AuthListRet as AuthListRet,
    DomArgs as DomArgs,
    DomFlagsArgs as DomFlagsArgs,
    DomRet as DomRet,
    GetStateRet as GetStateRet,
    ListAllDomainsArgs as ListAllDomainsArgs,
    ListAllDomainsRet as ListAllDomainsRet,
    LookupByIdArgs as LookupByIdArgs,
    LookupByNameArgs as LookupByNameArgs,
    LookupByUuidArgs as LookupByUuidArgs,
    NonnullDomain as NonnullDomain,
    NonnullString as NonnullString,
    OpenArgs as OpenArgs,
    OptDomain as OptDomain,
    OptString as OptString,
    Procedure as Procedure,
    Uuid as Uuid,
    _m as _m,
    _p as _p,
    api_error_domain as api_error_domain,
    api_name as api_name,
)
# isort: on
from pyvirt.rpc import xdr
from pyvirt.rpc.typedparams import TypedParam, params_array

SECURITY_MODEL_MAX = 257  # VIR_SECURITY_MODEL_BUFLEN
SECURITY_DOI_MAX = 257  # VIR_SECURITY_DOI_BUFLEN
SECURITY_LABEL_MAX = 4097  # VIR_SECURITY_LABEL_BUFLEN
DOMAIN_MESSAGES_MAX = 2048

# ----------------------------------------------------------------------------- structs
# NamedTuples, not dataclasses: typed immutable records that cost a quarter of a dataclass
# to declare, which matters for the start-up of every remote client (pyvirsh).
# Naming: the spec's remote_<proc>_args/_ret/_msg in CamelCase; shapes shared by many
# procedures (a domain alone, a domain and flags) are declared once.


class SupportsFeatureArgs(NamedTuple):
    feature: int


class SupportsFeatureRet(NamedTuple):
    supported: int


class GetUriRet(NamedTuple):
    uri: str


class GetTypeRet(NamedTuple):
    type: str


class GetVersionRet(NamedTuple):
    hv_ver: int


class GetLibVersionRet(NamedTuple):
    lib_ver: int


class GetHostnameRet(NamedTuple):
    hostname: str


class GetCapabilitiesRet(NamedTuple):
    capabilities: str


class GetDomainCapabilitiesArgs(NamedTuple):
    emulatorbin: str | None
    arch: str | None
    machine: str | None
    virttype: str | None
    flags: int


class GetMaxVcpusArgs(NamedTuple):
    type: str | None


class GetMaxVcpusRet(NamedTuple):
    max_vcpus: int


class IsSecureRet(NamedTuple):
    secure: int


class NodeGetInfoRet(NamedTuple):
    model: str
    memory: int
    cpus: int
    mhz: int
    nodes: int
    sockets: int
    cores: int
    threads: int


class GetInfoRet(NamedTuple):
    state: int
    maxMem: int
    memory: int
    nrVirtCpu: int
    cpuTime: int


class GetXmlDescRet(NamedTuple):
    xml: str


class DefineXmlArgs(NamedTuple):
    xml: str


class DefineXmlFlagsArgs(NamedTuple):
    xml: str
    flags: int


class CreateXmlArgs(NamedTuple):
    xml_desc: str
    flags: int


class GetAutostartRet(NamedTuple):
    autostart: int


class SetAutostartArgs(NamedTuple):
    dom: DomainRef
    autostart: int


class HasManagedSaveImageRet(NamedTuple):
    result: int


class IsActiveRet(NamedTuple):
    active: int


class IsPersistentRet(NamedTuple):
    persistent: int


class NumRet(NamedTuple):
    num: int


class ListDomainsArgs(NamedTuple):
    maxids: int


class ListDomainsRet(NamedTuple):
    ids: list[int]


class ListDefinedDomainsArgs(NamedTuple):
    maxnames: int


class ListDefinedDomainsRet(NamedTuple):
    names: list[str]


class EventRegisterArgs(NamedTuple):
    eventID: int
    dom: DomainRef | None


class EventRegisterRet(NamedTuple):
    callbackID: int


class EventDeregisterArgs(NamedTuple):
    callbackID: int


class OpenConsoleArgs(NamedTuple):
    dom: DomainRef
    dev_name: str | None
    flags: int


class GetOsTypeRet(NamedTuple):
    type: str


class NodeGetSecurityModelRet(NamedTuple):
    model: str
    doi: str


class GetSecurityLabelRet(NamedTuple):
    label: str
    enforcing: int


class GetMessagesRet(NamedTuple):
    msgs: list[str]


class GetMaxMemoryRet(NamedTuple):
    memory: int


class SnapshotNumRet(NamedTuple):
    num: int


class GetVcpusFlagsRet(NamedTuple):
    num: int


# ---- event messages


class LifecycleMsg(NamedTuple):
    dom: DomainRef
    event: int
    detail: int


class CallbackLifecycleMsg(NamedTuple):
    callbackID: int
    msg: LifecycleMsg


class RebootMsg(NamedTuple):
    dom: DomainRef


class CallbackRebootMsg(NamedTuple):
    callbackID: int
    msg: RebootMsg


class BlockJobMsg(NamedTuple):
    dom: DomainRef
    path: str
    type: int
    status: int


class CallbackBlockJobMsg(NamedTuple):
    callbackID: int
    msg: BlockJobMsg


class BlockJob2Msg(NamedTuple):
    callbackID: int
    dom: DomainRef
    dst: str
    type: int
    status: int


class TrayChangeMsg(NamedTuple):
    dom: DomainRef
    devAlias: str
    reason: int


class CallbackTrayChangeMsg(NamedTuple):
    callbackID: int
    msg: TrayChangeMsg


class DeviceRemovedMsg(NamedTuple):
    dom: DomainRef
    devAlias: str


class CallbackDeviceRemovedMsg(NamedTuple):
    callbackID: int
    msg: DeviceRemovedMsg


class AgentLifecycleMsg(NamedTuple):
    callbackID: int
    dom: DomainRef
    state: int
    reason: int


LIFECYCLE_MSG = S(LifecycleMsg, NonnullDomain, I, I)
REBOOT_MSG = S(RebootMsg, NonnullDomain)
BLOCK_JOB_MSG = S(BlockJobMsg, NonnullDomain, NonnullString, I, I)
TRAY_CHANGE_MSG = S(TrayChangeMsg, NonnullDomain, NonnullString, I)
DEVICE_REMOVED_MSG = S(DeviceRemovedMsg, NonnullDomain, NonnullString)


# ----------------------------------------------------------------------------- procedures


CONNECT_GET_TYPE = _p(3, "CONNECT_GET_TYPE", V, S(GetTypeRet, NonnullString), high=True)
CONNECT_GET_VERSION = _p(4, "CONNECT_GET_VERSION", V, S(GetVersionRet, UH), high=True)
CONNECT_GET_MAX_VCPUS = _p(
    5, "CONNECT_GET_MAX_VCPUS", S(GetMaxVcpusArgs, OptString), S(GetMaxVcpusRet, I), high=True
)
NODE_GET_INFO = _p(
    6,
    "NODE_GET_INFO",
    V,
    S(NodeGetInfoRet, xdr.CharArray(32, True), UH, I, I, I, I, I, I),
    high=True,
)
CONNECT_GET_CAPABILITIES = _p(
    7, "CONNECT_GET_CAPABILITIES", V, S(GetCapabilitiesRet, NonnullString), high=True
)
DOMAIN_CREATE = _p(9, "DOMAIN_CREATE", DOM_ARGS, V, rw=True)
DOMAIN_CREATE_XML = _p(
    10, "DOMAIN_CREATE_XML", S(CreateXmlArgs, NonnullString, U), DOM_RET, rw=True
)
DOMAIN_DEFINE_XML = _p(11, "DOMAIN_DEFINE_XML", S(DefineXmlArgs, NonnullString), DOM_RET, rw=True)
DOMAIN_DESTROY = _p(12, "DOMAIN_DESTROY", DOM_ARGS, V, rw=True)
DOMAIN_GET_XML_DESC = _p(14, "DOMAIN_GET_XML_DESC", DOM_FLAGS_ARGS, S(GetXmlDescRet, NonnullString))
DOMAIN_GET_AUTOSTART = _p(15, "DOMAIN_GET_AUTOSTART", DOM_ARGS, S(GetAutostartRet, I), high=True)
DOMAIN_GET_INFO = _p(
    16, "DOMAIN_GET_INFO", DOM_ARGS, S(GetInfoRet, xdr.UChar, UH, UH, xdr.UShort, UH), high=True
)
DOMAIN_GET_MAX_MEMORY = _p(17, "DOMAIN_GET_MAX_MEMORY", DOM_ARGS, S(GetMaxMemoryRet, UH), high=True)
DOMAIN_GET_OS_TYPE = _p(
    19, "DOMAIN_GET_OS_TYPE", DOM_ARGS, S(GetOsTypeRet, NonnullString), high=True
)
CONNECT_LIST_DEFINED_DOMAINS = _p(
    21,
    "CONNECT_LIST_DEFINED_DOMAINS",
    S(ListDefinedDomainsArgs, I),
    S(ListDefinedDomainsRet, xdr.Array(NonnullString, DOMAIN_LIST_MAX)),
    high=True,
)
CONNECT_NUM_OF_DEFINED_DOMAINS = _p(
    25,
    "CONNECT_NUM_OF_DEFINED_DOMAINS",
    V,
    S(NumRet, I),
    high=True,
    r="remote_connect_num_of_defined_domains_ret",
)
DOMAIN_REBOOT = _p(27, "DOMAIN_REBOOT", DOM_FLAGS_ARGS, V, rw=True)
DOMAIN_RESUME = _p(28, "DOMAIN_RESUME", DOM_ARGS, V, rw=True)
DOMAIN_SET_AUTOSTART = _p(
    29, "DOMAIN_SET_AUTOSTART", S(SetAutostartArgs, NonnullDomain, I), V, rw=True
)
DOMAIN_SHUTDOWN = _p(33, "DOMAIN_SHUTDOWN", DOM_ARGS, V, rw=True)
DOMAIN_SUSPEND = _p(34, "DOMAIN_SUSPEND", DOM_ARGS, V, rw=True)
DOMAIN_UNDEFINE = _p(35, "DOMAIN_UNDEFINE", DOM_ARGS, V, rw=True)
CONNECT_LIST_DOMAINS = _p(
    37,
    "CONNECT_LIST_DOMAINS",
    S(ListDomainsArgs, I),
    S(ListDomainsRet, xdr.Array(I, DOMAIN_LIST_MAX)),
    high=True,
)
CONNECT_NUM_OF_DOMAINS = _p(51, "CONNECT_NUM_OF_DOMAINS", V, S(NumRet, I), high=True)
CONNECT_GET_HOSTNAME = _p(
    59, "CONNECT_GET_HOSTNAME", V, S(GetHostnameRet, NonnullString), high=True
)
CONNECT_SUPPORTS_FEATURE = _p(
    60, "CONNECT_SUPPORTS_FEATURE", S(SupportsFeatureArgs, I), S(SupportsFeatureRet, I), high=True
)
CONNECT_GET_URI = _p(110, "CONNECT_GET_URI", V, S(GetUriRet, NonnullString), high=True)
DOMAIN_GET_SECURITY_LABEL = _p(
    121,
    "DOMAIN_GET_SECURITY_LABEL",
    DOM_ARGS,
    S(GetSecurityLabelRet, xdr.CharArray(SECURITY_LABEL_MAX, False), I),
    high=True,
)
NODE_GET_SECURITY_MODEL = _p(
    122,
    "NODE_GET_SECURITY_MODEL",
    V,
    S(
        NodeGetSecurityModelRet,
        xdr.CharArray(SECURITY_MODEL_MAX, False),
        xdr.CharArray(SECURITY_DOI_MAX, False),
    ),
    high=True,
)
CONNECT_IS_SECURE = _p(149, "CONNECT_IS_SECURE", V, S(IsSecureRet, I), high=True)
DOMAIN_IS_ACTIVE = _p(150, "DOMAIN_IS_ACTIVE", DOM_ARGS, S(IsActiveRet, I), high=True)
DOMAIN_IS_PERSISTENT = _p(151, "DOMAIN_IS_PERSISTENT", DOM_ARGS, S(IsPersistentRet, I), high=True)
CONNECT_GET_LIB_VERSION = _p(157, "CONNECT_GET_LIB_VERSION", V, S(GetLibVersionRet, UH), high=True)
DOMAIN_HAS_MANAGED_SAVE_IMAGE = _p(
    183, "DOMAIN_HAS_MANAGED_SAVE_IMAGE", DOM_FLAGS_ARGS, S(HasManagedSaveImageRet, I), high=True
)
DOMAIN_SNAPSHOT_NUM = _p(
    187, "DOMAIN_SNAPSHOT_NUM", DOM_FLAGS_ARGS, S(SnapshotNumRet, I), high=True
)
DOMAIN_CREATE_WITH_FLAGS = _p(196, "DOMAIN_CREATE_WITH_FLAGS", DOM_FLAGS_ARGS, DOM_RET, rw=True)
DOMAIN_GET_VCPUS_FLAGS = _p(200, "DOMAIN_GET_VCPUS_FLAGS", DOM_FLAGS_ARGS, S(GetVcpusFlagsRet, I))
DOMAIN_OPEN_CONSOLE = _p(
    201, "DOMAIN_OPEN_CONSOLE", S(OpenConsoleArgs, NonnullDomain, OptString, U), V, rw=True
)
DOMAIN_UNDEFINE_FLAGS = _p(231, "DOMAIN_UNDEFINE_FLAGS", DOM_FLAGS_ARGS, V, rw=True)
DOMAIN_DESTROY_FLAGS = _p(234, "DOMAIN_DESTROY_FLAGS", DOM_FLAGS_ARGS, V, rw=True)
DOMAIN_RESET = _p(245, "DOMAIN_RESET", DOM_FLAGS_ARGS, V, rw=True)
DOMAIN_SHUTDOWN_FLAGS = _p(258, "DOMAIN_SHUTDOWN_FLAGS", DOM_FLAGS_ARGS, V, rw=True)
CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY = _p(
    316,
    "CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY",
    S(EventRegisterArgs, I, OptDomain),
    S(EventRegisterRet, I),
    high=True,
)
CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY = _p(
    317, "CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY", S(EventDeregisterArgs, I), V, high=True
)
CONNECT_GET_DOMAIN_CAPABILITIES = _p(
    342,
    "CONNECT_GET_DOMAIN_CAPABILITIES",
    S(GetDomainCapabilitiesArgs, OptString, OptString, OptString, OptString, U),
    S(GetCapabilitiesRet, NonnullString),
)
DOMAIN_DEFINE_XML_FLAGS = _p(
    350, "DOMAIN_DEFINE_XML_FLAGS", S(DefineXmlFlagsArgs, NonnullString, U), DOM_RET, rw=True
)
CONNECT_REGISTER_CLOSE_CALLBACK = _p(360, "CONNECT_REGISTER_CLOSE_CALLBACK", V, V, high=True)
CONNECT_UNREGISTER_CLOSE_CALLBACK = _p(361, "CONNECT_UNREGISTER_CLOSE_CALLBACK", V, V, high=True)
DOMAIN_GET_MESSAGES = _p(
    426,
    "DOMAIN_GET_MESSAGES",
    DOM_FLAGS_ARGS,
    S(GetMessagesRet, xdr.Array(NonnullString, DOMAIN_MESSAGES_MAX)),
    high=True,
)

# ---- storage pools and volumes (remote_nonnull_storage_pool/_vol are StoragePoolRef/StorageVolRef)
STORAGE_POOL_LIST_MAX = 16384
STORAGE_VOL_LIST_MAX = 16384
NonnullStoragePool = S(StoragePoolRef, NonnullString, Uuid)
NonnullStorageVol = S(StorageVolRef, NonnullString, NonnullString, NonnullString)


class PoolArgs(NamedTuple):
    pool: StoragePoolRef


class PoolFlagsArgs(NamedTuple):
    pool: StoragePoolRef
    flags: int


class PoolRet(NamedTuple):
    pool: StoragePoolRef


class VolArgs(NamedTuple):
    vol: StorageVolRef


class VolFlagsArgs(NamedTuple):
    vol: StorageVolRef
    flags: int


class VolRet(NamedTuple):
    vol: StorageVolRef


class PoolXmlArgs(NamedTuple):
    xml: str
    flags: int


class PoolGetInfoRet(NamedTuple):
    state: int
    capacity: int
    allocation: int
    available: int


class PoolSetAutostartArgs(NamedTuple):
    pool: StoragePoolRef
    autostart: int


class PoolListVolumesArgs(NamedTuple):
    pool: StoragePoolRef
    maxnames: int


class NamesRet(NamedTuple):
    names: list[str]


class VolLookupByNameArgs(NamedTuple):
    pool: StoragePoolRef
    name: str


class VolLookupByKeyArgs(NamedTuple):
    key: str


class VolLookupByPathArgs(NamedTuple):
    path: str


class VolCreateXmlArgs(NamedTuple):
    pool: StoragePoolRef
    xml: str
    flags: int


class VolCreateXmlFromArgs(NamedTuple):
    pool: StoragePoolRef
    xml: str
    clonevol: StorageVolRef
    flags: int


class VolWipePatternArgs(NamedTuple):
    vol: StorageVolRef
    algorithm: int
    flags: int


class VolGetInfoRet(NamedTuple):
    type: int
    capacity: int
    allocation: int


class VolGetPathRet(NamedTuple):
    name: str


class VolResizeArgs(NamedTuple):
    vol: StorageVolRef
    capacity: int
    flags: int


class VolTransferArgs(NamedTuple):
    vol: StorageVolRef
    offset: int
    length: int
    flags: int


class ListAllPoolsRet(NamedTuple):
    pools: list[StoragePoolRef]
    ret: int


class PoolListAllVolumesArgs(NamedTuple):
    pool: StoragePoolRef
    need_results: int
    flags: int


class ListAllVolsRet(NamedTuple):
    vols: list[StorageVolRef]
    ret: int


POOL_ARGS = S(PoolArgs, NonnullStoragePool)
POOL_FLAGS_ARGS = S(PoolFlagsArgs, NonnullStoragePool, U)
POOL_RET = S(PoolRet, NonnullStoragePool)
VOL_ARGS = S(VolArgs, NonnullStorageVol)
VOL_FLAGS_ARGS = S(VolFlagsArgs, NonnullStorageVol, U)
VOL_RET = S(VolRet, NonnullStorageVol)
POOL_NAMES_RET = S(NamesRet, xdr.Array(NonnullString, STORAGE_POOL_LIST_MAX))
VOL_TRANSFER_ARGS = S(VolTransferArgs, NonnullStorageVol, UH, UH, U)

CONNECT_NUM_OF_STORAGE_POOLS = _p(71, "CONNECT_NUM_OF_STORAGE_POOLS", V, S(NumRet, I))
CONNECT_LIST_STORAGE_POOLS = _p(72, "CONNECT_LIST_STORAGE_POOLS", S(ListDefinedDomainsArgs, I), POOL_NAMES_RET)
CONNECT_NUM_OF_DEFINED_STORAGE_POOLS = _p(73, "CONNECT_NUM_OF_DEFINED_STORAGE_POOLS", V, S(NumRet, I))
CONNECT_LIST_DEFINED_STORAGE_POOLS = _p(
    74, "CONNECT_LIST_DEFINED_STORAGE_POOLS", S(ListDefinedDomainsArgs, I), POOL_NAMES_RET
)
STORAGE_POOL_CREATE_XML = _p(76, "STORAGE_POOL_CREATE_XML", S(PoolXmlArgs, NonnullString, U), POOL_RET, rw=True)
STORAGE_POOL_DEFINE_XML = _p(77, "STORAGE_POOL_DEFINE_XML", S(PoolXmlArgs, NonnullString, U), POOL_RET, rw=True)
STORAGE_POOL_CREATE = _p(78, "STORAGE_POOL_CREATE", POOL_FLAGS_ARGS, V, rw=True)
STORAGE_POOL_BUILD = _p(79, "STORAGE_POOL_BUILD", POOL_FLAGS_ARGS, V, rw=True)
STORAGE_POOL_DESTROY = _p(80, "STORAGE_POOL_DESTROY", POOL_ARGS, V, rw=True)
STORAGE_POOL_DELETE = _p(81, "STORAGE_POOL_DELETE", POOL_FLAGS_ARGS, V, rw=True)
STORAGE_POOL_UNDEFINE = _p(82, "STORAGE_POOL_UNDEFINE", POOL_ARGS, V, rw=True)
STORAGE_POOL_REFRESH = _p(83, "STORAGE_POOL_REFRESH", POOL_FLAGS_ARGS, V, rw=True)
STORAGE_POOL_LOOKUP_BY_NAME = _p(
    84, "STORAGE_POOL_LOOKUP_BY_NAME", S(LookupByNameArgs, NonnullString), POOL_RET
)
STORAGE_POOL_LOOKUP_BY_UUID = _p(85, "STORAGE_POOL_LOOKUP_BY_UUID", S(LookupByUuidArgs, Uuid), POOL_RET)
STORAGE_POOL_LOOKUP_BY_VOLUME = _p(86, "STORAGE_POOL_LOOKUP_BY_VOLUME", VOL_ARGS, POOL_RET)
STORAGE_POOL_GET_INFO = _p(
    87, "STORAGE_POOL_GET_INFO", POOL_ARGS, S(PoolGetInfoRet, xdr.UChar, UH, UH, UH)
)
STORAGE_POOL_GET_XML_DESC = _p(88, "STORAGE_POOL_GET_XML_DESC", POOL_FLAGS_ARGS, S(GetXmlDescRet, NonnullString))
STORAGE_POOL_GET_AUTOSTART = _p(89, "STORAGE_POOL_GET_AUTOSTART", POOL_ARGS, S(GetAutostartRet, I))
STORAGE_POOL_SET_AUTOSTART = _p(
    90, "STORAGE_POOL_SET_AUTOSTART", S(PoolSetAutostartArgs, NonnullStoragePool, I), V, rw=True
)
STORAGE_POOL_NUM_OF_VOLUMES = _p(91, "STORAGE_POOL_NUM_OF_VOLUMES", POOL_ARGS, S(NumRet, I))
STORAGE_POOL_LIST_VOLUMES = _p(
    92, "STORAGE_POOL_LIST_VOLUMES", S(PoolListVolumesArgs, NonnullStoragePool, I),
    S(NamesRet, xdr.Array(NonnullString, STORAGE_VOL_LIST_MAX)),
)
STORAGE_VOL_CREATE_XML = _p(
    93, "STORAGE_VOL_CREATE_XML", S(VolCreateXmlArgs, NonnullStoragePool, NonnullString, U), VOL_RET, rw=True
)
STORAGE_VOL_DELETE = _p(94, "STORAGE_VOL_DELETE", VOL_FLAGS_ARGS, V, rw=True)
STORAGE_VOL_LOOKUP_BY_NAME = _p(
    95, "STORAGE_VOL_LOOKUP_BY_NAME", S(VolLookupByNameArgs, NonnullStoragePool, NonnullString), VOL_RET
)
STORAGE_VOL_LOOKUP_BY_KEY = _p(96, "STORAGE_VOL_LOOKUP_BY_KEY", S(VolLookupByKeyArgs, NonnullString), VOL_RET)
STORAGE_VOL_LOOKUP_BY_PATH = _p(97, "STORAGE_VOL_LOOKUP_BY_PATH", S(VolLookupByPathArgs, NonnullString), VOL_RET)
STORAGE_VOL_GET_INFO = _p(98, "STORAGE_VOL_GET_INFO", VOL_ARGS, S(VolGetInfoRet, xdr.Char, UH, UH))
STORAGE_VOL_GET_XML_DESC = _p(99, "STORAGE_VOL_GET_XML_DESC", VOL_FLAGS_ARGS, S(GetXmlDescRet, NonnullString))
STORAGE_VOL_GET_PATH = _p(100, "STORAGE_VOL_GET_PATH", VOL_ARGS, S(VolGetPathRet, NonnullString))
STORAGE_VOL_CREATE_XML_FROM = _p(
    125, "STORAGE_VOL_CREATE_XML_FROM",
    S(VolCreateXmlFromArgs, NonnullStoragePool, NonnullString, NonnullStorageVol, U), VOL_RET, rw=True,
)
STORAGE_POOL_IS_ACTIVE = _p(154, "STORAGE_POOL_IS_ACTIVE", POOL_ARGS, S(IsActiveRet, I))
STORAGE_POOL_IS_PERSISTENT = _p(155, "STORAGE_POOL_IS_PERSISTENT", POOL_ARGS, S(IsPersistentRet, I))
STORAGE_VOL_WIPE = _p(165, "STORAGE_VOL_WIPE", VOL_FLAGS_ARGS, V, rw=True)
STORAGE_VOL_UPLOAD = _p(208, "STORAGE_VOL_UPLOAD", VOL_TRANSFER_ARGS, V, rw=True)
STORAGE_VOL_DOWNLOAD = _p(209, "STORAGE_VOL_DOWNLOAD", VOL_TRANSFER_ARGS, V)
STORAGE_VOL_WIPE_PATTERN = _p(
    259, "STORAGE_VOL_WIPE_PATTERN", S(VolWipePatternArgs, NonnullStorageVol, U, U), V, rw=True
)
STORAGE_VOL_RESIZE = _p(260, "STORAGE_VOL_RESIZE", S(VolResizeArgs, NonnullStorageVol, UH, U), V, rw=True)
CONNECT_LIST_ALL_STORAGE_POOLS = _p(
    281, "CONNECT_LIST_ALL_STORAGE_POOLS", S(ListAllDomainsArgs, I, U),
    S(ListAllPoolsRet, xdr.Array(NonnullStoragePool, STORAGE_POOL_LIST_MAX), U),
)
STORAGE_POOL_LIST_ALL_VOLUMES = _p(
    282, "STORAGE_POOL_LIST_ALL_VOLUMES", S(PoolListAllVolumesArgs, NonnullStoragePool, I, U),
    S(ListAllVolsRet, xdr.Array(NonnullStorageVol, STORAGE_VOL_LIST_MAX), U),
)

# ---- domain snapshots (remote_nonnull_domain_snapshot is SnapshotRef: name, then domain)
SNAPSHOT_LIST_MAX = 16384


class _WireSnapshot(NamedTuple):
    name: str
    dom: DomainRef


class _NonnullSnapshotCodec(xdr.StructCodec[Any]):
    """remote_nonnull_domain_snapshot (name, dom) carried as SnapshotRef (dom, name)."""

    def pack(self, out: bytearray, v: Any) -> None:
        super().pack(out, _WireSnapshot(v.name, v.dom))

    def unpack(self, buf: xdr.Buffer, off: int) -> tuple[Any, int]:
        w, off = super().unpack(buf, off)
        return SnapshotRef(w.dom, w.name), off


NonnullSnapshot = _NonnullSnapshotCodec(_WireSnapshot, (NonnullString, NonnullDomain))


class SnapCreateXmlArgs(NamedTuple):
    dom: DomainRef
    xml_desc: str
    flags: int


class SnapArgs(NamedTuple):
    snap: SnapshotRef
    flags: int


class SnapRet(NamedTuple):
    snap: SnapshotRef


class SnapListNamesArgs(NamedTuple):
    dom: DomainRef
    maxnames: int
    flags: int


class SnapChildrenNamesArgs(NamedTuple):
    snap: SnapshotRef
    maxnames: int
    flags: int


class SnapListAllArgs(NamedTuple):
    dom: DomainRef
    need_results: int
    flags: int


class SnapListAllChildrenArgs(NamedTuple):
    snapshot: SnapshotRef
    need_results: int
    flags: int


class SnapListAllRet(NamedTuple):
    snapshots: list[SnapshotRef]
    ret: int


class SnapLookupArgs(NamedTuple):
    dom: DomainRef
    name: str
    flags: int


class HasCurrentSnapshotRet(NamedTuple):
    result: int


class SnapIsCurrentRet(NamedTuple):
    current: int


class SnapHasMetadataRet(NamedTuple):
    metadata: int


SNAP_ARGS = S(SnapArgs, NonnullSnapshot, U)
SNAP_RET = S(SnapRet, NonnullSnapshot)
SNAP_NAMES_RET = S(NamesRet, xdr.Array(NonnullString, SNAPSHOT_LIST_MAX))
SNAP_LIST_ALL_RET = S(SnapListAllRet, xdr.Array(NonnullSnapshot, SNAPSHOT_LIST_MAX), I)

DOMAIN_SNAPSHOT_CREATE_XML = _p(
    185, "DOMAIN_SNAPSHOT_CREATE_XML", S(SnapCreateXmlArgs, NonnullDomain, NonnullString, U), SNAP_RET, rw=True
)
DOMAIN_SNAPSHOT_GET_XML_DESC = _p(
    186, "DOMAIN_SNAPSHOT_GET_XML_DESC", SNAP_ARGS, S(GetXmlDescRet, NonnullString), high=True
)
DOMAIN_SNAPSHOT_LIST_NAMES = _p(
    188, "DOMAIN_SNAPSHOT_LIST_NAMES", S(SnapListNamesArgs, NonnullDomain, I, U), SNAP_NAMES_RET, high=True
)
DOMAIN_SNAPSHOT_LOOKUP_BY_NAME = _p(
    189, "DOMAIN_SNAPSHOT_LOOKUP_BY_NAME", S(SnapLookupArgs, NonnullDomain, NonnullString, U), SNAP_RET, high=True
)
DOMAIN_HAS_CURRENT_SNAPSHOT = _p(190, "DOMAIN_HAS_CURRENT_SNAPSHOT", DOM_FLAGS_ARGS, S(HasCurrentSnapshotRet, I))
DOMAIN_SNAPSHOT_CURRENT = _p(191, "DOMAIN_SNAPSHOT_CURRENT", DOM_FLAGS_ARGS, SNAP_RET)
DOMAIN_REVERT_TO_SNAPSHOT = _p(192, "DOMAIN_REVERT_TO_SNAPSHOT", SNAP_ARGS, V, rw=True)
DOMAIN_SNAPSHOT_DELETE = _p(193, "DOMAIN_SNAPSHOT_DELETE", SNAP_ARGS, V, rw=True)
DOMAIN_SNAPSHOT_GET_PARENT = _p(244, "DOMAIN_SNAPSHOT_GET_PARENT", SNAP_ARGS, SNAP_RET, high=True)
DOMAIN_SNAPSHOT_NUM_CHILDREN = _p(246, "DOMAIN_SNAPSHOT_NUM_CHILDREN", SNAP_ARGS, S(SnapshotNumRet, I), high=True)
DOMAIN_SNAPSHOT_LIST_CHILDREN_NAMES = _p(
    247, "DOMAIN_SNAPSHOT_LIST_CHILDREN_NAMES", S(SnapChildrenNamesArgs, NonnullSnapshot, I, U), SNAP_NAMES_RET,
    high=True,
)
DOMAIN_SNAPSHOT_IS_CURRENT = _p(271, "DOMAIN_SNAPSHOT_IS_CURRENT", SNAP_ARGS, S(SnapIsCurrentRet, I))
DOMAIN_SNAPSHOT_HAS_METADATA = _p(272, "DOMAIN_SNAPSHOT_HAS_METADATA", SNAP_ARGS, S(SnapHasMetadataRet, I))
DOMAIN_LIST_ALL_SNAPSHOTS = _p(
    274, "DOMAIN_LIST_ALL_SNAPSHOTS", S(SnapListAllArgs, NonnullDomain, I, U), SNAP_LIST_ALL_RET, high=True
)
DOMAIN_SNAPSHOT_LIST_ALL_CHILDREN = _p(
    275, "DOMAIN_SNAPSHOT_LIST_ALL_CHILDREN", S(SnapListAllChildrenArgs, NonnullSnapshot, I, U), SNAP_LIST_ALL_RET,
    high=True,
)

# ---- events (server -> client MESSAGE packets, serial 1)
EVENT_LIFECYCLE = _m(
    318, "DOMAIN_EVENT_CALLBACK_LIFECYCLE", S(CallbackLifecycleMsg, I, LIFECYCLE_MSG)
)
EVENT_REBOOT = _m(319, "DOMAIN_EVENT_CALLBACK_REBOOT", S(CallbackRebootMsg, I, REBOOT_MSG))
EVENT_BLOCK_JOB = _m(
    326, "DOMAIN_EVENT_CALLBACK_BLOCK_JOB", S(CallbackBlockJobMsg, I, BLOCK_JOB_MSG)
)
EVENT_TRAY_CHANGE = _m(
    328, "DOMAIN_EVENT_CALLBACK_TRAY_CHANGE", S(CallbackTrayChangeMsg, I, TRAY_CHANGE_MSG)
)
EVENT_DEVICE_REMOVED = _m(
    333, "DOMAIN_EVENT_CALLBACK_DEVICE_REMOVED", S(CallbackDeviceRemovedMsg, I, DEVICE_REMOVED_MSG)
)
EVENT_BLOCK_JOB_2 = _m(
    339, "DOMAIN_EVENT_BLOCK_JOB_2", S(BlockJob2Msg, I, NonnullDomain, NonnullString, I, I)
)
EVENT_AGENT_LIFECYCLE = _m(
    348, "DOMAIN_EVENT_CALLBACK_AGENT_LIFECYCLE", S(AgentLifecycleMsg, I, NonnullDomain, I, I)
)

# ----------------------------------------------------------------------------- block jobs, save


class BlockStatsArgs(NamedTuple):
    dom: DomainRef
    path: str


class BlockStatsRet(NamedTuple):
    rd_req: int
    rd_bytes: int
    wr_req: int
    wr_bytes: int
    errs: int


class SaveArgs(NamedTuple):
    dom: DomainRef
    to: str


class RestoreArgs(NamedTuple):
    from_: str


class BlockPathFlagsArgs(NamedTuple):
    dom: DomainRef
    path: str
    flags: int


class GetBlockInfoRet(NamedTuple):
    allocation: int
    capacity: int
    physical: int


class GetBlockJobInfoRet(NamedTuple):
    found: int
    type: int
    bandwidth: int
    cur: int
    end: int


class BlockBandwidthArgs(NamedTuple):
    """block_job_set_speed and block_pull: (dom, path, bandwidth, flags)."""

    dom: DomainRef
    path: str
    bandwidth: int
    flags: int


class BlockResizeArgs(NamedTuple):
    dom: DomainRef
    disk: str
    size: int
    flags: int


class BlockRebaseArgs(NamedTuple):
    dom: DomainRef
    path: str
    base: str | None
    bandwidth: int
    flags: int


class SaveFlagsArgs(NamedTuple):
    dom: DomainRef
    to: str
    dxml: str | None
    flags: int


class RestoreFlagsArgs(NamedTuple):
    from_: str
    dxml: str | None
    flags: int


class BlockCommitArgs(NamedTuple):
    dom: DomainRef
    disk: str
    base: str | None
    top: str | None
    bandwidth: int
    flags: int


class BlockStatsFlagsArgs(NamedTuple):
    dom: DomainRef
    path: str
    nparams: int  # 0 asks how many the server has
    flags: int


class BlockStatsFlagsRet(NamedTuple):
    params: list[TypedParam]
    nparams: int


class BlockCopyArgs(NamedTuple):
    dom: DomainRef
    path: str
    destxml: str
    params: list[TypedParam]
    flags: int


DOMAIN_BLOCK_COPY_PARAMETERS_MAX = 16
DOMAIN_BLOCK_STATS_PARAMETERS_MAX = 16

_BLOCK_PATH_FLAGS = S(BlockPathFlagsArgs, NonnullDomain, NonnullString, U)
_BLOCK_BANDWIDTH = S(BlockBandwidthArgs, NonnullDomain, NonnullString, UH, U)
DOMAIN_RESTORE = _p(54, "DOMAIN_RESTORE", S(RestoreArgs, NonnullString), V, rw=True)
DOMAIN_SAVE = _p(55, "DOMAIN_SAVE", S(SaveArgs, NonnullDomain, NonnullString), V, rw=True)
DOMAIN_BLOCK_STATS = _p(
    64, "DOMAIN_BLOCK_STATS", S(BlockStatsArgs, NonnullDomain, NonnullString),
    S(BlockStatsRet, xdr.Hyper, xdr.Hyper, xdr.Hyper, xdr.Hyper, xdr.Hyper), high=True,
)
DOMAIN_MANAGED_SAVE = _p(182, "DOMAIN_MANAGED_SAVE", DOM_FLAGS_ARGS, V, rw=True)
DOMAIN_MANAGED_SAVE_REMOVE = _p(184, "DOMAIN_MANAGED_SAVE_REMOVE", DOM_FLAGS_ARGS, V, rw=True)
DOMAIN_GET_BLOCK_INFO = _p(
    194, "DOMAIN_GET_BLOCK_INFO", _BLOCK_PATH_FLAGS, S(GetBlockInfoRet, UH, UH, UH), high=True
)
DOMAIN_SAVE_FLAGS = _p(
    232, "DOMAIN_SAVE_FLAGS", S(SaveFlagsArgs, NonnullDomain, NonnullString, OptString, U), V, rw=True
)
DOMAIN_RESTORE_FLAGS = _p(
    233, "DOMAIN_RESTORE_FLAGS", S(RestoreFlagsArgs, NonnullString, OptString, U), V, rw=True
)
DOMAIN_BLOCK_JOB_ABORT = _p(237, "DOMAIN_BLOCK_JOB_ABORT", _BLOCK_PATH_FLAGS, V, rw=True)
DOMAIN_GET_BLOCK_JOB_INFO = _p(
    238, "DOMAIN_GET_BLOCK_JOB_INFO", _BLOCK_PATH_FLAGS, S(GetBlockJobInfoRet, I, I, UH, UH, UH), high=True
)
DOMAIN_BLOCK_JOB_SET_SPEED = _p(239, "DOMAIN_BLOCK_JOB_SET_SPEED", _BLOCK_BANDWIDTH, V, rw=True)
DOMAIN_BLOCK_PULL = _p(240, "DOMAIN_BLOCK_PULL", _BLOCK_BANDWIDTH, V, rw=True)
DOMAIN_BLOCK_RESIZE = _p(
    251, "DOMAIN_BLOCK_RESIZE", S(BlockResizeArgs, NonnullDomain, NonnullString, UH, U), V, rw=True
)
DOMAIN_BLOCK_REBASE = _p(
    266, "DOMAIN_BLOCK_REBASE", S(BlockRebaseArgs, NonnullDomain, NonnullString, OptString, UH, U), V, rw=True
)
DOMAIN_BLOCK_STATS_FLAGS = _p(
    243, "DOMAIN_BLOCK_STATS_FLAGS", S(BlockStatsFlagsArgs, NonnullDomain, NonnullString, I, U),
    S(BlockStatsFlagsRet, params_array(DOMAIN_BLOCK_STATS_PARAMETERS_MAX), I), high=True,
)
DOMAIN_BLOCK_COPY = _p(
    345, "DOMAIN_BLOCK_COPY",
    S(BlockCopyArgs, NonnullDomain, NonnullString, NonnullString, params_array(DOMAIN_BLOCK_COPY_PARAMETERS_MAX), U),
    V, rw=True,
)
DOMAIN_BLOCK_COMMIT = _p(
    290, "DOMAIN_BLOCK_COMMIT",
    S(BlockCommitArgs, NonnullDomain, NonnullString, OptString, OptString, UH, U), V, rw=True,
)

# ---- vCPUs and the node CPU map (virDomainGetVcpus, virDomainPinVcpu*, virNodeGetCPUMap)
CPUMAP_MAX = 2048
VCPUINFO_MAX = 16384
CPUMAPS_MAX = 8388608


class VcpuInfoWire(NamedTuple):
    """remote_vcpu_info."""

    number: int
    state: int
    cpu_time: int
    cpu: int


class GetVcpusArgs(NamedTuple):
    dom: DomainRef
    maxinfo: int
    maplen: int


class GetVcpusRet(NamedTuple):
    info: list[VcpuInfoWire]
    cpumaps: bytes


class PinVcpuArgs(NamedTuple):
    dom: DomainRef
    vcpu: int
    cpumap: bytes


class PinVcpuFlagsArgs(NamedTuple):
    dom: DomainRef
    vcpu: int
    cpumap: bytes
    flags: int


class GetVcpuPinInfoArgs(NamedTuple):
    dom: DomainRef
    ncpumaps: int
    maplen: int
    flags: int


class GetVcpuPinInfoRet(NamedTuple):
    cpumaps: bytes
    num: int


class NodeGetCpuMapArgs(NamedTuple):
    need_map: int
    need_online: int
    flags: int


class NodeGetCpuMapRet(NamedTuple):
    cpumap: bytes
    online: int
    ret: int


VcpuInfoCodec = S(VcpuInfoWire, U, I, UH, I)

DOMAIN_GET_VCPUS = _p(
    20, "DOMAIN_GET_VCPUS", S(GetVcpusArgs, NonnullDomain, I, I),
    S(GetVcpusRet, xdr.Array(VcpuInfoCodec, VCPUINFO_MAX), xdr.Opaque(CPUMAPS_MAX)), high=True,
)
DOMAIN_PIN_VCPU = _p(
    26, "DOMAIN_PIN_VCPU", S(PinVcpuArgs, NonnullDomain, U, xdr.Opaque(CPUMAP_MAX)), V, rw=True
)
DOMAIN_PIN_VCPU_FLAGS = _p(
    225, "DOMAIN_PIN_VCPU_FLAGS", S(PinVcpuFlagsArgs, NonnullDomain, U, xdr.Opaque(CPUMAP_MAX), U), V, rw=True
)
DOMAIN_GET_VCPU_PIN_INFO = _p(
    230, "DOMAIN_GET_VCPU_PIN_INFO", S(GetVcpuPinInfoArgs, NonnullDomain, I, I, U),
    S(GetVcpuPinInfoRet, xdr.Opaque(CPUMAPS_MAX), I),
)
NODE_GET_CPU_MAP = _p(
    293, "NODE_GET_CPU_MAP", S(NodeGetCpuMapArgs, I, I, U), S(NodeGetCpuMapRet, xdr.Opaque(CPUMAP_MAX), U, I)
)

# ---- old-style (non-callback) domain events: what clients use against a daemon that does
# not offer VIR_DRV_FEATURE_REMOTE_EVENT_CALLBACK (and libvirt clients older than 1.2.1)


class LegacyEventRegisteredRet(NamedTuple):
    cb_registered: int


class LegacyEventIdArgs(NamedTuple):
    eventID: int


CONNECT_DOMAIN_EVENT_REGISTER = _p(
    105, "CONNECT_DOMAIN_EVENT_REGISTER", V, S(LegacyEventRegisteredRet, I), high=True
)
CONNECT_DOMAIN_EVENT_DEREGISTER = _p(
    106, "CONNECT_DOMAIN_EVENT_DEREGISTER", V, S(LegacyEventRegisteredRet, I), high=True
)
CONNECT_DOMAIN_EVENT_REGISTER_ANY = _p(
    167, "CONNECT_DOMAIN_EVENT_REGISTER_ANY", S(LegacyEventIdArgs, I), V, high=True
)
CONNECT_DOMAIN_EVENT_DEREGISTER_ANY = _p(
    168, "CONNECT_DOMAIN_EVENT_DEREGISTER_ANY", S(LegacyEventIdArgs, I), V, high=True
)
LEGACY_EVENT_LIFECYCLE = _m(107, "DOMAIN_EVENT_LIFECYCLE", LIFECYCLE_MSG)
LEGACY_EVENT_REBOOT = _m(169, "DOMAIN_EVENT_REBOOT", REBOOT_MSG)
LEGACY_EVENT_BLOCK_JOB = _m(241, "DOMAIN_EVENT_BLOCK_JOB", BLOCK_JOB_MSG)
LEGACY_EVENT_TRAY_CHANGE = _m(268, "DOMAIN_EVENT_TRAY_CHANGE", TRAY_CHANGE_MSG)
LEGACY_EVENT_DEVICE_REMOVED = _m(311, "DOMAIN_EVENT_DEVICE_REMOVED", DEVICE_REMOVED_MSG)

# ---- virtual networks (remote_nonnull_network is NetworkRef: name, uuid)
NETWORK_LIST_MAX = 16384
NonnullNetwork = S(NetworkRef, NonnullString, Uuid)


class NetArgs(NamedTuple):
    net: NetworkRef


class NetRet(NamedTuple):
    net: NetworkRef


class NetFlagsArgs(NamedTuple):
    net: NetworkRef
    flags: int


class NetXmlArgs(NamedTuple):
    xml: str


class NetXmlFlagsArgs(NamedTuple):
    xml: str
    flags: int


class NetSetAutostartArgs(NamedTuple):
    net: NetworkRef
    autostart: int


class NetBridgeNameRet(NamedTuple):
    name: str


class ListAllNetworksRet(NamedTuple):
    nets: list[NetworkRef]
    ret: int


NET_ARGS = S(NetArgs, NonnullNetwork)
NET_RET = S(NetRet, NonnullNetwork)
NET_NAMES_RET = S(NamesRet, xdr.Array(NonnullString, NETWORK_LIST_MAX))

CONNECT_LIST_DEFINED_NETWORKS = _p(
    36, "CONNECT_LIST_DEFINED_NETWORKS", S(ListDefinedDomainsArgs, I), NET_NAMES_RET
)
CONNECT_LIST_NETWORKS = _p(38, "CONNECT_LIST_NETWORKS", S(ListDefinedDomainsArgs, I), NET_NAMES_RET)
NETWORK_CREATE = _p(39, "NETWORK_CREATE", NET_ARGS, V, rw=True)
NETWORK_CREATE_XML = _p(40, "NETWORK_CREATE_XML", S(NetXmlArgs, NonnullString), NET_RET, rw=True)
NETWORK_DEFINE_XML = _p(41, "NETWORK_DEFINE_XML", S(NetXmlArgs, NonnullString), NET_RET, rw=True)
NETWORK_DESTROY = _p(42, "NETWORK_DESTROY", NET_ARGS, V, rw=True)
NETWORK_GET_XML_DESC = _p(
    43, "NETWORK_GET_XML_DESC", S(NetFlagsArgs, NonnullNetwork, U), S(GetXmlDescRet, NonnullString)
)
NETWORK_GET_AUTOSTART = _p(44, "NETWORK_GET_AUTOSTART", NET_ARGS, S(GetAutostartRet, I))
NETWORK_GET_BRIDGE_NAME = _p(45, "NETWORK_GET_BRIDGE_NAME", NET_ARGS, S(NetBridgeNameRet, NonnullString))
NETWORK_LOOKUP_BY_NAME = _p(46, "NETWORK_LOOKUP_BY_NAME", S(LookupByNameArgs, NonnullString), NET_RET)
NETWORK_LOOKUP_BY_UUID = _p(47, "NETWORK_LOOKUP_BY_UUID", S(LookupByUuidArgs, Uuid), NET_RET)
NETWORK_SET_AUTOSTART = _p(
    48, "NETWORK_SET_AUTOSTART", S(NetSetAutostartArgs, NonnullNetwork, I), V, rw=True
)
NETWORK_UNDEFINE = _p(49, "NETWORK_UNDEFINE", NET_ARGS, V, rw=True)
CONNECT_NUM_OF_DEFINED_NETWORKS = _p(50, "CONNECT_NUM_OF_DEFINED_NETWORKS", V, S(NumRet, I))
CONNECT_NUM_OF_NETWORKS = _p(52, "CONNECT_NUM_OF_NETWORKS", V, S(NumRet, I))
NETWORK_IS_ACTIVE = _p(152, "NETWORK_IS_ACTIVE", NET_ARGS, S(IsActiveRet, I))
NETWORK_IS_PERSISTENT = _p(153, "NETWORK_IS_PERSISTENT", NET_ARGS, S(IsPersistentRet, I))
CONNECT_LIST_ALL_NETWORKS = _p(
    283, "CONNECT_LIST_ALL_NETWORKS", S(ListAllDomainsArgs, I, U),
    S(ListAllNetworksRet, xdr.Array(NonnullNetwork, NETWORK_LIST_MAX), U),
)
NETWORK_DEFINE_XML_FLAGS = _p(
    432, "NETWORK_DEFINE_XML_FLAGS", S(NetXmlFlagsArgs, NonnullString, U), NET_RET, rw=True
)
NETWORK_CREATE_XML_FLAGS = _p(
    437, "NETWORK_CREATE_XML_FLAGS", S(NetXmlFlagsArgs, NonnullString, U), NET_RET, rw=True
)

# ---- screenshots: the reply names the MIME type, the image follows on the call's stream


class ScreenshotArgs(NamedTuple):
    dom: DomainRef
    screen: int
    flags: int


class ScreenshotRet(NamedTuple):
    mime: str | None


DOMAIN_SCREENSHOT = _p(
    211, "DOMAIN_SCREENSHOT", S(ScreenshotArgs, NonnullDomain, U, U), S(ScreenshotRet, OptString), rw=True
)

PROCEDURES: dict[int, Procedure[Any, Any]] = {
    p.number: p for p in list(globals().values()) if isinstance(p, Procedure) and not p.message
}
EVENTS: dict[int, Procedure[Any, Any]] = {
    p.number: p for p in list(globals().values()) if isinstance(p, Procedure) and p.message
}


class DrvFeature:
    """virDrvFeature numbers clients ask about with CONNECT_SUPPORTS_FEATURE.

    The three the daemon itself answers are the ones virsh and python3-libvirt 9.0 ask on
    every connect (seen in rpc-traces/): keepalive before CONNECT_OPEN, event and close
    callbacks after it.
    """

    TYPED_PARAM_STRING = 8
    PROGRAM_KEEPALIVE = 10
    REMOTE_EVENT_CALLBACK = 14
    REMOTE_CLOSE_CALLBACK = 15
