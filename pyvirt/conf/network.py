"""<network> XML: parse -> defaults -> validate -> format, in libvirt 9.0's canonical layout.

Modelled structurally: the root's ipv6/trustGuestRxFilters, name, uuid, forward (mode, dev,
interfaces), bridge (name, zone, stp, delay, macTableManager), mtu, mac and the ip elements'
own attributes, which is what the virNetwork API reads (bridge name) and what libvirt
rewrites (uuid filled in, stp/delay defaults, forward dev <-> first interface). The other
children (metadata, nat, dns, dhcp, tftp, route, portgroup, bandwidth, vlan, ...) are kept
and re-indented in libvirt's element order, with attributes put in libvirt's order where
we know it. Elements libvirt 9.0 does not know (title, description) are dropped, as it does.
"""

from __future__ import annotations

import ipaddress
import uuid as uuidlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pyvirt.conf._xml import Writer, attrs, esc, write_raw
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

if TYPE_CHECKING:
    from lxml import etree

# VIR_NETWORK_FORWARD_* names; absent <forward> is "none" (an isolated network)
FORWARD_MODES = ("none", "nat", "route", "open", "bridge", "private", "vepa", "passthrough", "hostdev")
# Modes whose network has its own bridge device (libvirt formats stp/delay for them).
_OWN_BRIDGE = frozenset({"none", "nat", "route", "open"})

# Attribute order libvirt's formatter uses, for the elements we keep verbatim.
_ATTR_ORDER: dict[str, tuple[str, ...]] = {
    "range": ("start", "end"),
    "host": ("mac", "id", "name", "ip"),
    "port": ("start", "end"),
    "address": ("start", "end"),
    "route": ("family", "address", "netmask", "prefix", "gateway", "metric"),
    "lease": ("expiry", "unit"),
    "bootp": ("file", "server"),
    "forwarder": ("domain", "addr"),
    "srv": ("service", "protocol", "domain", "target", "port", "priority", "weight"),
    "txt": ("name", "value"),
    "domain": ("name", "localOnly", "register"),
    "dns": ("enable", "forwardPlainNames"),
}
# Top-level children after <mac>, in the order libvirt formats them.
_TAIL_ORDER = ("domain", "dns", "vlan", "bandwidth", "ip", "route", "virtualport", "portgroup", "port")
# Namespaced extensions libvirt keeps (formatted last, the prefix declared on <network>).
DNSMASQ_NS = "http://libvirt.org/schemas/network/dnsmasq/1.0"


def net_error(msg: str, code: ErrorCode = ErrorCode.XML_ERROR) -> VirtError:
    return VirtError(msg, code, ErrorDomain.NETWORK)


@dataclass(slots=True)
class NetIP:
    family: str | None = None
    address: str | None = None
    netmask: str | None = None
    prefix: str | None = None
    local_ptr: str | None = None
    children: list[etree._Element] = field(default_factory=list)  # tftp, dhcp


@dataclass(slots=True)
class NetworkDef:
    name: str
    uuid: str
    ipv6: str | None = None
    trust_guest_rx_filters: str | None = None
    metadata: etree._Element | None = None
    forward_mode: str = "none"
    forward_dev: str | None = None
    forward_managed: str | None = None
    forward_present: bool = False
    forward_interfaces: list[str] = field(default_factory=list)
    forward_other: list[etree._Element] = field(default_factory=list)  # driver, nat, pf, address
    bridge: str | None = None
    bridge_zone: str | None = None
    stp: bool = True
    delay: int = 0
    mac_table_manager: str | None = None
    mtu: str | None = None
    mac: str | None = None
    ips: list[NetIP] = field(default_factory=list)
    other: list[etree._Element] = field(default_factory=list)  # domain, dns, route, ...
    dnsmasq: list[etree._Element] = field(default_factory=list)  # <dnsmasq:options>

    @property
    def uuid_bytes(self) -> bytes:
        return uuidlib.UUID(self.uuid).bytes

    def format(self) -> str:
        w = Writer()
        ns = f" xmlns:dnsmasq='{DNSMASQ_NS}'" if self.dnsmasq else ""
        w.line(0, f"<network{ns}{attrs(('ipv6', self.ipv6), ('trustGuestRxFilters', self.trust_guest_rx_filters))}>")
        w.text(1, "name", self.name)
        w.text(1, "uuid", self.uuid)
        if self.metadata is not None:
            write_raw(w, 1, self.metadata, {}, dquote=True)
        self._format_forward(w)
        if self.forward_mode in _OWN_BRIDGE:
            w.empty(1, "bridge", attrs(("name", self.bridge), ("zone", self.bridge_zone),
                                       ("stp", "on" if self.stp else "off"), ("delay", self.delay),
                                       ("macTableManager", self.mac_table_manager)))
        elif self.bridge is not None or self.mac_table_manager is not None:
            w.empty(1, "bridge", attrs(("name", self.bridge), ("macTableManager", self.mac_table_manager)))
        if self.mtu is not None:
            w.empty(1, "mtu", attrs(("size", self.mtu)))
        if self.mac is not None:
            w.empty(1, "mac", attrs(("address", self.mac)))
        for tag in _TAIL_ORDER:
            if tag == "ip":
                for ip in self.ips:
                    self._format_ip(w, ip)
                continue
            for el in self.other:
                if el.tag == tag:
                    _write_ordered(w, 1, el)
        for el in self.dnsmasq:
            write_raw(w, 1, el, {"dnsmasq": DNSMASQ_NS})
        w.line(0, "</network>")
        return w.getvalue()

    def _format_forward(self, w: Writer) -> None:
        if not self.forward_present:
            return
        head = f"<forward{attrs(('dev', self.forward_dev), ('mode', self.forward_mode), ('managed', self.forward_managed))}"
        kids = [el for tag in ("driver", "nat", "pf") for el in self.forward_other if el.tag == tag]
        addrs = [el for el in self.forward_other if el.tag == "address"]
        if not kids and not self.forward_interfaces and not addrs:
            w.line(1, head + "/>")
            return
        w.line(1, head + ">")
        for el in kids:
            _write_ordered(w, 2, el)
        for dev in self.forward_interfaces:
            w.empty(2, "interface", attrs(("dev", dev)))
        for el in addrs:
            _write_ordered(w, 2, el)
        w.line(1, "</forward>")

    @staticmethod
    def _format_ip(w: Writer, ip: NetIP) -> None:
        # libvirt always writes <ip> with an end tag, even when it has no children
        w.line(1, "<ip" + attrs(("family", ip.family), ("address", ip.address), ("netmask", ip.netmask),
                                ("prefix", ip.prefix), ("localPtr", ip.local_ptr)) + ">")
        for el in ip.children:
            _write_ordered(w, 2, el)
        w.line(1, "</ip>")


def _write_ordered(w: Writer, depth: int, el: etree._Element) -> None:
    """Re-indent a kept element, attributes in libvirt's order for the tags we know (the
    others keep their input order)."""
    order = _ATTR_ORDER.get(str(el.tag), ())
    known = [(k, el.get(k)) for k in order if el.get(k) is not None]
    rest = [(str(k), v) for k, v in el.attrib.items() if str(k) not in order]
    head = f"<{el.tag}{attrs(*known, *rest)}"
    kids = [c for c in el if isinstance(c.tag, str)]
    text = (el.text or "").strip()
    if not kids:
        w.line(depth, f"{head}>{esc(text)}</{el.tag}>" if text else f"{head}/>")
        return
    w.line(depth, head + ">")
    for c in kids:
        _write_ordered(w, depth + 1, c)
    w.line(depth, f"</{el.tag}>")


def parse_network_xml(xml: str) -> NetworkDef:
    """Parse, default and validate a <network> definition (virNetworkDefParse)."""
    from pyvirt.conf.storage.common import parse_root

    try:
        root = parse_root(xml, "network", "network_definition")
    except VirtError as e:
        if e.code == ErrorCode.XML_DETAIL:  # libxml2's syntax error, reported by the network layer
            raise net_error(e.message, ErrorCode.XML_DETAIL) from None
        raise
    name = (root.findtext("name") or "").strip()
    if not name:
        raise net_error("missing name information", ErrorCode.NO_NAME)
    if "/" in name:
        raise VirtError("invalid char in name: /", ErrorCode.XML_DETAIL, ErrorDomain.XML)
    uuid_s = root.findtext("uuid")
    if uuid_s is None:
        uuid_s = str(uuidlib.uuid4())
    else:
        try:
            uuid_s = str(uuidlib.UUID(uuid_s.strip()))
        except ValueError:
            raise net_error("internal error: malformed uuid element", ErrorCode.INTERNAL_ERROR) from None
    # libvirt writes ipv6='yes' only (no means the default)
    ipv6 = "yes" if root.get("ipv6") == "yes" else None
    d = NetworkDef(name, uuid_s, ipv6=ipv6, trust_guest_rx_filters=root.get("trustGuestRxFilters"))
    d.metadata = root.find("metadata")
    _parse_forward(d, root.find("forward"))
    br = root.find("bridge")
    if br is not None:
        d.bridge = br.get("name")
        d.bridge_zone = br.get("zone")
        d.stp = br.get("stp") != "off"
        delay = br.get("delay")
        if delay is not None:
            try:
                d.delay = int(delay)
            except ValueError:
                raise net_error(f"XML error: Invalid delay value in network '{name}'") from None
        d.mac_table_manager = br.get("macTableManager")
    mtu = root.find("mtu")
    d.mtu = mtu.get("size") if mtu is not None else None
    mac = root.find("mac")
    d.mac = mac.get("address", "").lower() or None if mac is not None else None  # virMacAddrFormat
    for el in root.findall("ip"):
        d.ips.append(_parse_ip(el, name))
    d.other = [el for el in root if isinstance(el.tag, str) and el.tag in _TAIL_ORDER and el.tag != "ip"]
    d.dnsmasq = [el for el in root if isinstance(el.tag, str) and el.tag == f"{{{DNSMASQ_NS}}}options"]
    _validate(d, root)
    return d


def _validate(d: NetworkDef, root: etree._Element) -> None:
    name = d.name
    if d.forward_mode == "open":
        if not d.ips:
            raise net_error(f"XML error: open forwarding requested, but no IP address provided for network '{name}'")
        if d.forward_dev:
            raise net_error(f"XML error: forward dev not allowed for network '{name}' with forward mode='open'")
    seen: set[str] = set()
    for dev in d.forward_interfaces:
        if dev in seen:
            raise net_error(f"XML error: interface '{dev}' can only be listed once in network {name}")
        seen.add(dev)
    pci: set[str] = set()
    for el in d.forward_other:
        if el.tag != "address" or el.get("type") != "pci":
            continue
        try:
            addr = "{:04x}:{:02x}:{:02x}.{:x}".format(*(int(el.get(k) or "0", 0)
                                                       for k in ("domain", "bus", "slot", "function")))
        except ValueError:
            continue
        if addr in pci:
            raise net_error(f"XML error: PCI device '{addr}' can only be listed once in network {name}")
        pci.add(addr)
    dns = root.find("dns")
    if dns is not None and dns.get("enable") == "no" and any(isinstance(c.tag, str) for c in dns):
        raise net_error(f"XML error: Extra data in disabled network '{name}'")


def _parse_forward(d: NetworkDef, fw: etree._Element | None) -> None:
    if fw is None:
        return
    d.forward_present = True
    mode = fw.get("mode") or "nat"
    if mode not in FORWARD_MODES or mode == "none":
        raise net_error(f"unsupported configuration: unknown forwarding type '{mode}'",
                        ErrorCode.CONFIG_UNSUPPORTED)
    d.forward_mode = mode
    if mode == "hostdev" and fw.get("managed") == "yes":
        d.forward_managed = "yes"
    d.forward_interfaces = [i.get("dev") or "" for i in fw.findall("interface")]
    dev = fw.get("dev")
    # libvirt keeps the two in step: a dev= becomes the first <interface>, and the first
    # <interface> is the dev
    if dev and not d.forward_interfaces:
        d.forward_interfaces = [dev]
    d.forward_dev = dev or (d.forward_interfaces[0] if d.forward_interfaces else None)
    d.forward_other = [el for el in fw if isinstance(el.tag, str) and el.tag in ("driver", "nat", "pf", "address")]


def _parse_ip(el: etree._Element, name: str) -> NetIP:
    addr = el.get("address")
    if addr is not None:
        try:
            ipaddress.ip_address(addr)
        except ValueError:
            raise net_error(f"XML error: Invalid address '{addr}' in network '{name}'") from None
    kids = [c for tag in ("tftp", "dhcp") for c in el.findall(tag)]
    return NetIP(el.get("family"), addr, el.get("netmask"), el.get("prefix"), el.get("localPtr"), kids)
