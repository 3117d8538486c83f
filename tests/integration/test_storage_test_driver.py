"""Storage on the test driver (test:///default, stock pool default-pool): pyvirsh in process
and the real virsh through pyvirtd print what the real virsh prints against libvirt's own
test driver, for the same pool-*/vol-* script; only generated pool UUIDs are masked."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pyvirt.daemon.config import DaemonConfig
from pyvirt.daemon.thread import DaemonThread

VIRSH = shutil.which("virsh")
STOCK_UUID = "dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566"

SCRIPT = "; ".join([
    "pool-list", "pool-list --all --details", "pool-info default-pool", "pool-dumpxml default-pool",
    "vol-list default-pool", "pool-define-as p2 dir --target /nonexistent/p2z", "pool-info p2",
    "vol-list p2", "pool-build p2", "pool-start p2", "pool-start p2", "pool-info p2",
    "pool-list --all --details", "vol-create-as p2 a.img 10M", "vol-create-as p2 a.img 10M",
    "vol-create-as p2 b.img 10M --allocation 1M --format qcow2", "vol-list p2 --details",
    "vol-dumpxml b.img --pool p2", "vol-info a.img --pool p2", "pool-info p2", "pool-dumpxml p2",
    "vol-resize a.img 20M --pool p2", "vol-wipe a.img --pool p2", "vol-clone a.img c.img --pool p2",
    "vol-list p2", "vol-info c.img --pool p2", "vol-delete c.img --pool p2",
    "vol-key a.img --pool p2", "vol-path /nonexistent/p2z/a.img", "vol-pool /nonexistent/p2z/a.img",
    "vol-info nope --pool p2", "pool-undefine p2", "pool-destroy p2", "pool-destroy p2",
    "vol-list p2", "pool-info p2", "pool-delete p2", "pool-undefine p2", "pool-list --all",
    "pool-info p2", "pool-autostart default-pool", "pool-list --all --details",
    "pool-refresh default-pool", "pool-create-as tr dir --target /nonexistent/trx",
    "pool-autostart tr", "pool-list --all --transient", "pool-destroy tr", "pool-list --all",
    "pool-uuid default-pool", f"pool-name {STOCK_UUID}", "pool-define-as bad dir",
    "pool-define-as bad2 dir --target /x/y", "pool-define-as bad2 dir --target /x/z",
    "pool-list --all --name", "vol-create-as default-pool zz 1M",
    "pool-define-as p dir --target /x --print-xml",
    "pool-define-as p netfs --source-host h --source-path /e --source-format nfs --target /m --print-xml",
    "pool-define-as p logical --source-dev /dev/sdb --source-name vg --print-xml",
    "vol-create-as default-pool v 1M --allocation 0 --format qcow2 --print-xml",
    "vol-create-as default-pool v 1G --backing-vol /default-pool/zz --print-xml",
    "vol-create-as default-pool v 1G --backing-vol nosuch --print-xml",
])
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

pytestmark = pytest.mark.skipif(VIRSH is None, reason="virsh not installed")


def run(argv: list[str], cwd: Path) -> str:
    p = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=cwd, check=False)
    out = p.stdout + p.stderr + f"[rc={p.returncode}]"
    return _UUID.sub(lambda m: m.group(0) if m.group(0) == STOCK_UUID else "UUID", out)


@pytest.fixture(scope="module")
def expected(tmp_path_factory: pytest.TempPathFactory) -> str:
    assert VIRSH is not None
    out = run([VIRSH, "-c", "test:///default", SCRIPT], tmp_path_factory.mktemp("o"))
    assert "Vol a.img created" in out  # the oracle really ran
    return out


def test_pyvirsh_in_process(expected: str, tmp_path: Path) -> None:
    ours = run([sys.executable, "-m", "pyvirt.cli", "-c", "test:///default", SCRIPT], tmp_path)
    assert ours == expected


def test_virsh_through_pyvirtd(expected: str, tmp_path: Path) -> None:
    assert VIRSH is not None
    with DaemonThread(DaemonConfig(root=tmp_path / "root")) as d:
        uri = f"test+unix:///default?socket={d.cfg.rw_socket}"
        theirs = run([VIRSH, "-c", uri, SCRIPT], tmp_path)
    assert theirs == expected
