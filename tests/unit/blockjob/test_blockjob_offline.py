"""Commit and pull on a shut-off domain (qemu-img; libvirt never had this), through the
libvirt-python facade and through pyvirsh in process: the seed's offline recipes (commit
+ unsafe rebase of the overlay above, safe rebase for a pull), data intact, the persistent
definition following an active commit. Needs qemu-img and QEMU's capabilities (one probe
per module), no guest boot."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyvirt import libvirt

pytestmark = pytest.mark.skipif(shutil.which("qemu-img") is None or shutil.which("qemu-system-x86_64") is None,
                                reason="qemu-img / QEMU not installed")

XML = """<domain type='qemu'><name>{name}</name><memory unit='MiB'>64</memory>
<os><type arch='x86_64' machine='q35'>hvm</type></os><devices>
<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='{top}'/>
<target dev='vda' bus='virtio'/></disk></devices></domain>"""


def img(*args: str) -> None:
    subprocess.run(["qemu-img", *args], check=True, capture_output=True)


def io(path: str, cmd: str) -> bool:
    """qemu-io on the chain under ``path``; True if the command (a pattern read) succeeded."""
    p = subprocess.run(["qemu-io", "-f", "qcow2", "-c", cmd, path], capture_output=True, text=True, check=False)
    return p.returncode == 0 and "Pattern verification failed" not in p.stdout


def chain(path: str) -> list[str]:
    out = subprocess.run(["qemu-img", "info", "--backing-chain", "--output=json", path],
                         capture_output=True, text=True, check=True).stdout
    return [i["filename"] for i in json.loads(out)]


def layers(d: Path) -> list[str]:
    """base (0x11 at 0) <- mid (0x22 at 1M) <- top (0x33 at 2M); returns top first."""
    names = [str(d / f"{n}.qcow2") for n in ("base", "mid", "top")]
    for p in names:
        Path(p).unlink(missing_ok=True)
    img("create", "-q", "-f", "qcow2", names[0], "16M")
    for i, p in enumerate(names):
        if i:
            img("create", "-q", "-f", "qcow2", "-b", names[i - 1], "-F", "qcow2", p)
        assert io(p, f"write -P 0x{i + 1}{i + 1} {i}M 1M")
    return names[::-1]


def intact(top: str) -> bool:
    return all(io(top, f"read -P 0x{i + 1}{i + 1} {i}M 1M") for i in range(3))


@pytest.fixture(scope="module")
def root() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="pvo", dir="/tmp"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def conn(root: Path) -> Iterator[libvirt.virConnect]:
    c = libvirt.open(f"qemu:///embed?root={root}")
    yield c
    c.close()


def test_facade_offline_pull_commit_and_queries(conn: libvirt.virConnect, root: Path) -> None:
    top, mid, base = layers(root)
    dom = conn.defineXML(XML.format(name="off", top=top))
    cap, alloc, phys = dom.blockInfo("vda")
    assert cap == 16 << 20 and alloc > 0 and phys >= alloc - 65536
    assert dom.hasManagedSaveImage() == 0
    with pytest.raises(libvirt.libvirtError) as ei:
        dom.blockJobInfo("vda")
    assert ei.value.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID
    with pytest.raises(libvirt.libvirtError) as ei:  # a base not in the chain: nothing changes
        dom.blockRebase("vda", "/nowhere.qcow2", 0, 0)
    assert ei.value.get_error_code() == libvirt.VIR_ERR_INVALID_ARG
    assert chain(top) == [top, mid, base]

    # the seed's Method (1): commit mid into base, re-point top at base (unsafe mode)
    dom.blockCommit("vda", base, mid, 0, libvirt.VIR_DOMAIN_BLOCK_COMMIT_DELETE)
    assert chain(top) == [top, base] and intact(top) and not Path(mid).exists()

    # pull: base's data into top (safe mode), top stands alone
    dom.blockPull("vda", 0, 0)
    assert chain(top) == [top] and intact(top)

    # active commit: the definition moves to the base, like a pivot
    top2, mid2, base2 = layers(root)
    dom = conn.defineXML(XML.format(name="off2", top=top2))
    dom.blockCommit("vda", mid2, None, 0, libvirt.VIR_DOMAIN_BLOCK_COMMIT_ACTIVE)
    assert f"<source file='{mid2}'/>" in dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    assert chain(mid2) == [mid2, base2] and intact(mid2)
    assert dom.managedSaveRemove() == 0  # nothing to remove: no error, as libvirt


def test_pyvirsh_offline_commit_and_pull(root: Path, conn: libvirt.virConnect) -> None:
    top, mid, base = layers(root)
    conn.defineXML(XML.format(name="cli", top=top))
    pyvirsh = [sys.executable, "-m", "pyvirt.cli", "-c", f"qemu:///embed?root={root}"]

    def run(*cmd: str) -> tuple[str, str, int]:
        p = subprocess.run([*pyvirsh, *cmd], capture_output=True, timeout=60, check=False)
        return p.stdout.decode(), p.stderr.decode(), p.returncode

    assert run("blockcommit", "cli", "vda", "--top", mid, "--base", base, "--wait", "--verbose") == (
        "\nCommit complete\n", "", 0)
    assert chain(top) == [top, base] and intact(top)
    assert run("blockpull", "cli", "vda", "--wait") == ("\nPull complete\n", "", 0)
    assert chain(top) == [top] and intact(top)
    out, err, rc = run("blockcommit", "cli", "vda", "--active", "--wait")
    assert (out, err, rc) == ("\n", f"error: invalid argument: top '{top}' in chain for 'vda' has no backing file\n", 1)
    out, err, rc = run("blockcommit", "cli", "vda", "--verbose")
    assert rc == 1 and "--verbose requires at least one of --timeout, --wait, --pivot, or --keep-overlay" in err
    out, err, rc = run("domblkinfo", "cli", "vda")
    assert rc == 0 and out.startswith("Capacity:       16777216\nAllocation:     ") and out.endswith("\n\n")
