"""Virtual networks of the test driver (test:///...), as libvirt 9.0's test driver keeps them:
definitions only (no bridge, dnsmasq or firewall), the stock ``default`` network active and
persistent, node-file networks as given. Semantics checked with python3-libvirt and virsh on
``test:///default``: destroy does not check that the network runs, autostart may be set on a
transient network, a transient network vanishes when destroyed, a definition given while the
network runs is kept aside and never shown.

Every method completes without suspending: pyvirsh drives the test driver without a loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyvirt.drivers.base import NetworkRef
from pyvirt.drivers.test.mixin import driver_error as _err
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

if TYPE_CHECKING:  # the XML model (lxml) loads on the first network call, not with the driver
    from pyvirt.conf.network import NetworkDef

# VIR_CONNECT_LIST_NETWORKS_*
_INACTIVE, _ACTIVE, _PERSISTENT, _TRANSIENT, _AUTOSTART, _NO_AUTOSTART = 1, 2, 4, 8, 16, 32


class NetObj:
    """One network: the live (or only) definition, a pending persistent one, flags."""

    __slots__ = ("active", "autostart", "defn", "new_defn", "persistent")

    def __init__(self, defn: NetworkDef, active: bool, persistent: bool, autostart: bool = False) -> None:
        self.defn = defn
        self.new_defn: NetworkDef | None = None
        self.active = active
        self.persistent = persistent
        self.autostart = autostart

    def ref(self) -> NetworkRef:
        return NetworkRef(self.defn.name, self.defn.uuid_bytes)

    def matches(self, flags: int) -> bool:
        """Each given group of VIR_CONNECT_LIST_NETWORKS_* bits must admit the network."""
        groups = ((_ACTIVE, _INACTIVE, self.active), (_PERSISTENT, _TRANSIENT, self.persistent),
                  (_AUTOSTART, _NO_AUTOSTART, self.autostart))
        return all(not flags & (yes | no) or flags & (yes if val else no) for yes, no, val in groups)


class NetworkState:
    """All networks of one test node, in definition order (libvirt lists them unsorted)."""

    __slots__ = ("nets",)

    def __init__(self) -> None:
        self.nets: list[NetObj] = []

    @classmethod
    def from_stock(cls, stock: dict[str, Any]) -> NetworkState:
        from pyvirt.conf.network import parse_network_xml

        st = cls()
        for so in stock.values():
            try:
                defn = parse_network_xml(so.xml)
            except VirtError:
                continue
            st.nets.append(NetObj(defn, so.active, so.persistent, so.autostart))
        return st

    def by_name(self, name: str) -> NetObj | None:
        return next((n for n in self.nets if n.defn.name == name), None)

    def by_uuid(self, uuid: str) -> NetObj | None:
        return next((n for n in self.nets if n.defn.uuid == uuid), None)

    def assign(self, defn: NetworkDef, live: bool) -> NetObj:
        """Add or update from a new definition (virNetworkObjAssignDef): same UUID updates
        (the running config when ``live``, else the persistent one), a clash is an error."""
        obj = self.by_uuid(defn.uuid)
        if obj is not None:
            if obj.defn.name != defn.name:
                raise _err(ErrorCode.OPERATION_FAILED, f"operation failed: network '{obj.defn.name}' "
                           f"is already defined with uuid {defn.uuid}", ErrorDomain.NETWORK)
            if live:
                if obj.active:
                    raise _err(ErrorCode.OPERATION_INVALID,
                               f"Requested operation is not valid: network is already active as "
                               f"'{obj.defn.name}'", ErrorDomain.NETWORK)
                if obj.persistent and obj.new_defn is None:
                    obj.new_defn = obj.defn
                obj.defn = defn
            elif obj.active:
                obj.new_defn = defn
            else:
                obj.defn = defn
            return obj
        clash = self.by_name(defn.name)
        if clash is not None:
            raise _err(ErrorCode.OPERATION_FAILED, f"operation failed: network '{defn.name}' already "
                       f"exists with uuid {clash.defn.uuid}", ErrorDomain.NETWORK)
        obj = NetObj(defn, active=False, persistent=not live)
        self.nets.append(obj)
        return obj


class TestNetworkMixin:
    """The Driver's network methods over the connection's test node."""

    if TYPE_CHECKING:  # TestDriver's

        @property
        def node(self) -> Any: ...

    def _nets(self) -> NetworkState:
        node = self.node
        # one network state per test node, shared by its connections like the node itself;
        # kept in the node's __dict__ so the node type needs no network field
        st: NetworkState | None = vars(node).get("network_state")
        if st is None:
            st = NetworkState.from_stock(node.networks)
            vars(node)["network_state"] = st
        return st

    def _net(self, ref: NetworkRef) -> NetObj:
        # calls on a network handle find it by UUID, as libvirt's test driver does
        import uuid as uuidlib

        s = str(uuidlib.UUID(bytes=bytes(ref.uuid)))
        obj = self._nets().by_uuid(s)
        if obj is None:
            raise _err(ErrorCode.NO_NETWORK, f"Network not found: no network with matching uuid '{s}'")
        return obj

    async def list_all_networks(self, flags: int = 0) -> list[NetworkRef]:
        return [n.ref() for n in self._nets().nets if n.matches(flags)]

    async def network_lookup_by_name(self, name: str) -> NetworkRef:
        obj = self._nets().by_name(name)
        if obj is None:
            raise _err(ErrorCode.NO_NETWORK, f"Network not found: no network with matching name '{name}'")
        return obj.ref()

    async def network_lookup_by_uuid(self, uuid: bytes) -> NetworkRef:
        return self._net(NetworkRef("", uuid)).ref()

    async def network_define_xml(self, xml: str, flags: int = 0) -> NetworkRef:
        from pyvirt.conf.network import parse_network_xml

        if flags & ~1:  # VIR_NETWORK_DEFINE_VALIDATE only
            raise _err(ErrorCode.INVALID_ARG, f"unsupported flags (0x{flags & ~1:x}) in function testNetworkDefineXML")
        obj = self._nets().assign(parse_network_xml(xml), live=False)
        obj.persistent = True
        return obj.ref()

    async def network_create_xml(self, xml: str, flags: int = 0) -> NetworkRef:
        from pyvirt.conf.network import parse_network_xml

        if flags & ~1:  # VIR_NETWORK_CREATE_VALIDATE only
            raise _err(ErrorCode.INVALID_ARG, f"unsupported flags (0x{flags & ~1:x}) in function testNetworkCreateXML")
        obj = self._nets().assign(parse_network_xml(xml), live=True)
        obj.active = True
        return obj.ref()

    async def network_undefine(self, net: NetworkRef) -> None:
        obj = self._net(net)
        if obj.active:
            raise _err(ErrorCode.OPERATION_INVALID,
                       f"Requested operation is not valid: Network '{obj.defn.name}' is still running")
        self._nets().nets.remove(obj)

    async def network_create(self, net: NetworkRef) -> None:
        obj = self._net(net)
        if obj.active:
            raise _err(ErrorCode.OPERATION_INVALID,
                       f"Requested operation is not valid: Network '{obj.defn.name}' is already running")
        obj.active = True

    async def network_destroy(self, net: NetworkRef) -> None:
        # libvirt's test driver neither checks that it runs nor applies a definition given
        # meanwhile (that stays pending: XMLDesc keeps showing the one it ran with)
        obj = self._net(net)
        obj.active = False
        if not obj.persistent:
            self._nets().nets.remove(obj)

    async def network_get_xml_desc(self, net: NetworkRef, flags: int = 0) -> str:
        obj = self._net(net)
        if flags:
            raise _err(ErrorCode.INVALID_ARG, f"unsupported flags (0x{flags:x}) in function testNetworkGetXMLDesc")
        return obj.defn.format()

    async def network_get_bridge_name(self, net: NetworkRef) -> str:
        obj = self._net(net)
        if not obj.defn.bridge:
            raise _err(ErrorCode.INTERNAL_ERROR,
                       f"internal error: network '{obj.defn.name}' does not have a bridge name.")
        return obj.defn.bridge

    async def network_get_autostart(self, net: NetworkRef) -> bool:
        return self._net(net).autostart

    async def network_set_autostart(self, net: NetworkRef, autostart: bool) -> None:
        self._net(net).autostart = autostart

    async def network_is_active(self, net: NetworkRef) -> bool:
        return self._net(net).active

    async def network_is_persistent(self, net: NetworkRef) -> bool:
        return self._net(net).persistent
