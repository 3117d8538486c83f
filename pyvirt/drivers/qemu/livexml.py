"""The live domain XML: what a started QEMU really has, the way libvirt 9 reports it.

Two halves. :func:`gather` asks the paused QEMU (after spawn, before ``cont``) what only it
knows: pty paths, the balloon's size, virtio port state, the vCPU's CPUID words.
:func:`live_xml` (pure) writes those facts into the runtime model and formats it. What is
decided before QEMU starts — VNC ports picked for ``autoport`` — is
:func:`assign_vnc_ports`, called before the argv is built.

Documented differences from libvirtd's live XML (tests/integration/test_live_xml_vs_libvirt.py
ignores exactly these): no ``<resource><partition>`` (pyvirt puts QEMU in no cgroup), unix
channel sockets live under our run dir, and ids, pty paths and image paths differ by nature.
"""

from __future__ import annotations

import contextlib
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyvirt.drivers.qemu.monitor import QMPCommandError, QMPMonitor

if TYPE_CHECKING:
    from pyvirt.conf.domain import DomainDef
    from pyvirt.drivers.qemu.livecpu import CpuidMap

VNC_PORT_MIN, VNC_PORT_MAX = 5900, 65535  # libvirt's default remote_display_port range
DEFAULT_VNC_LISTEN = "127.0.0.1"  # libvirt's default vnc_listen


@dataclass
class LiveFacts:
    """What the started QEMU told us (QMP replies, untyped past this point only)."""

    chardevs: list[dict[str, Any]] = field(default_factory=list)
    balloon_bytes: int | None = None
    cpu_words: tuple[list[dict[str, Any]], list[dict[str, Any]]] | None = None  # enabled, filtered


def _has_balloon(m: DomainDef) -> bool:
    return m.devices.memballoon is not None and str(m.devices.memballoon.model) != "none"


async def gather(mon: QMPMonitor, m: DomainDef) -> LiveFacts:
    """Query the (paused) QEMU for the live XML's facts. Raises QMPClosed if it died."""
    facts = LiveFacts(chardevs=await mon.execute("query-chardev"))
    if _has_balloon(m):
        with contextlib.suppress(QMPCommandError):
            facts.balloon_bytes = int((await mon.execute("query-balloon"))["actual"])
    if m.cpu is not None and (m.cpu.mode or "custom") == "custom" and str(m.os.arch) in ("x86_64", "i686"):
        try:
            path = (await mon.execute("query-cpus-fast"))[0]["qom-path"]
            enabled = await mon.execute("qom-get", {"path": path, "property": "feature-words"})
            filtered = await mon.execute("qom-get", {"path": path, "property": "filtered-features"})
            facts.cpu_words = (list(enabled), list(filtered))
        except (QMPCommandError, LookupError, TypeError):
            pass  # an emulator without these properties: the CPU stays as defined
    return facts


def live_xml(m: DomainDef, facts: LiveFacts, channel_dir: Path, cpuid_map: CpuidMap | None) -> str:
    """Fill the live-only parts of runtime model ``m`` (in place) and format it."""
    from pyvirt.conf.domain import format_domain
    from pyvirt.drivers.qemu.livecpu import update_live_cpu

    _chardevs(m, facts.chardevs, channel_dir)
    # libvirt reports the balloon's real size from the start (the guest driver has not
    # inflated it yet); without a balloon the guest simply has all of its memory.
    if facts.balloon_bytes is not None:
        m.current_memory_kib = facts.balloon_bytes // 1024
    elif not _has_balloon(m):
        m.current_memory_kib = m.memory_kib
    if (m.cpu is not None and facts.cpu_words is not None and cpuid_map is not None
            and update_live_cpu(m.cpu, cpuid_map, *facts.cpu_words)):
        m.cpu.model_fallback = "forbid"  # the live CPU is exactly this model, no fallback
    _dac_seclabel(m)
    return str(format_domain(m))


def _chardevs(m: DomainDef, chardevs: list[dict[str, Any]], channel_dir: Path) -> None:
    """pty paths on serials and their consoles, socket paths chosen for unix channels that
    named none, and each virtio port's state (is the guest side open)."""
    by_label = {str(c.get("label")): c for c in chardevs}
    for ch in m.devices.channels:
        if str(ch.type) == "unix" and not ch.source_path and ch.target_name:
            ch.source_path = str(channel_dir / ch.target_name)
            ch.source_mode = "bind"
        info = by_label.get(f"char{ch.alias}") if ch.alias else None
        if str(ch.target_type) == "virtio" and info is not None:
            ch.target_state = "connected" if info.get("frontend-open") else "disconnected"
    ptys = {label: str(c.get("filename", ""))[4:] for label, c in by_label.items()
            if str(c.get("filename", "")).startswith("pty:")}
    devs = m.devices
    for i, ser in enumerate(devs.serials):
        path = ptys.get(f"charserial{i}")
        if path:
            ser.source_path = path
            for con in devs.consoles:
                if (con.target_port or 0) == (ser.target_port or i) and str(con.type) == "pty" \
                        and str(con.target_type) == "serial":
                    con.source_path = path
    # Every other pty (virtio consoles, parallels, channels) by its QEMU chardev id.
    for dev in (*devs.consoles, *devs.parallels, *devs.channels):
        path = ptys.get(f"char{dev.alias}") if dev.alias else None
        if path and str(dev.type) == "pty" and not dev.source_path:
            dev.source_path = path


AGENT_CHANNEL = "org.qemu.guest_agent.0"


def agent_channel_present(m: DomainDef) -> bool:
    return any(str(ch.target_type) == "virtio" and ch.target_name == AGENT_CHANNEL for ch in m.devices.channels)


def with_channel_state(live: str, alias: str, opened: bool) -> tuple[str, str | None] | None:
    """``live`` XML with virtio channel ``alias``'s state set (QEMU's VSERPORT_CHANGE), and
    the channel's target name; None when there is no such channel."""
    from pyvirt.conf.domain import format_domain, parse_domain

    m = parse_domain(live)
    for ch in m.devices.channels:
        if ch.alias == alias and str(ch.target_type) == "virtio":
            ch.target_state = "connected" if opened else "disconnected"
            return format_domain(m), ch.target_name
    return None


def with_channel_states(live: str, chardevs: list[dict[str, Any]]) -> str | None:
    """``live`` XML with every virtio channel's state from ``query-chardev`` (what a
    reattaching driver does: VSERPORT_CHANGE events went unheard while detached), or None
    when nothing changed."""
    from pyvirt.conf.domain import format_domain, parse_domain

    m = parse_domain(live)
    before = [ch.target_state for ch in m.devices.channels]
    by_label = {str(c.get("label")): c for c in chardevs}
    for ch in m.devices.channels:
        info = by_label.get(f"char{ch.alias}") if ch.alias else None
        if str(ch.target_type) == "virtio" and info is not None:
            ch.target_state = "connected" if info.get("frontend-open") else "disconnected"
    return None if before == [ch.target_state for ch in m.devices.channels] else format_domain(m)


def with_balloon(live: str, actual_bytes: int) -> str | None:
    """``live`` XML with currentMemory at the balloon's size (QEMU's BALLOON_CHANGE), or
    None when it already says so."""
    from pyvirt.conf.domain import format_domain, parse_domain

    m = parse_domain(live)
    if m.current_memory_kib == actual_bytes // 1024:
        return None
    m.current_memory_kib = actual_bytes // 1024
    return format_domain(m)


def _dac_seclabel(m: DomainDef) -> None:
    """The DAC label libvirt's live XML carries: QEMU runs as our uid:gid (we spawn it as
    ourselves), the model our capabilities report as <secmodel>dac</secmodel>."""
    from lxml import etree

    if any(el.tag == "seclabel" for el in m.extra):
        return
    label = f"+{os.getuid()}:+{os.getgid()}"
    sec = etree.Element("seclabel", {"type": "dynamic", "model": "dac", "relabel": "yes"})
    etree.SubElement(sec, "label").text = label
    etree.SubElement(sec, "imagelabel").text = label
    m.extra.append(sec)


def assign_vnc_ports(m: DomainDef) -> None:
    """Give every address-listening VNC display with autoport a free port (from 5900, as
    libvirt does) and its default listen address, in the runtime model the argv is built
    from; the live XML then shows the port QEMU really listens on."""
    from pyvirt.conf.domain import GraphicsListenDef

    taken: set[int] = set()
    for g in m.devices.graphics:
        if str(g.type) != "vnc" or g.socket:
            continue
        if not g.listens:
            g.listens.append(GraphicsListenDef(type="address"))
        lis = g.listens[0]
        if str(lis.type) != "address":
            continue
        lis.address = lis.address or DEFAULT_VNC_LISTEN
        if g.port is None or g.port < 0 or g.autoport:
            g.port = _free_port(lis.address, taken)
            g.autoport = True
        taken.add(g.port)


def _free_port(address: str, taken: set[int]) -> int:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    for port in range(VNC_PORT_MIN, VNC_PORT_MAX + 1):
        if port in taken:
            continue
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((address, port))
            except OSError:
                continue
        return port
    from pyvirt.errors import InternalError

    raise InternalError("internal error: Unable to find an unused port in range 'display' (5900-65535)")


__all__ = ["AGENT_CHANNEL", "LiveFacts", "agent_channel_present", "assign_vnc_ports", "gather", "live_xml",
           "with_balloon", "with_channel_state", "with_channel_states"]
