"""Inputs, audio, graphics (VNC) and video adapters, in libvirt 9's order."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyvirt.drivers.qemu.command.util import (
    JsonProps,
    pci_props,
    qescape,
    qjson,
    usb_ports,
    virtio_opts,
)
from pyvirt.errors import ConfigUnsupported

if TYPE_CHECKING:
    from pyvirt.conf.domain import DomainDef

_USB_INPUTS = {"tablet": "usb-tablet", "mouse": "usb-mouse", "keyboard": "usb-kbd"}
_VIRTIO_INPUTS = {"tablet": "virtio-tablet-pci", "mouse": "virtio-mouse-pci", "keyboard": "virtio-keyboard-pci",
                  "passthrough": "virtio-input-host-pci"}

# Primary (VGA-compatible) video device per model; secondary heads use the non-VGA variant.
_VIDEO_SECONDARY = {"qxl": "qxl", "virtio": "virtio-gpu-pci"}
_VIDEO_PRIMARY = {"cirrus": "cirrus-vga", "vga": "VGA", "virtio": "virtio-vga", "bochs": "bochs-display",
                  "qxl": "qxl-vga", "vmvga": "vmware-svga"}


def input_args(defn: DomainDef) -> list[str]:
    argv: list[str] = []
    ports = usb_ports(defn)
    for inp in defn.devices.inputs:
        bus, itype = str(inp.bus or "ps2"), str(inp.type)
        if itype == "evdev":
            argv += ["-object", qjson(_evdev_props(inp))]
            continue
        if bus == "ps2":
            continue  # built into the i8042 controller of every x86 machine
        if bus == "usb":
            props: JsonProps = {"driver": _USB_INPUTS[itype], "id": inp.alias}
            addr = inp.address
            props["bus"] = f"usb.{addr.bus or 0}" if addr is not None and str(addr.type) == "usb" else "usb.0"
            props["port"] = ports[id(inp)]
        elif bus == "virtio":
            if itype not in _VIRTIO_INPUTS:
                raise ConfigUnsupported(f"unsupported configuration: virtio input type '{itype}'")
            props = {"driver": _VIRTIO_INPUTS[itype], **virtio_opts(inp), "id": inp.alias}
            if itype == "passthrough":
                src = next((e for e in inp.extra if e.tag == "source"), None)
                if src is None or not src.get("evdev"):
                    raise ConfigUnsupported("unsupported configuration: passthrough input without an evdev")
                props["evdev"] = src.get("evdev")
            props.update(pci_props(inp.address, defn))
        else:
            raise ConfigUnsupported(f"unsupported configuration: input bus '{bus}' is not supported")
        argv += ["-device", qjson(props)]
    return argv


def _evdev_props(inp: Any) -> JsonProps:
    """A host evdev device passed through with QEMU's input-linux object."""
    src = next((e for e in inp.extra if e.tag == "source"), None)
    if src is None or not src.get("dev"):
        raise ConfigUnsupported("unsupported configuration: evdev input without a source device")
    props: JsonProps = {"qom-type": "input-linux", "id": inp.alias, "evdev": src.get("dev")}
    if src.get("repeat") is not None:
        props["repeat"] = src.get("repeat") == "on"
    if src.get("grab") == "all":
        props["grab_all"] = True
    if src.get("grabToggle"):
        props["grab-toggle"] = src.get("grabToggle")
    return props


def audio_args(defn: DomainDef) -> list[str]:
    # libvirt 9 always gives QEMU one explicit audio backend so it never probes the host's
    # sound servers; "none" unless a graphics protocol carries audio.
    # <audio> is not modelled by conf yet: it is kept as a raw element among devices.others.
    audios = [o.element for o in defn.devices.others if o.tag == "audio" and o.element is not None]
    if not audios:
        return ["-audiodev", qjson({"id": "audio1", "driver": "none"})]
    argv: list[str] = []
    for a in audios:
        if len(a) or set(a.attrib) - {"id", "type"}:
            raise ConfigUnsupported("unsupported configuration: audio backend options are not supported")
        atype = str(a.get("type") or "none")
        if atype not in ("none", "alsa", "coreaudio", "jack", "oss", "pulseaudio", "sdl", "file"):
            raise ConfigUnsupported(f"unsupported configuration: audio type '{atype}' is not supported")
        if atype in ("file", "jack"):
            raise ConfigUnsupported(f"unsupported configuration: audio type '{atype}' needs options we do not build")
        argv += ["-audiodev", qjson({"id": f"audio{a.get('id')}", "driver": "pa" if atype == "pulseaudio" else atype})]
    return argv


def graphics_args(defn: DomainDef, domain_dir: str) -> list[str]:
    argv: list[str] = []
    for g in defn.devices.graphics:
        gtype = str(g.type)
        if gtype != "vnc":
            raise ConfigUnsupported(f"unsupported configuration: graphics type '{gtype}' is not supported")
        lis = g.listens[0] if g.listens else None
        listen_type = str(lis.type) if lis is not None else "address"
        if listen_type == "none":
            opts = ["none"]
        elif listen_type == "socket" or g.socket:
            sock = (lis.socket if lis is not None else None) or g.socket or f"{domain_dir}/vnc.sock"
            opts = [f"vnc=unix:{qescape(sock)}"]
        elif listen_type != "address":
            raise ConfigUnsupported(f"unsupported configuration: graphics listen type '{listen_type}' is not supported")
        else:
            listen = (lis.address if lis is not None else None) or "127.0.0.1"
            host = f"[{listen}]" if ":" in listen else listen
            port = g.port if g.port is not None and g.port >= 5900 else 5900
            opts = [f"{host}:{port - 5900}"]
        if g.websocket is not None:
            opts.append(f"websocket={g.websocket}")
        share = g.other.get("sharePolicy")
        if share:
            opts.append(f"share={share}")
        if g.other.get("powerControl") == "yes":
            opts.append("power-control=on")
        opts.append("audiodev=audio1")
        argv += ["-vnc", ",".join(opts)]
    return argv


def video_args(defn: DomainDef) -> list[str]:
    argv: list[str] = []
    for i, v in enumerate(defn.devices.videos):
        model = str(v.model or "cirrus")
        if model == "none":
            continue
        drv = _VIDEO_PRIMARY.get(model) if i == 0 else _VIDEO_SECONDARY.get(model)
        if drv is None:
            raise ConfigUnsupported(f"unsupported configuration: video model '{model}' is not supported")
        props: JsonProps = {"driver": drv, **(virtio_opts(v) if model == "virtio" else {}), "id": v.alias}
        if model == "virtio":
            props["max_outputs"] = v.heads or 1
        elif model == "qxl":
            # QEMU's qxl sizes: ram/vram in bytes, vram64 and vgamem in MiB (libvirt's KiB
            # defaults: ram 65536, vram 65536, vgamem 16384).
            props["max_outputs"] = v.heads or 1
            props["ram_size"] = (v.ram or 65536) * 1024
            props["vram_size"] = (v.vram or 65536) * 1024
            props["vram64_size_mb"] = (v.vram64 or 0) // 1024
            props["vgamem_mb"] = (v.vgamem or 16384) // 1024
        elif model == "vga":  # QEMU's VGA takes libvirt's 16 MiB default explicitly
            props["vgamem_mb"] = (v.vgamem or 16384) // 1024
        elif model == "bochs":
            props["vgamem"] = (v.vram or 16384) * 1024
        props.update(pci_props(v.address, defn))
        argv += ["-device", qjson(props)]
    return argv
