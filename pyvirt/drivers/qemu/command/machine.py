"""The head of the command line: identity, machine, accelerator, CPU, memory, SMP, clock,
monitor, power management and boot. Everything before the first ``-device``."""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING

from pyvirt.drivers.qemu.caps import QemuCapFlag
from pyvirt.drivers.qemu.command.runtime import CommandRuntime
from pyvirt.drivers.qemu.command.util import JsonProps, qescape, qjson
from pyvirt.errors import ConfigUnsupported

if TYPE_CHECKING:
    from pyvirt.conf.domain import DomainDef
    from pyvirt.drivers.qemu.caps import QemuCaps

# Machine types whose built-in chipset is Q35 (ICH9); everything else x86 is i440fx.
Q35_PREFIXES = ("q35", "pc-q35-")


def is_q35(machine: str | None) -> bool:
    return bool(machine) and str(machine).startswith(Q35_PREFIXES)


def head_args(defn: DomainDef, caps: QemuCaps, rt: CommandRuntime) -> list[str]:
    """``-name`` through ``-boot``, in libvirt 9's order."""
    name = defn.name
    argv = ["-name", f"guest={qescape(name)},debug-threads=on"]
    if rt.start_paused:
        argv.append("-S")
    if rt.master_key:
        argv += ["-object", qjson({"qom-type": "secret", "id": "masterKey0", "format": "raw",
                                   "file": f"{rt.domain_dir}/master-key.aes"})]
    argv += machine_args(defn, caps)
    argv += ["-accel", accel_name(defn, caps)]
    argv += ["-cpu", cpu_arg(defn)]
    argv += memory_args(defn)
    argv += ["-overcommit", "mem-lock=off"]
    argv += ["-smp", smp_arg(defn, caps)]
    argv += ["-uuid", defn.uuid]
    if defn.genid is not None:
        if not defn.genid:
            raise ConfigUnsupported("unsupported configuration: <genid/> must be generated (postparse) before building")
        argv += ["-device", qjson({"driver": "vmgenid", "guid": defn.genid, "id": "vmgenid0"})]
    if not defn.devices.graphics:
        argv += ["-display", "none"]
    argv += ["-no-user-config", "-nodefaults"]
    argv += ["-chardev", f"socket,id=charmonitor,fd={rt.monitor_fd},server=on,wait=off"]
    argv += ["-mon", "chardev=charmonitor,id=monitor,mode=control"]
    argv += clock_args(defn, caps)
    if rt.no_shutdown:
        argv.append("-no-shutdown")
    argv += pm_args(defn)
    argv += boot_args(defn)
    argv += iommu_args(defn)
    return argv


# <iommu model='intel'><driver .../> attributes -> intel-iommu properties (name, kind).
_INTEL_IOMMU = (("intremap", "intremap", "str"), ("caching_mode", "caching-mode", "bool"),
                ("eim", "eim", "str"), ("iotlb", "device-iotlb", "bool"), ("aw_bits", "aw-bits", "int"))


def iommu_args(defn: DomainDef) -> list[str]:
    """The Intel IOMMU (<iommu> is kept raw by conf); virtio-iommu is not built yet."""
    argv: list[str] = []
    for n, dev in enumerate(o for o in defn.devices.others if o.tag == "iommu"):
        el = dev.element
        if el is None or el.get("model") != "intel":
            raise ConfigUnsupported(f"unsupported configuration: IOMMU model '{el.get('model') if el is not None else ''}'")
        drv = el.find("driver")
        attrs: dict[str, str] = {str(k): str(v) for k, v in drv.attrib.items()} if drv is not None else {}
        props: JsonProps = {"driver": "intel-iommu", "id": f"iommu{n}"}
        for key, prop, kind in _INTEL_IOMMU:
            val = attrs.pop(key, None)
            if val is None:
                continue
            props[prop] = val == "on" if kind == "bool" else int(val) if kind == "int" else val
        if attrs:
            raise ConfigUnsupported(f"unsupported configuration: IOMMU option '{min(attrs)}'")
        argv += ["-device", qjson(props)]
    return argv


def accel_name(defn: DomainDef, caps: QemuCaps) -> str:
    dtype = str(defn.type)
    if dtype == "qemu":
        return "tcg"
    if dtype == "kvm":
        # The builder never silently falls back: a kvm domain on a host without usable KVM
        # is refused with the reason the caps probe recorded.
        if not caps.kvm_available:
            why = f": {caps.kvm_unusable_reason}" if caps.kvm_unusable_reason else ""
            raise ConfigUnsupported(
                f"unsupported configuration: domain type 'kvm' is not available on this host{why}"
            )
        return "kvm"
    raise ConfigUnsupported(f"unsupported configuration: emulator does not support virt type '{dtype}'")


def _hpet_on_machine(caps: QemuCaps) -> bool:
    """QEMU >= 8.0 switches the HPET with a machine property; older ones take -no-hpet."""
    return caps.cmdline_has("machine", "hpet")


def machine_args(defn: DomainDef, caps: QemuCaps) -> list[str]:
    machine = defn.os.machine or "pc"
    opts = [machine, "usb=off"]
    smm = defn.features.elements.get("smm")
    if smm is not None:
        if len(smm):
            raise ConfigUnsupported("unsupported configuration: SMM options (tseg) are not supported")
        opts.append(f"smm={smm.get('state') or 'on'}")
    ioapic = defn.features.elements.get("ioapic")
    if ioapic is not None and ioapic.get("driver") == "qemu":
        opts.append("kernel_irqchip=split")  # the IOMMU's interrupt remapping needs it
    elif ioapic is not None and ioapic.get("driver") not in (None, "kvm"):
        raise ConfigUnsupported(f"unsupported configuration: ioapic driver '{ioapic.get('driver')}'")
    opts += ["dump-guest-core=off", "memory-backend=pc.ram"]
    hpet = _timer(defn, "hpet")
    if hpet is not None and hpet.present is False and _hpet_on_machine(caps):
        opts.append("hpet=off")
    return ["-machine", ",".join(opts)]


def cpu_arg(defn: DomainDef) -> str:
    base = _cpu_model(defn)
    kvmclock = _timer(defn, "kvmclock")
    if kvmclock is not None and kvmclock.present is False:
        base += ",kvmclock=off"
    apic = defn.features.elements.get("apic") if defn.features is not None else None
    eoi = apic.get("eoi") if apic is not None else None
    if eoi is not None:
        base += f",kvm-pv-eoi={eoi}"
    spin = defn.features.elements.get("pvspinlock") if defn.features is not None else None
    if spin is not None and spin.get("state") in ("on", "off"):
        base += f",kvm-pv-unhalt={spin.get('state')}"
    base += "".join(f",{flag}" for flag in hyperv_flags(defn))
    # A Hyper-V panic device is a CPU property, not a device.
    if any(str(p.model) == "hyperv" for p in defn.devices.panics):
        base += ",hv-crash"
    return base


# Hyper-V enlightenments in libvirt's order (XML element names).
_HYPERV = ("relaxed", "vapic", "spinlocks", "vpindex", "runtime", "synic", "stimer", "reset",
           "vendor_id", "frequencies", "reenlightenment", "tlbflush", "ipi", "evmcs", "avic")


def hyperv_flags(defn: DomainDef) -> list[str]:
    """``hv-*`` CPU properties from ``<features><hyperv>`` (kept raw by conf)."""
    hv = defn.features.elements.get("hyperv") if defn.features is not None else None
    if hv is None:
        return []
    if hv.get("mode") == "passthrough":
        return ["hv-passthrough=on"]
    unknown = {str(c.tag) for c in hv if isinstance(c.tag, str)} - set(_HYPERV)
    if unknown:
        raise ConfigUnsupported(f"unsupported configuration: Hyper-V feature '{min(unknown)}' is not supported")
    out: list[str] = []
    for name in _HYPERV:
        el = hv.find(name)
        if el is None or el.get("state") != "on":
            continue
        if name == "spinlocks":
            out.append(f"hv-spinlocks={int(el.get('retries') or 4095):#x}")
        elif name == "vendor_id":
            out.append(f"hv-vendor-id={el.get('value')}")
        else:
            out.append(f"hv-{name}=on")
            out += [f"hv-{name}-{sub.tag}=on" for sub in el if sub.get("state") == "on"]
    return out


def _cpu_model(defn: DomainDef) -> str:
    cpu = defn.cpu
    if cpu is None or (cpu.mode in (None, "custom") and not cpu.model):
        return "qemu64"
    mode = str(cpu.mode or "custom")
    if mode == "host-passthrough":
        if str(defn.type) != "kvm":
            raise ConfigUnsupported(
                "unsupported configuration: CPU mode 'host-passthrough' for x86_64 qemu domain "
                "on x86_64 host is not supported by hypervisor"
            )
        return "host,migratable=on"
    if mode == "maximum":
        return "max"
    if mode == "custom" and cpu.model and not cpu.features:
        return str(cpu.model)
    raise ConfigUnsupported(f"unsupported configuration: CPU mode '{mode}' with model/features")


def memory_args(defn: DomainDef) -> list[str]:
    # QEMU on x86 wants whole MiB; libvirt rounds the size up at start, not in the XML.
    kib = (int(defn.memory_kib) + 1023) // 1024 * 1024
    return [
        "-m", str(kib // 1024),
        "-object", qjson({"qom-type": "memory-backend-ram", "id": "pc.ram", "size": kib * 1024}),
    ]


def smp_arg(defn: DomainDef, caps: QemuCaps) -> str:
    count = int(defn.vcpu.count)
    current = defn.vcpu.current
    topo = defn.cpu.topology if defn.cpu is not None else None
    parts = [str(current if current else count)]
    if current and current != count:
        parts.append(f"maxcpus={count}")
    if topo is not None:
        parts += [f"sockets={topo.sockets}"]
        if caps.has(QemuCapFlag.SMP_DIES):  # spelled out whenever a topology is given
            parts.append(f"dies={topo.dies}")
        parts += [f"cores={topo.cores}", f"threads={topo.threads}"]
    else:
        parts += [f"sockets={count}", "cores=1", "threads=1"]
    return ",".join(parts)


def _timer(defn: DomainDef, name: str):  # type: ignore[no-untyped-def]
    for t in defn.clock.timers if defn.clock is not None else ():
        if t.name == name:
            return t
    return None


def clock_args(defn: DomainDef, caps: QemuCaps) -> list[str]:
    offset = str(defn.clock.offset) if defn.clock is not None and defn.clock.offset else "utc"
    if offset == "absolute" and defn.clock.start is not None:
        # A fixed guest wall clock: seconds since the epoch, written as UTC date-time.
        start = _dt.datetime.fromtimestamp(int(defn.clock.start), _dt.UTC)
        rtc = f"base={start.strftime('%Y-%m-%dT%H:%M:%S')}"
    elif offset in ("utc", "localtime"):
        rtc = f"base={offset}"
    else:
        raise ConfigUnsupported(f"unsupported configuration: unsupported clock offset '{offset}'")
    timer = _timer(defn, "rtc")
    if timer is not None and timer.tickpolicy == "catchup":
        rtc += ",driftfix=slew"
    argv = ["-rtc", rtc]
    for t in defn.clock.timers if defn.clock is not None else ():
        if t.name == "pit" and t.tickpolicy == "delay":
            argv += ["-global", "kvm-pit.lost_tick_policy=delay"]
        elif t.name == "hpet" and t.present is False and not _hpet_on_machine(caps):
            argv.append("-no-hpet")
    return argv


def pm_args(defn: DomainDef) -> list[str]:
    argv: list[str] = []
    q35 = is_q35(defn.os.machine)
    if not defn.features.acpi:
        argv.append("-no-acpi")
    # <pm> is kept verbatim by conf (not modelled): read its two switches from the element.
    pm = next((e for e in defn.extra if e.tag == "pm"), None)
    if pm is not None:
        dev = "ICH9-LPC" if q35 else "PIIX4_PM"
        for tag, key in (("suspend-to-mem", "disable_s3"), ("suspend-to-disk", "disable_s4")):
            el = pm.find(tag)
            if el is not None and el.get("enabled") in ("yes", "no"):
                argv += ["-global", f"{dev}.{key}={0 if el.get('enabled') == 'yes' else 1}"]
    return argv


def boot_args(defn: DomainDef) -> list[str]:
    os = defn.os
    opts = []
    if os.boot_menu is not None:
        opts.append(f"menu={'on' if os.boot_menu else 'off'}")
        if os.boot_menu and os.boot_menu_timeout is not None:
            opts.append(f"splash-time={os.boot_menu_timeout}")
    opts.append("strict=on")
    argv = ["-boot", ",".join(opts)]
    if os.kernel:
        argv += ["-kernel", os.kernel]
    if os.initrd:
        argv += ["-initrd", os.initrd]
    if os.cmdline:
        argv += ["-append", os.cmdline]
    return argv
