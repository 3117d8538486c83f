"""The dir (and fs, once mounted) pool backend: a directory whose regular files are volumes.

Every name and path handed in is checked to stay inside the pool: volume names cannot hold
'/' or be '.'/'..', and a path is accepted only when its real path (symlinks resolved) is a
direct child of the pool's real target directory.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from pyvirt.conf.storage.common import Perms
from pyvirt.conf.storage.volume import BackingStore, VolDef, VolType
from pyvirt.drivers.storage import qemuimg
from pyvirt.drivers.storage.pools import PoolObj, err
from pyvirt.errors import ErrorCode


def check_vol_name(name: str) -> None:
    if "/" in name:
        raise err(ErrorCode.OPERATION_INVALID,
                  f"Requested operation is not valid: volume name '{name}' cannot contain '/'")
    if name in ("", ".", "..") or "\0" in name:  # the pool directory or its parent
        raise err(ErrorCode.OPERATION_INVALID,
                  f"Requested operation is not valid: volume name '{name}' is not allowed")


def check_new_vol_name(pool: PoolObj, name: str) -> None:
    """What libvirt answers for a new volume named '.' or '..': the path exists already."""
    if name in (".", ".."):
        raise err(ErrorCode.OPERATION_INVALID, "Requested operation is not valid: volume "
                  f"target path '{pool.defn.target_path}/{name}' already exists")
    check_vol_name(name)


def vol_path(pool: PoolObj, name: str) -> Path:
    """The path of volume ``name`` in ``pool``; refuses anything that would leave the pool."""
    check_vol_name(name)
    assert pool.defn.target_path is not None
    base = Path(pool.defn.target_path)
    path = base / name
    real_base = base.resolve()
    if path.is_symlink() and path.resolve().parent != real_base:
        raise err(ErrorCode.INVALID_ARG,
                  f"invalid argument: volume '{name}' points outside pool '{pool.defn.name}'")
    return path


def inside(pool: PoolObj, path: str) -> str | None:
    """The volume name if ``path`` names a file directly inside the pool, else None."""
    assert pool.defn.target_path is not None
    real_base = Path(pool.defn.target_path).resolve()
    real = Path(os.path.normpath(path)).resolve()
    if real.parent != real_base or not real.is_file():
        return None
    return real.name


def list_names(pool: PoolObj) -> list[str]:
    assert pool.defn.target_path is not None
    base = Path(pool.defn.target_path)
    real_base = base.resolve()
    out = []
    for entry in sorted(os.scandir(base), key=lambda e: e.name):
        if entry.name.startswith("."):
            continue
        p = Path(entry.path)
        # a symlink out of the pool is not one of its volumes
        if p.is_symlink() and p.resolve().parent != real_base:
            continue
        if p.is_file():
            out.append(entry.name)
    return out


async def describe(pool: PoolObj, name: str) -> VolDef:
    """A volume's live definition: qemu-img info for format and sizes, stat for the rest."""
    path = vol_path(pool, name)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise err(ErrorCode.NO_STORAGE_VOL,
                  f"Storage volume not found: no storage vol with matching name '{name}'") from None
    info = await qemuimg.info(str(path))
    # a raw file's capacity is its size (qemu would round it up to a sector)
    capacity = st.st_size if info.format == "raw" else info.capacity
    vol = VolDef(name, VolType.FILE, key=str(path), capacity=capacity,
                 allocation=st.st_blocks * 512, path=str(path), format=info.format,
                 physical=st.st_size)
    vol.perms, vol.timestamps = _stat_facts(st)
    if info.format == "qcow2" and name not in pool.unscanned:
        vol.cluster_size = info.cluster_size
    if info.backing:
        vol.backing = BackingStore(info.backing, info.backing_format or "raw")
        try:
            vol.backing.perms, vol.backing.timestamps = _stat_facts(os.stat(info.backing))
        except OSError:
            pass  # a missing backing file is still named, without facts
    return vol


def _stat_facts(st: os.stat_result) -> tuple[Perms, dict[str, str]]:
    """Permissions and timestamps as libvirt reports them (btime unknown: 0)."""
    def ts(ns: int) -> str:
        return f"{ns // 10**9}.{ns % 10**9:09d}"

    stamps = {"atime": ts(st.st_atime_ns), "mtime": ts(st.st_mtime_ns),
              "ctime": ts(st.st_ctime_ns), "btime": "0"}
    return Perms(st.st_mode & 0o777, st.st_uid, st.st_gid), stamps


async def wipe(path: Path) -> None:
    """Zero the file's contents in place (libvirt's default wipe algorithm)."""
    def _zero() -> None:
        size = path.stat().st_size
        chunk = b"\0" * (1 << 20)
        with path.open("r+b") as f:
            left = size
            while left > 0:
                n = min(left, len(chunk))
                f.write(chunk[:n])
                left -= n
            f.flush()
            os.fsync(f.fileno())
    await asyncio.to_thread(_zero)


async def scrub(binary: str, path: Path, pattern: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        binary, "-f", "-p", pattern, str(path), stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, errout = await proc.communicate()
    if proc.returncode != 0:
        raise err(ErrorCode.INTERNAL_ERROR, f"internal error: Child process ({binary} -f -p "
                  f"{pattern} {path}) unexpected exit status {proc.returncode}: "
                  f"{(errout or out).decode(errors='replace').strip()}")
