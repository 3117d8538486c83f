"""XML text -> DomainDef (no defaults yet: see postparse)."""

from __future__ import annotations

from lxml import etree

from pyvirt.conf._xml import parse_int, scale_to_kib
from pyvirt.conf.domain import DevicesDef, DomainDef, DomainType, LifecycleAction
from pyvirt.conf.domain.chardev import ChardevKind, parse_chardev
from pyvirt.conf.domain.devices import (
    parse_controller,
    parse_graphics,
    parse_input,
    parse_interface,
    parse_memballoon,
    parse_panic,
    parse_raw,
    parse_rng,
    parse_video,
)
from pyvirt.conf.domain.disk import parse_disk
from pyvirt.conf.domain.general import (
    parse_clock,
    parse_cpu,
    parse_cputune,
    parse_features,
    parse_os,
    parse_vcpu,
)
from pyvirt.errors import (
    ConfigUnsupported,
    ErrorCode,
    ErrorDomain,
    InternalError,
    VirtError,
    XMLError,
)


def _parser() -> etree.XMLParser:
    # A parser per call: lxml parser objects must not be shared between threads (the daemon
    # parses on several), and one costs half a microsecond. Entities and network access are
    # off: definitions come from untrusted clients.
    return etree.XMLParser(remove_blank_text=True, remove_comments=True, resolve_entities=False,
                           no_network=True, huge_tree=False)

# Elements libvirt knows at the top level that we keep verbatim (canonical order, see format).
TOP_ORDER = ("name", "uuid", "genid", "title", "description", "metadata", "maxMemory", "memory",
             "currentMemory", "blkiotune", "memtune", "memoryBacking", "vcpu", "vcpus",
             "iothreads", "iothreadids", "defaultiothread", "cputune", "numatune", "resource",
             "sysinfo", "bootloader", "bootloader_args", "os", "idmap", "features", "cpu",
             "clock", "on_poweroff", "on_reboot", "on_crash", "on_lockfailure", "pm", "perf",
             "devices", "seclabel", "keywrap", "launchSecurity")


def _root(xml: str) -> etree._Element:
    try:
        root = etree.fromstring(xml.encode() if isinstance(xml, str) else xml, _parser())
    except etree.XMLSyntaxError as e:
        raise VirtError(f"(domain_definition):{e.lineno}: {e.msg}", ErrorCode.XML_DETAIL,
                        ErrorDomain.DOMAIN) from None
    if root.tag != "domain":
        raise XMLError(f"XML error: unexpected root element <{root.tag}>, expecting <domain>")
    return root


def _text(el: etree._Element) -> str:
    return (el.text or "").strip()


def parse_domain_xml(xml: str) -> DomainDef:
    root = _root(xml)
    dtype_s = root.get("type")
    if dtype_s is None:
        raise InternalError("internal error: missing domain type attribute",
                            domain=ErrorDomain.DOMAIN)
    try:
        dtype = DomainType(dtype_s)
    except ValueError:
        raise ConfigUnsupported(f"unsupported configuration: invalid domain type {dtype_s}") from None
    d = DomainDef(type=dtype, name="")
    idv = root.get("id")
    if idv is not None:
        d.id = parse_int(idv, "id") or 0
    name = None
    memory = None
    for c in root:
        tag = c.tag
        if not isinstance(tag, str):
            continue
        if tag == "name":
            name = _text(c)
        elif tag == "uuid":
            d.uuid = _text(c)
        elif tag == "title":
            d.title = c.text or ""
        elif tag == "description":
            d.description = c.text or ""
        elif tag == "metadata":
            d.metadata = c
        elif tag == "genid":
            d.genid = _text(c)
        elif tag == "memory":
            memory = scale_to_kib(_text(c), c.get("unit"), "./memory[1]")
            d.memory_kib = memory
            d.memory_dump_core = c.get("dumpCore")
        elif tag == "currentMemory":
            d.current_memory_kib = scale_to_kib(_text(c), c.get("unit"), "./currentMemory[1]")
        elif tag == "maxMemory":
            d.max_memory_kib = scale_to_kib(_text(c), c.get("unit"), "./maxMemory[1]")
            d.max_memory_slots = parse_int(c.get("slots"), "slots")
        elif tag == "vcpu":
            d.vcpu = parse_vcpu(c)
        elif tag == "cputune":
            d.cputune = parse_cputune(c)
        elif tag == "os":
            d.os = parse_os(c)
        elif tag == "features":
            d.features = parse_features(c)
        elif tag == "cpu":
            d.cpu = parse_cpu(c)
        elif tag == "clock":
            d.clock = parse_clock(c)
        elif tag in ("on_poweroff", "on_reboot", "on_crash"):
            val = _text(c)
            try:
                setattr(d, tag, LifecycleAction(val))
            except ValueError:
                raise ConfigUnsupported(
                    f"unsupported configuration: unknown {tag} action: {val}") from None
        elif tag == "devices":
            d.devices = parse_devices(c)
        elif tag in TOP_ORDER or c.prefix is not None or str(tag).startswith("{"):
            d.extra.append(c)
        # anything else is unknown to libvirt too: dropped, as libvirt does
    if not name:
        raise VirtError("missing name information", ErrorCode.NO_NAME, ErrorDomain.DOMAIN)
    d.name = name
    if memory is None and not any(e.tag == "cpu" for e in root.iterchildren("cpu")):
        raise XMLError("XML error: Memory size must be specified via <memory> or in the <numa> "
                       "configuration")
    if memory is None and d.cpu is not None and not any(x.tag == "numa" for x in d.cpu.extra):
        raise XMLError("XML error: Memory size must be specified via <memory> or in the <numa> "
                       "configuration")
    return d


_CHARDEV_KINDS = {"serial": ChardevKind.SERIAL, "console": ChardevKind.CONSOLE,
                  "channel": ChardevKind.CHANNEL, "parallel": ChardevKind.PARALLEL}


def parse_devices(el: etree._Element) -> DevicesDef:
    devs = DevicesDef()
    for c in el:
        tag = c.tag
        if not isinstance(tag, str):
            continue
        if tag == "disk":
            devs.disks.append(parse_disk(c))
        elif tag == "controller":
            devs.controllers.append(parse_controller(c))
        elif tag == "interface":
            devs.interfaces.append(parse_interface(c))
        elif tag in _CHARDEV_KINDS:
            kind = _CHARDEV_KINDS[tag]
            ch = parse_chardev(c, kind)
            {ChardevKind.SERIAL: devs.serials, ChardevKind.CONSOLE: devs.consoles,
             ChardevKind.CHANNEL: devs.channels, ChardevKind.PARALLEL: devs.parallels}[kind].append(ch)
        elif tag == "input":
            devs.inputs.append(parse_input(c))
        elif tag == "graphics":
            devs.graphics.append(parse_graphics(c))
        elif tag == "video":
            devs.videos.append(parse_video(c))
        elif tag == "memballoon":
            if devs.memballoon is None:
                devs.memballoon = parse_memballoon(c)
        elif tag == "rng":
            devs.rngs.append(parse_rng(c))
        elif tag == "panic":
            devs.panics.append(parse_panic(c))
        elif tag == "emulator":
            devs.emulator = _text(c) or None
        elif tag in DEVICE_ORDER:
            devs.others.append(parse_raw(c))
    return devs


# libvirt's device formatting order (virDomainDefFormatInternal).
DEVICE_ORDER = ("emulator", "disk", "controller", "lease", "filesystem", "interface", "smartcard",
                "serial", "parallel", "console", "channel", "input", "tpm", "graphics", "sound",
                "audio", "video", "hostdev", "redirdev", "redirfilter", "hub", "watchdog",
                "memballoon", "rng", "nvram", "panic", "shmem", "memory", "iommu", "vsock",
                "crypto")
