"""Server side of the storage procedures: decoded args -> driver call -> ret struct.
Registered into ``handlers.HANDLERS`` when :mod:`pyvirt.remote.handlers` imports this."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyvirt.errors import ErrorCode, ErrorDomain, VirtError
from pyvirt.remote import protocol as P
from pyvirt.remote.handlers import serve_stream, serves

if TYPE_CHECKING:
    from pyvirt.remote.dispatch import RemoteSession


# VIR_CONNECT_LIST_STORAGE_POOLS_INACTIVE / _ACTIVE: the defined-only and the running pools
_INACTIVE, _ACTIVE = 1, 2


def _limit(n: int, what: str) -> None:
    if n > P.STORAGE_POOL_LIST_MAX:
        raise VirtError(f"{what} > REMOTE_STORAGE_POOL_LIST_MAX", ErrorCode.RPC, ErrorDomain.RPC)


async def _pool_names(s: RemoteSession, which: int, maxnames: int) -> P.NamesRet:
    """CONNECT_LIST(_DEFINED)_STORAGE_POOLS: the names of the ``which`` pools, at most
    ``maxnames`` (over the protocol's limit is an RPC error, as libvirtd's)."""
    _limit(maxnames, "maxnames")
    return P.NamesRet([p.name for p in await s.drv.list_all_storage_pools(which)][: max(maxnames, 0)])


@serves(P.CONNECT_LIST_ALL_STORAGE_POOLS)
async def list_all_pools(s: RemoteSession, a: P.ListAllDomainsArgs) -> P.ListAllPoolsRet:
    pools = await s.drv.list_all_storage_pools(a.flags)
    return P.ListAllPoolsRet(pools if a.need_results else [], len(pools))


@serves(P.CONNECT_NUM_OF_STORAGE_POOLS)
async def num_pools(s: RemoteSession, a: None) -> P.NumRet:
    return P.NumRet(len(await s.drv.list_all_storage_pools(_ACTIVE)))


@serves(P.CONNECT_NUM_OF_DEFINED_STORAGE_POOLS)
async def num_defined_pools(s: RemoteSession, a: None) -> P.NumRet:
    return P.NumRet(len(await s.drv.list_all_storage_pools(_INACTIVE)))


@serves(P.CONNECT_LIST_STORAGE_POOLS)
async def list_pools(s: RemoteSession, a: P.ListDefinedDomainsArgs) -> P.NamesRet:
    return await _pool_names(s, _ACTIVE, a.maxnames)


@serves(P.CONNECT_LIST_DEFINED_STORAGE_POOLS)
async def list_defined_pools(s: RemoteSession, a: P.ListDefinedDomainsArgs) -> P.NamesRet:
    return await _pool_names(s, _INACTIVE, a.maxnames)


@serves(P.STORAGE_POOL_LOOKUP_BY_NAME)
async def pool_by_name(s: RemoteSession, a: P.LookupByNameArgs) -> P.PoolRet:
    return P.PoolRet(await s.drv.storage_pool_lookup_by_name(a.name))


@serves(P.STORAGE_POOL_LOOKUP_BY_UUID)
async def pool_by_uuid(s: RemoteSession, a: P.LookupByUuidArgs) -> P.PoolRet:
    return P.PoolRet(await s.drv.storage_pool_lookup_by_uuid(a.uuid))


@serves(P.STORAGE_POOL_LOOKUP_BY_VOLUME)
async def pool_by_vol(s: RemoteSession, a: P.VolArgs) -> P.PoolRet:
    return P.PoolRet(await s.drv.storage_pool_lookup_by_volume(a.vol))


@serves(P.STORAGE_POOL_DEFINE_XML)
async def pool_define(s: RemoteSession, a: P.PoolXmlArgs) -> P.PoolRet:
    return P.PoolRet(await s.drv.storage_pool_define_xml(a.xml, a.flags))


@serves(P.STORAGE_POOL_CREATE_XML)
async def pool_create_xml(s: RemoteSession, a: P.PoolXmlArgs) -> P.PoolRet:
    return P.PoolRet(await s.drv.storage_pool_create_xml(a.xml, a.flags))


@serves(P.STORAGE_POOL_CREATE)
async def pool_create(s: RemoteSession, a: P.PoolFlagsArgs) -> None:
    await s.drv.storage_pool_create(a.pool, a.flags)


@serves(P.STORAGE_POOL_BUILD)
async def pool_build(s: RemoteSession, a: P.PoolFlagsArgs) -> None:
    await s.drv.storage_pool_build(a.pool, a.flags)


@serves(P.STORAGE_POOL_DESTROY)
async def pool_destroy(s: RemoteSession, a: P.PoolArgs) -> None:
    await s.drv.storage_pool_destroy(a.pool)


@serves(P.STORAGE_POOL_DELETE)
async def pool_delete(s: RemoteSession, a: P.PoolFlagsArgs) -> None:
    await s.drv.storage_pool_delete(a.pool, a.flags)


@serves(P.STORAGE_POOL_UNDEFINE)
async def pool_undefine(s: RemoteSession, a: P.PoolArgs) -> None:
    await s.drv.storage_pool_undefine(a.pool)


@serves(P.STORAGE_POOL_REFRESH)
async def pool_refresh(s: RemoteSession, a: P.PoolFlagsArgs) -> None:
    await s.drv.storage_pool_refresh(a.pool, a.flags)


@serves(P.STORAGE_POOL_GET_INFO)
async def pool_info(s: RemoteSession, a: P.PoolArgs) -> P.PoolGetInfoRet:
    i = await s.drv.storage_pool_get_info(a.pool)
    return P.PoolGetInfoRet(i.state, i.capacity, i.allocation, i.available)


@serves(P.STORAGE_POOL_GET_XML_DESC)
async def pool_xml(s: RemoteSession, a: P.PoolFlagsArgs) -> P.GetXmlDescRet:
    return P.GetXmlDescRet(await s.drv.storage_pool_get_xml_desc(a.pool, a.flags))


@serves(P.STORAGE_POOL_GET_AUTOSTART)
async def pool_get_autostart(s: RemoteSession, a: P.PoolArgs) -> P.GetAutostartRet:
    return P.GetAutostartRet(int(await s.drv.storage_pool_get_autostart(a.pool)))


@serves(P.STORAGE_POOL_SET_AUTOSTART)
async def pool_set_autostart(s: RemoteSession, a: P.PoolSetAutostartArgs) -> None:
    await s.drv.storage_pool_set_autostart(a.pool, bool(a.autostart))


@serves(P.STORAGE_POOL_IS_ACTIVE)
async def pool_is_active(s: RemoteSession, a: P.PoolArgs) -> P.IsActiveRet:
    return P.IsActiveRet(int(await s.drv.storage_pool_is_active(a.pool)))


@serves(P.STORAGE_POOL_IS_PERSISTENT)
async def pool_is_persistent(s: RemoteSession, a: P.PoolArgs) -> P.IsPersistentRet:
    return P.IsPersistentRet(int(await s.drv.storage_pool_is_persistent(a.pool)))


@serves(P.STORAGE_POOL_NUM_OF_VOLUMES)
async def pool_num_vols(s: RemoteSession, a: P.PoolArgs) -> P.NumRet:
    return P.NumRet(len(await s.drv.storage_pool_list_all_volumes(a.pool)))


@serves(P.STORAGE_POOL_LIST_VOLUMES)
async def pool_list_vols(s: RemoteSession, a: P.PoolListVolumesArgs) -> P.NamesRet:
    _limit(a.maxnames, "maxnames")
    vols = await s.drv.storage_pool_list_all_volumes(a.pool)
    return P.NamesRet([v.name for v in vols][: max(a.maxnames, 0)])


@serves(P.STORAGE_POOL_LIST_ALL_VOLUMES)
async def pool_list_all_vols(s: RemoteSession, a: P.PoolListAllVolumesArgs) -> P.ListAllVolsRet:
    vols = await s.drv.storage_pool_list_all_volumes(a.pool, a.flags)
    return P.ListAllVolsRet(vols if a.need_results else [], len(vols))


@serves(P.STORAGE_VOL_LOOKUP_BY_NAME)
async def vol_by_name(s: RemoteSession, a: P.VolLookupByNameArgs) -> P.VolRet:
    return P.VolRet(await s.drv.storage_vol_lookup_by_name(a.pool, a.name))


@serves(P.STORAGE_VOL_LOOKUP_BY_KEY)
async def vol_by_key(s: RemoteSession, a: P.VolLookupByKeyArgs) -> P.VolRet:
    return P.VolRet(await s.drv.storage_vol_lookup_by_key(a.key))


@serves(P.STORAGE_VOL_LOOKUP_BY_PATH)
async def vol_by_path(s: RemoteSession, a: P.VolLookupByPathArgs) -> P.VolRet:
    return P.VolRet(await s.drv.storage_vol_lookup_by_path(a.path))


@serves(P.STORAGE_VOL_CREATE_XML)
async def vol_create(s: RemoteSession, a: P.VolCreateXmlArgs) -> P.VolRet:
    return P.VolRet(await s.drv.storage_vol_create_xml(a.pool, a.xml, a.flags))


@serves(P.STORAGE_VOL_CREATE_XML_FROM)
async def vol_create_from(s: RemoteSession, a: P.VolCreateXmlFromArgs) -> P.VolRet:
    return P.VolRet(await s.drv.storage_vol_create_xml_from(a.pool, a.xml, a.clonevol, a.flags))


@serves(P.STORAGE_VOL_DELETE)
async def vol_delete(s: RemoteSession, a: P.VolFlagsArgs) -> None:
    await s.drv.storage_vol_delete(a.vol, a.flags)


@serves(P.STORAGE_VOL_WIPE)
async def vol_wipe(s: RemoteSession, a: P.VolFlagsArgs) -> None:
    await s.drv.storage_vol_wipe(a.vol, a.flags)


@serves(P.STORAGE_VOL_WIPE_PATTERN)
async def vol_wipe_pattern(s: RemoteSession, a: P.VolWipePatternArgs) -> None:
    await s.drv.storage_vol_wipe_pattern(a.vol, a.algorithm, a.flags)


@serves(P.STORAGE_VOL_RESIZE)
async def vol_resize(s: RemoteSession, a: P.VolResizeArgs) -> None:
    await s.drv.storage_vol_resize(a.vol, a.capacity, a.flags)


@serves(P.STORAGE_VOL_GET_INFO)
async def vol_info(s: RemoteSession, a: P.VolArgs) -> P.VolGetInfoRet:
    i = await s.drv.storage_vol_get_info(a.vol)
    return P.VolGetInfoRet(i.type, i.capacity, i.allocation)


@serves(P.STORAGE_VOL_GET_XML_DESC)
async def vol_xml(s: RemoteSession, a: P.VolFlagsArgs) -> P.GetXmlDescRet:
    return P.GetXmlDescRet(await s.drv.storage_vol_get_xml_desc(a.vol, a.flags))


@serves(P.STORAGE_VOL_GET_PATH)
async def vol_path(s: RemoteSession, a: P.VolArgs) -> P.VolGetPathRet:
    return P.VolGetPathRet(await s.drv.storage_vol_get_path(a.vol))


@serves(P.STORAGE_VOL_UPLOAD)
async def vol_upload(s: RemoteSession, a: P.VolTransferArgs) -> None:
    await serve_stream(s, P.STORAGE_VOL_UPLOAD, s.drv.storage_vol_upload(a.vol, a.offset, a.length, a.flags))


@serves(P.STORAGE_VOL_DOWNLOAD)
async def vol_download(s: RemoteSession, a: P.VolTransferArgs) -> None:
    await serve_stream(s, P.STORAGE_VOL_DOWNLOAD, s.drv.storage_vol_download(a.vol, a.offset, a.length, a.flags))
