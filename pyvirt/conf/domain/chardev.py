"""Character devices: ``<serial>``, ``<console>``, ``<channel>`` and ``<parallel>``.

One flat dataclass covers the common shapes (a single source path/host, log file, target);
the rare extras (second UDP source, reconnect, seclabels) have their own fields or are kept
verbatim.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from pyvirt.conf._xml import Writer, attrs, onoff, parse_enum, parse_int, parse_onoff
from pyvirt.conf.domain.base import DeviceDef, emit_extras, format_info, parse_info
from pyvirt.errors import ConfigUnsupported, ErrorDomain, InternalError, XMLError

if TYPE_CHECKING:
    from lxml import etree


class ChardevKind(StrEnum):
    SERIAL = "serial"
    CONSOLE = "console"
    CHANNEL = "channel"
    PARALLEL = "parallel"


class ChardevType(StrEnum):
    NULL = "null"
    VC = "vc"
    PTY = "pty"
    DEV = "dev"
    FILE = "file"
    PIPE = "pipe"
    STDIO = "stdio"
    UDP = "udp"
    TCP = "tcp"
    UNIX = "unix"
    SPICEVMC = "spicevmc"
    SPICEPORT = "spiceport"
    NMDM = "nmdm"
    QEMU_VDAGENT = "qemu-vdagent"
    DBUS = "dbus"


_PATH_TYPES = {"pty", "dev", "file", "pipe"}
_TARGET_TYPES = {
    ChardevKind.SERIAL: ("isa-serial", "usb-serial", "pci-serial", "spapr-vio-serial",
                         "system-serial", "sclp-serial", "isa-debug"),
    ChardevKind.CONSOLE: ("serial", "xen", "uml", "virtio", "lxc", "openvz", "sclp", "sclplm"),
    ChardevKind.CHANNEL: ("guestfwd", "virtio", "xen"),
    ChardevKind.PARALLEL: (),
}


@dataclass(slots=True, kw_only=True)
class ChardevDef(DeviceDef):
    kind: ChardevKind = ChardevKind.SERIAL
    type: ChardevType = ChardevType.PTY
    source_path: str | None = None
    source_mode: str | None = None  # bind / connect (unix, tcp)
    source_append: bool | None = None
    source_host: str | None = None
    source_service: str | None = None
    source_tls: bool | None = None
    source_channel: str | None = None  # spiceport
    # udp has a local (bind) end besides the connect end
    bind_host: str | None = None
    bind_service: str | None = None
    reconnect_enabled: bool | None = None
    reconnect_timeout: int | None = None
    protocol_type: str | None = None  # tcp: raw / telnet / tls ...
    log_file: str | None = None
    log_append: bool | None = None
    target_type: str | None = None
    target_port: int | None = None
    target_name: str | None = None
    target_state: str | None = None
    target_address: str | None = None  # guestfwd
    target_model: str | None = None  # <target><model name=.../></target>
    source_extra: list[etree._Element] = field(default_factory=list)

    @property
    def source_type(self) -> ChardevType:
        return self.type


def _parse_source(c: etree._Element, ch: ChardevDef) -> None:
    g = c.get
    mode = g("mode")
    if ch.type == ChardevType.UDP:
        # libvirt: a source without mode, or mode='connect', is the remote end
        if mode == "bind":
            ch.bind_host, ch.bind_service = g("host"), g("service")
            return
        ch.source_host, ch.source_service = g("host"), g("service")
        ch.source_mode = "connect"
        return
    if ch.type in (ChardevType.TCP, ChardevType.UNIX):
        if ch.source_mode is not None and ch.source_path is None and ch.source_host is None:
            pass
        ch.source_mode = mode or ch.source_mode
        ch.source_host = g("host") or ch.source_host
        ch.source_service = g("service") or ch.source_service
        ch.source_path = g("path") or ch.source_path
        ch.source_tls = parse_yesno_opt(g("tls"))
        for r in c:
            if r.tag == "reconnect":
                ch.reconnect_enabled = parse_yesno_opt(r.get("enabled"))
                ch.reconnect_timeout = parse_int(r.get("timeout"), "timeout")
                if ch.reconnect_enabled and ch.reconnect_timeout is None:
                    raise XMLError("XML error: Missing required attribute 'timeout' in element "
                                   "'reconnect'")
            elif isinstance(r.tag, str):
                ch.source_extra.append(r)
        return
    if ch.type in (ChardevType.SPICEPORT, ChardevType.DBUS):
        ch.source_channel = g("channel")
        return
    if ch.type not in _PATH_TYPES:
        # qemu-vdagent and friends: <source> carries only sub-elements
        ch.source_extra += [x for x in c if isinstance(x.tag, str)]
        return
    if ch.source_path is None:
        ch.source_path = g("path")
    ch.source_append = parse_onoff(g("append"), "append", "source")
    ch.source_extra += [x for x in c if isinstance(x.tag, str)]


def parse_yesno_opt(val: str | None) -> bool | None:
    if val is None:
        return None
    if val in ("yes", "no"):
        return val == "yes"
    raise XMLError(f"XML error: Invalid value '{val}', expected 'yes' or 'no'")


def parse_chardev(el: etree._Element, kind: ChardevKind) -> ChardevDef:
    ctype = parse_enum(ChardevType, el.get("type") or "null",
                       "unsupported configuration: unknown type presented to host for "
                       "character device: {}", unsupported=True)
    assert ctype is not None
    ch = ChardevDef(kind=kind, type=ctype)
    nsrc = sum(1 for c in el if c.tag == "source")
    if ctype == ChardevType.UDP and nsrc > 2:
        raise XMLError("XML error: only two source elements are allowed for character device")
    if ctype != ChardevType.UDP and nsrc > 1:
        raise XMLError("XML error: only one source element is allowed for character device")
    for c in el:
        tag = c.tag
        if not isinstance(tag, str) or parse_info(c, ch):
            continue
        if tag == "source":
            _parse_source(c, ch)
        elif tag == "protocol":
            ch.protocol_type = c.get("type")
        elif tag == "log":
            ch.log_file = c.get("file")
            ch.log_append = parse_onoff(c.get("append"), "append", "log")
        elif tag == "target":
            ch.target_type = c.get("type")
            ch.target_port = parse_int(c.get("port"), "port")
            ch.target_name = c.get("name")
            ch.target_state = c.get("state")
            ch.target_address = c.get("address")
            for m in c:
                if m.tag == "model":
                    ch.target_model = m.get("name")
        else:
            ch.extra.append(c)
    allowed = _TARGET_TYPES[kind]
    if ch.target_type is not None and ch.target_type not in allowed:
        raise ConfigUnsupported(f"unsupported configuration: unknown target type "
                                f"'{ch.target_type}' specified for character device")
    _validate(ch)
    if ch.type == ChardevType.TCP and ch.protocol_type is None:
        ch.protocol_type = "raw"
    if ch.type in (ChardevType.TCP, ChardevType.UNIX) and ch.source_mode is None:
        ch.source_mode = "connect"
    return ch


def _internal(msg: str) -> InternalError:
    return InternalError("internal error: " + msg, domain=ErrorDomain.DOMAIN)


def _validate(ch: ChardevDef) -> None:
    if ch.type == ChardevType.TCP:
        if ch.source_host is None:
            raise _internal("Missing source host attribute for char device")
        if ch.source_service is None:
            raise _internal("Missing source service attribute for char device")
    if ch.type == ChardevType.UDP and ch.source_service is None:
        raise _internal("Missing source service attribute for char device")
    if ch.reconnect_enabled is not None and ch.source_mode == "bind":
        raise _internal("chardev reconnect is possible only for connect mode")


def _format_source(w: Writer, d: int, ch: ChardevDef, inactive: bool) -> None:
    t = ch.type
    if t in _PATH_TYPES:
        if ch.source_path is not None and (t != ChardevType.PTY or not inactive):
            at = attrs(("path", ch.source_path),
                       ("append", onoff(ch.source_append)))
            if ch.source_extra:
                w.line(d, f"<source{at}>")
                emit_extras(w, d + 1, ch.source_extra)
                w.line(d, "</source>")
            else:
                w.empty(d, "source", at)
    elif t == ChardevType.UDP:
        if ch.bind_host is not None or ch.bind_service is not None:
            w.empty(d, "source", attrs(("mode", "bind"), ("host", ch.bind_host),
                                       ("service", ch.bind_service)))
        w.empty(d, "source", attrs(("mode", "connect"), ("host", ch.source_host),
                                   ("service", ch.source_service)))
    elif t == ChardevType.UNIX and ch.source_path is None:
        return  # the driver picks a path at start-up; nothing to show until then
    elif t in (ChardevType.TCP, ChardevType.UNIX):
        if t == ChardevType.TCP:
            at = attrs(("mode", ch.source_mode), ("host", ch.source_host),
                       ("service", ch.source_service), ("tls", ch.source_tls))
        else:
            at = attrs(("mode", ch.source_mode), ("path", ch.source_path))
        kids = ch.reconnect_enabled is not None or ch.source_extra
        if not kids:
            w.empty(d, "source", at)
        else:
            w.line(d, f"<source{at}>")
            if ch.reconnect_enabled is not None:
                w.empty(d + 1, "reconnect", attrs(("enabled", ch.reconnect_enabled),
                                                  ("timeout", ch.reconnect_timeout)))
            emit_extras(w, d + 1, ch.source_extra)
            w.line(d, "</source>")
        if t == ChardevType.TCP:
            w.empty(d, "protocol", attrs(("type", ch.protocol_type or "raw")))
    elif t in (ChardevType.SPICEPORT, ChardevType.DBUS) and ch.source_channel is not None:
        w.empty(d, "source", attrs(("channel", ch.source_channel)))
    elif ch.source_extra:
        w.line(d, "<source>")
        emit_extras(w, d + 1, ch.source_extra)
        w.line(d, "</source>")


def format_chardev(w: Writer, depth: int, ch: ChardevDef, inactive: bool) -> None:
    tty = None
    if (ch.kind == ChardevKind.CONSOLE and ch.type == ChardevType.PTY and not inactive
            and ch.source_path is not None and (ch.target_port or 0) == 0):
        tty = ch.source_path
    w.line(depth, f"<{ch.kind}{attrs(('type', ch.type), ('tty', tty))}>")
    d = depth + 1
    _format_source(w, d, ch, inactive)
    if ch.log_file is not None:
        w.empty(d, "log", attrs(("file", ch.log_file), ("append", onoff(ch.log_append))))
    _format_target(w, d, ch, inactive)
    emit_extras(w, d, ch.extra)
    format_info(w, d, ch, inactive)
    w.line(depth, f"</{ch.kind}>")


def _format_target(w: Writer, d: int, ch: ChardevDef, inactive: bool) -> None:
    if ch.kind == ChardevKind.CHANNEL:
        if ch.target_type == "guestfwd":
            at = attrs(("type", ch.target_type), ("address", ch.target_address),
                       ("port", ch.target_port))
        else:
            at = attrs(("type", ch.target_type), ("name", ch.target_name),
                       ("state", None if inactive else ch.target_state))
        w.empty(d, "target", at)
        return
    at = attrs(("type", ch.target_type), ("port", ch.target_port))
    if ch.target_model is not None:
        w.line(d, f"<target{at}>")
        w.empty(d + 1, "model", attrs(("name", ch.target_model)))
        w.line(d, "</target>")
    else:
        w.empty(d, "target", at)
