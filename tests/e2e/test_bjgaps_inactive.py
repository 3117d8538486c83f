"""Block job APIs on a shut-off domain, side by side with libvirt 9.0 (no guest boot).

The real libvirt client (python3-libvirt) calls every block API on the same shut-off
domain defined on libvirtd and on pyvirtd: code, error domain and message must be equal,
except for the two calls where pyvirt offers its offline extension (commit and pull with
qemu-img), which libvirt refuses. After an offline commit, blockJobInfo refuses as on
libvirt (there is never a job to wait for), so the real virsh's ``--wait`` cannot follow
it, while pyvirsh's ``--wait`` prints the completion at once.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyvirt.daemon.config import DaemonConfig
from pyvirt.daemon.thread import DaemonThread

VIRSH = shutil.which("virsh")
SYS_PY = "/usr/bin/python3"
LIBVIRTD_SOCK = Path("/var/run/libvirt/libvirt-sock")

pytestmark = [
    pytest.mark.oracle,
    pytest.mark.skipif(VIRSH is None or shutil.which("qemu-img") is None, reason="virsh or qemu-img not installed"),
    pytest.mark.skipif(not LIBVIRTD_SOCK.exists(), reason="libvirtd (the oracle) is not running"),
    pytest.mark.skipif(not Path(SYS_PY).exists(), reason="python3-libvirt not installed"),
]

# Each call's outcome as [name, "OK", result] or [name, code, domain, message].
PROBE = r"""
import json, sys, libvirt
libvirt.registerErrorHandler(lambda *a: None, None)
uri, name, d_ = sys.argv[1], sys.argv[2], sys.argv[3]
dom = libvirt.open(uri).lookupByName(name)
calls = {
    "blockJobInfo": lambda: dom.blockJobInfo("vda", 0),
    "blockJobInfo-unknown-disk": lambda: dom.blockJobInfo("vdz", 0),
    "blockJobAbort": lambda: dom.blockJobAbort("vda", 0),
    "blockJobAbort-pivot": lambda: dom.blockJobAbort("vda", libvirt.VIR_DOMAIN_BLOCK_JOB_ABORT_PIVOT),
    "blockJobSetSpeed": lambda: dom.blockJobSetSpeed("vda", 1, 0),
    "blockCopy": lambda: dom.blockCopy("vda", f"<disk type='file'><source file='{d_}/cp.qcow2'/></disk>", None, 0),
    "blockRebase-copy": lambda: dom.blockRebase("vda", f"{d_}/cp2.qcow2", 0, libvirt.VIR_DOMAIN_BLOCK_REBASE_COPY),
    "blockRebase-relative-no-base": lambda: dom.blockRebase("vda", None, 0, libvirt.VIR_DOMAIN_BLOCK_REBASE_RELATIVE),
    "blockResize": lambda: dom.blockResize("vda", 1024, 0),
    "blockStats": lambda: dom.blockStats("vda"),
    "blockStatsFlags": lambda: dom.blockStatsFlags("vda", 0),
    "blockInfo": lambda: dom.blockInfo("vda", 0),
    "blockCommit-bad-flag": lambda: dom.blockCommit("vda", None, None, 0, 1 << 10),
    # virDomainBlockPull has its own flag set and function name; virDomainBlockRebase's
    # public-API checks (copy-only flags, COPY without a base) come before the driver's
    "blockPull-bad-flag": lambda: dom.blockPull("vda", 0, 1 << 20),
    "blockPull-rebase-only-flag": lambda: dom.blockPull("vda", 0, libvirt.VIR_DOMAIN_BLOCK_REBASE_REUSE_EXT),
    "blockRebase-shallow-without-copy": lambda: dom.blockRebase("vda", None, 0, libvirt.VIR_DOMAIN_BLOCK_REBASE_SHALLOW),
    "blockRebase-copy-without-base": lambda: dom.blockRebase("vda", None, 0, libvirt.VIR_DOMAIN_BLOCK_REBASE_COPY),
    "blockRebase-bad-flag": lambda: dom.blockRebase("vda", None, 0, 1 << 20),
    # the offline extension (libvirt: "domain is not running")
    "blockCommit": lambda: dom.blockCommit("vda", None, f"{d_}/mid.qcow2", 0, 0),
    "blockJobInfo-after-commit": lambda: dom.blockJobInfo("vda", 0),
    "blockPull": lambda: dom.blockPull("vda", 0, 0),
}
out = []
for n, f in calls.items():
    try:
        r = f()
        out.append([n, "OK", r])
    except libvirt.libvirtError as e:
        out.append([n, e.get_error_code(), e.get_error_domain(), e.get_error_message().replace(d_, "DIR")])
print(json.dumps(out))
"""
EXTENSION = {"blockCommit", "blockPull"}


def make(d: Path, name: str) -> None:
    for args in (["base.qcow2", "16M"], ["-b", "base.qcow2", "-F", "qcow2", "mid.qcow2"],
                 ["-b", "mid.qcow2", "-F", "qcow2", "top.qcow2"]):
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", *args], check=True, cwd=d)
    (d / "dom.xml").write_text(f"""<domain type='qemu'><name>{name}</name><uuid>{uuid.uuid4()}</uuid>
<memory unit='MiB'>64</memory><os><type arch='x86_64' machine='q35'>hvm</type></os><devices>
<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='{d}/top.qcow2'/>
<target dev='vda' bus='virtio'/></disk></devices></domain>""")


def chain(path: Path) -> list[str]:
    out = subprocess.run(["qemu-img", "info", "-U", "--backing-chain", "--output=json", str(path)],
                         check=True, capture_output=True, text=True).stdout
    return [Path(i["filename"]).name for i in json.loads(out)]


def probe(uri: str, name: str, d: Path) -> dict[str, list[object]]:
    out = subprocess.run([SYS_PY, "-c", PROBE, uri, name, str(d)], check=True, capture_output=True, text=True,
                         timeout=120).stdout
    return {r[0]: r[1:] for r in json.loads(out)}


@pytest.fixture
def dirs() -> Iterator[tuple[Path, Path]]:
    a = Path(tempfile.mkdtemp(prefix="pvbi", dir="/tmp"))
    b = Path(tempfile.mkdtemp(prefix="pvbi", dir="/tmp"))
    try:
        yield a, b
    finally:
        shutil.rmtree(a, ignore_errors=True)
        shutil.rmtree(b, ignore_errors=True)


def test_block_apis_on_a_shut_off_domain_like_libvirt(dirs: tuple[Path, Path]) -> None:
    assert VIRSH is not None
    ora, ours = dirs
    name = f"pvbi{uuid.uuid4().hex[:8]}"
    for d in dirs:
        make(d, name)
    subprocess.run([VIRSH, "-c", "qemu:///system", "define", str(ora / "dom.xml")], check=True, capture_output=True)
    try:
        oracle = probe("qemu:///system", name, ora)
        virsh_info = subprocess.run([VIRSH, "-c", "qemu:///system", "blockjob", name, "vda", "--info"],
                                    capture_output=True, text=True, check=False)
    finally:
        subprocess.run([VIRSH, "-c", "qemu:///system", "undefine", name], capture_output=True, check=False)
    assert chain(ora / "top.qcow2") == ["top.qcow2", "mid.qcow2", "base.qcow2"]  # libvirt changed nothing

    cfg = DaemonConfig(root=ours / "r")
    with DaemonThread(cfg):
        uri = f"qemu+unix:///system?socket={cfg.rw_socket}"
        subprocess.run([VIRSH, "-c", uri, "define", str(ours / "dom.xml")], check=True, capture_output=True)
        mine = probe(uri, name, ours)
        # after the probe's offline commit of mid and pull: a single image
        assert chain(ours / "top.qcow2") == ["top.qcow2"]
        pyvirsh = [sys.executable, "-m", "pyvirt.cli", "-c", uri]
        p = subprocess.run([*pyvirsh, "blockjob", name, "vda", "--info"], capture_output=True, text=True,
                           check=False)
        assert (p.stdout, p.stderr, p.returncode) == (virsh_info.stdout, virsh_info.stderr, virsh_info.returncode)
        # the extension through both CLIs: pyvirsh --wait completes at once; virsh --wait
        # cannot (it asks blockJobInfo, which refuses on a shut-off domain as libvirt's)
        for cli in (pyvirsh, [VIRSH, "-c", uri]):
            subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", "top.qcow2", "-F", "qcow2", "o1.qcow2"],
                           check=True, cwd=ours)
            (ours / "o1.xml").write_text((ours / "dom.xml").read_text().replace("/top.qcow2", "/o1.qcow2"))
            subprocess.run([VIRSH, "-c", uri, "define", str(ours / "o1.xml")], check=True, capture_output=True)
            p = subprocess.run([*cli, "blockpull", name, "vda", "--wait"], capture_output=True, text=True,
                               check=False)
            assert chain(ours / "o1.qcow2") == ["o1.qcow2"]  # pulled either way
            if cli is pyvirsh:
                assert (p.stdout, p.stderr, p.returncode) == ("\nPull complete\n", "", 0)
            else:
                assert p.returncode == 1 and "domain is not running" in p.stderr, p.stderr
            (ours / "o1.qcow2").unlink()
    assert oracle.keys() == mine.keys()
    for call in oracle:
        if call in EXTENSION:
            assert oracle[call][0] != "OK" and mine[call] == ["OK", 0], call  # libvirt refuses
        else:
            assert mine[call] == oracle[call], call
    assert oracle["blockJobInfo-after-commit"] == [55, 20, "Requested operation is not valid: domain is not running"]
