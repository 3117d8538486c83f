"""Block jobs survive a pyvirtd restart mid-job (real guest, real virsh, real libvirt client).

One boot, chain base <- vda <- mid <- top with data written into mid and top beforehand:

1. a bandwidth-limited ``blockcommit --top mid --delete``; pyvirtd stops and starts again
   mid-job. ``blockjob --info`` shows the adopted job, a python3-libvirt client that
   registered after the restart gets BLOCK_JOB and BLOCK_JOB_2 "completed" once the speed
   is raised, mid is deleted (the --delete list outlived the daemon), the live chain is
   qemu-img's.
2. a bandwidth-limited shallow ``blockcopy``; restart; the new client gets "ready", then
   ``blockjob --pivot`` (the real virsh) pivots and the copy is the disk's top.
3. with pyvirtd stopped, a pull "an earlier daemon started" (our job id, straight on QMP)
   ends unobserved; the restarted pyvirtd concludes it: no job left, chain updated.

Finally the guest's view of the data written before (through the final chain) is checked
with qemu-io.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pyvirt.daemon.config import DaemonConfig
from pyvirt.daemon.thread import DaemonThread

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(shutil.which("virsh") is None, reason="the real virsh is not installed"),
              pytest.mark.skipif(shutil.which("qemu-io") is None, reason="qemu-io is not installed")]

SYS_PY = "/usr/bin/python3"

# A real libvirt client that registers for block-job events, says so, and prints each event
# as a JSON line until it saw the wanted BLOCK_JOB_2 status (or the timeout).
LISTENER = r"""
import json, sys, threading, libvirt
uri, name, want = sys.argv[1], sys.argv[2], int(sys.argv[3])
libvirt.virEventRegisterDefaultImpl()
conn = libvirt.open(uri)
dom = conn.lookupByName(name)
done = threading.Event()
def cb(kind):
    def f(c, d, disk, typ, status, opaque):
        print(json.dumps([kind, disk, typ, status]), flush=True)
        if kind == 2 and status == want:
            done.set()
    return f
conn.domainEventRegisterAny(dom, libvirt.VIR_DOMAIN_EVENT_ID_BLOCK_JOB, cb(1), None)
conn.domainEventRegisterAny(dom, libvirt.VIR_DOMAIN_EVENT_ID_BLOCK_JOB_2, cb(2), None)
print("registered", flush=True)
def loop():
    while True:
        libvirt.virEventRunDefaultImpl()
threading.Thread(target=loop, daemon=True).start()
done.wait(60)
"""

COMPLETED, READY = 0, 3
JOB_COMMIT, JOB_COPY = 3, 2


class Listener:
    def __init__(self, uri: str, name: str, want: int) -> None:
        self.p = subprocess.Popen([SYS_PY, "-c", LISTENER, uri, name, str(want)], stdout=subprocess.PIPE,
                                  text=True)
        assert self.p.stdout is not None
        assert self.p.stdout.readline() == "registered\n"

    def events(self) -> list[list[object]]:
        out, _ = self.p.communicate(timeout=90)
        return [json.loads(line) for line in out.splitlines() if line.strip()]


@pytest.fixture
def root() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="pvbr", dir="/tmp"))  # short: monitor socket paths
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def qemu_img(*args: str) -> None:
    subprocess.run(["qemu-img", *args], check=True, capture_output=True)


def chain_img(path: str) -> list[str]:
    out = subprocess.run(["qemu-img", "info", "-U", "--backing-chain", "--output=json", path],
                         check=True, capture_output=True, text=True).stdout
    return [i["filename"] for i in json.loads(out)]


def test_block_jobs_survive_pyvirtd_restart(root: Path, guest_xml: Callable[..., str], embed_root: Path,
                                            guest_dir: Path) -> None:
    name = "pvbr"
    xml = guest_xml(name)
    images = embed_root / "images"
    vda = str(images / f"{name}-vda.qcow2")
    mid, top, dest = (str(images / f"{n}.qcow2") for n in ("mid", "top", "dest"))
    base = str(guest_dir / "disk.qcow2")
    qemu_img("create", "-q", "-f", "qcow2", "-b", vda, "-F", "qcow2", mid)
    subprocess.run(["qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 8M 2M", mid], check=True, capture_output=True)
    qemu_img("create", "-q", "-f", "qcow2", "-b", mid, "-F", "qcow2", top)
    subprocess.run(["qemu-io", "-f", "qcow2", "-c", "write -P 0x5b 16M 2M", top], check=True, capture_output=True)
    (root / "d.xml").write_text(xml.replace(f"<source file='{vda}'/>", f"<source file='{top}'/>"))

    cfg = DaemonConfig(root=root / "r")
    uri = f"qemu+unix:///system?socket={cfg.rw_socket}"

    def virsh(*cmd: str) -> tuple[str, str, int]:
        p = subprocess.run(["virsh", "-c", uri, *cmd], capture_output=True, text=True, timeout=60, check=False)
        return p.stdout, p.stderr, p.returncode

    def chain_xml() -> list[str]:
        return re.findall(r"<source file='([^']*)'", virsh("dumpxml", name)[0].split("</disk>")[0])

    d = DaemonThread(cfg).start()

    def restart() -> DaemonThread:
        d.stop()
        return DaemonThread(DaemonConfig(root=root / "r")).start()

    try:
        assert virsh("define", str(root / "d.xml"))[2] == 0
        assert virsh("start", name)[2] == 0
        assert chain_xml() == [top, mid, vda, base] == chain_img(top)

        # 1. commit --delete, 64 KiB/s: far from done when the daemon goes
        out, err, rc = virsh("blockcommit", name, "vda", "--top", mid, "--base", vda, "--delete",
                             "--bandwidth", "65536", "--bytes")
        assert (out, rc) == ("Block Commit started\n", 0), err
        d = restart()
        out, err, rc = virsh("blockjob", name, "vda", "--info", "--bytes")
        assert rc == 0 and out == "    Bandwidth limit: 65536 bytes/s (64.000 KiB/s)\n\n", (out, err)
        assert err.startswith("\nBlock Commit: [")
        listener = Listener(uri, name, COMPLETED)
        assert virsh("blockjob", name, "vda", "--bandwidth", "0")[2] == 0  # let it finish now
        events = listener.events()
        assert [1, top, JOB_COMMIT, COMPLETED] in events and [2, "vda", JOB_COMMIT, COMPLETED] in events
        assert virsh("blockjob", name, "vda", "--info")[0] == "No current block job for vda\n"
        assert not Path(mid).exists()
        assert chain_xml() == [top, vda, base] == chain_img(top)

        # 2. shallow copy, 64 KiB/s with a small buffer; ready only after the restart
        out, err, rc = virsh("blockcopy", name, "vda", dest, "--shallow", "--bandwidth", "65536", "--bytes",
                             "--buf-size", "65536")
        assert (out, rc) == ("Block Copy started\n", 0), err
        d = restart()
        assert virsh("blockjob", name, "vda", "--info")[1].startswith("\nBlock Copy: [")
        out, err, rc = virsh("blockjob", name, "vda", "--pivot")
        assert rc == 1 and "not ready for pivot yet" in err, (out, err)
        listener = Listener(uri, name, READY)
        assert virsh("blockjob", name, "vda", "--bandwidth", "0")[2] == 0
        assert [2, "vda", JOB_COPY, READY] in listener.events()
        out, err, rc = virsh("blockjob", name, "vda", "--pivot")
        assert rc == 0, err
        assert chain_xml() == [dest, vda, base] == chain_img(dest)
        assert not any((root / "r").rglob("blockjobs.json"))  # records go with their jobs

        # 3. a pull that ends while no daemon listens
        d.stop()
        status = next((root / "r").rglob(f"run/qemu/{name}.xml")).read_text()
        monitor = re.search(r"monitor='([^']*)'", status)
        assert monitor is not None
        asyncio.run(_pull_unobserved(monitor.group(1), base))
        d = DaemonThread(DaemonConfig(root=root / "r")).start()
        # the reconnect itself concluded it (nothing asked about the job yet)
        assert chain_xml() == [dest, base] == chain_img(dest)
        assert virsh("blockjob", name, "vda", "--info")[0] == "No current block job for vda\n"
        # QEMU has no concluded job left: a new job on the disk starts
        out, err, rc = virsh("blockpull", name, "vda", "--wait")
        assert rc == 0, err

        assert virsh("destroy", name)[2] == 0
        for pattern, off in (("0x5a", "8M"), ("0x5b", "16M")):
            r = subprocess.run(["qemu-io", "-r", "-f", "qcow2", "-c", f"read -P {pattern} {off} 2M", dest],
                               capture_output=True, text=True, check=False)
            assert r.returncode == 0 and "Pattern verification failed" not in r.stdout, r.stdout
    finally:
        virsh("destroy", name)
        d.stop()


async def _pull_unobserved(monitor: str, base: str) -> None:
    """Start ``pull-vda`` as a previous pyvirtd would (auto-dismiss off) and wait for QEMU's
    completion event on our own monitor connection."""
    from pyvirt.drivers.qemu.monitor import QMPEvent, QMPMonitor

    mon = await QMPMonitor.connect_path(monitor)
    done: asyncio.Future[QMPEvent] = asyncio.get_running_loop().create_future()

    def on(ev: QMPEvent) -> None:
        if ev.name == "BLOCK_JOB_COMPLETED" and not done.done():
            done.set_result(ev)

    mon.on_event = on
    try:
        blocks = await mon.execute("query-block")
        root = next(b["inserted"]["node-name"] for b in blocks if "inserted" in b)
        nodes = await mon.execute("query-named-block-nodes", {"flat": True})
        base_node = next(n["node-name"] for n in nodes if n.get("file") == base and n.get("drv") == "qcow2")
        await mon.execute("block-stream", {"job-id": "pull-vda", "device": root, "base-node": base_node,
                                           "auto-dismiss": False})
        ev = await asyncio.wait_for(done, 60)
        assert not ev.data.get("error")
        jobs = await mon.execute("query-block-jobs")
        assert [j["status"] for j in jobs] == ["concluded"]
    finally:
        await mon.close()
