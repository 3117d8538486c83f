"""A running disk's allocation and physical size, as libvirt 9.0's virDomainGetBlockInfo
reports them (checked against libvirtd: a qcow2 before and after guest writes and after a
pull, a raw file not yet written).

For a qcow2 file libvirt gives the file's own numbers (allocated bytes, length) - the same
as for a shut-off domain - whatever QEMU's write offsets say. For other formats the
allocation is the highest offset QEMU wrote to the storage node (``parent`` in the
``query-blockstats`` entry), and the physical size then the allocated bytes; while that
offset is 0 or equals the allocated bytes, the file's numbers again.
"""

from __future__ import annotations

from typing import Any


def live_sizes(entry: dict[str, Any], fmt: str | None, allocation: int, physical: int) -> tuple[int, int]:
    """(allocation, physical) of a running disk of format ``fmt`` from its query-blockstats
    ``entry``, the file's allocated bytes and its length."""
    if fmt == "qcow2":
        return allocation, physical
    node = entry.get("parent") or {}
    wr = int((node.get("stats") or {}).get("wr_highest_offset", 0))
    if wr == 0 or allocation == 0 or wr == allocation:
        return allocation, physical
    return wr, allocation
