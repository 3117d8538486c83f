"""Domain-wide settings: vcpus, cputune, os/boot, features, cpu and clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from pyvirt.conf._xml import (
    Writer,
    attrs,
    bad_attr,
    check_attr,
    esc,
    parse_bitmap,
    parse_int,
    parse_yesno,
    write_raw,
)
from pyvirt.conf.domain.base import emit_extras
from pyvirt.conf.domain.resctrl import ResctrlDef, format_resctrl, parse_tune
from pyvirt.errors import (
    ConfigUnsupported,
    ErrorCode,
    ErrorDomain,
    InternalError,
    VirtError,
    XMLError,
)

if TYPE_CHECKING:
    from lxml import etree


def _kids(el: etree._Element) -> list[etree._Element]:
    return [c for c in el if isinstance(c.tag, str)]


# ---- vcpu / cputune ------------------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class VcpuDef:
    count: int = 1
    placement: str = "static"
    cpuset: str | None = None
    current: int | None = None


def parse_vcpu(el: etree._Element) -> VcpuDef:
    text = (el.text or "").strip()
    count = int(text) if text.isdigit() else None
    if count is None or count <= 0:
        raise XMLError("XML error: maximum vcpus count must be an integer")
    if el.get("cpuset") is not None:
        parse_bitmap(el.get("cpuset") or "")
    v = VcpuDef(count=count, cpuset=el.get("cpuset"),
                current=parse_int(el.get("current"), "current"))
    placement = el.get("placement")
    if placement is not None:
        check_attr(placement, ("static", "auto"), "placement", "vcpu")
        v.placement = placement
    if v.current is not None:
        if v.current == 0:
            raise XMLError("XML error: Invalid current vcpus count")
        if v.current > v.count:
            raise ConfigUnsupported(
                "unsupported configuration: maximum vCPU count must not be less than current "
                "vCPU count")
        if v.current == v.count:
            v.current = None
    return v


def format_vcpu(w: Writer, v: VcpuDef) -> None:
    w.text(1, "vcpu", v.count, attrs(("placement", v.placement), ("cpuset", v.cpuset),
                                     ("current", v.current)))


@dataclass(slots=True, kw_only=True)
class VcpuPinDef:
    vcpu: int
    cpuset: str


@dataclass(slots=True, kw_only=True)
class SchedDef:
    """One thread's scheduler: libvirt stores ``<vcpusched vcpus='0-1'>`` per thread id and
    formats one element per id."""

    id: int
    scheduler: str
    priority: int | None = None


_SCHEDULERS = ("batch", "idle", "fifo", "rr")


@dataclass(slots=True, kw_only=True)
class CputuneDef:
    vcpupins: list[VcpuPinDef] = field(default_factory=list)
    emulatorpin: str | None = None
    vcpusched: list[SchedDef] = field(default_factory=list)
    iothreadsched: list[SchedDef] = field(default_factory=list)
    resctrls: list[ResctrlDef] = field(default_factory=list)  # cachetune / memorytune
    extra: list[etree._Element] = field(default_factory=list)  # shares, period, vcpusched ...


_CT_BEFORE_PINS = ("shares", "period", "quota", "global_period", "global_quota",
                   "emulator_period", "emulator_quota", "iothread_period", "iothread_quota")


def parse_cputune(el: etree._Element) -> CputuneDef:
    ct = CputuneDef()
    tunes: list[ResctrlDef] = []
    for c in _kids(el):
        if c.tag == "vcpupin":
            vcpu = parse_int(c.get("vcpu"), "vcpu")
            cpuset = c.get("cpuset")
            if vcpu is None:
                raise XMLError("XML error: missing vcpu id in vcpupin")
            if cpuset is None:
                raise XMLError("XML error: missing cpuset for vcpupin")
            parse_bitmap(cpuset)
            if any(p.vcpu == vcpu for p in ct.vcpupins):
                raise InternalError(f"internal error: duplicate vcpupin for vcpu '{vcpu}'",
                                    domain=ErrorDomain.DOMAIN)
            ct.vcpupins.append(VcpuPinDef(vcpu=vcpu, cpuset=cpuset))
        elif c.tag in ("vcpusched", "iothreadsched"):
            _parse_sched(c, ct)
        elif c.tag in ("cachetune", "memorytune"):
            tunes.append(parse_tune(c))
        elif c.tag == "emulatorpin":
            if c.get("cpuset") is None:
                raise XMLError("XML error: missing cpuset for emulatorpin")
            ct.emulatorpin = c.get("cpuset")
            parse_bitmap(ct.emulatorpin or "")
        else:
            ct.extra.append(c)
    # libvirt reads every cachetune before any memorytune
    ct.resctrls = [t for t in tunes if t.cachetune] + [t for t in tunes if t.memorytune]
    return ct


def _parse_sched(c: etree._Element, ct: CputuneDef) -> None:
    kind = "vcpus" if c.tag == "vcpusched" else "iothreads"
    ids = c.get(kind)
    if ids is None:
        raise XMLError(f"XML error: Missing attribute '{kind}' in element '{c.tag}'")
    sched = c.get("scheduler")
    check_attr(sched, _SCHEDULERS, "scheduler", str(c.tag))
    if sched is None:
        raise XMLError(f"XML error: Missing attribute 'scheduler' in element '{c.tag}'")
    prio = parse_int(c.get("priority"), "priority")
    if sched in ("fifo", "rr") and prio is None:
        raise XMLError(f"XML error: Missing attribute 'priority' in element '{c.tag}'")
    target = ct.vcpusched if kind == "vcpus" else ct.iothreadsched
    taken = {s.id for s in target}
    for n in sorted(parse_bitmap(ids)):
        if n in taken:
            raise VirtError(f"'{c.tag}' attributes '{kind}' must not overlap",
                            ErrorCode.XML_DETAIL, ErrorDomain.DOMAIN)
        target.append(SchedDef(id=n, scheduler=sched,
                               priority=prio if sched in ("fifo", "rr") else None))


def format_cputune(w: Writer, ct: CputuneDef, inactive: bool = True) -> None:
    if (not ct.vcpupins and ct.emulatorpin is None and not ct.extra and not ct.vcpusched
            and not ct.iothreadsched and not ct.resctrls):
        return
    w.line(1, "<cputune>")
    emit_extras(w, 2, ct.extra, _CT_BEFORE_PINS)
    for pin in sorted(ct.vcpupins, key=lambda p: p.vcpu):
        w.empty(2, "vcpupin", attrs(("vcpu", pin.vcpu), ("cpuset", pin.cpuset)))
    if ct.emulatorpin is not None:
        w.empty(2, "emulatorpin", attrs(("cpuset", ct.emulatorpin)))
    emit_extras(w, 2, ct.extra, ("iothreadpin", "emulatorsched"))
    for s in sorted(ct.vcpusched, key=lambda s: s.id):
        w.empty(2, "vcpusched", attrs(("vcpus", s.id), ("scheduler", s.scheduler),
                                      ("priority", s.priority)))
    for s in sorted(ct.iothreadsched, key=lambda s: s.id):
        w.empty(2, "iothreadsched", attrs(("iothreads", s.id), ("scheduler", s.scheduler),
                                          ("priority", s.priority)))
    format_resctrl(w, 2, ct.resctrls, inactive)
    emit_extras(w, 2, [e for e in ct.extra
                       if e.tag not in _CT_BEFORE_PINS + ("iothreadpin", "emulatorsched")])
    w.line(1, "</cputune>")


# ---- os ------------------------------------------------------------------------------------


class BootDev(StrEnum):
    HD = "hd"
    CDROM = "cdrom"
    FD = "fd"
    NETWORK = "network"


@dataclass(slots=True, kw_only=True)
class LoaderDef:
    path: str | None = None
    attrs: dict[str, str] = field(default_factory=dict)  # readonly, type, secure, stateless...


@dataclass(slots=True, kw_only=True)
class OSDef:
    type: str = "hvm"
    arch: str | None = None
    machine: str | None = None
    firmware: str | None = None
    boot_devices: list[BootDev] = field(default_factory=list)
    kernel: str | None = None
    initrd: str | None = None
    cmdline: str | None = None
    dtb: str | None = None
    loader: LoaderDef | None = None
    nvram: etree._Element | None = None  # kept verbatim (template, source variants)
    boot_menu: bool | None = None
    boot_menu_timeout: int | None = None
    smbios_mode: str | None = None
    bios_useserial: str | None = None
    bios_reboot_timeout: str | None = None
    extra: list[etree._Element] = field(default_factory=list)


_LOADER_ORDER = ("readonly", "secure", "type", "format", "stateless")
_OS_EARLY = ("firmware", "init", "initarg", "initenv", "initdir", "inituser", "initgroup")
_OS_MID = ("root", "acpi")


def parse_os(el: etree._Element) -> OSDef:
    os_ = OSDef(firmware=el.get("firmware"))
    seen_type = False
    for c in _kids(el):
        tag = c.tag
        if tag == "type":
            seen_type = True
            os_.type = (c.text or "").strip()
            os_.arch, os_.machine = c.get("arch"), c.get("machine")
        elif tag == "boot":
            dev = c.get("dev")
            try:
                os_.boot_devices.append(BootDev(dev or ""))
            except ValueError:
                raise bad_attr("dev", "boot", dev or "") from None
        elif tag in ("kernel", "initrd", "cmdline", "dtb"):
            setattr(os_, tag, c.text or "")
        elif tag == "loader":
            os_.loader = LoaderDef(path=(c.text or "").strip() or None,
                                   attrs={str(k): str(v) for k, v in c.attrib.items()})
        elif tag == "nvram":
            os_.nvram = c
        elif tag == "bootmenu":
            os_.boot_menu = parse_yesno(c.get("enable"), "enable", "bootmenu")
            os_.boot_menu_timeout = parse_int(c.get("timeout"), "timeout")
        elif tag == "smbios":
            os_.smbios_mode = c.get("mode")
        elif tag == "bios":
            os_.bios_useserial = c.get("useserial")
            os_.bios_reboot_timeout = c.get("rebootTimeout")
        else:
            os_.extra.append(c)
    if not seen_type:
        raise XMLError("XML error: an os <type> must be specified")
    return os_


def format_os(w: Writer, os_: OSDef) -> None:
    w.line(1, "<os" + attrs(("firmware", os_.firmware)) + ">")
    w.text(2, "type", os_.type, attrs(("arch", os_.arch), ("machine", os_.machine)))
    emit_extras(w, 2, os_.extra, _OS_EARLY)
    if os_.loader is not None:
        la = dict(os_.loader.attrs)
        if os_.loader.path is not None and "type" not in la and os_.firmware is None:
            la["type"] = "rom"  # a loader image without a type is a ROM
        known = [(k, la.get(k)) for k in _LOADER_ORDER]
        at = attrs(*known, *((k, v) for k, v in la.items() if k not in _LOADER_ORDER))
        if os_.loader.path is not None:
            w.text(2, "loader", os_.loader.path, at)
        else:
            w.empty(2, "loader", at)
    if os_.nvram is not None:
        write_raw(w, 2, os_.nvram, None)
    for tag in ("kernel", "initrd", "cmdline", "dtb"):
        val = getattr(os_, tag)
        if val is not None:
            w.line(2, f"<{tag}>{esc(val)}</{tag}>")
    emit_extras(w, 2, os_.extra, _OS_MID)
    for dev in os_.boot_devices:
        w.empty(2, "boot", attrs(("dev", dev)))
    if os_.boot_menu is not None:
        timeout = os_.boot_menu_timeout if os_.boot_menu else None
        w.empty(2, "bootmenu", attrs(("enable", os_.boot_menu), ("timeout", timeout)))
    if os_.bios_useserial is not None or os_.bios_reboot_timeout is not None:
        w.empty(2, "bios", attrs(("useserial", os_.bios_useserial),
                                 ("rebootTimeout", os_.bios_reboot_timeout)))
    if os_.smbios_mode is not None:
        w.empty(2, "smbios", attrs(("mode", os_.smbios_mode)))
    emit_extras(w, 2, [e for e in os_.extra if e.tag not in _OS_EARLY + _OS_MID])
    w.line(1, "</os>")


# ---- features ------------------------------------------------------------------------------

# libvirt formats features in its enum order, whatever order the input used.
FEATURE_ORDER = ("acpi", "apic", "pae", "hap", "viridian", "privnet", "hyperv", "kvm",
                 "pvspinlock", "capabilities", "pmu", "vmport", "gic", "smm", "ioapic", "hpt",
                 "vmcoreinfo", "htm", "nested-hv", "msrs", "ccf-assist", "xen", "cfpc", "sbbc",
                 "ibs", "tcg", "async-teardown")
_FLAG_FEATURES = ("acpi", "apic", "pae", "hap", "viridian", "privnet", "pmu", "vmport", "smm",
                  "vmcoreinfo", "htm", "nested-hv", "ccf-assist")


@dataclass(slots=True, kw_only=True)
class FeaturesDef:
    """``<features>``. The common switches are booleans; every feature element as written
    is also kept in ``elements`` so attributes and sub-elements survive."""

    acpi: bool = False
    apic: bool = False
    pae: bool = False
    hap: bool = False
    smm: bool = False
    vmport: bool = False
    pmu: bool = False
    present: bool = False  # a <features> element was given (even empty)
    elements: dict[str, etree._Element] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        return name in self.elements or bool(getattr(self, name.replace("-", "_"), False))


def parse_features(el: etree._Element) -> FeaturesDef:
    f = FeaturesDef(present=True)
    for c in _kids(el):
        name = str(c.tag)
        if name not in FEATURE_ORDER:
            raise ConfigUnsupported(f"unsupported configuration: unexpected feature '{name}'")
        f.elements[name] = c
        if name in ("acpi", "apic", "pae", "hap", "smm", "vmport", "pmu"):
            state = c.get("state")
            setattr(f, name, state != "off")
    return f


# switches libvirt shows as state='on'/'off' even when written as a bare element
_TRISTATE_FEATURES = ("pmu", "vmport", "smm", "htm", "nested-hv", "ccf-assist", "pvspinlock",
                      "vmcoreinfo", "ioapic")


def format_features(w: Writer, f: FeaturesDef) -> None:
    names = [n for n in FEATURE_ORDER if n in f.elements or
             (n in ("acpi", "apic", "pae", "hap", "smm", "vmport", "pmu") and getattr(f, n))]
    if not names and not f.present:
        return
    if not names:
        w.empty(1, "features")
        return
    w.line(1, "<features>")
    for n in names:
        el = f.elements.get(n)
        if el is None:
            w.empty(2, n)
        elif n in _FLAG_FEATURES and not len(el) and not el.attrib and not getattr(f, n, True):
            continue
        elif n in _TRISTATE_FEATURES and el.get("state") is None and not len(el) and n != "ioapic":
            w.empty(2, n, attrs(("state", "on"), *((str(k), str(v)) for k, v in el.attrib.items())))
        else:
            write_raw(w, 2, el, None)
    w.line(1, "</features>")


# ---- cpu -----------------------------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class CPUTopologyDef:
    sockets: int = 1
    dies: int = 1
    cores: int = 1
    threads: int = 1


@dataclass(slots=True, kw_only=True)
class CPUFeatureDef:
    name: str
    policy: str | None = None


@dataclass(slots=True, kw_only=True)
class CPUDef:
    mode: str | None = None  # custom / host-model / host-passthrough / maximum
    match: str | None = None
    check: str | None = None
    migratable: str | None = None
    model: str | None = None
    model_fallback: str | None = None
    model_vendor_id: str | None = None
    vendor: str | None = None
    topology: CPUTopologyDef | None = None
    features: list[CPUFeatureDef] = field(default_factory=list)
    extra: list[etree._Element] = field(default_factory=list)  # cache, numa, maxphysaddr...


_CPU_MODES = ("custom", "host-model", "host-passthrough", "maximum")


def parse_cpu(el: etree._Element) -> CPUDef:
    cpu = CPUDef(mode=el.get("mode"), match=el.get("match"), check=el.get("check"),
                 migratable=el.get("migratable"))
    if cpu.mode is not None and cpu.mode not in _CPU_MODES:
        raise ConfigUnsupported(f"unsupported configuration: Invalid mode attribute "
                                f"'{cpu.mode}'", domain=ErrorDomain.CPU)
    for c in _kids(el):
        if c.tag == "model":
            cpu.model = (c.text or "").strip() or None
            cpu.model_fallback, cpu.model_vendor_id = c.get("fallback"), c.get("vendor_id")
        elif c.tag == "vendor":
            cpu.vendor = (c.text or "").strip()
        elif c.tag == "topology":
            vals = {}
            for k in ("sockets", "dies", "cores", "threads"):
                n = parse_int(c.get(k), k)
                if n is not None and n <= 0:
                    raise XMLError(f"XML error: Invalid '{k}' value in CPU topology")
                vals[k] = 1 if n is None else n
            cpu.topology = CPUTopologyDef(**vals)
        elif c.tag == "feature":
            name = c.get("name")
            if name is None:
                raise XMLError("XML error: Invalid CPU feature name")
            cpu.features.append(CPUFeatureDef(name=name, policy=c.get("policy")))
        else:
            cpu.extra.append(c)
    return cpu


def format_cpu(w: Writer, cpu: CPUDef) -> None:
    head = "<cpu" + attrs(("mode", cpu.mode), ("match", cpu.match), ("check", cpu.check),
                          ("migratable", cpu.migratable))
    lines = Writer()
    # without a model name only the vendor id says anything (libvirt drops the fallback)
    fallback = cpu.model_fallback if cpu.model is not None else None
    mat = attrs(("fallback", fallback), ("vendor_id", cpu.model_vendor_id))
    if cpu.model is not None:
        lines.text(2, "model", cpu.model, mat)
    elif mat:
        lines.empty(2, "model", mat)
    if cpu.vendor is not None:
        lines.text(2, "vendor", cpu.vendor)
    t = cpu.topology
    if t is not None:
        lines.empty(2, "topology", attrs(("sockets", t.sockets), ("dies", t.dies),
                                         ("cores", t.cores), ("threads", t.threads)))
    emit_extras(lines, 2, cpu.extra, ("cache", "maxphysaddr"))
    for f in cpu.features:
        lines.empty(2, "feature", attrs(("policy", f.policy), ("name", f.name)))
    emit_extras(lines, 2, [e for e in cpu.extra if e.tag not in ("cache", "maxphysaddr")])
    if not lines.lines:
        w.line(1, head + "/>")
        return
    w.line(1, head + ">")
    w.lines += lines.lines
    w.line(1, "</cpu>")


# ---- clock ---------------------------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class TimerDef:
    name: str
    present: bool | None = None
    tickpolicy: str | None = None
    track: str | None = None
    frequency: int | None = None
    mode: str | None = None
    extra: list[etree._Element] = field(default_factory=list)  # <catchup/>


@dataclass(slots=True, kw_only=True)
class ClockDef:
    offset: str = "utc"
    adjustment: str | None = None
    basis: str | None = None
    timezone: str | None = None
    start: str | None = None
    timers: list[TimerDef] = field(default_factory=list)


_OFFSETS = ("utc", "localtime", "variable", "timezone", "absolute")
_TIMERS = ("platform", "pit", "rtc", "hpet", "tsc", "kvmclock", "hypervclock", "armvtimer")


def parse_clock(el: etree._Element) -> ClockDef:
    offset = el.get("offset") or "utc"
    if offset not in _OFFSETS:
        raise ConfigUnsupported(f"unsupported configuration: unknown clock offset '{offset}'")
    ck = ClockDef(offset=offset, adjustment=el.get("adjustment"), basis=el.get("basis"),
                  timezone=el.get("timezone"), start=el.get("start"))
    for c in _kids(el):
        if c.tag != "timer":
            continue
        name = c.get("name")
        if name is None:
            raise XMLError("XML error: missing timer name")
        check_attr(name, _TIMERS, "name", "timer")
        ck.timers.append(TimerDef(name=name,
                                  present=parse_yesno(c.get("present"), "present", "timer"),
                                  tickpolicy=c.get("tickpolicy"), track=c.get("track"),
                                  frequency=parse_int(c.get("frequency"), "frequency"),
                                  mode=c.get("mode"), extra=_kids(c)))
    return ck


def format_clock(w: Writer, ck: ClockDef) -> None:
    head = "<clock" + attrs(("offset", ck.offset), ("adjustment", ck.adjustment),
                            ("basis", ck.basis), ("timezone", ck.timezone), ("start", ck.start))
    if not ck.timers:
        w.line(1, head + "/>")
        return
    w.line(1, head + ">")
    for t in ck.timers:
        at = attrs(("name", t.name), ("track", t.track), ("tickpolicy", t.tickpolicy),
                   ("frequency", t.frequency), ("mode", t.mode), ("present", t.present))
        if t.extra:
            w.line(2, f"<timer{at}>")
            emit_extras(w, 3, t.extra)
            w.line(2, "</timer>")
        else:
            w.empty(2, "timer", at)
    w.line(1, "</clock>")
