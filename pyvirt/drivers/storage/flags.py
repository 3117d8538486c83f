"""virConnectListAllStoragePools filter bits, and the filter itself (no imports: the test
driver loads this on pyvirsh's start-up path)."""

from __future__ import annotations

INACTIVE, ACTIVE, PERSISTENT, TRANSIENT, AUTOSTART, NO_AUTOSTART = 1, 2, 4, 8, 16, 32
# VIR_CONNECT_LIST_STORAGE_POOLS_<TYPE>, by pool type name
TYPE_BITS = {"dir": 64, "fs": 128, "netfs": 256, "logical": 512, "disk": 1024, "iscsi": 2048,
             "scsi": 4096, "mpath": 8192, "rbd": 16384, "sheepdog": 32768, "gluster": 65536,
             "zfs": 131072, "vstorage": 262144, "iscsi-direct": 524288}


def pool_matches(flags: int, active: bool, persistent: bool, autostart: bool, ptype: str) -> bool:
    """Each given group of bits (state, persistence, autostart, types) must admit the pool."""
    if flags & (ACTIVE | INACTIVE) and not flags & (ACTIVE if active else INACTIVE):
        return False
    if flags & (PERSISTENT | TRANSIENT) and not flags & (PERSISTENT if persistent else TRANSIENT):
        return False
    if flags & (AUTOSTART | NO_AUTOSTART) and not flags & (AUTOSTART if autostart else NO_AUTOSTART):
        return False
    return not (flags & ~0x3F and not flags & TYPE_BITS.get(ptype, 0))
