"""Virtual network procedures (remote_nonnull_network is NetworkRef: name, uuid).

Part of :mod:`pyvirt.remote.protocol`, which re-exports every name here: import from there.
"""

from __future__ import annotations

from pyvirt.remote.proto_common import (
    GetAutostartRet,
    GetXmlDescRet,
    IsActiveRet,
    IsPersistentRet,
    ListDefinedDomainsArgs,
    NamesRet,
    NonnullNetwork,
    NumRet,
)
from pyvirt.remote.protocol_core import (
    I,
    ListAllDomainsArgs,
    LookupByNameArgs,
    LookupByUuidArgs,
    NonnullString,
    S,
    U,
    Uuid,
    V,
    _p,
)
from pyvirt.rpc import xdr

# Records: typed as NamedTuples for mypy, built by rpc.record at run time (no typing
# import, a fifth of a NamedTuple's declaration cost: every async client and pyvirtd pays it).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple as Record

    from pyvirt.drivers.base import NetworkRef
else:
    from pyvirt.rpc.record import Record


NETWORK_LIST_MAX = 16384


class NetArgs(Record):
    net: NetworkRef


class NetRet(Record):
    net: NetworkRef


class NetFlagsArgs(Record):
    net: NetworkRef
    flags: int


class NetXmlArgs(Record):
    xml: str


class NetXmlFlagsArgs(Record):
    xml: str
    flags: int


class NetSetAutostartArgs(Record):
    net: NetworkRef
    autostart: int


class NetBridgeNameRet(Record):
    name: str


class ListAllNetworksRet(Record):
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
