"""StorageMixin: the Driver's storage methods over one StorageState (pools on disk).

A driver that serves storage (the QEMU driver) inherits this mixin before ``Driver`` and sets
``self.storage = StorageState.open(config_dir, run_dir)``. Mutating calls are serialised per
connection state by one asyncio lock: storage operations are short (qemu-img), and a single
lock makes "check, then act" free of races between concurrent clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import uuid as uuidlib
from dataclasses import dataclass, field
from pathlib import Path

from pyvirt.conf.storage.common import Perms
from pyvirt.conf.storage.pool import PoolType, parse_pool_xml
from pyvirt.conf.storage.volume import VolDef, parse_vol_xml
from pyvirt.drivers.base import (
    ByteStream,
    StoragePoolInfo,
    StoragePoolRef,
    StorageVolInfo,
    StorageVolRef,
)
from pyvirt.drivers.storage import backend, fs, qemuimg
from pyvirt.drivers.storage.flags import pool_matches
from pyvirt.drivers.storage.pools import PoolObj, PoolStore, err
from pyvirt.drivers.storage.streams import FileStream
from pyvirt.errors import ErrorCode, VirtError

_BACKENDS = frozenset({PoolType.DIR, PoolType.FS})
VOL_CREATE_PREALLOC_METADATA = 1
RESIZE_ALLOCATE, RESIZE_DELTA, RESIZE_SHRINK = 1, 2, 4
POOL_RUNNING, POOL_INACTIVE = 2, 0
# virStorageVolWipeAlgorithm: zero, then scrub(1)'s patterns in libvirt's order
WIPE_ALG_ZERO, WIPE_ALG_TRIM, WIPE_ALG_LAST = 0, 9, 10
_SCRUB_PATTERNS = ("", "nnsa", "dod", "bsi", "gutmann", "schneier", "pfitzner7", "pfitzner33",
                   "random", "")
BUILD_NO_OVERWRITE, BUILD_OVERWRITE = 4, 8  # VIR_STORAGE_POOL_BUILD_*
# VIR_STORAGE_POOL_CREATE_WITH_BUILD, _OVERWRITE, _NO_OVERWRITE
CREATE_WITH_BUILD, CREATE_BUILD_OVERWRITE, CREATE_BUILD_NO_OVERWRITE = 1, 2, 4


@dataclass
class StorageState:
    store: PoolStore
    pools: dict[str, PoolObj] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @classmethod
    def open(cls, config_dir: Path, run_dir: Path) -> StorageState:
        store = PoolStore(config_dir, run_dir)
        store.ensure()
        return cls(store, store.load())


def _ref(obj: PoolObj) -> StoragePoolRef:
    return StoragePoolRef(obj.defn.name, obj.uuid_bytes)


class StorageMixin:
    storage: StorageState

    # ------------------------------------------------------------------ lookups
    def _pool(self, ref: StoragePoolRef | str) -> PoolObj:
        name = ref if isinstance(ref, str) else ref.name
        obj = self.storage.pools.get(name)
        if obj is None or (not isinstance(ref, str) and obj.uuid_bytes != ref.uuid):
            raise err(ErrorCode.NO_STORAGE_POOL,
                      f"Storage pool not found: no storage pool with matching name '{name}'")
        return obj

    def _active_pool(self, ref: StoragePoolRef | str) -> PoolObj:
        obj = self._pool(ref)
        if not obj.active:
            raise err(ErrorCode.OPERATION_INVALID, "Requested operation is not valid: "
                      f"storage pool '{obj.defn.name}' is not active")
        return obj

    def _vol(self, ref: StorageVolRef) -> tuple[PoolObj, Path]:
        pool = self._active_pool(ref.pool)
        path = backend.vol_path(pool, ref.name)
        if not path.is_file():
            raise err(ErrorCode.NO_STORAGE_VOL,
                      f"Storage volume not found: no storage vol with matching name '{ref.name}'")
        return pool, path

    async def list_all_storage_pools(self, flags: int = 0) -> list[StoragePoolRef]:
        out = []
        for obj in sorted(self.storage.pools.values(), key=lambda o: o.defn.name):
            if not pool_matches(flags, obj.active, obj.persistent, obj.autostart, obj.defn.type.value):
                continue
            out.append(_ref(obj))
        return out

    async def storage_pool_lookup_by_name(self, name: str) -> StoragePoolRef:
        return _ref(self._pool(name))

    async def storage_pool_lookup_by_uuid(self, uuid: bytes) -> StoragePoolRef:
        for obj in self.storage.pools.values():
            if obj.uuid_bytes == uuid:
                return _ref(obj)
        raise err(ErrorCode.NO_STORAGE_POOL, "Storage pool not found: no storage pool with "
                  f"matching uuid '{uuidlib.UUID(bytes=uuid)}'")

    async def storage_pool_lookup_by_volume(self, vol: StorageVolRef) -> StoragePoolRef:
        return _ref(self._pool(vol.pool))

    # ------------------------------------------------------------------ pool definition
    def _check_new(self, xml: str) -> PoolObj:
        defn = parse_pool_xml(xml)
        if defn.type not in _BACKENDS:  # libvirt's answer when a backend is not built in
            raise err(ErrorCode.INTERNAL_ERROR, "internal error: missing backend for pool type "
                      f"{list(PoolType).index(defn.type)} ({defn.type.value})")
        for other in self.storage.pools.values():
            if other.defn.name == defn.name and other.defn.uuid != defn.uuid:
                raise err(ErrorCode.OPERATION_FAILED, f"operation failed: pool '{defn.name}' "
                          f"already exists with uuid {other.defn.uuid}")
            if other.defn.uuid == defn.uuid and other.defn.name != defn.name:
                raise err(ErrorCode.OPERATION_FAILED, f"operation failed: pool '{other.defn.name}'"
                          f" is already defined with uuid {defn.uuid}")
            if (other.defn.name != defn.name and other.defn.target_path == defn.target_path):
                raise err(ErrorCode.OPERATION_FAILED, "operation failed: Storage source conflict "
                          f"with pool: '{other.defn.name}'")
        return PoolObj(defn)

    async def storage_pool_define_xml(self, xml: str, flags: int = 0) -> StoragePoolRef:
        async with self.storage.lock:
            new = self._check_new(xml)
            old = self.storage.pools.get(new.defn.name)
            if old is not None:
                new.active, new.autostart = old.active, old.autostart
            self.storage.store.save_config(new)
            self.storage.pools[new.defn.name] = new
            return _ref(new)

    async def storage_pool_create_xml(self, xml: str, flags: int = 0) -> StoragePoolRef:
        async with self.storage.lock:
            new = self._check_new(xml)
            if new.defn.name in self.storage.pools:
                raise err(ErrorCode.OPERATION_FAILED, f"operation failed: pool "
                          f"'{new.defn.name}' already exists")
            new.persistent = False
            await self._build_for_create(new, flags)
            await self._start(new)
            self.storage.pools[new.defn.name] = new
            return _ref(new)

    async def storage_pool_undefine(self, pool: StoragePoolRef) -> None:
        async with self.storage.lock:
            obj = self._pool(pool)
            if obj.active:
                raise err(ErrorCode.OPERATION_INVALID, "Requested operation is not valid: "
                          f"storage pool '{obj.defn.name}' is still active")
            self.storage.store.delete_config(obj.defn.name)
            del self.storage.pools[obj.defn.name]

    # ------------------------------------------------------------------ pool lifecycle
    async def storage_pool_build(self, pool: StoragePoolRef, flags: int = 0) -> None:
        async with self.storage.lock:
            obj = self._pool(pool)
            if obj.active:
                raise err(ErrorCode.OPERATION_INVALID, "Requested operation is not valid: "
                          f"storage pool '{obj.defn.name}' is already active")
            await self._build(obj, flags)

    async def _build(self, obj: PoolObj, flags: int) -> None:
        if flags & BUILD_OVERWRITE and flags & BUILD_NO_OVERWRITE:
            raise err(ErrorCode.INVALID_ARG, "invalid argument: Flags 'overwrite' and "
                      "'no-overwrite' are mutually exclusive")
        assert obj.defn.target_path is not None
        perms = obj.defn.perms
        mode = perms.mode if perms is not None and perms.mode is not None else 0o711
        os.makedirs(obj.defn.target_path, mode=0o755, exist_ok=True)
        os.chmod(obj.defn.target_path, mode)
        if flags & BUILD_OVERWRITE and obj.defn.type is PoolType.FS:
            await fs.mkfs(obj.defn)

    async def _build_for_create(self, obj: PoolObj, flags: int) -> None:
        """virStoragePoolCreate's WITH_BUILD flags: build first, mapping the overwrite bits."""
        if flags & (CREATE_WITH_BUILD | CREATE_BUILD_OVERWRITE | CREATE_BUILD_NO_OVERWRITE):
            bflags = ((BUILD_OVERWRITE if flags & CREATE_BUILD_OVERWRITE else 0)
                      | (BUILD_NO_OVERWRITE if flags & CREATE_BUILD_NO_OVERWRITE else 0))
            await self._build(obj, bflags)

    async def _start(self, obj: PoolObj) -> None:
        assert obj.defn.target_path is not None
        if not os.path.isdir(obj.defn.target_path):
            raise err(ErrorCode.OPERATION_INVALID, "Requested operation is not valid: "
                      f"cannot open directory '{obj.defn.target_path}': No such file or directory")
        await fs.mount(obj.defn)
        obj.active = True
        obj.unscanned.clear()
        self._refresh_sizes(obj)
        self.storage.store.save_status(obj)

    def _refresh_sizes(self, obj: PoolObj) -> None:
        assert obj.defn.target_path is not None
        # like libvirt's refresh, the definition takes the target's real owner and mode
        dst = os.stat(obj.defn.target_path)
        label = obj.defn.perms.label if obj.defn.perms is not None else None
        obj.defn.perms = Perms(dst.st_mode & 0o777, dst.st_uid, dst.st_gid, label)
        st = os.statvfs(obj.defn.target_path)
        obj.defn.capacity = st.f_frsize * st.f_blocks
        # libvirt counts root-reserved blocks as available: free, not bavail
        obj.defn.available = st.f_frsize * st.f_bfree
        obj.defn.allocation = obj.defn.capacity - obj.defn.available

    async def storage_pool_create(self, pool: StoragePoolRef, flags: int = 0) -> None:
        async with self.storage.lock:
            obj = self._pool(pool)
            if obj.active:
                raise err(ErrorCode.OPERATION_INVALID, "Requested operation is not valid: "
                          f"storage pool '{obj.defn.name}' is already active")
            await self._start(obj)

    async def storage_pool_destroy(self, pool: StoragePoolRef) -> None:
        async with self.storage.lock:
            obj = self._active_pool(pool)
            await fs.unmount(obj.defn)
            obj.active = False
            obj.defn.capacity = obj.defn.allocation = obj.defn.available = 0
            self.storage.store.delete_status(obj.defn.name)
            if not obj.persistent:
                del self.storage.pools[obj.defn.name]

    async def storage_pool_delete(self, pool: StoragePoolRef, flags: int = 0) -> None:
        async with self.storage.lock:
            obj = self._pool(pool)
            if obj.active:
                raise err(ErrorCode.OPERATION_INVALID, "Requested operation is not valid: "
                          f"storage pool '{obj.defn.name}' is still active")
            assert obj.defn.target_path is not None
            try:
                os.rmdir(obj.defn.target_path)
            except FileNotFoundError:
                pass
            except OSError as e:
                raise err(ErrorCode.SYSTEM_ERROR, f"failed to remove pool "
                          f"'{obj.defn.target_path}': {e.strerror}") from None

    async def storage_pool_refresh(self, pool: StoragePoolRef, flags: int = 0) -> None:
        obj = self._active_pool(pool)
        obj.unscanned.clear()  # a rescan: every volume is probed again
        self._refresh_sizes(obj)

    async def storage_pool_get_info(self, pool: StoragePoolRef) -> StoragePoolInfo:
        obj = self._pool(pool)
        if obj.active:
            self._refresh_sizes(obj)
            return StoragePoolInfo(POOL_RUNNING, obj.defn.capacity, obj.defn.allocation,
                                   obj.defn.available)
        return StoragePoolInfo(POOL_INACTIVE, 0, 0, 0)

    async def storage_pool_get_xml_desc(self, pool: StoragePoolRef, flags: int = 0) -> str:
        obj = self._pool(pool)
        if obj.active:
            self._refresh_sizes(obj)
        return obj.defn.format()

    async def storage_pool_get_autostart(self, pool: StoragePoolRef) -> bool:
        return self._pool(pool).autostart

    async def storage_pool_set_autostart(self, pool: StoragePoolRef, autostart: bool) -> None:
        async with self.storage.lock:
            obj = self._pool(pool)
            if not obj.persistent:
                raise err(ErrorCode.INTERNAL_ERROR,
                          "internal error: cannot set autostart for transient pool")
            self.storage.store.set_autostart(obj.defn.name, autostart)
            obj.autostart = autostart

    async def storage_pool_is_active(self, pool: StoragePoolRef) -> bool:
        return self._pool(pool).active

    async def storage_pool_is_persistent(self, pool: StoragePoolRef) -> bool:
        return self._pool(pool).persistent

    async def autostart_storage_pools(self) -> None:
        """Start every autostart pool that is not running (daemon start-up)."""
        async with self.storage.lock:
            for obj in self.storage.pools.values():
                if obj.autostart and not obj.active:
                    # one broken pool (target gone) must not stop the others
                    with contextlib.suppress(VirtError, OSError):
                        await self._start(obj)

    # ------------------------------------------------------------------ volumes
    async def storage_pool_list_all_volumes(self, pool: StoragePoolRef, flags: int = 0) -> list[StorageVolRef]:
        obj = self._active_pool(pool)
        return [StorageVolRef(obj.defn.name, n, str(backend.vol_path(obj, n)))
                for n in backend.list_names(obj)]

    async def storage_vol_lookup_by_name(self, pool: StoragePoolRef, name: str) -> StorageVolRef:
        obj = self._active_pool(pool)
        try:
            path: Path | None = backend.vol_path(obj, name)
        except VirtError:
            path = None
        if path is None or not path.is_file():
            raise err(ErrorCode.NO_STORAGE_VOL,
                      f"Storage volume not found: no storage vol with matching name '{name}'")
        return StorageVolRef(obj.defn.name, name, str(path))

    def _find_path(self, path: str) -> StorageVolRef | None:
        for obj in self.storage.pools.values():
            if obj.active and obj.defn.target_path is not None:
                name = backend.inside(obj, path)
                if name is not None:
                    return StorageVolRef(obj.defn.name, name, str(backend.vol_path(obj, name)))
        return None

    async def storage_vol_lookup_by_path(self, path: str) -> StorageVolRef:
        ref = self._find_path(path)
        if ref is None:
            raise err(ErrorCode.NO_STORAGE_VOL,
                      f"Storage volume not found: no storage vol with matching path '{path}'")
        return ref

    async def storage_vol_lookup_by_key(self, key: str) -> StorageVolRef:
        ref = self._find_path(key)
        if ref is None or ref.key != key:
            raise err(ErrorCode.NO_STORAGE_VOL,
                      f"Storage volume not found: no storage vol with matching key {key}")
        return ref

    def _new_vol(self, pool: StoragePoolRef, xml: str) -> tuple[PoolObj, VolDef, Path]:
        obj = self._active_pool(pool)
        vol = parse_vol_xml(xml, obj.defn.type)
        backend.check_new_vol_name(obj, vol.name)
        path = backend.vol_path(obj, vol.name)
        if path.exists() or path.is_symlink():
            raise err(ErrorCode.STORAGE_VOL_EXIST,
                      f"storage volume '{vol.name}' exists already")
        return obj, vol, path

    async def storage_vol_create_xml(self, pool: StoragePoolRef, xml: str, flags: int = 0) -> StorageVolRef:
        async with self.storage.lock:
            obj, vol, path = self._new_vol(pool, xml)
            backing_fmt = None
            if vol.backing is not None:
                bpath = vol.backing.path
                if not os.path.exists(bpath):
                    raise err(ErrorCode.SYSTEM_ERROR, f"inaccessible backing store volume "
                              f"{bpath}: No such file or directory")
                backing_fmt = vol.backing.format or (await qemuimg.info(bpath)).format
            fmt = vol.format or "raw"
            vol.capacity = max(vol.capacity, vol.allocation)  # libvirt grows it to fit
            try:
                if fmt == "raw" and vol.backing is None:
                    await asyncio.to_thread(_create_raw, path, vol.capacity, vol.allocation)
                else:
                    await qemuimg.create(str(path), fmt, vol.capacity,
                                         backing=vol.backing.path if vol.backing else None,
                                         backing_fmt=backing_fmt,
                                         prealloc=_prealloc_mode(vol, flags),
                                         compat=vol.compat, cluster_size=vol.cluster_size,
                                         features=vol.features)
                # libvirt's default volume mode is 0600 (images may hold guest secrets)
                mode = vol.perms.mode if vol.perms is not None and vol.perms.mode is not None else 0o600
                os.chmod(path, mode)
            except BaseException:
                path.unlink(missing_ok=True)  # bad input leaves no file behind
                raise
            obj.unscanned.add(vol.name)
            return StorageVolRef(obj.defn.name, vol.name, str(path))

    async def storage_vol_create_xml_from(
        self, pool: StoragePoolRef, xml: str, clone: StorageVolRef, flags: int = 0
    ) -> StorageVolRef:
        async with self.storage.lock:
            _, src = self._vol(clone)
            obj, vol, path = self._new_vol(pool, xml)
            src_fmt = (await qemuimg.info(str(src))).format
            try:
                backing = vol.backing.path if vol.backing is not None else None
                bfmt = vol.backing.format if vol.backing is not None else None
                await qemuimg.convert(str(src), src_fmt, str(path), vol.format or src_fmt,
                                      backing=backing, backing_fmt=bfmt)
                os.chmod(path, 0o600)
            except BaseException:
                path.unlink(missing_ok=True)
                raise
            return StorageVolRef(obj.defn.name, vol.name, str(path))

    async def storage_vol_delete(self, vol: StorageVolRef, flags: int = 0) -> None:
        async with self.storage.lock:
            pool, path = self._vol(vol)
            path.unlink()
            pool.unscanned.discard(vol.name)

    async def storage_vol_wipe(self, vol: StorageVolRef, flags: int = 0) -> None:
        await self.storage_vol_wipe_pattern(vol, WIPE_ALG_ZERO, flags)

    async def storage_vol_wipe_pattern(self, vol: StorageVolRef, algorithm: int, flags: int = 0) -> None:
        """Zero the whole file whatever its format, as libvirt does (a wiped qcow2 reads back
        as a raw file of zeros); the other algorithms are scrub(1)'s."""
        async with self.storage.lock:
            _, path = self._vol(vol)
            if not 0 <= algorithm < WIPE_ALG_LAST:
                raise err(ErrorCode.INVALID_ARG,
                          f"invalid argument: wiping algorithm {algorithm} not supported")
            if algorithm == WIPE_ALG_ZERO:
                await backend.wipe(path)
                return
            if algorithm == WIPE_ALG_TRIM:
                raise err(ErrorCode.ARGUMENT_UNSUPPORTED,
                          "argument unsupported: 'trim' algorithm not supported")
            scrub = shutil.which("scrub")
            if scrub is None:
                raise err(ErrorCode.SYSTEM_ERROR,
                          "Cannot find 'scrub' in path: No such file or directory")
            await backend.scrub(scrub, path, _SCRUB_PATTERNS[algorithm])

    async def storage_vol_resize(self, vol: StorageVolRef, capacity: int, flags: int = 0) -> None:
        async with self.storage.lock:
            _, path = self._vol(vol)
            info = await qemuimg.info(str(path))
            # a delta with SHRINK subtracts (virStorageVolResize's unsigned capacity)
            if flags & RESIZE_DELTA:
                if flags & RESIZE_SHRINK:
                    if capacity > info.capacity:
                        raise err(ErrorCode.INVALID_ARG,
                                  "invalid argument: can't shrink capacity below zero")
                    new = info.capacity - capacity
                else:
                    new = info.capacity + capacity
            else:
                new = capacity
            # libvirt's order of checks: the allocation first, then the shrink flag
            allocation = path.stat().st_blocks * 512
            if new < allocation:
                raise err(ErrorCode.INVALID_ARG,
                          "invalid argument: can't shrink capacity below existing allocation")
            if new < info.capacity and not flags & RESIZE_SHRINK:
                raise err(ErrorCode.INVALID_ARG, "invalid argument: Can't shrink capacity below "
                          "current capacity unless shrink flag explicitly specified")
            await qemuimg.resize(str(path), info.format, new, shrink=new < info.capacity)
            if flags & RESIZE_ALLOCATE and info.format == "raw":
                await asyncio.to_thread(_fallocate, path, new)

    async def storage_vol_get_info(self, vol: StorageVolRef) -> StorageVolInfo:
        pool, _ = self._vol(vol)
        d = await backend.describe(pool, vol.name)
        return StorageVolInfo(0, d.capacity, d.allocation)  # VIR_STORAGE_VOL_FILE

    async def storage_vol_get_xml_desc(self, vol: StorageVolRef, flags: int = 0) -> str:
        pool, _ = self._vol(vol)
        return (await backend.describe(pool, vol.name)).format_xml()

    async def storage_vol_get_path(self, vol: StorageVolRef) -> str:
        return str(self._vol(vol)[1])

    async def storage_vol_upload(self, vol: StorageVolRef, offset: int, length: int, flags: int = 0) -> ByteStream:
        _, path = self._vol(vol)
        return await FileStream.open(path, offset, length, write=True)

    async def storage_vol_download(self, vol: StorageVolRef, offset: int, length: int, flags: int = 0) -> ByteStream:
        _, path = self._vol(vol)
        return await FileStream.open(path, offset, length, write=False)


def _prealloc_mode(vol: VolDef, flags: int) -> str | None:
    """PREALLOC_METADATA asks for metadata only when the allocation is below the capacity;
    at full allocation (the default) the whole image is fallocated, as libvirt does."""
    if not flags & VOL_CREATE_PREALLOC_METADATA:
        return None
    return "metadata" if vol.allocation < vol.capacity else "falloc"


def _create_raw(path: Path, capacity: int, allocation: int) -> None:
    """A raw file as libvirt makes it: exclusive create (never through a symlink), the
    allocation (default: the capacity) reserved up front, then the size set."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        if allocation > 0:
            os.posix_fallocate(fd, 0, min(allocation, capacity) or allocation)
        os.ftruncate(fd, capacity)
    finally:
        os.close(fd)


def _fallocate(path: Path, size: int) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.posix_fallocate(fd, 0, size)
    finally:
        os.close(fd)
