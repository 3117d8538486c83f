"""The asyncio storage API on the test driver: handles, errors, read-only refusal."""

from __future__ import annotations

import pytest

import pyvirt.aio as virt
from pyvirt.aio.storage import StoragePool, StorageVol
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

VOL = "<volume><name>{}</name><capacity unit='KiB'>4</capacity></volume>"


async def test_pool_and_volume_handles() -> None:
    conn = await virt.open("test:///default")
    try:
        pool = await conn.storage_pool_lookup_by_name("default-pool")
        assert isinstance(pool, StoragePool) and pool.uuid_string == "dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566"
        assert await conn.storage_pool_lookup_by_uuid(pool.uuid) == pool
        assert await conn.storage_pool_lookup_by_uuid_string(pool.uuid_string) == pool
        vol = await pool.create_vol_xml(VOL.format("aio.img"))
        assert isinstance(vol, StorageVol) and vol.key == "/default-pool/aio.img"
        assert (await vol.info()).capacity == 4096
        assert await conn.storage_vol_lookup_by_path(await vol.path()) == vol
        assert await vol.pool() == pool
        assert "aio.img" in [v.name for v in await pool.list_all_volumes()]
        info = await pool.info()
        assert info.allocation >= 4096 and info.capacity == 100 * 1024**3
        with pytest.raises(VirtError) as ei:
            await pool.vol_lookup_by_name("missing")
        assert (ei.value.code, ei.value.message) == (
            ErrorCode.NO_STORAGE_VOL,
            "Storage volume not found: no storage vol with matching name 'missing'")
        with pytest.raises(VirtError) as ei:
            await vol.resize(8192)
        assert (ei.value.code, ei.value.domain) == (ErrorCode.NO_SUPPORT, ErrorDomain.STORAGE)
        await vol.delete()
        assert "aio.img" not in [v.name for v in await pool.list_all_volumes()]
    finally:
        await conn.close()


async def test_readonly_connection_refuses_changes() -> None:
    conn = await virt.open("test:///default", readonly=True)
    try:
        pool = await conn.storage_pool_lookup_by_name("default-pool")
        assert await pool.is_active()  # reads are fine
        for call in (pool.create_vol_xml(VOL.format("ro.img")), pool.destroy(),
                     conn.storage_pool_define_xml("<pool type='dir'><name>x</name>"
                                                  "<target><path>/x</path></target></pool>")):
            with pytest.raises(VirtError) as ei:
                await call
            assert ei.value.code == ErrorCode.OPERATION_DENIED
        assert "x" not in [p.name for p in await conn.list_all_storage_pools()]
        assert await pool.is_active()
    finally:
        await conn.close()
