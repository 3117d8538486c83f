"""Network interfaces: ``-netdev`` backend (``hostnetN``) + NIC ``-device`` (``netN``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyvirt.drivers.qemu.command.runtime import CommandRuntime
from pyvirt.drivers.qemu.command.util import JsonProps, pci_props, qjson, virtio_opts
from pyvirt.errors import ConfigUnsupported

if TYPE_CHECKING:
    from pyvirt.conf.domain import DomainDef

NIC_DRIVERS = {
    "virtio": "virtio-net-pci",
    "e1000": "e1000",
    "e1000e": "e1000e",
    "rtl8139": "rtl8139",
}


def nic_props(net: Any, index: int, defn: DomainDef, bootindex: int | None) -> JsonProps:
    model = str(net.model or "rtl8139")
    drv = NIC_DRIVERS.get(model)
    if drv is None:
        raise ConfigUnsupported(f"unsupported configuration: interface model '{model}' is not supported")
    props: JsonProps = {"driver": drv, **(virtio_opts(net) if model == "virtio" else {}), "netdev": f"host{net.alias}", "id": net.alias, "mac": net.mac}
    if bootindex is not None:  # libvirt puts a NIC's bootindex before its address
        props["bootindex"] = bootindex
    props.update(pci_props(net.address, defn))
    # <rom enabled='no'/>: no option ROM at all (iPXE would otherwise be loaded).
    rom = next((e for e in net.extra if e.tag == "rom"), None)
    if rom is not None:
        if rom.get("enabled") == "no":
            props["romfile"] = ""
        else:
            if rom.get("bar") == "off":
                props["rombar"] = 0
            if rom.get("file") is not None:
                props["romfile"] = rom.get("file")
    return props


def netdev_props(net: Any, rt: CommandRuntime) -> JsonProps:
    """The backend: SLIRP for type='user', otherwise the tap (+ vhost-net) fds we were given."""
    ntype = str(net.type)
    if ntype == "user":
        return {"type": "user", "id": f"host{net.alias}"}
    if ntype not in ("ethernet", "bridge", "network"):
        raise ConfigUnsupported(f"unsupported configuration: interface type '{ntype}' is not supported yet")
    taps = rt.taps(str(net.alias))
    if not taps:
        raise ConfigUnsupported(
            f"unsupported configuration: interface '{net.alias}' of type '{ntype}' needs a tap device fd")
    props: JsonProps = {"type": "tap"}
    props["fds" if len(taps) > 1 else "fd"] = ":".join(str(fd) for fd in taps)
    vhosts = rt.vhosts(str(net.alias)) if str(net.model or "") == "virtio" else ()
    if vhosts:
        props["vhost"] = True
        props["vhostfds" if len(vhosts) > 1 else "vhostfd"] = ":".join(str(fd) for fd in vhosts)
    props["id"] = f"host{net.alias}"
    return props


def net_args(defn: DomainDef, bootindexes: dict[int, int], rt: CommandRuntime) -> list[str]:
    argv: list[str] = []
    for i, net in enumerate(defn.devices.interfaces):
        argv += ["-netdev", qjson(netdev_props(net, rt))]
        argv += ["-device", qjson(nic_props(net, i, defn, bootindexes.get(id(net))))]
    return argv
