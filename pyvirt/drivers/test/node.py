"""The test driver's in-memory host: domains, stock objects, node facts, node files.

One :class:`TestNode` is the whole state behind a ``test://`` URI. libvirt shares the
``test:///default`` node between every connection of a process and throws it away when the
last one closes; :class:`TestNodeHub` keeps that reference count.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pyvirt.drivers.base import DomainEvent, EventBus, NodeInfo
from pyvirt.drivers.test import domxml
from pyvirt.enums import DomainState, RunningReason
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

if TYPE_CHECKING:  # parsed only for node files and definitions, not on pyvirsh's list path
    import xml.etree.ElementTree as ET

    from pyvirt.drivers.test.snapshot import TestSnapshot

# The stock domain of test:///default, in the canonical form libvirt 9.0 prints for it.
STOCK_DOMAIN_XML = """<domain type='test'>
  <name>test</name>
  <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>
  <memory unit='KiB'>8388608</memory>
  <currentMemory unit='KiB'>2097152</currentMemory>
  <vcpu placement='static'>2</vcpu>
  <os>
    <type arch='i686'>hvm</type>
    <boot dev='hd'/>
  </os>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <source file='/guest/diskimage1'/>
      <target dev='vda' bus='virtio'/>
      <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
    </disk>
    <interface type='network'>
      <mac address='aa:bb:cc:dd:ee:ff'/>
      <source network='default'/>
      <target dev='testnet0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/>
    </interface>
    <memballoon model='virtio'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>
    </memballoon>
  </devices>
</domain>
"""

STOCK_NETWORK_XML = """<network>
  <name>default</name>
  <uuid>dd8fe884-6c02-601e-7551-cca97df1c5df</uuid>
  <forward mode='nat'/>
  <bridge name='virbr0' stp='on' delay='0'/>
  <ip address='192.168.122.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.122.2' end='192.168.122.254'/>
    </dhcp>
  </ip>
</network>
"""

STOCK_POOL_XML = """<pool type='dir'>
  <name>default-pool</name>
  <uuid>dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566</uuid>
  <capacity unit='bytes'>107374182400</capacity>
  <allocation unit='bytes'>0</allocation>
  <available unit='bytes'>107374182400</available>
  <source>
  </source>
  <target>
    <path>/default-pool</path>
  </target>
</pool>
"""

STOCK_INTERFACE_XML = """<interface type='ethernet' name='eth1'>
  <start mode='onboot'/>
  <mtu size='1492'/>
  <protocol family='ipv4'>
    <ip address='192.168.0.5' prefix='24'/>
    <route gateway='192.168.0.1'/>
  </protocol>
  <mac address='aa:bb:cc:dd:ee:ff'/>
</interface>
"""

STOCK_NODEDEV_XML = """<device>
  <name>computer</name>
  <capability type='system'>
    <hardware>
      <vendor>Libvirt</vendor>
      <version>Test driver</version>
      <serial>123456</serial>
      <uuid>11111111-2222-3333-4444-555555555555</uuid>
    </hardware>
    <firmware>
      <vendor>Libvirt</vendor>
      <version>Test Driver</version>
      <release_date>01/22/2007</release_date>
    </firmware>
  </capability>
</device>
"""

# The default node: 2 NUMA cells x 8 CPUs, 2 sockets, 2 cores, 2 threads, 1.4 GHz.
DEFAULT_NODE_INFO = NodeInfo(model="i686", memory=3145728, cpus=16, mhz=1400, nodes=2,
                             sockets=2, cores=2, threads=2)


# A frozenset of ints: `state in` it is one hash probe, where a tuple of enum members
# costs an enum attribute lookup each (~0.5 us: listAllDomains asks it per domain).
_INACTIVE_STATES = frozenset({int(DomainState.SHUTOFF), int(DomainState.NOSTATE)})


@dataclass
class TestDomainObj:
    """Runtime view of one test domain: definition, pending config, state + reason."""

    __test__ = False  # not a pytest class despite its name


    doc: domxml.DomainDoc
    state: DomainState = DomainState.SHUTOFF
    reason: int = 0
    id: int = -1
    persistent: bool = True
    autostart: bool = False
    # A config defined while running takes effect when the domain stops (libvirt's newDef).
    new_doc: domxml.DomainDoc | None = None
    managed_save: bool = False
    # Snapshot metadata kept in memory (drivers/test/snapshot.py): name -> TestSnapshot.
    snapshots: dict[str, TestSnapshot] = field(default_factory=dict)
    current_snapshot: str | None = None
    # Per-vCPU pinning (drivers/test/vcpu.py): vCPU index -> host CPU bitmap bytes.
    vcpu_pins: dict[int, bytes] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.state not in _INACTIVE_STATES


@dataclass
class StockObject:
    """A non-domain object kept as data (networks, pools, interfaces, node devices)."""

    name: str
    xml: str
    active: bool = True
    persistent: bool = True
    autostart: bool = False


@dataclass
class TestNode:

    __test__ = False  # not a pytest class despite its name

    node_info: NodeInfo = DEFAULT_NODE_INFO
    domains: list[TestDomainObj] = field(default_factory=list)
    networks: dict[str, StockObject] = field(default_factory=dict)
    pools: dict[str, StockObject] = field(default_factory=dict)
    interfaces: dict[str, StockObject] = field(default_factory=dict)
    node_devices: dict[str, StockObject] = field(default_factory=dict)
    next_id: int = 1
    # Event buses of the connections open on this node: an event reaches all of them.
    buses: list[EventBus] = field(default_factory=list)

    def publish(self, ev: DomainEvent) -> None:
        for bus in list(self.buses):
            bus.publish(ev)

    def start(self, obj: TestDomainObj, reason: int = RunningReason.BOOTED) -> None:
        obj.id = self.next_id
        self.next_id += 1
        obj.state = DomainState.RUNNING
        obj.reason = reason
        if obj.persistent and obj.new_doc is None:
            # libvirt keeps the persistent config as a copy made by formatting and
            # re-parsing the definition; the re-parse sees the filled-in disk buses, so its
            # disk order can differ from the live one. That copy is what --inactive shows.
            obj.new_doc = persistent_copy(obj.doc)

    def add_running(self, doc: domxml.DomainDoc) -> TestDomainObj:
        obj = TestDomainObj(doc)
        self.domains.append(obj)
        # Preloaded domains report "running (unknown)" in libvirt, not "booted".
        self.start(obj, RunningReason.UNKNOWN)
        return obj


def persistent_copy(doc: domxml.DomainDoc) -> domxml.DomainDoc:
    """Format and re-parse ``doc``; a not-yet-parsed lazy doc stays lazy (its source XML is
    canonical, so re-parsing it gives the same document)."""
    if isinstance(doc, domxml.LazyDomainDoc) and not doc.parsed:
        return doc.clone()
    copy = domxml.parse(doc.format(None))
    domxml.apply_test_defaults(copy)
    return copy


def stock_domain_doc() -> domxml.DomainDoc:
    """The stock domain ``test``, parsed lazily (its facts are those of STOCK_DOMAIN_XML)."""
    return domxml.LazyDomainDoc(STOCK_DOMAIN_XML, "test",
                                bytes.fromhex("6695eb01f6a4830479aa97f2502e193f"), "test",
                                8388608, 2097152, 2, "restart", "destroy")


def default_node() -> TestNode:
    node = TestNode()
    node.add_running(stock_domain_doc())
    node.networks["default"] = StockObject("default", STOCK_NETWORK_XML)
    node.pools["default-pool"] = StockObject("default-pool", STOCK_POOL_XML)
    node.interfaces["eth1"] = StockObject("eth1", STOCK_INTERFACE_XML)
    node.node_devices["computer"] = StockObject("computer", STOCK_NODEDEV_XML)
    return node


def _open_error(msg: str) -> VirtError:
    return VirtError(msg, ErrorCode.INTERNAL_ERROR, ErrorDomain.TEST)


def load_node_file(path: str) -> TestNode:
    """Build a node from a ``test:///PATH.xml`` file: ``<node>`` with inline or file= objects."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        raise VirtError(f"XML error: failed to parse xml document '{path}'",
                        ErrorCode.XML_ERROR, ErrorDomain.TEST) from None
    if root.tag != "node":
        raise _open_error("Root element is not 'node'")
    base = os.path.dirname(path)
    node = TestNode()
    cpu = root.find("cpu")
    if cpu is not None or root.find("memory") is not None:
        node.node_info = _node_info(root, node.node_info)
    for el in root.findall("domain"):
        _add_node_domain(node, _inline_or_file(el, base))
    for el in root.findall("network"):
        xml = _inline_or_file(el, base)
        name = ET.fromstring(xml).findtext("name") or ""
        node.networks[name] = StockObject(name, xml)
    for el in root.findall("pool"):
        xml = _inline_or_file(el, base)
        name = ET.fromstring(xml).findtext("name") or ""
        node.pools[name] = StockObject(name, xml)
    for el in root.findall("interface"):
        xml = _inline_or_file(el, base)
        name = ET.fromstring(xml).get("name") or ""
        node.interfaces[name] = StockObject(name, xml)
    for el in root.findall("device"):
        xml = _inline_or_file(el, base)
        name = ET.fromstring(xml).findtext("name") or ""
        node.node_devices[name] = StockObject(name, xml)
    return node


_TEST_NS = "{http://libvirt.org/schemas/domain/test/1.0}"


def _add_node_domain(node: TestNode, xml: str) -> None:
    """A node file's domain: running unless its test:runstate says otherwise."""
    import xml.etree.ElementTree as ET

    root = ET.fromstring(xml)
    runstate = root.findtext(f"{_TEST_NS}runstate")
    transient = root.find(f"{_TEST_NS}transient") is not None
    managed = root.find(f"{_TEST_NS}hasmanagedsave")
    for el in list(root):
        if el.tag.startswith(_TEST_NS):
            root.remove(el)
    doc = domxml.parse(ET.tostring(root, encoding="unicode"))
    domxml.apply_test_defaults(doc)
    state = DomainState(int(runstate.strip())) if runstate else DomainState.RUNNING
    if state == DomainState.SHUTOFF:
        obj = TestDomainObj(doc)
        node.domains.append(obj)
    else:
        obj = node.add_running(doc)
        obj.state = state
    obj.persistent = not transient
    obj.managed_save = managed is not None and (managed.text or "").strip() == "yes"


def _inline_or_file(el: ET.Element, base: str) -> str:
    import xml.etree.ElementTree as ET

    ref = el.get("file")
    if ref is None:
        # Inline definition: the element itself is the object (testnodeinline.xml style).
        inner = ET.Element(el.tag, el.attrib)
        inner[:] = list(el)
        inner.text = el.text
        return ET.tostring(inner, encoding="unicode")
    p = os.path.join(base, ref)  # an absolute ref wins, as in os.path.join
    try:
        with open(p, encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        raise VirtError(f"failed to read file '{p}': {os.strerror(e.errno or 0)}",
                        ErrorCode.SYSTEM_ERROR, ErrorDomain.TEST) from None


def _node_info(root: ET.Element, dflt: NodeInfo) -> NodeInfo:
    def num(xpath: str, cur: int) -> int:
        t = root.findtext(xpath)
        if t is None:
            return cur
        try:
            return int(t.strip())
        except ValueError:
            raise _open_error(f"invalid node {xpath}") from None

    nodes = num("cpu/nodes", dflt.nodes)
    sockets = num("cpu/sockets", dflt.sockets)
    cores = num("cpu/cores", dflt.cores)
    threads = num("cpu/threads", dflt.threads)
    cpus = min(num("cpu/active", nodes * sockets * cores * threads),
               nodes * sockets * cores * threads)
    model = (root.findtext("cpu/model") or dflt.model).strip()
    return NodeInfo(model=model, memory=num("memory", dflt.memory), cpus=cpus,
                    mhz=num("cpu/mhz", dflt.mhz), nodes=nodes, sockets=sockets, cores=cores,
                    threads=threads)


@dataclass
class _Entry:
    node: TestNode
    refs: int


@dataclass
class TestNodeHub:
    """Reference-counted nodes by URI path.

    libvirt shares one ``test:///default`` node between every connection in the process and
    resets it when the last connection closes, so the hub must outlive single connections;
    :data:`PROCESS_HUB` is the one instance the URI opener uses. Node files get a fresh node
    per connection, as in libvirt.
    """

    __test__ = False  # not a pytest class despite its name


    _entries: dict[str, _Entry] = field(default_factory=dict)

    def acquire(self, path: str) -> TestNode:
        if path != "/default":
            return load_node_file(path)
        entry = self._entries.get(path)
        if entry is None:
            entry = self._entries[path] = _Entry(default_node(), 0)
        entry.refs += 1
        return entry.node

    def release(self, path: str) -> None:
        entry = self._entries.get(path)
        if entry is None:
            return
        entry.refs -= 1
        if entry.refs <= 0:
            del self._entries[path]


PROCESS_HUB = TestNodeHub()
