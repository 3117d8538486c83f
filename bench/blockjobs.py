#!/usr/bin/env python3
"""Time spent outside QEMU for ``blockcommit --active --pivot --wait`` and ``blockpull --wait``,
pyvirt beside libvirt in the same run, through the API and through the command line.

Run from the repo with the venv's python (the libvirt side runs under /usr/bin/python3 with
python3-libvirt, against the running libvirtd's qemu:///system)::

    .venv/bin/python bench/blockjobs.py [--runs 5]

Every run starts a fresh domain (TCG, the test guest's kernel) on a fresh chain
``top <- mid <- guest base``; the measured operation is the commit of ``top`` into ``mid``
with pivot, or the pull of ``mid`` into ``top``. QEMU's own time is the span of its
JOB_STATUS_CHANGE events for the job (created -> concluded, from QEMU's own timestamps),
read on our side through the monitor; the same QEMU doing the same job on the same
images is used as the floor for libvirt too. Figures are for notes, never pass/fail.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
GUEST = REPO / ".guest"
sys.path.insert(0, str(REPO))

XML = """<domain type='qemu'><name>{name}</name><uuid>{uuid}</uuid><memory unit='MiB'>128</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='q35'>hvm</type><kernel>{g}/vmlinuz</kernel><initrd>{g}/initramfs.cpio.gz</initrd>
<cmdline>console=ttyS0 quiet testguest.net=none</cmdline></os>
<devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='{top}'/>
<target dev='vda' bus='virtio'/></disk><memballoon model='none'/></devices></domain>"""


def make_chain(d: Path) -> tuple[str, str]:
    mid, top = str(d / "mid.qcow2"), str(d / "top.qcow2")
    for p in (mid, top):
        if os.path.exists(p):
            os.unlink(p)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(GUEST / "disk.qcow2"), "-F", "qcow2", mid],
                   check=True)
    # some data in mid for the pull to copy, and in top for the commit
    subprocess.run(["qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 1M 4M", mid], check=True, capture_output=True)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", mid, "-F", "qcow2", top], check=True)
    subprocess.run(["qemu-io", "-f", "qcow2", "-c", "write -P 0xa5 8M 4M", top], check=True, capture_output=True)
    return top, mid


# ----------------------------------------------------------------------------- pyvirt, API


async def pyvirt_api(work: Path, op: str, runs: int) -> tuple[list[float], list[float]]:
    from pyvirt.drivers.base import BlockJobEventMsg, DomainEvent
    from pyvirt.drivers.qemu.driver import QemuDriver
    from pyvirt.enums import BlockJobStatus

    root = Path(tempfile.mkdtemp(prefix="pvbench", dir="/tmp"))
    drv = await QemuDriver.open(f"qemu:///embed?root={root}")
    totals, qemu = [], []
    try:
        for i in range(runs):
            top, mid = make_chain(work)
            dom = await drv.create_xml(XML.format(name="bench", uuid=uuid.uuid4(), g=GUEST, top=top))
            rt = await drv.lc.runtime(drv._obj(dom))
            assert rt.monitor is not None
            stamps: dict[str, float] = {}
            orig = rt.monitor.on_event

            def tap(ev: Any, orig: Any = orig, stamps: dict[str, float] = stamps) -> None:
                if ev.name == "JOB_STATUS_CHANGE":
                    stamps.setdefault(str(ev.data.get("status")), ev.timestamp)
                if orig is not None:
                    orig(ev)

            rt.monitor.on_event = tap
            q: asyncio.Queue[BlockJobEventMsg] = asyncio.Queue()

            def on(ev: DomainEvent, q: asyncio.Queue[BlockJobEventMsg] = q) -> None:
                if isinstance(ev, BlockJobEventMsg):
                    q.put_nowait(ev)

            tok = drv.events.subscribe(on)
            t0 = time.monotonic()
            if op == "commit":
                await drv.block_commit(dom, "vda", mid, None, 0, 4)
                while (await q.get()).status is not BlockJobStatus.READY:
                    pass
                await drv.block_job_abort(dom, "vda", 2)
            else:
                await drv.block_rebase(dom, "vda", str(GUEST / "disk.qcow2"), 0, 0)
                while (await q.get()).status is not BlockJobStatus.COMPLETED:
                    pass
            totals.append(time.monotonic() - t0)
            qemu.append(stamps.get("concluded", 0) - stamps.get("created", 0))
            drv.events.unsubscribe(tok)
            await drv.destroy(dom)
    finally:
        await drv.close()
        shutil.rmtree(root, ignore_errors=True)
    return totals, qemu


# ----------------------------------------------------------------------------- pyvirsh and virsh


def cli_run(argv: list[str], work: Path, op: str, runs: int, start: list[str], stop: list[str],
            xml_path: Path) -> list[float]:
    out = []
    for _ in range(runs):
        top, mid = make_chain(work)
        xml_path.write_text(XML.format(name="benchcli", uuid=uuid.uuid4(), g=GUEST, top=top))
        subprocess.run([*argv, *start, str(xml_path)], check=True, capture_output=True)
        cmd = (["blockcommit", "benchcli", "vda", "--active", "--pivot", "--wait", "--base", mid] if op == "commit"
               else ["blockpull", "benchcli", "vda", "--wait", "--base", str(GUEST / "disk.qcow2")])
        t0 = time.monotonic()
        subprocess.run([*argv, *cmd], check=True, capture_output=True)
        out.append(time.monotonic() - t0)
        subprocess.run([*argv, *stop], check=False, capture_output=True)
    return out


LIBVIRT_API = r"""
import json, sys, threading, time, uuid, libvirt
xml_t, op, runs, mid_base = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
import subprocess
libvirt.virEventRegisterDefaultImpl()
threading.Thread(target=lambda: [libvirt.virEventRunDefaultImpl() for _ in iter(int, 1)], daemon=True).start()
c = libvirt.open("qemu:///system")
res = []
for i in range(runs):
    subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); import bench.blockjobs as b; "
                    "from pathlib import Path; b.make_chain(Path(sys.argv[2]))", sys.argv[5], sys.argv[6]], check=True)
    d = c.createXML(open(xml_t).read().replace("UUID", str(uuid.uuid4())), 0)
    ev = threading.Event(); st = {}
    def cb(conn, dom, disk, typ, status, opaque):
        st["s"] = status; ev.set()
    cid = c.domainEventRegisterAny(d, libvirt.VIR_DOMAIN_EVENT_ID_BLOCK_JOB_2, cb, None)
    t0 = time.monotonic()
    if op == "commit":
        d.blockCommit("vda", mid_base, None, 0, libvirt.VIR_DOMAIN_BLOCK_COMMIT_ACTIVE)
        ev.wait(60)
        d.blockJobAbort("vda", libvirt.VIR_DOMAIN_BLOCK_JOB_ABORT_PIVOT)
    else:
        d.blockRebase("vda", mid_base, 0, 0)
        ev.wait(60)
    res.append(time.monotonic() - t0)
    c.domainEventDeregisterAny(cid)
    d.destroy()
print(json.dumps(res))
"""


def libvirt_api(work: Path, op: str, runs: int) -> list[float]:
    xml = work / "lv.xml"
    base = str(work / "mid.qcow2") if op == "commit" else str(GUEST / "disk.qcow2")
    xml.write_text(XML.format(name="benchlv", uuid="UUID", g=GUEST, top=work / "top.qcow2"))
    p = subprocess.run(["/usr/bin/python3", "-c", LIBVIRT_API, str(xml), op, str(runs), base, str(REPO), str(work)],
                       check=True, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ""})
    return [float(x) for x in json.loads(p.stdout)]


def ms(xs: list[float]) -> str:
    return f"{statistics.median(xs) * 1000:7.1f} ms"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-libvirt", action="store_true")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pvbj", dir="/tmp"))
    os.chmod(work, 0o755)
    root = Path(tempfile.mkdtemp(prefix="pvbc", dir="/tmp"))
    pyvirsh = [str(REPO / ".venv/bin/python"), "-m", "pyvirt.cli", "-c", f"qemu:///embed?root={root}"]
    virsh = ["virsh", "-c", "qemu:///system"]
    for op in ("commit", "pull"):
        tot, qemu = asyncio.run(pyvirt_api(work, op, args.runs))
        floor = statistics.median(qemu)
        print(f"{op:6s} QEMU's own job time (its events)      {ms(qemu)}")
        print(f"{op:6s} pyvirt API    total {ms(tot)}   outside QEMU {ms([t - floor for t in tot])}")
        cli = cli_run(pyvirsh, work, op, args.runs, ["create"], ["destroy", "benchcli"], work / "cli.xml")
        print(f"{op:6s} pyvirsh       total {ms(cli)}   outside QEMU {ms([t - floor for t in cli])}")
        if not args.no_libvirt:
            lv = libvirt_api(work, op, args.runs)
            print(f"{op:6s} libvirt API   total {ms(lv)}   outside QEMU {ms([t - floor for t in lv])}")
            vcli = cli_run(virsh, work, op, args.runs, ["create"], ["destroy", "benchcli"], work / "vcli.xml")
            print(f"{op:6s} virsh         total {ms(vcli)}   outside QEMU {ms([t - floor for t in vcli])}")
    subprocess.run(["rm", "-rf", str(work), str(root)], check=False)


if __name__ == "__main__":
    main()
