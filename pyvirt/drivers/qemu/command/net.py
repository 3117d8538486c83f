"""Network interfaces: ``-netdev`` backend (``hostnetN``) + NIC ``-device`` (``netN``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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


def net_args(defn: DomainDef, bootindexes: dict[int, int]) -> list[str]:
    argv: list[str] = []
    for i, net in enumerate(defn.devices.interfaces):
        ntype = str(net.type)
        if ntype != "user":
            raise ConfigUnsupported(f"unsupported configuration: interface type '{ntype}' is not supported yet")
        argv += ["-netdev", qjson({"type": "user", "id": f"host{net.alias}"})]
        argv += ["-device", qjson(nic_props(net, i, defn, bootindexes.get(id(net))))]
    return argv
