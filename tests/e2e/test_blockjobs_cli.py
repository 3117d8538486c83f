"""The seed's block job command lines through pyvirtd: the real virsh (its ``--wait``
finishes on our BLOCK_JOB events) and pyvirsh, with virsh 9.0's exact output (recorded
against libvirtd 9.0 with the same commands), then managedsave / start / managedsave-remove.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pyvirt.daemon.config import DaemonConfig
from pyvirt.daemon.thread import DaemonThread

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(shutil.which("virsh") is None, reason="the real virsh is not installed")]

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def daemon() -> Iterator[DaemonThread]:
    root = Path(tempfile.mkdtemp(prefix="pvb", dir="/tmp"))  # short: monitor socket paths
    try:
        with DaemonThread(DaemonConfig(root=root)) as d:
            yield d
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run(argv: list[str], uri: str, cmd: list[str]) -> tuple[str, str, int]:
    # bytes, not text=True: universal newlines would turn the progress bar's \r into \n
    p = subprocess.run([*argv, "-c", uri, *cmd], capture_output=True, timeout=120, check=False)
    return p.stdout.decode(), p.stderr.decode(), p.returncode


def chain_xml(xml: str) -> list[str]:
    disk = ET.fromstring(xml).find("devices/disk")
    assert disk is not None
    src = disk.find("source")
    out = [src.get("file", "")] if src is not None else []
    bs = disk.find("backingStore")
    while bs is not None and bs.get("type"):
        s = bs.find("source")
        out.append(s.get("file", "") if s is not None else "")
        bs = bs.find("backingStore")
    return out


def chain_img(path: str) -> list[str]:
    out = subprocess.run(["qemu-img", "info", "-U", "--backing-chain", "--output=json", path],
                         check=True, capture_output=True, text=True).stdout
    return [i["filename"] for i in json.loads(out)]


def test_virsh_and_pyvirsh_block_jobs_and_managedsave(daemon: DaemonThread, guest_xml: Callable[..., str],
                                                      embed_root: Path, guest_dir: Path) -> None:
    uri = f"qemu+unix:///system?socket={daemon.cfg.rw_socket}"
    virsh = ["virsh"]
    pyvirsh = [sys.executable, "-m", "pyvirt.cli"]
    name = "pvbj"
    xml = guest_xml(name)
    images = embed_root / "images"
    vda = str(images / f"{name}-vda.qcow2")
    chain = [vda]
    for n in ("sn1", "sn2"):
        p = str(images / f"{n}.qcow2")
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", chain[0], "-F", "qcow2", p], check=True)
        chain.insert(0, p)
    (embed_root / "d.xml").write_text(xml.replace(f"<source file='{vda}'/>", f"<source file='{chain[0]}'/>"))
    assert run(virsh, uri, ["define", str(embed_root / "d.xml")])[2] == 0
    assert run(virsh, uri, ["start", name])[2] == 0
    full = chain + [str(guest_dir / "disk.qcow2")]

    def dumpxml() -> str:
        return run(virsh, uri, ["dumpxml", name])[0]

    assert chain_xml(dumpxml()) == full == chain_img(full[0])

    # bad input first: libvirt's messages, nothing changes
    out, err, rc = run(virsh, uri, ["blockcommit", name, "vda", "--active", "--base", "/nowhere.qcow2"])
    assert rc == 1 and err == (f"error: invalid argument: could not find image '/nowhere.qcow2' beneath "
                               f"'{full[0]}' in chain for 'vda'\n")
    out, err, rc = run(pyvirsh, uri, ["blockcommit", name, "vdz", "--active"])
    assert rc == 1 and err == "error: invalid argument: disk 'vdz' not found in domain\n"

    # the real virsh: active commit of sn2 into sn1 with pivot, its --wait ends on our events
    out, err, rc = run(virsh, uri, ["blockcommit", name, "vda", "--active", "--base", full[1], "--pivot",
                                    "--verbose", "--wait"])
    assert (out, rc) == ("\nSuccessfully pivoted\n", 0), err
    assert err.endswith("\rBlock commit: [100 %]")
    full = full[1:]
    assert chain_xml(dumpxml()) == full == chain_img(full[0])

    # pyvirsh: blockpull of everything above the guest base into sn1, same output as virsh
    out, err, rc = run(pyvirsh, uri, ["blockpull", name, "vda", "--base", full[-1], "--wait", "--verbose"])
    assert (out, rc) == ("\nPull complete\n", 0), err
    assert err.endswith("\rBlock Pull: [100 %]")
    full = [full[0], full[-1]]
    assert chain_xml(dumpxml()) == full == chain_img(full[0])
    for argv in (virsh, pyvirsh):
        assert run(argv, uri, ["blockjob", name, "vda", "--info"])[:2] == ("No current block job for vda\n", "")

    # managedsave -> start restores -> managedsave-remove (both clients, same text)
    out, err, rc = run(virsh, uri, ["managedsave", name])
    assert (out, rc) == (f"\nDomain '{name}' state saved by libvirt\n\n", 0), err
    assert run(pyvirsh, uri, ["domstate", name, "--reason"])[0] == "shut off (saved)\n\n"
    assert "Managed save:   yes" in run(virsh, uri, ["dominfo", name])[0]
    out, err, rc = run(virsh, uri, ["start", name])
    assert (out, rc) == (f"Domain '{name}' started\n\n", 0), err
    assert run(virsh, uri, ["domstate", name, "--reason"])[0] == "running (restored)\n\n"
    for argv in (virsh, pyvirsh):
        out, err, rc = run(argv, uri, ["managedsave-remove", name])
        assert (out, rc) == (f"Domain '{name}' has no manage save image; removal skipped\n", 0), err
    assert run(virsh, uri, ["destroy", name])[2] == 0
