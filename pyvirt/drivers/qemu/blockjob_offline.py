"""Block commit and pull on a shut-off domain, with qemu-img (libvirt never had this).

The seed's guide describes the offline recipes; they are followed here:

* commit ``top`` into ``base`` (``qemu-img commit -b BASE TOP``, which leaves TOP's data
  in place), then the image above ``top`` is re-pointed at ``base`` in *unsafe* mode
  (``qemu-img rebase -u``): its view of the data did not change, only the file name did.
  Committing the active layer (ACTIVE) makes ``base`` the disk's source in the persistent
  definition - the offline form of a pivot.
* pull: ``qemu-img rebase -b BASE TOP`` in *safe* mode copies whatever differs between
  the old and the new backing file into TOP (``-b ""`` flattens the whole chain).

The operations are synchronous (there is no QEMU job to wait for); DELETE removes the
images that left the chain.
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING

from pyvirt.drivers.qemu.backingchain import ChainLayer, image_chain, run_qemu_img
from pyvirt.drivers.qemu.blockjob import (
    COMMIT_ACTIVE,
    COMMIT_DELETE,
    COMMIT_RELATIVE,
    commit_layers,
    err,
    find_disk,
    lookup_layer,
)
from pyvirt.drivers.qemu.blockjob_relative import relative_backing
from pyvirt.errors import ErrorCode

if TYPE_CHECKING:
    from pyvirt.conf.domain import DiskDef, DomainDef


async def disk_chain(disk: DiskDef) -> list[ChainLayer]:
    if disk.source is None or disk.source.path is None:
        raise err(ErrorCode.OPERATION_INVALID, f"Requested operation is not valid: disk '{disk.target.dev}' does not have a source")
    fmt = str(disk.driver.type) if disk.driver is not None and disk.driver.type else None
    return await image_chain(disk.source.path, fmt)


async def offline_commit(m: DomainDef, disk: str, base: str | None, top: str | None, flags: int) -> bool:
    """Commit in the files of definition ``m``; returns True if ``m`` changed (pivot)."""
    d = find_disk(m, disk)
    chain = await disk_chain(d)
    t, b = commit_layers(chain, d.target.dev, base, top, flags)
    top_l, base_l = chain[t], chain[b]
    backing = base_l.path
    if t > 0 and flags & COMMIT_RELATIVE:  # checked before anything is written
        backing = await relative_backing(chain[0].path, chain[0].format, t - 1, b)
    # qemu-img commit -b goes down to any base in the chain and keeps TOP intact (-d implied).
    await run_qemu_img("commit", "-q", "-f", top_l.format, "-b", base_l.path, top_l.path)
    changed = False
    if t > 0:
        above = chain[t - 1]
        await run_qemu_img("rebase", "-q", "-u", "-f", above.format, "-F", base_l.format, "-b", backing, above.path)
    elif flags & COMMIT_ACTIVE:
        assert d.source is not None
        d.source.path = base_l.path
        if d.driver is not None:
            d.driver.type = base_l.format
        d.backing_store = None
        changed = True
    if flags & COMMIT_DELETE:
        for layer in chain[t:b]:
            with contextlib.suppress(OSError):
                os.unlink(layer.path)
    return changed


async def offline_pull(m: DomainDef, disk: str, base: str | None, *, relative: bool = False) -> None:
    """Pull into the active image (safe-mode rebase onto ``base`` or onto nothing)."""
    d = find_disk(m, disk)
    chain = await disk_chain(d)
    top = chain[0]
    if base is None:
        await run_qemu_img("rebase", "-q", "-f", top.format, "-b", "", top.path)
        return
    b = lookup_layer(chain, base, 1, d.target.dev)
    # relative: qemu-img rebase resolves the string from the top image's directory, as QEMU does
    backing = await relative_backing(top.path, top.format, 0, b) if relative else chain[b].path
    await run_qemu_img("rebase", "-q", "-f", top.format, "-F", chain[b].format, "-b", backing, top.path)
