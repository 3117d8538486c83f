"""Typed parameters on the wire against real QEMU, one boot: the real virsh's domblkstat
(DOMAIN_BLOCK_STATS_FLAGS) prints libvirtd's 8 fields, ``blockcopy --format qcow2 --wait
--pivot`` (DOMAIN_BLOCK_COPY) works through pyvirtd for the real virsh and pyvirsh, and
python3-libvirt's blockStatsFlags / blockCopy reach the daemon with their parameters.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pyvirt.daemon.config import DaemonConfig
from pyvirt.daemon.thread import DaemonThread

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(shutil.which("virsh") is None, reason="the real virsh is not installed")]

# virsh 9.0's domblkstat against libvirtd 9.0 on a running QEMU guest (numbers masked as N)
LIBVIRTD_DOMBLKSTAT = ("vda rd_req N\nvda rd_bytes N\nvda wr_req N\nvda wr_bytes N\nvda flush_operations N\n"
                       "vda rd_total_times N\nvda wr_total_times N\nvda flush_total_times N\n\n")
LIBVIRTD_DOMBLKSTAT_HUMAN = (
    "Device: vda\n number of read operations:      N\n number of bytes read:           N\n"
    " number of write operations:     N\n number of bytes written:        N\n"
    " number of flush operations:     N\n total duration of reads (ns):   N\n"
    " total duration of writes (ns):  N\n total duration of flushes (ns): N\n\n")
LIBVIRTD_STATS_KEYS = ["wr_bytes", "wr_operations", "rd_bytes", "rd_operations", "flush_operations",
                       "wr_total_times", "rd_total_times", "flush_total_times"]

# python3-libvirt (the C client library) through pyvirtd
_PY_SCRIPT = r"""
import json, sys
import libvirt
uri, name, dest = sys.argv[1:4]
c = libvirt.open(uri)
d = c.lookupByName(name)
out = {"stats": list(d.blockStatsFlags("vda").items())}
xml = "<disk type='file'><source file='%s'/><driver type='qcow2'/></disk>" % dest
try:  # QEMU refuses a granularity that is not a power of two: proves the parameter arrived
    d.blockCopy("vda", xml, {"granularity": 1000}, 0)
    out["bad"] = None
except libvirt.libvirtError as e:
    out["bad"] = [e.get_error_code(), str(e)]
out["copy"] = d.blockCopy("vda", xml, {"bandwidth": 1 << 30, "granularity": 65536, "buf-size": 1 << 20}, 0)
out["info"] = d.blockJobInfo("vda", 0)
out["abort"] = d.blockJobAbort("vda", 0)
out["after"] = d.blockJobInfo("vda", 0)
print(json.dumps(out))
"""


@pytest.fixture
def daemon() -> Iterator[DaemonThread]:
    root = Path(tempfile.mkdtemp(prefix="pvt", dir="/tmp"))  # short: monitor socket paths
    try:
        with DaemonThread(DaemonConfig(root=root)) as d:
            yield d
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run(argv: list[str], uri: str, cmd: list[str]) -> tuple[str, str, int]:
    p = subprocess.run([*argv, "-c", uri, *cmd], capture_output=True, timeout=120, check=False)
    return p.stdout.decode(), p.stderr.decode(), p.returncode


def mask(text: str) -> str:
    return re.sub(r"(?m)(\s)\d+$", r"\1N", text)


def disk_source(xml: str) -> str:
    src = ET.fromstring(xml).find("devices/disk/source")
    assert src is not None
    return src.get("file", "")


def img_format(path: str) -> str:
    out = subprocess.run(["qemu-img", "info", "-U", "--output=json", path], check=True, capture_output=True,
                         text=True).stdout
    fmt: str = json.loads(out)["format"]
    return fmt


def test_typed_params_through_pyvirtd(daemon: DaemonThread, guest_xml: Callable[..., str],
                                      embed_root: Path) -> None:
    uri = f"qemu+unix:///system?socket={daemon.cfg.rw_socket}"
    virsh = ["virsh"]
    pyvirsh = [sys.executable, "-m", "pyvirt.cli"]
    name = "pvtp"
    (embed_root / "d.xml").write_text(guest_xml(name))
    assert run(virsh, uri, ["define", str(embed_root / "d.xml")])[2] == 0
    out, err, rc = run(virsh, uri, ["start", name])
    assert rc == 0, err

    # domblkstat: the real virsh and pyvirsh print libvirtd's 8 fields
    for argv in (virsh, pyvirsh):
        out, err, rc = run(argv, uri, ["domblkstat", name, "vda"])
        assert (mask(out), err, rc) == (LIBVIRTD_DOMBLKSTAT, "", 0), argv
        out, err, rc = run(argv, uri, ["domblkstat", name, "vda", "--human"])
        assert (mask(out), err, rc) == (LIBVIRTD_DOMBLKSTAT_HUMAN, "", 0), argv
    out, err, rc = run(virsh, uri, ["domblkstat", name, "vdz"])
    assert (rc, err) == (1, "error: invalid argument: invalid path: vdz\n"), err

    # python3-libvirt: blockStatsFlags' dict, blockCopy's parameters reach QEMU
    if Path("/usr/bin/python3").exists():
        dest0 = str(embed_root / "images" / "py-copy.qcow2")
        p = subprocess.run(["/usr/bin/python3", "-c", _PY_SCRIPT, uri, name, dest0], capture_output=True,
                           text=True, timeout=120, check=False)
        if "No module named 'libvirt'" not in p.stderr:
            assert p.returncode == 0, p.stderr
            res: dict[str, Any] = json.loads(p.stdout)
            assert [k for k, _ in res["stats"]] == LIBVIRTD_STATS_KEYS
            assert all(isinstance(v, int) and v >= 0 for _, v in res["stats"])
            assert res["stats"][1][1] > 0 or res["stats"][3][1] > 0  # the booted guest did I/O
            assert res["bad"] is not None and "granularity" in res["bad"][1], res["bad"]
            assert res["copy"] == 0 and res["info"]["type"] == 2  # VIR_DOMAIN_BLOCK_JOB_TYPE_COPY
            assert res["abort"] == 0 and res["after"] == {}
            assert disk_source(run(virsh, uri, ["dumpxml", name])[0]) != dest0

    # blockcopy --format qcow2 --wait --pivot: the real virsh, then pyvirsh with granularity/buf-size
    for i, (argv, extra) in enumerate(((virsh, []), (pyvirsh, ["--granularity", "65536", "--buf-size", "1048576"]))):
        dest = str(embed_root / "images" / f"copy{i}.qcow2")
        out, err, rc = run(argv, uri, ["blockcopy", name, "vda", dest, "--format", "qcow2", "--wait", "--pivot",
                                       "--verbose", *extra])
        assert (out, rc) == ("\nSuccessfully pivoted\n", 0), (argv, err)
        assert err.endswith("\rBlock Copy: [100 %]"), err
        assert disk_source(run(virsh, uri, ["dumpxml", name])[0]) == dest
        assert img_format(dest) == "qcow2"
        assert run(virsh, uri, ["blockjob", name, "vda", "--info"])[:2] == ("No current block job for vda\n", "")

    # a bad number is refused before anything runs, as virsh does
    out, err, rc = run(pyvirsh, uri, ["blockcopy", name, "vda", str(embed_root / "x.qcow2"), "--format", "qcow2",
                                      "--granularity", "-1"])
    assert rc == 1 and "granularity" in err, err
    assert run(virsh, uri, ["destroy", name])[2] == 0
