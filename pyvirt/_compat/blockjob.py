"""virDomain's block job, block device and save methods and virConnect's restore, for the
libvirt-python facade (mixed into the classes by :mod:`pyvirt._compat.objects`). Names,
arguments and return values follow libvirt-python: 0 for success, a dict for
blockJobInfo (empty when no job runs), a list for blockInfo, a tuple for blockStats."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar, cast

from pyvirt._compat.errors import call, fail
from pyvirt.errors import VirtError

if TYPE_CHECKING:
    from pyvirt._compat.objects import virConnect, virDomain
    from pyvirt.aio.connection import Connection as AioConnection
    from pyvirt.aio.connection import Domain as AioDomain

T = TypeVar("T")


def _run(obj: object, api: str, fn: Callable[[AioDomain], Coroutine[Any, Any, T]]) -> T:
    d = cast("virDomain", obj)
    return call(api, fn(d._dom), d._conn._core.inline)


class BlockJobDomainMixin:
    """virDomain's block job / block device / save calls."""

    def blockCommit(self, disk: str, base: str | None, top: str | None, bandwidth: int = 0, flags: int = 0) -> int:
        """On a shut-off domain (an extension: libvirt 9.0 refuses) the commit runs with
        qemu-img before this returns; there is no job to wait for, and blockJobInfo then
        raises "domain is not running" as libvirt's does."""
        _run(self, "virDomainBlockCommit", lambda d: d.block_commit(disk, base, top, bandwidth, flags))
        return 0

    def blockPull(self, disk: str, bandwidth: int = 0, flags: int = 0) -> int:
        _run(self, "virDomainBlockPull", lambda d: d.block_pull(disk, bandwidth, flags))
        return 0

    def blockRebase(self, disk: str, base: str | None, bandwidth: int = 0, flags: int = 0) -> int:
        """A pull (no COPY flag) on a shut-off domain runs with qemu-img rebase before this
        returns (an extension, like blockCommit's); a copy needs a running domain."""
        _run(self, "virDomainBlockRebase", lambda d: d.block_rebase(disk, base, bandwidth, flags))
        return 0

    def blockCopy(self, disk: str, destxml: str, params: dict[str, Any] | None = None, flags: int = 0) -> int:
        from pyvirt.remote.typedparam_maps import BLOCK_COPY_TYPES
        from pyvirt.rpc.typedparams import from_dict, validate

        # the dict -> typed parameters step libvirt-python takes (unknown names, wrong kinds refused)
        try:
            p = validate(from_dict(params or {}, BLOCK_COPY_TYPES), BLOCK_COPY_TYPES)
        except VirtError as e:
            raise fail(e, "virDomainBlockCopy") from None
        _run(self, "virDomainBlockCopy", lambda d: d.block_copy(
            disk, destxml, int(p.get("bandwidth", 0)), flags, granularity=int(p.get("granularity", 0)),
            buf_size=int(p.get("buf-size", 0))))
        return 0

    def blockJobInfo(self, path: str, flags: int = 0) -> dict[str, int]:
        info = _run(self, "virDomainGetBlockJobInfo", lambda d: d.block_job_info(path, flags))
        if info is None:
            return {}
        return {"type": int(info.type), "bandwidth": info.bandwidth, "cur": info.cur, "end": info.end}

    def blockJobAbort(self, disk: str, flags: int = 0) -> int:
        _run(self, "virDomainBlockJobAbort", lambda d: d.block_job_abort(disk, flags))
        return 0

    def blockJobSetSpeed(self, disk: str, bandwidth: int, flags: int = 0) -> int:
        _run(self, "virDomainBlockJobSetSpeed", lambda d: d.block_job_set_speed(disk, bandwidth, flags))
        return 0

    def blockInfo(self, path: str, flags: int = 0) -> list[int]:
        i = _run(self, "virDomainGetBlockInfo", lambda d: d.block_info(path, flags))
        return [i.capacity, i.allocation, i.physical]

    def blockStats(self, path: str) -> tuple[int, int, int, int, int]:
        s = _run(self, "virDomainBlockStats", lambda d: d.block_stats(path))
        return (s.rd_req, s.rd_bytes, s.wr_req, s.wr_bytes, s.errs)

    def blockStatsFlags(self, path: str, flags: int = 0) -> dict[str, Any]:
        from pyvirt.remote.typedparam_maps import stats_to_params
        from pyvirt.rpc.typedparams import to_dict

        s = _run(self, "virDomainBlockStatsFlags", lambda d: d.block_stats_flags(path, flags))
        # the typed parameters libvirt returns, as libvirt-python's dict (same names and order)
        return to_dict(stats_to_params(s))

    def blockResize(self, disk: str, size: int, flags: int = 0) -> int:
        _run(self, "virDomainBlockResize", lambda d: d.block_resize(disk, size, flags))
        return 0

    def save(self, to: str) -> int:
        _run(self, "virDomainSave", lambda d: d.save(to))
        return 0

    def saveFlags(self, to: str, dxml: str | None = None, flags: int = 0) -> int:
        _run(self, "virDomainSaveFlags", lambda d: d.save(to, dxml, flags))
        return 0

    def managedSave(self, flags: int = 0) -> int:
        _run(self, "virDomainManagedSave", lambda d: d.managed_save(flags))
        return 0

    def managedSaveRemove(self, flags: int = 0) -> int:
        _run(self, "virDomainManagedSaveRemove", lambda d: d.managed_save_remove(flags))
        return 0


class SaveConnMixin:
    """virConnect's restore calls."""

    def _restore(self, api: str, fn: Callable[[AioConnection], Coroutine[Any, Any, None]]) -> int:
        c = cast("virConnect", self)
        c._c(api, fn)
        return 0

    def restore(self, frm: str) -> int:
        return self._restore("virDomainRestore", lambda a: a.restore(frm))

    def restoreFlags(self, frm: str, dxml: str | None = None, flags: int = 0) -> int:
        return self._restore("virDomainRestoreFlags", lambda a: a.restore(frm, dxml, flags))
