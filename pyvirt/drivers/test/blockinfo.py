"""virDomainBlockStats and virDomainGetBlockInfo for the test driver, as libvirt 9.0's
test driver answers them (checked with virsh and python3-libvirt on test:///default).

The numbers mean nothing: block info is a fixed 1 TiB disk; block stats are derived from
the current time (microseconds since the epoch, divided by 10, 20, 30, 40; seconds / 2
for errors) so that they change between calls. virDomainBlockStatsFlags is not there, as
in libvirt, so virsh falls back to the five legacy counters.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from pyvirt.drivers.base import BlockInfo, BlockStats
from pyvirt.drivers.test.mixin import TestDriverMixin
from pyvirt.drivers.test.mixin import driver_error as _err
from pyvirt.errors import ErrorCode, ErrorDomain, NoSupport

if TYPE_CHECKING:
    from pyvirt.drivers.refs import DomainRef
    from pyvirt.drivers.test.node import TestDomainObj

_CAPACITY = 1099506450432
_SIZE = 1 << 40


def _has_disk(obj: TestDomainObj, path: str) -> tuple[bool, bool]:
    """(the disk exists, it has a source) - by target name or source path, as
    virDomainDiskByName."""
    for disk in obj.doc.root.iterfind("devices/disk"):
        target = disk.find("target")
        src = disk.find("source")
        names = {target.get("dev") if target is not None else None}
        if src is not None:
            names |= {src.get("file"), src.get("dev"), src.get("name"), src.get("dir")}
        if path in names:
            has_source = src is not None and any(src.get(a) for a in ("file", "dev", "name", "dir", "volume"))
            return True, has_source
    return False, False


class TestBlockMixin(TestDriverMixin):
    async def block_stats(self, dom: DomainRef, disk: str) -> BlockStats:
        if not disk:
            raise _err(ErrorCode.OPERATION_UNSUPPORTED, "Operation not supported: summary statistics are not supported yet")
        obj = self._obj(dom)
        if not obj.active:
            raise _err(ErrorCode.OPERATION_INVALID, "Requested operation is not valid: domain is not running",
                       ErrorDomain.DOMAIN)
        if not _has_disk(obj, disk)[0]:
            raise _err(ErrorCode.INVALID_ARG, f"invalid argument: invalid path: {disk}")
        us = time.time_ns() // 1000
        return BlockStats(us // 10, us // 20, us // 30, us // 40, us // 1_000_000 // 2)

    async def block_stats_flags(self, dom: DomainRef, disk: str, flags: int = 0) -> BlockStats:
        raise NoSupport("this function is not supported by the connection driver: virDomainBlockStatsFlags",
                        ErrorCode.NO_SUPPORT, ErrorDomain.DOMAIN)

    async def get_block_info(self, dom: DomainRef, disk: str, flags: int = 0) -> BlockInfo:
        if flags:
            raise _err(ErrorCode.INVALID_ARG, f"unsupported flags (0x{flags:x}) in function testDomainGetBlockInfo")
        found, has_source = _has_disk(self._obj(dom), disk)
        if not found:
            raise _err(ErrorCode.INVALID_ARG, f"invalid argument: invalid path {disk} not assigned to domain")
        if not has_source:
            raise _err(ErrorCode.INVALID_ARG,
                       f"invalid argument: disk '{disk}' does not currently have a source assigned")
        return BlockInfo(_CAPACITY, _SIZE, _SIZE)
