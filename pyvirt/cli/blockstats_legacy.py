"""pyvirsh ``domblkstat`` when the driver has no virDomainBlockStatsFlags (libvirt's test
driver): virsh 9.0 then falls back to virDomainBlockStats and prints its five counters,
each only when the driver filled it in (not -1); a failure of that call is reported as
"Failed to get block stats DOMAIN DEVICE" followed by the error, as virsh does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyvirt.cli.ctl import CmdFailed
from pyvirt.errors import VirtError

if TYPE_CHECKING:
    from pyvirt.cli.ctl import Ctl
    from pyvirt.drivers.base import DomainRef

_HUMAN = {"rd_req": "number of read operations:", "rd_bytes": "number of bytes read:",
          "wr_req": "number of write operations:", "wr_bytes": "number of bytes written:", "errs": "error count:"}


def domblkstat_legacy(ctl: Ctl, d: DomainRef, name: str, dev: str, human: bool) -> None:
    try:
        st = ctl.call(ctl.conn.block_stats(d, dev))
    except VirtError as e:
        raise CmdFailed(f"Failed to get block stats {name} {dev}", e.message) from None
    rows = [(k, v) for k, v in (("rd_req", st.rd_req), ("rd_bytes", st.rd_bytes), ("wr_req", st.wr_req),
                                ("wr_bytes", st.wr_bytes), ("errs", st.errs)) if v >= 0]
    if human:
        ctl.print(f"Device: {dev}\n")
        for k, v in rows:
            ctl.print(f" {_HUMAN[k]:<31} {v}\n")
    else:
        for k, v in rows:
            ctl.print(f"{dev} {k} {v}\n")
