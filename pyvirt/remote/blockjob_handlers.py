"""Server side of the block job, block device and save/restore procedures (registered
into handlers.HANDLERS)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyvirt.errors import ErrorCode, ErrorDomain, VirtError
from pyvirt.remote import protocol as P
from pyvirt.remote.handlers import serves
from pyvirt.remote.typedparam_maps import BLOCK_COPY_TYPES, stats_to_params
from pyvirt.rpc.typedparams import validate

if TYPE_CHECKING:
    from pyvirt.remote.dispatch import RemoteSession


@serves(P.DOMAIN_BLOCK_COMMIT)
async def block_commit(s: RemoteSession, a: P.BlockCommitArgs) -> None:
    await s.drv.block_commit(a.dom, a.disk, a.base, a.top, a.bandwidth, a.flags)


@serves(P.DOMAIN_BLOCK_REBASE)
async def block_rebase(s: RemoteSession, a: P.BlockRebaseArgs) -> None:
    await s.drv.block_rebase(a.dom, a.path, a.base, a.bandwidth, a.flags)


@serves(P.DOMAIN_BLOCK_PULL)
async def block_pull(s: RemoteSession, a: P.BlockBandwidthArgs) -> None:
    await s.drv.block_pull(a.dom, a.path, a.bandwidth, a.flags)


@serves(P.DOMAIN_GET_BLOCK_JOB_INFO)
async def get_block_job_info(s: RemoteSession, a: P.BlockPathFlagsArgs) -> P.GetBlockJobInfoRet:
    info = await s.drv.get_block_job_info(a.dom, a.path, a.flags)
    if info is None:
        return P.GetBlockJobInfoRet(0, 0, 0, 0, 0)
    return P.GetBlockJobInfoRet(1, int(info.type), info.bandwidth, info.cur, info.end)


@serves(P.DOMAIN_BLOCK_JOB_ABORT)
async def block_job_abort(s: RemoteSession, a: P.BlockPathFlagsArgs) -> None:
    await s.drv.block_job_abort(a.dom, a.path, a.flags)


@serves(P.DOMAIN_BLOCK_JOB_SET_SPEED)
async def block_job_set_speed(s: RemoteSession, a: P.BlockBandwidthArgs) -> None:
    await s.drv.block_job_set_speed(a.dom, a.path, a.bandwidth, a.flags)


@serves(P.DOMAIN_GET_BLOCK_INFO)
async def get_block_info(s: RemoteSession, a: P.BlockPathFlagsArgs) -> P.GetBlockInfoRet:
    i = await s.drv.get_block_info(a.dom, a.path, a.flags)
    return P.GetBlockInfoRet(i.allocation, i.capacity, i.physical)


@serves(P.DOMAIN_BLOCK_STATS)
async def block_stats(s: RemoteSession, a: P.BlockStatsArgs) -> P.BlockStatsRet:
    st = await s.drv.block_stats(a.dom, a.path)
    return P.BlockStatsRet(st.rd_req, st.rd_bytes, st.wr_req, st.wr_bytes, st.errs)


@serves(P.DOMAIN_BLOCK_STATS_FLAGS)
async def block_stats_flags(s: RemoteSession, a: P.BlockStatsFlagsArgs) -> P.BlockStatsFlagsRet:
    if not 0 <= a.nparams <= P.DOMAIN_BLOCK_STATS_PARAMETERS_MAX:
        raise VirtError("nparams too large", ErrorCode.RPC, ErrorDomain.RPC)
    params = stats_to_params(await s.drv.block_stats_flags(a.dom, a.path, a.flags))
    if a.nparams == 0:  # the client's first call asks only how many there are
        return P.BlockStatsFlagsRet([], len(params))
    params = params[: a.nparams]
    return P.BlockStatsFlagsRet(params, len(params))


@serves(P.DOMAIN_BLOCK_COPY)
async def block_copy(s: RemoteSession, a: P.BlockCopyArgs) -> None:
    p = validate(a.params, BLOCK_COPY_TYPES)
    await s.drv.block_copy(a.dom, a.path, a.destxml, int(p.get("bandwidth", 0)), a.flags,
                           granularity=int(p.get("granularity", 0)), buf_size=int(p.get("buf-size", 0)))


@serves(P.DOMAIN_BLOCK_RESIZE)
async def block_resize(s: RemoteSession, a: P.BlockResizeArgs) -> None:
    await s.drv.block_resize(a.dom, a.disk, a.size, a.flags)


@serves(P.DOMAIN_SAVE)
async def save(s: RemoteSession, a: P.SaveArgs) -> None:
    await s.drv.save(a.dom, a.to, None, 0)


@serves(P.DOMAIN_SAVE_FLAGS)
async def save_flags(s: RemoteSession, a: P.SaveFlagsArgs) -> None:
    await s.drv.save(a.dom, a.to, a.dxml, a.flags)


@serves(P.DOMAIN_RESTORE)
async def restore(s: RemoteSession, a: P.RestoreArgs) -> None:
    await s.drv.restore(a.from_, None, 0)


@serves(P.DOMAIN_RESTORE_FLAGS)
async def restore_flags(s: RemoteSession, a: P.RestoreFlagsArgs) -> None:
    await s.drv.restore(a.from_, a.dxml, a.flags)


@serves(P.DOMAIN_MANAGED_SAVE)
async def managed_save(s: RemoteSession, a: P.DomFlagsArgs) -> None:
    await s.drv.managed_save(a.dom, a.flags)


@serves(P.DOMAIN_MANAGED_SAVE_REMOVE)
async def managed_save_remove(s: RemoteSession, a: P.DomFlagsArgs) -> None:
    await s.drv.managed_save_remove(a.dom, a.flags)
