"""Client side of the virtual network procedures, mixed into RemoteDriver."""

from __future__ import annotations

from pyvirt.drivers.base import NetworkRef
from pyvirt.remote import protocol as P
from pyvirt.remote.client_mixin import RemoteMixin


class RemoteNetworkMixin(RemoteMixin):
    async def list_all_networks(self, flags: int = 0) -> list[NetworkRef]:
        return (await self._call(P.CONNECT_LIST_ALL_NETWORKS, P.ListAllDomainsArgs(1, flags))).nets

    async def network_lookup_by_name(self, name: str) -> NetworkRef:
        return (await self._call(P.NETWORK_LOOKUP_BY_NAME, P.LookupByNameArgs(name))).net

    async def network_lookup_by_uuid(self, uuid: bytes) -> NetworkRef:
        return (await self._call(P.NETWORK_LOOKUP_BY_UUID, P.LookupByUuidArgs(uuid))).net

    async def network_define_xml(self, xml: str, flags: int = 0) -> NetworkRef:
        if flags:
            return (await self._call(P.NETWORK_DEFINE_XML_FLAGS, P.NetXmlFlagsArgs(xml, flags))).net
        return (await self._call(P.NETWORK_DEFINE_XML, P.NetXmlArgs(xml))).net

    async def network_create_xml(self, xml: str, flags: int = 0) -> NetworkRef:
        if flags:
            return (await self._call(P.NETWORK_CREATE_XML_FLAGS, P.NetXmlFlagsArgs(xml, flags))).net
        return (await self._call(P.NETWORK_CREATE_XML, P.NetXmlArgs(xml))).net

    async def network_undefine(self, net: NetworkRef) -> None:
        await self._call(P.NETWORK_UNDEFINE, P.NetArgs(net))

    async def network_create(self, net: NetworkRef) -> None:
        await self._call(P.NETWORK_CREATE, P.NetArgs(net))

    async def network_destroy(self, net: NetworkRef) -> None:
        await self._call(P.NETWORK_DESTROY, P.NetArgs(net))

    async def network_get_xml_desc(self, net: NetworkRef, flags: int = 0) -> str:
        return (await self._call(P.NETWORK_GET_XML_DESC, P.NetFlagsArgs(net, flags))).xml

    async def network_get_bridge_name(self, net: NetworkRef) -> str:
        return (await self._call(P.NETWORK_GET_BRIDGE_NAME, P.NetArgs(net))).name

    async def network_get_autostart(self, net: NetworkRef) -> bool:
        return bool((await self._call(P.NETWORK_GET_AUTOSTART, P.NetArgs(net))).autostart)

    async def network_set_autostart(self, net: NetworkRef, autostart: bool) -> None:
        await self._call(P.NETWORK_SET_AUTOSTART, P.NetSetAutostartArgs(net, int(autostart)))

    async def network_is_active(self, net: NetworkRef) -> bool:
        return bool((await self._call(P.NETWORK_IS_ACTIVE, P.NetArgs(net))).active)

    async def network_is_persistent(self, net: NetworkRef) -> bool:
        return bool((await self._call(P.NETWORK_IS_PERSISTENT, P.NetArgs(net))).persistent)
