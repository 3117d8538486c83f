"""Domain procedures: define, start, stop, info, console, save/restore, screenshot.

Part of :mod:`pyvirt.remote.protocol`, which re-exports every name here: import from there.
The lookups, GET_STATE and listAllDomains are in ``protocol_core`` (the light reads);
vCPUs, block devices, snapshots and events have their own modules.
"""

from __future__ import annotations

from pyvirt.remote.proto_common import (
    GetAutostartRet,
    GetXmlDescRet,
    IsActiveRet,
    IsPersistentRet,
    ListDefinedDomainsArgs,
    NumRet,
)
from pyvirt.remote.protocol_core import (
    DOM_ARGS,
    DOM_FLAGS_ARGS,
    DOM_RET,
    DOMAIN_LIST_MAX,
    UH,
    I,
    NonnullDomain,
    NonnullString,
    OptString,
    S,
    U,
    V,
    _p,
)
from pyvirt.rpc import xdr

# Records: typed as NamedTuples for mypy, built by rpc.record at run time (no typing
# import, a fifth of a NamedTuple's declaration cost: every async client and pyvirtd pays it).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple as Record

    from pyvirt.drivers.base import DomainRef
else:
    from pyvirt.rpc.record import Record


SECURITY_LABEL_MAX = 4097  # VIR_SECURITY_LABEL_BUFLEN
DOMAIN_MESSAGES_MAX = 2048


class GetInfoRet(Record):
    state: int
    maxMem: int
    memory: int
    nrVirtCpu: int
    cpuTime: int


class DefineXmlArgs(Record):
    xml: str


class DefineXmlFlagsArgs(Record):
    xml: str
    flags: int


class CreateXmlArgs(Record):
    xml_desc: str
    flags: int


class SetAutostartArgs(Record):
    dom: DomainRef
    autostart: int


class HasManagedSaveImageRet(Record):
    result: int


class ListDomainsArgs(Record):
    maxids: int


class ListDomainsRet(Record):
    ids: list[int]


class ListDefinedDomainsRet(Record):
    names: list[str]


class OpenConsoleArgs(Record):
    dom: DomainRef
    dev_name: str | None
    flags: int


class GetOsTypeRet(Record):
    type: str


class GetSecurityLabelRet(Record):
    label: str
    enforcing: int


class GetMessagesRet(Record):
    msgs: list[str]


class GetMaxMemoryRet(Record):
    memory: int


class SaveArgs(Record):
    dom: DomainRef
    to: str


class RestoreArgs(Record):
    from_: str


class SaveFlagsArgs(Record):
    dom: DomainRef
    to: str
    dxml: str | None
    flags: int


class RestoreFlagsArgs(Record):
    from_: str
    dxml: str | None
    flags: int


class ScreenshotArgs(Record):
    dom: DomainRef
    screen: int
    flags: int


class ScreenshotRet(Record):
    mime: str | None


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
DOMAIN_RESTORE = _p(54, "DOMAIN_RESTORE", S(RestoreArgs, NonnullString), V, rw=True)
DOMAIN_SAVE = _p(55, "DOMAIN_SAVE", S(SaveArgs, NonnullDomain, NonnullString), V, rw=True)
DOMAIN_GET_SECURITY_LABEL = _p(
    121,
    "DOMAIN_GET_SECURITY_LABEL",
    DOM_ARGS,
    S(GetSecurityLabelRet, xdr.CharArray(SECURITY_LABEL_MAX, False), I),
    high=True,
)
DOMAIN_IS_ACTIVE = _p(150, "DOMAIN_IS_ACTIVE", DOM_ARGS, S(IsActiveRet, I), high=True)
DOMAIN_IS_PERSISTENT = _p(151, "DOMAIN_IS_PERSISTENT", DOM_ARGS, S(IsPersistentRet, I), high=True)
DOMAIN_MANAGED_SAVE = _p(182, "DOMAIN_MANAGED_SAVE", DOM_FLAGS_ARGS, V, rw=True)
DOMAIN_HAS_MANAGED_SAVE_IMAGE = _p(
    183, "DOMAIN_HAS_MANAGED_SAVE_IMAGE", DOM_FLAGS_ARGS, S(HasManagedSaveImageRet, I), high=True
)
DOMAIN_MANAGED_SAVE_REMOVE = _p(184, "DOMAIN_MANAGED_SAVE_REMOVE", DOM_FLAGS_ARGS, V, rw=True)
DOMAIN_CREATE_WITH_FLAGS = _p(196, "DOMAIN_CREATE_WITH_FLAGS", DOM_FLAGS_ARGS, DOM_RET, rw=True)
DOMAIN_OPEN_CONSOLE = _p(
    201, "DOMAIN_OPEN_CONSOLE", S(OpenConsoleArgs, NonnullDomain, OptString, U), V, rw=True
)
DOMAIN_SCREENSHOT = _p(
    211, "DOMAIN_SCREENSHOT", S(ScreenshotArgs, NonnullDomain, U, U), S(ScreenshotRet, OptString), rw=True
)
DOMAIN_UNDEFINE_FLAGS = _p(231, "DOMAIN_UNDEFINE_FLAGS", DOM_FLAGS_ARGS, V, rw=True)
DOMAIN_SAVE_FLAGS = _p(
    232, "DOMAIN_SAVE_FLAGS", S(SaveFlagsArgs, NonnullDomain, NonnullString, OptString, U), V, rw=True
)
DOMAIN_RESTORE_FLAGS = _p(
    233, "DOMAIN_RESTORE_FLAGS", S(RestoreFlagsArgs, NonnullString, OptString, U), V, rw=True
)
DOMAIN_DESTROY_FLAGS = _p(234, "DOMAIN_DESTROY_FLAGS", DOM_FLAGS_ARGS, V, rw=True)
DOMAIN_RESET = _p(245, "DOMAIN_RESET", DOM_FLAGS_ARGS, V, rw=True)
DOMAIN_SHUTDOWN_FLAGS = _p(258, "DOMAIN_SHUTDOWN_FLAGS", DOM_FLAGS_ARGS, V, rw=True)
DOMAIN_DEFINE_XML_FLAGS = _p(
    350, "DOMAIN_DEFINE_XML_FLAGS", S(DefineXmlFlagsArgs, NonnullString, U), DOM_RET, rw=True
)
DOMAIN_GET_MESSAGES = _p(
    426,
    "DOMAIN_GET_MESSAGES",
    DOM_FLAGS_ARGS,
    S(GetMessagesRet, xdr.Array(NonnullString, DOMAIN_MESSAGES_MAX)),
    high=True,
)
