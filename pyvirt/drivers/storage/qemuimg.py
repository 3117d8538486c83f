"""qemu-img as an asyncio subprocess: create, info, resize, convert. Failures become libvirt's
storage errors carrying qemu-img's own message."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

QEMU_IMG = "qemu-img"


@dataclass(frozen=True, slots=True)
class ImageInfo:
    format: str
    capacity: int  # virtual-size
    allocation: int  # actual-size (blocks on disk)
    backing: str | None
    backing_format: str | None
    compat: str | None
    cluster_size: int | None


async def run(*args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        QEMU_IMG, *args, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    if proc.returncode != 0:
        msg = err.decode(errors="replace").strip() or out.decode(errors="replace").strip()
        raise VirtError(f"internal error: Child process ({QEMU_IMG} {' '.join(args)}) "
                        f"unexpected exit status {proc.returncode}: {msg}",
                        ErrorCode.INTERNAL_ERROR, ErrorDomain.STORAGE)
    return out.decode()


async def info(path: str) -> ImageInfo:
    # -U: the image may be open by a running QEMU; we only read metadata
    data = json.loads(await run("info", "-U", "--output=json", path))
    spec = data.get("format-specific", {}).get("data", {})
    return ImageInfo(str(data["format"]), int(data["virtual-size"]),
                     int(data.get("actual-size", 0)), data.get("backing-filename"),
                     data.get("backing-filename-format"), spec.get("compat"),
                     data.get("cluster-size"))


async def create(path: str, fmt: str, capacity: int, *, backing: str | None = None,
                 backing_fmt: str | None = None, prealloc: str | None = None,
                 compat: str | None = None, cluster_size: int | None = None,
                 features: list[str] | None = None) -> None:
    opts: list[str] = []
    if backing is not None:
        opts += [f"backing_file={backing}", f"backing_fmt={backing_fmt or 'raw'}"]
    if prealloc is not None:
        opts.append(f"preallocation={prealloc}")
    if fmt == "qcow2":
        opts.append(f"compat={compat or '1.1'}")
        if cluster_size:
            opts.append(f"cluster_size={cluster_size}")
        for f in features or ():
            opts.append(f"{f}=on")
    args = ["create", "-f", fmt]
    if opts:
        args += ["-o", ",".join(o.replace(",", ",,") for o in opts)]
    args.append(path)
    if capacity or backing is None:
        args.append(str(capacity))
    await run(*args)


async def convert(src: str, src_fmt: str, dst: str, dst_fmt: str, *,
                  backing: str | None = None, backing_fmt: str | None = None) -> None:
    """Copy ``src`` into a new image; a backing file given is kept under the copy, as
    libvirt's clone of an overlay keeps its backing chain."""
    opts = []
    if backing is not None:
        opts += [f"backing_fmt={backing_fmt or 'raw'}", f"backing_file={backing}"]
    if dst_fmt == "qcow2":
        opts.append("compat=1.1")
    args = ["convert", "-f", src_fmt, "-O", dst_fmt]
    if opts:
        args += ["-o", ",".join(o.replace(",", ",,") for o in opts)]
    await run(*args, src, dst)


async def resize(path: str, fmt: str, capacity: int, *, shrink: bool) -> None:
    args = ["resize", "-f", fmt]
    if shrink:
        args.append("--shrink")
    await run(*args, path, str(capacity))
