"""fs pools on a real loop device (mkfs.ext4, mount, umount), and pool autostart."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from pyvirt.drivers.qemu.driver import QemuDriver
from pyvirt.drivers.qemu.paths import QemuPaths
from pyvirt.drivers.storage.fs import is_mounted
from pyvirt.errors import VirtError


def _can_loop() -> bool:
    return (os.geteuid() == 0 and shutil.which("losetup") is not None
            and shutil.which("mkfs.ext4") is not None and os.path.exists("/dev/loop-control"))


@pytest.fixture
def loopdev(tmp_path: Path) -> Iterator[str]:
    if not _can_loop():
        pytest.skip("needs root, losetup, mkfs.ext4 and /dev/loop-control")
    img = tmp_path / "fs.img"
    with img.open("wb") as f:
        f.truncate(32 << 20)
    p = subprocess.run(["losetup", "-f", "--show", str(img)], capture_output=True, text=True,
                       check=False)
    if p.returncode != 0:
        pytest.skip(f"losetup failed: {p.stderr.strip()}")
    dev = p.stdout.strip()
    yield dev
    subprocess.run(["umount", str(tmp_path / "mnt")], capture_output=True, check=False)
    subprocess.run(["losetup", "-d", dev], capture_output=True, check=False)


@pytest.fixture
async def drv(tmp_path: Path) -> AsyncIterator[QemuDriver]:
    d = await QemuDriver.open_paths(QemuPaths.embed(tmp_path / "root"))
    yield d
    await d.close()


async def test_fs_pool_mounts_device(drv: QemuDriver, loopdev: str, tmp_path: Path) -> None:
    mnt = tmp_path / "mnt"
    p = await drv.storage_pool_define_xml(
        f"<pool type='fs'><name>f</name><source><device path='{loopdev}'/>"
        f"<format type='ext4'/></source><target><path>{mnt}</path></target></pool>")
    with pytest.raises(VirtError):
        await drv.storage_pool_create(p)  # no target directory yet
    await drv.storage_pool_build(p, 8)  # BUILD_OVERWRITE: mkdir + mkfs.ext4 on the device
    await drv.storage_pool_create(p)
    assert is_mounted(str(mnt))
    info = await drv.storage_pool_get_info(p)
    st = os.statvfs(mnt)
    assert info.capacity == st.f_frsize * st.f_blocks < 64 << 20  # the loop fs, not the host's
    v = await drv.storage_vol_create_xml(
        p, "<volume><name>v.qcow2</name><capacity unit='M'>8</capacity>"
           "<target><format type='qcow2'/></target></volume>")
    assert (mnt / "v.qcow2").is_file()
    await drv.storage_pool_destroy(p)
    assert not is_mounted(str(mnt)) and not (mnt / "v.qcow2").exists()
    await drv.storage_pool_create(p)  # mounted again: the volume is back
    # lost+found is a directory, not a volume
    assert [r.name for r in await drv.storage_pool_list_all_volumes(p)] == ["v.qcow2"]
    assert (await drv.storage_vol_get_info(v)).capacity == 8 << 20
    await drv.storage_pool_destroy(p)


async def test_autostart_pools(drv: QemuDriver, tmp_path: Path) -> None:
    xml = "<pool type='dir'><name>{n}</name><target><path>{p}</path></target></pool>"
    a = await drv.storage_pool_define_xml(xml.format(n="a", p=tmp_path / "a"))
    b = await drv.storage_pool_define_xml(xml.format(n="b", p=tmp_path / "b"))
    gone = await drv.storage_pool_define_xml(xml.format(n="gone", p=tmp_path / "gone"))
    for ref in (a, b):
        await drv.storage_pool_build(ref)
    await drv.storage_pool_set_autostart(a, True)
    await drv.storage_pool_set_autostart(gone, True)  # target never built: start fails
    d2 = await QemuDriver.open_paths(QemuPaths.embed(tmp_path / "root"))
    await d2.autostart_storage_pools()
    assert await d2.storage_pool_is_active(a)
    assert not await d2.storage_pool_is_active(b)
    assert not await d2.storage_pool_is_active(gone)
    await d2.close()
