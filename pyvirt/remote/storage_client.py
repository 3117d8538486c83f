"""Client side of the storage procedures, mixed into RemoteDriver."""

from __future__ import annotations

from typing import Any

from pyvirt.drivers.base import (
    ByteStream,
    StoragePoolInfo,
    StoragePoolRef,
    StorageVolInfo,
    StorageVolRef,
)
from pyvirt.remote import protocol as P
from pyvirt.remote.client_mixin import RemoteMixin


class RemoteStorageMixin(RemoteMixin):
    async def list_all_storage_pools(self, flags: int = 0) -> list[StoragePoolRef]:
        return (await self._call(P.CONNECT_LIST_ALL_STORAGE_POOLS, P.ListAllDomainsArgs(1, flags))).pools

    async def storage_pool_lookup_by_name(self, name: str) -> StoragePoolRef:
        return (await self._call(P.STORAGE_POOL_LOOKUP_BY_NAME, P.LookupByNameArgs(name))).pool

    async def storage_pool_lookup_by_uuid(self, uuid: bytes) -> StoragePoolRef:
        return (await self._call(P.STORAGE_POOL_LOOKUP_BY_UUID, P.LookupByUuidArgs(uuid))).pool

    async def storage_pool_lookup_by_volume(self, vol: StorageVolRef) -> StoragePoolRef:
        return (await self._call(P.STORAGE_POOL_LOOKUP_BY_VOLUME, P.VolArgs(vol))).pool

    async def storage_pool_define_xml(self, xml: str, flags: int = 0) -> StoragePoolRef:
        return (await self._call(P.STORAGE_POOL_DEFINE_XML, P.PoolXmlArgs(xml, flags))).pool

    async def storage_pool_create_xml(self, xml: str, flags: int = 0) -> StoragePoolRef:
        return (await self._call(P.STORAGE_POOL_CREATE_XML, P.PoolXmlArgs(xml, flags))).pool

    async def storage_pool_build(self, pool: StoragePoolRef, flags: int = 0) -> None:
        await self._call(P.STORAGE_POOL_BUILD, P.PoolFlagsArgs(pool, flags))

    async def storage_pool_create(self, pool: StoragePoolRef, flags: int = 0) -> None:
        await self._call(P.STORAGE_POOL_CREATE, P.PoolFlagsArgs(pool, flags))

    async def storage_pool_destroy(self, pool: StoragePoolRef) -> None:
        await self._call(P.STORAGE_POOL_DESTROY, P.PoolArgs(pool))

    async def storage_pool_delete(self, pool: StoragePoolRef, flags: int = 0) -> None:
        await self._call(P.STORAGE_POOL_DELETE, P.PoolFlagsArgs(pool, flags))

    async def storage_pool_undefine(self, pool: StoragePoolRef) -> None:
        await self._call(P.STORAGE_POOL_UNDEFINE, P.PoolArgs(pool))

    async def storage_pool_refresh(self, pool: StoragePoolRef, flags: int = 0) -> None:
        await self._call(P.STORAGE_POOL_REFRESH, P.PoolFlagsArgs(pool, flags))

    async def storage_pool_get_info(self, pool: StoragePoolRef) -> StoragePoolInfo:
        r = await self._call(P.STORAGE_POOL_GET_INFO, P.PoolArgs(pool))
        return StoragePoolInfo(r.state, r.capacity, r.allocation, r.available)

    async def storage_pool_get_xml_desc(self, pool: StoragePoolRef, flags: int = 0) -> str:
        return (await self._call(P.STORAGE_POOL_GET_XML_DESC, P.PoolFlagsArgs(pool, flags))).xml

    async def storage_pool_get_autostart(self, pool: StoragePoolRef) -> bool:
        return bool((await self._call(P.STORAGE_POOL_GET_AUTOSTART, P.PoolArgs(pool))).autostart)

    async def storage_pool_set_autostart(self, pool: StoragePoolRef, autostart: bool) -> None:
        await self._call(P.STORAGE_POOL_SET_AUTOSTART, P.PoolSetAutostartArgs(pool, int(autostart)))

    async def storage_pool_is_active(self, pool: StoragePoolRef) -> bool:
        return bool((await self._call(P.STORAGE_POOL_IS_ACTIVE, P.PoolArgs(pool))).active)

    async def storage_pool_is_persistent(self, pool: StoragePoolRef) -> bool:
        return bool((await self._call(P.STORAGE_POOL_IS_PERSISTENT, P.PoolArgs(pool))).persistent)

    async def storage_pool_list_all_volumes(self, pool: StoragePoolRef, flags: int = 0) -> list[StorageVolRef]:
        args = P.PoolListAllVolumesArgs(pool, 1, flags)
        return (await self._call(P.STORAGE_POOL_LIST_ALL_VOLUMES, args)).vols

    async def storage_vol_lookup_by_name(self, pool: StoragePoolRef, name: str) -> StorageVolRef:
        return (await self._call(P.STORAGE_VOL_LOOKUP_BY_NAME, P.VolLookupByNameArgs(pool, name))).vol

    async def storage_vol_lookup_by_path(self, path: str) -> StorageVolRef:
        return (await self._call(P.STORAGE_VOL_LOOKUP_BY_PATH, P.VolLookupByPathArgs(path))).vol

    async def storage_vol_lookup_by_key(self, key: str) -> StorageVolRef:
        return (await self._call(P.STORAGE_VOL_LOOKUP_BY_KEY, P.VolLookupByKeyArgs(key))).vol

    async def storage_vol_create_xml(self, pool: StoragePoolRef, xml: str, flags: int = 0) -> StorageVolRef:
        return (await self._call(P.STORAGE_VOL_CREATE_XML, P.VolCreateXmlArgs(pool, xml, flags))).vol

    async def storage_vol_create_xml_from(
        self, pool: StoragePoolRef, xml: str, clone: StorageVolRef, flags: int = 0
    ) -> StorageVolRef:
        args = P.VolCreateXmlFromArgs(pool, xml, clone, flags)
        return (await self._call(P.STORAGE_VOL_CREATE_XML_FROM, args)).vol

    async def storage_vol_delete(self, vol: StorageVolRef, flags: int = 0) -> None:
        await self._call(P.STORAGE_VOL_DELETE, P.VolFlagsArgs(vol, flags))

    async def storage_vol_wipe(self, vol: StorageVolRef, flags: int = 0) -> None:
        await self._call(P.STORAGE_VOL_WIPE, P.VolFlagsArgs(vol, flags))

    async def storage_vol_wipe_pattern(self, vol: StorageVolRef, algorithm: int, flags: int = 0) -> None:
        await self._call(P.STORAGE_VOL_WIPE_PATTERN, P.VolWipePatternArgs(vol, algorithm, flags))

    async def storage_vol_resize(self, vol: StorageVolRef, capacity: int, flags: int = 0) -> None:
        await self._call(P.STORAGE_VOL_RESIZE, P.VolResizeArgs(vol, capacity, flags))

    async def storage_vol_get_info(self, vol: StorageVolRef) -> StorageVolInfo:
        r = await self._call(P.STORAGE_VOL_GET_INFO, P.VolArgs(vol))
        return StorageVolInfo(r.type, r.capacity, r.allocation)

    async def storage_vol_get_xml_desc(self, vol: StorageVolRef, flags: int = 0) -> str:
        return (await self._call(P.STORAGE_VOL_GET_XML_DESC, P.VolFlagsArgs(vol, flags))).xml

    async def storage_vol_get_path(self, vol: StorageVolRef) -> str:
        return (await self._call(P.STORAGE_VOL_GET_PATH, P.VolArgs(vol))).name

    async def _transfer(self, proc: P.Procedure[Any, Any], vol: StorageVolRef, offset: int,
                        length: int, flags: int) -> ByteStream:
        return (await self._call_stream(proc, P.VolTransferArgs(vol, offset, length, flags)))[1]

    async def storage_vol_upload(self, vol: StorageVolRef, offset: int, length: int, flags: int = 0) -> ByteStream:
        return await self._transfer(P.STORAGE_VOL_UPLOAD, vol, offset, length, flags)

    async def storage_vol_download(self, vol: StorageVolRef, offset: int, length: int, flags: int = 0) -> ByteStream:
        return await self._transfer(P.STORAGE_VOL_DOWNLOAD, vol, offset, length, flags)
