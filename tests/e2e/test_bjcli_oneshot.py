"""pyvirsh blockcommit / blockpull through pyvirtd on the blocking one-shot client: the same
output and exit codes as the async path (the driver proper, which equals virsh's), and none
of asyncio, pyvirt.aio, the async RPC client or the Driver ABC loaded on the success path.

One TCG domain with two disks, each on its own chain ``top <- mid <- guest base``: every
command runs once on vda through the one-shot client and once on vdb through the async
client (pyvirsh with ``open_light`` disabled), and the outputs must be equal with the disk
names swapped.
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

pytestmark = pytest.mark.e2e

# pyvirsh's main() in a fresh interpreter; "full" forces the async client (what every URI
# the one-shot client does not take gets); the loaded modules go to stderr at the end.
PROBE = """
import sys
mode = sys.argv.pop(1)
if mode == "full":
    import pyvirt.cli.ctl as ctl
    ctl.open_light = lambda uri, readonly=False: None
from pyvirt.cli.main import main
code = main(sys.argv[1:])
mods = sorted(sys.modules)
import json
sys.stdout.flush()
sys.stderr.write("\\nMODULES=" + json.dumps(mods) + "\\n")
sys.exit(code)
"""

# Never on the one-shot success path (docs/bench.md "Block jobs" says what each costs).
HEAVY = ("asyncio", "pyvirt.aio", "pyvirt.drivers.base", "pyvirt.remote.client", "pyvirt.rpc.client",
         "pyvirt.remote.protocol", "pyvirt.remote.proto_blockjob", "pyvirt.remote.proto_events",
         "pyvirt.enums", "pyvirt.errors", "typing", "re", "enum", "dataclasses", "inspect",
         "socket", "selectors", "ssl", "xml.etree.ElementTree", "pyvirt.drivers.qemu.readonly")

XML = """<domain type='qemu'><name>{name}</name><uuid>{uuid}</uuid><memory unit='MiB'>128</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='q35'>hvm</type><kernel>{g}/vmlinuz</kernel><initrd>{g}/initramfs.cpio.gz</initrd>
<cmdline>console=ttyS0 quiet testguest.net=none</cmdline></os><devices>
<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='{d}/vda-top.qcow2'/>
<target dev='vda' bus='virtio'/></disk>
<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='{d}/vdb-top.qcow2'/>
<target dev='vdb' bus='virtio'/></disk><memballoon model='none'/></devices></domain>"""


def _chain(d: Path, disk: str, base: Path) -> None:
    mid, top = d / f"{disk}-mid.qcow2", d / f"{disk}-top.qcow2"
    for p in (top, mid):
        p.unlink(missing_ok=True)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(base), "-F", "qcow2", str(mid)], check=True)
    subprocess.run(["qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 1M 2M", str(mid)], check=True, capture_output=True)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(mid), "-F", "qcow2", str(top)], check=True)


@pytest.fixture
def env(guest_dir: Path) -> Iterator[tuple[str, Path, Path]]:
    d = Path(tempfile.mkdtemp(prefix="pvbq", dir="/tmp"))  # short: monitor socket paths
    d.chmod(0o755)
    try:
        with DaemonThread(DaemonConfig(root=d / "root")) as daemon:
            yield f"qemu+unix:///system?socket={daemon.cfg.rw_socket}", d, guest_dir
    finally:
        shutil.rmtree(d, ignore_errors=True)


def pyvirsh(mode: str, uri: str, *cmd: str) -> tuple[bytes, bytes, int, set[str]]:
    p = subprocess.run([sys.executable, "-c", PROBE, mode, "-c", uri, *cmd], capture_output=True, timeout=120,
                       check=False)
    err, _, mods = p.stderr.rpartition(b"\nMODULES=")
    return p.stdout, err, p.returncode, set(json.loads(mods))


def both(uri: str, *cmd: str) -> tuple[tuple[bytes, bytes, int], set[str]]:
    """The command on vda (one-shot) and on vdb (async); equal output once names are swapped."""
    out1, err1, rc1, mods = pyvirsh("light", uri, *(c.replace("DISK", "vda") for c in cmd))
    out2, err2, rc2, full = pyvirsh("full", uri, *(c.replace("DISK", "vdb") for c in cmd))
    assert "asyncio" in full and "pyvirt.remote.syncjobs" not in full  # the comparison is real
    assert (out1, err1.replace(b"vda", b"vdb"), rc1) == (out2, err2, rc2), cmd
    return (out1, err1, rc1), mods


def _start(uri: str, d: Path, guest: Path, name: str) -> None:
    """Both disks on fresh chains, and the domain started through the daemon."""
    for disk in ("vda", "vdb"):
        _chain(d, disk, guest / "disk.qcow2")
    (d / "dom.xml").write_text(XML.format(name=name, uuid=uuid.uuid4(), g=guest, d=d))
    assert subprocess.run([sys.executable, "-m", "pyvirt.cli", "-c", uri, "create", str(d / "dom.xml")],
                          capture_output=True, check=False).returncode == 0


def test_one_shot_block_jobs_equal_the_async_path(env: tuple[str, Path, Path]) -> None:
    uri, d, guest = env
    _start(uri, d, guest, "pvbq")

    # errors on the wire: no such disk (job and job-info calls), then a bad base
    (_, err, rc), _ = both(uri, "blockpull", "pvbq", "nosuch", "--wait")
    assert rc == 1 and err.startswith(b"error: ")
    (_, err, rc), _ = both(uri, "blockcommit", "pvbq", "DISK", "--wait", "--top", str(d / "none.qcow2"))
    assert rc == 1 and err.startswith(b"error: ")
    (_, err, rc), _ = both(uri, "blockpull", "pvbq", "DISK", "--verbose")
    assert (err, rc) == (b"error: missing --wait option\n", 1)

    # the seed's two operations: an active commit of top into mid with pivot, then a pull
    # of the guest base into mid (verbose: progress on stderr)
    (out, err, rc), mods = both(uri, "blockcommit", "pvbq", "DISK", "--active", "--pivot", "--wait",
                                "--base", f"{d}/DISK-mid.qcow2")
    assert (out, err, rc) == (b"\nSuccessfully pivoted\n", b"", 0)
    assert not sorted(mods & set(HEAVY))
    assert "pyvirt.remote.syncjobs" in mods
    xml = subprocess.run([sys.executable, "-m", "pyvirt.cli", "-c", uri, "dumpxml", "pvbq"], capture_output=True,
                         text=True, check=True).stdout
    assert f"{d}/vda-mid.qcow2" in xml and f"{d}/vdb-mid.qcow2" in xml and "-top.qcow2" not in xml

    # (a pull never writes the guest base: it is the chain's bottom, read only)
    out, err, rc = pyvirsh("light", uri, "blockpull", "pvbq", "vda", "--wait", "--verbose")[:3]
    assert (out, rc) == (b"\nPull complete\n", 0)
    assert err.startswith(b"\rBlock Pull: [") and err.endswith(b"\rBlock Pull: [100 %]"), err
    out2, err2, rc2 = pyvirsh("full", uri, "blockpull", "pvbq", "vdb", "--wait", "--verbose")[:3]
    assert (out2, rc2) == (out, rc) and err2.endswith(b"\rBlock Pull: [100 %]")

    # a path given as the image file (BLOCK_JOB names the disk by its source path)
    (out, err, rc), mods = both(uri, "blockpull", "pvbq", f"{d}/DISK-mid.qcow2", "--wait")
    assert (out, err, rc) == (b"\nPull complete\n", b"", 0)
    assert not sorted(mods & set(HEAVY))
    subprocess.run([sys.executable, "-m", "pyvirt.cli", "-c", uri, "destroy", "pvbq"], capture_output=True,
                   check=False)


def test_cli_spelled_out_block_job_constants_match_the_enums() -> None:
    from pyvirt.cli import blockjob
    from pyvirt.enums import BlockJobStatus, BlockJobType, EventID
    from pyvirt.remote import syncjobs

    assert (blockjob.COMPLETED, blockjob.FAILED, blockjob.CANCELED, blockjob.READY) == (
        BlockJobStatus.COMPLETED, BlockJobStatus.FAILED, BlockJobStatus.CANCELED, BlockJobStatus.READY)
    assert (blockjob.JOB_PULL, blockjob.JOB_COPY, blockjob.JOB_COMMIT, blockjob.JOB_ACTIVE_COMMIT) == (
        BlockJobType.PULL, BlockJobType.COPY, BlockJobType.COMMIT, BlockJobType.ACTIVE_COMMIT)
    assert (syncjobs.EVENT_ID_BLOCK_JOB, syncjobs.EVENT_ID_BLOCK_JOB_2) == (EventID.BLOCK_JOB, EventID.BLOCK_JOB_2)


def test_one_shot_snapshot_create_equals_the_async_path(env: tuple[str, Path, Path]) -> None:
    """pyvirsh snapshot-create-as / snapshot-create through pyvirtd: one
    DOMAIN_SNAPSHOT_CREATE_XML on the one-shot client, the same output, errors and exit
    codes as the async path, and none of the heavy modules loaded when it succeeds."""
    uri, d, guest = env
    _start(uri, d, guest, "pvbs")
    outs = {}
    for mode, disk in (("light", "vda"), ("full", "vdb")):
        out, err, rc, mods = pyvirsh(mode, uri, "snapshot-create-as", "pvbs", f"s-{mode}", "--disk-only", "--atomic",
                                     "--diskspec", f"{disk},file={d}/{disk}-ov.qcow2", "--diskspec",
                                     f"{'vdb' if disk == 'vda' else 'vda'},snapshot=no")
        outs[mode] = (out, err, rc)
        if mode == "light":
            assert not sorted(mods & set(HEAVY)) and "pyvirt.remote.syncclient" in mods
            assert "pyvirt.conf.snapshot" not in mods
        else:
            assert "asyncio" in mods  # the comparison is real
    assert outs["light"] == (b"Domain snapshot s-light created\n", b"", 0)
    assert outs["full"] == (b"Domain snapshot s-full created\n", b"", 0)
    xml = subprocess.run([sys.executable, "-m", "pyvirt.cli", "-c", uri, "dumpxml", "pvbs"], capture_output=True,
                         text=True, check=True).stdout
    assert f"{d}/vda-ov.qcow2" in xml and f"{d}/vdb-ov.qcow2" in xml
    # the daemon's error (the name exists), and snapshot-create from a file
    errs = [pyvirsh(mode, uri, "snapshot-create-as", "pvbs", "s-light", "--disk-only", "--diskspec",
                    f"vda,file={d}/x-{mode}.qcow2")[:3] for mode in ("light", "full")]
    assert errs[0] == errs[1] and errs[0][2] == 1 and b"already exists" in errs[0][1]
    assert not (d / "x-light.qcow2").exists()
    (d / "snap.xml").write_text(f"<domainsnapshot><name>s-file</name><disks><disk name='vda' snapshot='external'>"
                                f"<source file='{d}/vda-ov2.qcow2'/></disk><disk name='vdb' snapshot='no'/></disks>"
                                "</domainsnapshot>")
    out, err, rc, mods = pyvirsh("light", uri, "snapshot-create", "pvbs", str(d / "snap.xml"), "--disk-only")
    assert (out, err, rc) == (f"Domain snapshot s-file created from '{d}/snap.xml'\n".encode(), b"", 0)
    assert not sorted(mods & set(HEAVY))
    full = pyvirsh("full", uri, "snapshot-create", "pvbs", str(d / "snap.xml"), "--disk-only")[:3]
    assert full[2] == 1 and b"already exists" in full[1]  # the name is taken now
    subprocess.run([sys.executable, "-m", "pyvirt.cli", "-c", uri, "destroy", "pvbs"], capture_output=True,
                   check=False)


def test_cli_spelled_out_snapshot_create_flags_match_the_enum() -> None:
    from pyvirt.cli import snapshot_create as sc
    from pyvirt.conf.snapshot import SnapshotCreateFlags as C

    assert [sc.REDEFINE, sc.CURRENT, sc.NO_METADATA, sc.HALT, sc.DISK_ONLY, sc.REUSE_EXT, sc.QUIESCE, sc.ATOMIC,
            sc.LIVE, sc.VALIDATE] == [int(f) for f in C]
