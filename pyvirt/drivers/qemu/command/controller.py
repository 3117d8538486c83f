"""Controllers: PCI topology first (in index order), then USB, SCSI, SATA, virtio-serial."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyvirt.drivers.qemu.command.util import JsonProps, pci_props, qjson, virtio_opts
from pyvirt.errors import ConfigUnsupported

if TYPE_CHECKING:
    from pyvirt.conf.domain import DomainDef

# Emission order of controller types (libvirt builds the PCI tree first so every later
# device's bus exists when QEMU realizes it).
_ORDER = ("pci", "usb", "scsi", "ide", "sata", "fdc", "virtio-serial")

_USB_DRIVERS = {
    "piix3-uhci": "piix3-usb-uhci",
    "piix4-uhci": "piix4-usb-uhci",
    "qemu-xhci": "qemu-xhci",
    "nec-xhci": "nec-usb-xhci",
    "ich9-ehci1": "ich9-usb-ehci1",
}
_SCSI_DRIVERS = {"virtio-scsi": "virtio-scsi-pci", "lsilogic": "lsi"}


def _is_implicit(ctrl: Any, defn: DomainDef) -> bool:
    """Controllers QEMU's machine type already contains (never on the command line)."""
    ctype, model = str(ctrl.type), str(ctrl.model or "")
    if ctype == "pci" and model in ("pci-root", "pcie-root"):
        return True
    machine = str(defn.os.machine or "")
    q35 = machine.startswith(("q35", "pc-q35-"))
    if ctype == "ide" and not q35 and ctrl.index == 0:
        return True
    if ctype == "sata" and q35 and ctrl.index == 0:
        return True
    if ctype == "fdc":
        return True
    return ctype == "usb" and model == "none"


def controller_props(ctrl: Any, defn: DomainDef) -> JsonProps:
    ctype, model = str(ctrl.type), str(ctrl.model or "")
    props: JsonProps
    if ctype == "pci":
        if model == "pcie-root-port":
            props = {"driver": "pcie-root-port", "port": ctrl.target_port, "chassis": ctrl.target_chassis}
            if ctrl.model_name not in (None, "pcie-root-port"):
                raise ConfigUnsupported(f"unsupported configuration: PCI controller model name '{ctrl.model_name}'")
        elif model == "pci-bridge":
            props = {"driver": "pci-bridge", "chassis_nr": ctrl.target_chassis_nr or ctrl.index}
        elif model == "dmi-to-pci-bridge":
            props = {"driver": "i82801b11-bridge"}
        elif model == "pcie-to-pci-bridge":
            props = {"driver": "pcie-pci-bridge"}
        else:
            raise ConfigUnsupported(f"unsupported configuration: PCI controller model '{model}' is not supported")
        props["id"] = ctrl.alias
        if ctrl.target_hotplug is not None:
            props["hotplug"] = ctrl.target_hotplug == "on"
    elif ctype == "usb":
        drv = _USB_DRIVERS.get(model)
        if drv is None:
            raise ConfigUnsupported(f"unsupported configuration: USB controller model '{model}' is not supported")
        props = {"driver": drv}
        if drv in ("qemu-xhci", "nec-usb-xhci") and ctrl.ports:
            props["p2"] = ctrl.ports
            props["p3"] = ctrl.ports
        props["id"] = ctrl.alias
    elif ctype == "scsi":
        drv = _SCSI_DRIVERS.get(model)
        if drv is None:
            raise ConfigUnsupported(f"unsupported configuration: SCSI controller model '{model}' is not supported")
        props = {"driver": drv, **(virtio_opts(ctrl) if drv == "virtio-scsi-pci" else {}), "id": ctrl.alias}
    elif ctype == "sata":
        q35 = str(defn.os.machine or "").startswith(("q35", "pc-q35-"))
        props = {"driver": "ich9-ahci" if q35 else "ahci", "id": ctrl.alias}
    elif ctype == "virtio-serial":
        props = {"driver": "virtio-serial-pci", **virtio_opts(ctrl), "id": ctrl.alias}
        if ctrl.ports:
            props["max_ports"] = ctrl.ports
        if ctrl.vectors:
            props["vectors"] = ctrl.vectors
    else:
        raise ConfigUnsupported(f"unsupported configuration: controller type '{ctype}' is not supported")
    props.update(pci_props(ctrl.address, defn))
    return props


def controller_args(defn: DomainDef) -> list[str]:
    argv: list[str] = []
    ctrls = defn.devices.controllers
    # Root-bus ACPI hotplug of the i440fx is a PIIX4_PM property, set before any device.
    root = next((c for c in ctrls if str(c.type) == "pci" and str(c.model) == "pci-root"), None)
    if root is not None and root.target_hotplug is not None:
        argv += ["-global", f"PIIX4_PM.acpi-root-pci-hotplug={root.target_hotplug}"]
    for ctype in _ORDER:
        group = [c for c in ctrls if str(c.type) == ctype]
        if ctype == "pci":
            group.sort(key=lambda c: int(c.index))
        for ctrl in group:
            if not _is_implicit(ctrl, defn):
                argv += ["-device", qjson(controller_props(ctrl, defn))]
    other = {str(c.type) for c in ctrls} - set(_ORDER)
    if other:
        raise ConfigUnsupported(
            f"unsupported configuration: controller type '{min(other)}' is not supported"
        )
    return argv
