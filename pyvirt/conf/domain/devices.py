"""Controllers, network interfaces, inputs, graphics, video, memballoon, rng and panic
devices, plus :class:`RawDeviceDef` for device families the model does not cover."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pyvirt.conf._xml import (
    Writer,
    attrs,
    bad_attr,
    check_attr,
    check_enum,
    esc,
    parse_int,
    write_raw,
)
from pyvirt.conf.domain.base import (
    DeviceDef,
    emit_extras,
    format_info,
    is_user_alias,
    parse_info,
)
from pyvirt.errors import ConfigUnsupported, ErrorDomain, InternalError, XMLError

if TYPE_CHECKING:
    from lxml import etree


def _kids(el: etree._Element) -> list[etree._Element]:
    return [c for c in el if isinstance(c.tag, str)]


# ---- controller ----------------------------------------------------------------------------

CONTROLLER_MODELS: dict[str, tuple[str, ...]] = {
    "usb": ("piix3-uhci", "piix4-uhci", "ehci", "ich9-ehci1", "ich9-uhci1", "ich9-uhci2",
            "ich9-uhci3", "vt82c686b-uhci", "pci-ohci", "nec-xhci", "qusb1", "qusb2", "qemu-xhci",
            "none"),
    "pci": ("pci-root", "pcie-root", "pci-bridge", "dmi-to-pci-bridge", "pcie-root-port",
            "pcie-switch-upstream-port", "pcie-switch-downstream-port", "pci-expander-bus",
            "pcie-expander-bus", "pcie-to-pci-bridge"),
    "scsi": ("auto", "buslogic", "lsilogic", "lsisas1068", "vmpvscsi", "ibmvscsi", "virtio-scsi",
             "lsisas1078", "virtio-transitional", "virtio-non-transitional", "ncr53c90",
             "am53c974", "dc390"),
    "virtio-serial": ("virtio", "virtio-transitional", "virtio-non-transitional"),
}
VIDEO_MODELS = ("default", "vga", "cirrus", "vmvga", "xen", "vbox", "qxl", "parallels", "virtio",
                "gop", "none", "bochs", "ramfb")
NET_MODELS = ("virtio", "virtio-transitional", "virtio-non-transitional", "e1000", "e1000e",
              "igb", "rtl8139", "netfront", "usb-net", "spapr-vlan", "lan9118", "scm91c111",
              "vlance", "vmxnet", "vmxnet2", "vmxnet3", "am79c970a", "am79c973", "82540em",
              "82545em", "82543gc")
INTERFACE_TYPES = ("user", "ethernet", "vhostuser", "server", "client", "mcast", "network",
                   "bridge", "internal", "direct", "hostdev", "udp", "vdpa", "null", "vds")

CONTROLLER_TYPES = ("ide", "fdc", "scsi", "sata", "virtio-serial", "ccid", "usb", "pci", "xenbus",
                    "isa")


@dataclass(slots=True, kw_only=True)
class ControllerDef(DeviceDef):
    type: str = "pci"
    index: int = -1  # -1: not given; post-parse picks the first unused index
    model: str | None = None
    ports: int | None = None
    vectors: int | None = None
    model_name: str | None = None  # <model name=.../> (PCI controllers)
    target_chassis_nr: int | None = None
    target_chassis: int | None = None
    target_port: int | None = None
    target_bus_nr: int | None = None
    target_index: int | None = None
    target_hotplug: str | None = None
    driver: dict[str, str] | None = None  # <driver queues=.../> attributes, in order


def parse_controller(el: etree._Element) -> ControllerDef:
    g = el.get
    ctype = g("type") or ""
    if ctype not in CONTROLLER_TYPES:
        raise bad_attr("type", "controller", ctype)
    models = CONTROLLER_MODELS.get(ctype)
    if models is not None:
        check_enum(g("model"), models, "Unknown model type '{}'")
    ctrl = ControllerDef(type=ctype, model=g("model"),
                         ports=parse_int(g("ports"), "ports"),
                         vectors=parse_int(g("vectors"), "vectors"))
    idx = g("index")
    if idx is not None:
        n = parse_int(idx, "index")
        if n is None or n < 0:
            raise XMLError(f"XML error: Invalid value for attribute 'index' in element "
                           f"'controller': '{idx}'. Expected non-negative value",
                           domain=ErrorDomain.XML)
        ctrl.index = n
    for c in _kids(el):
        if parse_info(c, ctrl):
            continue
        if c.tag == "model":
            ctrl.model_name = c.get("name")
        elif c.tag == "target":
            ctrl.target_chassis_nr = parse_int(c.get("chassisNr"), "chassisNr")
            ctrl.target_chassis = parse_int(c.get("chassis"), "chassis")
            ctrl.target_port = parse_int(c.get("port"), "port")
            ctrl.target_bus_nr = parse_int(c.get("busNr"), "busNr")
            ctrl.target_index = parse_int(c.get("index"), "index")
            ctrl.target_hotplug = c.get("hotplug")
            ctrl.extra += _kids(c) and [c]  # keep <node> etc. by keeping the whole target
        elif c.tag == "driver" and not len(c):
            ctrl.driver = {str(k): str(v) for k, v in c.attrib.items()}
        else:
            ctrl.extra.append(c)
    return ctrl


def format_controller(w: Writer, depth: int, ctrl: ControllerDef, inactive: bool) -> None:
    head = "<controller" + attrs(("type", ctrl.type), ("index", ctrl.index),
                                 ("model", ctrl.model), ("ports", ctrl.ports),
                                 ("vectors", ctrl.vectors))
    target_raw = [e for e in ctrl.extra if e.tag == "target"]
    has_target = target_raw or any(
        v is not None for v in (ctrl.target_chassis_nr, ctrl.target_chassis, ctrl.target_port,
                                ctrl.target_bus_nr, ctrl.target_index, ctrl.target_hotplug))
    body = (ctrl.driver or ctrl.model_name or has_target or ctrl.extra or ctrl.address
            or ctrl.boot_order or (ctrl.alias and (not inactive or is_user_alias(ctrl.alias))))
    if not body:
        w.line(depth, head + "/>")
        return
    w.line(depth, head + ">")
    d = depth + 1
    if ctrl.driver:
        w.empty(d, "driver", attrs(*ctrl.driver.items()))
    if ctrl.model_name is not None:
        w.empty(d, "model", attrs(("name", ctrl.model_name)))
    if target_raw:
        emit_extras(w, d, target_raw)
    elif has_target:
        port = None if ctrl.target_port is None else f"0x{ctrl.target_port:x}"
        w.empty(d, "target", attrs(("chassisNr", ctrl.target_chassis_nr),
                                   ("chassis", ctrl.target_chassis), ("port", port),
                                   ("busNr", ctrl.target_bus_nr), ("hotplug", ctrl.target_hotplug),
                                   ("index", ctrl.target_index)))
    emit_extras(w, d, [e for e in ctrl.extra if e.tag != "target"])
    format_info(w, d, ctrl, inactive)
    w.line(depth, "</controller>")


# ---- interface -----------------------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class InterfaceDef(DeviceDef):
    type: str = "network"  # network / bridge / user / ethernet / direct / ...
    mac: str | None = None
    mac_extra: dict[str, str] = field(default_factory=dict)  # type=, check=
    source_network: str | None = None
    source_bridge: str | None = None
    source_dev: str | None = None
    source_mode: str | None = None
    source_portgroup: str | None = None
    source_other: dict[str, str] = field(default_factory=dict)
    source_extra: list[etree._Element] = field(default_factory=list)
    target_dev: str | None = None
    target_managed: str | None = None
    model: str | None = None
    driver: dict[str, str] | None = None
    driver_extra: list[etree._Element] = field(default_factory=list)
    link_state: str | None = None
    mtu: int | None = None
    trust_guest_rx_filters: str | None = None
    managed: str | None = None


_NET_SRC_KNOWN = {"network", "bridge", "dev", "mode", "portgroup"}
# Autogenerated tap names are dropped from inactive XML (libvirt does the same).
_AUTO_TAP_PREFIXES = ("vnet", "macvtap", "macvlan", "vif")


def _valid_mac(mac: str) -> bool:
    parts = mac.split(":")
    return len(parts) == 6 and all(len(p) in (1, 2) and all(ch in "0123456789abcdefABCDEF"
                                                            for ch in p) for p in parts)


def parse_interface(el: etree._Element) -> InterfaceDef:
    check_attr(el.get("type"), INTERFACE_TYPES, "type", "interface")
    net = InterfaceDef(type=el.get("type") or "user", managed=el.get("managed"),
                       trust_guest_rx_filters=el.get("trustGuestRxFilters"))
    for c in _kids(el):
        if parse_info(c, net):
            continue
        tag = c.tag
        if tag == "mac":
            mac = c.get("address")
            if mac is not None:
                if not _valid_mac(mac):
                    raise XMLError(f"XML error: unable to parse mac address '{mac}'")
                mac = ":".join(f"{int(p, 16):02x}" for p in mac.split(":"))
                if int(mac[:2], 16) & 1:
                    raise XMLError(f"XML error: expected unicast mac address, found "
                                   f"multicast '{mac}'")
            net.mac = mac
            net.mac_extra = {str(k): str(v) for k, v in c.attrib.items() if k != "address"}
        elif tag == "source":
            g = c.get
            net.source_network, net.source_bridge = g("network"), g("bridge")
            net.source_dev, net.source_mode = g("dev"), g("mode")
            net.source_portgroup = g("portgroup")
            net.source_other = {str(k): str(v) for k, v in c.attrib.items()
                                if k not in _NET_SRC_KNOWN}
            net.source_extra = _kids(c)
        elif tag == "target":
            net.target_dev, net.target_managed = c.get("dev"), c.get("managed")
        elif tag == "model":
            net.model = c.get("type")
            if net.model is not None and net.model.lower() in NET_MODELS:
                net.model = net.model.lower()  # libvirt matches model names case-blind
        elif tag == "driver":
            net.driver = {str(k): str(v) for k, v in c.attrib.items()}
            net.driver_extra = _kids(c)
        elif tag == "link":
            net.link_state = c.get("state")
        elif tag == "mtu":
            net.mtu = parse_int(c.get("size"), "size")
        else:
            net.extra.append(c)
    if net.model == "virtio" and net.driver is not None:
        # libvirt reads these numbers only for virtio NICs
        for key in ("queues", "rx_queue_size", "tx_queue_size"):
            val = net.driver.get(key)
            if val is not None and not val.isdigit():
                raise XMLError(f"XML error: Invalid value for attribute '{key}' in element "
                               f"'driver': '{val}'. Expected non-negative integer value",
                               domain=ErrorDomain.XML)
    return net


_NET_BEFORE_MODEL = ("vlan", "virtualport", "bandwidth", "port", "ip", "route", "script",
                     "downscript", "backenddomain")
_NET_AFTER_MODEL = ("backend", "filterref", "tune", "teaming")
_NET_AFTER_LINK = ("coalesce", "rom")


def format_interface(w: Writer, depth: int, net: InterfaceDef, inactive: bool) -> None:
    w.line(depth, "<interface" + attrs(("type", net.type), ("managed", net.managed),
                                       ("trustGuestRxFilters", net.trust_guest_rx_filters)) + ">")
    d = depth + 1
    if net.mac is not None:
        w.empty(d, "mac", attrs(("address", net.mac), *net.mac_extra.items()))
    if net.type == "vhostuser":
        other = dict(net.source_other)
        src = attrs(("type", other.pop("type", None)), ("path", other.pop("path", None)),
                    ("mode", net.source_mode), *other.items())
    else:
        src = attrs(("network", net.source_network), ("portgroup", net.source_portgroup),
                    ("bridge", net.source_bridge), ("dev", net.source_dev),
                    ("mode", net.source_mode), *net.source_other.items())
    if net.source_extra:
        w.line(d, f"<source{src}>")
        emit_extras(w, d + 1, net.source_extra)
        w.line(d, "</source>")
    elif src:
        w.empty(d, "source", src)
    emit_extras(w, d, net.extra, _NET_BEFORE_MODEL)
    if net.target_dev is not None and not (inactive and net.target_dev.startswith(_AUTO_TAP_PREFIXES)):
        w.empty(d, "target", attrs(("dev", net.target_dev), ("managed", net.target_managed)))
    emit_extras(w, d, net.extra, ("guest",))
    if net.model is not None:
        w.empty(d, "model", attrs(("type", net.model)))
    if net.driver is not None:
        at = attrs(*net.driver.items())
        if net.driver_extra:
            w.line(d, f"<driver{at}>")
            emit_extras(w, d + 1, net.driver_extra)
            w.line(d, "</driver>")
        else:
            w.empty(d, "driver", at)
    emit_extras(w, d, net.extra, _NET_AFTER_MODEL)
    if net.link_state is not None:
        w.empty(d, "link", attrs(("state", net.link_state)))
    if net.mtu is not None:
        w.empty(d, "mtu", attrs(("size", net.mtu)))
    emit_extras(w, d, net.extra, _NET_AFTER_LINK)
    known = set(_NET_BEFORE_MODEL) | set(_NET_AFTER_MODEL) | set(_NET_AFTER_LINK) | {"guest"}
    emit_extras(w, d, [e for e in net.extra if e.tag not in known])
    format_info(w, d, net, inactive)
    w.line(depth, "</interface>")


# ---- input ---------------------------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class InputDef(DeviceDef):
    type: str = "mouse"  # mouse / tablet / keyboard / passthrough / evdev
    bus: str | None = None
    model: str | None = None


def parse_input(el: etree._Element) -> InputDef:
    inp = InputDef(type=el.get("type") or "", bus=el.get("bus"), model=el.get("model"))
    check_enum(inp.bus, ("ps2", "usb", "xen", "parallels", "virtio", "none"),
               "unknown input bus type '{}'")
    if inp.type not in ("mouse", "tablet", "keyboard", "passthrough", "evdev"):
        raise ConfigUnsupported(
            f"unsupported configuration: unknown input device type '{inp.type}'")
    for c in _kids(el):
        if not parse_info(c, inp):
            inp.extra.append(c)
    return inp


def format_input(w: Writer, depth: int, inp: InputDef, inactive: bool) -> None:
    head = "<input" + attrs(("type", inp.type), ("bus", inp.bus), ("model", inp.model))
    _close(w, depth, head, "input", inp, inactive)


def _close(w: Writer, depth: int, head: str, tag: str, dev: DeviceDef, inactive: bool,
           before: list[str] | None = None) -> None:
    """Emit a device whose body is only ``before`` lines, extras and the info block."""
    sub = Writer()
    for line in before or ():
        sub.line(depth + 1, line)
    emit_extras(sub, depth + 1, dev.extra)
    format_info(sub, depth + 1, dev, inactive)
    if not sub.lines:
        w.line(depth, head + "/>")
        return
    w.line(depth, head + ">")
    w.lines += sub.lines
    w.line(depth, f"</{tag}>")


# ---- graphics ------------------------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class GraphicsListenDef:
    type: str = "address"  # address / network / socket / none
    address: str | None = None
    network: str | None = None
    socket: str | None = None
    other: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True, kw_only=True)
class GraphicsDef(DeviceDef):
    type: str = "vnc"
    port: int | None = None
    tls_port: int | None = None
    autoport: bool | None = None
    websocket: int | None = None
    socket: str | None = None
    keymap: str | None = None
    passwd: str | None = None
    other: dict[str, str] = field(default_factory=dict)
    listens: list[GraphicsListenDef] = field(default_factory=list)

    @property
    def listen(self) -> str | None:
        """The first address listen (what the legacy ``listen`` attribute shows)."""
        for lst in self.listens:
            if lst.type == "address" and lst.address:
                return lst.address
        return None


_GR_KNOWN = {"type", "port", "tlsPort", "autoport", "websocket", "socket", "keymap", "passwd",
             "listen"}


def parse_graphics(el: etree._Element) -> GraphicsDef:
    g = el.get
    gr = GraphicsDef(type=g("type") or "", keymap=g("keymap"), passwd=g("passwd"),
                     socket=g("socket"))
    check_attr(gr.type, ("sdl", "vnc", "rdp", "desktop", "spice", "egl-headless", "dbus"),
               "type", "graphics")
    gr.port = parse_int(g("port"), "port")
    gr.tls_port = parse_int(g("tlsPort"), "tlsPort")
    gr.websocket = parse_int(g("websocket"), "websocket")
    auto = g("autoport")
    if auto is not None:
        if auto not in ("yes", "no"):
            raise XMLError(f"XML error: invalid autoport value '{auto}'")
        gr.autoport = auto == "yes"
    gr.other = {str(k): str(v) for k, v in el.attrib.items() if k not in _GR_KNOWN}
    for c in _kids(el):
        if parse_info(c, gr):
            continue
        if c.tag == "listen":
            lt = c.get("type") or "address"
            gr.listens.append(GraphicsListenDef(
                type=lt, address=c.get("address"), network=c.get("network"),
                socket=c.get("socket"),
                other={str(k): str(v) for k, v in c.attrib.items()
                       if k not in ("type", "address", "network", "socket")}))
        else:
            gr.extra.append(c)
    _graphics_defaults(gr, g("listen"))
    return gr


def _graphics_defaults(gr: GraphicsDef, listen_attr: str | None) -> None:
    if listen_attr is not None:
        first = next((x for x in gr.listens if x.type == "address"), None)
        if first is None:
            gr.listens.insert(0, GraphicsListenDef(type="address", address=listen_attr))
        elif first.address is None:
            first.address = listen_attr
        elif first.address != listen_attr:
            raise ConfigUnsupported(f"unsupported configuration: graphics 'listen' attribute "
                                    f"'{listen_attr}' must match "
                           f"'address' attribute of first listen element (found "
                           f"'{first.address}')")
    if gr.type not in ("vnc", "spice", "rdp"):
        return
    first = gr.listens[0] if gr.listens else None
    if (gr.type == "vnc" and gr.socket is None and first is not None and first.type == "socket"
            and first.socket):
        gr.socket = first.socket  # the legacy attribute mirrors the first socket listen
    for lst in gr.listens:
        if lst.type == "network" and lst.network is None:
            raise XMLError("XML error: 'network' attribute is required for listen type "
                           "'network'")
    if gr.type == "vnc" and gr.socket is not None:
        first = gr.listens[0] if gr.listens else None
        if first is not None and first.type == "socket" and first.socket not in (None, gr.socket):
            raise ConfigUnsupported(f"unsupported configuration: graphics 'socket' attribute "
                                    f"'{gr.socket}' must match "
                           f"'socket' attribute of first listen element (found "
                           f"'{first.socket}')")
        gr.listens = [GraphicsListenDef(type="socket", socket=gr.socket)]
        return
    if gr.port == -1:
        gr.autoport = True
    if gr.type == "vnc" and gr.autoport is None:
        gr.autoport = gr.port is None or gr.port == 0
    if gr.type == "spice":
        if gr.autoport is None and (gr.port or gr.tls_port):
            gr.autoport = False
        if not gr.port and not gr.tls_port and not gr.autoport and not gr.listens:
            # a spice server without ports listens nowhere: libvirt says so explicitly
            gr.listens = [GraphicsListenDef(type="none")]
            return
    if gr.type == "rdp":
        if gr.autoport is None:
            gr.autoport = True
        if gr.port is None:
            gr.port = 0
    if not gr.listens:
        gr.listens.append(GraphicsListenDef(type="address"))


def format_graphics(w: Writer, depth: int, gr: GraphicsDef, inactive: bool,
                    secure: bool = True) -> None:
    """``secure`` False drops the password, as libvirt does without VIR_DOMAIN_XML_SECURE."""
    pairs: list[tuple[str, object | None]] = [("type", gr.type)]
    # a socket or no listener at all means there is no TCP port to show
    portless = gr.socket is not None or (
        bool(gr.listens) and gr.listens[0].type in ("socket", "none"))
    if gr.type in ("vnc", "spice", "rdp") and not portless:
        port = gr.port
        autoport = gr.autoport
        if gr.type != "vnc":
            # spice/rdp show only real ports; autoport ones are dropped from inactive XML
            if gr.autoport and inactive:
                port = None
            tls = None if gr.autoport and inactive else gr.tls_port
            pairs.append(("port", port if port or gr.type == "rdp" else None))
            pairs.append(("tlsPort", tls if tls else None))
            if gr.type == "spice" and not gr.autoport and not gr.port and not gr.tls_port:
                autoport = None  # nothing to say about ports at all
        else:
            if gr.autoport and (inactive or not port or port < 0):
                port = -1
            pairs.append(("port", port))
        pairs.append(("autoport", autoport))
        if gr.websocket is not None:
            pairs.append(("websocket", gr.websocket))
    pairs.append(("socket", gr.socket))
    pairs.append(("listen", gr.listen if gr.socket is None else None))
    pairs += [("keymap", gr.keymap), ("passwd", gr.passwd if secure else None),
              *gr.other.items()]
    head = "<graphics" + attrs(*pairs)
    lines = []
    for lst in gr.listens:
        lines.append("<listen" + attrs(("type", lst.type), ("address", lst.address),
                                       ("network", lst.network), ("socket", lst.socket),
                                       *lst.other.items()) + "/>")
    _close(w, depth, head, "graphics", gr, inactive, lines)


# ---- video ---------------------------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class VideoDef(DeviceDef):
    model: str | None = None
    ram: int | None = None
    vram: int | None = None
    vram64: int | None = None
    vgamem: int | None = None
    heads: int | None = None
    primary: bool | None = None
    driver: dict[str, str] | None = None
    model_extra: list[etree._Element] = field(default_factory=list)


def parse_video(el: etree._Element) -> VideoDef:
    v = VideoDef()
    for c in _kids(el):
        if parse_info(c, v):
            continue
        if c.tag == "model":
            g = c.get
            v.model = g("type")
            check_enum(v.model, VIDEO_MODELS, "unknown video model '{}'")
            v.ram, v.vram = parse_int(g("ram"), "ram"), parse_int(g("vram"), "vram")
            v.vram64, v.vgamem = parse_int(g("vram64"), "vram64"), parse_int(g("vgamem"), "vgamem")
            v.heads = parse_int(g("heads"), "heads")
            p = g("primary")
            v.primary = True if p == "yes" else None
            v.model_extra = _kids(c)
        elif c.tag == "driver":
            v.driver = {str(k): str(val) for k, val in c.attrib.items()}
        else:
            v.extra.append(c)
    return v


def format_video(w: Writer, depth: int, v: VideoDef, inactive: bool) -> None:
    w.line(depth, "<video>")
    d = depth + 1
    if v.driver is not None:
        w.empty(d, "driver", attrs(*v.driver.items()))
    if v.model is not None:
        at = attrs(("type", v.model), ("ram", v.ram), ("vram", v.vram), ("vram64", v.vram64),
                   ("vgamem", v.vgamem), ("heads", v.heads), ("primary", v.primary))
        if v.model_extra:
            w.line(d, f"<model{at}>")
            emit_extras(w, d + 1, v.model_extra)
            w.line(d, "</model>")
        else:
            w.empty(d, "model", at)
    emit_extras(w, d, v.extra)
    format_info(w, d, v, inactive)
    w.line(depth, "</video>")


# ---- memballoon / rng / panic --------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class MemballoonDef(DeviceDef):
    model: str = "virtio"
    autodeflate: str | None = None
    free_page_reporting: str | None = None
    stats_period: int | None = None


def parse_memballoon(el: etree._Element) -> MemballoonDef:
    model = el.get("model")
    if model is None:
        raise XMLError("XML error: balloon memory must contain model name")
    check_attr(model, ("virtio", "xen", "none", "virtio-transitional", "virtio-non-transitional"),
               "model", "memballoon")
    mb = MemballoonDef(model=model, autodeflate=el.get("autodeflate"),
                       free_page_reporting=el.get("freePageReporting"))
    for c in _kids(el):
        if parse_info(c, mb):
            continue
        if c.tag == "stats":
            mb.stats_period = parse_int(c.get("period"), "period")
        else:
            mb.extra.append(c)
    return mb


def format_memballoon(w: Writer, depth: int, mb: MemballoonDef, inactive: bool) -> None:
    head = "<memballoon" + attrs(("model", mb.model), ("autodeflate", mb.autodeflate),
                                 ("freePageReporting", mb.free_page_reporting))
    # libvirt puts the info block (alias, address) first here, then stats and driver
    sub = Writer()
    format_info(sub, depth + 1, mb, inactive)
    if mb.stats_period is not None:
        sub.empty(depth + 1, "stats", attrs(("period", mb.stats_period)))
    emit_extras(sub, depth + 1, mb.extra)
    if not sub.lines:
        w.line(depth, head + "/>")
        return
    w.line(depth, head + ">")
    w.lines += sub.lines
    w.line(depth, "</memballoon>")


@dataclass(slots=True, kw_only=True)
class RngDef(DeviceDef):
    model: str = "virtio"
    rate_bytes: int | None = None
    rate_period: int | None = None
    backend_model: str = "random"
    backend_path: str | None = None
    backend_extra: list[etree._Element] = field(default_factory=list)
    backend_type: str | None = None  # egd: tcp/udp/unix...


def parse_rng(el: etree._Element) -> RngDef:
    rng = RngDef(model=el.get("model") or "")
    check_enum(rng.model, ("virtio", "virtio-transitional", "virtio-non-transitional"),
               "unknown RNG model '{}'")
    for c in _kids(el):
        if parse_info(c, rng):
            continue
        if c.tag == "rate":
            rng.rate_bytes = parse_int(c.get("bytes"), "bytes")
            rng.rate_period = parse_int(c.get("period"), "period")
        elif c.tag == "backend":
            rng.backend_model = c.get("model") or ""
            rng.backend_type = c.get("type")
            rng.backend_extra = _kids(c)
            if rng.backend_type in ("unix", "tcp"):
                _chardev_sources(c, rng.backend_type or "")
            text = (c.text or "").strip()
            rng.backend_path = text or None
            if rng.backend_model == "random" and rng.backend_path is None:
                rng.backend_path = "/dev/random"  # libvirt's default entropy source
        else:
            rng.extra.append(c)
    return rng


def format_rng(w: Writer, depth: int, rng: RngDef, inactive: bool) -> None:
    lines = []
    if rng.rate_bytes is not None:
        lines.append("<rate" + attrs(("bytes", rng.rate_bytes), ("period", rng.rate_period)) + "/>")
    bat = attrs(("model", rng.backend_model), ("type", rng.backend_type))
    if rng.backend_extra:
        sub = Writer()
        emit_extras(sub, 1, rng.backend_extra)
        lines.append(f"<backend{bat}>")
        lines += sub.lines
        lines.append("</backend>")
    elif rng.backend_path is not None:
        lines.append(f"<backend{bat}>{esc(rng.backend_path)}</backend>")
    else:
        lines.append(f"<backend{bat}/>")
    _close(w, depth, "<rng" + attrs(("model", rng.model)), "rng", rng, inactive, lines)


@dataclass(slots=True, kw_only=True)
class PanicDef(DeviceDef):
    model: str | None = None


def parse_panic(el: etree._Element) -> PanicDef:
    check_enum(el.get("model"), ("isa", "pseries", "hyperv", "s390", "pvpanic"),
               "unknown panic model '{}'")
    p = PanicDef(model=el.get("model"))
    for c in _kids(el):
        if not parse_info(c, p):
            p.extra.append(c)
    return p


def format_panic(w: Writer, depth: int, p: PanicDef, inactive: bool) -> None:
    _close(w, depth, "<panic" + attrs(("model", p.model)), "panic", p, inactive)


# ---- anything else -------------------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class RawDeviceDef(DeviceDef):
    """A device family the model does not cover (hostdev, filesystem, tpm, ...), kept
    verbatim so it survives a round trip. ``element`` is the original XML element."""

    tag: str = ""
    element: etree._Element | None = None


# devices whose type attribute is a character device backend (smartcard, redirdev)
_CHR_BACKED = ("smartcard", "redirdev")


def _chardev_sources(el: etree._Element, ctype: str) -> None:
    """A chardev backend kept verbatim still gets libvirt's checks and its default
    ``mode='connect'`` (placed first, where libvirt formats it)."""
    for src in el.iterchildren("source"):
        if ctype == "unix" and src.get("path") is None:
            raise InternalError("internal error: Missing source path attribute for char device",
                                domain=ErrorDomain.DOMAIN)
        if src.get("mode") is None:
            rest = list(src.attrib.items())
            src.attrib.clear()
            src.set("mode", "connect")
            for k, v in rest:
                src.set(k, v)


def _filesystem_defaults(el: etree._Element) -> None:
    """type='mount' and accessmode='passthrough' are always shown, first, in that order."""
    if el.get("type") is not None and el.get("accessmode") is not None:
        return
    if any(src.get("socket") is not None for src in el.iterchildren("source")):
        # virtiofs served by an external daemon: libvirt has no access mode to show
        if el.get("type") is None:
            el.set("type", "mount")
        return
    rest = [(k, v) for k, v in el.attrib.items() if k not in ("type", "accessmode")]
    ftype, mode = el.get("type", "mount"), el.get("accessmode", "passthrough")
    el.attrib.clear()
    el.set("type", ftype)
    el.set("accessmode", mode)
    for k, v in rest:
        el.set(k, v)


def parse_raw(el: etree._Element) -> RawDeviceDef:
    dev = RawDeviceDef(tag=str(el.tag), element=el)
    if el.tag == "filesystem":
        _filesystem_defaults(el)
        for attr in ("fmode", "dmode"):
            val = el.get(attr)
            if val is not None:
                try:
                    mode = int(val, 8)
                except ValueError:
                    mode = -1
                if not 0 <= mode <= 0o777:
                    raise XMLError(f"XML error: Invalid value for attribute '{attr}' in element "
                                   f"'filesystem': '{val}'. Expected non-negative integer value",
                                   domain=ErrorDomain.XML)
                el.set(attr, f"{mode:04o}")  # libvirt shows modes as 4 octal digits
    if el.tag in _CHR_BACKED and el.get("type") in ("unix", "tcp"):
        _chardev_sources(el, el.get("type") or "")
    for c in _kids(el):
        if c.tag == "alias":
            dev.alias = c.get("name")
        elif c.tag == "address":
            from pyvirt.conf.domain.address import parse_address

            dev.address = parse_address(c)
    return dev


def format_raw(w: Writer, depth: int, dev: RawDeviceDef, inactive: bool) -> None:
    if dev.element is None:
        return
    if inactive:
        el = dev.element
        for c in list(el):
            if c.tag == "alias" and not str(c.get("name", "")).startswith("ua-"):
                el = _copy_without(el, c)
        write_raw(w, depth, el, None)
    else:
        write_raw(w, depth, dev.element, None)


def _copy_without(el: etree._Element, drop: etree._Element) -> etree._Element:
    import copy

    new = copy.deepcopy(el)
    for c in new:
        if c.tag == drop.tag and c.get("name") == drop.get("name"):
            new.remove(c)
    return new
