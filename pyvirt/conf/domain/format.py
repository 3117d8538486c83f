"""DomainDef -> libvirt's canonical domain XML."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyvirt.conf._xml import Writer, attrs, esc, write_raw
from pyvirt.conf.domain.chardev import format_chardev
from pyvirt.conf.domain.devices import (
    format_controller,
    format_graphics,
    format_input,
    format_interface,
    format_memballoon,
    format_panic,
    format_raw,
    format_rng,
    format_video,
)
from pyvirt.conf.domain.disk import format_disk
from pyvirt.conf.domain.general import (
    format_clock,
    format_cpu,
    format_cputune,
    format_features,
    format_os,
    format_vcpu,
)
from pyvirt.conf.domain.parse import DEVICE_ORDER, TOP_ORDER

if TYPE_CHECKING:
    from lxml import etree

    from pyvirt.conf.domain import DevicesDef, DomainDef


def _extras(w: Writer, d: DomainDef, tags: tuple[str, ...], ns: dict[str | None, str]) -> None:
    for el in d.extra:
        if el.tag in tags:
            write_raw(w, 1, el, ns)


def format_domain_xml(d: DomainDef, *, inactive: bool, secure: bool) -> str:
    w = Writer()
    ns: dict[str | None, str] = {}
    for el in d.extra:
        if el.prefix:
            ns[el.prefix] = el.nsmap[el.prefix]
    nsdecl = "".join(f" xmlns:{p}='{esc(u)}'" for p, u in ns.items())
    live_id = d.id if d.id >= 0 and not inactive else None
    w.line(0, "<domain" + attrs(("type", d.type), ("id", live_id)) + nsdecl + ">")
    w.text(1, "name", d.name)
    w.text(1, "uuid", d.uuid)
    if d.genid is not None:
        w.text(1, "genid", d.genid)
    if d.title is not None:
        w.text(1, "title", d.title)
    if d.description is not None:
        w.text(1, "description", d.description)
    if d.metadata is not None and len(d.metadata):
        w.line(1, "<metadata>")
        for child in d.metadata:
            if isinstance(child.tag, str):
                write_raw(w, 2, child, {}, dquote=True)
        w.line(1, "</metadata>")
    if d.max_memory_kib is not None:
        w.text(1, "maxMemory", d.max_memory_kib,
               attrs(("slots", d.max_memory_slots), ("unit", "KiB")))
    w.text(1, "memory", d.memory_kib, attrs(("dumpCore", d.memory_dump_core), ("unit", "KiB")))
    w.text(1, "currentMemory", d.current_memory_kib, attrs(("unit", "KiB")))
    _extras(w, d, ("blkiotune", "memtune", "memoryBacking"), ns)
    format_vcpu(w, d.vcpu)
    _extras(w, d, ("vcpus", "iothreads", "iothreadids", "defaultiothread"), ns)
    if d.cputune is not None:
        format_cputune(w, d.cputune, inactive)
    _extras(w, d, ("numatune", "resource", "sysinfo", "bootloader", "bootloader_args"), ns)
    format_os(w, d.os)
    _extras(w, d, ("idmap",), ns)
    format_features(w, d.features)
    if d.cpu is not None:
        format_cpu(w, d.cpu)
    format_clock(w, d.clock)
    w.text(1, "on_poweroff", d.on_poweroff)
    w.text(1, "on_reboot", d.on_reboot)
    w.text(1, "on_crash", d.on_crash)
    _extras(w, d, ("on_lockfailure", "pm", "perf"), ns)
    _format_devices(w, d.devices, inactive, secure)
    _extras(w, d, ("seclabel", "keywrap", "launchSecurity"), ns)
    for el in d.extra:
        if el.tag not in TOP_ORDER:
            write_raw(w, 1, el, ns)
    w.line(0, "</domain>")
    return w.getvalue()


def _format_devices(w: Writer, devs: DevicesDef, inactive: bool, secure: bool) -> None:
    w.line(1, "<devices>")
    if devs.emulator is not None:
        w.text(2, "emulator", devs.emulator)
    others: dict[str, list[etree._Element | object]] = {}
    for o in devs.others:
        others.setdefault(o.tag, []).append(o)

    def raw(tag: str) -> None:
        for o in others.get(tag, ()):
            format_raw(w, 2, o, inactive)  # type: ignore[arg-type]

    for disk in devs.disks:
        format_disk(w, 2, disk, inactive)
    for ctrl in devs.controllers:
        format_controller(w, 2, ctrl, inactive)
    raw("lease")
    raw("filesystem")
    for net in devs.interfaces:
        format_interface(w, 2, net, inactive)
    raw("smartcard")
    for group in (devs.serials, devs.parallels, devs.consoles, devs.channels):
        for ch in group:
            format_chardev(w, 2, ch, inactive)
    for inp in devs.inputs:
        format_input(w, 2, inp, inactive)
    raw("tpm")
    for g in devs.graphics:
        format_graphics(w, 2, g, inactive, secure)
    raw("sound")
    raw("audio")
    for v in devs.videos:
        format_video(w, 2, v, inactive)
    for tag in ("hostdev", "redirdev", "redirfilter", "hub", "watchdog"):
        raw(tag)
    if devs.memballoon is not None:
        format_memballoon(w, 2, devs.memballoon, inactive)
    for rng in devs.rngs:
        format_rng(w, 2, rng, inactive)
    raw("nvram")
    for p in devs.panics:
        format_panic(w, 2, p, inactive)
    for tag in DEVICE_ORDER[DEVICE_ORDER.index("panic") + 1:]:
        raw(tag)
    w.line(1, "</devices>")
