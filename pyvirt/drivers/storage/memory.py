"""In-memory storage for the test driver (test:///...), as libvirt's test driver keeps it:
pools and volumes are definitions only (nothing touches the disk), each pool reports a fixed
100 GiB capacity, allocation is the sum of its volumes' allocations. Resize, wipe, upload and
download are not supported there (VIR_ERR_NO_SUPPORT), exactly like libvirt's test driver.

Every method completes without suspending: pyvirsh drives the test driver without a loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyvirt.drivers.base import StoragePoolInfo, StoragePoolRef, StorageVolInfo, StorageVolRef
from pyvirt.drivers.storage.flags import pool_matches
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

if TYPE_CHECKING:  # the XML model (lxml) loads on the first storage call, not with the driver
    from pyvirt.conf.storage.pool import PoolDef
    from pyvirt.conf.storage.volume import VolDef
    from pyvirt.drivers.storage.pools import PoolObj

POOL_CAPACITY = 100 * 1024**3
_INACTIVE, _ACTIVE, _PERSISTENT, _TRANSIENT, _AUTOSTART, _NO_AUTOSTART = 1, 2, 4, 8, 16, 32


def _uuid_str(raw: bytes) -> str:
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _err(code: ErrorCode, msg: str, domain: ErrorDomain = ErrorDomain.TEST) -> VirtError:
    return VirtError(msg, code, domain)


# Plain slotted classes, not dataclasses: this module loads with the test driver on every
# pyvirsh start, and building dataclasses costs more than the rest of it.
class MemPool:
    __slots__ = ("obj", "vols")

    def __init__(self, obj: PoolObj, vols: dict[str, VolDef] | None = None) -> None:
        self.obj = obj
        self.vols: dict[str, VolDef] = vols if vols is not None else {}

    @property
    def name(self) -> str:
        return self.obj.defn.name

    def ref(self) -> StoragePoolRef:
        return StoragePoolRef(self.name, self.obj.uuid_bytes)

    def sizes(self) -> tuple[int, int, int]:
        alloc = sum(v.allocation for v in self.vols.values())
        return POOL_CAPACITY, alloc, POOL_CAPACITY - alloc


class MemStorage:
    __slots__ = ("pools",)

    def __init__(self) -> None:
        self.pools: dict[str, MemPool] = {}

    @classmethod
    def from_stock(cls, stock: dict[str, Any]) -> MemStorage:
        """Pools of the node (the stock default-pool, or a node file's <pool>s)."""
        from pyvirt.conf.storage.pool import parse_pool_xml
        from pyvirt.drivers.storage.pools import PoolObj

        st = cls()
        for so in stock.values():
            try:
                defn = parse_pool_xml(so.xml)
            except VirtError:
                continue
            st.pools[defn.name] = MemPool(PoolObj(defn, so.active, so.persistent, so.autostart))
        return st


class MemoryStorageMixin:
    """The Driver's storage methods over the connection's test node."""

    if TYPE_CHECKING:  # TestDriver's

        @property
        def node(self) -> Any: ...

    def _mem(self) -> MemStorage:
        node = self.node
        # one storage state per test node, shared by its connections like the node itself;
        # kept in the node's __dict__ so the node type needs no storage field
        st: MemStorage | None = vars(node).get("storage_state")
        if st is None:
            st = MemStorage.from_stock(node.pools)
            vars(node)["storage_state"] = st
        return st

    def _mpool(self, ref: StoragePoolRef | str) -> MemPool:
        name = ref if isinstance(ref, str) else ref.name
        p = self._mem().pools.get(name)
        if p is None:
            raise _err(ErrorCode.NO_STORAGE_POOL,
                       f"Storage pool not found: no storage pool with matching name '{name}'")
        return p

    def _mactive(self, ref: StoragePoolRef | str, named: bool = True) -> MemPool:
        p = self._mpool(ref)
        if not p.obj.active:
            what = f"storage pool '{p.name}'" if named else "storage pool"
            raise _err(ErrorCode.OPERATION_INVALID,
                       f"Requested operation is not valid: {what} is not active")
        return p

    def _minactive(self, ref: StoragePoolRef) -> MemPool:
        p = self._mpool(ref)
        if p.obj.active:
            raise _err(ErrorCode.OPERATION_INVALID,
                       f"Requested operation is not valid: storage pool '{p.name}' is active")
        return p

    def _mvol(self, ref: StorageVolRef) -> tuple[MemPool, VolDef]:
        p = self._mactive(ref.pool)
        v = p.vols.get(ref.name)
        if v is None:
            raise _err(ErrorCode.NO_STORAGE_VOL, "Storage volume not found: no storage vol "
                       f"with matching name '{ref.name}'")
        return p, v

    # ------------------------------------------------------------------ pools
    async def list_all_storage_pools(self, flags: int = 0) -> list[StoragePoolRef]:
        out = []
        for p in self._mem().pools.values():
            o = p.obj
            if not pool_matches(flags, o.active, o.persistent, o.autostart, o.defn.type.value):
                continue
            out.append(p.ref())
        return sorted(out, key=lambda r: r.name)

    async def storage_pool_lookup_by_name(self, name: str) -> StoragePoolRef:
        return self._mpool(name).ref()

    async def storage_pool_lookup_by_uuid(self, uuid: bytes) -> StoragePoolRef:
        for p in self._mem().pools.values():
            if p.obj.uuid_bytes == uuid:
                return p.ref()
        raise _err(ErrorCode.NO_STORAGE_POOL, "Storage pool not found: no storage pool with "
                   f"matching uuid '{_uuid_str(uuid)}'")

    async def storage_pool_lookup_by_volume(self, vol: StorageVolRef) -> StoragePoolRef:
        return self._mpool(vol.pool).ref()

    def _new_pool(self, xml: str) -> PoolDef:
        from pyvirt.conf.storage.pool import parse_pool_xml

        defn = parse_pool_xml(xml)
        for p in self._mem().pools.values():
            if p.name == defn.name and p.obj.defn.uuid != defn.uuid:
                raise _err(ErrorCode.OPERATION_FAILED, f"operation failed: pool '{defn.name}' "
                           f"already exists with uuid {p.obj.defn.uuid}", ErrorDomain.STORAGE)
            if p.obj.defn.uuid == defn.uuid and p.name != defn.name:
                raise _err(ErrorCode.OPERATION_FAILED, f"operation failed: pool '{p.name}' is "
                           f"already defined with uuid {defn.uuid}", ErrorDomain.STORAGE)
        return defn

    async def storage_pool_define_xml(self, xml: str, flags: int = 0) -> StoragePoolRef:
        from pyvirt.drivers.storage.pools import PoolObj

        defn = self._new_pool(xml)
        old = self._mem().pools.get(defn.name)
        new = MemPool(PoolObj(defn))
        if old is not None:
            new.obj.active, new.obj.autostart, new.vols = old.obj.active, old.obj.autostart, old.vols
        self._mem().pools[defn.name] = new
        return new.ref()

    async def storage_pool_create_xml(self, xml: str, flags: int = 0) -> StoragePoolRef:
        defn = self._new_pool(xml)
        if defn.name in self._mem().pools:
            raise _err(ErrorCode.OPERATION_FAILED,
                       f"operation failed: pool '{defn.name}' already exists", ErrorDomain.STORAGE)
        from pyvirt.drivers.storage.pools import PoolObj

        new = MemPool(PoolObj(defn, active=True, persistent=False))
        self._mem().pools[defn.name] = new
        return new.ref()

    async def storage_pool_build(self, pool: StoragePoolRef, flags: int = 0) -> None:
        self._minactive(pool)

    async def storage_pool_create(self, pool: StoragePoolRef, flags: int = 0) -> None:
        self._minactive(pool).obj.active = True

    async def storage_pool_destroy(self, pool: StoragePoolRef) -> None:
        p = self._mactive(pool)
        p.obj.active = False
        if not p.obj.persistent:
            del self._mem().pools[p.name]

    async def storage_pool_delete(self, pool: StoragePoolRef, flags: int = 0) -> None:
        self._minactive(pool)

    async def storage_pool_undefine(self, pool: StoragePoolRef) -> None:
        p = self._minactive(pool)
        del self._mem().pools[p.name]

    async def storage_pool_refresh(self, pool: StoragePoolRef, flags: int = 0) -> None:
        self._mactive(pool)

    async def storage_pool_get_info(self, pool: StoragePoolRef) -> StoragePoolInfo:
        p = self._mpool(pool)
        return StoragePoolInfo(2 if p.obj.active else 0, *p.sizes())

    async def storage_pool_get_xml_desc(self, pool: StoragePoolRef, flags: int = 0) -> str:
        p = self._mpool(pool)
        p.obj.defn.capacity, p.obj.defn.allocation, p.obj.defn.available = p.sizes()
        return p.obj.defn.format()

    async def storage_pool_get_autostart(self, pool: StoragePoolRef) -> bool:
        return self._mpool(pool).obj.autostart

    async def storage_pool_set_autostart(self, pool: StoragePoolRef, autostart: bool) -> None:
        p = self._mpool(pool)
        if not p.obj.persistent:
            raise _err(ErrorCode.INVALID_ARG, "invalid argument: pool has no config file")
        p.obj.autostart = autostart

    async def storage_pool_is_active(self, pool: StoragePoolRef) -> bool:
        return self._mpool(pool).obj.active

    async def storage_pool_is_persistent(self, pool: StoragePoolRef) -> bool:
        return self._mpool(pool).obj.persistent

    # ------------------------------------------------------------------ volumes
    def _vref(self, p: MemPool, v: VolDef) -> StorageVolRef:
        return StorageVolRef(p.name, v.name, v.key or "")

    async def storage_pool_list_all_volumes(self, pool: StoragePoolRef, flags: int = 0) -> list[StorageVolRef]:
        p = self._mactive(pool, named=False)
        return [self._vref(p, v) for v in p.vols.values()]

    async def storage_vol_lookup_by_name(self, pool: StoragePoolRef, name: str) -> StorageVolRef:
        p = self._mactive(pool)
        v = p.vols.get(name)
        if v is None:
            raise _err(ErrorCode.NO_STORAGE_VOL,
                       f"Storage volume not found: no storage vol with matching name '{name}'")
        return self._vref(p, v)

    def _find(self, attr: str, val: str) -> StorageVolRef:
        for p in self._mem().pools.values():
            if p.obj.active:
                for v in p.vols.values():
                    if getattr(v, attr) == val:
                        return self._vref(p, v)
        raise _err(ErrorCode.NO_STORAGE_VOL,
                   f"Storage volume not found: no storage vol with matching {attr} '{val}'")

    async def storage_vol_lookup_by_key(self, key: str) -> StorageVolRef:
        return self._find("key", key)

    async def storage_vol_lookup_by_path(self, path: str) -> StorageVolRef:
        return self._find("path", path)

    def _add_vol(self, pool: StoragePoolRef, xml: str) -> tuple[MemPool, VolDef]:
        from pyvirt.conf.storage.volume import parse_vol_xml

        p = self._mactive(pool)
        vol = parse_vol_xml(xml, p.obj.defn.type)
        if vol.name in p.vols:
            raise _err(ErrorCode.OPERATION_FAILED, "operation failed: storage vol already exists")
        vol.path = f"{p.obj.defn.target_path}/{vol.name}"
        vol.key = vol.path
        return p, vol

    async def storage_vol_create_xml(self, pool: StoragePoolRef, xml: str, flags: int = 0) -> StorageVolRef:
        p, vol = self._add_vol(pool, xml)
        p.vols[vol.name] = vol
        return self._vref(p, vol)

    async def storage_vol_create_xml_from(
        self, pool: StoragePoolRef, xml: str, clone: StorageVolRef, flags: int = 0
    ) -> StorageVolRef:
        _, src = self._mvol(clone)
        p, vol = self._add_vol(pool, xml)
        vol.allocation = src.allocation
        p.vols[vol.name] = vol
        return self._vref(p, vol)

    async def storage_vol_delete(self, vol: StorageVolRef, flags: int = 0) -> None:
        p, v = self._mvol(vol)
        del p.vols[v.name]

    async def storage_vol_get_info(self, vol: StorageVolRef) -> StorageVolInfo:
        _, v = self._mvol(vol)
        return StorageVolInfo(0, v.capacity, v.allocation)

    async def storage_vol_get_xml_desc(self, vol: StorageVolRef, flags: int = 0) -> str:
        return self._mvol(vol)[1].format_xml()

    async def storage_vol_get_path(self, vol: StorageVolRef) -> str:
        return self._mvol(vol)[1].path or ""
