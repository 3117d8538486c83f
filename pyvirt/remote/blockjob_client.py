"""Client side of the block job, block device and save/restore procedures, mixed into
RemoteDriver."""

from __future__ import annotations

from pyvirt.drivers.base import BlockInfo, BlockJobInfo, BlockStats, DomainRef
from pyvirt.enums import BlockJobType
from pyvirt.remote import protocol as P
from pyvirt.remote.client_mixin import RemoteMixin
from pyvirt.remote.typedparam_maps import BLOCK_COPY_TYPES, params_to_stats
from pyvirt.rpc.typedparams import from_dict


class RemoteBlockJobMixin(RemoteMixin):
    async def block_commit(self, dom: DomainRef, disk: str, base: str | None, top: str | None,
                           bandwidth: int, flags: int = 0) -> None:
        await self._call(P.DOMAIN_BLOCK_COMMIT, P.BlockCommitArgs(dom, disk, base, top, bandwidth, flags))

    async def block_rebase(self, dom: DomainRef, disk: str, base: str | None, bandwidth: int,
                           flags: int = 0) -> None:
        await self._call(P.DOMAIN_BLOCK_REBASE, P.BlockRebaseArgs(dom, disk, base, bandwidth, flags))

    async def block_pull(self, dom: DomainRef, disk: str, bandwidth: int, flags: int = 0) -> None:
        await self._call(P.DOMAIN_BLOCK_PULL, P.BlockBandwidthArgs(dom, disk, bandwidth, flags))

    async def get_block_job_info(self, dom: DomainRef, disk: str, flags: int = 0) -> BlockJobInfo | None:
        r = await self._call(P.DOMAIN_GET_BLOCK_JOB_INFO, P.BlockPathFlagsArgs(dom, disk, flags))
        if not r.found:
            return None
        return BlockJobInfo(BlockJobType(r.type), r.bandwidth, r.cur, r.end)

    async def block_job_abort(self, dom: DomainRef, disk: str, flags: int = 0) -> None:
        await self._call(P.DOMAIN_BLOCK_JOB_ABORT, P.BlockPathFlagsArgs(dom, disk, flags))

    async def block_job_set_speed(self, dom: DomainRef, disk: str, bandwidth: int, flags: int = 0) -> None:
        await self._call(P.DOMAIN_BLOCK_JOB_SET_SPEED, P.BlockBandwidthArgs(dom, disk, bandwidth, flags))

    async def get_block_info(self, dom: DomainRef, disk: str, flags: int = 0) -> BlockInfo:
        r = await self._call(P.DOMAIN_GET_BLOCK_INFO, P.BlockPathFlagsArgs(dom, disk, flags))
        return BlockInfo(r.capacity, r.allocation, r.physical)

    async def block_stats(self, dom: DomainRef, disk: str) -> BlockStats:
        r = await self._call(P.DOMAIN_BLOCK_STATS, P.BlockStatsArgs(dom, disk))
        return BlockStats(r.rd_req, r.rd_bytes, r.wr_req, r.wr_bytes, r.errs)

    async def block_stats_flags(self, dom: DomainRef, disk: str, flags: int = 0) -> BlockStats:
        # libvirt's client asks for the count first, then for that many (with STRING_OKAY)
        n = (await self._call(P.DOMAIN_BLOCK_STATS_FLAGS, P.BlockStatsFlagsArgs(dom, disk, 0, flags))).nparams
        if n <= 0:
            return params_to_stats([])
        r = await self._call(P.DOMAIN_BLOCK_STATS_FLAGS, P.BlockStatsFlagsArgs(dom, disk, n, flags))
        return params_to_stats(r.params)

    async def block_copy(self, dom: DomainRef, disk: str, destxml: str, bandwidth: int, flags: int = 0,
                         *, granularity: int = 0, buf_size: int = 0) -> None:
        values = {k: v for k, v in (("bandwidth", bandwidth), ("granularity", granularity),
                                     ("buf-size", buf_size)) if v}
        params = from_dict(values, BLOCK_COPY_TYPES)
        await self._call(P.DOMAIN_BLOCK_COPY, P.BlockCopyArgs(dom, disk, destxml, params, flags))

    async def block_resize(self, dom: DomainRef, disk: str, size: int, flags: int = 0) -> None:
        await self._call(P.DOMAIN_BLOCK_RESIZE, P.BlockResizeArgs(dom, disk, size, flags))

    async def save(self, dom: DomainRef, to: str, dxml: str | None = None, flags: int = 0) -> None:
        if dxml is None and not flags:
            await self._call(P.DOMAIN_SAVE, P.SaveArgs(dom, to))
        else:
            await self._call(P.DOMAIN_SAVE_FLAGS, P.SaveFlagsArgs(dom, to, dxml, flags))

    async def restore(self, frm: str, dxml: str | None = None, flags: int = 0) -> None:
        if dxml is None and not flags:
            await self._call(P.DOMAIN_RESTORE, P.RestoreArgs(frm))
        else:
            await self._call(P.DOMAIN_RESTORE_FLAGS, P.RestoreFlagsArgs(frm, dxml, flags))

    async def managed_save(self, dom: DomainRef, flags: int = 0) -> None:
        await self._call(P.DOMAIN_MANAGED_SAVE, P.DomFlagsArgs(dom, flags))

    async def managed_save_remove(self, dom: DomainRef, flags: int = 0) -> None:
        await self._call(P.DOMAIN_MANAGED_SAVE_REMOVE, P.DomFlagsArgs(dom, flags))
