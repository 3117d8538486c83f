"""Server side of the virtual network procedures: decoded args -> driver call -> ret struct.
Registered into ``handlers.HANDLERS`` when :mod:`pyvirt.remote.handlers` imports this.

A driver without networks (the QEMU driver today) raises libvirt's "not supported by the
connection driver" error from VIR_FROM_NETWORK; the calls that the Driver interface folds
into another one (the counts and name lists use list_all_networks) re-raise it under their
own API name, as libvirt names the call the client made.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, TypeVar

from pyvirt.errors import ErrorCode, ErrorDomain, VirtError, named_no_support
from pyvirt.remote import protocol as P
from pyvirt.remote.handlers import serves

if TYPE_CHECKING:
    from pyvirt.drivers.base import NetworkRef
    from pyvirt.remote.dispatch import RemoteSession

T = TypeVar("T")
_INACTIVE, _ACTIVE = 1, 2


async def _as(api: str, aw: Awaitable[T]) -> T:
    """A connection without networks names the call the client really made."""
    return await named_no_support(api, aw, ErrorDomain.NETWORK)


def _limit(n: int, what: str) -> None:
    if n > P.NETWORK_LIST_MAX:
        raise VirtError(f"{what} > REMOTE_NETWORK_LIST_MAX", ErrorCode.RPC, ErrorDomain.RPC)


async def _names(s: RemoteSession, flags: int, api: str) -> list[str]:
    return [n.name for n in await _as(api, s.drv.list_all_networks(flags))]


async def _listed(s: RemoteSession, flags: int, api: str, maxnames: int) -> P.NamesRet:
    """CONNECT_LIST(_DEFINED)_NETWORKS: at most ``maxnames`` names (over the protocol's
    limit is an RPC error, as libvirtd's)."""
    _limit(maxnames, "maxnames")
    return P.NamesRet((await _names(s, flags, api))[: max(maxnames, 0)])


@serves(P.CONNECT_LIST_ALL_NETWORKS)
async def list_all(s: RemoteSession, a: P.ListAllDomainsArgs) -> P.ListAllNetworksRet:
    nets: list[NetworkRef] = await s.drv.list_all_networks(a.flags)
    if len(nets) > P.NETWORK_LIST_MAX:
        raise VirtError(f"Too many networks '{len(nets)}' for limit '{P.NETWORK_LIST_MAX}'",
                        ErrorCode.RPC, ErrorDomain.RPC)
    return P.ListAllNetworksRet(nets if a.need_results else [], len(nets))


@serves(P.CONNECT_NUM_OF_NETWORKS)
async def num_active(s: RemoteSession, a: None) -> P.NumRet:
    return P.NumRet(len(await _names(s, _ACTIVE, "virConnectNumOfNetworks")))


@serves(P.CONNECT_NUM_OF_DEFINED_NETWORKS)
async def num_defined(s: RemoteSession, a: None) -> P.NumRet:
    return P.NumRet(len(await _names(s, _INACTIVE, "virConnectNumOfDefinedNetworks")))


@serves(P.CONNECT_LIST_NETWORKS)
async def list_active(s: RemoteSession, a: P.ListDefinedDomainsArgs) -> P.NamesRet:
    return await _listed(s, _ACTIVE, "virConnectListNetworks", a.maxnames)


@serves(P.CONNECT_LIST_DEFINED_NETWORKS)
async def list_defined(s: RemoteSession, a: P.ListDefinedDomainsArgs) -> P.NamesRet:
    return await _listed(s, _INACTIVE, "virConnectListDefinedNetworks", a.maxnames)


@serves(P.NETWORK_LOOKUP_BY_NAME)
async def by_name(s: RemoteSession, a: P.LookupByNameArgs) -> P.NetRet:
    return P.NetRet(await s.drv.network_lookup_by_name(a.name))


@serves(P.NETWORK_LOOKUP_BY_UUID)
async def by_uuid(s: RemoteSession, a: P.LookupByUuidArgs) -> P.NetRet:
    return P.NetRet(await s.drv.network_lookup_by_uuid(a.uuid))


@serves(P.NETWORK_DEFINE_XML)
async def define(s: RemoteSession, a: P.NetXmlArgs) -> P.NetRet:
    return P.NetRet(await s.drv.network_define_xml(a.xml, 0))


@serves(P.NETWORK_DEFINE_XML_FLAGS)
async def define_flags(s: RemoteSession, a: P.NetXmlFlagsArgs) -> P.NetRet:
    return P.NetRet(await _as("virNetworkDefineXMLFlags", s.drv.network_define_xml(a.xml, a.flags)))


@serves(P.NETWORK_CREATE_XML)
async def create_xml(s: RemoteSession, a: P.NetXmlArgs) -> P.NetRet:
    return P.NetRet(await s.drv.network_create_xml(a.xml, 0))


@serves(P.NETWORK_CREATE_XML_FLAGS)
async def create_xml_flags(s: RemoteSession, a: P.NetXmlFlagsArgs) -> P.NetRet:
    return P.NetRet(await _as("virNetworkCreateXMLFlags", s.drv.network_create_xml(a.xml, a.flags)))


@serves(P.NETWORK_UNDEFINE)
async def undefine(s: RemoteSession, a: P.NetArgs) -> None:
    await s.drv.network_undefine(a.net)


@serves(P.NETWORK_CREATE)
async def create(s: RemoteSession, a: P.NetArgs) -> None:
    await s.drv.network_create(a.net)


@serves(P.NETWORK_DESTROY)
async def destroy(s: RemoteSession, a: P.NetArgs) -> None:
    await s.drv.network_destroy(a.net)


@serves(P.NETWORK_GET_XML_DESC)
async def xml_desc(s: RemoteSession, a: P.NetFlagsArgs) -> P.GetXmlDescRet:
    return P.GetXmlDescRet(await s.drv.network_get_xml_desc(a.net, a.flags))


@serves(P.NETWORK_GET_BRIDGE_NAME)
async def bridge_name(s: RemoteSession, a: P.NetArgs) -> P.NetBridgeNameRet:
    return P.NetBridgeNameRet(await s.drv.network_get_bridge_name(a.net))


@serves(P.NETWORK_GET_AUTOSTART)
async def get_autostart(s: RemoteSession, a: P.NetArgs) -> P.GetAutostartRet:
    return P.GetAutostartRet(int(await s.drv.network_get_autostart(a.net)))


@serves(P.NETWORK_SET_AUTOSTART)
async def set_autostart(s: RemoteSession, a: P.NetSetAutostartArgs) -> None:
    await s.drv.network_set_autostart(a.net, bool(a.autostart))


@serves(P.NETWORK_IS_ACTIVE)
async def is_active(s: RemoteSession, a: P.NetArgs) -> P.IsActiveRet:
    return P.IsActiveRet(int(await s.drv.network_is_active(a.net)))


@serves(P.NETWORK_IS_PERSISTENT)
async def is_persistent(s: RemoteSession, a: P.NetArgs) -> P.IsPersistentRet:
    return P.IsPersistentRet(int(await s.drv.network_is_persistent(a.net)))
