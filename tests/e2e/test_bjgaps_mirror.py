"""The live XML's ``<mirror>`` during an active commit and a copy, side by side with libvirt
9.0: the real virsh runs the same steps against libvirtd (qemu:///system) and pyvirtd, each
on its own identical images; the disks of ``dumpxml`` must be equal (image dir masked) while
the job waits for its pivot, after the pivot, and on pyvirtd also after a daemon restart
while the copy is ready (the mirror comes back from the re-adopted job)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
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
      <driver name='qemu' type='qcow2'/><source file='{d}/vdb.qcow2'/><target dev='vdb' bus='virtio'/>
    </disk>
""")


def make_images(d: Path) -> None:
    for args in (["base.qcow2", "64M"], ["-b", "base.qcow2", "-F", "qcow2", "mid.qcow2"],
                 ["-b", "mid.qcow2", "-F", "qcow2", "act.qcow2"], ["vdb.qcow2", "16M"]):
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", *args], check=True, cwd=d)


def disks(xml: str, d: Path) -> str:
    return "".join(re.findall(r"    <disk .*?</disk>\n", xml, re.DOTALL)).replace(str(d), "DIR")


Step = Callable[[], None]


def script(virsh: Callable[..., str], name: str, d: Path, restart: Step | None) -> list[str]:
    """The steps; returns the disks of dumpxml after each, and the commands' output."""
    out: list[str] = []

    def snap(label: str) -> None:
        out.append(f"{label}\n{disks(virsh('dumpxml', name), d)}")

    virsh("start", name)
    out.append(virsh("blockcommit", name, "vda", "--active", "--base", f"{d}/mid.qcow2", "--wait"))
    snap("active commit ready")
    out.append(virsh("blockjob", name, "vda", "--abort"))
    snap("aborted")
    # libvirt 9.0 copies a persistent domain's disk only as a transient job
    out.append(virsh("blockcopy", name, "vda", f"{d}/copy.qcow2", "--shallow", "--transient-job", "--wait"))
    snap("copy ready")
    if restart is not None:
        restart()
        out.append(f"after restart\n{disks(virsh('dumpxml', name), d)}")
    else:
        out.append(out[-1].replace("copy ready", "after restart", 1))
    out.append(virsh("blockjob", name, "vda", "--pivot"))
    snap("pivoted")
    virsh("destroy", name)
    return out


@pytest.fixture
def dirs() -> Iterator[tuple[Path, Path]]:
    made = tuple(Path(tempfile.mkdtemp(prefix="pvbm", dir="/tmp")) for _ in range(2))
    try:
        yield made[0], made[1]
    finally:
        for d in made:
            shutil.rmtree(d, ignore_errors=True)


def test_mirror_in_live_xml_like_libvirt(dirs: tuple[Path, Path], guest_dir: Path) -> None:
    assert VIRSH is not None
    ora, ours = dirs
    name = f"pvbm{uuid.uuid4().hex[:8]}"
    for d in dirs:
        make_images(d)
        (d / "dom.xml").write_text(domxml(name, d, guest_dir))

    def client(uri: str, d: Path) -> Callable[..., str]:
        def virsh(*cmd: str) -> str:
            assert VIRSH is not None
            p = subprocess.run([VIRSH, "-c", uri, *cmd], capture_output=True, text=True, timeout=120, check=False)
            return (p.stdout + p.stderr).replace(str(d), "DIR") + f"rc={p.returncode}"
        return virsh

    subprocess.run([VIRSH, "-c", "qemu:///system", "define", str(ora / "dom.xml")], check=True, capture_output=True)
    try:
        oracle = script(client("qemu:///system", ora), name, ora, None)
    finally:
        subprocess.run([VIRSH, "-c", "qemu:///system", "destroy", name], capture_output=True, check=False)
        subprocess.run([VIRSH, "-c", "qemu:///system", "undefine", name], capture_output=True, check=False)
    assert "<mirror type='file' job='active-commit' ready='yes'>" in oracle[1]
    assert "job='copy' ready='yes'>" in oracle[5]

    cfg = DaemonConfig(root=ours / "r")
    daemon = [DaemonThread(cfg).start()]

    def restart() -> None:
        daemon[0].stop()
        daemon[0] = DaemonThread(DaemonConfig(root=ours / "r")).start()

    uri = f"qemu+unix:///system?socket={cfg.rw_socket}"
    try:
        subprocess.run([VIRSH, "-c", uri, "define", str(ours / "dom.xml")], check=True, capture_output=True)
        mine = script(client(uri, ours), name, ours, restart)
    finally:
        subprocess.run([VIRSH, "-c", uri, "destroy", name], capture_output=True, check=False)
        daemon[0].stop()
    for o, m in zip(oracle, mine, strict=True):
        assert m == o
