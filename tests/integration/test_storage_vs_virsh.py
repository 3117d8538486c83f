"""Storage commands side by side: the real virsh against libvirtd (qemu:///system, the
oracle), the real virsh against pyvirtd, and pyvirsh in process (qemu:///embed) run the same
pool-*/vol-* script on a fresh dir pool and must print the same thing, byte for byte, once
the pool's directory and UUID are masked (vol sizes come from the same qemu-img on the same
filesystem, so they are compared as printed)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyvirt.daemon.config import DaemonConfig
from pyvirt.daemon.thread import DaemonThread

REPO = Path(__file__).resolve().parents[2]
VIRSH = shutil.which("virsh")
LIBVIRTD_SOCK = "/var/run/libvirt/libvirt-sock"

pytestmark = [
    pytest.mark.oracle,
    pytest.mark.skipif(VIRSH is None or shutil.which("qemu-img") is None,
                       reason="virsh or qemu-img not installed"),
]


def script(pool: str, target: str) -> str:
    return "; ".join([
        f"pool-define-as {pool} dir --target {target}", f"pool-info {pool}", f"vol-list {pool}",
        f"pool-build {pool}", f"pool-start {pool}", f"pool-start {pool}",
        f"vol-create-as {pool} a.img 10M", f"vol-create-as {pool} a.img 1M",
        f"vol-create-as {pool} b.qcow2 1G --format qcow2",
        f"vol-create-as {pool} c.qcow2 1G --format qcow2 --backing-vol b.qcow2 --backing-vol-format qcow2",
        f"vol-create-as {pool} ../x.img 1M", f"vol-create-as {pool} sub/x.img 1M",
        f"vol-list {pool}", f"vol-list {pool} --details", f"vol-info a.img --pool {pool}",
        f"vol-info --bytes c.qcow2 --pool {pool}", f"vol-info nope --pool {pool}",
        f"vol-dumpxml c.qcow2 --pool {pool}", f"vol-dumpxml a.img --pool {pool}",
        f"vol-create-as {pool} m.qcow2 64M --format qcow2 --prealloc-metadata",
        f"vol-create-as {pool} m2.qcow2 64M --allocation 1M --format qcow2 --prealloc-metadata",
        f"vol-create-as {pool} n.qcow2 1G --format qcow2 --backing-vol b.qcow2",
        f"vol-create-as {pool} s.img 1M --allocation 0", f"vol-info s.img --pool {pool}",
        f"vol-create-as {pool} bad.img 1M --format nosuch", f"vol-create-as {pool} bad.img xyz",
        f"vol-create {pool} vol.xml", f"vol-create {pool} badvol.xml", f"vol-create {pool} nofile.xml",
        f"vol-create-from {pool} from.xml a.img", f"vol-info from.qcow2 --pool {pool}",
        f"vol-upload a.img up.bin --pool {pool}", f"vol-download a.img down.bin --pool {pool} --length 1000",
        f"vol-resize m.qcow2 1M --pool {pool}", f"vol-resize m.qcow2 1M --pool {pool} --shrink",
        f"vol-resize a.img 4M --pool {pool} --delta", f"vol-info a.img --pool {pool}",
        f"vol-resize a.img -2M --pool {pool}", f"vol-resize a.img -2M --pool {pool} --shrink",
        f"vol-info a.img --pool {pool}", f"vol-list {pool} --details",
        f"vol-create-as {pool} q.qcow2 16M --format qcow2", f"vol-wipe q.qcow2 --pool {pool}",
        f"vol-info q.qcow2 --pool {pool}", f"vol-wipe q.qcow2 --pool {pool} --algorithm zero",
        f"vol-wipe q.qcow2 --pool {pool} --algorithm nnsa",
        f"vol-wipe q.qcow2 --pool {pool} --algorithm bogus", f"vol-delete q.qcow2 --pool {pool}",
        f"vol-clone c.qcow2 c2.qcow2 --pool {pool}", f"vol-dumpxml c2.qcow2 --pool {pool}",
        f"vol-info c2.qcow2 --pool {pool}", f"vol-delete c2.qcow2 --pool {pool}",
        f"vol-delete m.qcow2 --pool {pool}", f"vol-delete m2.qcow2 --pool {pool}",
        f"vol-delete n.qcow2 --pool {pool}", f"vol-delete s.img --pool {pool}",
        f"vol-delete v.img --pool {pool}", f"vol-delete from.qcow2 --pool {pool}",
        f"pool-dumpxml {pool}", f"pool-dumpxml --inactive {pool}",
        f"vol-path a.img --pool {pool}", f"vol-key a.img --pool {pool}",
        f"vol-name {target}/a.img", f"vol-pool {target}/a.img",
        f"vol-resize a.img 20M --pool {pool}", f"vol-info a.img --pool {pool}",
        f"vol-wipe a.img --pool {pool}", f"vol-clone a.img d.img --pool {pool}",
        f"vol-info d.img --pool {pool}", f"vol-delete d.img --pool {pool}",
        f"vol-delete d.img --pool {pool}",
        f"pool-autostart {pool}", f"pool-info {pool}", f"pool-autostart {pool} --disable",
        f"pool-refresh {pool}", f"vol-dumpxml b.qcow2 --pool {pool}", f"pool-undefine {pool}", f"pool-delete {pool}",
        f"pool-destroy {pool}", f"pool-destroy {pool}", f"vol-list {pool}", f"pool-info {pool}",
        "pool-list --all --details --type dir --name", "pool-info no-such-pool",
        f"pool-delete {pool}",
    ])


def cleanup(pool: str, target: str) -> str:
    return (f"pool-destroy {pool}; pool-undefine {pool}")


# pool-level sizes (statvfs) move while the run goes on: masked; volume sizes are not
_POOL_SIZE = re.compile(r"^(Capacity|Allocation|Available):( +)\d+\.\d\d \S+$", re.MULTILINE)


_STAMP = re.compile(r"<(atime|mtime|ctime)>[0-9.]+</")
_POOL_XML_SIZE = re.compile(r"^  <(capacity|allocation|available) unit='bytes'>\d+</", re.MULTILINE)


def normalise(out: str, pool: str, target: str) -> str:
    out = out.replace(target, "/TARGET").replace(pool, "POOL")
    out = re.sub(r"^(UUID: +).*$", r"\1UUID", out, flags=re.MULTILINE)
    out = re.sub(r"<uuid>.*</uuid>", "<uuid>UUID</uuid>", out)
    out = _STAMP.sub(r"<\1>TIME</", out)
    # pool XML sizes (statvfs) move during the run; volume sizes are compared as printed
    out = re.sub(r"<pool type=.*?</pool>",
                 lambda m: _POOL_XML_SIZE.sub(r"  <\1 unit='bytes'>SIZE</", m.group(0)),
                 out, flags=re.DOTALL)
    return _POOL_SIZE.sub(r"\1:\2SIZE", out)


def files(cwd: Path) -> None:
    """The XML and data files the script reads."""
    (cwd / "vol.xml").write_text("<volume><name>v.img</name><capacity unit='K'>64</capacity>"
                                 "<target><format type='raw'/></target></volume>\n")
    (cwd / "badvol.xml").write_text("<volume><name>w.img</name>\n")
    (cwd / "from.xml").write_text("<volume><name>from.qcow2</name><capacity>0</capacity>"
                                  "<target><format type='qcow2'/></target></volume>\n")
    (cwd / "up.bin").write_bytes(bytes(range(256)) * 40)


def run(argv: list[str], cwd: Path) -> str:
    files(cwd)
    p = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=cwd, check=False)
    return p.stdout + p.stderr + f"[rc={p.returncode}]"


@pytest.fixture
def dirs() -> Iterator[tuple[Path, Path, Path]]:
    # equal-length paths so virsh's table widths match between the runs
    made = [Path(tempfile.mkdtemp(prefix="pvs", dir="/tmp")) for _ in range(3)]
    yield made[0], made[1], made[2]
    for d in made:
        shutil.rmtree(d, ignore_errors=True)


def test_storage_commands_match_libvirtd(dirs: tuple[Path, Path, Path], tmp_path: Path) -> None:
    if not os.path.exists(LIBVIRTD_SOCK):
        pytest.skip("libvirtd is not running")
    assert VIRSH is not None
    pool = f"pvs{os.getpid()}"
    targets = [str(d / "img") for d in dirs]
    try:
        oracle = run([VIRSH, "-c", "qemu:///system", script(pool, targets[0])], tmp_path)
    finally:
        run([VIRSH, "-c", "qemu:///system", cleanup(pool, targets[0])], tmp_path)
    expected = normalise(oracle, pool, targets[0])
    assert "Vol a.img created" in expected and "error:" in expected  # the oracle really ran

    up = (tmp_path / "up.bin").read_bytes()
    assert (tmp_path / "down.bin").read_bytes() == up[:1000]
    (tmp_path / "down.bin").unlink()

    with DaemonThread(DaemonConfig(root=dirs[1] / "root")) as d:
        uri = f"qemu+unix:///system?socket={d.cfg.rw_socket}"
        theirs_client = run([VIRSH, "-c", uri, script(pool, targets[1])], tmp_path)
    assert normalise(theirs_client, pool, targets[1]) == expected
    assert (tmp_path / "down.bin").read_bytes() == up[:1000]  # streams through pyvirtd
    (tmp_path / "down.bin").unlink()

    uri = f"qemu:///embed?root={dirs[2] / 'root'}"
    ours = run([sys.executable, "-m", "pyvirt.cli", "-c", uri, script(pool, targets[2])], tmp_path)
    assert normalise(ours, pool, targets[2]) == expected
    assert (tmp_path / "down.bin").read_bytes() == up[:1000]
    (tmp_path / "down.bin").unlink()

    # and pyvirsh's remote client against libvirtd itself speaks the same storage protocol
    uri = f"qemu+unix:///system?socket={LIBVIRTD_SOCK}"
    shutil.rmtree(dirs[0] / "img", ignore_errors=True)
    try:
        client = run([sys.executable, "-m", "pyvirt.cli", "-c", uri, script(pool, targets[0])],
                     tmp_path)
    finally:
        run([VIRSH, "-c", "qemu:///system", cleanup(pool, targets[0])], tmp_path)
    assert normalise(client, pool, targets[0]) == expected
    assert (tmp_path / "down.bin").read_bytes() == up[:1000]
