"""pyvirsh ``domblkinfo --all``: one table row per disk of the domain's current XML, as virsh
9.0 prints it (``Target Capacity Allocation Physical``; ``-`` for a disk without a source).

Like virsh, a disk whose size cannot be read ends the command with that error and no
table, except a network disk of a shut-off domain, whose storage cannot be asked: zeros.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from pyvirt.cli.ctl import CmdFailed
from pyvirt.cli.fmt import table
from pyvirt.drivers.base import BlockInfo
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

if TYPE_CHECKING:
    from pyvirt.cli.ctl import Ctl
    from pyvirt.drivers.base import DomainRef

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")


def _cell(n: int, human: bool) -> str:
    if not human:
        return str(n)
    val, unit = float(n), 0
    while val >= 1024 and unit < len(_UNITS) - 1:
        val /= 1024
        unit += 1
    return f"{val:.3f} {_UNITS[unit]}"


def domblkinfo_all(ctl: Ctl, d: DomainRef, human: bool) -> None:
    drv = ctl.conn
    try:
        active = ctl.call(drv.is_active(d))
        root = ET.fromstring(ctl.call(drv.get_xml_desc(d, 0)))
        rows: list[list[str]] = []
        for disk in root.findall("devices/disk"):
            target = disk.find("target")
            dev = target.get("dev", "") if target is not None else ""
            src = disk.find("source")
            if src is None:
                rows.append([dev, "-", "-", "-"])
                continue
            try:
                info = ctl.call(drv.get_block_info(d, dev, 0))
            except VirtError as e:
                if not (src.get("protocol") and not active and e.code == ErrorCode.INTERNAL_ERROR
                        and e.domain == ErrorDomain.STORAGE):
                    raise
                info = BlockInfo(0, 0, 0)
            rows.append([dev, *(_cell(n, human) for n in (info.capacity, info.allocation, info.physical))])
    except VirtError as e:
        raise CmdFailed(e.message) from None
    ctl.print(table(("Target", "Capacity", "Allocation", "Physical"), rows))
