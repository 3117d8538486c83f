"""Device address assignment the way libvirt 9 does it for x86 ``pc`` and ``q35``.

* drive addresses (IDE / SATA) follow from the target name (``hdc`` -> controller 0 bus 1).
* virtio-serial ports: channels from port 1 up (port 0 is the console's).
* PCI: on ``pc`` everything sits on the root bus (slot 1 is the PIIX3, slot 2 is kept for the
  primary video card); on ``q35`` every PCIe endpoint gets its own ``pcie-root-port``, the
  ports fill ``pcie.0`` slot by slot, eight functions each, and one spare port is added for
  hotplug, exactly as libvirt lays a fresh definition out.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from pyvirt.errors import ConfigUnsupported

# q35 slots the chipset occupies: 0 host bridge, 0x1e DMI-PCI bridge, 0x1f LPC/SATA/SMBus.
_Q35_RESERVED = {0x00, 0x1E, 0x1F}
# pc slots: 0 host bridge, 1 PIIX3 (ISA, IDE at .1, USB at .2, ACPI at .3).
_PC_RESERVED = {0x00, 0x01}

@dataclass(frozen=True, slots=True)
class PciSlot:
    bus: int
    slot: int
    function: int = 0
    multifunction: bool | None = None


def drive_address_for(target_dev: str, bus: str) -> tuple[int, int, int, int]:
    """(controller, bus, target, unit) of a disk from its target name, libvirt's mapping."""
    idx = disk_index(target_dev)
    if bus == "ide":
        return idx // 4, (idx % 4) // 2, 0, idx % 2
    if bus == "sata":
        return idx // 6, 0, 0, idx % 6
    if bus == "scsi":
        return idx // 7, 0, 0, idx % 7
    if bus == "fdc":
        return 0, 0, 0, idx % 2
    raise ConfigUnsupported(f"unsupported configuration: no drive address for bus '{bus}'")


def disk_index(target_dev: str) -> int:
    """``vda`` -> 0, ``sdb`` -> 1, ``hdaa`` -> 26: the letters after the 2-letter prefix."""
    letters = target_dev[2:] if target_dev[:2] in ("hd", "sd", "vd", "fd", "xv", "ub") else target_dev[3:]
    if not letters or not letters.isalpha():
        raise ConfigUnsupported(f"unsupported configuration: invalid disk target '{target_dev}'")
    n = 0
    for ch in letters:
        n = n * 26 + (ord(ch) - ord("a") + 1)
    return n - 1


class PciAllocator:
    """Hands out free root-bus PCI spots; multi-function only for root ports (libvirt's way).

    ``used`` holds (bus, slot, function) triples already taken by explicit addresses.
    """

    def __init__(self, q35: bool, used: set[tuple[int, int, int]]) -> None:
        self.q35 = q35
        self.used = set(used)
        self._port_slots: set[int] = set()

    def _root_slots(self) -> Iterator[int]:
        reserved = _Q35_RESERVED if self.q35 else _PC_RESERVED
        return (s for s in range(1 if self.q35 else 2, 32) if s not in reserved)

    def _take(self, bus: int, slot: int, function: int = 0) -> PciSlot:
        self.used.add((bus, slot, function))
        return PciSlot(bus, slot, function)

    def _slot_free(self, slot: int) -> bool:
        return not any((0, slot, f) in self.used for f in range(8))

    def reserve(self, bus: int, slot: int, function: int = 0) -> PciSlot:
        return self._take(bus, slot, function)

    def root_slot(self) -> PciSlot:
        """A whole free slot on the root bus (function 0)."""
        for s in self._root_slots():
            if self._slot_free(s):
                return self._take(0, s)
        raise ConfigUnsupported("unsupported configuration: no free PCI slot on the root bus")

    def mark_root_port(self, slot: int) -> None:
        """``slot`` holds root ports the user placed: more ports may join it."""
        self._port_slots.add(slot)

    def root_port_spot(self) -> PciSlot:
        """Where the next pcie-root-port goes: packed 8 functions per root-bus slot, joining
        slots that already hold root ports."""
        for s in self._root_slots():
            if s in self._port_slots:
                free = [f for f in range(8) if (0, s, f) not in self.used]
                if free:
                    return self._take(0, s, free[0])
            elif self._slot_free(s):
                self._port_slots.add(s)
                return self._take(0, s)
        raise ConfigUnsupported("unsupported configuration: no free PCI slot on the root bus")
