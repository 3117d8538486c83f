"""The fs pool type: a block device with a filesystem, mounted on the target directory while
the pool is active (mount(8)/umount(8)); its volumes are then files as in a dir pool."""

from __future__ import annotations

import asyncio
import os

from pyvirt.conf.storage.pool import PoolDef, PoolType
from pyvirt.drivers.storage.pools import err
from pyvirt.errors import ErrorCode


def _unescape(field: str) -> str:
    """/proc/mounts escapes space, tab, newline and backslash as octal."""
    return (field.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n")
            .replace("\\134", "\\"))


def is_mounted(target: str) -> bool:
    real = os.path.realpath(target)
    try:
        with open("/proc/mounts") as f:
            return any(_unescape(line.split()[1]) == real for line in f if len(line.split()) > 2)
    except OSError:
        return False


async def _run(*argv: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, errout = await proc.communicate()
    if proc.returncode != 0:
        msg = (errout or out).decode(errors="replace").strip()
        raise err(ErrorCode.INTERNAL_ERROR, f"internal error: Child process ({' '.join(argv)}) "
                  f"unexpected exit status {proc.returncode}: {msg}")


async def mount(defn: PoolDef) -> None:
    """Mount the pool's device on its target unless it is mounted there already."""
    if defn.type is not PoolType.FS:
        return
    assert defn.target_path is not None
    if is_mounted(defn.target_path):
        return
    dev = defn.source.devices[0].path
    fmt = defn.source.format or "auto"
    argv = ["mount"] + ([] if fmt == "auto" else ["-t", fmt]) + [dev, defn.target_path]
    await _run(*argv)


async def unmount(defn: PoolDef) -> None:
    if defn.type is not PoolType.FS:
        return
    assert defn.target_path is not None
    if is_mounted(defn.target_path):
        await _run("umount", defn.target_path)


async def mkfs(defn: PoolDef) -> None:
    """pool-build --overwrite on an fs pool: make the filesystem on the source device."""
    fmt = defn.source.format or "auto"
    if fmt == "auto":
        raise err(ErrorCode.OPERATION_FAILED, "operation failed: No source format provided")
    dev = defn.source.devices[0].path
    # ext* need -F to write over a device that already holds a filesystem
    await _run(f"mkfs.{fmt}", *(["-q", "-F"] if fmt.startswith("ext") else []), dev)
