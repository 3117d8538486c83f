"""domblkinfo --all and --keep-relative side by side with libvirt 9.0 (the oracle).

The same script runs three ways, each on its own identical set of images: the real virsh
against libvirtd (qemu:///system, the oracle), the real virsh against pyvirtd, and pyvirsh
against pyvirtd. The output must be the same (image dir masked) and so must the
backing-file strings qemu-img reads from the images afterwards.

The disks: vda on a chain with relative backing references (act -> top -> sub/mid ->
../base), vdb on an absolute one, a raw vdc and an empty CD-ROM.
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
from fakes.oracle_guest import ORACLE_MARKS, VIRSH, guest_xml

from pyvirt.daemon.config import DaemonConfig
from pyvirt.daemon.thread import DaemonThread

pytestmark = ORACLE_MARKS


def domxml(name: str, d: Path, guest: Path) -> str:
    return guest_xml(name, guest, f"""    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/><source file='{d}/act.qcow2'/><target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/><source file='{d}/abs.qcow2'/><target dev='vdb' bus='virtio'/>
    </disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/><source file='{d}/vdc.raw'/><target dev='vdc' bus='virtio'/>
    </disk>
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/><target dev='sda' bus='sata'/><readonly/>
    </disk>
""")


def make_images(d: Path) -> None:
    def img(*args: str) -> None:
        subprocess.run(["qemu-img", "create", "-q", *args], check=True, cwd=d)

    (d / "sub").mkdir()
    img("-f", "qcow2", "base.qcow2", "64M")
    img("-f", "qcow2", "base2.qcow2", "64M")
    img("-f", "qcow2", "-b", "../base.qcow2", "-F", "qcow2", "sub/mid.qcow2")
    img("-f", "qcow2", "-b", "sub/mid.qcow2", "-F", "qcow2", "top.qcow2")
    img("-f", "qcow2", "-b", "top.qcow2", "-F", "qcow2", "act.qcow2")
    img("-f", "qcow2", "-b", str(d / "base2.qcow2"), "-F", "qcow2", "abs.qcow2")
    img("-f", "raw", "vdc.raw", "16M")


def backing_strings(d: Path) -> dict[str, str]:
    out = {}
    for name in ("act.qcow2", "abs.qcow2"):
        info = json.loads(subprocess.run(["qemu-img", "info", "-U", "--output=json", str(d / name)],
                                         check=True, capture_output=True, text=True).stdout)
        out[name] = str(info.get("backing-filename", "")).replace(str(d), "DIR")
    return out


def steps(name: str, d: Path) -> list[list[str]]:
    return [
        ["domblkinfo", name, "--all"], ["domblkinfo", name, "--all", "--human"],
        ["domblkinfo", name, "--all", "vda"], ["domblkinfo", name],
        ["blockpull", name, "vda", "--keep-relative"],  # shut off: needs a base first
        ["start", name],
        ["domblkinfo", name, "--all"], ["domblkinfo", name, "--human", "--all"],
        ["blockpull", name, "vda", "--keep-relative"],
        # vdb's reference is absolute: nothing relative to keep
        ["blockpull", name, "vdb", "--base", f"{d}/base2.qcow2", "--keep-relative", "--wait"],
        ["blockcommit", name, "vda", "--top", f"{d}/top.qcow2", "--base", f"{d}/sub/mid.qcow2", "--keep-relative",
         "--wait"],
        ["blockpull", name, "vda", "--base", f"{d}/base.qcow2", "--keep-relative", "--wait"],
        # an active commit has no image above its top: the flag changes nothing
        ["blockcommit", name, "vdb", "--active", "--keep-relative", "--pivot", "--wait"],
        ["domblkinfo", name, "--all"],
        ["blockcopy", name, "vda", f"{d}/copy.qcow2", "--bypass-cache"],
        ["blockcopy", name, "vda", f"{d}/copy.qcow2", "--keep-relative"],
        ["destroy", name],
    ]


def run_script(uri: str, name: str, d: Path, cli: list[str] | None = None) -> list[tuple[str, str, int, dict[str, str]]]:
    out = []
    assert VIRSH is not None
    for cmd in steps(name, d):
        p = subprocess.run([*(cli or [VIRSH]), "-c", uri, *cmd], capture_output=True, text=True, timeout=120, check=False)
        out.append((p.stdout.replace(str(d), "DIR"), p.stderr.replace(str(d), "DIR"), p.returncode,
                    backing_strings(d)))
    return out


@pytest.fixture
def dirs() -> Iterator[tuple[Path, Path, Path]]:
    made = tuple(Path(tempfile.mkdtemp(prefix="pvbg", dir="/tmp")) for _ in range(3))
    try:
        yield made
    finally:
        for d in made:
            shutil.rmtree(d, ignore_errors=True)


def test_domblkinfo_all_and_keep_relative_like_libvirt(dirs: tuple[Path, Path, Path], guest_dir: Path) -> None:
    ora, ours, ours_cli = dirs
    name = f"pvbg{uuid.uuid4().hex[:8]}"
    for d in dirs:
        make_images(d)
        (d / "dom.xml").write_text(domxml(name, d, guest_dir))
    assert VIRSH is not None
    subprocess.run([VIRSH, "-c", "qemu:///system", "define", str(ora / "dom.xml")], check=True, capture_output=True)
    try:
        oracle = run_script("qemu:///system", name, ora)
    finally:
        subprocess.run([VIRSH, "-c", "qemu:///system", "destroy", name], capture_output=True, check=False)
        subprocess.run([VIRSH, "-c", "qemu:///system", "undefine", name], capture_output=True, check=False)
    cfg = DaemonConfig(root=ours / "r")
    with DaemonThread(cfg):
        uri = f"qemu+unix:///system?socket={cfg.rw_socket}"
        subprocess.run([VIRSH, "-c", uri, "define", str(ours / "dom.xml")], check=True, capture_output=True)
        try:
            mine = run_script(uri, name, ours)
        finally:
            subprocess.run([VIRSH, "-c", uri, "destroy", name], capture_output=True, check=False)
        subprocess.run([VIRSH, "-c", uri, "undefine", name], check=True, capture_output=True)
        subprocess.run([VIRSH, "-c", uri, "define", str(ours_cli / "dom.xml")], check=True, capture_output=True)
        try:
            pyvirsh = run_script(uri, name, ours_cli, [sys.executable, "-m", "pyvirt.cli"])
        finally:
            subprocess.run([VIRSH, "-c", uri, "destroy", name], capture_output=True, check=False)
    # the oracle did what the test is about (so a broken libvirtd cannot make it vacuous)
    assert oracle[-7][3]["act.qcow2"] == "sub/mid.qcow2"
    assert oracle[-6][3]["act.qcow2"] == "sub/../base.qcow2"
    assert "can't keep relative backing relationship" in oracle[9][1]
    for cmd, o, m, p in zip(steps(name, ora), oracle, mine, pyvirsh, strict=True):
        assert m == o, (" ".join(cmd), m, o)
        assert p == o, ("pyvirsh", " ".join(cmd), p, o)
