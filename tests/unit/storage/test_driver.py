"""The storage driver on a real filesystem with real qemu-img (tmp dirs, embed root)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pyvirt.drivers.base import StoragePoolRef
from pyvirt.drivers.qemu.driver import QemuDriver
from pyvirt.drivers.qemu.paths import QemuPaths
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

pytestmark = pytest.mark.skipif(
    subprocess.run(["which", "qemu-img"], capture_output=True, check=False).returncode != 0,
    reason="qemu-img not installed")


def pool_xml(name: str, path: Path, ptype: str = "dir") -> str:
    return f"<pool type='{ptype}'><name>{name}</name><target><path>{path}</path></target></pool>"


def vol_xml(name: str, cap: str = "10M", fmt: str = "raw", extra: str = "") -> str:
    num, unit = cap[:-1], cap[-1]
    return (f"<volume><name>{name}</name><capacity unit='{unit}'>{num}</capacity>"
            f"<target><format type='{fmt}'/></target>{extra}</volume>")


def qinfo(path: Path) -> dict[str, object]:
    out = subprocess.run(["qemu-img", "info", "-U", "--output=json", str(path)],
                         capture_output=True, check=True, text=True).stdout
    data: dict[str, object] = json.loads(out)
    return data


@pytest.fixture
async def drv(tmp_path: Path) -> AsyncIterator[QemuDriver]:
    d = await QemuDriver.open_paths(QemuPaths.embed(tmp_path / "root"))
    yield d
    await d.close()


@pytest.fixture
async def pool(drv: QemuDriver, tmp_path: Path) -> StoragePoolRef:
    p = await drv.storage_pool_define_xml(pool_xml("p", tmp_path / "images"))
    await drv.storage_pool_build(p)
    await drv.storage_pool_create(p)
    return p


def files(d: Path) -> list[str]:
    return sorted(os.listdir(d))


async def test_pool_lifecycle_persisted(drv: QemuDriver, tmp_path: Path) -> None:
    root = tmp_path / "root"
    p = await drv.storage_pool_define_xml(pool_xml("p", tmp_path / "images"))
    assert (root / "etc" / "storage" / "p.xml").is_file()
    assert not await drv.storage_pool_is_active(p)
    assert (await drv.storage_pool_get_info(p)).state == 0
    with pytest.raises(VirtError) as ei:
        await drv.storage_pool_create(p)  # target dir not built yet
    assert ei.value.code == ErrorCode.OPERATION_INVALID
    await drv.storage_pool_build(p)
    assert (tmp_path / "images").is_dir()
    await drv.storage_pool_create(p)
    assert (root / "run" / "storage" / "p.xml").is_file()
    info = await drv.storage_pool_get_info(p)
    st = os.statvfs(tmp_path / "images")
    assert info.state == 2 and info.capacity == st.f_frsize * st.f_blocks
    with pytest.raises(VirtError) as ei:
        await drv.storage_pool_create(p)
    assert ei.value.code == ErrorCode.OPERATION_INVALID
    await drv.storage_pool_set_autostart(p, True)
    assert (root / "etc" / "storage" / "autostart" / "p.xml").is_symlink()
    # a second connection (restarted daemon) sees the same state
    d2 = await QemuDriver.open_paths(QemuPaths.embed(root))
    p2 = await d2.storage_pool_lookup_by_name("p")
    assert p2 == p
    assert await d2.storage_pool_is_active(p2) and await d2.storage_pool_get_autostart(p2)
    with pytest.raises(VirtError) as ei:
        await drv.storage_pool_undefine(p)
    assert ei.value.code == ErrorCode.OPERATION_INVALID
    await drv.storage_pool_destroy(p)
    assert not (root / "run" / "storage" / "p.xml").exists()
    await drv.storage_pool_delete(p)
    assert not (tmp_path / "images").exists()
    await drv.storage_pool_undefine(p)
    assert not (root / "etc" / "storage" / "p.xml").exists()
    assert not (root / "etc" / "storage" / "autostart" / "p.xml").is_symlink()
    with pytest.raises(VirtError) as ei:
        await drv.storage_pool_lookup_by_name("p")
    assert (ei.value.code, ei.value.domain) == (ErrorCode.NO_STORAGE_POOL, ErrorDomain.STORAGE)
    assert ei.value.message == "Storage pool not found: no storage pool with matching name 'p'"


async def test_list_flags_and_conflicts(drv: QemuDriver, pool: StoragePoolRef, tmp_path: Path) -> None:
    q = await drv.storage_pool_define_xml(pool_xml("q", tmp_path / "other"))
    assert [r.name for r in await drv.list_all_storage_pools()] == ["p", "q"]
    assert [r.name for r in await drv.list_all_storage_pools(2)] == ["p"]  # ACTIVE
    assert [r.name for r in await drv.list_all_storage_pools(1)] == ["q"]  # INACTIVE
    assert [r.name for r in await drv.list_all_storage_pools(128)] == []  # FS only
    assert await drv.storage_pool_lookup_by_uuid(q.uuid) == q
    with pytest.raises(VirtError) as ei:  # same name, other uuid
        await drv.storage_pool_define_xml(pool_xml("q", tmp_path / "x").replace(
            "<name>", "<uuid>11111111-2222-3333-4444-555555555555</uuid><name>"))
    assert ei.value.code == ErrorCode.OPERATION_FAILED
    with pytest.raises(VirtError) as ei:  # same target as pool p
        await drv.storage_pool_define_xml(pool_xml("r", tmp_path / "images"))
    assert ei.value.code == ErrorCode.OPERATION_FAILED
    with pytest.raises(VirtError) as ei:
        await drv.storage_pool_define_xml("<pool type='dir'><name>a/b</name>"
                                          "<target><path>/tmp/x</path></target></pool>")
    assert ei.value.code == ErrorCode.XML_ERROR
    assert [r.name for r in await drv.list_all_storage_pools()] == ["p", "q"]


async def test_volumes_raw_qcow2_backing(drv: QemuDriver, pool: StoragePoolRef, tmp_path: Path) -> None:
    img = tmp_path / "images"
    raw = await drv.storage_vol_create_xml(pool, vol_xml("a.img", "10M"))
    assert raw.key == str(img / "a.img") and qinfo(img / "a.img")["format"] == "raw"
    base = await drv.storage_vol_create_xml(pool, vol_xml("base.qcow2", "1G", "qcow2"))
    top = await drv.storage_vol_create_xml(pool, vol_xml(
        "top.qcow2", "1G", "qcow2",
        f"<backingStore><path>{base.key}</path><format type='qcow2'/></backingStore>"))
    qi = qinfo(img / "top.qcow2")
    assert qi["backing-filename"] == base.key and qi["virtual-size"] == 1 << 30
    info = await drv.storage_vol_get_info(top)
    assert info.capacity == 1 << 30
    assert info.allocation == (img / "top.qcow2").stat().st_blocks * 512
    xml = await drv.storage_vol_get_xml_desc(top)
    assert f"<path>{base.key}</path>" in xml and "<format type='qcow2'/>" in xml
    meta = await drv.storage_vol_create_xml(pool, vol_xml("m.qcow2", "64M", "qcow2"), 1)
    assert (await drv.storage_vol_get_info(meta)).allocation > (await drv.storage_vol_get_info(base)).allocation
    names = [v.name for v in await drv.storage_pool_list_all_volumes(pool)]
    assert names == ["a.img", "base.qcow2", "m.qcow2", "top.qcow2"]
    assert await drv.storage_vol_lookup_by_path(str(img / "." / "a.img")) == raw
    assert await drv.storage_vol_lookup_by_key(raw.key) == raw
    assert await drv.storage_vol_get_path(raw) == raw.key
    with pytest.raises(VirtError) as ei:
        await drv.storage_vol_create_xml(pool, vol_xml("a.img"))
    assert ei.value.code == ErrorCode.STORAGE_VOL_EXIST


async def test_resize_clone_wipe_delete(drv: QemuDriver, pool: StoragePoolRef, tmp_path: Path) -> None:
    img = tmp_path / "images"
    v = await drv.storage_vol_create_xml(pool, vol_xml("a.qcow2", "10M", "qcow2"))
    await drv.storage_vol_resize(v, 20 << 20)
    assert qinfo(img / "a.qcow2")["virtual-size"] == 20 << 20
    await drv.storage_vol_resize(v, 1 << 20, 2)  # DELTA
    assert qinfo(img / "a.qcow2")["virtual-size"] == 21 << 20
    with pytest.raises(VirtError) as ei:
        await drv.storage_vol_resize(v, 1 << 20)
    assert ei.value.code == ErrorCode.INVALID_ARG
    assert qinfo(img / "a.qcow2")["virtual-size"] == 21 << 20
    c = await drv.storage_vol_create_xml_from(pool, vol_xml("c.img", "1M", "raw"), v)
    assert qinfo(img / "c.img")["format"] == "raw" and qinfo(img / "c.img")["virtual-size"] == 21 << 20
    r = await drv.storage_vol_create_xml(pool, vol_xml("r.img", "1M"))
    (img / "r.img").write_bytes(b"\x55" * (1 << 20))
    await drv.storage_vol_wipe(r)
    assert (img / "r.img").read_bytes() == b"\0" * (1 << 20)
    # like libvirt, a wipe zeroes the whole file whatever its format: a qcow2 becomes raw
    await drv.storage_vol_wipe(v)
    assert set((img / "a.qcow2").read_bytes()) == {0} and qinfo(img / "a.qcow2")["format"] == "raw"
    await drv.storage_vol_delete(c)
    assert not (img / "c.img").exists()
    with pytest.raises(VirtError) as ei:
        await drv.storage_vol_get_info(c)
    assert ei.value.code == ErrorCode.NO_STORAGE_VOL


async def test_upload_download(drv: QemuDriver, pool: StoragePoolRef, tmp_path: Path) -> None:
    v = await drv.storage_vol_create_xml(pool, vol_xml("u.img", "1M"))
    data = os.urandom(300_000)
    st = await drv.storage_vol_upload(v, 4096, 0)
    await st.write(data)
    await st.close()
    got = (tmp_path / "images" / "u.img").read_bytes()
    assert got[4096:4096 + len(data)] == data and len(got) == 1 << 20
    st = await drv.storage_vol_download(v, 4096, len(data))
    chunks = []
    while chunk := await st.read(65536):
        chunks.append(chunk)
    await st.close()
    assert b"".join(chunks) == data


@pytest.mark.parametrize("name", ["../escape.img", "a/b.img", "..", ".", "/etc/passwd"])
async def test_names_cannot_escape(drv: QemuDriver, pool: StoragePoolRef, tmp_path: Path, name: str) -> None:
    before = files(tmp_path)
    with pytest.raises(VirtError) as ei:
        await drv.storage_vol_create_xml(pool, vol_xml(name))
    assert ei.value.code == ErrorCode.OPERATION_INVALID
    assert files(tmp_path) == before and files(tmp_path / "images") == []
    with pytest.raises(VirtError) as ei:
        await drv.storage_vol_lookup_by_name(pool, name)
    assert ei.value.code == ErrorCode.NO_STORAGE_VOL


async def test_symlink_escape(drv: QemuDriver, pool: StoragePoolRef, tmp_path: Path) -> None:
    secret = tmp_path / "secret.img"
    secret.write_bytes(b"x" * 512)
    (tmp_path / "images" / "link.img").symlink_to(secret)
    assert await drv.storage_pool_list_all_volumes(pool) == []
    for call in (drv.storage_vol_lookup_by_name(pool, "link.img"),
                 drv.storage_vol_lookup_by_path(str(tmp_path / "images" / "link.img")),
                 drv.storage_vol_lookup_by_path(str(secret))):
        with pytest.raises(VirtError) as ei:
            await call
        assert ei.value.code == ErrorCode.NO_STORAGE_VOL
    # creating over a dangling or escaping link is refused and writes nothing through it
    (tmp_path / "images" / "dangling.img").symlink_to(tmp_path / "nowhere.img")
    with pytest.raises(VirtError):
        await drv.storage_vol_create_xml(pool, vol_xml("dangling.img"))
    assert not (tmp_path / "nowhere.img").exists()
    assert secret.read_bytes() == b"x" * 512


async def test_bad_input_leaves_nothing(drv: QemuDriver, pool: StoragePoolRef, tmp_path: Path) -> None:
    for xml in (vol_xml("b.img", "10M", "nosuchfmt"), "<volume><name>x.img</name></volume>",
                "<volume><name>y.img</name><capacity>abc</capacity></volume>", "<volume",
                vol_xml("z.qcow2", "1M", "qcow2",
                        f"<backingStore><path>{tmp_path}/missing.qcow2</path></backingStore>")):
        with pytest.raises(VirtError):
            await drv.storage_vol_create_xml(pool, xml)
    assert files(tmp_path / "images") == []
    q = await drv.storage_pool_define_xml(pool_xml("q", tmp_path / "q"))
    with pytest.raises(VirtError) as ei:
        await drv.storage_vol_create_xml(q, vol_xml("a.img"))
    assert ei.value.code == ErrorCode.OPERATION_INVALID
    assert ei.value.message == "Requested operation is not valid: storage pool 'q' is not active"
