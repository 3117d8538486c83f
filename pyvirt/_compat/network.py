"""virNetwork of the libvirt-python facade, and the network methods of virConnect (mixed into
it by :mod:`pyvirt._compat.objects`). Thin wrappers on :mod:`pyvirt.aio.network`."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from pyvirt._compat.errors import call
from pyvirt._compat.handle import UuidObjHandle
from pyvirt._compat.handle import run_conn as _run
from pyvirt.errors import ErrorDomain, named_no_support

if TYPE_CHECKING:
    from pyvirt._compat.objects import virConnect
    from pyvirt.aio.network import Network

T = TypeVar("T")


def _vc(obj: object) -> virConnect:
    return cast("virConnect", obj)


async def _as(api: str, aw: Awaitable[T]) -> T:
    """A connection without networks names the call the client really made."""
    return await named_no_support(api, aw, ErrorDomain.NETWORK)


class NetworkConnMixin:
    """virConnect's network calls (libvirt-python names and return values)."""

    def listAllNetworks(self, flags: int = 0) -> list[virNetwork]:
        c = _vc(self)
        return [virNetwork(c, n) for n in _run(c, "virConnectListAllNetworks", lambda a: a.list_all_networks(flags))]

    def listNetworks(self) -> list[str]:
        api = "virConnectNumOfNetworks"
        return _run(_vc(self), "virConnectListNetworks", lambda a: _as(api, a.list_networks()))

    def listDefinedNetworks(self) -> list[str]:
        api = "virConnectNumOfDefinedNetworks"
        return _run(_vc(self), "virConnectListDefinedNetworks", lambda a: _as(api, a.list_defined_networks()))

    def numOfNetworks(self) -> int:
        api = "virConnectNumOfNetworks"
        return len(_run(_vc(self), api, lambda a: _as(api, a.list_networks())))

    def numOfDefinedNetworks(self) -> int:
        api = "virConnectNumOfDefinedNetworks"
        return len(_run(_vc(self), api, lambda a: _as(api, a.list_defined_networks())))

    def networkLookupByName(self, name: str) -> virNetwork:
        c = _vc(self)
        return virNetwork(c, _run(c, "virNetworkLookupByName", lambda a: a.network_lookup_by_name(name)))

    def networkLookupByUUID(self, uuid: bytes) -> virNetwork:
        c = _vc(self)
        return virNetwork(c, _run(c, "virNetworkLookupByUUID", lambda a: a.network_lookup_by_uuid(uuid)))

    def networkLookupByUUIDString(self, uuidstr: str) -> virNetwork:
        c = _vc(self)
        return virNetwork(c, _run(c, "virNetworkLookupByUUIDString",
                                  lambda a: a.network_lookup_by_uuid_string(uuidstr)))

    def networkDefineXML(self, xml: str) -> virNetwork:
        c = _vc(self)
        return virNetwork(c, _run(c, "virNetworkDefineXML", lambda a: a.network_define_xml(xml)))

    def networkDefineXMLFlags(self, xml: str, flags: int = 0) -> virNetwork:
        c = _vc(self)
        return virNetwork(c, _run(c, "virNetworkDefineXMLFlags", lambda a: a.network_define_xml(xml, flags)))

    def networkCreateXML(self, xmlDesc: str) -> virNetwork:
        c = _vc(self)
        return virNetwork(c, _run(c, "virNetworkCreateXML", lambda a: a.network_create_xml(xmlDesc)))

    def networkCreateXMLFlags(self, xmlDesc: str, flags: int = 0) -> virNetwork:
        c = _vc(self)
        return virNetwork(c, _run(c, "virNetworkCreateXMLFlags", lambda a: a.network_create_xml(xmlDesc, flags)))


class virNetwork(UuidObjHandle["Network"]):
    _o: Network  # connect(), name(), UUID(), UUIDString(): UuidObjHandle

    def XMLDesc(self, flags: int = 0) -> str:
        return self._c("virNetworkGetXMLDesc", self._o.xml_desc(flags))

    def bridgeName(self) -> str:
        return self._c("virNetworkGetBridgeName", self._o.bridge_name())

    def isActive(self) -> int:
        return int(self._c("virNetworkIsActive", self._o.is_active()))

    def isPersistent(self) -> int:
        return int(self._c("virNetworkIsPersistent", self._o.is_persistent()))

    def autostart(self) -> int:
        return int(self._c("virNetworkGetAutostart", self._o.autostart()))

    def setAutostart(self, autostart: int) -> int:
        return self._ok("virNetworkSetAutostart", self._o.set_autostart(bool(autostart)))

    def create(self) -> int:
        return self._ok("virNetworkCreate", self._o.create())

    def destroy(self) -> int:
        return self._ok("virNetworkDestroy", self._o.destroy())

    def undefine(self) -> int:
        return self._ok("virNetworkUndefine", self._o.undefine())


class ScreenshotDomainMixin:
    """virDomain.screenshot: the MIME type; the image arrives on ``stream``."""

    def screenshot(self, stream: Any, screen: int, flags: int = 0) -> str | None:
        dom: Any = self  # a virDomain (objects.py): its aio Domain is _dom
        got: tuple[str | None, Any] = call("virDomainScreenshot", dom._dom.screenshot(screen, flags),
                                           dom._conn._core.inline)
        stream._attach(got[1])
        return got[0]
