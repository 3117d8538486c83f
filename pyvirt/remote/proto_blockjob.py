"""Block device procedures: stats, info, resize, and the block jobs (pull, rebase, commit, copy).

Part of :mod:`pyvirt.remote.protocol`, which re-exports every name here: import from there.
"""

from __future__ import annotations

# The block-job calls the one-shot client makes (pull, rebase, commit, abort, job info)
# are declared in protocol_core with the argument shapes they share with this family.
from pyvirt.remote.protocol_core import (
    BLOCK_BANDWIDTH_ARGS,
    BLOCK_PATH_FLAGS_ARGS,
    UH,
    I,
    NonnullDomain,
    NonnullString,
    S,
    U,
    V,
    _p,
)
from pyvirt.rpc import xdr
from pyvirt.rpc.typedparams import params_array

# Records: typed as NamedTuples for mypy, built by rpc.record at run time (no typing
# import, a fifth of a NamedTuple's declaration cost: every async client and pyvirtd pays it).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple as Record

    from pyvirt.drivers.base import DomainRef
    from pyvirt.rpc.typedparams import TypedParam
else:
    from pyvirt.rpc.record import Record


DOMAIN_BLOCK_COPY_PARAMETERS_MAX = 16
DOMAIN_BLOCK_STATS_PARAMETERS_MAX = 16


class BlockStatsArgs(Record):
    dom: DomainRef
    path: str


class BlockStatsRet(Record):
    rd_req: int
    rd_bytes: int
    wr_req: int
    wr_bytes: int
    errs: int


class GetBlockInfoRet(Record):
    allocation: int
    capacity: int
    physical: int


class BlockResizeArgs(Record):
    dom: DomainRef
    disk: str
    size: int
    flags: int


class BlockStatsFlagsArgs(Record):
    dom: DomainRef
    path: str
    nparams: int  # 0 asks how many the server has
    flags: int


class BlockStatsFlagsRet(Record):
    params: list[TypedParam]
    nparams: int


class BlockCopyArgs(Record):
    dom: DomainRef
    path: str
    destxml: str
    params: list[TypedParam]
    flags: int


DOMAIN_BLOCK_STATS = _p(
    64, "DOMAIN_BLOCK_STATS", S(BlockStatsArgs, NonnullDomain, NonnullString),
    S(BlockStatsRet, xdr.Hyper, xdr.Hyper, xdr.Hyper, xdr.Hyper, xdr.Hyper), high=True,
)
DOMAIN_GET_BLOCK_INFO = _p(
    194, "DOMAIN_GET_BLOCK_INFO", BLOCK_PATH_FLAGS_ARGS, S(GetBlockInfoRet, UH, UH, UH), high=True
)
DOMAIN_BLOCK_JOB_SET_SPEED = _p(239, "DOMAIN_BLOCK_JOB_SET_SPEED", BLOCK_BANDWIDTH_ARGS, V, rw=True)
DOMAIN_BLOCK_STATS_FLAGS = _p(
    243, "DOMAIN_BLOCK_STATS_FLAGS", S(BlockStatsFlagsArgs, NonnullDomain, NonnullString, I, U),
    S(BlockStatsFlagsRet, params_array(DOMAIN_BLOCK_STATS_PARAMETERS_MAX), I), high=True,
)
DOMAIN_BLOCK_RESIZE = _p(
    251, "DOMAIN_BLOCK_RESIZE", S(BlockResizeArgs, NonnullDomain, NonnullString, UH, U), V, rw=True
)
DOMAIN_BLOCK_COPY = _p(
    345, "DOMAIN_BLOCK_COPY",
    S(BlockCopyArgs, NonnullDomain, NonnullString, NonnullString, params_array(DOMAIN_BLOCK_COPY_PARAMETERS_MAX), U),
    V, rw=True,
)
