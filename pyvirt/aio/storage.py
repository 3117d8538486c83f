"""Storage pools and volumes in the asyncio API: ``conn.storage_pool_lookup_by_name(...)``
returns a :class:`StoragePool`, whose methods return :class:`StorageVol` handles. Mixed into
:class:`pyvirt.aio.connection.Connection` as :class:`StorageConnMixin`.

Failures are :class:`pyvirt.errors.VirtError` with libvirt's codes; calls that change
anything are refused on a read-only connection (VIR_ERR_OPERATION_DENIED).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyvirt.aio.common import ConnPart, Handle, UuidHandle, raw_uuid, uuid_from_string, writable
from pyvirt.drivers.base import (
    ByteStream,
    Driver,
    StoragePoolInfo,
    StoragePoolRef,
    StorageVolInfo,
    StorageVolRef,
)
from pyvirt.errors import ErrorDomain

if TYPE_CHECKING:
    from pyvirt.aio.connection import Connection


def _writable(conn: Connection, api: str) -> Driver:
    return writable(conn, api, ErrorDomain.STORAGE)


class StorageConnMixin(ConnPart):
    """Connection's storage calls (virConnect*StoragePool*, virStorageVolLookupBy*)."""

    async def list_all_storage_pools(self, flags: int = 0) -> list[StoragePool]:
        c = self._self()
        return [StoragePool(c, r) for r in await c.driver.list_all_storage_pools(flags)]

    async def list_storage_pools(self) -> list[str]:
        return [r.name for r in await self._self().driver.list_all_storage_pools(2)]

    async def list_defined_storage_pools(self) -> list[str]:
        return [r.name for r in await self._self().driver.list_all_storage_pools(1)]

    async def storage_pool_lookup_by_name(self, name: str) -> StoragePool:
        c = self._self()
        return StoragePool(c, await c.driver.storage_pool_lookup_by_name(name))

    async def storage_pool_lookup_by_uuid(self, uuid: bytes) -> StoragePool:
        c = self._self()
        raw = raw_uuid(uuid, ErrorDomain.STORAGE)
        return StoragePool(c, await c.driver.storage_pool_lookup_by_uuid(raw))

    async def storage_pool_lookup_by_uuid_string(self, uuid: str) -> StoragePool:
        return await self.storage_pool_lookup_by_uuid(uuid_from_string(uuid, ErrorDomain.STORAGE))

    async def storage_pool_define_xml(self, xml: str, flags: int = 0) -> StoragePool:
        c = self._self()
        drv = _writable(c, "virStoragePoolDefineXML")
        return StoragePool(c, await drv.storage_pool_define_xml(xml, flags))

    async def storage_pool_create_xml(self, xml: str, flags: int = 0) -> StoragePool:
        c = self._self()
        drv = _writable(c, "virStoragePoolCreateXML")
        return StoragePool(c, await drv.storage_pool_create_xml(xml, flags))

    async def storage_vol_lookup_by_path(self, path: str) -> StorageVol:
        c = self._self()
        return StorageVol(c, await c.driver.storage_vol_lookup_by_path(path))

    async def storage_vol_lookup_by_key(self, key: str) -> StorageVol:
        c = self._self()
        return StorageVol(c, await c.driver.storage_vol_lookup_by_key(key))


class StoragePool(UuidHandle[StoragePoolRef]):
    """A handle on a storage pool (name and UUID: ``name``, ``uuid``, ``uuid_string`` from
    :class:`UuidHandle`)."""

    def __repr__(self) -> str:
        return f"<StoragePool {self.ref.name!r}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StoragePool) and other.ref.uuid == self.ref.uuid

    def __hash__(self) -> int:
        return hash(self.ref.uuid)

    def _w(self, api: str) -> Driver:
        return _writable(self.conn, api)

    async def info(self) -> StoragePoolInfo:
        return await self.conn.driver.storage_pool_get_info(self.ref)

    async def xml_desc(self, flags: int = 0) -> str:
        return await self.conn.driver.storage_pool_get_xml_desc(self.ref, flags)

    async def is_active(self) -> bool:
        return await self.conn.driver.storage_pool_is_active(self.ref)

    async def is_persistent(self) -> bool:
        return await self.conn.driver.storage_pool_is_persistent(self.ref)

    async def autostart(self) -> bool:
        return await self.conn.driver.storage_pool_get_autostart(self.ref)

    async def set_autostart(self, autostart: bool) -> None:
        await self._w("virStoragePoolSetAutostart").storage_pool_set_autostart(self.ref, autostart)

    async def create(self, flags: int = 0) -> None:
        await self._w("virStoragePoolCreate").storage_pool_create(self.ref, flags)

    async def build(self, flags: int = 0) -> None:
        await self._w("virStoragePoolBuild").storage_pool_build(self.ref, flags)

    async def destroy(self) -> None:
        await self._w("virStoragePoolDestroy").storage_pool_destroy(self.ref)

    async def delete(self, flags: int = 0) -> None:
        await self._w("virStoragePoolDelete").storage_pool_delete(self.ref, flags)

    async def undefine(self) -> None:
        await self._w("virStoragePoolUndefine").storage_pool_undefine(self.ref)

    async def refresh(self, flags: int = 0) -> None:
        await self._w("virStoragePoolRefresh").storage_pool_refresh(self.ref, flags)

    async def list_all_volumes(self, flags: int = 0) -> list[StorageVol]:
        refs = await self.conn.driver.storage_pool_list_all_volumes(self.ref, flags)
        return [StorageVol(self.conn, r) for r in refs]

    async def vol_lookup_by_name(self, name: str) -> StorageVol:
        return StorageVol(self.conn, await self.conn.driver.storage_vol_lookup_by_name(self.ref, name))

    async def create_vol_xml(self, xml: str, flags: int = 0) -> StorageVol:
        drv = self._w("virStorageVolCreateXML")
        return StorageVol(self.conn, await drv.storage_vol_create_xml(self.ref, xml, flags))

    async def create_vol_xml_from(self, xml: str, clone: StorageVol, flags: int = 0) -> StorageVol:
        drv = self._w("virStorageVolCreateXMLFrom")
        return StorageVol(self.conn, await drv.storage_vol_create_xml_from(self.ref, xml, clone.ref, flags))


class StorageVol(Handle[StorageVolRef]):
    """A handle on a volume (pool name, volume name, key; ``name`` from :class:`Handle`)."""

    def __repr__(self) -> str:
        return f"<StorageVol {self.ref.pool!r}/{self.ref.name!r}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StorageVol) and other.ref == self.ref

    def __hash__(self) -> int:
        return hash(self.ref)

    @property
    def key(self) -> str:
        return self.ref.key

    def _w(self, api: str) -> Driver:
        return _writable(self.conn, api)

    async def path(self) -> str:
        return await self.conn.driver.storage_vol_get_path(self.ref)

    async def info(self) -> StorageVolInfo:
        return await self.conn.driver.storage_vol_get_info(self.ref)

    async def xml_desc(self, flags: int = 0) -> str:
        return await self.conn.driver.storage_vol_get_xml_desc(self.ref, flags)

    async def pool(self) -> StoragePool:
        return StoragePool(self.conn, await self.conn.driver.storage_pool_lookup_by_volume(self.ref))

    async def delete(self, flags: int = 0) -> None:
        await self._w("virStorageVolDelete").storage_vol_delete(self.ref, flags)

    async def wipe(self, flags: int = 0) -> None:
        await self._w("virStorageVolWipe").storage_vol_wipe(self.ref, flags)

    async def wipe_pattern(self, algorithm: int, flags: int = 0) -> None:
        await self._w("virStorageVolWipePattern").storage_vol_wipe_pattern(self.ref, algorithm, flags)

    async def resize(self, capacity: int, flags: int = 0) -> None:
        await self._w("virStorageVolResize").storage_vol_resize(self.ref, capacity, flags)

    async def upload(self, offset: int = 0, length: int = 0, flags: int = 0) -> ByteStream:
        """A stream that writes into the volume from ``offset`` (length 0: to the end)."""
        return await self._w("virStorageVolUpload").storage_vol_upload(self.ref, offset, length, flags)

    async def download(self, offset: int = 0, length: int = 0, flags: int = 0) -> ByteStream:
        """A stream that reads the volume from ``offset`` (length 0: to the end)."""
        return await self.conn.driver.storage_vol_download(self.ref, offset, length, flags)
