"""Virtual networks in the asyncio API: ``conn.network_lookup_by_name(...)`` returns a
:class:`Network`. Mixed into :class:`pyvirt.aio.connection.Connection` as
:class:`NetworkConnMixin`.

Failures are :class:`pyvirt.errors.VirtError` with libvirt's codes; calls that change
anything are refused on a read-only connection (VIR_ERR_OPERATION_DENIED, VIR_FROM_NETWORK).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyvirt.aio.common import ConnPart, UuidHandle, raw_uuid, uuid_from_string, writable
from pyvirt.drivers.base import Driver, NetworkRef
from pyvirt.errors import ErrorDomain

if TYPE_CHECKING:
    from pyvirt.aio.connection import Connection

# VIR_CONNECT_LIST_NETWORKS_INACTIVE / _ACTIVE
_INACTIVE, _ACTIVE = 1, 2


def _writable(conn: Connection, api: str) -> Driver:
    return writable(conn, api, ErrorDomain.NETWORK)


class NetworkConnMixin(ConnPart):
    """Connection's network calls (virConnect*Network*, virNetworkLookupBy*, ...)."""

    async def list_all_networks(self, flags: int = 0) -> list[Network]:
        c = self._self()
        return [Network(c, r) for r in await c.driver.list_all_networks(flags)]

    async def list_networks(self) -> list[str]:
        return [r.name for r in await self._self().driver.list_all_networks(_ACTIVE)]

    async def list_defined_networks(self) -> list[str]:
        return [r.name for r in await self._self().driver.list_all_networks(_INACTIVE)]

    async def network_lookup_by_name(self, name: str) -> Network:
        c = self._self()
        return Network(c, await c.driver.network_lookup_by_name(name))

    async def network_lookup_by_uuid(self, uuid: bytes) -> Network:
        c = self._self()
        raw = raw_uuid(uuid, ErrorDomain.NETWORK)
        return Network(c, await c.driver.network_lookup_by_uuid(raw))

    async def network_lookup_by_uuid_string(self, uuid: str) -> Network:
        return await self.network_lookup_by_uuid(uuid_from_string(uuid, ErrorDomain.NETWORK))

    async def network_define_xml(self, xml: str, flags: int = 0) -> Network:
        c = self._self()
        api = "virNetworkDefineXMLFlags" if flags else "virNetworkDefineXML"
        return Network(c, await _writable(c, api).network_define_xml(xml, flags))

    async def network_create_xml(self, xml: str, flags: int = 0) -> Network:
        c = self._self()
        api = "virNetworkCreateXMLFlags" if flags else "virNetworkCreateXML"
        return Network(c, await _writable(c, api).network_create_xml(xml, flags))


class Network(UuidHandle[NetworkRef]):
    """A handle on a virtual network: its name and UUID as looked up (``name``, ``uuid``,
    ``uuid_string`` from :class:`UuidHandle`)."""

    def __repr__(self) -> str:
        return f"<Network {self.ref.name}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Network) and other.conn is self.conn and other.ref == self.ref

    def __hash__(self) -> int:
        return hash(self.ref)

    def _w(self, api: str) -> Driver:
        return _writable(self.conn, api)

    async def xml_desc(self, flags: int = 0) -> str:
        return await self.conn.driver.network_get_xml_desc(self.ref, flags)

    async def bridge_name(self) -> str:
        return await self.conn.driver.network_get_bridge_name(self.ref)

    async def is_active(self) -> bool:
        return await self.conn.driver.network_is_active(self.ref)

    async def is_persistent(self) -> bool:
        return await self.conn.driver.network_is_persistent(self.ref)

    async def autostart(self) -> bool:
        return await self.conn.driver.network_get_autostart(self.ref)

    async def set_autostart(self, autostart: bool) -> None:
        await self._w("virNetworkSetAutostart").network_set_autostart(self.ref, autostart)

    async def create(self) -> None:
        await self._w("virNetworkCreate").network_create(self.ref)

    async def destroy(self) -> None:
        await self._w("virNetworkDestroy").network_destroy(self.ref)

    async def undefine(self) -> None:
        await self._w("virNetworkUndefine").network_undefine(self.ref)
