"""Driver records <-> typed parameter lists, for the procedures that carry them
(DOMAIN_BLOCK_STATS_FLAGS, DOMAIN_BLOCK_COPY). Shared by the server handlers and the
client so both ends name and type the fields the same way libvirt does."""

from __future__ import annotations

from collections.abc import Sequence

from pyvirt.drivers.base import BlockStats
from pyvirt.rpc.typedparams import TypedParam, TypedParamType, to_dict

_LL = TypedParamType.LLONG

# VIR_DOMAIN_BLOCK_STATS_* names in the order libvirt's QEMU driver fills them; errs only
# when the driver counts errors (QEMU does not: -1).
_STATS_FIELDS = (
    ("wr_bytes", "wr_bytes"),
    ("wr_operations", "wr_req"),
    ("rd_bytes", "rd_bytes"),
    ("rd_operations", "rd_req"),
    ("flush_operations", "flush_req"),
    ("wr_total_times", "wr_total_times"),
    ("rd_total_times", "rd_total_times"),
    ("flush_total_times", "flush_total_times"),
)

# VIR_DOMAIN_BLOCK_COPY_*: the parameters virDomainBlockCopy accepts, with their types.
BLOCK_COPY_TYPES = {
    "bandwidth": TypedParamType.ULLONG,
    "granularity": TypedParamType.UINT,
    "buf-size": TypedParamType.ULLONG,
}


def stats_to_params(st: BlockStats) -> list[TypedParam]:
    out = [TypedParam(name, _LL, int(getattr(st, attr))) for name, attr in _STATS_FIELDS]
    if st.errs >= 0:
        out.append(TypedParam("errs", _LL, st.errs))
    return out


def params_to_stats(params: Sequence[TypedParam]) -> BlockStats:
    d = to_dict(params)

    def n(key: str, default: int = 0) -> int:
        v = d.get(key, default)
        return int(v) if not isinstance(v, str) else default

    return BlockStats(n("rd_operations"), n("rd_bytes"), n("wr_operations"), n("wr_bytes"), n("errs", -1),
                      n("flush_operations"), n("rd_total_times"), n("wr_total_times"), n("flush_total_times"))
